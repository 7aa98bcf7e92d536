//! Kabinet's records as FHIR R4 resources. The codes and UCUM units come from core's table
//! (`kabinet_core::codes`); what has no confirmed code there is written as text only, never
//! with a guessed code. Ids are the documents' UUIDs (a person's Patient, a visit's Encounter,
//! a referral's ServiceRequest); a resource that has no document of its own (an observation,
//! a referral's Task, a person's Consent) gets a name-based UUID (v5) under its document's, so
//! an export made again writes the same ids and a server's `PUT` replaces instead of adding.

use crate::model::*;
use crate::systems;
use chrono::{DateTime, SecondsFormat, Utc};
use kabinet_core::codes::{self, Code};
use kabinet_core::person::{ConsentState, Documents};
use kabinet_core::screening::{Fasting, Hba1cUnit, HepatitisTest, RapidResult};
use kabinet_core::{
    AccessClass, Lang, Person, Referral, ReferralReason, ReferralStatus, ScreeningKind, Sex,
    Urgency, Visit,
};
use uuid::Uuid;

/// The id of a resource kept inside the document `doc` under `name`.
pub fn derived_id(doc: Uuid, name: &str) -> Uuid {
    Uuid::new_v5(&doc, name.as_bytes())
}

/// The Observation id of a visit's screening of `kind` (its main observation).
pub fn observation_id(visit: Uuid, kind: ScreeningKind) -> Uuid {
    derived_id(visit, &format!("observation/{}", kind.as_str()))
}

