//! The wire format: `KBSY`, a little-endian u16 version, a codec byte (0 plain, 1 zstd), then
//! a postcard message. Version 2 added the relay epoch (a restored hub's devices start over
//! from what it still holds); the hub still takes version 1 requests and answers them in
//! version 1, so vans not yet updated keep syncing with an updated hub. Decoding is defensive: size limit, magic and version are checked
//! before anything else, decompression stops at the size limit, and garbage yields an error,
//! never a panic.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

pub const MAGIC: [u8; 4] = *b"KBSY";
pub const WIRE_VERSION: u16 = 2;
/// The oldest version the hub still answers.
pub const OLDEST_WIRE_VERSION: u16 = 1;
/// No sync message may be larger than this; batches are cut well below it.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

/// One document's changes in one direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocChanges {
    /// `None` for a results document: its id is derived from its visit (`parent`) and class,
    /// so it need not travel (16 random bytes each, a tenth of a sync's bytes).
    pub doc_id: Option<Uuid>,
    /// Document kind code (person, visit, results, referral), as the store numbers them.
    pub kind: u8,
    /// Access class code.
    pub class: u8,
    /// The visit of a results document or referral.
    pub parent: Option<Uuid>,
    /// Automerge changes (the output of `save_after`), possibly several concatenated. No heads
    /// travel: each side works out what the other holds from what it sent and received.
    pub changes: Vec<u8>,
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
    /// The hub's relay epoch the device's cursors count in, as the hub last answered it
    /// (`None` before the first answer, and from a version 1 device).
    pub relay_epoch: Option<Uuid>,
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
    /// The hub's current relay epoch: the device keeps it and sends it next time.
    pub relay_epoch: Uuid,
    /// The hub was restored from a backup since the device's epoch: the hub took nothing of
    /// this request, and the device starts over from what the hub still holds: it pulls from
    /// this cursor and pushes every document it has (see docs/sync.md, "A restored hub").
    pub rewind: Option<u64>,
}

/// A version 1 request: the shape before relay epochs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SyncRequestV1 {
    push: Vec<DocChanges>,
    push_through: u64,
    pull_cursor: u64,
    max_pull_bytes: u32,
}

/// A version 1 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SyncResponseV1 {
    push_acked_through: u64,
    pull: Vec<DocChanges>,
    next_cursor: u64,
    more: bool,
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

const CODEC_PLAIN: u8 = 0;
const CODEC_ZSTD: u8 = 1;
/// Bodies smaller than this are sent plain: compressing them saves nothing worth the time.
const COMPRESS_FROM: usize = 512;
/// Level 3 for small bodies (fast); 6 for big batches, which are bandwidth-bound on the van's
/// mobile link. Measured on the W1 batch of 5,000 visits (`kabinet-bench-phases`): level 3
/// 675 KB in 24 ms, 6 646 KB in 45–58 ms, 9 628 KB in 81–87 ms; 6 keeps most of 9's saving
/// for half its time.
fn zstd_level(payload_len: usize) -> i32 {
    if payload_len >= 256 * 1024 { 6 } else { 3 }
}

fn encode<T: Serialize>(message: &T, version: u16) -> Vec<u8> {
    let payload = postcard::to_stdvec(message).expect("writing to a Vec cannot fail");
    let mut out = Vec::with_capacity(payload.len() / 3 + 16);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    if payload.len() >= COMPRESS_FROM {
        out.push(CODEC_ZSTD);
        zstd::stream::copy_encode(&payload[..], &mut out, zstd_level(payload.len()))
            .expect("compressing into a Vec cannot fail");
    } else {
        out.push(CODEC_PLAIN);
        out.extend_from_slice(&payload);
    }
    out
}

