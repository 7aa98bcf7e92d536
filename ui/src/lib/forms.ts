// Form state that is logic, not markup: empty forms, where a backend message belongs, which
// suggestions become referrals, and what a search query pre-fills on registration.
import type { FieldMessage, PersonDraft, ReferralChoice, SuggestionView, VisitForm } from './types';

export function emptyVisitForm(): VisitForm {
  return {
    hiv_result: '',
    hiv_repeat: '',
    hiv_consent: false,
    hiv_counselled: false,
    pregnant: false,
    glucose: '',
    glucose_unit: 'mmol/L',
    // A required choice with a glucose reading: none is made for the nurse.
    fasting: '',
    ketones: '',
    glucose_medication: '',
    drowsy: false,
    glucose_recheck: '',
    hba1c: '',
    hba1c_unit: '%',
    systolic: '',
    diastolic: '',
    pulse: '',
    systolic2: '',
    diastolic2: '',
    systolic3: '',
    diastolic3: '',
    chest_pain: false,
    breathless: false,
    neurological: false,
    confusion: false,
    headache_vomiting: false,
    weight_kg: '',
    height_cm: '',
    tb_screened: false,
    tb_cough: false,
    tb_cough_weeks: '',
    tb_fever: false,
    tb_night_sweats: false,
    tb_weight_loss: false,
    tb_contact: false,
    tb_haemoptysis: false,
    tb_breathless: false,
    tb_very_ill: false,
    tb_risk_diabetes: false,
    tb_risk_hiv: false,
    tb_risk_previous_tb: false,
    tb_risk_prison: false,
    tb_risk_smoking: false,
    tb_risk_alcohol: false,
    hbsag: '',
    anti_hcv: '',
    hbsag_repeat: '',
    anti_hcv_repeat: '',
  };
}

export function emptyPersonDraft(): PersonDraft {
  return {
    given_name: '',
    middle_name: '',
    family_name: '',
    other_names: [],
    sex: '',
    birth_date: '',
    birth_year: null,
    egn: '',
    lnch: '',
    phone: '',
    neighbourhood: '',
    address: '',
    no_documents: false,
    consent_given: false,
  };
}

/** The message for one form field (keys as core names them, e.g. "glucose.value"). */
export function messageFor(messages: FieldMessage[], field: string): string | undefined {
  return messages.find((m) => m.field === field)?.message;
}

/** An HIV result may only be entered once consent and counselling are both ticked. */
export function hivResultAllowed(form: VisitForm): boolean {
  return form.hiv_consent && form.hiv_counselled;
}

/** A referral row on the visit screen: a suggestion (accepted or not) or one the user added. */
export interface ReferralRow extends ReferralChoice {
  accepted: boolean;
  suggested: boolean;
  label: string;
  /** What the rule found, shown beside the suggestion. */
  findingText?: string;
}

/**
 * Merges fresh suggestions into the rows the user already has: rows the user touched keep
 * their choices, suggestions no longer made disappear, new ones arrive accepted.
 */
export function mergeSuggestions(rows: ReferralRow[], suggestions: SuggestionView[]): ReferralRow[] {
  const key = (r: { reason: string; destination: string }) => `${r.reason}|${r.destination}`;
  const previous = new Map(rows.filter((r) => r.suggested).map((r) => [key(r), r]));
  const fromSuggestions = suggestions.map((s) => {
    const old = previous.get(key(s));
    return {
      reason: s.reason,
      destination: s.destination,
      urgency: old?.urgency ?? s.urgency,
      accepted: old?.accepted ?? true,
      suggested: true,
      label: s.reason_label,
      findingText: s.finding,
      // The rule goes back with the choice: the slip prints what it found.
      finding: s.rule,
    };
  });
  return [...fromSuggestions, ...rows.filter((r) => !r.suggested)];
}

export function chosenReferrals(rows: ReferralRow[]): ReferralChoice[] {
  return rows
    .filter((r) => r.accepted)
    .map(({ reason, destination, urgency, finding }) => ({ reason, destination, urgency, ...(finding ? { finding } : {}) }));
}

/** A search for digits pre-fills the ЕГН (10 digits) or the phone; words pre-fill the name. */
export function draftFromQuery(query: string | undefined): PersonDraft {
  const d = emptyPersonDraft();
  const q = (query ?? '').trim();
  if (!q) return d;
  const digits = q.replace(/[\s+()-]/g, '');
  if (/^\d+$/.test(digits)) {
    if (digits.length === 10 && !digits.startsWith('0')) d.egn = digits;
    else d.phone = q;
    return d;
  }
  const words = q.split(/\s+/).filter((w) => !/^\d{4}$/.test(w));
  if (words.length >= 2) {
    d.given_name = words[0];
    d.family_name = words[words.length - 1];
    if (words.length > 2) d.middle_name = words.slice(1, -1).join(' ');
  } else {
    d.given_name = words[0] ?? '';
  }
  return d;
}

/** The hub address with a confirmed certificate fingerprint after it (`…#sha256=…`): what
 * enrolling again sends once the person has compared the fingerprint with the printed one. */
export function withFingerprint(hubUrl: string, fingerprint: string): string {
  return `${hubUrl.trim().split('#')[0]}#sha256=${fingerprint}`;
}

/** A fingerprint in groups of four, as the hub prints it. */
export function groupedFingerprint(hex: string): string {
  return (hex.toUpperCase().match(/.{1,4}/g) ?? []).join(' ');
}