fn part_id(visit: Uuid, kind: ScreeningKind, part: &str) -> Uuid {
    derived_id(visit, &format!("observation/{}/{part}", kind.as_str()))
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn coding(row: &Code) -> Coding {
    Coding::new(row.system.uri(), row.code, row.display)
}

fn concept(key: &str) -> CodeableConcept {
    let row = codes::by_key(key).unwrap_or_else(|| panic!("{key} is not in core's code table"));
    CodeableConcept::coded(coding(row))
}

/// A UCUM quantity in the unit core's table gives for `key`'s row; `None` for a value that is
/// not a finite number (FHIR decimals cannot say NaN).
fn quantity(key: &str, value: f64, decimals: i32) -> Option<Quantity> {
    let row = codes::by_key(key)?;
    let code = row.unit?;
    let scale = 10f64.powi(decimals);
    let value = serde_json::Number::from_f64((value * scale).round() / scale)?;
    Some(ucum(value, code))
}

fn ucum(value: serde_json::Number, code: &str) -> Quantity {
    // How people write the unit; UCUM's own spelling goes to `code`.
    let unit = match code {
        "mm[Hg]" => "mmHg",
        "kg/m2" => "kg/m²",
        other => other,
    };
    Quantity {
        value,
        unit: unit.into(),
        system: systems::UCUM,
        code: code.into(),
    }
}

fn category(code: &str, display: &str) -> CodeableConcept {
    CodeableConcept::coded(Coding::new(systems::OBSERVATION_CATEGORY, code, display))
}

/// The security labels of a resource in `class`: restricted for every sensitive class, and
/// HL7's own "HIV/AIDS information" sensitivity for HIV, so that a receiving system that
/// honours labels treats it as Kabinet does.
fn security(class: AccessClass) -> Meta {
    let mut security = Vec::new();
    if class != AccessClass::General {
        security.push(Coding::new(systems::CONFIDENTIALITY, "R", "restricted"));
    }
    if class == AccessClass::Hiv {
        security.push(Coding::new(
            systems::ACT_CODE,
            "HIV",
            "HIV/AIDS information sensitivity",
        ));
    }
    Meta { security }
}

/// The SNOMED CT answer of a rapid test's reading.
fn rapid_answer(result: RapidResult) -> CodeableConcept {
    concept(match result {
        RapidResult::Reactive => "result.reactive",
        RapidResult::NonReactive => "result.non_reactive",
        RapidResult::Invalid => "result.invalid",
    })
}

/// What an export may hold: the exporter's language (for names of destinations and
/// statuses) and the classes its roles read. A record of a class it may not read is not
/// written at all, not even as a placeholder.
#[derive(Debug, Clone)]
pub struct Exporter {
    pub lang: Lang,
    reads: [bool; 7],
}

impl Exporter {
    pub fn new(lang: Lang, classes: impl IntoIterator<Item = AccessClass>) -> Exporter {
        let mut reads = [false; 7];
        for c in classes {
            reads[usize::from(c.code())] = true;
        }
        Exporter { lang, reads }
    }

    pub fn reads(&self, class: AccessClass) -> bool {
        self.reads[usize::from(class.code())]
    }

    /// The person's Patient, and their data consent when recorded.
    pub fn person(&self, p: &Person) -> Vec<Resource> {
        if !self.reads(AccessClass::General) {
            return Vec::new();
        }
        let mut out = vec![Resource::Patient(patient(p))];
        if let Some(c) = consent(p) {
            out.push(Resource::Consent(c));
        }
        out
    }

    /// The visit's Encounter and one Observation per screening (with its parts) the exporter
    /// reads.
    pub fn visit(&self, v: &Visit) -> Vec<Resource> {
        if !self.reads(AccessClass::General) {
            return Vec::new();
        }
        let mut out = vec![Resource::Encounter(encounter(v))];
        out.extend(
            observations(v, |class| self.reads(class))
                .into_iter()
                .map(Resource::Observation),
        );
        out
    }

    /// The referral's ServiceRequest and its Task, when the exporter reads its class. `visit`
    /// is the visit it was issued at, to point at the observation it follows.
    pub fn referral(&self, r: &Referral, visit: Option<&Visit>) -> Vec<Resource> {
        let class = r.access_class();
        if !self.reads(AccessClass::General) || !self.reads(class) {
            return Vec::new();
        }
        vec![
            Resource::ServiceRequest(service_request(r, visit, self.lang)),
            Resource::Task(task(r, self.lang)),
        ]
    }
}

fn national_id(system: &str, value: &str) -> Identifier {
    Identifier {
        use_: Some("official"),
        type_: Some(CodeableConcept::coded(Coding::new(
            systems::IDENTIFIER_TYPE,
            "NI",
            "National unique individual identifier",
        ))),
        system: system.into(),
        value: value.into(),
    }
}

pub fn patient(p: &Person) -> Patient {
    let mut identifier = vec![Identifier {
        use_: Some("secondary"),
        type_: None,
        system: systems::URI.into(),
        value: format!("urn:uuid:{}", p.id),
    }];
    if let Some(egn) = &p.egn {
        identifier.push(national_id(systems::EGN, egn.as_str()));
    }
    if let Some(lnch) = &p.lnch {
        identifier.push(national_id(systems::LNCH, lnch.as_str()));
    }
    let mut given = vec![p.given_name.clone()];
    given.extend(p.middle_name.iter().filter(|m| !m.is_empty()).cloned());
    let typed = [
        p.given_name.as_str(),
        p.middle_name.as_deref().unwrap_or(""),
        &p.family_name,
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(" ");
    let mut name = vec![HumanName {
        use_: Some("official"),
        text: Some(typed.clone()),
        family: Some(p.family_name.clone()),
        given: given.clone(),
    }];
    // The same name in Latin letters, as the person's documents abroad or a Latin keyboard
    // would spell it: a receiving system searching in either script finds them.
    let latin = kabinet_core::translit::to_latin(&typed);
    if latin != typed {
        name.push(HumanName {
            use_: None,
            text: Some(latin),
            family: Some(kabinet_core::translit::to_latin(&p.family_name)),
            given: given
                .iter()
                .map(|g| kabinet_core::translit::to_latin(g))
                .collect(),
        });
    }
    for other in p.other_names.iter().filter(|n| !n.trim().is_empty()) {
        name.push(HumanName {
            use_: Some("nickname"),
            text: Some(other.clone()),
            family: None,
            given: Vec::new(),
        });
    }
    // A person without documents gave an age, not a date: only the year leaves Kabinet.
    let birth_date = match (p.documents, p.birth_date) {
        (Documents::Presented, kabinet_core::person::BirthDate::Exact(d)) => {
            d.format("%Y-%m-%d").to_string()
        }
        (_, b) => format!("{:04}", b.year()),
    };
    let text = [p.neighbourhood.as_deref(), p.address.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let address = (!text.is_empty())
        .then(|| Address {
            use_: Some("home"),
            text: Some(text),
            line: p
                .address
                .iter()
                .filter(|a| !a.trim().is_empty())
                .cloned()
                .collect(),
            country: Some("BG"),
        })
        .into_iter()
        .collect();
    Patient {
        id: p.id.to_string(),
        meta: Meta::default(),
        identifier,
        active: p.merged_into.is_none(),
        name,
        telecom: p
            .phone
            .iter()
            .map(|ph| ContactPoint {
                system: "phone",
                value: ph.as_str().into(),
            })
            .collect(),
        gender: match p.sex {
            Sex::M => "male",
            Sex::F => "female",
        },
        birth_date,
        address,
        // A duplicate merged into another record points at it; its visits stay its own.
        link: p
            .merged_into
            .iter()
            .map(|m| PatientLink {
                other: Reference::to("Patient", m.survivor),
                type_: "replaced-by",
            })
            .collect(),
    }
}

/// The data consent (GDPR art. 9) as a privacy Consent; none when never recorded.
pub fn consent(p: &Person) -> Option<Consent> {
    let c = p.consent.as_ref()?;
    Some(Consent {
        id: derived_id(p.id, "consent/data").to_string(),
        status: "active",
        scope: CodeableConcept::coded(Coding::new(
            systems::CONSENT_SCOPE,
            "patient-privacy",
            "Privacy Consent",
        )),
        category: vec![CodeableConcept::coded(Coding::new(
            systems::LOINC,
            "59284-0",
            "Patient Consent",
        ))],
        patient: Reference::to("Patient", p.id),
        date_time: instant(c.recorded_at),
        performer: vec![Reference::to("Patient", p.id)],
        policy: vec![ConsentPolicy { uri: systems::GDPR }],
        policy_rule: CodeableConcept::coded(Coding::new(
            systems::ACT_CODE,
            match c.state {
                ConsentState::Given => "OPTIN",
                ConsentState::Withdrawn => "OPTOUT",
            },
            match c.state {
                ConsentState::Given => "opt-in",
                ConsentState::Withdrawn => "opt-out",
            },
        )),
        // A withdrawal is the person's standing decision: processing is denied from then on.
        provision: ConsentProvision {
            type_: match c.state {
                ConsentState::Given => "permit",
                ConsentState::Withdrawn => "deny",
            },
        },
    })
}

pub fn encounter(v: &Visit) -> Encounter {
    Encounter {
        id: v.id.to_string(),
        status: if v.voided.is_some() {
            "entered-in-error"
        } else {
            "finished"
        },
        class: Coding::new(systems::ACT_CODE, "FLD", "field"),
        type_: Vec::new(),
        subject: Reference::to("Patient", v.person_id),
        participant: vec![EncounterParticipant {
            individual: Reference::display(&v.specialist),
        }],
        period: Period {
            start: Some(instant(v.at)),
            end: None,
        },
        location: v
            .place
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| EncounterLocation {
                location: Reference::display(p),
            })
            .collect(),
        service_provider: Reference::display(&v.cabinet),
    }
}

/// What every observation of a visit shares.
struct Frame<'a> {
    visit: &'a Visit,
    status: &'static str,
}

impl Frame<'_> {
    fn observation(
        &self,
        id: Uuid,
        class: AccessClass,
        category: CodeableConcept,
        code: CodeableConcept,
    ) -> Observation {
        Observation {
            id: id.to_string(),
            meta: security(class),
            status: self.status,
            category: vec![category],
            code,
            subject: Reference::to("Patient", self.visit.person_id),
            encounter: Reference::to("Encounter", self.visit.id),
            effective_date_time: instant(self.visit.at),
            performer: vec![Reference::display(&self.visit.specialist)],
            value_quantity: None,
            value_codeable_concept: None,
            value_string: None,
            data_absent_reason: None,
            interpretation: Vec::new(),
            note: Vec::new(),
            component: Vec::new(),
        }
    }
}

