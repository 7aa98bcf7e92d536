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
    /// invalid | egn_taken | possible_duplicates | not_found | bad_request | store |
    /// locked | unauthorized | …
    pub kind: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldMessage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<PersonHit>,
}

impl ErrorBody {
    pub fn new(kind: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            kind: kind.to_string(),
            message: message.into(),
            fields: Vec::new(),
            duplicates: Vec::new(),
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
            ..ErrorBody::new("invalid", message)
        }
    }
}

fn tr(lang: Lang, bg: &str, en: &str) -> String {
    match lang {
        Lang::Bg => bg.to_string(),
        Lang::En => en.to_string(),
    }
}

impl ServiceError {
    pub fn body(&self, lang: Lang) -> ErrorBody {
        match self {
            ServiceError::Invalid(errors) => ErrorBody {
                fields: FieldMessage::all(&errors.0, lang),
                ..ErrorBody::new(
                    "invalid",
                    tr(
                        lang,
                        "Някои полета не са попълнени правилно; нищо не е записано.",
                        "Some fields are not filled in correctly; nothing was saved.",
                    ),
                )
            },
            ServiceError::EgnTaken(hit) => ErrorBody {
                fields: vec![FieldMessage {
                    field: "egn".into(),
                    message: match lang {
                        Lang::Bg => format!(
                            "ЕГН: вече е записан човек с това ЕГН ({}); отворете неговия картон.",
                            hit.full_name
                        ),
                        Lang::En => format!(
                            "ЕГН: a person with this ЕГН is already registered ({}); open their record.",
                            hit.full_name
                        ),
                    },
                }],
                duplicates: vec![(**hit).clone()],
                ..ErrorBody::new(
                    "egn_taken",
                    tr(
                        lang,
                        "Човек с това ЕГН вече е записан.",
                        "A person with this ЕГН is already registered.",
                    ),
                )
            },
            ServiceError::PossibleDuplicates(hits) => ErrorBody {
                duplicates: hits.clone(),
                ..ErrorBody::new(
                    "possible_duplicates",
                    tr(
                        lang,
                        "Може би този човек вече е записан. Проверете списъка; ако е друг човек, потвърдете.",
                        "This person may already be registered. Check the list; if it is someone else, confirm.",
                    ),
                )
            },
            ServiceError::BadRequest(m) => ErrorBody::new("bad_request", m.clone()),
            ServiceError::Forbidden => ErrorBody::new(
                "forbidden",
                tr(
                    lang,
                    "Вашата роля не позволява това.",
                    "Your role does not allow this.",
                ),
            ),
            ServiceError::Hidden { kind, id, .. } => ErrorBody::new(
                "not_found",
                StoreError::NotFound {
                    kind,
                    id: id.clone(),
                }
                .message(lang),
            ),
            ServiceError::Store(e @ StoreError::NotFound { .. }) => {
                ErrorBody::new("not_found", e.message(lang))
            }
            ServiceError::Store(e) => ErrorBody::new("store", e.message(lang)),
        }
    }
}
