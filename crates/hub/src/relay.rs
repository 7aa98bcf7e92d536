//! One sync exchange, written once above [`HubStorage`]: check a device's push against the
//! access matrix, commit it, and answer with its next pull. Each backend only stores; the
//! protocol's rules (see docs/sync.md) are here.

use crate::storage::{Device, HubError, HubStorage, Refusal};
use chrono::Utc;
use kabinet_core::AccessClass;
use kabinet_store::{DocKind, Received, StoreError};
use kabinet_sync::{SyncRequest, SyncResponse};

/// How stale a device's "last sync" may get while it only polls (pushes nothing): well above
/// the app's agent interval (a minute), so that polling an unchanged hub writes nothing.
pub const LAST_SEEN_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// One sync exchange: commit the pushed changes (relaying what is new), then answer with the
/// device's next pull batch.
pub fn sync<S: HubStorage + ?Sized>(
    hub: &S,
    device: &Device,
    request: &SyncRequest,
) -> Result<SyncResponse, HubError> {
    // Every document is checked before any is merged: a refused push writes nothing but the
    // record of its refusal.
    let mut received = Vec::with_capacity(request.push.len());
    for doc in &request.push {
        let Some(doc_id) = doc.resolve_id() else {
            return Err(HubError::BadDocument {
                doc_id: doc.doc_id.unwrap_or_default(),
                reason: "no document id, or a results document id that does not match its visit and class".into(),
            });
        };
        let (Some(kind), Some(class)) = (
            DocKind::from_code(i64::from(doc.kind)),
            AccessClass::from_code(doc.class),
        ) else {
            return Err(HubError::BadDocument {
                doc_id,
                reason: format!("unknown kind {} or class {}", doc.kind, doc.class),
            });
        };
        // The access matrix: a device sends only classes its users may write.
        if !kabinet_core::may_write(&device.roles, class) {
            hub.record_refusal(&Refusal {
                at: Utc::now(),
                by: device.id.clone(),
                doc_id: Some(doc_id),
                class: class.as_str().into(),
                action: "push".into(),
            })?;
            return Err(HubError::Forbidden {
                doc_id,
                class: class.as_str(),
            });
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
        hub.commit_push(&device.id, &received, Some(now))
            .map_err(device_fault)?;
    }

    // The pull: only what the device's users may read leaves the hub, not even encrypted.
    let page = hub.relay_page(
        request.pull_cursor,
        &device.id,
        request.max_pull_bytes as usize,
        &|class| kabinet_core::may_read(&device.roles, class),
    )?;
    Ok(SyncResponse {
        push_acked_through: request.push_through,
        pull: page.docs,
        next_cursor: page.next_cursor.max(request.pull_cursor),
        more: page.more,
    })
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
