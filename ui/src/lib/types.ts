// The shapes kabinet-service answers with (crates/service/src/views.rs).

/** A user who may log in on this device (the hub sends them by sync). */
export interface DeviceUserSummary {
  name: string;
  display_name: string;
  role: string;
  disabled: boolean;
  locked: boolean;
}

export interface AppStatus {
  /** setup: nobody can open a store here yet (first start); locked; unlocked. */
  state?: 'setup' | 'locked' | 'unlocked';
  exists: boolean;
  unlocked: boolean;
  user: string | null;
  role?: string | null;
  cabinet: string | null;
  users?: DeviceUserSummary[];
  idle_lock_ms?: number;
  /** Why the last session ended: idle, disabled. */
  lock_reason?: string | null;
}

export interface PersonHit {
  id: string;
  full_name: string;
  latin_name: string;
  sex: string;
  birth: string;
  birth_year: number;
  egn: string | null;
  lnch: string | null;
  phone: string | null;
  neighbourhood: string | null;
  no_documents: boolean;
}

export interface PersonDraft {
  given_name: string;
  middle_name: string;
  family_name: string;
  other_names: string[];
  sex: string;
  birth_date: string;
  birth_year: number | null;
  egn: string;
  lnch: string;
  phone: string;
  neighbourhood: string;
  address: string;
  no_documents: boolean;
  consent_given: boolean;
}

export interface FieldMessage {
  field: string;
  message: string;
}

export interface PersonCheck {
  issues: FieldMessage[];
  warnings: FieldMessage[];
  birth_date: string | null;
  sex: string | null;
  latin_name: string | null;
  duplicates: PersonHit[];
}

export interface Registered {
  id: string;
  full_name: string;
  latin_name: string;
}

export interface PersonView {
  id: string;
  full_name: string;
  latin_name: string;
  other_names: string[];
  sex: string;
  birth: string;
  egn: string | null;
  lnch: string | null;
  no_documents: boolean;
  phone: string | null;
  neighbourhood: string | null;
  address: string | null;
  /** "given|withdrawn dd.mm.yyyy (who)". */
  consent: string | null;
  consent_withdrawn?: boolean;
}

export interface ScreeningLine {
  kind: string;
  label: string;
  value: string;
  flagged: boolean;
}

export interface VisitView {
  id: string;
  at: string;
  cabinet: string;
  specialist: string;
  place: string | null;
  notes: string;
  screenings: ScreeningLine[];
}

export interface ReferralView {
  id: string;
  code: string;
  person_id: string;
  person_name: string;
  reason: string;
  reason_label: string;
  destination: string;
  destination_label: string;
  urgency: Urgency;
  urgency_label: string;
  status: string;
  status_label: string;
  issued_at: string;
  due: string;
  overdue: boolean;
}

export interface PersonRecord {
  person: PersonView;
  visits: VisitView[];
  referrals: ReferralView[];
  conflicts: string[];
}

export interface VisitForm {
  hiv_result: string;
  hiv_consent: boolean;
  hiv_counselled: boolean;
  glucose: string;
  glucose_unit: string;
  fasting: boolean;
  hba1c: string;
  hba1c_unit: string;
  systolic: string;
  diastolic: string;
  pulse: string;
  weight_kg: string;
  height_cm: string;
  tb_screened: boolean;
  tb_cough: boolean;
  tb_cough_weeks: string;
  tb_fever: boolean;
  tb_night_sweats: boolean;
  tb_weight_loss: boolean;
  tb_contact: boolean;
  hbsag: string;
  anti_hcv: string;
}

export type Urgency = 'routine' | 'priority' | 'same_day' | 'emergency';

export interface Suggestion {
  reason: string;
  reason_label: string;
  destination: string;
  destination_label: string;
  urgency: Urgency;
  urgency_label: string;
  finding: string;
}

export interface VisitCheck {
  issues: FieldMessage[];
  warnings: FieldMessage[];
  bmi: number | null;
  suggestions: Suggestion[];
}

export interface ReferralChoice {
  reason: string;
  destination: string;
  urgency: Urgency;
}

export interface SavedVisit {
  visit_id: string;
  referrals: { id: string; code: string; destination: string; urgency: string }[];
}

export interface VisitSummary {
  id: string;
  person_id: string;
  person_name: string;
  cabinet: string;
  specialist: string;
  at: string;
}

export interface Today {
  day: string;
  iso_day: string;
  visits: VisitSummary[];
  referrals: ReferralView[];
}

export interface Destination {
  slug: string;
  label: string;
  hub: boolean;
}

export interface SyncProgress {
  exchanges: number;
  docs_sent: number;
  docs_received: number;
  bytes_sent: number;
  bytes_received: number;
}

export interface SyncView {
  state?: 'not_enrolled' | 'offline' | 'syncing' | 'up_to_date' | 'error' | 'hub';
  retry_in_ms?: number;
  progress?: SyncProgress;
  reason?: string;
  last_success: string | null;
  pending_local_changes: number;
  hub_url: string | null;
}

export interface ReferralDetail extends ReferralView {
  history: { status: string; at: string; by: string; note: string | null }[];
  /** Statuses it may move to now. */
  next: string[];
}

// The hub admin's web API (crates/hub/src/staff.rs, storage.rs): users and the audit log.

/** A hub user as the admin manages them. */
export interface HubUser {
  /** The login name. */
  name: string;
  display_name: string;
  role: string;
  disabled: boolean;
  /** Raised by every password reset. */
  generation: number;
  /** Wrong web sign-ins since the last good one. */
  failed_logins: number;
  /** False for users added before devices had logins: not on devices until a reset. */
  on_devices: boolean;
}

export interface NewHubUser {
  name: string;
  display_name: string;
  role: string;
  password: string;
}

/** What the audit view asks the hub for; empty or missing means any. */
export interface AuditQuery {
  /** Part of the user's name. */
  user?: string;
  device?: string;
  /** A record id or its beginning. */
  record?: string;
  /** create | edit | view | print | withdraw | refused */
  action?: string;
  /** RFC 3339, inclusive. */
  since?: string;
  /** RFC 3339, exclusive. */
  until?: string;
  limit?: number;
}

/** One line of the audit log, newest first. */
export interface AuditRow {
  at: string;
  user: string;
  device: string;
  action: string;
  record: string;
  class: string;
  /** device (a device's own log), hub (staff at the hub), refusal (refused by the hub). */
  source: string;
}
