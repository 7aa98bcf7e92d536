//! What the screens render: records flattened into labelled, language-specific views, so the
//! front end formats nothing medical itself.

use chrono::{DateTime, NaiveDate, Utc};
use kabinet_core::{
    Destination, Lang, Person, ReferralReason, ReferralStatus, ScreeningKind, Screenings,
    Suggestion, Urgency, Visit,
};
use kabinet_store::{PersonHit, ReferralSummary, VisitSummary};
use serde::Serialize;
use uuid::Uuid;

use crate::FieldMessage;

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PersonCheck {
    pub issues: Vec<FieldMessage>,
    pub warnings: Vec<FieldMessage>,
    /// dd.mm.yyyy (or ~yyyy), from the form or the ЕГН.
    pub birth_date: Option<String>,
    pub sex: Option<String>,
    pub latin_name: Option<String>,
    pub duplicates: Vec<PersonHit>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Registered {
    pub id: Uuid,
    pub full_name: String,
    pub latin_name: String,
}

/// A person's record corrected: which fields changed (`Field::key`), none when the form
/// was saved as it was.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct EditedPerson {
    pub id: Uuid,
    pub full_name: String,
    pub changed: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PersonView {
    pub id: Uuid,
    pub full_name: String,
    pub latin_name: String,
    pub other_names: Vec<String>,
    pub sex: String,
    pub birth: String,
    pub egn: Option<String>,
    pub lnch: Option<String>,
    pub no_documents: bool,
    pub phone: Option<String>,
    pub neighbourhood: Option<String>,
    pub address: Option<String>,
    pub consent: Option<String>,
    /// Consent to data processing withdrawn: the record is kept minimal; no outreach.
    pub consent_withdrawn: bool,
    /// Corrections after registration, oldest first.
    pub corrections: Vec<CorrectionView>,
}

/// A field changed on two devices while apart.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct FieldConflict {
    /// The document the field is in: the person's own, a visit's or a result's; with
    /// `field`, what `settle_conflict` takes back.
    pub doc_id: Uuid,
    /// The field's path in the document (`phone`, `birth_date.estimated_year`,
    /// `screenings.glucose.value`).
    pub field: String,
    pub label: String,
    /// Every value, as shown; the one read everywhere until settled is last.
    pub values: Vec<String>,
    /// An identity field (ЕГН, ЛНЧ, birth date, sex) or a screening result: clinically
    /// significant, on the hub's review list.
    pub identity: bool,
    /// The corrections that changed this field: who and when.
    pub edits: Vec<CorrectionView>,
}

/// A person whose identity fields were changed apart: the hub's "to review" list.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ReviewItem {
    pub person_id: Uuid,
    pub full_name: String,
    pub fields: Vec<String>,
}

/// One correction as the record shows it: when, who, which fields (their labels), why.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CorrectionView {
    /// dd.mm.yyyy HH:MM, Sofia time.
    pub at: String,
    pub by: String,
    pub fields: Vec<String>,
    pub reason: String,
}

impl PersonView {
    pub fn of(p: &Person, lang: Lang) -> PersonView {
        PersonView {
            id: p.id,
            full_name: p.full_name(),
            latin_name: p.latin_name(),
            other_names: p.other_names.clone(),
            sex: p.sex.as_str().to_string(),
            birth: p.birth_date.display(),
            egn: p.egn.as_ref().map(|e| e.as_str().to_string()),
            lnch: p.lnch.as_ref().map(|l| l.as_str().to_string()),
            no_documents: p.documents == kabinet_core::Documents::NoDocuments,
            phone: p.phone.as_ref().map(|x| x.as_str().to_string()),
            neighbourhood: p.neighbourhood.clone(),
            address: p.address.clone(),
            consent_withdrawn: p.consent_withdrawn(),
            consent: p.consent.as_ref().map(|c| {
                format!(
                    "{} {} ({})",
                    c.state.as_str(),
                    c.recorded_at.format("%d.%m.%Y"),
                    c.recorded_by
                )
            }),
            corrections: p
                .corrections
                .iter()
                .map(|c| CorrectionView::of(c, lang))
                .collect(),
        }
    }
}

