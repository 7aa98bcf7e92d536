//! Kabinet's records as HL7 FHIR R4: a person's Patient (and data Consent), a visit's
//! Encounter and Observations, a referral's ServiceRequest and Task, in a `transaction`
//! Bundle of `PUT`s by id, written entry by entry so that a million visits never sit in
//! memory at once. Which records go in is the exporter's business (`map::Exporter` holds the
//! classes its roles read); this crate only spells them. docs/fhir.md is the mapping.

pub mod map;
pub mod model;

pub use map::Exporter;
pub use model::Resource;

use std::collections::BTreeMap;
use std::io::{self, Write};

/// The URIs of the code systems and naming systems the export uses.
pub mod systems {
    pub const LOINC: &str = "http://loinc.org";
    pub const UCUM: &str = "http://unitsofmeasure.org";
    pub const URI: &str = "urn:ietf:rfc:3986";
    pub const OBSERVATION_CATEGORY: &str =
        "http://terminology.hl7.org/CodeSystem/observation-category";
    pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    pub const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
    pub const INTERPRETATION: &str =
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
    pub const DATA_ABSENT: &str = "http://terminology.hl7.org/CodeSystem/data-absent-reason";
    pub const IDENTIFIER_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
    pub const CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
    /// Regulation (EU) 2016/679 (GDPR), by its European Legislation Identifier.
    pub const GDPR: &str = "http://data.europa.eu/eli/reg/2016/679/oj";
    /// Bulgaria publishes no FHIR naming system for the ЕГН (the civil registry's personal
    /// number), the ЛНЧ (a foreigner's personal number) or Kabinet's slip codes; these URNs
    /// are Kabinet's own, documented in docs/fhir.md, and never change.
    pub const EGN: &str = "urn:kabinet:bg:egn";
    pub const LNCH: &str = "urn:kabinet:bg:lnch";
    pub const REFERRAL_CODE: &str = "urn:kabinet:referral-code";
}

/// A transaction Bundle written as it grows: `start`, a `put` per resource, `finish`. The
/// output is one JSON object; a Bundle with no entry has no `entry` (FHIR allows no empty
/// array).
pub struct BundleWriter<W: Write> {
    out: W,
    entries: usize,
    counts: BTreeMap<&'static str, usize>,
}

impl<W: Write> BundleWriter<W> {
    pub fn start(mut out: W, timestamp: chrono::DateTime<chrono::Utc>) -> io::Result<Self> {
        write!(
            out,
            "{{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"timestamp\":\"{}\"",
            timestamp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )?;
        Ok(BundleWriter {
            out,
            entries: 0,
            counts: BTreeMap::new(),
        })
    }

    /// One entry: the resource, and a `PUT` to its type and id (so a second export of the
    /// same records replaces them at the receiver instead of adding copies).
    pub fn put(&mut self, resource: &Resource) -> io::Result<()> {
        self.out.write_all(if self.entries == 0 {
            b",\"entry\":[{\"resource\":"
        } else {
            b",\n{\"resource\":"
        })?;
        serde_json::to_writer(&mut self.out, resource)?;
        write!(
            self.out,
            ",\"request\":{{\"method\":\"PUT\",\"url\":\"{}/{}\"}}}}",
            resource.type_name(),
            resource.id()
        )?;
        self.entries += 1;
        *self.counts.entry(resource.type_name()).or_default() += 1;
        Ok(())
    }

    /// Closes the Bundle; gives back the writer and how many resources of each type went in.
    pub fn finish(mut self) -> io::Result<(W, BTreeMap<&'static str, usize>)> {
        self.out
            .write_all(if self.entries == 0 { b"}\n" } else { b"]}\n" })?;
        self.out.flush()?;
        Ok((self.out, self.counts))
    }
}

/// A whole Bundle of `resources` as a JSON value (a person's export from the screen).
pub fn bundle(
    resources: &[Resource],
    timestamp: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    let mut w = BundleWriter::start(Vec::new(), timestamp).expect("writing to memory");
    for r in resources {
        w.put(r).expect("writing to memory");
    }
    let (bytes, _) = w.finish().expect("writing to memory");
    serde_json::from_slice(&bytes).expect("the writer writes JSON")
}

#[cfg(test)]
mod tests;
