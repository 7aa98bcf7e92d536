//! `kabinet-hub`: run the hub, enroll devices, list and revoke them. Configuration comes from
//! flags, then `KABINET_HUB_*` environment variables, then a TOML file (`--config`), then
//! defaults that just work on one machine (a `hub-data/` directory, loopback).

use crate::server::{normalise_code, sha256};
use crate::stored::restore::{HubAt, ServeLock};
use crate::tls::{CertSource, HubCertificate, fingerprint_text};
use crate::users::Actor::Console;
use crate::{HubStorage, StoreHub};
use anyhow::{Context, Result, bail};
use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};
use kabinet_store::StoreKey;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "kabinet-hub", version, about = "The Kabinet Hub server")]
struct Cli {
    /// A TOML file with `listen`, `data_dir`, `key_file`, `log`; flags and environment
    /// variables override it.
    #[arg(long, env = "KABINET_HUB_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Where the hub keeps its database [default: hub-data].
    #[arg(long, env = "KABINET_HUB_DATA", global = true)]
    data_dir: Option<PathBuf>,
    /// The key of the hub database: a passphrase, or raw:<64 hex digits>.
    #[arg(long, env = "KABINET_HUB_KEY", hide_env_values = true, global = true)]
    key: Option<String>,
    /// Keep the hub's documents and tables in this PostgreSQL database instead of DATA_DIR's
    /// SQLite file: a libpq URL, e.g. postgres://kabinet@/kabinet?host=/run/postgresql (a Unix
    /// socket) or postgres://kabinet:SECRET@127.0.0.1/kabinet (this machine only, no TLS yet).
    #[arg(
        long,
        env = "KABINET_HUB_DATABASE",
        hide_env_values = true,
        global = true
    )]
    database: Option<String>,
    /// The hub's TLS certificate chain (PEM) [default: a self-signed one the hub makes in
    /// DATA_DIR/tls on first start].
    #[arg(
        long,
        env = "KABINET_HUB_TLS_CERT",
        global = true,
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(
        long,
        env = "KABINET_HUB_TLS_KEY",
        global = true,
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve devices and hub staff over HTTPS.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8750].
        #[arg(long, env = "KABINET_HUB_LISTEN")]
        listen: Option<SocketAddr>,
        /// Serve plain HTTP instead of HTTPS, for development; refused unless --listen is a
        /// loopback address.
        #[arg(long, env = "KABINET_HUB_PLAIN_HTTP")]
        plain_http: bool,
        /// The built web UI (ui/dist) to serve to hub staff [default: ./ui/dist if present].
        #[arg(long, env = "KABINET_HUB_UI")]
        ui_dir: Option<PathBuf>,
        /// Serve Prometheus metrics (`/metrics`, plain HTTP) on this address; refused unless it
        /// is a loopback address (the metrics name devices and cabinets).
        #[arg(long, env = "KABINET_HUB_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
    },
    /// Create a one-time enrollment code for a device of a cabinet.
    Enroll {
        #[arg(long)]
        cabinet: String,
        /// The roles of the device's users (repeat for several); they decide which classes of
        /// documents it receives and may send: nurse | doctor | psychologist | lawyer |
        /// social_worker | education_mediator. Required: a device gets HIV results only when
        /// the operator says its users are nurses or doctors, never by default.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 24)]
        valid_hours: i64,
    },
    /// Enrolled devices.
    #[command(subcommand)]
    Devices(DevicesCommand),
    /// Hub staff who sign in to the web UI.
    #[command(subcommand)]
    Users(UsersCommand),
    /// The audit log: every create, edit, sensitive view and print, on every device and at the
    /// hub, and what the hub refused; newest first.
    Audit {
        /// Part of a user's display name or login name.
        #[arg(long)]
        user: Option<String>,
        /// A device id (as `devices list` shows) or "hub".
        #[arg(long)]
        device: Option<String>,
        /// A record id, or its beginning.
        #[arg(long)]
        record: Option<String>,
        /// create | edit | view | print | withdraw | refused | add_user | change_role |
        /// change_cabinets | reset_secret | disable_user | enable_user
        #[arg(long)]
        action: Option<String>,
        /// From this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// Before this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
    /// The SHA-256 fingerprint of the hub's certificate, which devices pin at enrollment.
    Fingerprint,
    /// The programme report of a period (both days included), as the report screen shows it
    /// to the programme manager: every indicator, small numbers suppressed below the whole
    /// programme. On the hub's audit log.
    Report {
        /// First day, yyyy-mm-dd (or dd.mm.yyyy).
        #[arg(long)]
        from: String,
        /// Last day, yyyy-mm-dd (or dd.mm.yyyy).
        #[arg(long)]
        to: String,
        /// Only this cabinet's visits and referrals.
        #[arg(long)]
        cabinet: Option<String>,
        /// json | csv | pdf | dhis2 (DHIS2 dataValueSets JSON, with --mapping)
        #[arg(long, default_value = "json")]
        format: String,
        /// For --format dhis2: which indicator goes to which data element (TOML; see
        /// docs/dhis2.md).
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// The file to write; without it, standard output (json, csv and dhis2).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// The language of names and messages: bg | en.
        #[arg(long, default_value = "bg")]
        lang: String,
    },
    /// Records out of the hub in a standard format for the health authorities or another
    /// system. On the hub's audit log.
    #[command(subcommand)]
    Export(ExportCommand),
    /// A consistent backup of the hub while it serves (SQLite or PostgreSQL): a new hub
    /// database file, encrypted with the hub key, checked against the hub before it is named
    /// FILE. `restore` brings it back.
    Backup {
        /// The backup file to write (must not exist).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Bring the hub back from a backup file (`backup -o`), into DATA_DIR or --database; stop
    /// every hub process first. The hub's file is kept aside as hub.db.before-restore-<time>.
    /// Devices that synced after the backup send what the hub lost at their next sync.
    Restore {
        /// The backup file (written by `kabinet-hub backup`, encrypted with the hub key).
        file: PathBuf,
    },
    /// After restoring the hub with other tools (a file copied back, pg_restore, a promoted
    /// replica): make devices send again what it may lack. Stop every hub process first.
    MarkRestored,
    /// Copy this hub (DATA_DIR's SQLite file: documents, relay log, devices, users, audit
    /// chain) into an empty PostgreSQL database, and check the copy. Stop the hub first; then
    /// serve with --database URL and the same DATA_DIR (its TLS certificate): devices sync on
    /// with no re-enrollment.
    Migrate {
        /// The PostgreSQL database to move to (empty; see --database for the URL's form).
        #[arg(long)]
        to: String,
    },
    /// Look up a referral by the code on its slip, or record what happened.
    #[command(subcommand)]
    Referral(ReferralCommand),
    /// Open referrals nobody has attended in time (the mediators' worklist).
    Followup,
    /// The hub's directory: its address, the destinations' addresses and hours, follow-up days.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Probable duplicate persons (the review queue), and pairs judged two people.
    #[command(subcommand)]
    Duplicates(DuplicatesCommand),
    /// Merge a duplicate record into the survivor's: both stay, every view shows the survivor
    /// with both histories; devices receive it at their next sync.
    Merge {
        /// The person id that stays.
        survivor: uuid::Uuid,
        /// The person id merged into it.
        duplicate: uuid::Uuid,
        #[arg(long)]
        reason: String,
        /// Who merges (for the record and the audit log).
        #[arg(long, default_value = "hub")]
        by: String,
    },
    /// The team's cases.
    #[command(subcommand)]
    Cases(CasesCommand),
    /// Undo a merge: the duplicate is a person of its own again.
    Unmerge {
        /// The merged person id.
        duplicate: uuid::Uuid,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "hub")]
        by: String,
    },
}

