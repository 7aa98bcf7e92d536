//! The device side of sync: enroll once, then run sync exchanges until both directions are
//! drained. Every exchange commits its effects (acknowledged push, applied pull, both cursors)
//! in one local transaction, so a cut connection or a killed process resumes where it stood.

use crate::transport::{AddressError, HubAddress, HubClient};
use crate::wire::{DocChanges, SyncRequest, SyncResponse, WireError};
use chrono::{DateTime, Utc};
use kabinet_core::AccessClass;
use kabinet_store::{DocKind, Origin, OutgoingBatch, Received, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Local changes sent per exchange, about. Exchanges overlap (the next batch is read and
/// compressed while the hub stores this one), so batches are kept small enough that the
/// first, which nothing overlaps, is short.
pub const PUSH_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Changes taken per exchange, about.
pub const PULL_BATCH_BYTES: u32 = 4 * 1024 * 1024;

use kabinet_store::meta::{
    AUDIT_PUSHED as META_AUDIT, DEVICE_ID as META_DEVICE, HUB_PIN as META_PIN,
    HUB_TOKEN as META_TOKEN, HUB_URL as META_HUB_URL, LAST_ERROR as META_LAST_ERROR,
    LAST_SUCCESS as META_LAST_SUCCESS, PULL_CURSOR as META_PULL, PUSH_CURSOR as META_PUSH,
    RELAY_EPOCH as META_EPOCH,
};
use uuid::Uuid;
/// Audit entries per request.
const AUDIT_BATCH: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("this device is not enrolled with a hub; enroll it first")]
    NotEnrolled,
    #[error("the hub is unreachable: {0}")]
    Unreachable(String),
    #[error(transparent)]
    Address(#[from] AddressError),
    #[error(
        "the hub presented a certificate ({presented}) that is not the one pinned at enrollment; \
         this may be someone else's server: do not sync, ask the hub operator"
    )]
    CertificateMismatch { presented: String },
    /// Enrolling over HTTPS with neither the fingerprint in the address nor its short form in
    /// the code: the certificate is not trusted on first use without a person comparing it.
    #[error(
        "the hub presented the certificate {presented}; compare it with the fingerprint the hub operator printed and confirm"
    )]
    UnconfirmedCertificate { presented: String },
    #[error(
        "enrollment code: 12 digits, optionally followed by the 16 characters of the certificate's short fingerprint"
    )]
    BadCode,
    #[error("this device was enrolled without the hub's certificate fingerprint; enroll it again")]
    NoPin,
    #[error("the hub refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the hub's answer is not understood: {0}")]
    Wire(#[from] WireError),
    #[error(
        "the hub sent a document this app cannot place (kind {kind}, class {class}); update the app"
    )]
    UnknownDocument { kind: u8, class: u8 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keyring(#[from] kabinet_keys::KeyringError),
}

/// The pulled documents as the store takes them. A kind or class this build does not know
/// fails the pull before anything is written: the cursor stays, and the document arrives once
/// the app is updated (skipping it would lose it for good; guessing a class could show it to
/// the wrong user).
fn placed(pull: &[crate::wire::DocChanges]) -> Result<Vec<Received<'_>>, SyncError> {
    pull.iter()
        .map(|p| {
            let unknown = || SyncError::UnknownDocument {
                kind: p.kind,
                class: p.class,
            };
            Ok(Received {
                kind: DocKind::from_code(i64::from(p.kind)).ok_or_else(unknown)?,
                class: AccessClass::from_code(p.class).ok_or_else(unknown)?,
                doc_id: p.resolve_id().ok_or_else(unknown)?,
                parent: p.parent,
                changes: &p.changes,
            })
        })
        .collect()
}

#[cfg(test)]
mod placing {
    use super::*;
    use crate::wire::{DocChanges, SyncResponse};
    use uuid::Uuid;

    #[test]
    fn a_pulled_document_of_an_unknown_kind_or_class_fails_the_pull() {
        let known = DocChanges::new(Uuid::now_v7(), DocKind::Person as u8, 0, None, vec![1]);
        assert_eq!(placed(std::slice::from_ref(&known)).unwrap().len(), 1);
        for (kind, class) in [(99, 0), (DocKind::Person as u8, 42)] {
            let odd = DocChanges {
                kind,
                class,
                ..known.clone()
            };
            let Err(e) = placed(&[known.clone(), odd]) else {
                panic!("an unknown kind or class is refused")
            };
            assert!(matches!(e, SyncError::UnknownDocument { .. }), "{e}");
            assert!(e.message(kabinet_core::Lang::Bg).contains("обновете"));
        }
    }

