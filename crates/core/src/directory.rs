//! The hub's directory: its own name and address, where each referral destination is (address,
//! phone, working hours), and how long a referral may wait before someone follows it up. The
//! hub manages it (`kabinet-hub directory set`) and it reaches every device by sync, so a slip
//! printed in the van carries the current address.

use crate::Lang;
use crate::referral::{Destination, Urgency};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A place printed on a slip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Place {
    pub name: String,
    pub address: String,
    pub phone: String,
    /// e.g. "пон.–пет. 8:30–17:00"
    pub hours: String,
}

/// Days a referral may wait for attendance before it is on the follow-up worklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FollowUpDays {
    pub same_day: u16,
    pub priority: u16,
    pub routine: u16,
}

impl Default for FollowUpDays {
    fn default() -> Self {
        FollowUpDays {
            same_day: 1,
            priority: 7,
            routine: 30,
        }
    }
}

impl FollowUpDays {
    pub fn of(&self, urgency: Urgency) -> u16 {
        match urgency {
            Urgency::Emergency | Urgency::SameDay => self.same_day,
            Urgency::Priority => self.priority,
            Urgency::Routine => self.routine,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Directory {
    pub hub: Place,
    /// By destination slug (e.g. "lung-hospital").
    pub destinations: BTreeMap<String, Place>,
    pub follow_up_days: FollowUpDays,
    /// HIV confirmatory slips print without the person's name and ЕГН (the code, birth year
    /// and sex only), as anonymous testing centres work, unless the specialist chooses
    /// otherwise when printing.
    pub anonymous_hiv_slips: bool,
}

impl Directory {
    /// The one directory document every device shares.
    pub fn doc_id() -> Uuid {
        Uuid::new_v5(&Uuid::NAMESPACE_OID, b"kabinet:directory")
    }

    /// Where a destination is; its name falls back to the built-in label.
    pub fn place_of(&self, destination: Destination, lang: Lang) -> Place {
        let mut place = self
            .destinations
            .get(destination.slug())
            .cloned()
            .unwrap_or_default();
        if place.name.trim().is_empty() {
            place.name = destination.label(lang).to_string();
        }
        place
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_without_an_entry_still_has_its_name() {
        let mut d = Directory::default();
        let lung = Destination::parse("lung-hospital").unwrap();
        assert!(!d.place_of(lung, Lang::Bg).name.is_empty());
        d.destinations.insert(
            "lung-hospital".into(),
            Place {
                address: "ул. Болнична 1".into(),
                ..Default::default()
            },
        );
        let p = d.place_of(lung, Lang::Bg);
        assert_eq!(p.address, "ул. Болнична 1");
        assert!(!p.name.is_empty());
        assert_eq!(d.follow_up_days.of(Urgency::Priority), 7);
    }
}
