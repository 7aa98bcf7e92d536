//! The wire format: `KBSY`, a little-endian u16 version, then a postcard message. Decoding is
//! defensive: size limit, magic and version are checked before anything else, and garbage
//! yields an error, never a panic.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

pub const MAGIC: [u8; 4] = *b"KBSY";
pub const WIRE_VERSION: u16 = 1;
/// No sync message may be larger than this; batches are cut well below it.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

/// One document's changes in one direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocChanges {
    pub doc_id: Uuid,
    /// Document kind code (person, visit, results, referral), as the store numbers them.
    pub kind: u8,
    /// Access class code.
    pub class: u8,
    /// The visit of a results document or referral.
    pub parent: Option<Uuid>,
    /// Automerge changes (the output of `save_after`), possibly several concatenated.
    pub changes: Vec<u8>,
    /// The sender's heads of the document once these changes are applied: the receiver records
    /// them as "the other side has these".
    pub heads: Vec<[u8; 32]>,
}

/// Device → hub: a batch of local changes and where the device's pull stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    pub push: Vec<DocChanges>,
    /// The device's local change sequence the push covers; the hub echoes it when committed.
    pub push_through: u64,
    /// Every relay row up to this hub sequence has been applied by the device.
    pub pull_cursor: u64,
    /// How many bytes of changes the device takes in this response.
    pub max_pull_bytes: u32,
}

/// Hub → device: the acknowledgement of the push and the next pull batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The `push_through` of the request, once its changes are committed at the hub.
    pub push_acked_through: u64,
    pub pull: Vec<DocChanges>,
    /// The pull cursor to send next time, once `pull` is applied.
    pub next_cursor: u64,
    /// More rows wait after `next_cursor`.
    pub more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("sync message of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("not a Kabinet sync message (bad magic bytes)")]
    BadMagic,
    #[error(
        "sync protocol version {got} is not supported; this side speaks version {supported}. Update the older side."
    )]
    Version { got: u16, supported: u16 },
    #[error("malformed sync message: {0}")]
    Malformed(String),
}

fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&WIRE_VERSION.to_le_bytes());
    postcard::to_io(message, &mut out).expect("writing to a Vec cannot fail");
    out
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge {
            size: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    if bytes.len() < 6 || bytes[..4] != MAGIC {
        return Err(WireError::BadMagic);
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != WIRE_VERSION {
        return Err(WireError::Version {
            got: version,
            supported: WIRE_VERSION,
        });
    }
    let (message, rest) =
        postcard::take_from_bytes(&bytes[6..]).map_err(|e| WireError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(WireError::Malformed(format!(
            "{} trailing bytes",
            rest.len()
        )));
    }
    Ok(message)
}

impl SyncRequest {
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    pub fn decode(bytes: &[u8]) -> Result<SyncRequest, WireError> {
        decode(bytes)
    }
}

impl SyncResponse {
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    pub fn decode(bytes: &[u8]) -> Result<SyncResponse, WireError> {
        decode(bytes)
    }
}

impl DocChanges {
    /// Bytes this entry adds to a message, roughly: what batching counts.
    pub fn weight(&self) -> usize {
        self.changes.len() + 32 * self.heads.len() + 40
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> SyncRequest {
        SyncRequest {
            push: vec![DocChanges {
                doc_id: Uuid::from_u128(7),
                kind: 2,
                class: 0,
                parent: Some(Uuid::from_u128(9)),
                changes: vec![1, 2, 3, 4],
                heads: vec![[5; 32]],
            }],
            push_through: 42,
            pull_cursor: 17,
            max_pull_bytes: 1 << 20,
        }
    }

    #[test]
    fn messages_round_trip() {
        let r = sample();
        assert_eq!(SyncRequest::decode(&r.encode()).unwrap(), r);
        let resp = SyncResponse {
            push_acked_through: 42,
            pull: r.push.clone(),
            next_cursor: 99,
            more: true,
        };
        assert_eq!(SyncResponse::decode(&resp.encode()).unwrap(), resp);
    }

    #[test]
    fn version_mismatch_is_named() {
        let mut bytes = sample().encode();
        bytes[4..6].copy_from_slice(&7u16.to_le_bytes());
        let e = SyncRequest::decode(&bytes).unwrap_err();
        assert_eq!(
            e,
            WireError::Version {
                got: 7,
                supported: WIRE_VERSION
            }
        );
        assert!(e.to_string().contains("version 7"));
    }

    #[test]
    fn truncated_oversized_and_foreign_bodies_are_refused() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(SyncRequest::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            SyncRequest::decode(&trailing),
            Err(WireError::Malformed(_))
        ));
        assert_eq!(
            SyncRequest::decode(b"{\"json\": true}"),
            Err(WireError::BadMagic)
        );
        let huge = vec![0u8; MAX_MESSAGE_BYTES + 1];
        assert!(matches!(
            SyncRequest::decode(&huge),
            Err(WireError::TooLarge { .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = SyncRequest::decode(&bytes);
            let _ = SyncResponse::decode(&bytes);
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_header_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&WIRE_VERSION.to_le_bytes());
            bytes.extend_from_slice(&tail);
            let _ = SyncRequest::decode(&bytes);
            let _ = SyncResponse::decode(&bytes);
        }
    }
}