    #[test]
    fn an_unplaceable_pull_still_records_the_push_and_keeps_the_pull_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = kabinet_store::Store::create(
            &dir.path().join("d.db"),
            &kabinet_store::StoreKey::Raw([3; 32]),
            &kabinet_store::DeviceSettings {
                cabinet: "cabinet-1".into(),
                issuer: 1,
            },
        )
        .unwrap();
        let person = kabinet_core::PersonDraft {
            given_name: "Асен".into(),
            family_name: "Асенов".into(),
            sex: Some("M".into()),
            birth_year: Some(1990),
            no_documents: true,
            ..Default::default()
        }
        .validate(
            Uuid::now_v7(),
            chrono::Utc::now().date_naive(),
            &kabinet_core::Recorded {
                by: "nurse-1".into(),
                at: chrono::Utc::now(),
            },
        )
        .unwrap()
        .value;
        store
            .write(Origin::Local, |w| w.put_person(&person))
            .unwrap();
        let batch = store.outgoing(0, PUSH_BATCH_BYTES).unwrap();
        assert_eq!(batch.docs.len(), 1);
        let from_a_newer_hub = DocChanges {
            kind: 99,
            ..DocChanges::new(Uuid::now_v7(), DocKind::Person as u8, 0, None, vec![1])
        };
        let answer = SyncResponse {
            push_acked_through: batch.through,
            pull: vec![from_a_newer_hub],
            next_cursor: 17,
            more: false,
            relay_epoch: Uuid::from_u128(1),
            rewind: None,
        };
        let e = apply_answer(&mut store, &batch, &answer).unwrap_err();
        assert!(
            matches!(e, SyncError::UnknownDocument { kind: 99, .. }),
            "{e}"
        );
        assert_eq!(cursor(&store, META_PUSH).unwrap(), batch.through);
        assert_eq!(cursor(&store, META_PULL).unwrap(), 0, "the pull is retried");
        assert!(
            store
                .outgoing(batch.through, PUSH_BATCH_BYTES)
                .unwrap()
                .docs
                .is_empty()
        );
    }
}

impl SyncError {
    /// What the user is told, in their language, with what to do. Errors nobody in the van
    /// can act on keep their technical text.
    pub fn message(&self, lang: kabinet_core::Lang) -> String {
        match self {
            SyncError::NotEnrolled => lang
                .pick(
                    "Устройството не е регистрирано в Хъб; въведете адреса и кода от оператора.",
                    "This device is not enrolled with a hub; enter the address and the operator's code.",
                )
                .into(),
            SyncError::Address(_) => lang
                .pick(
                    "Адрес на Хъба: https://адрес:порт, напр. https://hub.pernik.bg:8750 (http:// само към този компютър)",
                    "Hub address: https://host:port, e.g. https://hub.pernik.bg:8750 (http:// only to this machine)",
                )
                .into(),
            SyncError::Unreachable(_) => lang
                .pick(
                    "Хъбът не отговаря на този адрес; проверете адреса и връзката.",
                    "The hub does not answer at this address; check the address and the connection.",
                )
                .into(),
            SyncError::Refused { status: 401, .. } => lang
                .pick(
                    "Кодът не е приет (непознат, използван или изтекъл); поискайте нов код от оператора на Хъба.",
                    "The code was not accepted (unknown, used or expired); ask the hub operator for a new one.",
                )
                .into(),
            SyncError::CertificateMismatch { .. } => lang
                .pick(
                    "Сертификатът на сървъра не съвпада с отпечатъка на Хъба: това може да е чужд сървър. Не продължавайте; обадете се на оператора на Хъба.",
                    "The server's certificate does not match the hub's fingerprint: this may be someone else's server. Do not go on; call the hub operator.",
                )
                .into(),
            SyncError::UnconfirmedCertificate { presented } => lang.pick(
                format!(
                    "Сравнете отпечатъка на сертификата с този, който операторът на Хъба е отпечатал: {}. Ако съвпада, потвърдете; ако не — не продължавайте.",
                    grouped(presented)
                ),
                format!(
                    "Compare the certificate's fingerprint with the one the hub operator printed: {}. If it matches, confirm; if not, do not go on.",
                    grouped(presented)
                ),
            ),
            SyncError::BadCode => lang
                .pick(
                    "Код за регистрация: 12 цифри от оператора на Хъба (kabinet-hub enroll), с или без 16-те знака на отпечатъка след тях.",
                    "Enrollment code: 12 digits from the hub operator (kabinet-hub enroll), with or without the fingerprint's 16 characters after them.",
                )
                .into(),
            SyncError::UnknownDocument { .. } => lang
                .pick(
                    "Хъбът изпрати запис, който тази версия на приложението не познава; обновете приложението. Нищо не е загубено.",
                    "The hub sent a record this version of the app does not know; update the app. Nothing is lost.",
                )
                .into(),
            SyncError::Store(e) => e.message(lang),
            other => other.to_string(),
        }
    }
}