#[derive(Subcommand)]
enum CasesCommand {
    /// Cases, newest first.
    List {
        /// open | on_hold | closed
        #[arg(long)]
        status: Option<String>,
        /// The lead worker's login.
        #[arg(long)]
        lead: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One case: the plan, the tasks and the handover notes (the console reads every note;
    /// sensitive ones are left out unless --all-notes).
    Show {
        id: uuid::Uuid,
        #[arg(long)]
        json: bool,
        /// Print the notes of every class too (psychology, legal, health): on the audit log.
        #[arg(long)]
        all_notes: bool,
    },
}

#[derive(Subcommand)]
enum DuplicatesCommand {
    /// Probable duplicate pairs, best first: score, the two persons, the evidence.
    List {
        /// Print JSON (the pairs and the total) instead of lines.
        #[arg(long)]
        json: bool,
        /// At most this many pairs.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Remember that two records are two people: the pair is not suggested again.
    NotSame {
        a: uuid::Uuid,
        b: uuid::Uuid,
        #[arg(long, default_value = "hub")]
        by: String,
    },
}

#[derive(Subcommand)]
enum ReferralCommand {
    /// Show a referral: person, reason, destination, status history.
    Show { code: String },
    /// Record attendance or an outcome: attended | completed | declined | lost_to_follow_up.
    Set {
        code: String,
        #[arg(long)]
        status: String,
        /// What happened (the outcome), in free text.
        #[arg(long)]
        note: Option<String>,
        /// Who records it.
        #[arg(long, default_value = "hub")]
        by: String,
    },
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Print the directory as TOML (a starting point for `set`).
    Show,
    /// Replace the directory with a TOML file; devices receive it at their next sync.
    Set { file: PathBuf },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add a user. Their secret (at least 8 characters) is read from KABINET_HUB_USER_PASSWORD
    /// or the first line of standard input (never from a flag, so it stays out of shell
    /// history). With --cabinet it is their device PIN: they log in on those cabinets' devices,
    /// offline, once the devices have synced (a web password of their own, which must differ,
    /// comes with `users reset NAME --web`). Without, it is their web password and they are on
    /// no device.
    Add {
        /// Login name, e.g. "mpetrova".
        name: String,
        /// The name shown on records, e.g. "Мария Петрова" (no one else's).
        #[arg(long)]
        display_name: String,
        /// nurse | doctor | psychologist | lawyer | social_worker | education_mediator | hub_admin
        #[arg(long)]
        role: String,
        /// A cabinet whose devices receive the user (repeat for several), as in
        /// `enroll --cabinet`.
        #[arg(long = "cabinet")]
        cabinets: Vec<String>,
    },
    /// Every user, with role, cabinets, secrets, state and wrong sign-ins.
    List,
    /// Change a user's role and/or cabinets; devices follow at their next sync (a device of a
    /// cabinet the user left forgets them).
    Edit {
        name: String,
        #[arg(long)]
        role: Option<String>,
        /// The user's cabinets from now on (repeat for several); replaces the ones they had.
        #[arg(long = "cabinet", conflicts_with = "no_cabinets")]
        cabinets: Vec<String>,
        /// The user is on no device from now on.
        #[arg(long)]
        no_cabinets: bool,
    },
    /// Disable a user: web sessions end now; devices lock them out at their next sync.
    Disable { name: String },
    /// Enable a disabled user again.
    Enable { name: String },
    /// A new secret, read like `add`'s: the one the user has (say which with --web or --pin
    /// when they have both). It may not be their other secret. A new web password clears
    /// wrong sign-ins at the hub; a new PIN clears wrong tries on devices at their next sync.
    Reset {
        name: String,
        /// Set the web password.
        #[arg(long, conflicts_with = "pin")]
        web: bool,
        /// Set the device PIN.
        #[arg(long)]
        pin: bool,
    },
}

/// The secret typed for `users add` / `users reset`, wiped from memory when dropped.
fn read_password() -> Result<zeroize::Zeroizing<String>> {
    Ok(zeroize::Zeroizing::new(
        match std::env::var("KABINET_HUB_USER_PASSWORD") {
            Ok(p) => p,
            Err(_) => {
                let mut line = zeroize::Zeroizing::new(String::new());
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_string()
            }
        },
    ))
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Every person's record (or those written since a day) as one FHIR R4 transaction
    /// Bundle: Patient, Consent, Encounter, Observation, ServiceRequest and Task, each `PUT`
    /// by its Kabinet id, so that loading a second export replaces instead of adding. Persons
    /// who withdrew consent to processing are left out. See docs/fhir.md.
    Fhir {
        /// Only persons something was written about at the hub since this day (Sofia time),
        /// yyyy-mm-dd or dd.mm.yyyy.
        #[arg(long)]
        since: Option<String>,
        /// The role the export is for: only the classes it reads go in (nurse or doctor: HIV,
        /// hepatitis and TB results too; social_worker: no results of those). Required, so
        /// that HIV results never leave by default.
        #[arg(long)]
        role: String,
        /// The Bundle file to write (created readable by its owner only).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// The language of destinations' and statuses' names: bg | en.
        #[arg(long, default_value = "bg")]
        lang: String,
    },
}

#[derive(Subcommand)]
enum DevicesCommand {
    List,
    Revoke { device_id: String },
}

/// The configuration file's settings, all optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    /// A file holding the database key (so the key is not in the config itself).
    key_file: Option<PathBuf>,
    /// A PostgreSQL database URL (see --database); without it, DATA_DIR/hub.db.
    database: Option<String>,
    /// A tracing filter, e.g. "info" or "kabinet_hub=debug".
    log: Option<String>,
    /// The built web UI to serve.
    ui_dir: Option<PathBuf>,
    /// The TLS certificate chain and key (PEM); without them the hub makes its own.
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

/// The settings in effect: flag/environment, else file, else default.
#[derive(Debug, PartialEq)]
struct Settings {
    listen: SocketAddr,
    data_dir: PathBuf,
    key: Option<String>,
    /// A PostgreSQL URL; `None`: the SQLite file in `data_dir`.
    database: Option<String>,
    log: String,
    ui_dir: Option<PathBuf>,
    /// None: plain HTTP (development on loopback only).
    tls: Option<CertSource>,
}

fn settings(cli: &Cli, file: FileConfig) -> Result<Settings> {
    let (listen_flag, ui_flag, plain_http) = match &cli.command {
        Command::Serve {
            listen,
            ui_dir,
            plain_http,
            ..
        } => (*listen, ui_dir.clone(), *plain_http),
        _ => (None, None, false),
    };
    let key = match (&cli.key, &file.key_file) {
        (Some(k), _) => Some(k.clone()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading key_file {}", path.display()))?
                .trim()
                .to_string(),
        ),
        (None, None) => None,
    };
    let listen = listen_flag
        .or(file.listen)
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8750)));
    let data_dir = cli
        .data_dir
        .clone()
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("hub-data"));
    if plain_http && !listen.ip().is_loopback() {
        bail!(
            "--plain-http: refused on {listen}; health data crosses a network only over HTTPS. \
             Drop --plain-http (the hub makes its own certificate) or listen on 127.0.0.1"
        );
    }
    let tls = if plain_http {
        None
    } else {
        Some(
            match (
                cli.tls_cert.clone().or(file.tls_cert),
                cli.tls_key.clone().or(file.tls_key),
            ) {
                (Some(cert), Some(key)) => CertSource::Files { cert, key },
                (None, None) => CertSource::SelfSigned {
                    dir: data_dir.join("tls"),
                },
                _ => bail!("tls_cert and tls_key go together: give both or neither"),
            },
        )
    };
    Ok(Settings {
        listen,
        data_dir,
        tls,
        key,
        database: cli.database.clone().or(file.database),
        log: std::env::var("KABINET_HUB_LOG")
            .ok()
            .or(file.log)
            .unwrap_or_else(|| "info".into()),
        ui_dir: ui_flag.or(file.ui_dir).or_else(|| {
            let dev = PathBuf::from("ui/dist");
            dev.join("index.html").exists().then_some(dev)
        }),
    })
}

