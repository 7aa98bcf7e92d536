//! `kabinet`: the cabinet's store from a terminal. Every command that touches the database
//! takes its path and key from `--db`/`--key` or `KABINET_DB`/`KABINET_KEY`. Errors go to
//! stderr in the chosen language (Bulgarian by default) with a non-zero exit; a failed command
//! writes nothing.

mod visit_args;

use anyhow::{Context, Result, anyhow};
use chrono::{NaiveDate, Utc};
use chrono_tz::Europe::Sofia;
use clap::{Args, Parser, Subcommand, ValueEnum};
use kabinet_core::{Egn, Lang, PersonDraft, Recorded, ValidationErrors};
use kabinet_store::import::{ImportError, ImportOptions};
use kabinet_store::{DeviceSettings, Origin, Store, StoreKey};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "kabinet",
    version,
    about = "Kabinet — the mobile medical cabinet's records, offline"
)]
struct Cli {
    /// Database file.
    #[arg(long, env = "KABINET_DB", default_value = "kabinet.db", global = true)]
    db: PathBuf,
    /// Database key: a passphrase, or raw:<64 hex digits>.
    #[arg(long, env = "KABINET_KEY", hide_env_values = true, global = true)]
    key: Option<String>,
    /// Language of messages.
    #[arg(
        long,
        env = "KABINET_LANG",
        value_enum,
        default_value = "bg",
        global = true
    )]
    lang: LangArg,
    /// Who is doing this (recorded with consents and status changes).
    #[arg(
        long = "as",
        env = "KABINET_USER",
        default_value = "cli",
        global = true
    )]
    user: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Bg,
    En,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    /// Create a new encrypted database.
    Init {
        /// The cabinet (or hub desk) this device works for.
        #[arg(long, default_value = "cabinet-1")]
        cabinet: String,
        /// Referral code issuer number, 1–99 (the hub assigns one per device).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=99))]
        issuer: u8,
    },
    /// Persons: add, search, show.
    #[command(subcommand)]
    Person(PersonCommand),
    /// Visits: record one.
    #[command(subcommand)]
    Visit(VisitCommand),
    /// Today's visits and the open referrals.
    Today {
        /// Another day (yyyy-mm-dd).
        #[arg(long)]
        day: Option<NaiveDate>,
    },
    /// Import JSON lines (gen_workload.py visits or `kabinet export` records).
    Import {
        file: PathBuf,
        /// Drop screenings with impossible values (reported) instead of refusing the file.
        #[arg(long)]
        skip_invalid_screenings: bool,
    },
    /// Export every record as JSON lines.
    Export {
        /// Write to a file instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Check ЕГН numbers: one per line on stdin, one JSON object per line on stdout.
    Egn,
    /// Recreate the query tables from the documents.
    Rebuild,
    /// Enroll this device with the hub (once), with the code the hub operator gives.
    Enroll {
        /// The hub's address, e.g. https://192.168.1.10:8750, optionally followed by the
        /// fingerprint `kabinet-hub enroll` printed: https://…:8750#sha256=AB12…
        #[arg(long, env = "KABINET_HUB_URL")]
        hub: String,
        #[arg(long)]
        code: String,
        /// A name for this device, as the hub lists it.
        #[arg(long, default_value = "kabinet")]
        name: String,
    },
    /// Re-encrypt the database under a new key, read from KABINET_NEW_KEY (a passphrase or
    /// raw:<64 hex digits>); the old key stops working.
    Rekey,
    /// Take the hub's users for this device into the keyring beside the database, so they can
    /// log in to the app offline (the app does this after every sync by itself).
    UsersSync,
    /// Sync with the hub now: send what changed here, receive what changed elsewhere.
    Sync {
        /// Keep running: sync whenever the hub is reachable (probing with backoff while it
        /// is not) and print each change of state.
        #[arg(long)]
        watch: bool,
    },
    /// Sync status: hub, pending local changes, last success, last error.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PersonCommand {
    /// Register a person.
    Add(Box<PersonArgs>),
    /// Find persons by name (Cyrillic or Latin), ЕГН, ЛНЧ or phone.
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show a person with their visits and referrals.
    Show {
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct PersonArgs {
    #[arg(long)]
    given_name: String,
    #[arg(long)]
    middle_name: Option<String>,
    #[arg(long)]
    family_name: String,
    /// Another name or spelling the person is known by (repeatable).
    #[arg(long = "other-name")]
    other_names: Vec<String>,
    /// M or F (filled from the ЕГН when omitted).
    #[arg(long)]
    sex: Option<String>,
    /// yyyy-mm-dd or dd.mm.yyyy (filled from the ЕГН when omitted).
    #[arg(long)]
    birth_date: Option<String>,
    /// Estimated birth year, when the date is unknown.
    #[arg(long)]
    birth_year: Option<i32>,
    #[arg(long)]
    egn: Option<String>,
    #[arg(long)]
    lnch: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    neighbourhood: Option<String>,
    #[arg(long)]
    address: Option<String>,
    /// The person has no identity documents.
    #[arg(long)]
    no_documents: bool,
    /// The person consents to the processing of their data.
    #[arg(long)]
    consent: bool,
}

#[derive(Subcommand)]
enum VisitCommand {
    /// Record a visit with its screenings; shows the suggested referrals.
    Add(Box<visit_args::VisitArgs>),
}

/// A validation failure, printed field by field.
#[derive(Debug)]
struct Invalid(ValidationErrors);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl std::error::Error for Invalid {}

/// The whole `kabinet` command line; the binary is this one call.
pub fn main_entry() -> ExitCode {
    let cli = Cli::parse();
    let lang = match cli.lang {
        LangArg::Bg => Lang::Bg,
        LangArg::En => Lang::En,
    };
    match run(cli, lang) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Output piped into `head` and closed early is not an error.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            let invalid = match (
                e.downcast_ref::<Invalid>(),
                e.downcast_ref::<kabinet_store::StoreError>(),
            ) {
                (Some(Invalid(errors)), _) => Some(errors),
                (_, Some(kabinet_store::StoreError::Invalid(errors))) => Some(errors),
                _ => None,
            };
            if let Some(errors) = invalid {
                for m in errors.messages(lang) {
                    let _ = writeln!(stderr, "{}: {m}", tr(lang, "грешка", "error"));
                }
                return ExitCode::from(2);
            }
            if let Some(ImportError::Invalid(issues)) = e.downcast_ref::<ImportError>() {
                for i in issues.iter().take(50) {
                    let _ = writeln!(
                        stderr,
                        "{} {}: {}",
                        tr(lang, "ред", "line"),
                        i.line,
                        i.message
                    );
                }
                let _ = writeln!(
                    stderr,
                    "{}",
                    match lang {
                        Lang::Bg => format!("{} невалидни реда; нищо не е внесено.", issues.len()),
                        Lang::En =>
                            format!("{} invalid lines; nothing was imported.", issues.len()),
                    }
                );
                return ExitCode::from(2);
            }
            if let Some(store_error) = e.downcast_ref::<kabinet_store::StoreError>() {
                let _ = writeln!(
                    stderr,
                    "{}: {}",
                    tr(lang, "грешка", "error"),
                    store_error.message(lang)
                );
                return ExitCode::FAILURE;
            }
            let _ = writeln!(stderr, "{}: {e:#}", tr(lang, "грешка", "error"));
            ExitCode::FAILURE
        }
    }
}

