// Generated from the Rust types by tests/tests/ui_types.rs; do not edit.
// KABINET_WRITE_UI_TYPES=1 cargo test -p kabinet-tests --test ui_types

/**
 * Where the app stands: what the first screen shows.
 */
export type AppState = "setup" | "locked" | "unlocked";

export type AppStatus = { state: AppState, unlocked: boolean, user: string | null, role: Role | null, cabinet: string | null, 
/**
 * The users who may log in on this device.
 */
users: Array<UserSummary>, idle_lock_ms: number, lock_reason: LockReason | null, };

/**
 * A task is someone's: a named worker (their login) or anyone of a role.
 */
export type Assignee = { "user": string } | { "role": Role };

/**
 * What the admin's audit view asks for; `None` means any.
 */
export type AuditFilter = { 
/**
 * Part of the user's display name or login name.
 */
user?: string, device?: string, 
/**
 * A record id (or its beginning).
 */
record?: string, 
/**
 * create | edit | view | print | withdraw | refused
 */
action?: string, since?: string, until?: string, limit?: number, };

/**
 * One line of the audit view.
 */
export type AuditRow = { at: string, 
/**
 * As the entry recorded them: a user's display name (unique at the hub), `console:…`
 * for the hub's command line, `system`.
 */
user: string, 
/**
 * The login name of the user of that display name (`""` when none has it; several,
 * comma-separated, only for names given twice before the hub refused duplicates).
 */
login: string, device: string, action: string, record: string, class: string, 
/**
 * device (a device's own log), hub (staff at the hub), refusal (refused by the hub).
 */
source: string, };

/**
 * How a report is cut.
 */
export type Breakdown = "programme" | "cabinet" | "neighbourhood" | "sex" | "age_esf" | "age_who" | "month" | "destination_urgency" | "closure_reason";

export type BreakdownView = { id: Breakdown, name: string, };

/**
 * One call from a screen: the language it wants messages in, and the request.
 */
export type Call = { lang: Lang, } & ({ "op": "report", "args": { from: string, to: string, cabinet?: string, } } | { "op": "search", "args": { query: string, } } | { "op": "check_person", "args": { draft: PersonDraft, } } | { "op": "register_person", "args": { draft: PersonDraft, not_a_duplicate: boolean, } } | { "op": "person_record", "args": { id: string, } } | { "op": "fhir_person", "args": { id: string, } } | { "op": "settle_conflict", "args": { person_id: string, 
/**
 * The document the field is in (`FieldConflict::doc_id`) when it is not the
 * person's own: a visit's, or a result's.
 */
doc_id?: string, field: string, choice: number, } } | { "op": "to_review", "args": Record<symbol, never> } | { "op": "possible_duplicates", "args": { limit?: number, } } | { "op": "merge_persons", "args": { survivor: string, duplicate: string, reason: string, } } | { "op": "unmerge_person", "args": { duplicate: string, reason: string, } } | { "op": "not_same_person", "args": { a: string, b: string, } } | { "op": "open_case", "args": { person_id: string, referral_id?: string, lead?: string, household?: string, } } | { "op": "cases", "args": { status?: string, lead?: string, } } | { "op": "case", "args": { id: string, } } | { "op": "add_goal", "args": { case_id: string, goal: GoalInput, } } | { "op": "set_goal", "args": { case_id: string, goal_id: string, status: string, } } | { "op": "add_task", "args": { case_id: string, task: TaskInput, } } | { "op": "update_task", "args": { case_id: string, task_id: string, status: string, outcome?: string, } } | { "op": "add_case_note", "args": { case_id: string, kind: string, text: string, } } | { "op": "share_consent", "args": { case_id: string, kind: string, roles: Array<string>, } } | { "op": "set_case_status", "args": { case_id: string, status: string, reason?: string, note?: string, } } | { "op": "my_tasks", "args": Record<symbol, never> } | { "op": "team_tasks", "args": Record<symbol, never> } | { "op": "case_options", "args": Record<symbol, never> } | { "op": "task_from_referral", "args": { referral_id: string, } } | { "op": "refer_from_case", "args": { case_id: string, referral: ReferralChoice, } } | { "op": "edit_case", "args": { case_id: string, lead?: string, team?: Array<string>, household?: string, } } | { "op": "add_conference", "args": { case_id: string, conference: ConferenceInput, } } | { "op": "person_form", "args": { id: string, } } | { "op": "edit_person", "args": { id: string, draft: PersonDraft, reason: string, not_a_duplicate: boolean, } } | { "op": "check_visit", "args": { form: VisitForm, 
/**
 * The person screened: their age decides whether adult ranges apply, and whether
 * pregnancy may be recorded. Without it, the rules take an adult.
 */
person_id?: string, } } | { "op": "save_visit", "args": { person_id: string, 
/**
 * When the visit took place, if not now (a visit entered later from paper); never
 * in the future.
 */
at?: string, form: VisitForm, 
/**
 * Read by every role that sees the visit.
 */
notes: string, 
/**
 * Read by nurses and doctors only (`AccessClass::Clinical`).
 */
clinical_note?: string, place?: string, referrals: Array<ReferralChoice>, } } | { "op": "visit_for_correction", "args": { visit_id: string, } } | { "op": "correct_visit", "args": { visit_id: string, form: VisitForm, reason: string, referrals: Array<ReferralChoice>, cancel: Array<string>, } } | { "op": "void_visit", "args": { visit_id: string, reason: string, } } | { "op": "today", "args": { day?: string, } } | { "op": "destinations", "args": Record<symbol, never> } | { "op": "visit_options", "args": Record<symbol, never> } | { "op": "referral_by_code", "args": { code: string, } } | { "op": "referral", "args": { id: string, } } | { "op": "update_referral", "args": { id: string, 
/**
 * attended | completed | declined | lost_to_follow_up
 */
status: string, 
/**
 * Free text: what happened, the outcome.
 */
note?: string, } } | { "op": "follow_up", "args": Record<symbol, never> } | { "op": "issued_on", "args": { day?: string, } } | { "op": "save_draft", "args": { key: string, value: JsonValue, } } | { "op": "load_draft", "args": { key: string, } } | { "op": "delete_draft", "args": { key: string, } } | { "op": "withdraw_consent", "args": { person_id: string, } });

