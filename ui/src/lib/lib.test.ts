import { describe, expect, it } from 'vitest';
import { ApiError, makeApi, toApiError } from './api';
import { bmi, formatBytes, formatDate, formatDateTime, isoToBg, parseBgDate, shiftIsoDay, sofiaIsoDay } from './format';
import { chosenReferrals, draftFromQuery, emptyVisitForm, hivResultAllowed, mergeSuggestions, type ReferralRow } from './forms';
import { dictionaries } from './i18n';
import { href, parseRoute } from './route';
import { describeSync } from './sync';
import type { Suggestion } from './types';

describe('dates as written in Bulgaria', () => {
  it('formats in Sofia time, dd.mm.yyyy', () => {
    // 22:30 UTC on 1 March is already 2 March in Sofia (UTC+2).
    expect(formatDate('2026-03-01T22:30:00Z')).toBe('02.03.2026');
    expect(formatDateTime('2026-07-01T06:05:00Z')).toBe('01.07.2026 09:05');
    expect(sofiaIsoDay(new Date('2026-03-01T22:30:00Z'))).toBe('2026-03-02');
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
      { screen: 'visit' as const, personId: id },
      { screen: 'settings' as const },
    ]) {
      expect(parseRoute(href(r))).toEqual(r);
    }
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
    reason, destination, urgency, reason_label: reason, destination_label: destination, urgency_label: urgency, finding: '',
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
      { reason: 'screening:hiv', destination: 'hiv-testing-cabinet', urgency: 'same_day' },
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
      status: async () => ({ exists: true, unlocked: true, user: 'a', cabinet: 'c' }),
      setup: async () => ({ exists: true, unlocked: false, user: null, cabinet: 'c' }),
      touch: async () => {},
      unlock: async () => ({ exists: true, unlocked: true, user: 'a', cabinet: 'c' }),
      lock: async () => {},
      syncView: async () => ({ last_success: null, pending_local_changes: 0, hub_url: null }),
      syncNow: async () => {},
      enroll: async () => {},
      printSlips: async () => 'slips.pdf',
    };
    const api = makeApi(transport, () => 'en');
    await api.search('yuseinova');
    expect(sent[0]).toEqual({ lang: 'en', op: 'search', args: { query: 'yuseinova' } });
    await expect(api.registerPerson({} as never, false)).rejects.toMatchObject({ kind: 'possible_duplicates', duplicates: [{ id: 'x' }] });
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
