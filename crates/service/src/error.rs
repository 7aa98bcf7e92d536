//! What a screen gets back when a request is refused: a message in the user's language, one
//! message per wrong field (so the form can show it beside the field), and the people a
//! registration may duplicate.

use kabinet_core::{Lang, ValidationError, Warning};
use kabinet_store::{PersonHit, StoreError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input")]
    Invalid(kabinet_core::ValidationErrors),
    #[error("a person with this ЕГН is already registered")]
    EgnTaken(Box<PersonHit>),
    #[error("this person may already be registered")]
    PossibleDuplicates(Vec<PersonHit>),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("your role may not do this")]
    Forbidden,
    /// A record of a class the caller may not read: answered exactly like "not found" (its
    /// existence is not revealed), but the caller's side can log the refusal.
    #[error("{kind} {id} not found")]
    Hidden {
        kind: &'static str,
        id: String,
        class: kabinet_core::AccessClass,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A file or stream an export writes to failed: told as the store's I/O errors are.
impl From<std::io::Error> for ServiceError {
    fn from(e: std::io::Error) -> ServiceError {
        ServiceError::Store(StoreError::Io(e))
    }
}

/// What kind of refusal an answer is: the `kind` of every [`ErrorBody`] (from the service,
/// the device's session and the hub's admin screens) and, for the service's, the hub's HTTP
/// status both come from here, so nobody matches on the body's string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorKind {
    Invalid,
    EgnTaken,
    PossibleDuplicates,
    NotFound,
    BadRequest,
    Forbidden,
    Store,
    /// Nobody is logged in on the device, or the session ended (idle, user disabled).
    Locked,
    /// Enrolling with the hub failed (address, code, certificate).
    Enroll,
    /// The device is enrolled but the hub has no users of its roles yet.
    NoUsers,
    /// A hub admin's change to a user was refused.
    Admin,
    /// Enrolling over HTTPS without a fingerprint to check the hub's certificate against: the
    /// answer carries the certificate's fingerprint for the person to compare and confirm.
    ConfirmFingerprint,
}

impl ErrorKind {
    /// The `kind` as the UI reads it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The HTTP status the hub answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::NotFound => 404,
            ErrorKind::EgnTaken | ErrorKind::PossibleDuplicates => 409,
            ErrorKind::Forbidden => 403,
            ErrorKind::Store => 500,
            ErrorKind::Locked => 401,
            ErrorKind::Invalid
            | ErrorKind::BadRequest
            | ErrorKind::Enroll
            | ErrorKind::NoUsers
            | ErrorKind::Admin
            | ErrorKind::ConfirmFingerprint => 422,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct FieldMessage {
    /// The form field's key (core's `Field::key`).
    pub field: String,
    pub message: String,
}

impl FieldMessage {
    pub fn of(e: &ValidationError, lang: Lang) -> FieldMessage {
        FieldMessage {
            field: e.field.key().to_string(),
            message: e.message(lang),
        }
    }

    pub fn all(errors: &[ValidationError], lang: Lang) -> Vec<FieldMessage> {
        errors.iter().map(|e| FieldMessage::of(e, lang)).collect()
    }

    pub fn warning(w: &Warning, lang: Lang) -> FieldMessage {
        FieldMessage {
            field: w.field.key().to_string(),
            message: w.message(lang),
        }
    }
}

/// The JSON body of a refused request, the same over Tauri and HTTP.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ErrorBody {
    pub kind: ErrorKind,
    pub message: String,
    /// One message per wrong field (empty when the refusal is not about a field).
    pub fields: Vec<FieldMessage>,
    /// The people a registration may duplicate (empty otherwise).
    pub duplicates: Vec<PersonHit>,
    /// With `confirm_fingerprint`: the hub certificate's SHA-256 fingerprint (hex) to compare
    /// with the one the hub operator printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fingerprint: Option<String>,
}

impl ErrorBody {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            kind,
            message: message.into(),
            fields: Vec::new(),
            duplicates: Vec::new(),
            fingerprint: None,
        }
    }

    /// An `invalid` answer about one field (for checks made outside core, e.g. by the app
    /// shell): a short message and the field's own message.
    pub fn invalid_field(
        message: impl Into<String>,
        field: &str,
        field_message: impl Into<String>,
    ) -> ErrorBody {
        ErrorBody {
            fields: vec![FieldMessage {
                field: field.to_string(),
                message: field_message.into(),
            }],
            ..ErrorBody::new(ErrorKind::Invalid, message)
        }
    }
}