/// A fingerprint in groups of four, as the hub prints it.
pub fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// How many hex digits of the certificate's fingerprint an enrollment code carries: 64 bits,
/// beyond any attempt to make a certificate that matches them.
pub const CODE_FINGERPRINT_DIGITS: usize = 16;

/// An enrollment code as the operator's terminal prints it: the one-time code (12 digits) and,
/// when the hub serves HTTPS, the first 16 hex digits of its certificate's fingerprint, all in
/// groups of four (`1234-5678-9012-AB12-CD34-EF56-7890`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentCode {
    /// The one-time code, digits only: all the hub is sent.
    pub digits: String,
    /// The fingerprint's first bytes, if the code carries them.
    pub fingerprint_prefix: Option<Vec<u8>>,
}

impl EnrollmentCode {
    pub fn parse(text: &str) -> Result<EnrollmentCode, SyncError> {
        let chars: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | ':' | '·'))
            .collect();
        if chars.len() < 12 || !chars.is_char_boundary(12) {
            return Err(SyncError::BadCode);
        }
        let (digits, rest) = chars.split_at(12);
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(SyncError::BadCode);
        }
        let fingerprint_prefix = match rest.len() {
            0 => None,
            CODE_FINGERPRINT_DIGITS => Some(hex::decode(rest).map_err(|_| SyncError::BadCode)?),
            _ => return Err(SyncError::BadCode),
        };
        Ok(EnrollmentCode {
            digits: digits.to_string(),
            fingerprint_prefix,
        })
    }
}

/// How a sync went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SyncReport {
    pub exchanges: u32,
    pub docs_sent: u64,
    pub docs_received: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// What the UI and `kabinet status` show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncStatus {
    pub hub_url: Option<String>,
    pub enrolled: bool,
    /// Documents changed here that the hub does not have yet.
    pub pending_local_changes: u64,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

#[derive(Deserialize)]
struct EnrollAnswer {
    device_id: String,
    token: String,
    cabinet: String,
    issuer: u8,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
}

/// What a failed request means: a swapped certificate is not "offline".
fn send_error(client: &HubClient, e: reqwest::Error) -> SyncError {
    if client.pin_mismatch() {
        SyncError::CertificateMismatch {
            presented: client.presented().map(hex::encode).unwrap_or_default(),
        }
    } else {
        SyncError::Unreachable(e.to_string())
    }
}

/// The enrolled hub's address and a client that accepts only its pinned certificate.
fn enrolled_client(
    store: &Store,
    connect: Duration,
    total: Duration,
) -> Result<(HubAddress, HubClient), SyncError> {
    let url = store.meta(META_HUB_URL)?.ok_or(SyncError::NotEnrolled)?;
    let address = HubAddress::parse(&url)?;
    let pin = store
        .meta(META_PIN)?
        .and_then(|p| crate::transport::parse_fingerprint(&p));
    if address.https && pin.is_none() {
        return Err(SyncError::NoPin);
    }
    let client = HubClient::new(&address, pin, connect, total);
    Ok((address, client))
}

/// Whether the enrolled hub answers its health check. A certificate that is not the pinned
/// one is an error, not "unreachable".
pub fn probe(store: &Store) -> Result<bool, SyncError> {
    let (address, client) = enrolled_client(store, Duration::from_secs(3), Duration::from_secs(5))?;
    match client.http.get(format!("{}/health", address.base)).send() {
        Ok(r) => Ok(r.status().is_success()),
        Err(e) => match send_error(&client, e) {
            SyncError::Unreachable(_) => Ok(false),
            other => Err(other),
        },
    }
}

/// What enrollment found out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enrolled {
    pub cabinet: String,
    /// The hub certificate's fingerprint now pinned (hex), for the operator to compare with
    /// the one `kabinet-hub enroll` printed; `None` over loopback HTTP.
    pub fingerprint: Option<String>,
}

