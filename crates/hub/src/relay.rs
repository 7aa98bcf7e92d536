//! One sync exchange, written once above [`HubStorage`]: check a device's push against the
//! access matrix and against what each document is ([`kabinet_store::fit`]), commit it, and
//! answer with its next pull. Each backend only stores; the protocol's rules (see
//! docs/sync.md) are here.

use crate::storage::{Device, HubError, HubStorage, Refusal};
use chrono::Utc;
use kabinet_core::AccessClass;
use kabinet_store::fit::{self, Misfit};
use kabinet_store::{DocKind, Received, StoreError};
use kabinet_sync::{SyncRequest, SyncResponse};
use uuid::Uuid;

/// How stale a device's "last sync" may get while it only polls (pushes nothing): well above
/// the app's agent interval (a minute), so that polling an unchanged hub writes nothing.
pub const LAST_SEEN_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// The most changes one pull answer gathers, whatever the device asks for: the page is built
/// in the hub's memory and encoded whole, and the device must decode it within its message
/// limit (a page passes its limit by at most one document). Twice what the app asks for.
pub const MAX_PULL_BYTES: usize = 8 * 1024 * 1024;

/// One sync exchange: commit the pushed changes (relaying what is new), then answer with the
/// device's next pull batch.
pub fn sync<S: HubStorage + ?Sized>(
    hub: &S,
    device: &Device,
    request: &SyncRequest,
) -> Result<SyncResponse, HubError> {
    // A device whose cursors count in an epoch before a restore: nothing of its request is
    // taken (its push may build on changes the restored hub lost); it starts over.
    let epochs = hub.relay_epochs()?;
    if let Some(pull_from) = epochs.rewind_for(request.relay_epoch, request.pull_cursor) {
        tracing::warn!(
            device = %device.id,
            pull_cursor = request.pull_cursor,
            pull_from,
            "the device synced with this hub before its restore: it starts over"
        );
        return Ok(SyncResponse {
            push_acked_through: 0,
            pull: Vec::new(),
            next_cursor: pull_from,
            more: true,
            relay_epoch: epochs.current().id,
            rewind: Some(pull_from),
        });
    }
    // Every document is checked before any is merged: a refused push writes nothing but the
    // record of its refusal.
    let mut received = Vec::with_capacity(request.push.len());
    for doc in &request.push {
        let (Some(kind), Some(class)) = (
            DocKind::from_code(i64::from(doc.kind)),
            AccessClass::from_code(doc.class),
        ) else {
            return Err(HubError::BadDocument {
                doc_id: doc.doc_id.unwrap_or_default(),
                reason: format!("unknown kind {} or class {}", doc.kind, doc.class),
            });
        };
        // A results document's id is the hub's to derive (from its visit and class).
        let Some(doc_id) = doc.resolve_id() else {
            if let (DocKind::Results, Some(sent)) = (kind, doc.doc_id) {
                return Err(refuse_misfit(hub, device, sent, class, Misfit::ResultsId)?);
            }
            return Err(HubError::BadDocument {
                doc_id: doc.doc_id.unwrap_or_default(),
                reason: "no document id, or a results document without its visit".into(),
            });
        };
        // The access matrix: a device sends only classes its users may write.
        if !kabinet_core::may_write(&device.roles, class) {
            record_push_refusal(hub, device, doc_id, class)?;
            return Err(HubError::Forbidden {
                doc_id,
                class: class.as_str(),
            });
        }
        // A class is only claimed: what the claim alone shows to be false is refused here;
        // whether it is the document held, and fits its class, when it is merged.
        if let Err(misfit) = fit::check_claim(doc_id, kind, class) {
            return Err(refuse_misfit(hub, device, doc_id, class, misfit)?);
        }
        received.push(Received {
            doc_id,
            kind,
            class,
            parent: doc.parent,
            changes: &doc.changes,
        });
    }
    // Without a push, at most every LAST_SEEN_EVERY: the app's agent polls an unchanged hub
    // every minute, and each poll would otherwise be an fsync here.
    let now = Utc::now();
    let seen = !request.push.is_empty()
        || device
            .last_sync_at
            .is_none_or(|at| now - at >= LAST_SEEN_EVERY);
    if seen {
        match hub.commit_push(&device.id, &received, Some(now)) {
            Err(HubError::Store(StoreError::Misfit { doc_id, misfit })) => {
                let claimed = received
                    .iter()
                    .find(|d| d.doc_id == doc_id)
                    .map_or(AccessClass::General, |d| d.class);
                return Err(refuse_misfit(hub, device, doc_id, claimed, misfit)?);
            }
            other => other.map_err(device_fault)?,
        }
    }

    // The pull: only what the device's users may read leaves the hub, not even encrypted.
    let page = hub.relay_page(
        request.pull_cursor,
        &device.id,
        (request.max_pull_bytes as usize).min(MAX_PULL_BYTES),
        &|class| kabinet_core::may_read(&device.roles, class),
    )?;
    Ok(SyncResponse {
        push_acked_through: request.push_through,
        pull: page.docs,
        next_cursor: page.next_cursor.max(request.pull_cursor),
        more: page.more,
        relay_epoch: epochs.current().id,
        rewind: None,
    })
}

/// Records a refused push where the admin looks (the audit view lists refusals).
fn record_push_refusal<S: HubStorage + ?Sized>(
    hub: &S,
    device: &Device,
    doc_id: Uuid,
    class: AccessClass,
) -> Result<(), HubError> {
    hub.record_refusal(&Refusal {
        at: Utc::now(),
        by: device.id.clone(),
        doc_id: Some(doc_id),
        class: class.as_str().into(),
        action: "push".into(),
    })
}

/// A pushed document that is not what it claims: on the record under the class it reached
/// for (a push into an HIV referral claiming `general` is an attempt on HIV data), and the
/// error that answers the device (403; nothing of the push was kept).
fn refuse_misfit<S: HubStorage + ?Sized>(
    hub: &S,
    device: &Device,
    doc_id: Uuid,
    claimed: AccessClass,
    misfit: Misfit,
) -> Result<HubError, HubError> {
    tracing::warn!(device = %device.id, %doc_id, %misfit, "push refused");
    record_push_refusal(hub, device, doc_id, misfit.reached().unwrap_or(claimed))?;
    Ok(HubError::Misfit { doc_id, misfit })
}

/// A document that does not load or does not fit its kind is the device's error, not the
/// hub's: nothing of the push was kept.
fn device_fault(e: HubError) -> HubError {
    match e {
        HubError::Store(
            e @ (StoreError::Document { doc_id, .. }
            | StoreError::Shape { doc_id, .. }
            | StoreError::KindMismatch { doc_id, .. }),
        ) => HubError::BadDocument {
            doc_id,
            reason: e.to_string(),
        },
        other => other,
    }
}