fn load_settings(cli: &Cli) -> Result<Settings> {
    let file = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str(&text).with_context(|| {
                format!("{}: not a valid kabinet-hub configuration", path.display())
            })?
        }
        None => FileConfig::default(),
    };
    settings(cli, file)
}

fn open(settings: &Settings) -> Result<StoreHub> {
    let key = settings
        .key
        .as_deref()
        .context("no hub database key; pass --key, set KABINET_HUB_KEY, or name a key_file in the configuration")?;
    let key = StoreKey::from_text(key)?;
    match &settings.database {
        Some(url) => StoreHub::open_postgres(url, &key)
            .with_context(|| format!("opening the hub on the {}", kabinet_store_pg::describe(url))),
        None => Ok(StoreHub::open(&settings.data_dir, &key)?),
    }
}

/// Where the hub lives, for its serve lock and a restore.
fn hub_at(settings: &Settings) -> HubAt<'_> {
    match &settings.database {
        Some(url) => HubAt::Postgres(url),
        None => HubAt::Folder(&settings.data_dir),
    }
}

/// The whole `kabinet-hub` command line; the binary is this one call.
pub fn main_entry() -> Result<()> {
    let cli = Cli::parse();
    let settings = load_settings(&cli)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&settings.log).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match &cli.command {
        Command::Serve { metrics_listen, .. } => {
            if let Some(addr) = metrics_listen
                && !addr.ip().is_loopback()
            {
                bail!(
                    "--metrics-listen {addr}: metrics are served on a loopback address only (127.0.0.1 or ::1); scrape them from this machine"
                );
            }
            let metrics_listen = *metrics_listen;
            let listen = settings.listen;
            let ui_dir = settings.ui_dir.clone();
            if let Some(dir) = &ui_dir
                && !dir.join("index.html").exists()
            {
                bail!(
                    "{}: no index.html there; build the UI (npm run build in ui/) or fix ui_dir",
                    dir.display()
                );
            }
            // Held while serving: a restore under a serving hub is refused.
            let Some(_serving) = ServeLock::serving(hub_at(&settings))? else {
                bail!("a restore of this hub is under way; serve once it has finished");
            };
            let hub: Arc<dyn HubStorage> = Arc::new(open(&settings)?);
            // The report's facts are read once, now, in the background, so that the first
            // report after a start is as quick as the next (see `Store::keep_report_facts`).
            let warming = hub.clone();
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                match crate::desk::read(&*warming, |s| s.keep_report_facts(true)) {
                    Ok(()) => tracing::info!(
                        seconds = started.elapsed().as_secs_f64(),
                        "the report's facts are read"
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the report's facts failed; the first report reads them")
                    }
                }
                // The report's count of open possible duplicates, kept current every few
                // minutes (finding them takes seconds on a national hub).
                loop {
                    if let Err(e) = warming.open_duplicates(true) {
                        tracing::warn!(error = %e, "counting possible duplicates failed");
                    }
                    std::thread::sleep(std::time::Duration::from_secs(300));
                }
            });
            let runtime = tokio::runtime::Runtime::new()?;
            let tls = match &settings.tls {
                Some(source) => {
                    let cert = HubCertificate::load(source)?;
                    let fingerprint = fingerprint_text(&cert.fingerprint());
                    Some((cert.server_config()?, fingerprint))
                }
                None => None,
            };
            runtime.block_on(async move {
                let listener = std::net::TcpListener::bind(listen)
                    .with_context(|| format!("cannot listen on {listen}"))?;
                listener.set_nonblocking(true)?;
                let addr = listener.local_addr()?;
                // One line on stdout with the address actually bound (`--listen 127.0.0.1:0`
                // picks a free port): what the operator, a service manager or a test reads to
                // know the hub is up and where, without guessing a port that may be taken.
                let scheme = if tls.is_some() { "https" } else { "http" };
                println!("listening on {scheme}://{addr}");
                std::io::Write::flush(&mut std::io::stdout())?;
                if let Some(at) = metrics_listen {
                    let listener = tokio::net::TcpListener::bind(at)
                        .await
                        .with_context(|| format!("cannot listen on {at} for metrics"))?;
                    let bound = listener.local_addr()?;
                    println!("metrics on http://{bound}/metrics");
                    std::io::Write::flush(&mut std::io::stdout())?;
                    let metrics = crate::metrics::router(hub.clone());
                    tokio::spawn(async move {
                        if let Err(e) = axum::serve(listener, metrics)
                            .with_graceful_shutdown(shutdown())
                            .await
                        {
                            tracing::error!(error = %e, "metrics listener stopped");
                        }
                    });
                }
                // With each connection's address: the sign-in's per-address limit needs it.
                let app =
                    crate::router(hub, ui_dir).into_make_service_with_connect_info::<SocketAddr>();
                match tls {
                    Some((config, fingerprint)) => {
                        tracing::info!(%addr, %fingerprint, "hub listening (https)");
                        let handle = axum_server::Handle::new();
                        let stopper = handle.clone();
                        tokio::spawn(async move {
                            shutdown().await;
                            stopper.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
                        });
                        axum_server::from_tcp_rustls(
                            listener,
                            axum_server::tls_rustls::RustlsConfig::from_config(config),
                        )
                        .handle(handle)
                        .serve(app)
                        .await?;
                    }
                    None => {
                        tracing::warn!(%addr, "hub listening on plain HTTP (development only)");
                        axum::serve(tokio::net::TcpListener::from_std(listener)?, app)
                            .with_graceful_shutdown(shutdown())
                            .await?;
                    }
                }
                tracing::info!("hub stopped");
                anyhow::Ok(())
            })?;
        }
        Command::Enroll {
            cabinet,
            roles,
            valid_hours,
        } => {
            if cabinet.trim().is_empty() {
                bail!("--cabinet must name the cabinet");
            }
            let roles: Vec<kabinet_core::Role> = roles
                .iter()
                .map(|r| {
                    kabinet_core::Role::parse(r).ok_or_else(|| {
                        anyhow::anyhow!(
                            "--role {r}: unknown role; one of {}",
                            crate::users::role_list()
                        )
                    })
                })
                .collect::<Result<_>>()?;
            // A device records: roles that only read (the hub admin, the privacy officer) work
            // at the hub's web UI. Such a device could not even send back what it received
            // after a restore.
            if !kabinet_core::may_write(&roles, kabinet_core::AccessClass::General) {
                bail!(
                    "--role: a device needs a role that records (nurse, doctor, psychologist, lawyer, social_worker, education_mediator); {} work at the hub's web UI",
                    roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            let hub = open(&settings)?;
            let digits: String = (0..12)
                .map(|_| char::from(b'0' + rand::random_range(0..10u8)))
                .collect();
            let code = format!("{}-{}-{}", &digits[..4], &digits[4..8], &digits[8..]);
            hub.create_enrollment(
                cabinet.trim(),
                &roles,
                sha256(normalise_code(&code).as_bytes()),
                Utc::now() + Duration::hours(*valid_hours),
            )?;
            // Over HTTPS the code carries the first 16 hex digits of the certificate's
            // fingerprint: the device checks the certificate against them before it sends the
            // code, so nobody has to compare 64 digits by eye, and nothing is trusted blindly.
            let fingerprint = match &settings.tls {
                Some(source) => Some(HubCertificate::load(source)?.fingerprint()),
                None => None,
            };
            let printed = match &fingerprint {
                Some(f) => {
                    let short = hex::encode_upper(&f[..kabinet_sync::CODE_FINGERPRINT_DIGITS / 2]);
                    let groups: Vec<&str> = (0..short.len())
                        .step_by(4)
                        .map(|i| &short[i..i + 4])
                        .collect();
                    format!("{code}-{}", groups.join("-"))
                }
                None => code.clone(),
            };
            let qr = qrcode::QrCode::new(printed.as_bytes())?;
            let picture = qr
                .render::<qrcode::render::unicode::Dense1x2>()
                .quiet_zone(true)
                .build();
            println!("{picture}");
            if let Some(f) = &fingerprint {
                println!(
                    "Отпечатък на сертификата на Хъба / hub certificate fingerprint (SHA-256): {}",
                    fingerprint_text(f)
                );
            }
            println!(
                "Код за регистрация / enrollment code ({cabinet}, {}, valid {valid_hours} h, once): {printed}",
                kabinet_core::access::roles_to_text(&roles)
            );
        }
        Command::Devices(DevicesCommand::List) => {
            let hub = open(&settings)?;
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
        Command::Users(UsersCommand::Add {
            name,
            display_name,
            role,
            cabinets,
        }) => {
            let password = read_password()?;
            let hub = open(&settings)?;
            crate::users::add(&hub, name, display_name, role, cabinets, &password, Console)
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            if cabinets.is_empty() {
                println!("user {name} added ({role}, web sign-in, on no device)");
            } else {
                let enrolled: Vec<String> = hub.devices()?.into_iter().map(|d| d.cabinet).collect();
                for c in cabinets
                    .iter()
                    .filter(|c| !enrolled.contains(&c.trim().to_string()))
                {
                    println!("note: no device of cabinet {c} is enrolled yet");
                }
                println!(
                    "user {name} added ({role}, device PIN, cabinets {})",
                    cabinets.join(", ")
                );
            }
        }
        Command::Users(UsersCommand::List) => {
            for u in open(&settings)?.users()? {
                let secrets = match (u.web_sign_in, u.on_devices) {
                    (true, true) => "web+PIN",
                    (true, false) => "web",
                    (false, true) => "PIN",
                    (false, false) => "no secret",
                };
                println!(
                    "{}  {}  {}  {}  {}  {}{}{}",
                    u.user.name,
                    u.user.display_name,
                    u.user.role,
                    if u.disabled { "disabled" } else { "active" },
                    if u.cabinets.is_empty() {
                        "-".to_string()
                    } else {
                        u.cabinets.join(",")
                    },
                    secrets,
                    if u.failed_logins > 0 {
                        format!("  {} wrong sign-ins", u.failed_logins)
                    } else {
                        String::new()
                    },
                    if !u.cabinets.is_empty() && !u.on_devices {
                        "  (on no device until given a PIN: users reset NAME --pin)"
                    } else {
                        ""
                    }
                );
            }
        }
        Command::Users(UsersCommand::Edit {
            name,
            role,
            cabinets,
            no_cabinets,
        }) => {
            let cabinets = (*no_cabinets || !cabinets.is_empty()).then_some(cabinets.as_slice());
            if role.is_none() && cabinets.is_none() {
                bail!("say what to change: --role, --cabinet or --no-cabinets");
            }
            crate::users::edit(&open(&settings)?, name, role.as_deref(), cabinets, Console)
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            println!("user {name} changed; devices follow at their next sync");
        }
        Command::Users(UsersCommand::Disable { name }) => {
            crate::users::set_disabled(&open(&settings)?, name, true, Console)
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            println!("user {name} disabled; devices lock them out at their next sync");
        }
        Command::Users(UsersCommand::Enable { name }) => {
            crate::users::set_disabled(&open(&settings)?, name, false, Console)
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            println!("user {name} enabled");
        }
        Command::Users(UsersCommand::Reset { name, web, pin }) => {
            let kind = match (web, pin) {
                (true, _) => Some(crate::storage::SecretKind::Web),
                (_, true) => Some(crate::storage::SecretKind::Device),
                _ => None,
            };
            let password = read_password()?;
            let done = crate::users::reset(&open(&settings)?, name, &password, kind, Console)
                .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            match done {
                crate::storage::SecretKind::Web => println!("user {name}: new web password"),
                crate::storage::SecretKind::Device => {
                    println!("user {name}: new device PIN; devices take it at their next sync")
                }
            }
        }
        Command::Referral(cmd) => {
            let hub = open(&settings)?;
            let (code, update) = match cmd {
                ReferralCommand::Show { code } => (code, None),
                ReferralCommand::Set {
                    code,
                    status,
                    note,
                    by,
                } => (code, Some((status.clone(), note.clone(), by.clone()))),
            };
            let ctx = |by: &str| kabinet_service::Context {
                lang: kabinet_core::Lang::Bg,
                user: by.to_string(),
                login: by.to_string(),
                now: Utc::now(),
                roles: None,
            };
            let detail = hub.staff_call(|store| {
                let found = kabinet_service::referrals::by_code(store, &ctx("hub"), code)?;
                match &update {
                    None => Ok(found),
                    Some((status, note, by)) => kabinet_service::referrals::update(
                        store,
                        &ctx(by),
                        &kabinet_service::referrals::StatusUpdate {
                            id: found.view.id,
                            status: status.clone(),
                            note: note.clone(),
                        },
                    ),
                }
            })?;
            let detail = detail.map_err(|e| {
                let body = e.body(kabinet_core::Lang::Bg);
                let mut msg = body.message;
                for f in body.fields {
                    msg.push_str(&format!("\n  {}", f.message));
                }
                anyhow::anyhow!(msg)
            })?;
            let v = &detail.view;
            println!(
                "{}  {}  {} → {}  ({}, срок {})",
                v.code, v.person_name, v.reason_label, v.destination_label, v.urgency_label, v.due
            );
            for h in &detail.history {
                println!(
                    "  {}  {}  {}{}",
                    h.at.with_timezone(&chrono_tz::Europe::Sofia)
                        .format("%d.%m.%Y %H:%M"),
                    h.status.as_str(),
                    h.by,
                    h.note
                        .as_deref()
                        .map(|n| format!(" — {n}"))
                        .unwrap_or_default()
                );
            }
        }
        Command::Audit {
            user,
            device,
            record,
            action,
            since,
            until,
            limit,
        } => {
            let day = |d: &Option<chrono::NaiveDate>| {
                d.map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
            };
            let rows = open(&settings)?.audit(
                &crate::AuditFilter {
                    user: user.clone(),
                    device: device.clone(),
                    record: record.clone(),
                    action: action.clone(),
                    since: day(since),
                    until: day(until),
                    limit: *limit,
                    shown_classes: Vec::new(),
                }
                .all_classes(),
            )?;
            for r in rows {
                let user = if r.login.is_empty() {
                    r.user
                } else {
                    format!("{} ({})", r.user, r.login)
                };
                println!(
                    "{}  {:<8} {:<36} {:<36} {:<30} {}  [{}]",
                    r.at, r.action, user, r.device, r.class, r.record, r.source
                );
            }
        }
        Command::Report {
            from,
            to,
            cabinet,
            format,
            mapping,
            output,
            lang,
        } => {
            let lang = match lang.as_str() {
                "bg" => kabinet_core::Lang::Bg,
                "en" => kabinet_core::Lang::En,
                other => bail!("--lang {other}: one of bg, en"),
            };
            if !matches!(format.as_str(), "json" | "csv" | "pdf" | "dhis2") {
                bail!("--format {format}: one of json, csv, pdf, dhis2");
            }
            if format == "pdf" && output.is_none() {
                bail!("--format pdf needs -o FILE (a PDF is not for the terminal)");
            }
            // The mapping is checked before the report is made: its mistakes all at once.
            let dhis2 = match (format.as_str(), mapping) {
                ("dhis2", None) => {
                    bail!("--format dhis2 needs --mapping FILE (see docs/dhis2.md)")
                }
                ("dhis2", Some(path)) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("--mapping {}: cannot read", path.display()))?;
                    let mapping =
                        kabinet_service::dhis2::Mapping::parse(&text).map_err(|problems| {
                            let lines: Vec<String> =
                                problems.iter().map(|p| format!("  {p}")).collect();
                            anyhow::anyhow!("--mapping {}:\n{}", path.display(), lines.join("\n"))
                        })?;
                    // Days typed either way; a bad day is named by the report below.
                    if let Ok((f, t, _)) =
                        kabinet_service::report::check_period(from, to, None, &[])
                    {
                        kabinet_service::dhis2::period(f, t)?;
                    }
                    Some(mapping)
                }
                (_, Some(_)) => bail!("--mapping is for --format dhis2"),
                (_, None) => None,
            };
            let hub = open(&settings)?;
            let ctx = kabinet_service::Context {
                lang,
                user: "hub:operator".into(),
                login: "operator".into(),
                now: chrono::Utc::now(),
                // The operator holds the hub key; the report is the programme manager's.
                roles: Some(vec![kabinet_core::Role::ProgrammeManager]),
            };
            let view = match crate::desk::report(&hub, &ctx, from, to, cabinet.as_deref(), format)?
            {
                Ok(view) => view,
                Err(kabinet_service::ServiceError::Invalid(errors)) => {
                    let lines: Vec<String> = errors
                        .0
                        .iter()
                        .map(|e| {
                            let flag = match e.field {
                                kabinet_core::Field::ReportFrom => "--from",
                                kabinet_core::Field::ReportTo => "--to",
                                kabinet_core::Field::Cabinet => "--cabinet",
                                _ => "",
                            };
                            format!("{flag}: {}", e.message(lang))
                        })
                        .collect();
                    bail!("{}", lines.join("\n"));
                }
                Err(e) => bail!("{e}"),
            };
            let bytes = match format.as_str() {
                "pdf" => kabinet_service::report::to_pdf(&view, lang)?,
                "csv" => kabinet_service::report::to_csv(&view),
                "dhis2" => {
                    let mapping = dhis2.as_ref().expect("checked above");
                    let (set, skipped) = kabinet_service::dhis2::data_value_set(&view, mapping)?;
                    eprintln!(
                        "DHIS2 {}: {} values; not sent: {} hidden (\"<{}\" or \"x\"), {} with no unit or combo in the mapping, {} not in this report",
                        set.period,
                        set.data_values.len(),
                        skipped.suppressed,
                        kabinet_core::indicators::SMALL_NUMBER,
                        skipped.unmapped,
                        skipped.absent
                    );
                    let mut json = serde_json::to_vec_pretty(&set)?;
                    json.push(b'\n');
                    json
                }
                _ => {
                    let mut json = serde_json::to_vec_pretty(&view)?;
                    json.push(b'\n');
                    json
                }
            };
            match output {
                // Written whole or not at all: a half report is worse than none.
                Some(path) => {
                    let tmp = path.with_extension("part");
                    std::fs::write(&tmp, &bytes)
                        .with_context(|| format!("-o {}: cannot write", path.display()))?;
                    std::fs::rename(&tmp, path)
                        .with_context(|| format!("-o {}: cannot write", path.display()))?;
                    eprintln!(
                        "report {} – {}: {} numbers written to {}",
                        view.from,
                        view.to,
                        view.rows.len(),
                        path.display()
                    );
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                }
            }
        }
        Command::Backup { output } => {
            let hub = open(&settings)?;
            let key = StoreKey::from_text(settings.key.as_deref().context(
                "no hub database key; pass --key, set KABINET_HUB_KEY, or name a key_file in the configuration",
            )?)?;
            let report = crate::stored::migrate::backup(&hub, output, &key)?;
            let rows: u64 = report.tables.iter().map(|(_, n)| n).sum();
            println!(
                "backup {}: {rows} rows in {} tables, {} documents with the same heads as the hub, {} audit entries verified",
                output.display(),
                report.tables.len(),
                report.documents_checked,
                report.audit_entries
            );
        }
        Command::Restore { file } => {
            let key = StoreKey::from_text(settings.key.as_deref().context(
                "no hub database key; pass --key, set KABINET_HUB_KEY, or name a key_file in the configuration",
            )?)?;
            let report =
                crate::stored::restore::restore(file, &key, hub_at(&settings), &settings.data_dir)?;
            let rows: u64 = report.copied.tables.iter().map(|(_, n)| n).sum();
            println!(
                "restored from {}: {rows} rows in {} tables, {} documents, {} audit entries verified",
                file.display(),
                report.copied.tables.len(),
                report.copied.documents_checked,
                report.copied.audit_entries
            );
            if let Some(kept) = &report.kept {
                println!("the hub's file before the restore: {}", kept.display());
            }
            println!(
                "new relay epoch {} after row {}: devices that synced after the backup send what the hub lost at their next sync",
                report.epoch.id, report.epoch.floor
            );
        }
        Command::MarkRestored => {
            let hub = open(&settings)?;
            let epoch = hub.mark_restored(hub_at(&settings))?;
            println!(
                "new relay epoch {} after row {}: devices send what the hub may lack at their next sync",
                epoch.id, epoch.floor
            );
        }
        Command::Migrate { to } => {
            if settings.database.is_some() {
                bail!(
                    "migrate copies DATA_DIR's SQLite hub into --to; drop --database (and KABINET_HUB_DATABASE) for this command"
                );
            }
            let source = open(&settings)?;
            let key = StoreKey::from_text(settings.key.as_deref().context(
                "no hub database key; pass --key, set KABINET_HUB_KEY, or name a key_file in the configuration",
            )?)?;
            let target = StoreHub::open_postgres(to, &key)
                .with_context(|| format!("opening the {}", kabinet_store_pg::describe(to)))?;
            let report = crate::stored::migrate::to_postgres(&source, &target)?;
            for (table, rows) in &report.tables {
                println!("{table}: {rows} rows");
            }
            println!(
                "checked: {} documents with the same heads, {} audit entries verified",
                report.documents_checked, report.audit_entries
            );
            println!(
                "moved to the {}; serve with --database and this data folder",
                kabinet_store_pg::describe(to)
            );
        }
        Command::Export(ExportCommand::Fhir {
            since,
            role,
            output,
            lang,
        }) => export_fhir(&settings, since.as_deref(), role, output, lang)?,
        Command::Fingerprint => match &settings.tls {
            Some(source) => println!(
                "{}",
                fingerprint_text(&HubCertificate::load(source)?.fingerprint())
            ),
            None => bail!("the hub serves plain HTTP; it has no certificate"),
        },
        Command::Followup => {
            let hub = open(&settings)?;
            let ctx = kabinet_service::Context {
                lang: kabinet_core::Lang::Bg,
                user: "hub".into(),
                login: "hub".into(),
                now: Utc::now(),
                roles: None,
            };
            let list = hub
                .staff_call(|store| kabinet_service::referrals::follow_up(store, &ctx))?
                .map_err(|e| anyhow::anyhow!(e.body(kabinet_core::Lang::Bg).message))?;
            for v in &list {
                println!(
                    "{}  {}  {} → {}  ({}, срок {})",
                    v.code,
                    v.person_name,
                    v.reason_label,
                    v.destination_label,
                    v.urgency_label,
                    v.due
                );
            }
            println!("{} за проследяване / to follow up", list.len());
        }
        Command::Directory(DirectoryCommand::Show) => {
            let hub = open(&settings)?;
            let directory = hub.read(|store| store.directory())?;
            print!("{}", toml::to_string_pretty(&directory)?);
        }
        Command::Directory(DirectoryCommand::Set { file }) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let directory: kabinet_core::Directory = toml::from_str(&text)
                .with_context(|| format!("{}: not a valid directory", file.display()))?;
            for slug in directory.destinations.keys() {
                kabinet_core::Destination::parse(slug).map_err(|_| {
                    anyhow::anyhow!(
                        "{}: unknown destination [destinations.{slug}]; known: {}",
                        file.display(),
                        kabinet_core::Destination::all()
                            .map(|d| d.slug())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            }
            open(&settings)?.write_local(|w| w.put_directory(&directory))?;
            println!("directory saved; devices receive it at their next sync");
        }
        Command::Duplicates(cmd) => {
            let hub = open(&settings)?;
            match cmd {
                DuplicatesCommand::List { json, limit } => {
                    let list = service_call(&hub, "hub", |store, ctx| {
                        kabinet_service::merges::possible_duplicates(store, ctx, *limit)
                    })?;
                    if *json {
                        println!("{}", serde_json::to_string_pretty(&list)?);
                    } else {
                        let who = |p: &kabinet_store::PersonHit| {
                            let id = p.egn.as_deref().or(p.lnch.as_deref()).unwrap_or("—");
                            format!("{} ({}, {}, {id})  {}", p.full_name, p.birth, p.sex, p.id)
                        };
                        for pair in &list.pairs {
                            println!(
                                "{:>3}  {}\n     {}\n     {}",
                                pair.score,
                                who(&pair.a),
                                who(&pair.b),
                                pair.evidence.join("; ")
                            );
                        }
                        println!(
                            "{} от {} възможни двойки / of {} possible pairs",
                            list.pairs.len(),
                            list.total,
                            list.total
                        );
                    }
                }
                DuplicatesCommand::NotSame { a, b, by } => {
                    service_call(&hub, by, |store, ctx| {
                        kabinet_service::merges::not_same_person(store, ctx, *a, *b)
                    })?;
                    println!("{a} и {b}: двама различни души / two different people");
                }
            }
        }
        Command::Cases(CasesCommand::List { status, lead, json }) => {
            let list = service_call(&open(&settings)?, "hub", |store, ctx| {
                kabinet_service::cases::cases(store, ctx, status.as_deref(), lead.as_deref())
            })?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for c in &list {
                    println!(
                        "{}  {:<14} {:<30} водещ/lead {}{}",
                        c.id,
                        c.status.label(kabinet_core::Lang::Bg),
                        c.person_name,
                        c.lead,
                        c.household
                            .as_deref()
                            .map(|h| format!("  домакинство/household {h}"))
                            .unwrap_or_default()
                    );
                }
                println!("{} случая / cases", list.len());
            }
        }
        Command::Cases(CasesCommand::Show {
            id,
            json,
            all_notes,
        }) => {
            let roles = if *all_notes {
                None
            } else {
                // General notes only: what every role of the team reads.
                Some(vec![kabinet_core::Role::HubAdmin])
            };
            let view = service_call_as(&open(&settings)?, "hub", roles, |store, ctx| {
                kabinet_service::cases::open_page(store, ctx, *id)
            })?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                println!(
                    "{}  {}  ({}; водещ/lead {}, отворен/opened {})",
                    view.id, view.person_name, view.status_label, view.lead, view.opened_at
                );
                if let Some(c) = &view.closure {
                    println!("  {c}");
                }
                for g in &view.goals {
                    println!(
                        "  цел/goal [{}] {} — {} ({})",
                        g.domain_label, g.text, g.status_label, g.responsible
                    );
                }
                for t in &view.tasks {
                    println!(
                        "  задача/task {} — {} · {} · {}{}",
                        t.title,
                        t.assignee_label,
                        t.status_label,
                        t.due.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
                        if t.overdue {
                            " · ПРОСРОЧЕНА/OVERDUE"
                        } else {
                            ""
                        }
                    );
                }
                for n in &view.notes {
                    println!("  [{}] {} {}: {}", n.kind_label, n.at, n.by, n.text);
                }
            }
        }
        Command::Merge {
            survivor,
            duplicate,
            reason,
            by,
        } => {
            let record = service_call(&open(&settings)?, by, |store, ctx| {
                kabinet_service::merges::merge_persons(store, ctx, *survivor, *duplicate, reason)
            })?;
            println!(
                "{duplicate} → {} ({}): {} посещения, {} направления / visits, referrals",
                record.person.id,
                record.person.full_name,
                record.visits.len(),
                record.referrals.len()
            );
        }
        Command::Unmerge {
            duplicate,
            reason,
            by,
        } => {
            let record = service_call(&open(&settings)?, by, |store, ctx| {
                kabinet_service::merges::unmerge_person(store, ctx, *duplicate, reason)
            })?;
            println!(
                "{} ({}) е отново отделен запис / is a record of its own again",
                record.person.id, record.person.full_name
            );
        }
        Command::Devices(DevicesCommand::Revoke { device_id }) => {
            open(&settings)?.revoke(device_id)?;
            println!("revoked {device_id}");
        }
    }
    Ok(())
}