/// Decompresses at most `MAX_MESSAGE_BYTES`: a small body cannot expand into a huge one.
fn inflate(compressed: &[u8]) -> Result<Vec<u8>, WireError> {
    use std::io::Read;
    let decoder = zstd::stream::read::Decoder::new(compressed)
        .map_err(|e| WireError::Malformed(e.to_string()))?;
    let mut out = Vec::new();
    decoder
        .take(MAX_MESSAGE_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| WireError::Malformed(format!("decompression: {e}")))?;
    if out.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge {
            size: out.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    Ok(out)
}

/// The message in `bytes`, read as `V1` when it is of version 1 and as `T` when of this
/// version; any other version is refused.
fn decode<T: DeserializeOwned, V1: DeserializeOwned + Into<T>>(
    bytes: &[u8],
) -> Result<(T, u16), WireError> {
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
    if !(OLDEST_WIRE_VERSION..=WIRE_VERSION).contains(&version) {
        return Err(WireError::Version {
            got: version,
            supported: WIRE_VERSION,
        });
    }
    let inflated;
    let payload = match bytes.get(6) {
        Some(&CODEC_PLAIN) => &bytes[7..],
        Some(&CODEC_ZSTD) => {
            inflated = inflate(&bytes[7..])?;
            &inflated[..]
        }
        Some(other) => return Err(WireError::Malformed(format!("unknown codec {other}"))),
        None => return Err(WireError::Malformed("no codec byte".into())),
    };
    let message = match version {
        WIRE_VERSION => whole::<T>(payload)?,
        _ => whole::<V1>(payload)?.into(),
    };
    Ok((message, version))
}

/// One postcard message that is the whole payload.
fn whole<T: DeserializeOwned>(payload: &[u8]) -> Result<T, WireError> {
    let (message, rest) =
        postcard::take_from_bytes(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(WireError::Malformed(format!(
            "{} trailing bytes",
            rest.len()
        )));
    }
    Ok(message)
}

impl From<SyncRequestV1> for SyncRequest {
    fn from(r: SyncRequestV1) -> Self {
        SyncRequest {
            push: r.push,
            push_through: r.push_through,
            pull_cursor: r.pull_cursor,
            max_pull_bytes: r.max_pull_bytes,
            relay_epoch: None,
        }
    }
}

impl From<SyncResponseV1> for SyncResponse {
    fn from(r: SyncResponseV1) -> Self {
        SyncResponse {
            push_acked_through: r.push_acked_through,
            pull: r.pull,
            next_cursor: r.next_cursor,
            more: r.more,
            relay_epoch: Uuid::nil(),
            rewind: None,
        }
    }
}

impl SyncRequest {
    pub fn encode(&self) -> Vec<u8> {
        encode(self, WIRE_VERSION)
    }
    /// A request as version 1 wrote it (its epoch left out): what a device not yet updated
    /// sends, for tests of the hub.
    pub fn encode_v1(&self) -> Vec<u8> {
        let v1 = SyncRequestV1 {
            push: self.push.clone(),
            push_through: self.push_through,
            pull_cursor: self.pull_cursor,
            max_pull_bytes: self.max_pull_bytes,
        };
        encode(&v1, 1)
    }
    pub fn decode(bytes: &[u8]) -> Result<SyncRequest, WireError> {
        Self::decode_versioned(bytes).map(|(r, _)| r)
    }
    /// The request and the version it was written in (the answer is written in the same).
    pub fn decode_versioned(bytes: &[u8]) -> Result<(SyncRequest, u16), WireError> {
        decode::<SyncRequest, SyncRequestV1>(bytes)
    }
}

impl SyncResponse {
    pub fn encode(&self) -> Vec<u8> {
        encode(self, WIRE_VERSION)
    }
    /// The answer in `version` (1 or this one): a version 1 answer has no epoch and no
    /// rewind, so a rewind must not be answered in it (the hub refuses such a request).
    pub fn encode_as(self, version: u16) -> Vec<u8> {
        if version >= WIRE_VERSION {
            return self.encode();
        }
        let v1 = SyncResponseV1 {
            push_acked_through: self.push_acked_through,
            pull: self.pull,
            next_cursor: self.next_cursor,
            more: self.more,
        };
        encode(&v1, 1)
    }
    pub fn decode(bytes: &[u8]) -> Result<SyncResponse, WireError> {
        decode::<SyncResponse, SyncResponseV1>(bytes).map(|(r, _)| r)
    }
}

impl DocChanges {
    /// An entry for a document, leaving out the id where the receiver can derive it.
    pub fn new(
        doc_id: Uuid,
        kind: u8,
        class: u8,
        parent: Option<Uuid>,
        changes: Vec<u8>,
    ) -> DocChanges {
        let derivable = kind == kabinet_store::DocKind::Results as u8
            && parent.is_some_and(|p| Some(doc_id) == derived_results_id(p, class));
        DocChanges {
            doc_id: (!derivable).then_some(doc_id),
            kind,
            class,
            parent,
            changes,
        }
    }

    /// The document's id: as sent, or derived for a results document. `None` when it is
    /// missing and cannot be derived, or when a results document's id does not match its
    /// visit and class.
    pub fn resolve_id(&self) -> Option<Uuid> {
        if self.kind != kabinet_store::DocKind::Results as u8 {
            return self.doc_id;
        }
        let derived = derived_results_id(self.parent?, self.class)?;
        match self.doc_id {
            Some(id) if id != derived => None,
            _ => Some(derived),
        }
    }

    /// Bytes this entry adds to a message, roughly: what batching counts.
    pub fn weight(&self) -> usize {
        self.changes.len() + 40
    }
}

fn derived_results_id(visit: Uuid, class: u8) -> Option<Uuid> {
    kabinet_core::AccessClass::from_code(class).map(|c| kabinet_store::results_doc_id(visit, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> SyncRequest {
        SyncRequest {
            push: vec![DocChanges {
                doc_id: Some(Uuid::from_u128(7)),
                kind: 2,
                class: 0,
                parent: Some(Uuid::from_u128(9)),
                changes: vec![1, 2, 3, 4],
            }],
            push_through: 42,
            pull_cursor: 17,
            max_pull_bytes: 1 << 20,
            relay_epoch: Some(Uuid::from_u128(3)),
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
            relay_epoch: Uuid::from_u128(4),
            rewind: Some(12),
        };
        assert_eq!(SyncResponse::decode(&resp.encode()).unwrap(), resp);
    }

    #[test]
    fn a_version_1_request_is_read_and_answered_in_version_1() {
        let r = sample();
        let v1 = r.encode_v1();
        assert_eq!(u16::from_le_bytes([v1[4], v1[5]]), 1);
        let (read, version) = SyncRequest::decode_versioned(&v1).unwrap();
        assert_eq!(version, 1);
        assert_eq!(
            read,
            SyncRequest {
                relay_epoch: None,
                ..r.clone()
            }
        );
        let resp = SyncResponse {
            push_acked_through: 42,
            pull: r.push.clone(),
            next_cursor: 99,
            more: false,
            relay_epoch: Uuid::from_u128(4),
            rewind: None,
        };
        let answer = resp.clone().encode_as(version);
        assert_eq!(u16::from_le_bytes([answer[4], answer[5]]), 1);
        // What a version 1 device reads: the same fields, in the old shape.
        let (old, _) = decode::<SyncResponseV1, SyncResponseV1>(&answer).unwrap();
        assert_eq!(old.next_cursor, 99);
        assert_eq!(old.pull, resp.pull);
        // This version's request, read as version 1 would, is not mistaken for one.
        assert!(decode::<SyncRequestV1, SyncRequestV1>(&r.encode()).is_err());
    }

    #[test]
    fn large_messages_are_compressed_and_a_decompression_bomb_is_refused() {
        let mut r = sample();
        r.push[0].changes = vec![7u8; 100_000];
        let bytes = r.encode();
        assert_eq!(bytes[6], CODEC_ZSTD);
        assert!(bytes.len() < 1000, "{} bytes", bytes.len());
        assert_eq!(SyncRequest::decode(&bytes).unwrap(), r);

        // 40 MB of zeros compress to a few kB; decoding must stop at the limit.
        let mut bomb = MAGIC.to_vec();
        bomb.extend_from_slice(&WIRE_VERSION.to_le_bytes());
        bomb.push(CODEC_ZSTD);
        zstd::stream::copy_encode(&vec![0u8; 40 * 1024 * 1024][..], &mut bomb, 3).unwrap();
        assert!(bomb.len() < 100_000);
        assert!(matches!(
            SyncRequest::decode(&bomb),
            Err(WireError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_results_document_id_is_derived_not_sent() {
        let visit = Uuid::from_u128(42);
        let id = kabinet_store::results_doc_id(visit, kabinet_core::AccessClass::Hiv);
        let hiv = kabinet_core::AccessClass::Hiv.code();
        let d = DocChanges::new(
            id,
            kabinet_store::DocKind::Results as u8,
            hiv,
            Some(visit),
            vec![1],
        );
        assert_eq!(d.doc_id, None);
        assert_eq!(d.resolve_id(), Some(id));
        // A results document claiming another id is refused.
        let forged = DocChanges {
            doc_id: Some(Uuid::from_u128(1)),
            ..d.clone()
        };
        assert_eq!(forged.resolve_id(), None);
        // Other kinds carry their id.
        let person = DocChanges::new(
            Uuid::from_u128(5),
            kabinet_store::DocKind::Person as u8,
            0,
            None,
            vec![1],
        );
        assert_eq!(person.resolve_id(), Some(Uuid::from_u128(5)));
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
            bytes.push(CODEC_PLAIN);
            bytes.extend_from_slice(&tail);
            let _ = SyncRequest::decode(&bytes);
            bytes[6] = CODEC_ZSTD;
            let _ = SyncRequest::decode(&bytes);
            let _ = SyncResponse::decode(&bytes);
        }
    }
}
