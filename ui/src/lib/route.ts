// Screens are addressed by the URL hash, so a reload (or the hub's browser back button)
// lands on the same screen.

export type Route =
  | { screen: 'today'; day?: string }
  | { screen: 'find'; query?: string }
  | { screen: 'register'; query?: string }
  | { screen: 'person'; id: string }
  | { screen: 'visit'; personId: string }
  | { screen: 'settings' }
  | { screen: 'referrals'; code?: string }
  | { screen: 'referral'; id: string };

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
      if (seg[1] && UUID.test(seg[1])) return { screen: 'person', id: seg[1] };
      break;
    case 'visit':
      if (seg[1] && UUID.test(seg[1])) return { screen: 'visit', personId: seg[1] };
      break;
    case 'settings':
      return { screen: 'settings' };
    case 'referrals':
      return { screen: 'referrals', code: q.get('code') ?? undefined };
    case 'referral':
      if (seg[1] && UUID.test(seg[1])) return { screen: 'referral', id: seg[1] };
      break;
    case 'today':
      return { screen: 'today', day: q.get('day') ?? undefined };
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
    case 'visit':
      return `#/visit/${r.personId}`;
    case 'settings':
      return '#/settings';
    case 'referrals':
      return r.code ? `#/referrals?code=${encodeURIComponent(r.code)}` : '#/referrals';
    case 'referral':
      return `#/referral/${r.id}`;
  }
}

export function go(r: Route) {
  location.hash = href(r);
}