/**
 * One choice of a case form: its spelling and its label.
 */
export type CaseChoice = { value: string, label: string, };

/**
 * The choices of the case screens' forms, labelled in the caller's language.
 */
export type CaseOptions = { domains: Array<CaseChoice>, priorities: Array<CaseChoice>, closure_reasons: Array<CaseChoice>, 
/**
 * The team's roles a task can be for, or a note shared with.
 */
roles: Array<CaseChoice>, };

/**
 * Where a case stands.
 */
export type CaseStatus = "open" | "on_hold" | "closed";

/**
 * A case as the case list shows it.
 */
export type CaseSummary = { id: string, 
/**
 * The person (a merged duplicate's case is listed under its survivor).
 */
person_id: string, person_name: string, status: CaseStatus, lead: string, household: string | null, opened_at: string, };

/**
 * A case's page: the plan, the tasks, the notes the caller sees (by discipline), the
 * referrals and the visits.
 */
export type CaseView = { id: string, person_id: string, person_name: string, household: string | null, status: CaseStatus, status_label: string, 
/**
 * "закрит: целите са постигнати — …" when closed.
 */
closure: string | null, lead: string, team: Array<string>, opened_at: string, opened_by: string, goals: Array<GoalView>, tasks: Array<TaskView>, notes: Array<NoteView>, note_kinds: Array<NoteKindOption>, 
/**
 * What the person agreed to share, as sentences.
 */
consents: Array<string>, referrals: Array<ReferralView>, conferences: Array<ConferenceView>, visits: Array<VisitSummary>, };

/**
 * A label of the visit form, keyed by a domain value's spelling.
 */
export type Choice = { value: string, label: string, };

/**
 * A case conference as the form sends it; each decision that needs doing is a task.
 */
export type ConferenceInput = { on: string, attendees: Array<string>, institutions: Array<string>, decisions: string, tasks: Array<TaskInput>, };

/**
 * A case conference as the page shows it.
 */
export type ConferenceView = { id: string, on: string, attendees: Array<string>, institutions: Array<string>, decisions: string, };

/**
 * A visit corrected: the referrals issued and cancelled with it.
 */
export type CorrectedVisit = { visit_id: string, 
/**
 * The screenings changed, by name (a sensitive one the user reads is named too).
 */
changed: Array<string>, referrals: Array<IssuedReferral>, cancelled: Array<string>, };

/**
 * One correction as the record shows it: when, who, which fields (their labels), why.
 */
export type CorrectionView = { 
/**
 * dd.mm.yyyy HH:MM, Sofia time.
 */
at: string, by: string, fields: Array<string>, reason: string, };

