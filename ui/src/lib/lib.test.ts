import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, AUDIT_LIMIT, ROLES, auditActionKey, auditQuery, auditSourceKey, cleanFilter, dayBox, isAdminRole, readsAudit, roleKey } from './admin';
import { ApiError, auditSearch, makeApi, toApiError } from './api';
import { bmi, formatBytes, formatDate, formatDateTime, formatDateTimeSeconds, isoToBg, parseBgDate, shiftIsoDay, sofiaDayStart, sofiaIsoDay } from './format';
import { chosenReferrals, draftFromQuery, emptyVisitForm, groupedFingerprint, hivResultAllowed, mergeSuggestions, withFingerprint, type ReferralRow } from './forms';
import { dictionaries, translate } from './i18n';
import { href, parseRoute } from './route';
import { describeSync } from './sync';
import type { AppStatus, SuggestionView as Suggestion } from './types';

/** An app status with what a test does not care about filled in. */
const status = (over: Partial<AppStatus>): AppStatus => ({
  state: over.unlocked ? 'unlocked' : 'locked',
  unlocked: false,
  user: null,
  role: null,
  cabinet: null,
  users: [],
  idle_lock_ms: 0,
  lock_reason: null,
  ...over,
});

describe('dates as written in Bulgaria', () => {
  it('formats in Sofia time, dd.mm.yyyy', () => {
    // 22:30 UTC on 1 March is already 2 March in Sofia (UTC+2).
    expect(formatDate('2026-03-01T22:30:00Z')).toBe('02.03.2026');
    expect(formatDateTime('2026-07-01T06:05:00Z')).toBe('01.07.2026 09:05');
    expect(sofiaIsoDay(new Date('2026-03-01T22:30:00Z'))).toBe('2026-03-02');
    expect(formatDateTimeSeconds('2026-11-22T22:00:07Z')).toBe('23.11.2026 00:00:07');
    expect(formatDateTimeSeconds('2026-07-01T06:05:09.123456Z')).toBe('01.07.2026 09:05:09');
    expect(formatDateTimeSeconds('not a time')).toBe('not a time');
  });
  it('finds where a Sofia day begins, in winter and in summer time', () => {
    expect(sofiaDayStart('2026-11-23')).toBe('2026-11-22T22:00:00Z');
    expect(sofiaDayStart('2026-07-01')).toBe('2026-06-30T21:00:00Z');
    // The days the clocks change (29.03.2026 at 03:00, 25.10.2026 at 04:00) and the day after.
    expect(sofiaDayStart('2026-03-29')).toBe('2026-03-28T22:00:00Z');
    expect(sofiaDayStart('2026-03-30')).toBe('2026-03-29T21:00:00Z');
    expect(sofiaDayStart('2026-10-25')).toBe('2026-10-24T21:00:00Z');
    expect(sofiaDayStart('2026-10-26')).toBe('2026-10-25T22:00:00Z');
    expect(sofiaDayStart('2027-01-01')).toBe('2026-12-31T22:00:00Z');
  });
  it('reads dd.mm.yyyy and refuses impossible dates', () => {
    expect(parseBgDate('24.06.1977')).toBe('1977-06-24');
    expect(parseBgDate('4.6.1977 г.')).toBe('1977-06-04');
    expect(parseBgDate('31.02.2020')).toBeNull();
    expect(parseBgDate('1977-06-24')).toBeNull();
    expect(isoToBg('2026-11-23')).toBe('23.11.2026');
    expect(shiftIsoDay('2026-03-01', -1)).toBe('2026-02-28');
    expect(shiftIsoDay('2024-02-28', 1)).toBe('2024-02-29');
  });
  it('sizes and BMI', () => {
    expect(formatBytes(1536, 'bg')).toBe('1,5 KB');
    expect(formatBytes(12, 'en')).toBe('12 B');
    expect(bmi('81,5', '172')).toBe(27.5);
    expect(bmi('', '172')).toBeNull();
  });
});

