//! Which documents a device may push, and what each may hold: the rules the hub checks every
//! pushed document against, because the kind and access class a device sends are only its
//! claim, and the class decides who receives the document. Pure functions, so that every hub
//! backend checks the same (the SQLite one through [`crate::Writer::merge_pushed`]).
//!
//! Three questions, each answered here once: is the claim possible at all ([`check_claim`]);
//! does it name the document the hub already holds ([`check_stored`]); does the merged
//! content belong in that class ([`check_content`]).

use crate::kind::DocKind;
use kabinet_core::{AccessClass, Referral, ScreeningKind, Screenings};
use serde::Deserialize;
use serde_json::Value as Json;
use uuid::Uuid;

/// Why a pushed document does not fit its kind and class. The hub refuses the push (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Misfit {
    #[error("devices do not write the hub's directory of destinations; it is edited at the hub")]
    Directory,
    #[error(
        "its id is a name-based (version 5) UUID, the form of a results document's derived id, but it is sent as a {}",
        .kind.name()
    )]
    DerivedId { kind: DocKind },
    #[error(
        "a results document's id is derived from its visit and class; it was sent under another"
    )]
    ResultsId,
    #[error("a {} document is never of class {}", .kind.name(), .class.as_str())]
    Class { kind: DocKind, class: AccessClass },
    #[error(
        "the hub holds it as a {} of class {}; it was sent as a {} of class {}",
        .stored_kind.name(), .stored_class.as_str(), .kind.name(), .class.as_str()
    )]
    NotAsStored {
        stored_kind: DocKind,
        stored_class: AccessClass,
        kind: DocKind,
        class: AccessClass,
    },
    #[error(
        "it holds a {} screening, which is {}, in a {} document",
        .screening.as_str(), .screening.access_class().as_str(), .class.as_str()
    )]
    Screening {
        screening: ScreeningKind,
        class: AccessClass,
    },
    #[error(
        "it holds a screening this hub does not know ({key}), so its class cannot be checked; update the hub"
    )]
    UnknownScreening { key: String },
    #[error(
        "a referral with its reason and destination is {}, not {}",
        .required.as_str(), .class.as_str()
    )]
    Referral {
        required: AccessClass,
        class: AccessClass,
    },
    #[error(
        "a referral for {reason} cannot go to {destination}: whoever may read one may not read the other"
    )]
    ReferralPair {
        reason: &'static str,
        destination: &'static str,
    },
    #[error("a visit's document holds no clinical note: that is a document of the clinical class")]
    ClinicalNote,
    #[error("a case note of its discipline is {}, not {}", .required.as_str(), .class.as_str())]
    CaseNote {
        required: AccessClass,
        class: AccessClass,
    },
    #[error("its content does not read as a {}: {reason}", .kind.name())]
    Unreadable { kind: DocKind, reason: String },
    #[error("a {} is filed under another parent than the one its content names", .kind.name())]
    Parent { kind: DocKind },
}

impl Misfit {
    /// The access class of the data the push reached for, when it is not the class claimed:
    /// what the refusal is recorded under (a push into an HIV referral claiming `general` is
    /// an attempt on HIV data).
    pub fn reached(&self) -> Option<AccessClass> {
        match self {
            Misfit::NotAsStored { stored_class, .. } => Some(*stored_class),
            Misfit::Screening { screening, .. } => Some(screening.access_class()),
            Misfit::Referral { required, .. } => Some(*required),
            Misfit::ClinicalNote => Some(AccessClass::Clinical),
            Misfit::CaseNote { required, .. } => Some(*required),
            _ => None,
        }
    }
}

/// The classes that have a results document per visit: every class a screening belongs to
/// except general, the visit's own (HIV, hepatitis, TB), and the clinical note's.
fn is_results_class(class: AccessClass) -> bool {
    class == AccessClass::Clinical
        || (class != AccessClass::General
            && ScreeningKind::ALL.iter().any(|k| k.access_class() == class))
}

