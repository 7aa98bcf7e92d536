// Screens are addressed by the URL hash, so a reload (or the hub's browser back button)
// lands on the same screen.
import { AUDIT_FILTER_KEYS, cleanFilter, type AuditFilter } from './admin';

export type Route =
  | { screen: 'today'; day?: string }
  | { screen: 'find'; query?: string }
  | { screen: 'register'; query?: string }
  | { screen: 'person'; id: string }
  | { screen: 'edit-person'; id: string }
  | { screen: 'visit'; personId: string; correct?: string }
  | { screen: 'settings' }
  | { screen: 'referrals'; code?: string }
  | { screen: 'referral'; id: string }
  | { screen: 'duplicates' }
  | { screen: 'cases'; status?: string }
  | { screen: 'case'; id: string }
  | { screen: 'report'; from?: string; to?: string; cabinet?: string }
  | { screen: 'admin-users' }
  | { screen: 'admin-audit'; filter?: AuditFilter };

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

function auditFilterFrom(q: URLSearchParams): AuditFilter | undefined {
  const f: AuditFilter = {};
  for (const key of AUDIT_FILTER_KEYS) {
    const v = q.get(key);
    if (v) f[key] = v;
  }
  // A day in the address that is not yyyy-mm-dd is dropped rather than sent to the hub.
  if (f.from && !ISO_DAY.test(f.from)) delete f.from;
  if (f.to && !ISO_DAY.test(f.to)) delete f.to;
  return cleanFilter(f);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseRoute(hash: string): Route {
  const [path, queryString] = hash.replace(/^#/, '').split('?', 2);
  const q = new URLSearchParams(queryString ?? '');
  const seg = path.split('/').filter(Boolean);
  switch (seg[0]) {
    case 'find':
      return { screen: 'find', query: q.get('q') ?? undefined };
    case 'register':
      return { screen: 'register', query: q.get('q') ?? undefined };
    case 'person':
      if (seg[1] && UUID.test(seg[1])) return seg[2] === 'edit' ? { screen: 'edit-person', id: seg[1] } : { screen: 'person', id: seg[1] };
      break;
    case 'visit':
      if (seg[1] && UUID.test(seg[1])) {
        const correct = q.get('correct');
        return correct && UUID.test(correct) ? { screen: 'visit', personId: seg[1], correct } : { screen: 'visit', personId: seg[1] };
      }
      break;
    case 'settings':
      return { screen: 'settings' };
    case 'duplicates':
      return { screen: 'duplicates' };
    case 'cases':
      return { screen: 'cases', status: q.get('status') ?? undefined };
    case 'case':
      if (seg[1] && UUID.test(seg[1])) return { screen: 'case', id: seg[1] };
      break;
    case 'referrals':
      return { screen: 'referrals', code: q.get('code') ?? undefined };
    case 'referral':
      if (seg[1] && UUID.test(seg[1])) return { screen: 'referral', id: seg[1] };
      break;
    case 'today':
      return { screen: 'today', day: q.get('day') ?? undefined };
    case 'report': {
      const day = (k: string) => {
        const v = q.get(k);
        return v && ISO_DAY.test(v) ? v : undefined;
      };
      return { screen: 'report', from: day('from'), to: day('to'), cabinet: q.get('cabinet') || undefined };
    }
    case 'admin':
      if (seg[1] === 'users') return { screen: 'admin-users' };
      if (seg[1] === 'audit') return { screen: 'admin-audit', filter: auditFilterFrom(q) };
      break;
  }
  return { screen: 'today' };
}

export function href(r: Route): string {
  switch (r.screen) {
    case 'today':
      return r.day ? `#/today?day=${r.day}` : '#/today';
    case 'find':
      return r.query ? `#/find?q=${encodeURIComponent(r.query)}` : '#/find';
    case 'register':
      return r.query ? `#/register?q=${encodeURIComponent(r.query)}` : '#/register';
    case 'person':
      return `#/person/${r.id}`;
    case 'edit-person':
      return `#/person/${r.id}/edit`;
    case 'visit':
      return r.correct ? `#/visit/${r.personId}?correct=${r.correct}` : `#/visit/${r.personId}`;
    case 'settings':
      return '#/settings';
    case 'duplicates':
      return '#/duplicates';
    case 'cases':
      return r.status ? `#/cases?status=${encodeURIComponent(r.status)}` : '#/cases';
    case 'case':
      return `#/case/${r.id}`;
    case 'referrals':
      return r.code ? `#/referrals?code=${encodeURIComponent(r.code)}` : '#/referrals';
    case 'referral':
      return `#/referral/${r.id}`;
    case 'report': {
      const q = new URLSearchParams();
      if (r.from) q.set('from', r.from);
      if (r.to) q.set('to', r.to);
      if (r.cabinet) q.set('cabinet', r.cabinet);
      const qs = q.toString();
      return qs ? `#/report?${qs}` : '#/report';
    }
    case 'admin-users':
      return '#/admin/users';
    case 'admin-audit': {
      const f = cleanFilter(r.filter ?? {});
      const q = new URLSearchParams();
      for (const key of AUDIT_FILTER_KEYS) {
        const v = f?.[key];
        if (v) q.set(key, v);
      }
      const qs = q.toString();
      return qs ? `#/admin/audit?${qs}` : '#/admin/audit';
    }
  }
}

export function go(r: Route) {
  location.hash = href(r);
}