describe('routes', () => {
  const id = '0190f3a4-1b2c-7d3e-8f40-123456789abc';
  it('round-trips every screen', () => {
    for (const r of [
      { screen: 'today' as const },
      { screen: 'find' as const, query: 'Росица Юсеинова' },
      { screen: 'register' as const, query: '7706245930' },
      { screen: 'person' as const, id },
      { screen: 'edit-person' as const, id },
      { screen: 'visit' as const, personId: id },
      { screen: 'visit' as const, personId: id, correct: id },
      { screen: 'settings' as const },
      { screen: 'duplicates' as const },
      { screen: 'cases' as const },
      { screen: 'cases' as const, status: 'on_hold' },
      { screen: 'case' as const, id },
      { screen: 'admin-users' as const },
      { screen: 'admin-audit' as const },
      { screen: 'admin-audit' as const, filter: { action: 'view' } },
      { screen: 'admin-audit' as const, filter: { user: 'Мария Петрова', device: 'tablet-1', record: id.slice(0, 8), action: 'refused', from: '2026-11-01', to: '2026-11-23' } },
    ]) {
      expect(parseRoute(href(r))).toEqual(r);
    }
  });
  it('addresses the admin screens', () => {
    expect(href({ screen: 'admin-users' })).toBe('#/admin/users');
    expect(href({ screen: 'admin-audit' })).toBe('#/admin/audit');
    expect(href({ screen: 'admin-audit', filter: { user: ' ', action: 'view' } })).toBe('#/admin/audit?action=view');
    expect(href({ screen: 'admin-audit', filter: { user: 'Петрова', from: '2026-11-23' } })).toBe(
      `#/admin/audit?user=${encodeURIComponent('Петрова')}&from=2026-11-23`,
    );
    expect(parseRoute('#/admin/audit?action=view&from=23.11.2026&to=2026-11-24')).toEqual({
      screen: 'admin-audit',
      filter: { action: 'view', to: '2026-11-24' },
    });
    expect(parseRoute('#/admin/audit?user=')).toEqual({ screen: 'admin-audit' });
    expect(parseRoute('#/admin')).toEqual({ screen: 'today' });
    expect(parseRoute('#/admin/nothing')).toEqual({ screen: 'today' });
  });
  it('falls back to Today on anything unknown', () => {
    expect(parseRoute('#/person/not-an-id')).toEqual({ screen: 'today' });
    expect(parseRoute('')).toEqual({ screen: 'today' });
  });
});

describe('forms', () => {
  it('gates the HIV result on consent and counselling', () => {
    const f = emptyVisitForm();
    expect(hivResultAllowed(f)).toBe(false);
    f.hiv_consent = true;
    expect(hivResultAllowed(f)).toBe(false);
    f.hiv_counselled = true;
    expect(hivResultAllowed(f)).toBe(true);
  });

  const s = (reason: string, destination: string, urgency: Suggestion['urgency']): Suggestion => ({
    reason, destination, urgency, reason_label: reason, destination_label: destination, urgency_label: urgency, finding: '', rule: `rule.${reason}`,
  });

  it('keeps the user choices when suggestions are refreshed', () => {
    let rows: ReferralRow[] = mergeSuggestions([], [s('screening:hiv', 'hiv-testing-cabinet', 'priority'), s('screening:glucose', 'hub-gp', 'routine')]);
    expect(rows.every((r) => r.accepted)).toBe(true);
    rows[1].accepted = false;
    rows[0].urgency = 'same_day';
    rows.push({ reason: 'social', destination: 'hub-social-worker', urgency: 'routine', accepted: true, suggested: false, label: '' });
    // Glucose went back to normal: its suggestion disappears; HIV keeps the edited urgency.
    rows = mergeSuggestions(rows, [s('screening:hiv', 'hiv-testing-cabinet', 'priority')]);
    expect(rows.map((r) => r.reason)).toEqual(['screening:hiv', 'social']);
    expect(rows[0].urgency).toBe('same_day');
    expect(chosenReferrals(rows)).toEqual([
      // A confirmed suggestion names its rule (the slip prints what it found); an added one none.
      { reason: 'screening:hiv', destination: 'hiv-testing-cabinet', urgency: 'same_day', finding: 'rule.screening:hiv' },
      { reason: 'social', destination: 'hub-social-worker', urgency: 'routine' },
    ]);
  });

  it('pre-fills registration from the search', () => {
    expect(draftFromQuery('7706245930').egn).toBe('7706245930');
    expect(draftFromQuery('0888 123 456').phone).toBe('0888 123 456');
    const d = draftFromQuery('Росица Асенова Юсеинова 1977');
    expect([d.given_name, d.middle_name, d.family_name]).toEqual(['Росица', 'Асенова', 'Юсеинова']);
  });
});

