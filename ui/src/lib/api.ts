// The one place that talks to the backend. Two transports carry the same calls:
// - in the Tauri app: `invoke` on the cabinet's own encrypted store (works offline);
// - in a browser served by kabinet-hub: HTTP to `/api` with a staff session (online only).
// Screens never see which one is in use, except `api.mode` for what only makes sense in one.

import type {
  AppStatus,
  AuditFilter as AuditQuery,
  AuditRow,
  ConferenceInput,
  FieldMessage,
  GoalInput,
  JsonValue,
  Lang,
  NewUser,
  PersonDraft,
  PersonHit,
  ReferralChoice,
  Request,
  Responses,
  Role,
  SecretKind,
  SyncView,
  TaskInput,
  UserAction,
  UserRecord,
  VisitForm,
} from './types';

export type { FieldMessage, Lang };

/** An operation's name, and the arguments it takes (generated from kabinet-service). */
export type Op = Request['op'];
export type ArgsOf<O extends Op> = Extract<Request, { op: O }>['args'];

/** What the sync bar shows: the device's agent, or (in a browser at the hub) the hub itself. */
export type SyncBarView = SyncView | { state: 'hub'; hub_url: string | null; last_success: null; pending_local_changes: number };

/** A refused call: a message for the user, per-field messages, possible duplicates. */
export class ApiError extends Error {
  kind: string;
  fields: FieldMessage[];
  duplicates: PersonHit[];
  /** With `confirm_fingerprint`: the hub certificate's fingerprint to compare and confirm. */
  fingerprint?: string;
  constructor(kind: string, message: string, fields: FieldMessage[] = [], duplicates: PersonHit[] = [], fingerprint?: string) {
    super(message);
    this.kind = kind;
    this.fields = fields;
    this.duplicates = duplicates;
    this.fingerprint = fingerprint;
  }
}

/** Turns whatever a transport rejected with into an ApiError (also used by tests). */
export function toApiError(raw: unknown, lang: Lang): ApiError {
  if (raw instanceof ApiError) return raw;
  if (raw && typeof raw === 'object') {
    const r = raw as Record<string, unknown>;
    if (typeof r.kind === 'string' && typeof r.message === 'string') {
      return new ApiError(
        r.kind,
        r.message,
        Array.isArray(r.fields) ? (r.fields as FieldMessage[]) : [],
        Array.isArray(r.duplicates) ? (r.duplicates as PersonHit[]) : [],
        typeof r.fingerprint === 'string' ? r.fingerprint : undefined,
      );
    }
    // The hub's own errors (sign-in, sessions): {error, error_bg}.
    if (typeof r.error === 'string') {
      const msg = lang === 'bg' && typeof r.error_bg === 'string' ? r.error_bg : r.error;
      return new ApiError('hub', msg);
    }
  }
  if (typeof raw === 'string') return new ApiError('internal', raw);
  const offline = lang === 'bg' ? 'Няма връзка с Хъба.' : 'No connection to the hub.';
  return new ApiError('offline', raw instanceof Error && raw.message ? `${offline} (${raw.message})` : offline);
}

