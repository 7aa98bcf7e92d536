// The app-wide state the screens share: language and who is signed in.
import { setApiLang, type Lang } from './api';
import { translate, type Key } from './i18n';

const saved = (typeof localStorage !== 'undefined' && localStorage.getItem('kabinet.lang')) as Lang | null;

export const app = $state({
  lang: (saved === 'en' ? 'en' : 'bg') as Lang,
  unlocked: false,
  user: null as string | null,
  role: null as string | null,
  cabinet: null as string | null,
  /** Why the app locked itself (inactivity, user disabled), shown on the login screen. */
  lockMessage: '',
});
setApiLang(app.lang);

export function setLang(lang: Lang) {
  app.lang = lang;
  setApiLang(lang);
  localStorage.setItem('kabinet.lang', lang);
  document.documentElement.lang = lang;
}

export function t(key: Key): string {
  return translate(app.lang, key);
}