/// Runs one service operation on the hub's documents as the operator `by`, with its error
/// as the service words it (the fields and their fixes, in Bulgarian).
fn service_call<T>(
    hub: &StoreHub,
    by: &str,
    f: impl FnOnce(
        &mut kabinet_store::Store,
        &kabinet_service::Context,
    ) -> Result<T, kabinet_service::ServiceError>,
) -> Result<T> {
    service_call_as(hub, by, None, f)
}

/// [`service_call`] with the roles the operation is read under (`None`: every class, as the
/// console's key opens the whole store).
fn service_call_as<T>(
    hub: &StoreHub,
    by: &str,
    roles: Option<Vec<kabinet_core::Role>>,
    f: impl FnOnce(
        &mut kabinet_store::Store,
        &kabinet_service::Context,
    ) -> Result<T, kabinet_service::ServiceError>,
) -> Result<T> {
    let ctx = kabinet_service::Context {
        lang: kabinet_core::Lang::Bg,
        user: by.to_string(),
        login: by.to_string(),
        now: Utc::now(),
        roles,
    };
    hub.staff_call(|store| {
        store.set_audit_user(Some(by.to_string()));
        f(store, &ctx)
    })?
    .map_err(|e| {
        let body = e.body(kabinet_core::Lang::Bg);
        let mut msg = body.message;
        for f in body.fields {
            msg.push_str(&format!("\n  {}", f.message));
        }
        anyhow::anyhow!(msg)
    })
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

/// A day as the operator types it (yyyy-mm-dd or dd.mm.yyyy), from its first instant in Sofia.
fn sofia_day_start(flag: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    let day = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(text.trim(), "%d.%m.%Y"))
        .map_err(|_| {
            anyhow::anyhow!("{flag} {text}: not a date; write it as 2026-03-01 or 01.03.2026")
        })?;
    use chrono::TimeZone;
    let start = chrono_tz::Europe::Sofia
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .context("Sofia never skips midnight")?;
    Ok(start.with_timezone(&chrono::Utc))
}