describe('the sync indicator', () => {
  it('says what the agent is doing, with progress while syncing', () => {
    const base = { last_success: null, pending_local_changes: 0, hub_url: 'http://127.0.0.1:8750' };
    expect(describeSync({ ...base, state: 'offline', pending_local_changes: 3 }, 'bg').detail).toContain('3 чакащи промени');
    expect(describeSync({ ...base, state: 'up_to_date' }, 'en').title).toBe('Up to date');
    const syncing = describeSync(
      { ...base, state: 'syncing', pending_local_changes: 30, progress: { exchanges: 1, docs_sent: 10, docs_received: 2, bytes_sent: 2048, bytes_received: 10 } },
      'bg',
    );
    expect(syncing.progress).toBeCloseTo(0.25);
    expect(syncing.detail).toContain('изпратени 10 док. (2,0 KB)');
    expect(describeSync({ ...base, state: 'error', reason: 'boom' }, 'bg').tone).toBe('bad');
  });
});

describe('the api module', () => {
  it('turns every kind of rejection into an ApiError in the user language', () => {
    const e = toApiError({ kind: 'invalid', message: 'm', fields: [{ field: 'egn', message: 'x' }] }, 'bg');
    expect(e).toBeInstanceOf(ApiError);
    expect(e.fields[0].field).toBe('egn');
    expect(toApiError({ error: 'wrong name or password', error_bg: 'грешно име или парола' }, 'bg').message).toBe('грешно име или парола');
    expect(toApiError(new TypeError('Failed to fetch'), 'bg').kind).toBe('offline');
  });

  it('sends the same call shape over any transport', async () => {
    const sent: unknown[] = [];
    const transport = {
      mode: 'app' as const,
      call: async (lang: string, op: string, args?: unknown) => {
        sent.push({ lang, op, args });
        if (op === 'register_person') throw { kind: 'possible_duplicates', message: 'dup', duplicates: [{ id: 'x' }] };
        return [];
      },
      status: async () => status({ unlocked: true, user: 'a', cabinet: 'c' }),
      setup: async () => status({ unlocked: false, user: null, cabinet: 'c' }),
      touch: async () => {},
      unlock: async () => status({ unlocked: true, user: 'a', cabinet: 'c' }),
      lock: async () => {},
      syncView: async () => ({ last_success: null, pending_local_changes: 0, hub_url: null }),
      syncNow: async () => {},
      enroll: async () => {},
      printSlips: async () => 'slips.pdf',
      reportFile: async () => 'report.pdf',
      saveJson: async () => 'bundle.json',
      admin: async () => {
        throw new ApiError('unsupported', 'only at the hub');
      },
    };
    const api = makeApi(transport, () => 'en');
    await api.search('yuseinova');
    expect(sent[0]).toEqual({ lang: 'en', op: 'search', args: { query: 'yuseinova' } });
    await expect(api.registerPerson({} as never, false)).rejects.toMatchObject({ kind: 'possible_duplicates', duplicates: [{ id: 'x' }] });
    await expect(api.adminUsers()).rejects.toMatchObject({ kind: 'unsupported' });
  });

  it('calls the hub admin API with the right method, path and body', async () => {
    const sent: unknown[] = [];
    let answer: unknown = null;
    const transport = {
      mode: 'hub' as const,
      call: async () => null,
      status: async () => status({ unlocked: true, user: 'a', cabinet: 'hub' }),
      setup: async () => status({ unlocked: false, user: null, cabinet: 'hub' }),
      touch: async () => {},
      unlock: async () => status({ unlocked: true, user: 'a', cabinet: 'hub' }),
      lock: async () => {},
      syncView: async () => ({ last_success: null, pending_local_changes: 0, hub_url: null }),
      syncNow: async () => {},
      enroll: async () => {},
      printSlips: async () => '',
      reportFile: async () => '',
      saveJson: async () => '',
      admin: async (lang: string, method: string, path: string, body?: unknown) => {
        sent.push({ lang, method, path, body });
        if (path.endsWith('/reset') && (body as { password: string }).password.length < 8) {
          throw { kind: 'invalid', message: 'm', fields: [{ field: 'password', message: 'Парола/ПИН: поне 8 знака' }] };
        }
        if (path.endsWith('/disable') && path.includes('admin.self')) {
          throw { error: 'you cannot disable yourself', error_bg: 'не можете да деактивирате себе си' };
        }
        return answer;
      },
    };
    const api = makeApi(transport, () => 'bg');
    answer = [{ name: 'mpetrova', display_name: 'Мария Петрова', role: 'nurse', disabled: false, generation: 0, failed_logins: 0, on_devices: true }];
    expect((await api.adminUsers())[0].name).toBe('mpetrova');
    answer = { name: 'ivanov', display_name: 'Иван Иванов', role: 'doctor' };
    await api.addUser({ name: 'ivanov', display_name: 'Иван Иванов', role: 'doctor', cabinets: ['Перник-1'], password: 'long enough' });
    answer = null;
    await api.disableUser('ivanov');
    await api.enableUser('ivanov');
    await api.resetUser('ivanov', 'another one', 'device');
    await api.editUser('ivanov', { cabinets: ['Радомир-1'] });
    await expect(api.resetUser('ivanov', 'abcd')).rejects.toMatchObject({ kind: 'invalid', fields: [{ field: 'password' }] });
    await expect(api.disableUser('admin.self')).rejects.toMatchObject({ kind: 'hub', message: 'не можете да деактивирате себе си' });
    answer = [];
    await api.audit(auditQuery({ user: 'Петрова', action: 'view', from: '2026-11-23', to: '2026-11-23' }));
    expect(sent).toEqual([
      { lang: 'bg', method: 'GET', path: '/api/admin/users', body: undefined },
      { lang: 'bg', method: 'POST', path: '/api/admin/users', body: { name: 'ivanov', display_name: 'Иван Иванов', role: 'doctor', cabinets: ['Перник-1'], password: 'long enough', lang: 'bg' } },
      { lang: 'bg', method: 'POST', path: '/api/admin/users/ivanov/disable', body: { lang: 'bg' } },
      { lang: 'bg', method: 'POST', path: '/api/admin/users/ivanov/enable', body: { lang: 'bg' } },
      { lang: 'bg', method: 'POST', path: '/api/admin/users/ivanov/reset', body: { password: 'another one', secret: 'device', lang: 'bg' } },
      { lang: 'bg', method: 'POST', path: '/api/admin/users/ivanov/edit', body: { cabinets: ['Радомир-1'], lang: 'bg' } },
      { lang: 'bg', method: 'POST', path: '/api/admin/users/ivanov/reset', body: { password: 'abcd', lang: 'bg' } },
      { lang: 'bg', method: 'POST', path: '/api/admin/users/admin.self/disable', body: { lang: 'bg' } },
      {
        lang: 'bg',
        method: 'GET',
        path: `/api/admin/audit?user=${encodeURIComponent('Петрова')}&action=view&since=2026-11-22T22%3A00%3A00Z&until=2026-11-23T22%3A00%3A00Z&limit=${AUDIT_LIMIT}`,
        body: undefined,
      },
    ]);
  });

  it('leaves empty audit boxes out of the query', () => {
    expect(auditSearch({})).toBe('');
    expect(auditSearch({ user: '  ', device: '', record: undefined, action: 'view' })).toBe('?action=view');
    expect(auditSearch({ since: '2026-11-22T22:00:00Z', limit: 50 })).toBe('?since=2026-11-22T22%3A00%3A00Z&limit=50');
    expect(new URLSearchParams(auditSearch({ since: '2026-11-22T22:00:00Z' })).get('since')).toBe('2026-11-22T22:00:00Z');
  });
});