impl CorrectionView {
    pub fn of(c: &kabinet_core::person::Correction, lang: Lang) -> CorrectionView {
        CorrectionView {
            at: c
                .at
                .with_timezone(&chrono_tz::Europe::Sofia)
                .format("%d.%m.%Y %H:%M")
                .to_string(),
            by: c.by.clone(),
            fields: c.fields.iter().map(|k| field_label(k, lang)).collect(),
            reason: c.reason.clone(),
        }
    }
}

/// The label of a field as corrections and review lists name it: a form field's key
/// (`phone`), a screening's (`glucose`), or "results" (a sensitive result's correction, as the
/// visit's own document names it).
pub fn field_label(key: &str, lang: Lang) -> String {
    match (kabinet_core::Field::by_key(key), ScreeningKind::parse(key)) {
        (Some(f), _) => f.label(lang).to_string(),
        (None, Some(kind)) => kind.label(lang).to_string(),
        _ if key == "results" => lang.pick("резултати", "results").to_string(),
        _ if key == crate::merges::MERGED_INTO => lang
            .pick("обединяване с друг запис", "merge with another record")
            .to_string(),
        _ => key.to_string(),
    }
}

/// One screening as a line of the record: "Кръвна захар: 7.4 mmol/L, на гладно".
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ScreeningLine {
    pub kind: String,
    pub label: String,
    pub value: String,
    /// A finding that needs attention (reactive test, high value, TB symptoms).
    pub flagged: bool,
}

