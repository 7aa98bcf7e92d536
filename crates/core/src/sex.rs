//! A person's sex as recorded (M/F), read from a form or from an ЕГН's ninth digit. A module
//! of its own so that identity numbers and persons, which both need it, do not need each other.

use crate::error::{Field, Problem};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    M,
    F,
}

impl Sex {
    pub fn parse(input: &str) -> Result<Sex, crate::error::ValidationError> {
        match input.trim().to_lowercase().as_str() {
            "m" | "м" | "male" | "мъж" => Ok(Sex::M),
            "f" | "ж" | "female" | "жена" => Ok(Sex::F),
            other => Err(crate::error::ValidationError::new(
                Field::Sex,
                Problem::UnknownValue {
                    input: other.to_string(),
                    expected: "M|F (М|Ж)",
                },
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sex::M => "M",
            Sex::F => "F",
        }
    }
}