describe('the hub admin screens', () => {
  it('turns the typed filter into the hub query: whole Sofia days, empty boxes left out', () => {
    expect(auditQuery(undefined)).toEqual({ limit: AUDIT_LIMIT });
    expect(auditQuery({ user: ' Петрова ', device: '', action: 'view' }, 20)).toEqual({ user: 'Петрова', action: 'view', limit: 20 });
    // One day: from its Sofia midnight to the next one (the hub takes `until` as exclusive).
    expect(auditQuery({ from: '2026-11-23', to: '2026-11-23' })).toMatchObject({ since: '2026-11-22T22:00:00Z', until: '2026-11-23T22:00:00Z' });
    // Only an end: everything up to the end of that day, summer time.
    const q = auditQuery({ to: '2026-07-31' });
    expect(q.since).toBeUndefined();
    expect(q.until).toBe('2026-07-31T21:00:00Z');
    expect(cleanFilter({ user: ' ', record: '' })).toBeUndefined();
  });
  it('reads day boxes as dd.mm.yyyy, empty meaning any', () => {
    expect(dayBox('')).toBeUndefined();
    expect(dayBox('  ')).toBeUndefined();
    expect(dayBox('23.11.2026')).toBe('2026-11-23');
    expect(dayBox('1.3.2026 г.')).toBe('2026-03-01');
    expect(dayBox('31.11.2026')).toBeNull();
    expect(dayBox('2026-11-23')).toBeNull();
  });
  it('names actions, sources and roles in Bulgarian', () => {
    const bg = (k: ReturnType<typeof auditActionKey>) => (k ? translate('bg', k) : null);
    expect(AUDIT_ACTIONS.map((a) => bg(auditActionKey(a)))).toEqual([
      'създаване',
      'редакция',
      'преглед',
      'печат',
      'оттегляне',
      'отчет',
      'износ на данни',
      'отказан достъп',
      'нов потребител',
      'смяна на роля',
      'смяна на кабинети',
      'нова парола/ПИН',
      'деактивиране',
      'активиране',
    ]);
    expect(auditActionKey('something new')).toBeNull();
    expect(bg(auditSourceKey('refusal'))).toBe('отказано от Хъба');
    expect(ROLES.map((r) => roleKey(r)).every((k) => k !== null && translate('bg', k).length > 0)).toBe(true);
    expect(bg(roleKey('hub_admin'))).toBe('администратор на Хъба');
    expect(roleKey('janitor')).toBeNull();
    expect(isAdminRole('hub_admin')).toBe(true);
    expect(isAdminRole('nurse')).toBe(false);
    expect(isAdminRole(null)).toBe(false);
    expect(isAdminRole('privacy_officer')).toBe(false);
    expect(readsAudit('privacy_officer')).toBe(true);
    expect(readsAudit('hub_admin')).toBe(true);
    expect(readsAudit('nurse')).toBe(false);
  });
});