fn tr(lang: Lang, bg: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Bg => bg,
        Lang::En => en,
    }
}

/// A referral reason as stored in the query table, for people.
fn reason_label(reason: &str) -> String {
    kabinet_core::ScreeningKind::parse(reason)
        .map_or_else(|| reason.to_string(), |k| k.label_bg().to_string())
}

fn destination_label(slug: &str, lang: Lang) -> String {
    kabinet_core::Destination::parse(slug)
        .map_or_else(|_| slug.to_string(), |d| d.label(lang).to_string())
}

fn key_of(cli: &Cli, lang: Lang) -> Result<StoreKey> {
    let text = cli.key.as_deref().ok_or_else(|| {
        anyhow!(tr(
            lang,
            "няма ключ на базата; подайте --key или задайте KABINET_KEY",
            "no database key; pass --key or set KABINET_KEY"
        ))
    })?;
    Ok(StoreKey::from_text(text)?)
}

fn open(cli: &Cli, lang: Lang) -> Result<Store> {
    Ok(Store::open(&cli.db, &key_of(cli, lang)?)?)
}

fn recorded(cli: &Cli) -> Recorded {
    Recorded {
        by: cli.user.clone(),
        at: Utc::now(),
    }
}

fn run(cli: Cli, lang: Lang) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match &cli.command {
        Command::Init { cabinet, issuer } => {
            let settings = DeviceSettings {
                cabinet: cabinet.clone(),
                issuer: *issuer,
            };
            Store::create(&cli.db, &key_of(&cli, lang)?, &settings)?;
            writeln!(
                out,
                "{} {}",
                tr(lang, "Създадена е база", "Created database"),
                cli.db.display()
            )?;
        }
        Command::Person(PersonCommand::Add(a)) => {
            let draft = PersonDraft {
                given_name: a.given_name.clone(),
                middle_name: a.middle_name.clone(),
                family_name: a.family_name.clone(),
                other_names: a.other_names.clone(),
                sex: a.sex.clone(),
                birth_date: a.birth_date.clone(),
                birth_year: a.birth_year,
                egn: a.egn.clone(),
                lnch: a.lnch.clone(),
                phone: a.phone.clone(),
                neighbourhood: a.neighbourhood.clone(),
                address: a.address.clone(),
                no_documents: a.no_documents,
                consent_given: a.consent,
            };
            let checked = draft
                .validate(Uuid::now_v7(), Utc::now().date_naive(), &recorded(&cli))
                .map_err(Invalid)?;
            let mut store = open(&cli, lang)?;
            let person = checked.value;
            // An ЕГН is one person's: a second registration with it is refused. A similar name
            // and birth year is only shown: two people may share both.
            let same_egn = match &person.egn {
                Some(e) => store
                    .search_persons(e.as_str(), 5)?
                    .into_iter()
                    .filter(|h| h.egn.as_deref() == Some(e.as_str()))
                    .collect(),
                None => Vec::new(),
            };
            if let Some(existing) = same_egn.first() {
                return Err(anyhow!(
                    "{} {} ({})",
                    tr(
                        lang,
                        "вече има човек с това ЕГН:",
                        "a person with this EGN exists:"
                    ),
                    existing.full_name,
                    existing.id
                ));
            }
            let similar = store.search_persons(
                &format!("{} {}", person.family_name, person.birth_date.year()),
                5,
            )?;
            store.write(Origin::Local, |w| w.put_person(&person))?;
            for h in similar {
                eprintln!(
                    "{}: {} ({}, {})",
                    tr(lang, "възможен дубликат", "possible duplicate"),
                    h.full_name,
                    h.birth,
                    h.id
                );
            }
            for w in &checked.warnings {
                eprintln!("{}: {}", tr(lang, "внимание", "warning"), w.message(lang));
            }
            writeln!(out, "{}", person.id)?;
        }
        Command::Person(PersonCommand::Search { query, limit, json }) => {
            let store = open(&cli, lang)?;
            let hits = store.search_persons(query, *limit)?;
            if *json {
                for h in &hits {
                    writeln!(out, "{}", serde_json::to_string(h)?)?;
                }
            } else if hits.is_empty() {
                writeln!(out, "{}", tr(lang, "Няма намерени.", "No matches."))?;
            } else {
                for h in &hits {
                    writeln!(
                        out,
                        "{}  {} ({})  {}  {}  {}  {}",
                        h.id,
                        h.full_name,
                        h.latin_name,
                        h.birth,
                        h.egn
                            .as_deref()
                            .or(h.lnch.as_deref())
                            .unwrap_or(if h.no_documents {
                                "без документи"
                            } else {
                                "—"
                            }),
                        h.phone.as_deref().unwrap_or("—"),
                        h.neighbourhood.as_deref().unwrap_or("")
                    )?;
                }
            }
        }
        Command::Person(PersonCommand::Show { id, json }) => {
            let store = open(&cli, lang)?;
            let person = store.person(*id)?;
            let visits = store
                .visits_of_person(*id)?
                .iter()
                .map(|v| store.visit(v.id))
                .collect::<Result<Vec<_>, _>>()?;
            let referrals = store.referrals_of_person(*id)?;
            if *json {
                let doc =
                    serde_json::json!({"person": person, "visits": visits, "referrals": referrals});
                writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
            } else {
                writeln!(out, "{} ({})", person.full_name(), person.latin_name())?;
                writeln!(
                    out,
                    "  {}: {}  {}: {}",
                    tr(lang, "роден(а)", "born"),
                    person.birth_date.display(),
                    tr(lang, "пол", "sex"),
                    person.sex.as_str()
                )?;
                if let Some(e) = &person.egn {
                    writeln!(out, "  ЕГН: {e}")?;
                }
                if let Some(p) = &person.phone {
                    writeln!(out, "  {}: {}", tr(lang, "телефон", "phone"), p.as_str())?;
                }
                writeln!(
                    out,
                    "  {}: {}",
                    tr(lang, "посещения", "visits"),
                    visits.len()
                )?;
                for v in &visits {
                    let kinds: Vec<&str> =
                        v.screenings.kinds().iter().map(|k| k.label_bg()).collect();
                    writeln!(
                        out,
                        "    {}  {}  {}  {}",
                        v.at.with_timezone(&Sofia).format("%d.%m.%Y %H:%M"),
                        v.cabinet,
                        v.specialist,
                        kinds.join(", ")
                    )?;
                }
                writeln!(
                    out,
                    "  {}: {}",
                    tr(lang, "направления", "referrals"),
                    referrals.len()
                )?;
                for r in &referrals {
                    writeln!(
                        out,
                        "    {}  {}  {}  {}  {}",
                        r.code,
                        reason_label(&r.reason),
                        destination_label(&r.destination, lang),
                        r.urgency.label(lang),
                        r.status
                    )?;
                }
            }
        }
        Command::Visit(VisitCommand::Add(args)) => {
            visit_args::add_visit(&cli, lang, args, &mut out)?
        }
        Command::Today { day } => {
            let store = open(&cli, lang)?;
            let day = day.unwrap_or_else(|| {
                Utc::now()
                    .with_timezone(&chrono_tz::Europe::Sofia)
                    .date_naive()
            });
            let cabinet = store.settings()?.cabinet;
            let visits = store.visits_on(day, None)?;
            writeln!(
                out,
                "{} {} — {}: {}",
                tr(lang, "Посещения на", "Visits on"),
                day.format("%d.%m.%Y"),
                cabinet,
                visits.len()
            )?;
            for v in &visits {
                writeln!(
                    out,
                    "  {}  {}  {}",
                    v.at.with_timezone(&Sofia).format("%H:%M"),
                    v.person_name,
                    v.specialist
                )?;
            }
            let open_refs = store.open_referrals(20)?;
            writeln!(
                out,
                "{}: {}",
                tr(
                    lang,
                    "Отворени направления (първите 20)",
                    "Open referrals (first 20)"
                ),
                open_refs.len()
            )?;
            for r in &open_refs {
                writeln!(
                    out,
                    "  {}  {}  {}  {}  {}",
                    r.code,
                    r.urgency.label(lang),
                    r.person_name,
                    reason_label(&r.reason),
                    destination_label(&r.destination, lang)
                )?;
            }
        }
        Command::Import {
            file,
            skip_invalid_screenings,
        } => {
            let mut store = open(&cli, lang)?;
            let f = std::fs::File::open(file).with_context(|| format!("{}", file.display()))?;
            let report = kabinet_store::import::import(
                &mut store,
                BufReader::new(f),
                &ImportOptions {
                    skip_invalid_screenings: *skip_invalid_screenings,
                    recorded_by: cli.user.clone(),
                },
            )?;
            for s in &report.skipped {
                eprintln!(
                    "{} {}: {}",
                    tr(lang, "пропуснат скрининг, ред", "skipped screening, line"),
                    s.line,
                    s.message
                );
            }
            writeln!(
                out,
                "{}: {} | {}: {} | {}: {} | {}: {}",
                tr(lang, "редове", "lines"),
                report.lines,
                tr(lang, "лица", "persons"),
                report.persons_written,
                tr(lang, "посещения", "visits"),
                report.visits_written,
                tr(lang, "направления", "referrals"),
                report.referrals_written
            )?;
        }
        Command::Export { output } => {
            let store = open(&cli, lang)?;
            match output {
                Some(path) => {
                    // Write beside the target and rename: a failed export leaves no half file.
                    let tmp = path.with_extension("partial");
                    let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
                    let n = kabinet_store::import::export(&store, &mut f)?;
                    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                    std::fs::rename(&tmp, path)?;
                    eprintln!("{n} {}", tr(lang, "записа", "records"));
                }
                None => {
                    kabinet_store::import::export(&store, &mut out)?;
                }
            }
        }
        Command::Egn => {
            for line in std::io::stdin().lock().lines() {
                let input = line?;
                let value = match Egn::parse(&input) {
                    Ok(egn) => serde_json::json!({
                        "input": input,
                        "valid": true,
                        "birth_date": egn.birth_date().to_string(),
                        "sex": egn.sex().as_str(),
                        "error": null,
                    }),
                    Err(e) => serde_json::json!({
                        "input": input,
                        "valid": false,
                        "birth_date": null,
                        "sex": null,
                        "error": e.message(lang),
                    }),
                };
                writeln!(out, "{value}")?;
            }
        }
        Command::Enroll { hub, code, name } => {
            let mut store = open(&cli, lang)?;
            let enrolled = kabinet_sync::enroll(&mut store, hub, code, name)?;
            let settings = store.settings()?;
            if let Some(f) = &enrolled.fingerprint {
                writeln!(
                    out,
                    "{} {}",
                    tr(
                        lang,
                        "Закрепен сертификат на Хъба (SHA-256; сравнете с отпечатания от kabinet-hub enroll):",
                        "Pinned hub certificate (SHA-256; compare with the one kabinet-hub enroll printed):"
                    ),
                    f.to_uppercase()
                )?;
            }
            writeln!(
                out,
                "{} {hub}: {} {}, {} {:02}",
                tr(
                    lang,
                    "Устройството е регистрирано в",
                    "Device enrolled with"
                ),
                tr(lang, "кабинет", "cabinet"),
                settings.cabinet,
                tr(lang, "номер за направления", "referral issuer"),
                settings.issuer
            )?;
        }
        Command::Sync { watch: true } => {
            drop(open(&cli, lang)?); // clear errors (missing file, wrong key) before starting
            let agent = kabinet_sync::SyncAgent::start(
                cli.db.clone(),
                key_of(&cli, lang)?,
                Default::default(),
            )?;
            let mut last = String::new();
            loop {
                let view = serde_json::to_string(&agent.view())?;
                if view != last {
                    writeln!(out, "{view}")?;
                    out.flush()?;
                    last = view;
                }
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        }
        Command::Sync { watch: false } => {
            let mut store = open(&cli, lang)?;
            let report = kabinet_sync::sync(&mut store, |r| {
                eprintln!(
                    "… {} ↑ {} ({} B)  ↓ {} ({} B)",
                    tr(lang, "синхронизация", "syncing"),
                    r.docs_sent,
                    r.bytes_sent,
                    r.docs_received,
                    r.bytes_received
                );
            })?;
            writeln!(
                out,
                "{}: ↑ {} {} ({} B), ↓ {} {} ({} B), {} {}",
                tr(lang, "Синхронизирано", "Synced"),
                report.docs_sent,
                tr(lang, "документа", "documents"),
                report.bytes_sent,
                report.docs_received,
                tr(lang, "документа", "documents"),
                report.bytes_received,
                report.exchanges,
                tr(lang, "заявки", "requests")
            )?;
        }
        Command::Rekey => {
            let new_key = std::env::var("KABINET_NEW_KEY").map_err(|_| {
                anyhow::anyhow!(tr(
                    lang,
                    "задайте новия ключ в KABINET_NEW_KEY",
                    "set the new key in KABINET_NEW_KEY"
                ))
            })?;
            let store = open(&cli, lang)?;
            store.rekey(&StoreKey::from_text(&new_key)?)?;
            writeln!(
                out,
                "{}",
                tr(lang, "Ключът е сменен.", "The key was changed.")
            )?;
        }
        Command::UsersSync => {
            let key = key_of(&cli, lang)?;
            let store = Store::open(&cli.db, &key)?;
            let ring = kabinet_keys::Keyring::beside(&cli.db);
            let outcome = kabinet_sync::sync_users(&store, &ring, &key)?;
            let users = kabinet_keys::Keyring::load(&ring)?.users();
            writeln!(
                out,
                "{} {} ({}: {}; {}: {})",
                tr(
                    lang,
                    "Потребители на устройството:",
                    "Users of this device:"
                ),
                users.iter().filter(|u| !u.disabled).count(),
                tr(lang, "нови", "new"),
                outcome.added.len(),
                tr(lang, "премахнати", "removed"),
                outcome.removed.len()
            )?;
        }
        Command::Status { json } => {
            let store = open(&cli, lang)?;
            let status = kabinet_sync::status(&store)?;
            if *json {
                writeln!(out, "{}", serde_json::to_string(&status)?)?;
            } else {
                writeln!(
                    out,
                    "{}: {}",
                    tr(lang, "Хъб", "Hub"),
                    status.hub_url.as_deref().unwrap_or(tr(
                        lang,
                        "не е регистрирано",
                        "not enrolled"
                    ))
                )?;
                writeln!(
                    out,
                    "{}: {}",
                    tr(lang, "Чакащи промени", "Pending changes"),
                    status.pending_local_changes
                )?;
                writeln!(
                    out,
                    "{}: {}",
                    tr(lang, "Последна синхронизация", "Last sync"),
                    status.last_success.map_or_else(
                        || tr(lang, "никога", "never").to_string(),
                        |t| t.with_timezone(&Sofia).format("%d.%m.%Y %H:%M").to_string()
                    )
                )?;
                if let Some(e) = &status.last_error {
                    writeln!(out, "{}: {e}", tr(lang, "Последна грешка", "Last error"))?;
                }
            }
        }
        Command::Rebuild => {
            let mut store = open(&cli, lang)?;
            let report = store.rebuild_projections()?;
            writeln!(
                out,
                "{} {}",
                report.documents,
                tr(
                    lang,
                    "документа прочетени; таблиците са възстановени.",
                    "documents read; query tables rebuilt."
                )
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
