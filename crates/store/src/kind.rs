//! The kinds of document the store holds, as their rows record them. A module of its own so
//! that the projections and the records, which both need it, do not need each other.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    Person = 1,
    Visit = 2,
    /// Screenings of one visit in one sensitive access class.
    Results = 3,
    Referral = 4,
    /// The hub's directory of destinations (one document, see `kabinet_core::Directory`).
    Directory = 5,
    /// A person's case at the hub's team (`kabinet_core::case::Case`): general.
    Case = 6,
    /// A note on a case, in its discipline's class (`kabinet_core::case::CaseNote`).
    CaseNote = 7,
}

impl DocKind {
    pub fn from_code(code: i64) -> Option<DocKind> {
        match code {
            1 => Some(DocKind::Person),
            2 => Some(DocKind::Visit),
            3 => Some(DocKind::Results),
            4 => Some(DocKind::Referral),
            5 => Some(DocKind::Directory),
            6 => Some(DocKind::Case),
            7 => Some(DocKind::CaseNote),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DocKind::Person => "person",
            DocKind::Visit => "visit",
            DocKind::Results => "results",
            DocKind::Referral => "referral",
            DocKind::Directory => "directory",
            DocKind::Case => "case",
            DocKind::CaseNote => "case_note",
        }
    }
}