fn refused(response: reqwest::blocking::Response) -> SyncError {
    let status = response.status().as_u16();
    let message = response
        .json::<ErrorAnswer>()
        .map(|e| e.error)
        .unwrap_or_else(|_| "no details".into());
    SyncError::Refused { status, message }
}

/// The certificate the hub presents, looked at before the one-time code leaves the device: it
/// must be the fingerprint in the address, or start with the short form in the code; with
/// neither, the person enrolling is shown it to compare ([`SyncError::UnconfirmedCertificate`];
/// confirming is enrolling again with it after `#sha256=` in the address).
fn certificate_to_pin(address: &HubAddress, code: &EnrollmentCode) -> Result<[u8; 32], SyncError> {
    let looking = HubClient::new(
        address,
        None,
        Duration::from_secs(5),
        Duration::from_secs(10),
    );
    // Any answer will do: the handshake is what shows the certificate.
    let answer = looking
        .http
        .get(format!("{}/v1/health", address.base))
        .send();
    let Some(presented) = looking.presented() else {
        return Err(match answer {
            Err(e) => send_error(&looking, e),
            Ok(_) => SyncError::NoPin,
        });
    };
    let mismatch = || SyncError::CertificateMismatch {
        presented: hex::encode(presented),
    };
    match (address.expected_pin, &code.fingerprint_prefix) {
        (Some(pin), _) if pin != presented => Err(mismatch()),
        (None, Some(prefix)) if !presented.starts_with(prefix) => Err(mismatch()),
        (None, None) => Err(SyncError::UnconfirmedCertificate {
            presented: hex::encode(presented),
        }),
        _ => Ok(presented),
    }
}

/// Exchanges a one-time enrollment code for a device token, takes the cabinet and the
/// referral-code issuer number the hub assigns, and pins the hub's certificate: the one
/// presented now, which must be the fingerprint in the address if one is given there.
pub fn enroll(
    store: &mut Store,
    hub_url: &str,
    code: &str,
    device_name: &str,
) -> Result<Enrolled, SyncError> {
    let address = HubAddress::parse(hub_url)?;
    let code = EnrollmentCode::parse(code)?;
    let pin = if address.https {
        Some(certificate_to_pin(&address, &code)?)
    } else {
        None
    };
    let client = HubClient::new(
        &address,
        pin,
        Duration::from_secs(5),
        Duration::from_secs(30),
    );
    let url = format!("{}/v1/enroll", address.base);
    let response = client
        .http
        .post(&url)
        .json(&serde_json::json!({"code": code.digits, "device_name": device_name}))
        .send()
        .map_err(|e| send_error(&client, e))?;
    if !response.status().is_success() {
        return Err(refused(response));
    }
    let answer: EnrollAnswer = response
        .json()
        .map_err(|e| SyncError::Unreachable(e.to_string()))?;
    let fingerprint = address
        .https
        .then(|| client.presented().map(hex::encode))
        .flatten();
    if address.https && fingerprint.is_none() {
        return Err(SyncError::NoPin);
    }
    store.write(Origin::Local, |w| {
        w.set_meta(META_HUB_URL, &address.base)?;
        w.set_meta(META_PIN, fingerprint.as_deref().unwrap_or(""))?;
        w.set_meta(META_TOKEN, &answer.token)?;
        w.set_meta(META_DEVICE, &answer.device_id)?;
        w.set_meta(kabinet_store::meta::CABINET, &answer.cabinet)?;
        w.set_meta(kabinet_store::meta::ISSUER, &answer.issuer.to_string())
    })?;
    Ok(Enrolled {
        cabinet: answer.cabinet,
        fingerprint,
    })
}

