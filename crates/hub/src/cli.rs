//! `kabinet-hub`: run the hub, enroll devices, list and revoke them. Configuration comes from
//! flags, then `KABINET_HUB_*` environment variables, then defaults that just work on one
//! machine (a `hub-data/` directory, loopback).

use crate::server::{normalise_code, sha256};
use crate::{HubStorage, SqliteHub};
use anyhow::{Context, Result, bail};
use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};
use kabinet_store::StoreKey;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "kabinet-hub", version, about = "The Kabinet Hub server")]
struct Cli {
    /// Where the hub keeps its database.
    #[arg(
        long,
        env = "KABINET_HUB_DATA",
        default_value = "hub-data",
        global = true
    )]
    data_dir: PathBuf,
    /// The key of the hub database: a passphrase, or raw:<64 hex digits>.
    #[arg(long, env = "KABINET_HUB_KEY", hide_env_values = true, global = true)]
    key: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve devices over HTTP.
    Serve {
        #[arg(long, env = "KABINET_HUB_LISTEN", default_value = "127.0.0.1:8750")]
        listen: SocketAddr,
    },
    /// Create a one-time enrollment code for a device of a cabinet.
    Enroll {
        #[arg(long)]
        cabinet: String,
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 24)]
        valid_hours: i64,
    },
    /// Enrolled devices.
    #[command(subcommand)]
    Devices(DevicesCommand),
}

#[derive(Subcommand)]
enum DevicesCommand {
    List,
    Revoke { device_id: String },
}

fn open(cli: &Cli) -> Result<SqliteHub> {
    let key = cli
        .key
        .as_deref()
        .context("no hub database key; pass --key or set KABINET_HUB_KEY")?;
    Ok(SqliteHub::open(&cli.data_dir, &StoreKey::from_text(key)?)?)
}

/// The whole `kabinet-hub` command line; the binary is this one call.
pub fn main_entry() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KABINET_HUB_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match &cli.command {
        Command::Serve { listen } => {
            let hub: Arc<dyn HubStorage> = Arc::new(open(&cli)?);
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                tracing::info!(addr = %listener.local_addr()?, "hub listening");
                axum::serve(listener, crate::router(hub))
                    .with_graceful_shutdown(shutdown())
                    .await?;
                tracing::info!("hub stopped");
                anyhow::Ok(())
            })?;
        }
        Command::Enroll {
            cabinet,
            valid_hours,
        } => {
            if cabinet.trim().is_empty() {
                bail!("--cabinet must name the cabinet");
            }
            let hub = open(&cli)?;
            let digits: String = (0..12)
                .map(|_| char::from(b'0' + rand::random_range(0..10u8)))
                .collect();
            let code = format!("{}-{}-{}", &digits[..4], &digits[4..8], &digits[8..]);
            hub.create_enrollment(
                cabinet.trim(),
                sha256(normalise_code(&code).as_bytes()),
                Utc::now() + Duration::hours(*valid_hours),
            )?;
            let qr = qrcode::QrCode::new(code.as_bytes())?;
            let picture = qr
                .render::<qrcode::render::unicode::Dense1x2>()
                .quiet_zone(true)
                .build();
            println!("{picture}");
            println!(
                "Код за регистрация / enrollment code ({cabinet}, valid {valid_hours} h, once): {code}"
            );
        }
        Command::Devices(DevicesCommand::List) => {
            let hub = open(&cli)?;
            for d in hub.devices()? {
                println!(
                    "{}  {}  {}  issuer {:02}  enrolled {}  last sync {}  {}",
                    d.id,
                    d.name,
                    d.cabinet,
                    d.issuer,
                    d.enrolled_at.format("%Y-%m-%d %H:%M"),
                    d.last_sync_at
                        .map_or("never".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
                    if d.revoked_at.is_some() {
                        "REVOKED"
                    } else {
                        ""
                    }
                );
            }
        }
        Command::Devices(DevicesCommand::Revoke { device_id }) => {
            open(&cli)?.revoke(device_id)?;
            println!("revoked {device_id}");
        }
    }
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
