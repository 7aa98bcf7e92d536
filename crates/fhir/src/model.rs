//! The few FHIR R4 data types and resources the export writes, as plain serde structs: no
//! maintained Rust crate models plain R4 (see docs/fhir.md). Only the elements Kabinet fills
//! are here; every optional one is left out of the JSON when empty, as FHIR requires (no
//! empty strings, arrays or objects).

use serde::Serialize;

fn none<T>(v: &Option<T>) -> bool {
    v.is_none()
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Coding {
    #[serde(skip_serializing_if = "none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub display: Option<String>,
}

impl Coding {
    pub fn new(system: &str, code: &str, display: &str) -> Coding {
        Coding {
            system: Some(system.into()),
            code: Some(code.into()),
            display: (!display.is_empty()).then(|| display.into()),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CodeableConcept {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    #[serde(skip_serializing_if = "none")]
    pub text: Option<String>,
}

impl CodeableConcept {
    pub fn coded(coding: Coding) -> CodeableConcept {
        CodeableConcept {
            coding: vec![coding],
            text: None,
        }
    }

    pub fn text(text: &str) -> CodeableConcept {
        CodeableConcept {
            coding: Vec::new(),
            text: Some(text.into()),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Reference {
    #[serde(skip_serializing_if = "none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub display: Option<String>,
}

impl Reference {
    pub fn to(resource_type: &str, id: impl std::fmt::Display) -> Reference {
        Reference {
            reference: Some(format!("{resource_type}/{id}")),
            display: None,
        }
    }

    pub fn display(text: &str) -> Reference {
        Reference {
            reference: None,
            display: Some(text.into()),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Identifier {
    #[serde(rename = "use", skip_serializing_if = "none")]
    pub use_: Option<&'static str>,
    #[serde(rename = "type", skip_serializing_if = "none")]
    pub type_: Option<CodeableConcept>,
    pub system: String,
    pub value: String,
}

/// A UCUM quantity: `unit` as people read it, `code` as UCUM spells it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Quantity {
    pub value: serde_json::Number,
    pub unit: String,
    pub system: &'static str,
    pub code: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct HumanName {
    #[serde(rename = "use", skip_serializing_if = "none")]
    pub use_: Option<&'static str>,
    #[serde(skip_serializing_if = "none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContactPoint {
    pub system: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Address {
    #[serde(rename = "use", skip_serializing_if = "none")]
    pub use_: Option<&'static str>,
    #[serde(skip_serializing_if = "none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub line: Vec<String>,
    #[serde(skip_serializing_if = "none")]
    pub country: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Annotation {
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Period {
    #[serde(skip_serializing_if = "none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub end: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Meta {
    /// Security labels: confidentiality and the sensitivity of what the resource says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security: Vec<Coding>,
}

impl Meta {
    fn is_empty(&self) -> bool {
        self.security.is_empty()
    }
}

fn no_meta(m: &Meta) -> bool {
    m.is_empty()
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PatientLink {
    pub other: Reference,
    #[serde(rename = "type")]
    pub type_: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    pub id: String,
    #[serde(skip_serializing_if = "no_meta")]
    pub meta: Meta,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    pub active: bool,
    pub name: Vec<HumanName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<ContactPoint>,
    pub gender: &'static str,
    pub birth_date: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<PatientLink>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EncounterParticipant {
    pub individual: Reference,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EncounterLocation {
    pub location: Reference,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Encounter {
    pub id: String,
    pub status: &'static str,
    pub class: Coding,
    #[serde(rename = "type", skip_serializing_if = "Vec::is_empty")]
    pub type_: Vec<CodeableConcept>,
    pub subject: Reference,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub participant: Vec<EncounterParticipant>,
    pub period: Period,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub location: Vec<EncounterLocation>,
    pub service_provider: Reference,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObservationComponent {
    pub code: CodeableConcept,
    #[serde(skip_serializing_if = "none")]
    pub value_quantity: Option<Quantity>,
    #[serde(skip_serializing_if = "none")]
    pub value_boolean: Option<bool>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    pub id: String,
    #[serde(skip_serializing_if = "no_meta")]
    pub meta: Meta,
    pub status: &'static str,
    pub category: Vec<CodeableConcept>,
    pub code: CodeableConcept,
    pub subject: Reference,
    pub encounter: Reference,
    pub effective_date_time: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub performer: Vec<Reference>,
    #[serde(skip_serializing_if = "none")]
    pub value_quantity: Option<Quantity>,
    #[serde(skip_serializing_if = "none")]
    pub value_codeable_concept: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "none")]
    pub value_string: Option<String>,
    #[serde(skip_serializing_if = "none")]
    pub data_absent_reason: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interpretation: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub note: Vec<Annotation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub component: Vec<ObservationComponent>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRequest {
    pub id: String,
    #[serde(skip_serializing_if = "no_meta")]
    pub meta: Meta,
    pub identifier: Vec<Identifier>,
    pub status: &'static str,
    pub intent: &'static str,
    pub priority: &'static str,
    pub code: CodeableConcept,
    pub subject: Reference,
    pub encounter: Reference,
    pub authored_on: String,
    pub requester: Reference,
    pub performer: Vec<Reference>,
    pub reason_code: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_reference: Vec<Reference>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    #[serde(skip_serializing_if = "no_meta")]
    pub meta: Meta,
    pub identifier: Vec<Identifier>,
    pub based_on: Vec<Reference>,
    pub status: &'static str,
    #[serde(skip_serializing_if = "none")]
    pub status_reason: Option<CodeableConcept>,
    pub business_status: CodeableConcept,
    pub intent: &'static str,
    pub focus: Reference,
    #[serde(rename = "for")]
    pub for_: Reference,
    pub authored_on: String,
    pub last_modified: String,
    #[serde(skip_serializing_if = "none")]
    pub owner: Option<Reference>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConsentPolicy {
    pub uri: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConsentProvision {
    #[serde(rename = "type")]
    pub type_: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    pub id: String,
    pub status: &'static str,
    pub scope: CodeableConcept,
    pub category: Vec<CodeableConcept>,
    pub patient: Reference,
    pub date_time: String,
    pub performer: Vec<Reference>,
    pub policy: Vec<ConsentPolicy>,
    pub policy_rule: CodeableConcept,
    pub provision: ConsentProvision,
}

/// One resource, tagged with its `resourceType` as FHIR JSON has it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "resourceType")]
pub enum Resource {
    Patient(Patient),
    Encounter(Encounter),
    Observation(Observation),
    ServiceRequest(ServiceRequest),
    Task(Task),
    Consent(Consent),
}

impl Resource {
    pub fn type_name(&self) -> &'static str {
        match self {
            Resource::Patient(_) => "Patient",
            Resource::Encounter(_) => "Encounter",
            Resource::Observation(_) => "Observation",
            Resource::ServiceRequest(_) => "ServiceRequest",
            Resource::Task(_) => "Task",
            Resource::Consent(_) => "Consent",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Resource::Patient(r) => &r.id,
            Resource::Encounter(r) => &r.id,
            Resource::Observation(r) => &r.id,
            Resource::ServiceRequest(r) => &r.id,
            Resource::Task(r) => &r.id,
            Resource::Consent(r) => &r.id,
        }
    }
}