fn cursor(store: &Store, key: &str) -> Result<u64, SyncError> {
    Ok(store.meta(key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// How much one exchange carries, about. Tests shrink them to drive many exchanges with
/// little data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLimits {
    pub push_batch_bytes: usize,
    pub pull_batch_bytes: u32,
}

/// The page cache a connection has at least while it syncs (16 MB pulled a fresh device as
/// fast as 32 MB; 4 MB did not).
const SYNC_CACHE_KIB: u32 = 16 * 1024;

/// The size of a sync's first batches (see `sync_documents`).
const FIRST_BATCH_BYTES: usize = 512 * 1024;

impl SyncLimits {
    fn first(self) -> SyncLimits {
        SyncLimits {
            push_batch_bytes: self.push_batch_bytes.min(FIRST_BATCH_BYTES),
            pull_batch_bytes: self.pull_batch_bytes.min(FIRST_BATCH_BYTES as u32),
        }
    }

    fn doubled(self, limits: SyncLimits) -> SyncLimits {
        SyncLimits {
            push_batch_bytes: (self.push_batch_bytes * 2).min(limits.push_batch_bytes),
            pull_batch_bytes: self
                .pull_batch_bytes
                .saturating_mul(2)
                .min(limits.pull_batch_bytes),
        }
    }
}

impl Default for SyncLimits {
    fn default() -> SyncLimits {
        SyncLimits {
            push_batch_bytes: PUSH_BATCH_BYTES,
            pull_batch_bytes: PULL_BATCH_BYTES,
        }
    }
}

/// Syncs until nothing is left to send or receive. `progress` is called after every
/// exchange with the running totals.
pub fn sync(store: &mut Store, progress: impl FnMut(&SyncReport)) -> Result<SyncReport, SyncError> {
    sync_with(store, SyncLimits::default(), progress)
}

/// [`sync`] with other batch sizes.
pub fn sync_with(
    store: &mut Store,
    limits: SyncLimits,
    mut progress: impl FnMut(&SyncReport),
) -> Result<SyncReport, SyncError> {
    // A sync writes documents and index rows all over the B-trees: with the 4 MB cache the
    // app's agent keeps between syncs, a fresh device's first pull took 25–50 % longer
    // (`kabinet-bench-phases --cache-kib`). The cache grows for the sync and shrinks after.
    let cache = store.cache_kib()?;
    // One WAL checkpoint at the end instead of one after every exchange's commit: a big pull
    // is several exchanges, each of which would copy the pages it wrote (and those written
    // before it) into the database file again.
    store.set_autocheckpoint(0)?;
    if cache < SYNC_CACHE_KIB {
        store.set_cache_kib(SYNC_CACHE_KIB)?;
    }
    let result = sync_inner(store, limits, &mut progress);
    let now = Utc::now();
    // The status is advisory: written without waiting for the disk. A sync that moved
    // nothing writes it only if the stored one is stale: even a write without fsync waits for
    // the disk when it is the first since a checkpoint (SQLite syncs a restarted WAL's header),
    // and the app's agent polls an unchanged hub every minute.
    let moved = |r: &SyncReport| r.docs_sent + r.docs_received > 0;
    if result.as_ref().map_or(true, moved) || status_is_stale(store, now) {
        let now = now.to_rfc3339();
        let _ = store.write_without_fsync(Origin::Local, |w| match &result {
            Ok(_) => {
                w.set_meta(META_LAST_SUCCESS, &now)?;
                w.set_meta(META_LAST_ERROR, "")
            }
            Err(e) => w.set_meta(META_LAST_ERROR, &format!("{now} {e}")),
        });
    }
    // Best effort: a checkpoint that cannot run now loses nothing (the WAL is the database
    // too) and the next commit past the threshold runs it.
    let _ = store.set_autocheckpoint(kabinet_store::DEFAULT_AUTOCHECKPOINT);
    // A sync that moved nothing has nothing to copy (and no fsync to wait for).
    if !result
        .as_ref()
        .is_ok_and(|r| r.docs_sent + r.docs_received == 0)
    {
        let _ = store.checkpoint();
    }
    let _ = store.set_cache_kib(cache);
    result
}

/// How old the stored last success may get while syncs move nothing (see [`sync_with`]).
/// The running agent shows the exact time of its last sync; `kabinet status` may show one up
/// to this much older.
pub const LAST_SUCCESS_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// Whether the stored status needs writing after a successful sync that moved nothing: an
/// error to clear, no success yet, or one older than [`LAST_SUCCESS_EVERY`].
fn status_is_stale(store: &Store, now: DateTime<Utc>) -> bool {
    let error = store.meta(META_LAST_ERROR).ok().flatten();
    let last = store
        .meta(META_LAST_SUCCESS)
        .ok()
        .flatten()
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok());
    error.is_some_and(|e| !e.is_empty())
        || last.is_none_or(|t| {
            let age = now - t.with_timezone(&Utc);
            age >= LAST_SUCCESS_EVERY || age < chrono::TimeDelta::zero()
        })
}

/// How many times one sync starts over for a hub restored from a backup: once is enough (the
/// device then counts in the hub's new epoch); more means the hub keeps answering so.
const MAX_REWINDS: u32 = 3;

fn sync_inner(
    store: &mut Store,
    limits: SyncLimits,
    progress: &mut impl FnMut(&SyncReport),
) -> Result<SyncReport, SyncError> {
    let mut rewinds = 0;
    let report = loop {
        match sync_documents(store, limits, progress)? {
            Exchanged::Done(report) => break report,
            Exchanged::Rewound(_) if rewinds >= MAX_REWINDS => {
                return Err(SyncError::Refused {
                    status: 409,
                    message: "the hub asks again and again to start over".into(),
                });
            }
            Exchanged::Rewound(report) => {
                tracing::warn!(
                    after_exchanges = report.exchanges,
                    "the hub was restored from a backup: sending it everything this device holds"
                );
                rewinds += 1;
            }
        }
    };
    push_audit(store)?;
    Ok(report)
}

/// How a run of exchanges ended.
enum Exchanged {
    /// Nothing is left to send or receive.
    Done(SyncReport),
    /// The hub was restored from a backup; this device starts over (see [`rewind`]).
    Rewound(SyncReport),
}

/// The device's epoch as the hub last answered it.
fn stored_epoch(store: &Store) -> Result<Option<Uuid>, SyncError> {
    Ok(store
        .meta(META_EPOCH)?
        .and_then(|s| Uuid::parse_str(&s).ok()))
}

/// Starts over with a hub restored from a backup, in one transaction: the hub may lack
/// anything this device pushed or it pulled after the backup, so every document is sent whole
/// again (the hub merges what it has, and relays what it lacked), every audit entry too (the
/// hub takes again the ones it holds), and the pull goes on from where the hub's records are
/// still the ones this device pulled.
fn rewind(store: &mut Store, epoch: Uuid, pull_from: u64) -> Result<(), SyncError> {
    let pull_from = pull_from.min(cursor(store, META_PULL)?);
    store.write(Origin::Sync, |w| {
        w.forget_hub_state()?;
        w.set_meta(META_PUSH, "0")?;
        w.set_meta(META_AUDIT, "0")?;
        w.set_meta(META_PULL, &pull_from.to_string())?;
        w.set_meta(META_EPOCH, &epoch.to_string())
    })?;
    Ok(())
}

#[derive(Deserialize)]
struct AuditAnswer {
    acked_through: u64,
}

/// Sends the audit entries the hub does not have yet. The hub checks that they continue the
/// chain it holds for this device, so an entry changed here after the fact is refused there.
fn push_audit(store: &mut Store) -> Result<(), SyncError> {
    let (address, client) =
        enrolled_client(store, Duration::from_secs(5), Duration::from_secs(60))?;
    let token = store.meta(META_TOKEN)?.ok_or(SyncError::NotEnrolled)?;
    loop {
        let after = cursor(store, META_AUDIT)?;
        let entries = store.audit_entries(after, AUDIT_BATCH)?;
        if entries.is_empty() {
            return Ok(());
        }
        let response = client
            .http
            .post(format!("{}/v1/audit", address.base))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "entries": entries }))
            .send()
            .map_err(|e| send_error(&client, e))?;
        if !response.status().is_success() {
            return Err(refused(response));
        }
        let answer: AuditAnswer = response
            .json()
            .map_err(|e| SyncError::Unreachable(e.to_string()))?;
        if answer.acked_through <= after {
            return Ok(()); // nothing taken: do not spin
        }
        store.write(Origin::Sync, |w| {
            w.set_meta(META_AUDIT, &answer.acked_through.to_string())
        })?;
    }
}