fn export_fhir(
    settings: &Settings,
    since: Option<&str>,
    role: &str,
    output: &Path,
    lang: &str,
) -> Result<()> {
    let lang = match lang {
        "bg" => kabinet_core::Lang::Bg,
        "en" => kabinet_core::Lang::En,
        other => bail!("--lang {other}: one of bg, en"),
    };
    let Some(role) = kabinet_core::Role::parse(role) else {
        let all: Vec<&str> = kabinet_core::Role::ALL.iter().map(|r| r.as_str()).collect();
        bail!("--role {role}: not a role; one of {}", all.join(", "));
    };
    if !role.can_read(kabinet_core::AccessClass::General) {
        bail!(
            "--role {}: this role reads no person's record, so it exports none; name the role the export is for (for example doctor or social_worker)",
            role.as_str()
        );
    }
    let since = since.map(|s| sofia_day_start("--since", s)).transpose()?;
    if output.exists() {
        bail!(
            "-o {}: the file exists; name a new one (an export never overwrites)",
            output.display()
        );
    }
    let hub = open(settings)?;
    let ctx = kabinet_service::Context {
        lang,
        user: "hub:operator".into(),
        login: "operator".into(),
        now: chrono::Utc::now(),
        roles: Some(vec![role]),
    };
    let tmp = output.with_extension("part");
    let started = std::time::Instant::now();
    let summary = {
        use std::os::unix::fs::OpenOptionsExt;
        // Health data on disk: readable by the operator's account only.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("-o {}: cannot write", output.display()))?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let summary = crate::desk::staff_call(&hub, |store| {
            kabinet_service::fhir::export_bundle(store, &ctx, since, &mut out)
        })?;
        let summary = match summary {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                bail!("{e}");
            }
        };
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        summary
    };
    // Written whole or not at all: a receiver must never load half a Bundle.
    std::fs::rename(&tmp, output)
        .with_context(|| format!("-o {}: cannot write", output.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let by_type: Vec<String> = summary
        .resources
        .iter()
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    eprintln!(
        "FHIR R4 bundle for role {}: {} persons, {} resources ({}) in {secs:.1} s, written to {}{}",
        role.as_str(),
        summary.persons,
        summary.total(),
        by_type.join(", "),
        output.display(),
        if summary.withdrawn > 0 {
            format!(
                "; {} persons left out (consent withdrawn)",
                summary.withdrawn
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, "from-file\n").unwrap();
        let file: FileConfig = toml::from_str(&format!(
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/hub\"\nkey_file = \"{}\"\n",
            key_file.display()
        ))
        .unwrap();
        let cli = Cli::parse_from(["kabinet-hub", "serve"]);
        let s = settings(&cli, file).unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(s.data_dir, PathBuf::from("/srv/hub"));
        assert_eq!(s.key.as_deref(), Some("from-file"));

        let file: FileConfig = toml::from_str("listen = \"0.0.0.0:9000\"").unwrap();
        let cli = Cli::parse_from([
            "kabinet-hub",
            "--key",
            "k",
            "serve",
            "--listen",
            "127.0.0.1:1234",
        ]);
        let s = settings(&cli, file).unwrap();
        assert_eq!(s.listen, "127.0.0.1:1234".parse().unwrap());
        assert_eq!(s.data_dir, PathBuf::from("hub-data"));
        assert_eq!(s.key.as_deref(), Some("k"));
        assert!(
            toml::from_str::<FileConfig>("lisen = 1").is_err(),
            "a misspelt setting is an error"
        );
    }
}
