//! The staff desk, written once above [`HubStorage`]: the web UI's screen operations and
//! slips on the hub's documents (kabinet-service's, as on a device), with refusals put on the
//! record. Edits reach devices through the relay log like any other change.

use crate::storage::{HubError, HubStorage, Refusal};
use chrono::Utc;
use kabinet_service::report::{HubCounts, ReportView};
use kabinet_service::{Context, Request, ServiceError};
use kabinet_store::{Origin, Store, Writer};
use uuid::Uuid;

/// Runs `f` on the hub's store on behalf of hub staff; every document it changed is relayed.
/// `f`'s own result (which may be an error of its own) is returned as is.
pub fn staff_call<S: HubStorage + ?Sized, T>(
    hub: &S,
    f: impl FnOnce(&mut Store) -> T,
) -> Result<T, HubError> {
    let mut f = Some(f);
    let mut out = None;
    hub.with_documents(&mut |store| out = f.take().map(|f| f(store)))?;
    Ok(out.expect("a backend runs the closure it is given"))
}

/// Runs a write of hub staff (a hub-side edit) in one transaction; it is relayed.
pub fn write_local<S: HubStorage + ?Sized, T>(
    hub: &S,
    f: impl FnOnce(&mut Writer<'_>) -> kabinet_store::Result<T>,
) -> Result<T, HubError> {
    staff_call(hub, |store| store.write(Origin::Local, f))?.map_err(HubError::from)
}

/// Reads through the hub's store (search, records).
pub fn read<S: HubStorage + ?Sized, T>(
    hub: &S,
    f: impl FnOnce(&Store) -> kabinet_store::Result<T>,
) -> Result<T, HubError> {
    Ok(staff_call(hub, |store| f(store))??)
}

/// One request of the web UI's screens on behalf of staff. Requests the access matrix
/// refused are on the record, as devices' are.
pub fn call<S: HubStorage + ?Sized>(
    hub: &S,
    ctx: &Context,
    request: Request,
) -> Result<Result<kabinet_service::Response, ServiceError>, HubError> {
    if let Request::Report { from, to, cabinet } = &request {
        let answer = report(hub, ctx, from, to, cabinet.as_deref(), "json")?;
        return Ok(answer.map(kabinet_service::Response::Report));
    }
    let op = request.name();
    let answer = staff_call(hub, |store| kabinet_service::handle(store, ctx, request))?;
    record_if_refused(hub, ctx, op, &answer)?;
    Ok(answer)
}

/// Slips of referrals as one PDF (paper A5 or A6). A slip carries a name and a reason: a
/// refused one is on the record like any refused screen operation.
pub fn slips<S: HubStorage + ?Sized>(
    hub: &S,
    ctx: &Context,
    ids: &[Uuid],
    paper: &str,
    anonymous: Option<bool>,
) -> Result<Result<Vec<u8>, ServiceError>, HubError> {
    let answer = staff_call(hub, |store| {
        kabinet_service::referrals::slips_pdf(store, ctx, ids, paper, anonymous)
    })?;
    record_if_refused(hub, ctx, "slips", &answer)?;
    Ok(answer)
}

/// Puts an answer the access matrix refused on the audit log: who, which record and class,
/// which operation.
fn record_if_refused<S: HubStorage + ?Sized, T>(
    hub: &S,
    ctx: &Context,
    op: &str,
    answer: &Result<T, ServiceError>,
) -> Result<(), HubError> {
    let (doc_id, class) = match answer {
        Err(ServiceError::Hidden { id, class, .. }) => (Uuid::parse_str(id).ok(), class.as_str()),
        Err(ServiceError::Forbidden) => (None, ""),
        _ => return Ok(()),
    };
    hub.record_refusal(&Refusal {
        at: Utc::now(),
        by: format!("hub:{}", ctx.user),
        doc_id,
        class: class.into(),
        action: op.into(),
    })
}

/// The programme report at the hub: every cabinet a device was ever enrolled for may be
/// asked for, and the data-quality counts only the hub has are in it. `format` is what the
/// audit log says was made (json, csv, pdf).
pub fn report<S: HubStorage + ?Sized>(
    hub: &S,
    ctx: &Context,
    from: &str,
    to: &str,
    cabinet: Option<&str>,
    format: &str,
) -> Result<Result<ReportView, ServiceError>, HubError> {
    let devices = hub.devices()?;
    let mut cabinets: Vec<String> = devices.iter().map(|d| d.cabinet.clone()).collect();
    cabinets.sort();
    cabinets.dedup();
    let week_ago = ctx.now - chrono::Duration::days(7);
    let devices_not_synced = devices
        .iter()
        .filter(|d| d.revoked_at.is_none() && d.last_sync_at.is_none_or(|t| t < week_ago))
        .count() as u64;
    let open_duplicates = hub.open_duplicates(false)?;
    let answer = staff_call(hub, |store| {
        let counts = HubCounts {
            devices_not_synced: Some(devices_not_synced),
            open_duplicates: Some(open_duplicates),
            at_hub: true,
        };
        kabinet_service::report::report(store, ctx, from, to, cabinet, &cabinets, counts, format)
    })?;
    record_if_refused(hub, ctx, "report", &answer)?;
    Ok(answer)
}