/// The next request of a sync: the batch of local changes the hub lacks (up to
/// [`PUSH_BATCH_BYTES`]) and where this device's pull stands. Public so that benchmarks can
/// drive the exact exchange without HTTP.
pub fn next_exchange(store: &Store) -> Result<(OutgoingBatch, SyncRequest), SyncError> {
    push_exchange(
        store,
        cursor(store, META_PUSH)?,
        cursor(store, META_PULL)?,
        SyncLimits::default(),
    )
}

/// The local changes after `after`, with a pull from `pull_cursor`.
fn push_exchange(
    store: &Store,
    after: u64,
    pull_cursor: u64,
    limits: SyncLimits,
) -> Result<(OutgoingBatch, SyncRequest), SyncError> {
    let batch = store.outgoing(after, limits.push_batch_bytes)?;
    let relay_epoch = stored_epoch(store)?;
    let request = SyncRequest {
        push: batch
            .docs
            .iter()
            .map(|d| {
                DocChanges::new(
                    d.doc_id,
                    d.kind as u8,
                    d.class.code(),
                    d.parent,
                    d.changes.clone(),
                )
            })
            .collect(),
        push_through: batch.through,
        pull_cursor,
        max_pull_bytes: limits.pull_batch_bytes,
        relay_epoch,
    };
    Ok((batch, request))
}