export type DestinationView = { slug: string, label: string, hub: boolean, };

/**
 * The domains of the biopsychosocial plan.
 */
export type Domain = "health" | "social_assistance" | "housing_documents" | "legal" | "education" | "employment" | "psychological";

/**
 * The review queue: the best pairs and how many there are in all.
 */
export type DuplicateList = { pairs: Array<DuplicatePair>, total: number, };

/**
 * A probable duplicate pair, as the review queue shows it.
 */
export type DuplicatePair = { a: PersonHit, b: PersonHit, 
/**
 * 0–100; 100 only for a shared ЕГН or ЛНЧ.
 */
score: number, 
/**
 * The same ЕГН or ЛНЧ.
 */
certain: boolean, 
/**
 * Why the pair looks like one person, as sentences in the caller's language.
 */
evidence: Array<string>, };

/**
 * A person's record corrected: which fields changed (`Field::key`), none when the form
 * was saved as it was.
 */
export type EditedPerson = { id: string, full_name: string, changed: Array<string>, };

/**
 * The JSON body of a refused request, the same over Tauri and HTTP.
 */
export type ErrorBody = { kind: ErrorKind, message: string, 
/**
 * One message per wrong field (empty when the refusal is not about a field).
 */
fields: Array<FieldMessage>, 
/**
 * The people a registration may duplicate (empty otherwise).
 */
duplicates: Array<PersonHit>, 
/**
 * With `confirm_fingerprint`: the hub certificate's SHA-256 fingerprint (hex) to compare
 * with the one the hub operator printed.
 */
fingerprint?: string, };

/**
 * What kind of refusal an answer is: the `kind` of every [`ErrorBody`] (from the service,
 * the device's session and the hub's admin screens) and, for the service's, the hub's HTTP
 * status both come from here, so nobody matches on the body's string.
 */
export type ErrorKind = "invalid" | "egn_taken" | "possible_duplicates" | "not_found" | "bad_request" | "forbidden" | "store" | "locked" | "enroll" | "no_users" | "admin" | "confirm_fingerprint";

/**
 * A field changed on two devices while apart.
 */
export type FieldConflict = { 
/**
 * The document the field is in: the person's own, a visit's or a result's; with
 * `field`, what `settle_conflict` takes back.
 */
doc_id: string, 
/**
 * The field's path in the document (`phone`, `birth_date.estimated_year`,
 * `screenings.glucose.value`).
 */
field: string, label: string, 
/**
 * Every value, as shown; the one read everywhere until settled is last.
 */
values: Array<string>, 
/**
 * An identity field (ЕГН, ЛНЧ, birth date, sex) or a screening result: clinically
 * significant, on the hub's review list.
 */
identity: boolean, 
/**
 * The corrections that changed this field: who and when.
 */
edits: Array<CorrectionView>, };

export type FieldMessage = { 
/**
 * The form field's key (core's `Field::key`).
 */
field: string, message: string, };

/**
 * A goal, as the form sends it.
 */
export type GoalInput = { domain: string, text: string, target?: string, responsible?: string, };

export type GoalStatus = "proposed" | "active" | "achieved" | "abandoned";

export type GoalView = { id: string, domain: Domain, domain_label: string, text: string, target: string | null, status: GoalStatus, status_label: string, responsible: string, };

/**
 * The group an indicator is shown in.
 */
export type Group = "reach" | "screening" | "yield" | "linkage" | "data_quality" | "team";

export type HistoryLine = { status: ReferralStatus, status_label: string, at: string, by: string, note: string | null, };

/**
 * One indicator as the report screen shows it: its name in the asked language.
 */
export type IndicatorView = { id: string, name: string, group: Group, unit: Unit, 
/**
 * About HIV, hepatitis or TB: small numbers are suppressed below the programme.
 */
sensitive: boolean, breakdowns: Array<Breakdown>, };

