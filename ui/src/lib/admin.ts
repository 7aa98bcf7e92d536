// The hub admin's screens, the parts that are logic: roles, audit actions and their labels,
// and the audit filter as typed (Sofia days) turned into what the hub's API takes.
import { parseBgDate, shiftIsoDay, sofiaDayStart } from './format';
import type { Key } from './i18n';
import type { AuditFilter as AuditQuery, Role } from './types';

/** Every role a hub user may have, in the order the form offers them. */
export const ROLES = ['nurse', 'doctor', 'psychologist', 'lawyer', 'social_worker', 'education_mediator', 'hub_admin', 'privacy_officer', 'programme_manager'] as const satisfies readonly Role[];
// A role added to core (the generated `Role`) fails the type check here until the form offers it.
type Unoffered = Exclude<Role, (typeof ROLES)[number]>;
export const EVERY_ROLE_OFFERED: [Unoffered] extends [never] ? true : Unoffered = true;

/** What the audit log records. */
export const AUDIT_ACTIONS = [
  'create',
  'edit',
  'view',
  'print',
  'withdraw',
  'report',
  'export',
  'refused',
  // A hub admin's changes to users (the record is the user's login name).
  'add_user',
  'change_role',
  'change_cabinets',
  'reset_secret',
  'disable_user',
  'enable_user',
] as const;

/** Where an audit line came from. */
export const AUDIT_SOURCES = ['device', 'hub', 'refusal'] as const;

/** How many lines the audit view asks for at most. */
export const AUDIT_LIMIT = 500;

export const isAdminRole = (role: string | null | undefined) => role === 'hub_admin';

/** Who opens the programme report (core's `Role::reads_reports`). */
export const readsReports = (role: string | null | undefined) =>
  role === 'nurse' || role === 'doctor' || role === 'hub_admin' || role === 'programme_manager';

/** A role that reads no record (core's matrix row of none): the report is all it has. */
export const readsOnlyReports = (role: string | null | undefined) => role === 'programme_manager';

/** Who opens the audit log: the hub admin (lines about general data) and the privacy officer
 * (every line); core's `Role::reads_audit`. */
export const readsAudit = (role: string | null | undefined) => role === 'hub_admin' || role === 'privacy_officer';

/** The i18n key of a role, or null for one this UI does not know (then shown as it is). */
export function roleKey(role: string): Key | null {
  return (ROLES as readonly string[]).includes(role) ? (`role_${role}` as Key) : null;
}

export function auditActionKey(action: string): Key | null {
  return (AUDIT_ACTIONS as readonly string[]).includes(action) ? (`audit_${action}` as Key) : null;
}

export function auditSourceKey(source: string): Key | null {
  return (AUDIT_SOURCES as readonly string[]).includes(source) ? (`source_${source}` as Key) : null;
}

/** The audit filter as the screen (and its address) keeps it; days are Sofia's, yyyy-mm-dd. */
export interface AuditFilter {
  user?: string;
  device?: string;
  record?: string;
  action?: string;
  /** First day shown (inclusive). */
  from?: string;
  /** Last day shown (inclusive). */
  to?: string;
}

export const AUDIT_FILTER_KEYS = ['user', 'device', 'record', 'action', 'from', 'to'] as const;

/** The filter without empty boxes; undefined when nothing is left. */
export function cleanFilter(f: AuditFilter): AuditFilter | undefined {
  const out: AuditFilter = {};
  for (const key of AUDIT_FILTER_KEYS) {
    const v = f[key]?.trim();
    if (v) out[key] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * A day typed in a box: '' → undefined (any), dd.mm.yyyy → yyyy-mm-dd, anything else → null
 * (the screen names the box).
 */
export function dayBox(typed: string): string | undefined | null {
  if (!typed.trim()) return undefined;
  return parseBgDate(typed);
}

/**
 * The hub's query for a filter: whole Sofia days from `from` 00:00 up to the end of `to`
 * (the hub takes `since` inclusive and `until` exclusive, as RFC 3339 instants).
 */
export function auditQuery(f: AuditFilter | undefined, limit = AUDIT_LIMIT): AuditQuery {
  const c = cleanFilter(f ?? {}) ?? {};
  const q: AuditQuery = { limit };
  if (c.user) q.user = c.user;
  if (c.device) q.device = c.device;
  if (c.record) q.record = c.record;
  if (c.action) q.action = c.action;
  if (c.from) q.since = sofiaDayStart(c.from);
  if (c.to) q.until = sofiaDayStart(shiftIsoDay(c.to, 1));
  return q;
}
