//! What operators watch, in Prometheus' text format (`prometheus-client`): syncs by outcome,
//! documents and bytes in and out, refused requests by status, the sync duration histogram,
//! and when each device last synced. Served on a listener of its own that only binds a
//! loopback address (`serve --metrics-listen 127.0.0.1:9750`), for a Prometheus on the same
//! machine: the device names and cabinets it carries are not for the network.

use crate::storage::HubStorage;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Direction {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Status {
    status: u16,
}

/// The process's counters (one hub process: one set; a scrape reads them all).
struct Metrics {
    syncs: Family<Outcome, Counter>,
    documents: Family<Direction, Counter>,
    bytes: Family<Direction, Counter>,
    errors: Family<Status, Counter>,
    sync_seconds: Histogram,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    syncs: Family::default(),
    documents: Family::default(),
    bytes: Family::default(),
    errors: Family::default(),
    // 5 ms to about 40 s: a no-op poll up to a first sync of a large store.
    sync_seconds: Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.005, 2.0, 14,
    )),
});

/// A sync answered: its documents and bytes each way, and how long it took.
pub fn sync_done(pushed: usize, pulled: usize, bytes_in: usize, bytes_out: usize, took: Duration) {
    let m = &*METRICS;
    m.syncs.get_or_create(&Outcome { outcome: "ok" }).inc();
    for (direction, docs, bytes) in [("in", pushed, bytes_in), ("out", pulled, bytes_out)] {
        let d = Direction { direction };
        m.documents.get_or_create(&d).inc_by(docs as u64);
        m.bytes.get_or_create(&d).inc_by(bytes as u64);
    }
    m.sync_seconds.observe(took.as_secs_f64());
}

/// A sync refused or failed, with the HTTP status it was answered with.
pub fn sync_failed(status: u16) {
    let m = &*METRICS;
    m.syncs.get_or_create(&Outcome { outcome: "error" }).inc();
    m.errors.get_or_create(&Status { status }).inc();
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    device: String,
    cabinet: String,
}

/// The text a scrape reads: the counters, and each enrolled device's last sync (read from the
/// hub's storage now, so every hub process on one database tells the same).
pub fn render(storage: &dyn HubStorage) -> Result<String, crate::HubError> {
    let m = &*METRICS;
    let mut registry = Registry::with_prefix("kabinet_hub");
    registry.register(
        "syncs",
        "Device syncs answered, by outcome",
        m.syncs.clone(),
    );
    registry.register(
        "sync_documents",
        "Documents received from devices (in) and sent to them (out)",
        m.documents.clone(),
    );
    registry.register(
        "sync_bytes",
        "Sync message bytes received (in) and sent (out)",
        m.bytes.clone(),
    );
    registry.register(
        "sync_errors",
        "Syncs refused or failed, by HTTP status",
        m.errors.clone(),
    );
    registry.register(
        "sync_duration_seconds",
        "Time to answer a sync",
        m.sync_seconds.clone(),
    );
    let last_sync = Family::<DeviceLabels, Gauge>::default();
    let mut enrolled = 0;
    for d in storage.devices()?.iter().filter(|d| d.revoked_at.is_none()) {
        enrolled += 1;
        if let Some(at) = d.last_sync_at {
            last_sync
                .get_or_create(&DeviceLabels {
                    device: d.id.clone(),
                    cabinet: d.cabinet.clone(),
                })
                .set(at.timestamp());
        }
    }
    registry.register(
        "device_last_sync_timestamp_seconds",
        "When each enrolled device last synced (Unix time)",
        last_sync,
    );
    let devices_gauge = Gauge::<i64>::default();
    devices_gauge.set(enrolled as i64);
    registry.register("devices", "Enrolled devices (not revoked)", devices_gauge);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .expect("writing into a String cannot fail");
    Ok(text)
}

async fn scrape(
    axum::extract::State(storage): axum::extract::State<crate::http::SharedStorage>,
) -> Result<axum::response::Response, crate::http::ApiError> {
    use axum::response::IntoResponse;
    let text = crate::http::blocking(move || render(storage.as_ref())).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// The metrics listener's router: `/metrics` only.
pub fn router(storage: crate::http::SharedStorage) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(storage)
}