fn laboratory() -> CodeableConcept {
    category("laboratory", "Laboratory")
}

fn vital_signs() -> CodeableConcept {
    category("vital-signs", "Vital Signs")
}

/// A rapid test's observation: the reading that counts (a repeat replaces an invalid one).
fn rapid(
    f: &Frame<'_>,
    kind: ScreeningKind,
    code: CodeableConcept,
    result: RapidResult,
    repeat: Option<RapidResult>,
) -> Observation {
    let mut o = f.observation(
        observation_id(f.visit.id, kind),
        kind.access_class(),
        laboratory(),
        code,
    );
    o.value_codeable_concept = Some(rapid_answer(result.after_repeat(repeat)));
    if let (RapidResult::Invalid, Some(_)) = (result, repeat) {
        o.note.push(Annotation {
            text: "The first test was invalid; this is the repeat's reading.".into(),
        });
    }
    o
}

/// One Observation per screening the exporter reads (`reads`), with the parts a screening
/// has (a glucose's ketones and recheck, the pulse beside a blood pressure, body measures).
pub fn observations(v: &Visit, reads: impl Fn(AccessClass) -> bool) -> Vec<Observation> {
    let f = Frame {
        visit: v,
        status: if v.voided.is_some() {
            "entered-in-error"
        } else {
            "final"
        },
    };
    let s = &v.screenings;
    let mut out = Vec::new();
    let id = |kind| observation_id(v.id, kind);
    if let Some(h) = &s.hiv
        && reads(AccessClass::Hiv)
        // A result without informed consent and counselling is never recorded; should one
        // exist, it does not leave Kabinet either.
        && h.consent
        && h.counselled
    {
        out.push(rapid(
            &f,
            ScreeningKind::Hiv,
            concept("hiv.rapid"),
            h.result,
            h.repeat,
        ));
    }
    if let Some(g) = &s.glucose
        && reads(AccessClass::General)
    {
        let key = codes::glucose_reading_key(g);
        let mut o = f.observation(
            id(ScreeningKind::Glucose),
            AccessClass::General,
            laboratory(),
            concept(key),
        );
        match g.value {
            Some(value) if !g.above_meter_range => o.value_quantity = quantity(key, value, 1),
            _ => {
                // "HI" on the meter: above what it reads, so no number to give.
                o.data_absent_reason = Some(CodeableConcept {
                    coding: vec![Coding::new(systems::DATA_ABSENT, "as-text", "As Text")],
                    text: Some("HI: above the meter's range".into()),
                });
                o.interpretation.push(CodeableConcept::coded(Coding::new(
                    systems::INTERPRETATION,
                    "HH",
                    "Critical high",
                )));
            }
        }
        if g.fasting == Fasting::Random {
            o.note.push(Annotation {
                text: "Random (not fasting).".into(),
            });
        }
        if g.drowsy {
            o.note.push(Annotation {
                text: "Drowsy or confused at the reading.".into(),
            });
        }
        out.push(o);
        if let Some(recheck) = g.recheck {
            let mut r = f.observation(
                part_id(v.id, ScreeningKind::Glucose, "recheck"),
                AccessClass::General,
                laboratory(),
                concept(key),
            );
            r.value_quantity = quantity(key, recheck, 1);
            r.note.push(Annotation {
                text: "Recheck 15 minutes after fast-acting carbohydrate.".into(),
            });
            out.push(r);
        }
        if let Some(k) = g.ketones {
            let mut r = f.observation(
                part_id(v.id, ScreeningKind::Glucose, "ketones"),
                AccessClass::General,
                laboratory(),
                concept("ketones.urine"),
            );
            r.value_codeable_concept = Some(CodeableConcept::text(k.symbol()));
            out.push(r);
        }
    }
    if let Some(a) = &s.hba1c
        && reads(AccessClass::General)
    {
        let key = codes::hba1c_key(a.unit == Hba1cUnit::MmolMol);
        let mut o = f.observation(
            id(ScreeningKind::Hba1c),
            AccessClass::General,
            laboratory(),
            concept(key),
        );
        o.value_quantity = quantity(key, a.value, 1);
        out.push(o);
    }
    if let Some(tb) = &s.tb
        && reads(AccessClass::Tuberculosis)
    {
        let mut o = f.observation(
            id(ScreeningKind::Tb),
            AccessClass::Tuberculosis,
            category("survey", "Survey"),
            concept("tb.screening"),
        );
        let finding = |code: CodeableConcept, present: bool| ObservationComponent {
            code,
            value_quantity: None,
            value_boolean: Some(present),
        };
        o.component = vec![
            finding(concept("tb.cough"), tb.cough),
            finding(concept("tb.fever"), tb.fever),
            finding(concept("tb.night_sweats"), tb.night_sweats),
            finding(concept("tb.weight_loss"), tb.weight_loss),
            finding(concept("tb.haemoptysis"), tb.haemoptysis),
            finding(concept("tb.dyspnoea"), tb.breathless),
            // No confirmed code (core's UNCODED): named in text only.
            finding(
                CodeableConcept::text("Contact with a person with tuberculosis"),
                tb.contact,
            ),
            finding(CodeableConcept::text("Looks seriously ill"), tb.very_ill),
        ];
        if tb.cough && tb.cough_weeks > 0 {
            o.component.push(ObservationComponent {
                code: CodeableConcept::text("Cough duration"),
                value_quantity: Some(ucum(tb.cough_weeks.into(), "wk")),
                value_boolean: None,
            });
        }
        out.push(o);
    }
    if let Some(bp) = &s.blood_pressure
        && reads(AccessClass::General)
    {
        let mut o = f.observation(
            id(ScreeningKind::BloodPressure),
            AccessClass::General,
            vital_signs(),
            concept("bp.panel"),
        );
        let (systolic, diastolic) = bp.graded();
        let component = |key: &str, value: f64| ObservationComponent {
            code: concept(key),
            value_quantity: quantity(key, value, 1),
            value_boolean: None,
        };
        o.component = vec![
            component("bp.systolic", systolic),
            component("bp.diastolic", diastolic),
        ];
        let readings = bp.readings();
        if readings.len() > 1 {
            let list: Vec<String> = readings
                .iter()
                .map(|r| format!("{}/{}", r.systolic, r.diastolic))
                .collect();
            o.note.push(Annotation {
                text: format!(
                    "Readings {} mmHg; the value is the mean of the last two (ESC/ESH).",
                    list.join(", ")
                ),
            });
        }
        out.push(o);
        if let Some(pulse) = bp.pulse {
            let mut p = f.observation(
                part_id(v.id, ScreeningKind::BloodPressure, "pulse"),
                AccessClass::General,
                vital_signs(),
                concept("pulse"),
            );
            p.value_quantity = quantity("pulse", pulse.into(), 0);
            out.push(p);
        }
    }
    if let Some(body) = &s.body
        && reads(AccessClass::General)
    {
        let measures = [
            ("weight", "body.weight", body.weight_kg),
            ("height", "body.height", body.height_cm),
            ("bmi", "body.bmi", body.bmi()),
        ];
        for (part, key, value) in measures {
            let Some(value) = value else { continue };
            // The first measure carries the screening's own id.
            let oid = if out_has(&out, id(ScreeningKind::Body)) {
                part_id(v.id, ScreeningKind::Body, part)
            } else {
                id(ScreeningKind::Body)
            };
            let mut o = f.observation(oid, AccessClass::General, vital_signs(), concept(key));
            o.value_quantity = quantity(key, value, 1);
            out.push(o);
        }
    }
    let hepatitis = |out: &mut Vec<Observation>,
                     t: &Option<HepatitisTest>,
                     kind: ScreeningKind,
                     code: CodeableConcept| {
        if let Some(t) = t
            && reads(AccessClass::Hepatitis)
        {
            out.push(rapid(&f, kind, code, t.result, t.repeat));
        }
    };
    hepatitis(
        &mut out,
        &s.hepatitis_b,
        ScreeningKind::HepatitisB,
        concept("hbsag.rapid"),
    );
    // anti-HCV by rapid test has no confirmed LOINC term (core's UNCODED): text only.
    hepatitis(
        &mut out,
        &s.hepatitis_c,
        ScreeningKind::HepatitisC,
        CodeableConcept::text("Hepatitis C virus antibody, rapid test"),
    );
    out
}