/// Commits the hub's answer to `batch` in one transaction: the push acknowledged, the pulled
/// changes merged, both cursors moved. An answer that says the hub was restored from a backup
/// starts this device over instead ([`rewind`]): nothing of `batch` was taken.
pub fn apply_answer(
    store: &mut Store,
    batch: &OutgoingBatch,
    answer: &SyncResponse,
) -> Result<(), SyncError> {
    if let Some(pull_from) = answer.rewind {
        return rewind(store, answer.relay_epoch, pull_from);
    }
    // Never backwards: an exchange that pulled nothing (a push sent ahead, see
    // `sync_documents`) answers with the cursor it was sent.
    let pulled_before = cursor(store, META_PULL)?;
    let pulled_through = pulled_before.max(answer.next_cursor);
    let pushed_through = answer.push_acked_through.max(batch.through);
    // The first answer (or the first since an update) names the hub's epoch: kept.
    let new_epoch = (!answer.relay_epoch.is_nil()
        && stored_epoch(store)? != Some(answer.relay_epoch))
    .then_some(answer.relay_epoch);
    if batch.docs.is_empty()
        && answer.pull.is_empty()
        && pulled_through == pulled_before
        && pushed_through == cursor(store, META_PUSH)?
        && new_epoch.is_none()
    {
        // Nothing to record (a no-op sync): no transaction, so no fsync to wait for.
        return Ok(());
    }
    let pulled = placed(&answer.pull);
    store.write(Origin::Sync, |w| {
        for d in &batch.docs {
            w.mark_pushed(d.doc_id, &d.heads, d.change_seq)?;
        }
        let Ok(received) = &pulled else {
            // The hub holds what was pushed: that is recorded, so uploads go on; the pull
            // cursor stays where it was, so the pull is retried once the app is updated.
            return w.set_meta(META_PUSH, &pushed_through.to_string());
        };
        let local_before = w.last_change_seq()?;
        w.apply_incoming_batch(received)?;
        // What was pulled is in sync as it lands. If nothing local waited before it, the push
        // cursor passes it too: otherwise the next sync, with nothing to do, would write (and
        // wait for the disk) only to move the cursor.
        let pushed_through = match pushed_through >= local_before && !received.is_empty() {
            true => w.in_sync_through(local_before)?.unwrap_or(pushed_through),
            false => pushed_through,
        };
        if let Some(epoch) = new_epoch {
            w.set_meta(META_EPOCH, &epoch.to_string())?;
        }
        w.set_meta(META_PUSH, &pushed_through.to_string())?;
        w.set_meta(META_PULL, &pulled_through.to_string())
    })?;
    pulled.map(|_| ())
}