impl ServiceError {
    /// The HTTP status of this refusal (the hub's answer; the app shell ignores it).
    pub fn http_status(&self) -> u16 {
        self.kind().http_status()
    }

    /// The kind of refusal; a hidden record is answered as not found.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ServiceError::Invalid(_) => ErrorKind::Invalid,
            ServiceError::EgnTaken(_) => ErrorKind::EgnTaken,
            ServiceError::PossibleDuplicates(_) => ErrorKind::PossibleDuplicates,
            ServiceError::BadRequest(_) => ErrorKind::BadRequest,
            ServiceError::Forbidden => ErrorKind::Forbidden,
            // An id of another kind of record (a person's id asked for as a referral's) is
            // not found either: the answer must not say that the id exists as something else.
            ServiceError::Hidden { .. }
            | ServiceError::Store(StoreError::NotFound { .. })
            | ServiceError::Store(StoreError::KindMismatch { .. }) => ErrorKind::NotFound,
            ServiceError::Store(_) => ErrorKind::Store,
        }
    }

    pub fn body(&self, lang: Lang) -> ErrorBody {
        let kind = self.kind();
        match self {
            ServiceError::Invalid(errors) => ErrorBody {
                fields: FieldMessage::all(&errors.0, lang),
                ..ErrorBody::new(
                    kind,
                    lang.pick(
                        "Някои полета не са попълнени правилно; нищо не е записано.",
                        "Some fields are not filled in correctly; nothing was saved.",
                    )
                    .to_string(),
                )
            },
            ServiceError::EgnTaken(hit) => ErrorBody {
                fields: vec![FieldMessage {
                    field: "egn".into(),
                    message: lang.pick(
                        format!(
                            "ЕГН: вече е записан човек с това ЕГН ({}); отворете неговия картон.",
                            hit.full_name
                        ),
                        format!(
                            "ЕГН: a person with this ЕГН is already registered ({}); open their record.",
                            hit.full_name
                        ),
                    ),
                }],
                duplicates: vec![(**hit).clone()],
                ..ErrorBody::new(
                    kind,
                    lang.pick(
                        "Човек с това ЕГН вече е записан.",
                        "A person with this ЕГН is already registered.",
                    )
                    .to_string(),
                )
            },
            ServiceError::PossibleDuplicates(hits) => ErrorBody {
                duplicates: hits.clone(),
                ..ErrorBody::new(
                    kind,
                    lang.pick(
                        "Може би този човек вече е записан. Проверете списъка; ако е друг човек, потвърдете.",
                        "This person may already be registered. Check the list; if it is someone else, confirm.",
                    )
                    .to_string(),
                )
            },
            ServiceError::BadRequest(m) => ErrorBody::new(kind, m.clone()),
            ServiceError::Forbidden => ErrorBody::new(
                kind,
                lang.pick(
                    "Вашата роля не позволява това.",
                    "Your role does not allow this.",
                )
                .to_string(),
            ),
            ServiceError::Hidden { kind: what, id, .. } => ErrorBody::new(
                kind,
                StoreError::NotFound {
                    kind: what,
                    id: id.clone(),
                }
                .message(lang),
            ),
            ServiceError::Store(StoreError::KindMismatch {
                doc_id, expected, ..
            }) => ErrorBody::new(
                kind,
                StoreError::NotFound {
                    kind: expected,
                    id: doc_id.to_string(),
                }
                .message(lang),
            ),
            ServiceError::Store(e) => ErrorBody::new(kind, e.message(lang)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_http_status_and_kind() {
        let not_found = ServiceError::Store(StoreError::NotFound {
            kind: "person",
            id: "x".into(),
        });
        let hidden = ServiceError::Hidden {
            kind: "visit",
            id: "x".into(),
            class: kabinet_core::AccessClass::Hiv,
        };
        let store = ServiceError::Store(StoreError::EmptyKey);
        for (e, status, kind) in [
            (ServiceError::BadRequest("x".into()), 422, "bad_request"),
            (ServiceError::Forbidden, 403, "forbidden"),
            (not_found, 404, "not_found"),
            (hidden, 404, "not_found"),
            (
                ServiceError::Store(StoreError::KindMismatch {
                    doc_id: uuid::Uuid::nil(),
                    found: "person",
                    expected: "referral",
                }),
                404,
                "not_found",
            ),
            (
                ServiceError::PossibleDuplicates(Vec::new()),
                409,
                "possible_duplicates",
            ),
            (store, 500, "store"),
        ] {
            assert_eq!(
                (e.http_status(), e.body(Lang::En).kind.as_str()),
                (status, kind)
            );
        }
    }
}