export type IssuedReferral = { id: string, code: string, destination: string, urgency: string, 
/**
 * Its slip may be printed without name and ЕГН (an HIV referral).
 */
may_be_anonymous: boolean, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

/**
 * The language of a user-facing message. Bulgarian first.
 */
export type Lang = "bg" | "en";

/**
 * Why the last session ended, for the login screen.
 */
export type LockReason = "idle" | "disabled";

/**
 * A record merged into a person's, as the survivor's record lists it.
 */
export type MergedView = { id: string, full_name: string, birth: string, 
/**
 * dd.mm.yyyy HH:MM, Sofia time; empty when merged through another record.
 */
at: string, by: string, reason: string, };

/**
 * A user the admin adds from the web UI.
 */
export type NewUser = { 
/**
 * The login name.
 */
name: string, display_name: string, 
/**
 * A role's spelling (`kabinet_core::Role::as_str`).
 */
role: string, 
/**
 * The cabinets whose devices receive the user; none: hub staff, on no device.
 */
cabinets: Array<string>, 
/**
 * The device PIN when the user has cabinets, else the web password.
 */
password: string, lang?: Lang, };

/**
 * Who wrote a note, by discipline: it decides the note's access class.
 */
export type NoteKind = "handover" | "social" | "education" | "health" | "health_hiv" | "health_tb" | "health_hepatitis" | "psychology" | "legal";

/**
 * A kind of note the caller may write, for the note form.
 */
export type NoteKindOption = { kind: NoteKind, label: string, };

export type NoteView = { id: string, kind: NoteKind, kind_label: string, class: string, text: string, 
/**
 * dd.mm.yyyy HH:MM, Sofia time.
 */
at: string, by: string, };

/**
 * An open referral of a visit being corrected.
 */
export type OpenReferral = { id: string, code: string, 
/**
 * "Кръвна захар → Лекар (Хъб)".
 */
label: string, 
/**
 * The rule it follows, if any: when the corrected values no longer fire it, the screen
 * offers to cancel it.
 */
finding: string | null, };

export type PersonCheck = { issues: Array<FieldMessage>, warnings: Array<FieldMessage>, 
/**
 * dd.mm.yyyy (or ~yyyy), from the form or the ЕГН.
 */
birth_date: string | null, sex: string | null, latin_name: string | null, duplicates: Array<PersonHit>, };

/**
 * A person as typed into the form or the command line, before validation.
 */
export type PersonDraft = { given_name: string, middle_name: string | null, family_name: string, other_names: Array<string>, 
/**
 * M/F; filled from the ЕГН when empty.
 */
sex: string | null, 
/**
 * yyyy-mm-dd or dd.mm.yyyy; filled from the ЕГН when empty.
 */
birth_date: string | null, 
/**
 * An estimated birth year, when the exact date is unknown.
 */
birth_year: number | null, egn: string | null, lnch: string | null, phone: string | null, neighbourhood: string | null, address: string | null, no_documents: boolean, consent_given: boolean, };

export type PersonHit = { id: string, full_name: string, latin_name: string, sex: string, birth: string, birth_year: number, egn: string | null, lnch: string | null, phone: string | null, neighbourhood: string | null, no_documents: boolean, };

export type PersonRecord = { person: PersonView, visits: Array<VisitView>, referrals: Array<ReferralView>, 
/**
 * Fields that two devices changed while apart, with both values: a user who may edit
 * picks one (or corrects the field to a third).
 */
conflicts: Array<FieldConflict>, 
/**
 * Records merged into this person's (their visits and referrals are in the lists above).
 */
merged: Array<MergedView>, 
/**
 * Set only while a merge made apart points back at this record and is not followed (two
 * merges of the same pair in opposite directions): the survivor it names.
 */
merged_into: string | null, };

export type PersonView = { id: string, full_name: string, latin_name: string, other_names: Array<string>, sex: string, birth: string, egn: string | null, lnch: string | null, no_documents: boolean, phone: string | null, neighbourhood: string | null, address: string | null, consent: string | null, 
/**
 * Consent to data processing withdrawn: the record is kept minimal; no outreach.
 */
consent_withdrawn: boolean, 
/**
 * Corrections after registration, oldest first.
 */
corrections: Array<CorrectionView>, };

export type Priority = "low" | "normal" | "high";

/**
 * What the screen tells the specialist to do now (call 112, first aid, measure again,
 * repeat a test), in that order.
 */
export type PromptView = { 
/**
 * Stable: call_emergency | low_glucose_first_aid | measure_bp_again | repeat_hiv_test |
 * repeat_hbsag_test | repeat_anti_hcv_test | hba1c_in_pregnancy | child_ranges
 */
id: string, text: string, };

export type ReasonView = { 
/**
 * As [`ReferralReason::as_str`] spells it.
 */
reason: string, label: string, };

/**
 * A referral the specialist confirmed (from a suggestion) or added.
 */
export type ReferralChoice = { 
/**
 * `screening:<kind>` (e.g. `screening:hiv`), or social | legal | psychological | education.
 */
reason: string, 
/**
 * A destination slug, e.g. `hub-social-worker` or `lung-hospital`.
 */
destination: string, 
/**
 * routine | priority | same_day | emergency
 */
urgency: string, 
/**
 * The id of the rule whose suggestion this confirms (`SuggestionView::rule`): the slip
 * prints that rule's wording. Refused if the rule does not fire on the visit.
 */
finding?: string, };

export type ReferralDetail = { history: Array<HistoryLine>, 
/**
 * Statuses this referral may move to now, with their labels.
 */
next: Array<StatusChoice>, id: string, code: string, person_id: string, person_name: string, 
/**
 * As [`ReferralReason::as_str`] spells it: `screening:hiv`, `social`…
 */
reason: string, reason_label: string, destination: string, destination_label: string, urgency: Urgency, urgency_label: string, urgency_rank: number, status: ReferralStatus, status_label: string, issued_at: string, 
/**
 * dd.mm.yyyy by which the person should have arrived.
 */
due: string, overdue: boolean, };

export type ReferralStatus = "issued" | "attended" | "completed" | "declined" | "lost_to_follow_up" | "cancelled";

export type ReferralView = { id: string, code: string, person_id: string, person_name: string, 
/**
 * As [`ReferralReason::as_str`] spells it: `screening:hiv`, `social`…
 */
reason: string, reason_label: string, destination: string, destination_label: string, urgency: Urgency, urgency_label: string, urgency_rank: number, status: ReferralStatus, status_label: string, issued_at: string, 
/**
 * dd.mm.yyyy by which the person should have arrived.
 */
due: string, overdue: boolean, };

export type Registered = { id: string, full_name: string, latin_name: string, };

export type ReportRowView = { indicator: string, breakdown: Breakdown, key: string, 
/**
 * The cell as a reader reads it: a closure reason in the reader's language; other keys
 * (cabinets, neighbourhoods, months, bands) as they are.
 */
key_label: string, value: Value, 
/**
 * As a table shows it ("12", "33.3%", "<5").
 */
text: string, };

/**
 * A report with what the screen needs to print it.
 */
export type ReportView = { from: string, to: string, as_of: string, 
/**
 * The one cabinet reported on; none: the whole programme the store holds.
 */
cabinet: string | null, 
/**
 * The cabinets a report may be asked for.
 */
cabinets: Array<string>, small_number: number, 
/**
 * The indicators the reader may see, in the definitions' order.
 */
indicators: Array<IndicatorView>, breakdowns: Array<BreakdownView>, rows: Array<ReportRowView>, };

export type Request = { "op": "report", "args": { from: string, to: string, cabinet?: string, } } | { "op": "search", "args": { query: string, } } | { "op": "check_person", "args": { draft: PersonDraft, } } | { "op": "register_person", "args": { draft: PersonDraft, not_a_duplicate: boolean, } } | { "op": "person_record", "args": { id: string, } } | { "op": "fhir_person", "args": { id: string, } } | { "op": "settle_conflict", "args": { person_id: string, 
/**
 * The document the field is in (`FieldConflict::doc_id`) when it is not the
 * person's own: a visit's, or a result's.
 */
doc_id?: string, field: string, choice: number, } } | { "op": "to_review", "args": Record<symbol, never> } | { "op": "possible_duplicates", "args": { limit?: number, } } | { "op": "merge_persons", "args": { survivor: string, duplicate: string, reason: string, } } | { "op": "unmerge_person", "args": { duplicate: string, reason: string, } } | { "op": "not_same_person", "args": { a: string, b: string, } } | { "op": "open_case", "args": { person_id: string, referral_id?: string, lead?: string, household?: string, } } | { "op": "cases", "args": { status?: string, lead?: string, } } | { "op": "case", "args": { id: string, } } | { "op": "add_goal", "args": { case_id: string, goal: GoalInput, } } | { "op": "set_goal", "args": { case_id: string, goal_id: string, status: string, } } | { "op": "add_task", "args": { case_id: string, task: TaskInput, } } | { "op": "update_task", "args": { case_id: string, task_id: string, status: string, outcome?: string, } } | { "op": "add_case_note", "args": { case_id: string, kind: string, text: string, } } | { "op": "share_consent", "args": { case_id: string, kind: string, roles: Array<string>, } } | { "op": "set_case_status", "args": { case_id: string, status: string, reason?: string, note?: string, } } | { "op": "my_tasks", "args": Record<symbol, never> } | { "op": "team_tasks", "args": Record<symbol, never> } | { "op": "case_options", "args": Record<symbol, never> } | { "op": "task_from_referral", "args": { referral_id: string, } } | { "op": "refer_from_case", "args": { case_id: string, referral: ReferralChoice, } } | { "op": "edit_case", "args": { case_id: string, lead?: string, team?: Array<string>, household?: string, } } | { "op": "add_conference", "args": { case_id: string, conference: ConferenceInput, } } | { "op": "person_form", "args": { id: string, } } | { "op": "edit_person", "args": { id: string, draft: PersonDraft, reason: string, not_a_duplicate: boolean, } } | { "op": "check_visit", "args": { form: VisitForm, 
/**
 * The person screened: their age decides whether adult ranges apply, and whether
 * pregnancy may be recorded. Without it, the rules take an adult.
 */
person_id?: string, } } | { "op": "save_visit", "args": { person_id: string, 
/**
 * When the visit took place, if not now (a visit entered later from paper); never
 * in the future.
 */
at?: string, form: VisitForm, 
/**
 * Read by every role that sees the visit.
 */
notes: string, 
/**
 * Read by nurses and doctors only (`AccessClass::Clinical`).
 */
clinical_note?: string, place?: string, referrals: Array<ReferralChoice>, } } | { "op": "visit_for_correction", "args": { visit_id: string, } } | { "op": "correct_visit", "args": { visit_id: string, form: VisitForm, reason: string, referrals: Array<ReferralChoice>, cancel: Array<string>, } } | { "op": "void_visit", "args": { visit_id: string, reason: string, } } | { "op": "today", "args": { day?: string, } } | { "op": "destinations", "args": Record<symbol, never> } | { "op": "visit_options", "args": Record<symbol, never> } | { "op": "referral_by_code", "args": { code: string, } } | { "op": "referral", "args": { id: string, } } | { "op": "update_referral", "args": { id: string, 
/**
 * attended | completed | declined | lost_to_follow_up
 */
status: string, 
/**
 * Free text: what happened, the outcome.
 */
note?: string, } } | { "op": "follow_up", "args": Record<symbol, never> } | { "op": "issued_on", "args": { day?: string, } } | { "op": "save_draft", "args": { key: string, value: JsonValue, } } | { "op": "load_draft", "args": { key: string, } } | { "op": "delete_draft", "args": { key: string, } } | { "op": "withdraw_consent", "args": { person_id: string, } };

/**
 * A person whose identity fields were changed apart: the hub's "to review" list.
 */
export type ReviewItem = { person_id: string, full_name: string, fields: Array<string>, };

export type Role = "nurse" | "doctor" | "psychologist" | "lawyer" | "social_worker" | "education_mediator" | "hub_admin" | "privacy_officer" | "programme_manager";

export type SavedVisit = { visit_id: string, referrals: Array<IssuedReferral>, };

/**
 * One screening as a line of the record: "Кръвна захар: 7.4 mmol/L, на гладно".
 */
export type ScreeningLine = { kind: string, label: string, value: string, 
/**
 * A finding that needs attention (reactive test, high value, TB symptoms).
 */
flagged: boolean, };

/**
 * Which of a user's two secrets. They are never the same: the device PIN's wrapped key sits
 * on every tablet of the user's cabinets, where it can be guessed offline, so it must not
 * also open the hub's web UI, which reaches every cabinet's records.
 */
export type SecretKind = "web" | "device";

/**
 * A status a referral may move to, as a button shows it.
 */
export type StatusChoice = { status: ReferralStatus, label: string, };

export type SuggestionView = { 
/**
 * `screening:<kind>`, as a [`crate::ReferralChoice`] takes it back.
 */
reason: string, reason_label: string, destination: string, destination_label: string, urgency: Urgency, urgency_label: string, finding: string, 
/**
 * The rule's id, which a [`crate::ReferralChoice`] takes back so the slip says what
 * this rule found.
 */
rule: string, };

/**
 * How a sync went.
 */
export type SyncReport = { exchanges: number, docs_sent: number, docs_received: number, bytes_sent: number, bytes_received: number, };

/**
 * The sync bar's view: the agent's state and the hub it syncs with.
 */
export type SyncView = { hub_url: string | null, last_success: string | null, pending_local_changes: number, } & ({ "state": "not_enrolled" } | { "state": "offline", retry_in_ms: number, } | { "state": "syncing", progress: SyncReport, } | { "state": "up_to_date" } | { "state": "error", reason: string, }) | { hub_url: string | null, };

/**
 * A task, as the form sends it: for a worker (`user`, their login) or anyone of a `role`.
 */
export type TaskInput = { title: string, user?: string, role?: string, due?: string, priority?: string, };

export type TaskStatus = "todo" | "in_progress" | "done" | "cancelled";

export type TaskView = { case_id: string, id: string, person_id: string, person_name: string, title: string, assignee: Assignee, assignee_label: string, due: string | null, overdue: boolean, priority: Priority, priority_label: string, status: TaskStatus, status_label: string, outcome: string, };

export type Today = { 
/**
 * dd.mm.yyyy
 */
day: string, iso_day: string, visits: Array<VisitSummary>, referrals: Array<ReferralView>, };

/**
 * What an indicator's number is.
 */
export type Unit = "persons" | "events" | "percent" | "days" | "per_day";

export type Urgency = "routine" | "priority" | "same_day" | "emergency";

export type UrgencyView = { urgency: Urgency, label: string, };

/**
 * What an admin's action on one user carries: the new secret and which one (reset), the new
 * role and/or cabinets (edit).
 */
export type UserAction = { password?: string, 
/**
 * Which secret a reset replaces; without it, the one the user has.
 */
secret?: SecretKind, role?: string, cabinets?: Array<string>, lang?: Lang, };

/**
 * A user as the hub admin manages them.
 */
export type UserRecord = { 
/**
 * The cabinets whose devices receive this user (none: on no device).
 */
cabinets: Array<string>, disabled: boolean, 
/**
 * Raised by every new device PIN; devices clear their wrong-try count when it rises.
 */
generation: number, 
/**
 * Wrong web sign-ins since the last good one.
 */
failed_logins: number, 
/**
 * Has a web password (signs in at the hub's web UI).
 */
web_sign_in: boolean, 
/**
 * Has a device PIN (a credential devices of their cabinets receive).
 */
on_devices: boolean, 
/**
 * The login name.
 */
name: string, display_name: string, role: string, };

/**
 * A user as the login screen lists them.
 */
export type UserSummary = { name: string, display_name: string, role: string, disabled: boolean, locked: boolean, };

/**
 * A cell's value.
 */
export type Value = { "count": number } | { "percent": { numerator: number, denominator: number, } } | { "number": number } | "suppressed" | "withheld";

export type VisitCheck = { issues: Array<FieldMessage>, warnings: Array<FieldMessage>, bmi: number | null, 
/**
 * An emergency rule fired: the screen leads with "call 112".
 */
emergency: boolean, prompts: Array<PromptView>, suggestions: Array<SuggestionView>, };

/**
 * A recorded visit as its correction starts: the form with what the user may read.
 */
export type VisitEdit = { visit_id: string, person_id: string, at: string, form: VisitForm, voided: boolean, 
/**
 * The visit's open referrals the user may read: a correction may cancel them.
 */
open_referrals: Array<OpenReferral>, };

export type VisitForm = { 
/**
 * reactive | non-reactive | invalid; empty = no HIV test.
 */
hiv_result: string, 
/**
 * The repeat after an invalid result, same values.
 */
hiv_repeat: string, hiv_consent: boolean, hiv_counselled: boolean, 
/**
 * The woman is pregnant (asked of women of reproductive age).
 */
pregnant: boolean, 
/**
 * A number, or "HI" when the meter reads above its range.
 */
glucose: string, 
/**
 * mmol/L (default) | mg/dL
 */
glucose_unit: string, 
/**
 * fasting | random | unknown: required with a glucose reading (a draft from before the
 * choice existed may hold a tick: `true` reads as fasting, `false` as not chosen).
 */
fasting: string, 
/**
 * Urine ketones: negative | trace | 1+ | 2+ | 3+; empty = not tested.
 */
ketones: string, 
/**
 * none | oral | insulin; empty = not asked.
 */
glucose_medication: string, 
/**
 * Drowsy, confused or not fully conscious.
 */
drowsy: boolean, 
/**
 * The second reading 15 minutes after fast carbohydrate, in the same unit.
 */
glucose_recheck: string, hba1c: string, 
/**
 * % (default) | mmol/mol
 */
hba1c_unit: string, systolic: string, diastolic: string, pulse: string, 
/**
 * The second and third readings, 1–2 minutes apart (or 5 minutes, when the first was
 * in the grade 3 range).
 */
systolic2: string, diastolic2: string, systolic3: string, diastolic3: string, 
/**
 * Acute symptoms with a high pressure.
 */
chest_pain: boolean, breathless: boolean, neurological: boolean, confusion: boolean, headache_vomiting: boolean, weight_kg: string, height_cm: string, 
/**
 * A TB symptom screen was done (also implied by any symptom ticked).
 */
tb_screened: boolean, tb_cough: boolean, tb_cough_weeks: string, tb_fever: boolean, tb_night_sweats: boolean, tb_weight_loss: boolean, tb_contact: boolean, tb_haemoptysis: boolean, tb_breathless: boolean, tb_very_ill: boolean, tb_risk_diabetes: boolean, 
/**
 * Living with HIV, as the clinician knows it: kept in the TB screen (read only by those
 * who read HIV) and never printed.
 */
tb_risk_hiv: boolean, tb_risk_previous_tb: boolean, tb_risk_prison: boolean, tb_risk_smoking: boolean, tb_risk_alcohol: boolean, 
/**
 * HBsAg rapid test: reactive | non-reactive | invalid; empty = not done.
 */
hbsag: string, 
/**
 * anti-HCV rapid test.
 */
anti_hcv: string, hbsag_repeat: string, anti_hcv_repeat: string, };

/**
 * What the visit form shows besides its field labels: each screening's name, the readings of
 * a rapid test, and the choices of its referral rows, all labelled by core.
 */
export type VisitOptions = { 
/**
 * Each screening kind (`hiv`, `glucose`…) with its name.
 */
screenings: Array<Choice>, 
/**
 * A rapid test's readings (`reactive`, `non_reactive`, `invalid`).
 */
rapid_results: Array<Choice>, urgencies: Array<UrgencyView>, 
/**
 * Reasons other than a screening finding (social, legal…).
 */
needs: Array<ReasonView>, 
/**
 * Whether the user may write a clinical note (read by nurses and doctors only).
 */
clinical_note: boolean, 
/**
 * The hub's default for HIV slips: without name and ЕГН.
 */
anonymous_hiv_slips: boolean, };

export type VisitSummary = { id: string, person_id: string, person_name: string, cabinet: string, specialist: string, at: string, 
/**
 * Entered in error: kept in the history, out of the day's counts.
 */
voided: boolean, };

export type VisitView = { id: string, at: string, cabinet: string, specialist: string, place: string | null, notes: string, 
/**
 * The nurse's or doctor's clinical note; left empty for a role that may not read it.
 */
clinical_note: string, pregnant: boolean, screenings: Array<ScreeningLine>, 
/**
 * Entered in error: who said so, when and why.
 */
voided: CorrectionView | null, corrections: Array<CorrectionView>, };

/** Each operation's answer, by the operation's name (`Request["op"]`). */
export type Responses = {
  report: ReportView;
  search: Array<PersonHit>;
  check_person: PersonCheck;
  register_person: Registered;
  person_record: PersonRecord;
  fhir_person: JsonValue;
  person_form: PersonDraft;
  settle_conflict: PersonRecord;
  to_review: Array<ReviewItem>;
  possible_duplicates: DuplicateList;
  merge_persons: PersonRecord;
  unmerge_person: PersonRecord;
  not_same_person: null;
  open_case: CaseView;
  cases: Array<CaseSummary>;
  case: CaseView;
  add_goal: CaseView;
  set_goal: CaseView;
  add_task: CaseView;
  update_task: CaseView;
  add_case_note: CaseView;
  share_consent: CaseView;
  set_case_status: CaseView;
  my_tasks: Array<TaskView>;
  team_tasks: Array<TaskView>;
  case_options: CaseOptions;
  task_from_referral: CaseView;
  refer_from_case: CaseView;
  add_conference: CaseView;
  edit_case: CaseView;
  edit_person: EditedPerson;
  check_visit: VisitCheck;
  save_visit: SavedVisit;
  visit_for_correction: VisitEdit;
  correct_visit: CorrectedVisit;
  void_visit: PersonRecord;
  today: Today;
  destinations: Array<DestinationView>;
  visit_options: VisitOptions;
  referral_by_code: ReferralDetail;
  referral: ReferralDetail;
  update_referral: ReferralDetail;
  follow_up: Array<ReferralView>;
  issued_on: Array<string>;
  save_draft: null;
  load_draft: JsonValue | null;
  delete_draft: null;
  withdraw_consent: PersonRecord;
};