/// What can be told from the claim alone, before anything is read: devices never write the
/// directory; only results documents have name-based ids (so no other document can squat the
/// id a visit's results will need); persons and visits are general; results documents are of
/// a results class. A referral may be of any class: its content decides ([`check_content`]).
pub fn check_claim(doc_id: Uuid, kind: DocKind, class: AccessClass) -> Result<(), Misfit> {
    if kind == DocKind::Directory {
        return Err(Misfit::Directory);
    }
    // Results ids are UUID v5 of visit + class (derived again by the hub from the visit); the
    // others are made random or time-ordered (v4, v7) where the record is born.
    if kind != DocKind::Results && doc_id.get_version_num() == 5 {
        return Err(Misfit::DerivedId { kind });
    }
    let possible = match kind {
        DocKind::Person | DocKind::Visit | DocKind::Directory | DocKind::Case => {
            class == AccessClass::General
        }
        DocKind::Results => is_results_class(class),
        // A referral's and a case note's content decides their class.
        DocKind::Referral | DocKind::CaseNote => true,
    };
    if !possible {
        return Err(Misfit::Class { kind, class });
    }
    Ok(())
}

/// A push names the document the hub holds: its kind and class as stored, not another. The
/// class stored is what devices are given the document by; a claim of a lesser class would
/// let a device write into a document its users may not (and relay the change under the
/// lesser class).
pub fn check_stored(
    stored: (DocKind, AccessClass),
    claimed: (DocKind, AccessClass),
) -> Result<(), Misfit> {
    if stored == claimed {
        return Ok(());
    }
    Err(Misfit::NotAsStored {
        stored_kind: stored.0,
        stored_class: stored.1,
        kind: claimed.0,
        class: claimed.1,
    })
}

/// Whether a document's content (its record as JSON, as merged) belongs in `class`: a visit
/// holds general screenings only (the others are in results documents), a results document
/// only screenings of its own class, and a referral is of the class its content requires.
pub fn check_content(kind: DocKind, class: AccessClass, content: &Json) -> Result<(), Misfit> {
    check(kind, class, content, true)
}

/// As [`check_content`], for a change to a document the hub already holds: a referral whose
/// reason and destination have different readers, written before that was refused, stays
/// editable under its reason's class (as `Referral::access_class` reads it) instead of
/// blocking the device that edits it.
pub fn check_merged(kind: DocKind, class: AccessClass, content: &Json) -> Result<(), Misfit> {
    check(kind, class, content, false)
}

fn check(kind: DocKind, class: AccessClass, content: &Json, new: bool) -> Result<(), Misfit> {
    match kind {
        DocKind::Visit => {
            // The clinical note has a document of its own; in the visit's, every role reads it.
            if content
                .get("clinical_note")
                .and_then(Json::as_str)
                .is_some_and(|n| !n.is_empty())
            {
                return Err(Misfit::ClinicalNote);
            }
            check_screenings(kind, AccessClass::General, content)
        }
        DocKind::Results => check_screenings(kind, class, content),
        DocKind::Referral => {
            let referral = Referral::deserialize(content).map_err(|e| Misfit::Unreadable {
                kind,
                reason: e.to_string(),
            })?;
            // A pair whose classes have different readers is no referral (and `access_class`
            // would file it under its reason's).
            if new {
                kabinet_core::referral_class(referral.reason, referral.destination).map_err(
                    |_| Misfit::ReferralPair {
                        reason: referral.reason.as_str(),
                        destination: referral.destination.slug(),
                    },
                )?;
            }
            // The class `Writer::put_referral` files it under: the check and the write agree.
            let required = referral.access_class();
            if required != class {
                return Err(Misfit::Referral { required, class });
            }
            Ok(())
        }
        DocKind::CaseNote => {
            let note = kabinet_core::case::CaseNote::deserialize(content).map_err(|e| {
                Misfit::Unreadable {
                    kind,
                    reason: e.to_string(),
                }
            })?;
            let required = note.kind.access_class();
            if required != class {
                return Err(Misfit::CaseNote { required, class });
            }
            Ok(())
        }
        DocKind::Case => kabinet_core::case::Case::deserialize(content)
            .map(|_| ())
            .map_err(|e| Misfit::Unreadable {
                kind,
                reason: e.to_string(),
            }),
        DocKind::Person | DocKind::Directory => Ok(()),
    }
}