describe('translations', () => {
  it('every key has a non-empty Bulgarian and English text', () => {
    for (const key of Object.keys(dictionaries.bg) as (keyof typeof dictionaries.bg)[]) {
      expect(dictionaries.bg[key].length, key).toBeGreaterThan(0);
      expect(dictionaries.en[key].length, key).toBeGreaterThan(0);
    }
  });
});

describe('enrolling with a certificate to confirm', () => {
  it('puts the confirmed fingerprint after the address, replacing any earlier one', () => {
    const fp = 'ab'.repeat(32);
    expect(withFingerprint(' https://hub:8750 ', fp)).toBe(`https://hub:8750#sha256=${fp}`);
    expect(withFingerprint('https://hub:8750#sha256=00', fp)).toBe(`https://hub:8750#sha256=${fp}`);
  });
  it('shows a fingerprint in groups of four, as the hub prints it', () => {
    expect(groupedFingerprint('abcd0123ef')).toBe('ABCD 0123 EF');
  });
  it('keeps the fingerprint an enroll refusal carries', () => {
    const e = toApiError({ kind: 'confirm_fingerprint', message: 'Сравнете…', fields: [], duplicates: [], fingerprint: 'ab'.repeat(32) }, 'bg');
    expect(e.kind).toBe('confirm_fingerprint');
    expect(e.fingerprint).toBe('ab'.repeat(32));
  });
});