fn out_has(out: &[Observation], id: Uuid) -> bool {
    let id = id.to_string();
    out.iter().any(|o| o.id == id)
}

fn slip_code(r: &Referral) -> Identifier {
    Identifier {
        use_: Some("official"),
        type_: None,
        system: systems::REFERRAL_CODE.into(),
        value: r.code.to_string(),
    }
}

pub fn service_request(r: &Referral, visit: Option<&Visit>, lang: Lang) -> ServiceRequest {
    let destination = r.destination.label(lang);
    // The observation the referral follows, when it is in the export beside it.
    let reason_reference = match (r.reason, visit) {
        (ReferralReason::Screening(kind), Some(v))
            if v.id == r.visit_id && v.screenings.kinds().contains(&kind) =>
        {
            vec![Reference::to("Observation", observation_id(v.id, kind))]
        }
        _ => Vec::new(),
    };
    ServiceRequest {
        id: r.id.to_string(),
        meta: security(r.access_class()),
        identifier: vec![slip_code(r)],
        status: match r.status() {
            ReferralStatus::Issued | ReferralStatus::Attended | ReferralStatus::LostToFollowUp => {
                "active"
            }
            ReferralStatus::Completed => "completed",
            ReferralStatus::Declined | ReferralStatus::Cancelled => "revoked",
        },
        intent: "order",
        priority: match r.urgency {
            Urgency::Routine => "routine",
            Urgency::Priority => "urgent",
            Urgency::SameDay => "asap",
            Urgency::Emergency => "stat",
        },
        code: CodeableConcept::text(destination),
        subject: Reference::to("Patient", r.person_id),
        encounter: Reference::to("Encounter", r.visit_id),
        authored_on: instant(r.issued_at()),
        requester: Reference::display(r.history.first().map_or("", |c| c.by.as_str())),
        performer: vec![Reference::display(destination)],
        reason_code: vec![CodeableConcept::text(r.reason.label(lang))],
        reason_reference,
    }
}

pub fn task(r: &Referral, lang: Lang) -> Task {
    let status = r.status();
    let last = r.history.last();
    Task {
        id: derived_id(r.id, "task").to_string(),
        meta: security(r.access_class()),
        identifier: vec![slip_code(r)],
        based_on: vec![Reference::to("ServiceRequest", r.id)],
        status: match status {
            ReferralStatus::Issued => "requested",
            ReferralStatus::Attended => "in-progress",
            ReferralStatus::Completed => "completed",
            ReferralStatus::Declined => "rejected",
            // The person may still come: on hold, not failed (FHIR's failed is final).
            ReferralStatus::LostToFollowUp => "on-hold",
            ReferralStatus::Cancelled => "cancelled",
        },
        status_reason: last
            .and_then(|c| c.note.as_deref())
            .filter(|n| !n.trim().is_empty())
            .map(CodeableConcept::text),
        business_status: CodeableConcept::text(status.label(lang)),
        intent: "order",
        focus: Reference::to("ServiceRequest", r.id),
        for_: Reference::to("Patient", r.person_id),
        authored_on: instant(r.issued_at()),
        last_modified: instant(last.map_or(r.issued_at(), |c| c.at)),
        owner: Some(Reference::display(r.destination.label(lang))),
    }
}