/// A case's parent is its person and a case note's its case, as their content says: the hub
/// lists a case's notes by their parent, so a note filed under another case would show there.
pub fn check_parent(kind: DocKind, parent: Option<Uuid>, content: &Json) -> Result<(), Misfit> {
    let named = |key: &str| {
        content
            .get(key)
            .and_then(Json::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    };
    let expected = match kind {
        DocKind::Case => named("person_id"),
        DocKind::CaseNote => named("case_id"),
        _ => return Ok(()),
    };
    if expected.is_some() && expected == parent {
        Ok(())
    } else {
        Err(Misfit::Parent { kind })
    }
}

/// Every screening in `content.screenings` is known and of class `class`.
fn check_screenings(kind: DocKind, class: AccessClass, content: &Json) -> Result<(), Misfit> {
    let Some(held) = content.get("screenings") else {
        return Ok(()); // none (a visit's screenings default to none)
    };
    let unreadable = |e: serde_json::Error| Misfit::Unreadable {
        kind,
        reason: format!("screenings: {e}"),
    };
    let screenings = Screenings::deserialize(held).map_err(unreadable)?;
    let kinds = screenings.kinds();
    if let Some(&screening) = kinds.iter().find(|k| k.access_class() != class) {
        return Err(Misfit::Screening { screening, class });
    }
    // A key the typed record skipped is a screening this build does not know (a newer
    // device's): its class is unknown, so it is refused rather than filed as general.
    let present = held
        .as_object()
        .map_or(0, |m| m.values().filter(|v| !v.is_null()).count());
    if present != kinds.len() {
        let key = unknown_screening_keys(held).join(", ");
        return Err(Misfit::UnknownScreening { key });
    }
    Ok(())
}

/// The keys of a screenings map that are no screening this build knows (the error path only).
fn unknown_screening_keys(held: &Json) -> Vec<String> {
    let Some(map) = held.as_object() else {
        return Vec::new();
    };
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .filter(|(k, v)| {
            let one = Json::Object([((*k).clone(), (*v).clone())].into_iter().collect());
            Screenings::deserialize(&one).is_ok_and(|s| s.kinds().is_empty())
        })
        .map(|(k, _)| k.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kabinet_core::testing::visit_with_hiv;
    use kabinet_core::{Destination, RapidResult, ReferralCode, ReferralReason};
    use serde_json::json;

    fn visit_content(screenings: &Screenings) -> Json {
        json!({ "person_id": Uuid::now_v7(), "screenings": screenings })
    }

    fn hiv_screenings() -> Screenings {
        visit_with_hiv(Uuid::now_v7(), RapidResult::Reactive).screenings
    }

    #[test]
    fn a_case_note_is_filed_under_the_case_it_names() {
        let case = Uuid::now_v7();
        let note = json!({"id": Uuid::now_v7(), "case_id": case, "kind": "psychology",
                          "text": "x", "at": "2026-12-02T10:00:00Z", "by": "t"});
        assert_eq!(check_parent(DocKind::CaseNote, Some(case), &note), Ok(()));
        assert_eq!(
            check_parent(DocKind::CaseNote, Some(Uuid::now_v7()), &note),
            Err(Misfit::Parent {
                kind: DocKind::CaseNote
            })
        );
        assert_eq!(
            check_parent(DocKind::CaseNote, None, &note),
            Err(Misfit::Parent {
                kind: DocKind::CaseNote
            })
        );
        // Other kinds are not checked here.
        assert_eq!(check_parent(DocKind::Person, None, &json!({})), Ok(()));
    }

    #[test]
    fn a_visit_holds_only_general_screenings() {
        let all = hiv_screenings();
        let parts = all.clone().split_by_access();
        let general = &parts[&AccessClass::General];
        assert_eq!(
            check_content(
                DocKind::Visit,
                AccessClass::General,
                &visit_content(general)
            ),
            Ok(())
        );
        let misfit =
            check_content(DocKind::Visit, AccessClass::General, &visit_content(&all)).unwrap_err();
        assert_eq!(
            misfit,
            Misfit::Screening {
                screening: ScreeningKind::Hiv,
                class: AccessClass::General
            }
        );
        assert_eq!(misfit.reached(), Some(AccessClass::Hiv));
    }

    #[test]
    fn a_results_document_holds_only_screenings_of_its_own_class() {
        let parts = hiv_screenings().split_by_access();
        let hiv = json!({ "screenings": parts[&AccessClass::Hiv] });
        assert_eq!(
            check_content(DocKind::Results, AccessClass::Hiv, &hiv),
            Ok(())
        );
        assert!(matches!(
            check_content(DocKind::Results, AccessClass::Tuberculosis, &hiv),
            Err(Misfit::Screening {
                screening: ScreeningKind::Hiv,
                ..
            })
        ));
        let general = json!({ "screenings": parts[&AccessClass::General] });
        assert!(check_content(DocKind::Results, AccessClass::Hiv, &general).is_err());
    }

    #[test]
    fn a_screening_this_build_does_not_know_is_refused_not_filed_as_general() {
        let content = json!({ "screenings": {
            "glucose": serde_json::to_value(hiv_screenings().glucose).unwrap(),
            "syphilis": { "result": "reactive" },
        }});
        assert_eq!(
            check_content(DocKind::Visit, AccessClass::General, &content),
            Err(Misfit::UnknownScreening {
                key: "syphilis".into()
            })
        );
        let garbled = json!({ "screenings": { "hiv": "reactive" } });
        assert!(matches!(
            check_content(DocKind::Results, AccessClass::Hiv, &garbled),
            Err(Misfit::Unreadable { .. })
        ));
    }

    #[test]
    fn a_referral_is_of_the_class_its_content_requires() {
        let hiv = kabinet_core::testing::referral(
            Uuid::now_v7(),
            Uuid::now_v7(),
            ReferralCode::new(1, 1),
            ReferralReason::Screening(ScreeningKind::Hiv),
            Destination::parse("hiv-confirmatory").unwrap(),
            chrono::Utc::now(),
        );
        let content = serde_json::to_value(&hiv).unwrap();
        assert_eq!(
            check_content(DocKind::Referral, AccessClass::Hiv, &content),
            Ok(())
        );
        let misfit = check_content(DocKind::Referral, AccessClass::General, &content).unwrap_err();
        assert_eq!(
            misfit,
            Misfit::Referral {
                required: AccessClass::Hiv,
                class: AccessClass::General
            }
        );
        assert_eq!(misfit.reached(), Some(AccessClass::Hiv));
    }

    #[test]
    fn claims_that_cannot_be_true_are_refused_before_anything_is_read() {
        let v7 = Uuid::now_v7();
        let derived = crate::results_doc_id(v7, AccessClass::Hiv);
        assert_eq!(
            check_claim(v7, DocKind::Person, AccessClass::General),
            Ok(())
        );
        assert_eq!(
            check_claim(derived, DocKind::Results, AccessClass::Hiv),
            Ok(())
        );
        assert_eq!(
            check_claim(v7, DocKind::Referral, AccessClass::Legal),
            Ok(())
        );
        for kind in [DocKind::Person, DocKind::Visit, DocKind::Referral] {
            assert_eq!(
                check_claim(derived, kind, AccessClass::General),
                Err(Misfit::DerivedId { kind })
            );
        }
        assert_eq!(
            check_claim(
                kabinet_core::Directory::doc_id(),
                DocKind::Directory,
                AccessClass::General
            ),
            Err(Misfit::Directory)
        );
        for (kind, class) in [
            (DocKind::Visit, AccessClass::Hiv),
            (DocKind::Person, AccessClass::Legal),
            (DocKind::Results, AccessClass::General),
            (DocKind::Results, AccessClass::Psychology),
        ] {
            assert_eq!(
                check_claim(v7, kind, class),
                Err(Misfit::Class { kind, class }),
                "{kind:?} {class:?}"
            );
        }
    }

    #[test]
    fn a_push_names_the_document_as_the_hub_holds_it() {
        let referral = (DocKind::Referral, AccessClass::Hiv);
        assert_eq!(check_stored(referral, referral), Ok(()));
        let misfit = check_stored(referral, (DocKind::Referral, AccessClass::General)).unwrap_err();
        assert_eq!(misfit.reached(), Some(AccessClass::Hiv));
        assert!(check_stored(referral, (DocKind::Person, AccessClass::Hiv)).is_err());
    }

    #[test]
    fn a_clinical_note_goes_only_in_its_own_clinical_document() {
        let with_note = json!({ "person_id": Uuid::now_v7(), "notes": "", "clinical_note": "ХИВ" });
        assert_eq!(
            check_content(DocKind::Visit, AccessClass::General, &with_note),
            Err(Misfit::ClinicalNote)
        );
        assert_eq!(
            check_claim(
                Uuid::new_v5(&Uuid::nil(), b"x"),
                DocKind::Results,
                AccessClass::Clinical
            ),
            Ok(())
        );
        let note = json!({ "note": "ХИВ реактивен" });
        assert_eq!(
            check_content(DocKind::Results, AccessClass::Clinical, &note),
            Ok(())
        );
        let parts = hiv_screenings().split_by_access();
        let hiv = json!({ "screenings": parts[&AccessClass::Hiv] });
        assert!(check_content(DocKind::Results, AccessClass::Clinical, &hiv).is_err());
    }

    #[test]
    fn a_referral_to_the_hiv_lab_is_hiv_whatever_its_reason() {
        let r = kabinet_core::testing::referral(
            Uuid::now_v7(),
            Uuid::now_v7(),
            ReferralCode::new(1, 1),
            ReferralReason::Social,
            Destination::parse("hiv-confirmatory").unwrap(),
            chrono::Utc::now(),
        );
        let content = serde_json::to_value(&r).unwrap();
        assert_eq!(
            check_content(DocKind::Referral, AccessClass::General, &content),
            Err(Misfit::Referral {
                required: AccessClass::Hiv,
                class: AccessClass::General
            })
        );
        assert_eq!(
            check_content(DocKind::Referral, AccessClass::Hiv, &content),
            Ok(())
        );
    }

    #[test]
    fn an_old_mismatched_referral_stays_editable_under_its_reasons_class() {
        let r = kabinet_core::testing::referral(
            Uuid::now_v7(),
            Uuid::now_v7(),
            ReferralCode::new(1, 2),
            ReferralReason::Psychological,
            Destination::parse("lung-hospital").unwrap(),
            chrono::Utc::now(),
        );
        let content = serde_json::to_value(&r).unwrap();
        // New: no such referral is made.
        assert!(matches!(
            check_content(DocKind::Referral, AccessClass::Psychology, &content),
            Err(Misfit::ReferralPair { .. })
        ));
        // Held from before the rule: its reason's class, as it is read.
        assert_eq!(
            check_merged(DocKind::Referral, AccessClass::Psychology, &content),
            Ok(())
        );
        assert!(check_merged(DocKind::Referral, AccessClass::General, &content).is_err());
    }
}
