// What the always-visible sync indicator says, from the agent's view.
import type { Lang } from './api';
import { formatBytes, formatDateTime } from './format';
import { translate, type Key } from './i18n';
import type { SyncBarView } from './api';

export interface SyncLine {
  tone: 'ok' | 'busy' | 'warn' | 'bad' | 'idle';
  title: string;
  detail: string;
  /** 0–1 when the share done is known, null for an indeterminate bar, undefined for none. */
  progress?: number | null;
}

/** The sync state, or undefined while the agent starts. */
export const syncState = (v: SyncBarView | null) => (v && 'state' in v ? v.state : undefined);

export function describeSync(v: SyncBarView | null, lang: Lang): SyncLine {
  const t = (k: Key) => translate(lang, k);
  // No state yet: the agent starts a moment after the login.
  if (!v || !('state' in v)) return { tone: 'idle', title: t('sync_offline'), detail: '' };
  const last = `${t('last_sync')}: ${v.last_success ? formatDateTime(v.last_success) : t('never')}`;
  const pending = v.pending_local_changes > 0 ? `${v.pending_local_changes} ${t('pending')} · ` : '';
  switch (v.state) {
    case 'hub':
      return { tone: 'ok', title: t('sync_hub'), detail: v.hub_url ?? '' };
    case 'not_enrolled':
      return { tone: 'idle', title: t('sync_not_enrolled'), detail: pending.replace(/ · $/, '') };
    case 'offline':
      return { tone: 'warn', title: t('sync_offline'), detail: pending + last };
    case 'up_to_date':
      return { tone: 'ok', title: t('sync_up_to_date'), detail: pending + last };
    case 'error':
      return { tone: 'bad', title: t('sync_error'), detail: `${v.reason ?? ''} · ${pending}${last}` };
    case 'syncing': {
      const p = v.progress;
      if (!p) return { tone: 'busy', title: t('sync_syncing'), detail: '', progress: null };
      const detail = `${t('sent')} ${p.docs_sent} ${t('docs')} (${formatBytes(p.bytes_sent, lang)}), ${t('received')} ${p.docs_received} ${t('docs')} (${formatBytes(p.bytes_received, lang)})`;
      const total = p.docs_sent + v.pending_local_changes;
      return {
        tone: 'busy',
        title: t('sync_syncing'),
        detail,
        progress: total > 0 && v.pending_local_changes > 0 ? p.docs_sent / total : null,
      };
    }
  }
  return { tone: 'idle', title: String((v as { state: string }).state), detail: '' };
}