fn sync_documents(
    store: &mut Store,
    limits: SyncLimits,
    progress: &mut impl FnMut(&SyncReport),
) -> Result<Exchanged, SyncError> {
    let (address, client) =
        enrolled_client(store, Duration::from_secs(5), Duration::from_secs(120))?;
    let token = store.meta(META_TOKEN)?.ok_or(SyncError::NotEnrolled)?;
    let url = format!("{}/v1/sync", address.base);
    let post = |body: Vec<u8>| -> Result<Vec<u8>, SyncError> {
        let response = client
            .http
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .map_err(|e| send_error(&client, e))?;
        if !response.status().is_success() {
            return Err(refused(response));
        }
        response
            .bytes()
            .map(|b| b.to_vec())
            .map_err(|e| SyncError::Unreachable(e.to_string()))
    };
    // Exchanges overlap: while the hub works on one, this side reads and compresses the next
    // push batch, and the next request goes out before the answer is written here (the hub
    // prepares the next pull batch while this side applies the last). Nothing is marked
    // done before its own answer is applied, so a cut anywhere resumes as before.
    std::thread::scope(|scope| {
        let send = |body: Vec<u8>| {
            scope.spawn(move || {
                let sent = body.len();
                post(body).map(|answer| (sent, answer))
            })
        };
        let mut report = SyncReport::default();
        let mut pulled_through = cursor(store, META_PULL)?;
        // Batches start small and double up to the limits: nothing overlaps the first
        // exchange, so it is kept short, and each next batch is prepared (by the hub, or by
        // this side) in the time the last one takes to write.
        let mut ramp = limits.first();
        let (mut batch, request) =
            push_exchange(store, cursor(store, META_PUSH)?, pulled_through, ramp)?;
        let mut in_flight = send(request.encode());
        loop {
            // The next push batch, sent without a pull (the pull cursor moves only when this
            // exchange's answer is applied).
            ramp = ramp.doubled(limits);
            let next_push = if batch.more {
                let push_only = SyncLimits {
                    pull_batch_bytes: 0,
                    ..ramp
                };
                Some(push_exchange(
                    store,
                    batch.through,
                    pulled_through,
                    push_only,
                )?)
            } else {
                None
            };
            let (sent, bytes) = in_flight.join().unwrap_or_else(|_| {
                Err(SyncError::Unreachable("the sending thread failed".into()))
            })?;
            let answer = SyncResponse::decode(&bytes)?;
            if answer.rewind.is_some() {
                // Nothing more goes out on the old cursors: the device starts over.
                apply_answer(store, &batch, &answer)?;
                report.exchanges += 1;
                return Ok(Exchanged::Rewound(report));
            }
            pulled_through = pulled_through.max(answer.next_cursor);
            let next = match next_push {
                Some(next) => Some(next),
                None if answer.more => {
                    let pushed_through = answer.push_acked_through.max(batch.through);
                    let request = SyncRequest {
                        push: Vec::new(),
                        push_through: pushed_through,
                        pull_cursor: pulled_through,
                        max_pull_bytes: ramp.pull_batch_bytes,
                        relay_epoch: Some(answer.relay_epoch).filter(|e| !e.is_nil()),
                    };
                    let empty = OutgoingBatch {
                        docs: Vec::new(),
                        through: pushed_through,
                        more: false,
                    };
                    Some((empty, request))
                }
                None => None,
            };
            let next = next.map(|(b, request)| (b, send(request.encode())));
            apply_answer(store, &batch, &answer)?;
            report.exchanges += 1;
            report.docs_sent += batch.docs.len() as u64;
            report.docs_received += answer.pull.len() as u64;
            report.bytes_sent += sent as u64;
            report.bytes_received += bytes.len() as u64;
            progress(&report);
            match next {
                Some((b, h)) => {
                    batch = b;
                    in_flight = h;
                }
                None => return Ok(Exchanged::Done(report)),
            }
        }
    })
}

#[derive(Deserialize)]
struct RosterAnswer {
    users: Vec<kabinet_keys::DeviceUser>,
}

/// The users the hub sends this device: every user of its roles, disabled ones included.
pub fn fetch_roster(store: &Store) -> Result<Vec<kabinet_keys::DeviceUser>, SyncError> {
    let (address, client) =
        enrolled_client(store, Duration::from_secs(5), Duration::from_secs(30))?;
    let token = store.meta(META_TOKEN)?.ok_or(SyncError::NotEnrolled)?;
    let response = client
        .http
        .get(format!("{}/v1/users", address.base))
        .bearer_auth(&token)
        .send()
        .map_err(|e| send_error(&client, e))?;
    if !response.status().is_success() {
        return Err(refused(response));
    }
    let answer: RosterAnswer = response
        .json()
        .map_err(|e| SyncError::Unreachable(e.to_string()))?;
    Ok(answer.users)
}

/// Brings the keyring beside the store up to the hub's roster: new users can log in here
/// (offline from now on), disabled ones no longer can, resets clear wrong tries.
pub fn sync_users(
    store: &Store,
    keyring: &std::path::Path,
    store_key: &kabinet_store::StoreKey,
) -> Result<kabinet_keys::RosterOutcome, SyncError> {
    let roster = fetch_roster(store)?;
    let mut ring = kabinet_keys::Keyring::load(keyring)?;
    Ok(ring.apply_roster(&roster, store_key.to_text().as_bytes())?)
}

/// The sync status of this device, from the store alone (works offline).
pub fn status(store: &Store) -> Result<SyncStatus, SyncError> {
    let pending = store.pending_count(cursor(store, META_PUSH)?)?;
    Ok(SyncStatus {
        hub_url: store.meta(META_HUB_URL)?,
        enrolled: store.meta(META_TOKEN)?.is_some(),
        pending_local_changes: pending,
        last_success: store
            .meta(META_LAST_SUCCESS)?
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
            .map(|t| t.with_timezone(&Utc)),
        last_error: store.meta(META_LAST_ERROR)?.filter(|s| !s.is_empty()),
    })
}
