//! Relay epochs: how a hub restored from a backup tells its devices to start over.
//!
//! A device's pull cursor is a number in the hub's relay log. A hub restored from a backup has
//! lost the rows after the backup, and numbers them anew from there: a device that pulled
//! past the backup would take the new rows under old numbers for ones it already has, and
//! whatever it pushed after the backup the hub no longer holds. So every restore starts a new
//! epoch, whose `floor` is the last relay row the restored hub holds. A device names the epoch
//! its cursors count in; a device of an older epoch is told to rewind: pull again from the
//! lowest floor since its epoch (the rows below it are the ones it pulled), and push every
//! document and audit entry it holds (the hub merges what it has and relays what it lacked).
//! This module is the rule; the hub's storage keeps the list.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One epoch of the relay log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Epoch {
    pub id: Uuid,
    /// The last relay row the hub held when the epoch began (0 for the first).
    pub floor: u64,
    pub started_at: DateTime<Utc>,
}

/// The hub's epochs, oldest first; never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Epochs(Vec<Epoch>);

impl Epochs {
    /// A new hub's: one epoch from the first relay row.
    pub fn first(now: DateTime<Utc>) -> Epochs {
        Epochs(vec![Epoch {
            id: Uuid::new_v4(),
            floor: 0,
            started_at: now,
        }])
    }

    pub fn current(&self) -> &Epoch {
        self.0.last().expect("epochs are never empty")
    }

    pub fn all(&self) -> &[Epoch] {
        &self.0
    }

    /// Where a device must pull again from, if it must start over: `None` when its cursors
    /// count in the current epoch. A device that names no epoch counts in the first.
    /// An epoch this hub never knew (restored from another lineage, or a backup older than
    /// the epoch) means the device's numbers mean nothing here: from the start.
    pub fn rewind_for(&self, device: Option<Uuid>, pull_cursor: u64) -> Option<u64> {
        // No epoch named: a device that has not synced since the hub began keeping them
        // (whatever its pull cursor says: a van whose rows all came from itself pulled nothing
        // and still pushed), or a new one, which a rewind costs one exchange.
        let index = match device {
            None => 0,
            Some(id) => match self.0.iter().position(|e| e.id == id) {
                Some(i) => i,
                None => return Some(0),
            },
        };
        self.0[index + 1..]
            .iter()
            .map(|e| e.floor)
            .min()
            .map(|floor| floor.min(pull_cursor))
    }

    /// The epochs after a restore whose relay log ends at `floor`: the restored hub's own
    /// history, or the one the hub held before (`held`) when the backup is of its lineage (it
    /// knows the backup's epoch; its later epochs, between the backup and now, are then still
    /// recognised), and a new epoch starting at `floor`.
    pub fn after_restore(
        held: Option<&Epochs>,
        restored: &Epochs,
        floor: u64,
        now: DateTime<Utc>,
    ) -> Epochs {
        let backup_epoch = restored.current().id;
        let (history, floor) = match held {
            Some(h) => match h.0.iter().position(|e| e.id == backup_epoch) {
                // The epochs after the backup's began at their own floors: rows past the lowest
                // of them may differ between those epochs and this backup (a newer backup
                // restored after an older one), so the new epoch starts no later.
                Some(i) => (
                    h.0.clone(),
                    h.0[i + 1..].iter().map(|e| e.floor).fold(floor, u64::min),
                ),
                None => (restored.0.clone(), floor),
            },
            None => (restored.0.clone(), floor),
        };
        let mut history = history;
        history.push(Epoch {
            id: Uuid::new_v4(),
            floor,
            started_at: now,
        });
        Epochs(history)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("epochs serialize")
    }

    /// The stored list; `None` if it is not one (empty, or not this shape).
    pub fn from_json(text: &str) -> Option<Epochs> {
        serde_json::from_str::<Epochs>(text)
            .ok()
            .filter(|e| !e.0.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        Utc::now()
    }

    #[test]
    fn a_device_of_the_current_epoch_goes_on() {
        let e = Epochs::first(at());
        assert_eq!(e.rewind_for(Some(e.current().id), 500), None);
        // Never synced, or synced before epochs were kept, on a hub never restored.
        assert_eq!(e.rewind_for(None, 0), None);
        assert_eq!(e.rewind_for(None, 500), None);
        // On a restored hub, a device that names no epoch starts over, even one that never
        // pulled a row (its own pushes are never relayed back to it).
        let restored = Epochs::after_restore(Some(&e), &e, 40, at());
        assert_eq!(restored.rewind_for(None, 0), Some(0));
    }

    #[test]
    fn a_newer_backup_restored_after_an_older_one_starts_at_the_older_floor() {
        let a = Epochs::first(at());
        // Backups taken in A at rows 50 (older) and 200 (newer). The older is restored first;
        // devices then work in B up to row 120, where B's rows 51–120 are not the newer
        // backup's.
        let b = Epochs::after_restore(Some(&a), &a, 50, at());
        let c = Epochs::after_restore(Some(&b), &a, 200, at());
        assert_eq!(c.current().floor, 50);
        assert_eq!(c.rewind_for(Some(b.current().id), 120), Some(50));
        assert_eq!(c.rewind_for(Some(a.current().id), 180), Some(50));
    }

    #[test]
    fn a_device_of_an_older_epoch_pulls_again_from_the_lowest_floor_since() {
        let first = Epochs::first(at());
        let one = first.current().id;
        // Restored to row 100, then (from an older backup) to row 60.
        let second = Epochs::after_restore(Some(&first), &first, 100, at());
        let two = second.current().id;
        let third = Epochs::after_restore(Some(&second), &first, 60, at());
        assert_eq!(third.all().len(), 3);
        assert_eq!(third.rewind_for(Some(one), 150), Some(60));
        assert_eq!(third.rewind_for(Some(one), 40), Some(40), "never forward");
        assert_eq!(third.rewind_for(Some(two), 150), Some(60));
        assert_eq!(third.rewind_for(Some(third.current().id), 150), None);
        // Synced before epochs were kept: it counts in the first.
        assert_eq!(third.rewind_for(None, 150), Some(60));
        // An epoch this hub never knew: from the start.
        assert_eq!(third.rewind_for(Some(Uuid::new_v4()), 150), Some(0));
    }

    #[test]
    fn a_backup_of_another_lineage_brings_its_own_history() {
        let ours = Epochs::first(at());
        let theirs = Epochs::first(at());
        let restored = Epochs::after_restore(Some(&ours), &theirs, 10, at());
        assert_eq!(restored.all()[0], theirs.all()[0]);
        assert_eq!(restored.rewind_for(Some(ours.current().id), 50), Some(0));
        // Without a hub to compare with (its disk was lost): the backup's history.
        let bare = Epochs::after_restore(None, &ours, 10, at());
        assert_eq!(bare.rewind_for(Some(ours.current().id), 50), Some(10));
    }

    #[test]
    fn the_list_round_trips_and_garbage_is_none() {
        let e = Epochs::after_restore(None, &Epochs::first(at()), 7, at());
        assert_eq!(Epochs::from_json(&e.to_json()), Some(e));
        assert_eq!(Epochs::from_json("[]"), None);
        assert_eq!(Epochs::from_json("nonsense"), None);
    }
}
