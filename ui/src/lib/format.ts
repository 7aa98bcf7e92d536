// Formatting as people in Bulgaria write it: dates dd.mm.yyyy, times 24 h, Sofia time.
import type { Lang } from './api';

const TZ = 'Europe/Sofia';

function parts(d: Date, opts: Intl.DateTimeFormatOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of new Intl.DateTimeFormat('en-GB', { timeZone: TZ, ...opts }).formatToParts(d)) {
    out[p.type] = p.value;
  }
  return out;
}

/** 2026-03-02T08:15:00Z → 02.03.2026 (Sofia). */
export function formatDate(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return '';
  const p = parts(d, { day: '2-digit', month: '2-digit', year: 'numeric' });
  return `${p.day}.${p.month}.${p.year}`;
}

/** 2026-03-02T08:15:00Z → 02.03.2026 10:15 (Sofia). */
export function formatDateTime(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return '';
  const p = parts(d, { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return `${p.day}.${p.month}.${p.year} ${p.hour}:${p.minute}`;
}

/** 2026-03-02T08:15:07Z → 02.03.2026 10:15:07 (Sofia), for logs where seconds matter. */
export function formatDateTimeSeconds(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return typeof iso === 'string' ? iso : '';
  const p = parts(d, { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  return `${p.day}.${p.month}.${p.year} ${p.hour}:${p.minute}:${p.second}`;
}

/** Minutes Sofia is ahead of UTC at an instant (120 in winter, 180 in summer). */
function sofiaOffsetMinutes(at: number): number {
  const p = parts(new Date(at), { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return Math.round((wall - at) / 60_000);
}

/**
 * The instant a Sofia day (yyyy-mm-dd) begins, as RFC 3339 in UTC:
 * 2026-11-23 → 2026-11-22T22:00:00Z, 2026-07-01 → 2026-06-30T21:00:00Z.
 * (Sofia changes the clock at 03:00/04:00, never at midnight, so midnight always exists.)
 */
export function sofiaDayStart(isoDay: string): string {
  const [y, m, d] = isoDay.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d);
  // The offset at the guess may differ from the one at the true instant only across a clock
  // change; a second look settles it.
  let at = wall - sofiaOffsetMinutes(wall) * 60_000;
  at = wall - sofiaOffsetMinutes(at) * 60_000;
  return new Date(at).toISOString().replace('.000Z', 'Z');
}

/** The time of day only: 10:15. */
export function formatTime(iso: string): string {
  return formatDateTime(iso).slice(11);
}

/** Today's date in Sofia as yyyy-mm-dd (what the API takes). */
export function sofiaIsoDay(now: Date = new Date()): string {
  const p = parts(now, { day: '2-digit', month: '2-digit', year: 'numeric' });
  return `${p.year}-${p.month}-${p.day}`;
}

/** dd.mm.yyyy → yyyy-mm-dd, or null when it is not a real date. */
export function parseBgDate(input: string): string | null {
  const m = /^\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})\s*(г\.?)?\s*$/.exec(input);
  if (!m) return null;
  const [day, month, year] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** yyyy-mm-dd → dd.mm.yyyy */
export function isoToBg(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return m ? `${m[3]}.${m[2]}.${m[1]}` : iso;
}

/** 1536 → "1.5 KB" */
export function formatBytes(n: number, lang: Lang): string {
  const units = lang === 'bg' ? ['Б', 'KB', 'MB', 'GB'] : ['B', 'KB', 'MB', 'GB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  const s = i === 0 ? String(v) : v.toFixed(1);
  return `${lang === 'bg' ? s.replace('.', ',') : s} ${units[i]}`;
}

/** The BMI the form shows while typing (the saved one comes from core). */
export function bmi(weightKg: string, heightCm: string): number | null {
  const w = Number(weightKg.replace(',', '.'));
  const h = Number(heightCm.replace(',', '.')) / 100;
  if (!w || !h || !Number.isFinite(w) || !Number.isFinite(h)) return null;
  return Math.round((w / (h * h)) * 10) / 10;
}

/** yyyy-mm-dd moved by whole days (calendar arithmetic, no time zones involved). */
export function shiftIsoDay(iso: string, days: number): string {
  const [y, m, d] = iso.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return t.toISOString().slice(0, 10);
}
