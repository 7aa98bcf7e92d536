//! The audit log's entries and their hash chain. Each entry's hash covers the previous
//! entry's hash and every field of its own, so changing, removing or reordering an entry
//! breaks every link after it; the device checks its chain, and the hub, which keeps the
//! entries it has received, refuses a continuation that does not start from the last hash it
//! holds. The same function hashes on both sides.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What was done to a record.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AuditAction {
    Create,
    Edit,
    /// A view of a record holding sensitive data (results, psychology or legal notes).
    View,
    /// Slips printed (they carry names and reasons).
    Print,
    /// A consent withdrawn.
    Withdraw,
    /// A programme report made (the record is its period, the class `report/<format>`).
    Report,
    /// Records exported to another system (FHIR): the record is what was exported.
    Export,
    /// A hub admin's changes to users, in the hub's own chain: the record is the user's login
    /// name (which never changes), the class says what changed.
    AddUser,
    ChangeRole,
    ChangeCabinets,
    /// A new web password or device PIN (the class says which).
    ResetSecret,
    DisableUser,
    EnableUser,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<AuditAction> {
        s.parse().ok()
    }
}

/// One entry: who did what to which record, where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3… on the device that wrote it.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub user: String,
    pub device: String,
    pub action: AuditAction,
    /// The record (document id, or a referral code for prints).
    pub record: String,
    /// Its access class (general, hiv, …) or kind.
    pub class: String,
}

/// The hash before the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// The hash of `entry` chained to `prev`. Fields are length-prefixed, so no two different
/// entries hash the same bytes.
pub fn chain_hash(prev: &[u8; 32], entry: &AuditEntry) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"kabinet-audit-v1");
    h.update(prev);
    h.update(entry.seq.to_be_bytes());
    for field in [
        entry
            .at
            .to_rfc3339_opts(SecondsFormat::Micros, true)
            .as_str(),
        entry.user.as_str(),
        entry.device.as_str(),
        entry.action.as_str(),
        entry.record.as_str(),
        entry.class.as_str(),
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().into()
}

/// An entry with its place in the chain, as stored and as sent to the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainedEntry {
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// Hex.
    pub prev_hash: String,
    /// Hex.
    pub hash: String,
}

/// Where a chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("audit entry {seq} does not follow the one before it (changed, removed or inserted)")]
    Link { seq: u64 },
    #[error("audit entry {seq} was changed after it was written")]
    Content { seq: u64 },
    #[error("audit entries are not consecutive at {seq}")]
    Gap { seq: u64 },
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

pub fn to_hex(b: &[u8; 32]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Checks that `entries` continue a chain whose last hash is `prev` and whose last sequence
/// number is `prev_seq`; returns the new last hash.
pub fn verify_chain(
    mut prev: [u8; 32],
    prev_seq: u64,
    entries: &[ChainedEntry],
) -> Result<[u8; 32], ChainBreak> {
    let mut seq = prev_seq;
    for e in entries {
        if e.entry.seq != seq + 1 {
            return Err(ChainBreak::Gap { seq: e.entry.seq });
        }
        seq = e.entry.seq;
        if hex32(&e.prev_hash) != Some(prev) {
            return Err(ChainBreak::Link { seq });
        }
        let hash = chain_hash(&prev, &e.entry);
        if hex32(&e.hash) != Some(hash) {
            return Err(ChainBreak::Content { seq });
        }
        prev = hash;
    }
    Ok(prev)
}

/// Chains `entries` (without hashes yet) after `prev`.
pub fn chain(mut prev: [u8; 32], entries: Vec<AuditEntry>) -> Vec<ChainedEntry> {
    entries
        .into_iter()
        .map(|entry| {
            let hash = chain_hash(&prev, &entry);
            let out = ChainedEntry {
                prev_hash: to_hex(&prev),
                hash: to_hex(&hash),
                entry,
            };
            prev = hash;
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: u64) -> Vec<AuditEntry> {
        (1..=n)
            .map(|seq| AuditEntry {
                seq,
                at: DateTime::from_timestamp(1_700_000_000 + seq as i64, 0).unwrap(),
                user: "Мария Петрова".into(),
                device: "tablet-1".into(),
                action: AuditAction::View,
                record: format!("record-{seq}"),
                class: "hiv".into(),
            })
            .collect()
    }

    #[test]
    fn a_chain_verifies_and_any_change_breaks_it() {
        let chained = chain(GENESIS, entries(5));
        let last = verify_chain(GENESIS, 0, &chained).unwrap();
        assert_eq!(to_hex(&last), chained[4].hash);
        // Continuing from the middle works.
        assert_eq!(
            verify_chain(hex32(&chained[1].hash).unwrap(), 2, &chained[2..]),
            Ok(last)
        );

        let mut edited = chained.clone();
        edited[2].entry.user = "Някой друг".into();
        assert_eq!(
            verify_chain(GENESIS, 0, &edited),
            Err(ChainBreak::Content { seq: 3 })
        );
        let mut removed = chained.clone();
        removed.remove(1);
        assert_eq!(
            verify_chain(GENESIS, 0, &removed),
            Err(ChainBreak::Gap { seq: 3 })
        );
        // Rewriting the whole tail consistently still does not continue the hub's copy.
        let mut rewritten = entries(5);
        rewritten[3].record = "something else".into();
        let rewritten = chain(hex32(&chained[2].hash).unwrap(), rewritten[3..].to_vec());
        assert!(verify_chain(hex32(&chained[3].hash).unwrap(), 4, &rewritten).is_err());
    }

    #[test]
    fn fields_cannot_slide_into_each_other() {
        let mut a = entries(1).remove(0);
        let mut b = a.clone();
        a.user = "ab".into();
        a.device = "c".into();
        b.user = "a".into();
        b.device = "bc".into();
        assert_ne!(chain_hash(&GENESIS, &a), chain_hash(&GENESIS, &b));
    }
}
