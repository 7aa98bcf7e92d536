//! The hub side of the shared sync benchmark (../shared/bench/anchors, "Adding a system"):
//! `kabinet-bench-hub --dir DIR` serves the real hub router on a loopback port and a side
//! channel with `GET /digest` and `GET /enroll-code`, prints `READY {...}`, stops on SIGTERM.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kabinet_bench::{BENCH_KEY, arg, visit_digest};
use kabinet_hub::server::{SharedStorage, normalise_code, sha256};
use kabinet_hub::{HubStorage, StoreHub};
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    // As the real hub does, before any thread exists.
    kabinet_hub::bound_memory_arenas();
    tokio::runtime::Runtime::new()?.block_on(serve())
}

async fn serve() -> anyhow::Result<()> {
    let dir = arg("dir").unwrap_or_else(|| "data/kabinet-hub".into());
    let hub = Arc::new(StoreHub::open(std::path::Path::new(&dir), &BENCH_KEY)?);
    let storage: SharedStorage = hub.clone();
    let sync_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let control_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = sync_listener.local_addr()?.port();
    let control_port = control_listener.local_addr()?.port();
    tokio::spawn(
        async move { axum::serve(sync_listener, kabinet_hub::router(storage, None)).await },
    );
    let control = Router::new()
        .route(
            "/digest",
            get(|State(hub): State<Arc<StoreHub>>| async move {
                let (count, digest) =
                    tokio::task::spawn_blocking(move || hub.read(|s| Ok(visit_digest(s))))
                        .await
                        .expect("digest task")
                        .expect("hub read")
                        .expect("digest");
                axum::Json(serde_json::json!({"count": count, "digest": digest}))
            }),
        )
        .route(
            "/enroll-code",
            get(|State(hub): State<Arc<StoreHub>>| async move {
                let code = format!(
                    "{:012}",
                    u64::from_le_bytes(
                        sha256(
                            &std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap()
                                .as_nanos()
                                .to_le_bytes()
                        )[..8]
                            .try_into()
                            .unwrap()
                    ) % 1_000_000_000_000
                );
                let hash = sha256(normalise_code(&code).as_bytes());
                tokio::task::spawn_blocking(move || {
                    hub.create_enrollment(
                        "bench",
                        &[kabinet_core::Role::Nurse],
                        hash,
                        chrono_now_plus_day(),
                    )
                })
                .await
                .expect("enroll task")
                .expect("enrollment");
                code
            }),
        )
        .with_state(hub.clone());
    tokio::spawn(async move { axum::serve(control_listener, control).await });
    println!(
        "READY {}",
        serde_json::json!({"port": port, "control": control_port, "versions": {"kabinet": env!("CARGO_PKG_VERSION")}})
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

fn chrono_now_plus_day() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::days(1)
}