interface Transport {
  mode: 'app' | 'hub';
  call(lang: Lang, op: string, args?: unknown): Promise<unknown>;
  status(): Promise<AppStatus>;
  /** First start of the app: enroll with the hub and take its users for this device. */
  setup(lang: Lang, hubUrl: string, code: string, deviceName: string): Promise<AppStatus>;
  unlock(lang: Lang, user: string, secret: string): Promise<AppStatus>;
  lock(): Promise<void>;
  /** The user is at work: restarts the inactivity lock's count. */
  touch(): Promise<void>;
  syncView(): Promise<SyncBarView>;
  syncNow(): Promise<void>;
  enroll(lang: Lang, hubUrl: string, code: string, deviceName: string): Promise<void>;
  /** Opens the slips as a PDF (system viewer in the app, the browser's viewer at the hub). */
  /** `anonymous`: HIV slips without name and ЕГН; undefined takes the hub's default. */
  printSlips(lang: Lang, ids: string[], paper: string, anonymous?: boolean): Promise<string>;
  /** The programme report as a file (pdf or csv), saved by the browser: only at the hub. */
  reportFile(lang: Lang, query: string): Promise<string>;
  /** A JSON document saved by the browser as `name`: only at the hub (a device writes no
   *  unencrypted health data to its disk). */
  saveJson(lang: Lang, name: string, value: unknown): Promise<string>;
  /** The hub admin's own HTTP API (users, audit log): only at the hub. */
  admin(lang: Lang, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown>;
}

function onlyAtTheHub(lang: Lang): ApiError {
  return new ApiError(
    'unsupported',
    lang === 'bg' ? 'Достъпно само в браузъра на Хъба.' : 'Only available in the browser at the hub.',
  );
}

/** The audit filter as a query string: empty boxes are left out ("any"). */
export function auditSearch(q: AuditQuery): string {
  const params = new URLSearchParams();
  for (const key of ['user', 'device', 'record', 'action', 'since', 'until', 'limit'] as const) {
    const v = q[key];
    if (v === undefined || v === null) continue;
    const s = String(v).trim();
    if (s) params.set(key, s);
  }
  const out = params.toString();
  return out ? `?${out}` : '';
}

type Invoke = (cmd: string, args?: Record<string, unknown>) => Promise<unknown>;

function tauriInvoke(): Invoke | null {
  const w = globalThis as unknown as { __TAURI__?: { core?: { invoke?: Invoke } } };
  return w.__TAURI__?.core?.invoke ?? null;
}

function tauriTransport(invoke: Invoke): Transport {
  return {
    mode: 'app',
    call: (lang, op, args) => invoke('api', { call: { lang, op, args: args ?? {} } }),
    status: () => invoke('app_status') as Promise<AppStatus>,
    setup: (lang, hub_url, code, device_name) =>
      invoke('setup_device', { lang, hub_url, code, device_name }) as Promise<AppStatus>,
    unlock: (lang, user, secret) => invoke('login', { lang, user, secret }) as Promise<AppStatus>,
    lock: async () => {
      await invoke('lock');
    },
    touch: async () => {
      await invoke('touch');
    },
    syncView: () => invoke('sync_view') as Promise<SyncBarView>,
    syncNow: async () => {
      await invoke('sync_now');
    },
    enroll: async (lang, hub_url, code, device_name) => {
      await invoke('enroll', { lang, hub_url, code, device_name });
    },
    printSlips: (lang, ids, paper, anonymous) =>
      invoke('print_slips', { lang, ids, paper, anonymous: anonymous ?? null }) as Promise<string>,
    admin: async (lang) => {
      throw onlyAtTheHub(lang);
    },
    reportFile: async (lang) => {
      throw onlyAtTheHub(lang);
    },
    saveJson: async (lang) => {
      throw onlyAtTheHub(lang);
    },
  };
}

const TOKEN = 'kabinet.session';

function httpTransport(base: string): Transport {
  const token = () => sessionStorage.getItem(TOKEN);
  async function request(path: string, body?: unknown, method = 'POST'): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const t = token();
    if (t) headers.authorization = `Bearer ${t}`;
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = null;
    let notJson = false;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON (a proxy's error page, a framework's rejection, the UI's index.html from a
      // hub too old to know the path): show it as it is, never hand it to a screen as data.
      const shown = /^\s*</.test(text) ? '(HTML)' : text.slice(0, 200);
      json = { kind: 'http', message: `HTTP ${res.status} ${path.split('?')[0]}: ${shown}` };
      notJson = true;
    }
    if (!res.ok || notJson) {
      // Forget only the session this request was sent with: a late answer to a request made
      // before a sign-out must not throw away the session of whoever signed in since.
      if (res.status === 401 && t !== null && token() === t) sessionStorage.removeItem(TOKEN);
      throw json ?? { kind: 'http', message: `HTTP ${res.status}` };
    }
    return json;
  }
  let me: { display_name: string; role?: Role } | null = null;
  // The hub's staff session, as the shape the login screen reads.
  const hubStatus = (): AppStatus => ({
    state: me ? 'unlocked' : 'locked',
    unlocked: me !== null,
    user: me?.display_name ?? null,
    role: me?.role ?? null,
    cabinet: 'hub',
    users: [],
    idle_lock_ms: 0,
    lock_reason: null,
  });
  return {
    mode: 'hub',
    call: (lang, op, args) => request('/api/call', { lang, op, args: args ?? {} }),
    status: async () => {
      const asked = token();
      if (asked) {
        // An answer for a session that has since ended (signed out, someone else signed in)
        // must not replace who is signed in now.
        try {
          const who = (await request('/api/me', undefined, 'GET')) as { display_name: string; role?: Role };
          if (token() === asked) me = who;
        } catch {
          if (token() === asked) me = null;
        }
      }
      return hubStatus();
    },
    setup: async () => {
      throw new ApiError('unsupported', 'Not available in the browser.');
    },
    // The hub's sessions expire on their own; nothing to count here.
    touch: async () => {},
    unlock: async (_lang, user, password) => {
      const s = (await request('/api/login', { name: user, password })) as {
        token: string;
        user: { display_name: string; role?: Role };
      };
      sessionStorage.setItem(TOKEN, s.token);
      me = s.user;
      return hubStatus();
    },
    lock: async () => {
      try {
        await request('/api/logout');
      } finally {
        sessionStorage.removeItem(TOKEN);
        me = null;
      }
    },
    // At the hub the data is the hub's own: always up to date while the page can reach it.
    syncView: async () => {
      await request('/api/me', undefined, 'GET');
      return { state: 'hub', last_success: null, pending_local_changes: 0, hub_url: base || location.origin };
    },
    syncNow: async () => {},
    enroll: async () => {
      throw new ApiError('unsupported', 'Not available in the browser.');
    },
    printSlips: async (_lang, ids, paper, anonymous) => {
      const headers: Record<string, string> = {};
      const t = token();
      if (t) headers.authorization = `Bearer ${t}`;
      const choice = anonymous === undefined ? '' : `&anonymous=${anonymous}`;
      const res = await fetch(`${base}/api/slips?ids=${ids.join(',')}&paper=${paper}${choice}`, { headers });
      if (!res.ok) throw await res.json().catch(() => ({ kind: 'http', message: `HTTP ${res.status}` }));
      const url = URL.createObjectURL(await res.blob());
      window.open(url, '_blank');
      return url;
    },
    admin: (_lang, method, path, body) => request(path, body, method),
    reportFile: async (lang, query) => {
      const headers: Record<string, string> = {};
      const t = token();
      if (t) headers.authorization = `Bearer ${t}`;
      const res = await fetch(`${base}/api/report?${query}&lang=${lang}`, { headers });
      if (!res.ok) throw await res.json().catch(() => ({ kind: 'http', message: `HTTP ${res.status}` }));
      const disposition = res.headers.get('content-disposition') ?? '';
      const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'kabinet-report';
      return saveBlob(name, await res.blob());
    },
    saveJson: async (_lang, name, value) =>
      saveBlob(name, new Blob([JSON.stringify(value, null, 1)], { type: 'application/fhir+json' })),
  };
}