fn num(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The screenings as lines, in the form's order. Flags come from the same rules that suggest
/// referrals, so the record and the suggestions never disagree.
pub fn screening_lines(
    s: &Screenings,
    who: &kabinet_core::Subject,
    lang: Lang,
) -> Vec<ScreeningLine> {
    let fired: Vec<ScreeningKind> = kabinet_core::rules::suggest_referrals(s, who)
        .iter()
        .map(|x| x.reason)
        .collect();
    let mut out = Vec::new();
    let mut line = |kind: ScreeningKind, value: String| {
        out.push(ScreeningLine {
            kind: kind.as_str().to_string(),
            label: kind.label(lang).to_string(),
            value,
            flagged: fired.contains(&kind),
        })
    };
    let rapid = |first: kabinet_core::RapidResult, repeat: Option<kabinet_core::RapidResult>| {
        match repeat {
            Some(second) => format!(
                "{}, {} {}",
                first.label(lang),
                lang.pick("повторен:", "repeat:"),
                second.label(lang)
            ),
            None => first.label(lang).to_string(),
        }
    };
    if let Some(h) = &s.hiv {
        line(ScreeningKind::Hiv, rapid(h.result, h.repeat));
    }
    if let Some(g) = &s.glucose {
        let reading = match g.value {
            Some(v) => format!("{} {}", num(v), g.unit.symbol()),
            None => lang
                .pick(
                    "HI (над обхвата на глюкомера)",
                    "HI (above the meter's range)",
                )
                .to_string(),
        };
        let mut parts = vec![reading, g.fasting.label(lang).to_string()];
        if let Some(k) = g.ketones {
            parts.push(format!("{} {}", lang.pick("кетони", "ketones"), k.symbol()));
        }
        if let Some(m) = g.medication {
            parts.push(format!(
                "{}: {}",
                lang.pick("лечение", "treatment"),
                m.label(lang)
            ));
        }
        if g.drowsy {
            parts.push(lang.pick("сънлив/объркан", "drowsy/confused").to_string());
        }
        if let Some(r) = g.recheck {
            parts.push(format!(
                "{} {} {}",
                lang.pick("след 15 мин", "after 15 min"),
                num(r),
                g.unit.symbol()
            ));
        }
        line(ScreeningKind::Glucose, parts.join(", "));
    }
    if let Some(h) = &s.hba1c {
        line(
            ScreeningKind::Hba1c,
            format!("{} % ({} mmol/mol)", num(h.percent()), num(h.mmol_mol())),
        );
    }
    if let Some(bp) = &s.blood_pressure {
        let pulse = bp
            .pulse
            .map(|p| format!(", {} {p}/min", lang.pick("пулс", "pulse")))
            .unwrap_or_default();
        let readings = bp
            .readings()
            .iter()
            .map(|r| format!("{}/{}", r.systolic, r.diastolic))
            .collect::<Vec<_>>()
            .join(", ");
        let mean = if bp.more.is_empty() {
            String::new()
        } else {
            let (sys, dia) = bp.graded();
            format!(
                " ({} {}/{})",
                lang.pick("оценено", "graded"),
                num(sys),
                num(dia)
            )
        };
        let symptoms = if bp.symptoms.any() {
            lang.pick(", с остри оплаквания", ", with acute symptoms")
        } else {
            ""
        };
        line(
            ScreeningKind::BloodPressure,
            format!("{readings} mmHg{mean}{pulse}{symptoms}"),
        );
    }
    if let Some(b) = &s.body {
        let mut parts = Vec::new();
        if let Some(w) = b.weight_kg {
            parts.push(format!("{} kg", num(w)));
        }
        if let Some(h) = b.height_cm {
            parts.push(format!("{} cm", num(h)));
        }
        if let Some(bmi) = b.bmi() {
            parts.push(format!("{} {}", lang.pick("ИТМ", "BMI"), num(bmi)));
        }
        line(ScreeningKind::Body, parts.join(", "));
    }
    if let Some(tb) = &s.tb {
        let mut signs = Vec::new();
        let names: [(bool, &str, &str); 8] = [
            (tb.cough, "кашлица", "cough"),
            (tb.fever, "температура", "fever"),
            (tb.night_sweats, "нощно изпотяване", "night sweats"),
            (tb.weight_loss, "отслабване", "weight loss"),
            (tb.contact, "контакт с болен от ТБ", "contact with TB"),
            (tb.haemoptysis, "кръв при кашлица", "coughing blood"),
            (tb.breathless, "задух", "breathless"),
            (tb.very_ill, "тежко болен", "very ill"),
        ];
        for (on, b, e) in names {
            if on {
                signs.push(lang.pick(b, e).to_string());
            }
        }
        if tb.cough && tb.cough_weeks > 0 {
            signs[0] = format!(
                "{} {} {}",
                signs[0],
                tb.cough_weeks,
                lang.pick("седм.", "wk")
            );
        }
        let mut value = if signs.is_empty() {
            lang.pick("без симптоми", "no symptoms").to_string()
        } else {
            signs.join(", ")
        };
        // The risk factors as a count: the line is read under TB's class, and the factors
        // (one of them HIV) are for the clinician's record, not a summary line.
        let risks = tb.risks.count();
        if risks > 0 {
            value.push_str(&format!(
                "; {} {risks}",
                lang.pick("рискови фактори:", "risk factors:")
            ));
        }
        line(ScreeningKind::Tb, value);
    }
    if let Some(h) = &s.hepatitis_b {
        line(ScreeningKind::HepatitisB, rapid(h.result, h.repeat));
    }
    if let Some(h) = &s.hepatitis_c {
        line(ScreeningKind::HepatitisC, rapid(h.result, h.repeat));
    }
    out
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct VisitView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub cabinet: String,
    pub specialist: String,
    pub place: Option<String>,
    pub notes: String,
    /// The nurse's or doctor's clinical note; left empty for a role that may not read it.
    pub clinical_note: String,
    pub pregnant: bool,
    pub screenings: Vec<ScreeningLine>,
    /// Entered in error: who said so, when and why.
    pub voided: Option<CorrectionView>,
    pub corrections: Vec<CorrectionView>,
}

impl VisitView {
    /// `who`: the person at the visit, for the rules that flag a line.
    pub fn of(v: &Visit, who: &kabinet_core::Subject, lang: Lang) -> VisitView {
        VisitView {
            id: v.id,
            at: v.at,
            cabinet: v.cabinet.clone(),
            specialist: v.specialist.clone(),
            place: v.place.clone(),
            notes: v.notes.clone(),
            clinical_note: v.clinical_note.clone(),
            pregnant: v.pregnant,
            screenings: screening_lines(&v.screenings, who, lang),
            voided: v.voided.as_ref().map(|x| {
                CorrectionView::of(
                    &kabinet_core::person::Correction {
                        at: x.at,
                        by: x.by.clone(),
                        fields: Vec::new(),
                        reason: x.reason.clone(),
                    },
                    lang,
                )
            }),
            corrections: v
                .corrections
                .iter()
                .map(|c| CorrectionView::of(c, lang))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ReferralView {
    pub id: Uuid,
    pub code: String,
    pub person_id: Uuid,
    pub person_name: String,
    /// As [`ReferralReason::as_str`] spells it: `screening:hiv`, `social`…
    pub reason: String,
    pub reason_label: String,
    pub destination: String,
    pub destination_label: String,
    pub urgency: Urgency,
    pub urgency_label: String,
    pub urgency_rank: u8,
    pub status: ReferralStatus,
    pub status_label: String,
    pub issued_at: String,
    /// dd.mm.yyyy by which the person should have arrived.
    pub due: String,
    pub overdue: bool,
    /// The class its reason puts it in: who may see it (for the audit log).
    #[serde(skip)]
    pub access_class: kabinet_core::AccessClass,
}

impl ReferralView {
    /// With the hub's follow-up days (how long each urgency may wait for attendance).
    pub fn with_days(
        r: ReferralSummary,
        lang: Lang,
        now: DateTime<Utc>,
        days: &kabinet_core::FollowUpDays,
    ) -> ReferralView {
        let issued = DateTime::parse_from_rfc3339(&r.issued_at)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(now);
        let due = issued + chrono::Duration::days(i64::from(days.of(r.urgency)));
        let open = r.status.is_open();
        ReferralView {
            reason_label: r.reason.label(lang).to_string(),
            destination_label: Destination::parse(&r.destination)
                .map_or_else(|_| r.destination.clone(), |d| d.label(lang).to_string()),
            urgency_label: r.urgency.label(lang).to_string(),
            urgency_rank: r.urgency.rank(),
            status_label: r.status.label(lang).to_string(),
            due: due
                .with_timezone(&chrono_tz::Europe::Sofia)
                .format("%d.%m.%Y")
                .to_string(),
            overdue: open && due < now,
            access_class: r.access_class(),
            id: r.id,
            code: r.code,
            person_id: r.person_id,
            person_name: r.person_name,
            reason: r.reason.as_str().to_string(),
            destination: r.destination,
            urgency: r.urgency,
            status: r.status,
            issued_at: r.issued_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PersonRecord {
    pub person: PersonView,
    pub visits: Vec<VisitView>,
    pub referrals: Vec<ReferralView>,
    /// Fields that two devices changed while apart, with both values: a user who may edit
    /// picks one (or corrects the field to a third).
    pub conflicts: Vec<FieldConflict>,
    /// Records merged into this person's (their visits and referrals are in the lists above).
    pub merged: Vec<crate::merges::MergedView>,
    /// Set only while a merge made apart points back at this record and is not followed (two
    /// merges of the same pair in opposite directions): the survivor it names.
    pub merged_into: Option<Uuid>,
    /// The sensitive classes this view shows (for the audit log).
    #[serde(skip)]
    pub sensitive: Vec<kabinet_core::AccessClass>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SuggestionView {
    /// `screening:<kind>`, as a [`crate::ReferralChoice`] takes it back.
    pub reason: String,
    pub reason_label: String,
    pub destination: String,
    pub destination_label: String,
    pub urgency: Urgency,
    pub urgency_label: String,
    pub finding: String,
    /// The rule's id, which a [`crate::ReferralChoice`] takes back so the slip says what
    /// this rule found.
    pub rule: String,
}

impl SuggestionView {
    pub fn of(s: &Suggestion, lang: Lang) -> SuggestionView {
        SuggestionView {
            rule: s.rule.id.to_string(),
            reason: ReferralReason::Screening(s.reason).as_str().to_string(),
            reason_label: s.reason.label(lang).to_string(),
            destination: s.destination.slug().to_string(),
            destination_label: s.destination.label(lang).to_string(),
            urgency: s.urgency,
            urgency_label: s.urgency.label(lang).to_string(),
            finding: s.finding(lang).to_string(),
        }
    }
}

/// What the screen tells the specialist to do now (call 112, first aid, measure again,
/// repeat a test), in that order.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct PromptView {
    /// Stable: call_emergency | low_glucose_first_aid | measure_bp_again | repeat_hiv_test |
    /// repeat_hbsag_test | repeat_anti_hcv_test | hba1c_in_pregnancy | child_ranges
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct VisitCheck {
    pub issues: Vec<FieldMessage>,
    pub warnings: Vec<FieldMessage>,
    pub bmi: Option<f64>,
    /// An emergency rule fired: the screen leads with "call 112".
    pub emergency: bool,
    pub prompts: Vec<PromptView>,
    pub suggestions: Vec<SuggestionView>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct IssuedReferral {
    pub id: Uuid,
    pub code: String,
    pub destination: String,
    pub urgency: String,
    /// Its slip may be printed without name and ЕГН (an HIV referral).
    pub may_be_anonymous: bool,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SavedVisit {
    pub visit_id: Uuid,
    pub referrals: Vec<IssuedReferral>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Today {
    /// dd.mm.yyyy
    pub day: String,
    pub iso_day: NaiveDate,
    pub visits: Vec<VisitSummary>,
    pub referrals: Vec<ReferralView>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct UrgencyView {
    pub urgency: Urgency,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ReasonView {
    /// As [`ReferralReason::as_str`] spells it.
    pub reason: String,
    pub label: String,
}

/// A label of the visit form, keyed by a domain value's spelling.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// What the visit form shows besides its field labels: each screening's name, the readings of
/// a rapid test, and the choices of its referral rows, all labelled by core.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct VisitOptions {
    /// Each screening kind (`hiv`, `glucose`…) with its name.
    pub screenings: Vec<Choice>,
    /// A rapid test's readings (`reactive`, `non_reactive`, `invalid`).
    pub rapid_results: Vec<Choice>,
    pub urgencies: Vec<UrgencyView>,
    /// Reasons other than a screening finding (social, legal…).
    pub needs: Vec<ReasonView>,
    /// Whether the user may write a clinical note (read by nurses and doctors only).
    pub clinical_note: bool,
    /// The hub's default for HIV slips: without name and ЕГН.
    pub anonymous_hiv_slips: bool,
}

impl VisitOptions {
    /// The options `ctx`'s user may choose: a reason whose class their role may not write
    /// (a psychologist's or a lawyer's notes) is not offered.
    pub fn for_user(ctx: &crate::Context, anonymous_hiv_slips: bool) -> VisitOptions {
        let lang = ctx.lang;
        VisitOptions {
            screenings: ScreeningKind::ALL
                .iter()
                .map(|k| Choice {
                    value: k.as_str().to_string(),
                    label: k.label(lang).to_string(),
                })
                .collect(),
            rapid_results: kabinet_core::RapidResult::ALL
                .iter()
                .map(|r| Choice {
                    value: r.as_str().to_string(),
                    label: r.label(lang).to_string(),
                })
                .collect(),
            urgencies: Urgency::ALL
                .iter()
                .map(|&urgency| UrgencyView {
                    urgency,
                    label: urgency.label(lang).to_string(),
                })
                .collect(),
            needs: ReferralReason::all()
                .filter(|r| !matches!(r, ReferralReason::Screening(_)))
                .filter(|r| ctx.can_write(r.access_class()))
                .map(|r| ReasonView {
                    reason: r.as_str().to_string(),
                    label: r.label(lang).to_string(),
                })
                .collect(),
            clinical_note: ctx.can_write(kabinet_core::AccessClass::Clinical),
            anonymous_hiv_slips,
        }
    }
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DestinationView {
    pub slug: String,
    pub label: String,
    pub hub: bool,
}