/** Hands `blob` to the browser to save as `name`; answers the name. */
function saveBlob(name: string, blob: Blob): string {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

function pickTransport(): Transport {
  const invoke = tauriInvoke();
  return invoke ? tauriTransport(invoke) : httpTransport('');
}

/** Wraps a transport in the typed operations the screens use. */
export function makeApi(transport: Transport, lang: () => Lang) {
  // The answer's type follows from the operation's name (`Responses`, generated from Rust).
  async function call<O extends Op>(op: O, args: ArgsOf<O>): Promise<Responses[O]> {
    try {
      return (await transport.call(lang(), op, args)) as Responses[O];
    } catch (e) {
      throw toApiError(e, lang());
    }
  }
  async function wrap<T>(p: () => Promise<T>): Promise<T> {
    try {
      return await p();
    } catch (e) {
      throw toApiError(e, lang());
    }
  }
  const admin = <T>(method: 'GET' | 'POST', path: string, body?: unknown) =>
    wrap(() => transport.admin(lang(), method, path, body) as Promise<T>);
  const userPath = (name: string, action: string) => `/api/admin/users/${encodeURIComponent(name)}/${action}`;
  return {
    mode: transport.mode,
    status: () => wrap(() => transport.status()),
    setup: (hubUrl: string, code: string, deviceName: string) =>
      wrap(() => transport.setup(lang(), hubUrl, code, deviceName)),
    touch: () => wrap(() => transport.touch()),
    unlock: (user: string, secret: string) => wrap(() => transport.unlock(lang(), user, secret)),
    lock: () => wrap(() => transport.lock()),
    syncView: () => wrap(() => transport.syncView()),
    syncNow: () => wrap(() => transport.syncNow()),
    enroll: (hubUrl: string, code: string, deviceName: string) =>
      wrap(() => transport.enroll(lang(), hubUrl, code, deviceName)),
    printSlips: (ids: string[], paper = 'A5', anonymous?: boolean) =>
      wrap(() => transport.printSlips(lang(), ids, paper, anonymous)),

    // The hub admin's screens (browser at the hub only; a non-admin is refused with 403).
    adminUsers: () => admin<UserRecord[]>('GET', '/api/admin/users'),
    addUser: (user: NewUser) =>
      admin<Pick<UserRecord, 'name' | 'display_name' | 'role'>>('POST', '/api/admin/users', { ...user, lang: lang() }),
    disableUser: (name: string) => admin<null>('POST', userPath(name, 'disable'), { lang: lang() }),
    enableUser: (name: string) => admin<null>('POST', userPath(name, 'enable'), { lang: lang() }),
    /** A new web password or device PIN (`secret`; without it, the one the user has). */
    resetUser: (name: string, password: string, secret?: SecretKind) =>
      admin<null>('POST', userPath(name, 'reset'), { password, secret, lang: lang() } satisfies UserAction),
    /** A new role and/or cabinets. */
    editUser: (name: string, change: Pick<UserAction, 'role' | 'cabinets'>) =>
      admin<null>('POST', userPath(name, 'edit'), { ...change, lang: lang() } satisfies UserAction),
    audit: (query: AuditQuery) => admin<AuditRow[]>('GET', `/api/admin/audit${auditSearch(query)}`),

    report: (from: string, to: string, cabinet?: string) =>
      call('report', cabinet ? { from, to, cabinet } : { from, to }),
    /** Downloads the report as `format` (pdf or csv); answers the file's name. */
    reportFile: (format: 'pdf' | 'csv', from: string, to: string, cabinet?: string) => {
      const q = new URLSearchParams({ from, to, format });
      if (cabinet) q.set('cabinet', cabinet);
      return wrap(() => transport.reportFile(lang(), q.toString()));
    },
    /** Downloads a person's record as a FHIR R4 Bundle (what the user's roles read); answers
     *  the file's name. */
    fhirPerson: async (id: string) => {
      const bundle = await call('fhir_person', { id });
      return wrap(() => transport.saveJson(lang(), `kabinet-fhir-${id}.json`, bundle));
    },
    search: (query: string) => call('search', { query }),
    checkPerson: (draft: PersonDraft) => call('check_person', { draft }),
    registerPerson: (draft: PersonDraft, not_a_duplicate: boolean) =>
      call('register_person', { draft, not_a_duplicate }),
    personRecord: (id: string) => call('person_record', { id }),
    personForm: (id: string) => call('person_form', { id }),
    settleConflict: (person_id: string, field: string, choice: number, doc_id?: string) =>
      call('settle_conflict', { person_id, field, choice, ...(doc_id && doc_id !== person_id ? { doc_id } : {}) }),
    toReview: () => call('to_review', {}),
    possibleDuplicates: (limit?: number) => call('possible_duplicates', limit === undefined ? {} : { limit }),
    mergePersons: (survivor: string, duplicate: string, reason: string) =>
      call('merge_persons', { survivor, duplicate, reason }),
    unmergePerson: (duplicate: string, reason: string) => call('unmerge_person', { duplicate, reason }),
    notSamePerson: (a: string, b: string) => call('not_same_person', { a, b }),
    openCase: (person_id: string, referral_id?: string) =>
      call('open_case', referral_id ? { person_id, referral_id } : { person_id }),
    cases: (status?: string, lead?: string) => call('cases', { ...(status ? { status } : {}), ...(lead ? { lead } : {}) }),
    editCase: (case_id: string, change: { lead?: string; team?: string[]; household?: string }) =>
      call('edit_case', { case_id, ...change }),
    caseView: (id: string) => call('case', { id }),
    addGoal: (case_id: string, goal: GoalInput) => call('add_goal', { case_id, goal }),
    setGoal: (case_id: string, goal_id: string, status: string) => call('set_goal', { case_id, goal_id, status }),
    addTask: (case_id: string, task: TaskInput) => call('add_task', { case_id, task }),
    updateTask: (case_id: string, task_id: string, status: string, outcome?: string) =>
      call('update_task', { case_id, task_id, status, ...(outcome ? { outcome } : {}) }),
    addCaseNote: (case_id: string, kind: string, text: string) => call('add_case_note', { case_id, kind, text }),
    shareConsent: (case_id: string, kind: string, roles: string[]) => call('share_consent', { case_id, kind, roles }),
    setCaseStatus: (case_id: string, status: string, reason?: string, note?: string) =>
      call('set_case_status', { case_id, status, ...(reason ? { reason } : {}), ...(note ? { note } : {}) }),
    myTasks: () => call('my_tasks', {}),
    teamTasks: () => call('team_tasks', {}),
    caseOptions: () => call('case_options', {}),
    taskFromReferral: (referral_id: string) => call('task_from_referral', { referral_id }),
    referFromCase: (case_id: string, referral: ReferralChoice) => call('refer_from_case', { case_id, referral }),
    addConference: (case_id: string, conference: ConferenceInput) => call('add_conference', { case_id, conference }),
    visitForCorrection: (visit_id: string) => call('visit_for_correction', { visit_id }),
    correctVisit: (visit_id: string, form: VisitForm, reason: string, referrals: ReferralChoice[], cancel: string[]) =>
      call('correct_visit', { visit_id, form, reason, referrals, cancel }),
    voidVisit: (visit_id: string, reason: string) => call('void_visit', { visit_id, reason }),
    editPerson: (id: string, draft: PersonDraft, reason: string, not_a_duplicate: boolean) =>
      call('edit_person', { id, draft, reason, not_a_duplicate }),
    withdrawConsent: (person_id: string) => call('withdraw_consent', { person_id }),
    checkVisit: (form: VisitForm, person_id?: string) => call('check_visit', { form, ...(person_id ? { person_id } : {}) }),
    saveVisit: (person_id: string, form: VisitForm, notes: string, referrals: ReferralChoice[], clinical_note = '') =>
      call('save_visit', { person_id, form, notes, referrals, ...(clinical_note ? { clinical_note } : {}) }),
    today: (day?: string) => call('today', day ? { day } : {}),
    destinations: () => call('destinations', {}),
    visitOptions: () => call('visit_options', {}),
    referralByCode: (code: string) => call('referral_by_code', { code }),
    referral: (id: string) => call('referral', { id }),
    updateReferral: (id: string, status: string, note: string) =>
      call('update_referral', { id, status, note }),
    followUp: () => call('follow_up', {}),
    issuedOn: (day?: string) => call('issued_on', day ? { day } : {}),
    // A draft is any JSON the screen keeps; it comes back as it was saved.
    saveDraft: (key: string, value: unknown) => call('save_draft', { key, value: value as JsonValue }),
    loadDraft: async <T>(key: string) => (await call('load_draft', { key })) as T | null,
    deleteDraft: (key: string) => call('delete_draft', { key }),
  };
}

export type Api = ReturnType<typeof makeApi>;

let current: Lang = 'bg';
export function setApiLang(l: Lang) {
  current = l;
}

export const api: Api = makeApi(pickTransport(), () => current);
