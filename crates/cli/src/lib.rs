//! `kabinet`: the cabinet's store from a terminal. Every command that touches the database
//! takes its path and key from `--db`/`--key` or `KABINET_DB`/`KABINET_KEY`. Errors go to
//! stderr in the chosen language (Bulgarian by default) with a non-zero exit; a failed command
//! writes nothing.

mod visit_args;

use anyhow::{Context, Result, anyhow};
use chrono::{NaiveDate, Utc};
use chrono_tz::Europe::Sofia;
use clap::{Args, Parser, Subcommand, ValueEnum};
use kabinet_core::{Egn, Lang, PersonDraft, ValidationErrors};
use kabinet_service::{Context as ServiceContext, Request, Response, ServiceError};
use kabinet_store::import::{ImportError, ImportOptions};
use kabinet_store::{DeviceSettings, Store, StoreKey};
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
    /// Correct a person's record: only the fields given change (an empty value clears one).
    /// A correction of ЕГН, ЛНЧ, birth date or sex needs --reason.
    Edit(Box<PersonEditArgs>),
}

#[derive(Args)]
struct PersonEditArgs {
    id: Uuid,
    #[arg(long)]
    given_name: Option<String>,
    #[arg(long)]
    middle_name: Option<String>,
    #[arg(long)]
    family_name: Option<String>,
    /// Replaces the other names (repeatable; one empty value clears them).
    #[arg(long = "other-name")]
    other_names: Option<Vec<String>>,
    #[arg(long)]
    sex: Option<String>,
    /// yyyy-mm-dd or dd.mm.yyyy.
    #[arg(long, conflicts_with = "birth_year")]
    birth_date: Option<String>,
    /// An estimated birth year, when the date is unknown.
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
    /// Why: required when ЕГН, ЛНЧ, birth date or sex change.
    #[arg(long, default_value = "")]
    reason: String,
    /// Save even though the edit makes the person look like someone else already recorded.
    #[arg(long)]
    not_a_duplicate: bool,
}

impl PersonEditArgs {
    /// The person's form with the given flags applied.
    fn apply(&self, mut d: PersonDraft) -> PersonDraft {
        let set = |slot: &mut Option<String>, given: &Option<String>| {
            if let Some(v) = given {
                *slot = Some(v.clone()).filter(|v| !v.trim().is_empty());
            }
        };
        if let Some(v) = &self.given_name {
            d.given_name = v.clone();
        }
        if let Some(v) = &self.family_name {
            d.family_name = v.clone();
        }
        set(&mut d.middle_name, &self.middle_name);
        if let Some(v) = &self.other_names {
            d.other_names = v.iter().filter(|n| !n.trim().is_empty()).cloned().collect();
        }
        set(&mut d.sex, &self.sex);
        if self.birth_date.is_some() {
            set(&mut d.birth_date, &self.birth_date);
            d.birth_year = None;
        }
        if self.birth_year.is_some() {
            d.birth_year = self.birth_year;
            d.birth_date = None;
        }
        if self.egn.is_some() {
            set(&mut d.egn, &self.egn);
            // A new ЕГН carries its own birth date and sex unless they are given too.
            if self.birth_date.is_none() && self.birth_year.is_none() {
                d.birth_date = None;
                d.birth_year = None;
            }
            if self.sex.is_none() {
                d.sex = None;
            }
        }
        set(&mut d.lnch, &self.lnch);
        set(&mut d.phone, &self.phone);
        set(&mut d.neighbourhood, &self.neighbourhood);
        set(&mut d.address, &self.address);
        d
    }
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
    /// Register even though people with a similar name and birth year (or the same phone)
    /// exist: this is someone else. The same ЕГН is always refused.
    #[arg(long)]
    not_a_duplicate: bool,
}

#[derive(Subcommand)]
enum VisitCommand {
    /// Record a visit with its screenings; shows the suggested referrals.
    Add(Box<visit_args::VisitArgs>),
    /// Correct a saved visit: the values given replace the recorded ones (the others stay);
    /// with --refer, the referrals the corrected values suggest are issued and the visit's
    /// open ones they no longer suggest are cancelled.
    Correct(Box<visit_args::CorrectArgs>),
    /// Mark a visit as entered in error: it stays in the history, its open referrals are
    /// cancelled with the reason.
    Void {
        id: Uuid,
        #[arg(long)]
        reason: String,
    },
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
            if let Some(Refused(refused)) = e.downcast_ref::<Refused>() {
                let body = refused.body(lang);
                let _ = writeln!(stderr, "{}: {}", lang.pick("грешка", "error"), body.message);
                for f in &body.fields {
                    let _ = writeln!(stderr, "  {}", f.message);
                }
                for d in &body.duplicates {
                    let _ = print_hit(&mut stderr, lang, d);
                }
                if matches!(refused, ServiceError::PossibleDuplicates(_)) {
                    let _ = writeln!(
                        stderr,
                        "{}",
                        lang.pick(
                            "Ако е друг човек, повторете с --not-a-duplicate.",
                            "If this is someone else, run again with --not-a-duplicate."
                        )
                    );
                }
                // Input the user can correct exits 2, as before; a failing store exits 1.
                return match refused {
                    ServiceError::Store(_) => ExitCode::FAILURE,
                    _ => ExitCode::from(2),
                };
            }
            if let Some(errors) = invalid {
                for m in errors.messages(lang) {
                    let _ = writeln!(stderr, "{}: {m}", lang.pick("грешка", "error"));
                }
                return ExitCode::from(2);
            }
            if let Some(ImportError::Invalid(issues)) = e.downcast_ref::<ImportError>() {
                for i in issues.iter().take(50) {
                    let _ = writeln!(
                        stderr,
                        "{} {}: {}",
                        lang.pick("ред", "line"),
                        i.line,
                        i.message
                    );
                }
                let _ = writeln!(
                    stderr,
                    "{}",
                    lang.pick(
                        format!("{} невалидни реда; нищо не е внесено.", issues.len()),
                        format!("{} invalid lines; nothing was imported.", issues.len())
                    )
                );
                return ExitCode::from(2);
            }
            if let Some(store_error) = e.downcast_ref::<kabinet_store::StoreError>() {
                let _ = writeln!(
                    stderr,
                    "{}: {}",
                    lang.pick("грешка", "error"),
                    store_error.message(lang)
                );
                return ExitCode::FAILURE;
            }
            let _ = writeln!(stderr, "{}: {e:#}", lang.pick("грешка", "error"));
            ExitCode::FAILURE
        }
    }
}

/// Who is doing this, in which language, when: what every service call is made with. The
/// terminal works on the device's own store, which holds only what its users may read.
fn context(lang: Lang, user: &str, now: chrono::DateTime<Utc>) -> ServiceContext {
    ServiceContext {
        lang,
        user: user.to_string(),
        login: user.to_string(),
        now,
        roles: None,
    }
}

/// One request through the same command set as the app and the hub.
fn call(store: &mut Store, ctx: &ServiceContext, request: Request) -> Result<Response> {
    kabinet_service::handle(store, ctx, request).map_err(|e| anyhow::Error::new(Refused(e)))
}

/// A request the service refused; printed with its fields and the people it may duplicate.
#[derive(Debug)]
struct Refused(ServiceError);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
impl std::error::Error for Refused {}

fn print_hit(out: &mut impl Write, lang: Lang, h: &kabinet_store::PersonHit) -> Result<()> {
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
                lang.pick("без документи", "no documents")
            } else {
                "—"
            }),
        h.phone.as_deref().unwrap_or("—"),
        h.neighbourhood.as_deref().unwrap_or("")
    )?;
    Ok(())
}

fn key_of(cli: &Cli, lang: Lang) -> Result<StoreKey> {
    let text = cli.key.as_deref().ok_or_else(|| {
        anyhow!(lang.pick(
            "няма ключ на базата; подайте --key или задайте KABINET_KEY",
            "no database key; pass --key or set KABINET_KEY"
        ))
    })?;
    Ok(StoreKey::from_text(text)?)
}

fn open(cli: &Cli, lang: Lang) -> Result<Store> {
    Ok(Store::open(&cli.db, &key_of(cli, lang)?)?)
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
                lang.pick("Създадена е база", "Created database"),
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
            let mut store = open(&cli, lang)?;
            let ctx = context(lang, &cli.user, Utc::now());
            // The same rules as the app and the hub: the same ЕГН is refused; likely
            // duplicates are refused until `--not-a-duplicate` confirms this is someone else.
            let Response::CheckPerson(check) = call(
                &mut store,
                &ctx,
                Request::CheckPerson {
                    draft: draft.clone(),
                },
            )?
            else {
                unreachable!("check_person answers with a check")
            };
            let Response::RegisterPerson(registered) = call(
                &mut store,
                &ctx,
                Request::RegisterPerson {
                    draft,
                    not_a_duplicate: a.not_a_duplicate,
                },
            )?
            else {
                unreachable!("register_person answers with the person")
            };
            for w in &check.warnings {
                eprintln!("{}: {}", lang.pick("внимание", "warning"), w.message);
            }
            writeln!(out, "{}", registered.id)?;
        }
        Command::Person(PersonCommand::Edit(a)) => {
            let mut store = open(&cli, lang)?;
            let ctx = context(lang, &cli.user, Utc::now());
            let Response::PersonForm(form) =
                call(&mut store, &ctx, Request::PersonForm { id: a.id })?
            else {
                unreachable!("person_form answers with the form")
            };
            let Response::EditPerson(edited) = call(
                &mut store,
                &ctx,
                Request::EditPerson {
                    id: a.id,
                    draft: a.apply(form),
                    reason: a.reason.clone(),
                    not_a_duplicate: a.not_a_duplicate,
                },
            )?
            else {
                unreachable!("edit_person answers with the fields changed")
            };
            if edited.changed.is_empty() {
                writeln!(out, "{}", lang.pick("Няма промени.", "Nothing changed."))?;
            } else {
                writeln!(
                    out,
                    "{}: {}",
                    lang.pick("Поправено", "Corrected"),
                    edited.changed.join(", ")
                )?;
            }
        }
        Command::Person(PersonCommand::Search { query, limit, json }) => {
            let store = open(&cli, lang)?;
            let hits = store.search_persons(query, *limit)?;
            if *json {
                for h in &hits {
                    writeln!(out, "{}", serde_json::to_string(h)?)?;
                }
            } else if hits.is_empty() {
                writeln!(out, "{}", lang.pick("Няма намерени.", "No matches."))?;
            } else {
                for h in &hits {
                    print_hit(&mut out, lang, h)?;
                }
            }
        }
        Command::Person(PersonCommand::Show { id, json }) => {
            let mut store = open(&cli, lang)?;
            let ctx = context(lang, &cli.user, Utc::now());
            let Response::PersonRecord(record) =
                call(&mut store, &ctx, Request::PersonRecord { id: *id })?
            else {
                unreachable!("person_record answers with the record")
            };
            if *json {
                // The person and visits as stored (the export's shape), and the referrals as
                // the screens see them (reason spelled `screening:hiv`, with labels and due
                // date).
                let person = store.person(*id)?;
                let visits = store
                    .visits_of_person(*id)?
                    .iter()
                    .map(|v| store.visit(v.id))
                    .collect::<Result<Vec<_>, _>>()?;
                let doc = serde_json::json!({
                    "person": person,
                    "visits": visits,
                    "referrals": record.referrals,
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
            } else {
                let p = &record.person;
                writeln!(out, "{} ({})", p.full_name, p.latin_name)?;
                writeln!(
                    out,
                    "  {}: {}  {}: {}",
                    lang.pick("роден(а)", "born"),
                    p.birth,
                    lang.pick("пол", "sex"),
                    p.sex
                )?;
                if let Some(e) = &p.egn {
                    writeln!(out, "  ЕГН: {e}")?;
                }
                if let Some(phone) = &p.phone {
                    writeln!(out, "  {}: {phone}", lang.pick("телефон", "phone"))?;
                }
                writeln!(
                    out,
                    "  {}: {}",
                    lang.pick("посещения", "visits"),
                    record.visits.len()
                )?;
                for v in &record.visits {
                    let kinds: Vec<&str> = v.screenings.iter().map(|s| s.label.as_str()).collect();
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
                    lang.pick("направления", "referrals"),
                    record.referrals.len()
                )?;
                for r in &record.referrals {
                    writeln!(
                        out,
                        "    {}  {}  {}  {}  {}",
                        r.code,
                        r.reason_label,
                        r.destination_label,
                        r.urgency_label,
                        r.status_label
                    )?;
                }
            }
        }
        Command::Visit(VisitCommand::Add(args)) => {
            visit_args::add_visit(&cli, lang, args, &mut out)?
        }
        Command::Visit(VisitCommand::Correct(args)) => {
            visit_args::correct_visit(&cli, lang, args, &mut out)?
        }
        Command::Visit(VisitCommand::Void { id, reason }) => {
            let mut store = open(&cli, lang)?;
            let ctx = context(lang, &cli.user, Utc::now());
            call(
                &mut store,
                &ctx,
                Request::VoidVisit {
                    visit_id: *id,
                    reason: reason.clone(),
                },
            )?;
            writeln!(
                out,
                "{}",
                lang.pick(
                    "Отбелязано като въведено по грешка.",
                    "Marked as entered in error."
                )
            )?;
        }
        Command::Today { day } => {
            let mut store = open(&cli, lang)?;
            let ctx = context(lang, &cli.user, Utc::now());
            let Response::Today(today) = call(&mut store, &ctx, Request::Today { day: *day })?
            else {
                unreachable!("today answers with the day")
            };
            let cabinet = store.settings()?.cabinet;
            writeln!(
                out,
                "{} {} — {}: {}",
                lang.pick("Посещения на", "Visits on"),
                today.day,
                cabinet,
                today.visits.len()
            )?;
            for v in &today.visits {
                writeln!(
                    out,
                    "  {}  {}  {}",
                    v.at.with_timezone(&Sofia).format("%H:%M"),
                    v.person_name,
                    v.specialist
                )?;
            }
            let open_refs: Vec<_> = today.referrals.iter().take(20).collect();
            writeln!(
                out,
                "{}: {}",
                lang.pick(
                    "Отворени направления (първите 20)",
                    "Open referrals (first 20)"
                ),
                open_refs.len()
            )?;
            for r in open_refs {
                writeln!(
                    out,
                    "  {}  {}  {}  {}  {}",
                    r.code, r.urgency_label, r.person_name, r.reason_label, r.destination_label
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
                    lang.pick("пропуснат скрининг, ред", "skipped screening, line"),
                    s.line,
                    s.message
                );
            }
            writeln!(
                out,
                "{}: {} | {}: {} | {}: {} | {}: {}",
                lang.pick("редове", "lines"),
                report.lines,
                lang.pick("лица", "persons"),
                report.persons_written,
                lang.pick("посещения", "visits"),
                report.visits_written,
                lang.pick("направления", "referrals"),
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
                    eprintln!("{n} {}", lang.pick("записа", "records"));
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
                    lang.pick(
                        "Закрепен сертификат на Хъба (SHA-256; сравнете с отпечатания от kabinet-hub enroll):",
                        "Pinned hub certificate (SHA-256; compare with the one kabinet-hub enroll printed):"
                    ),
                    f.to_uppercase()
                )?;
            }
            writeln!(
                out,
                "{} {hub}: {} {}, {} {:02}",
                lang.pick("Устройството е регистрирано в", "Device enrolled with"),
                lang.pick("кабинет", "cabinet"),
                settings.cabinet,
                lang.pick("номер за направления", "referral issuer"),
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
                    lang.pick("синхронизация", "syncing"),
                    r.docs_sent,
                    r.bytes_sent,
                    r.docs_received,
                    r.bytes_received
                );
            })?;
            writeln!(
                out,
                "{}: ↑ {} {} ({} B), ↓ {} {} ({} B), {} {}",
                lang.pick("Синхронизирано", "Synced"),
                report.docs_sent,
                lang.pick("документа", "documents"),
                report.bytes_sent,
                report.docs_received,
                lang.pick("документа", "documents"),
                report.bytes_received,
                report.exchanges,
                lang.pick("заявки", "requests")
            )?;
        }
        Command::Rekey => {
            let new_key = std::env::var("KABINET_NEW_KEY").map_err(|_| {
                anyhow::anyhow!(lang.pick(
                    "задайте новия ключ в KABINET_NEW_KEY",
                    "set the new key in KABINET_NEW_KEY"
                ))
            })?;
            let store = open(&cli, lang)?;
            store.rekey(&StoreKey::from_text(&new_key)?)?;
            writeln!(
                out,
                "{}",
                lang.pick("Ключът е сменен.", "The key was changed.")
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
                lang.pick("Потребители на устройството:", "Users of this device:"),
                users.iter().filter(|u| !u.disabled).count(),
                lang.pick("нови", "new"),
                outcome.added.len(),
                lang.pick("премахнати", "removed"),
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
                    lang.pick("Хъб", "Hub"),
                    status
                        .hub_url
                        .as_deref()
                        .unwrap_or(lang.pick("не е регистрирано", "not enrolled"))
                )?;
                writeln!(
                    out,
                    "{}: {}",
                    lang.pick("Чакащи промени", "Pending changes"),
                    status.pending_local_changes
                )?;
                writeln!(
                    out,
                    "{}: {}",
                    lang.pick("Последна синхронизация", "Last sync"),
                    status.last_success.map_or_else(
                        || lang.pick("никога", "never").to_string(),
                        |t| t.with_timezone(&Sofia).format("%d.%m.%Y %H:%M").to_string()
                    )
                )?;
                if let Some(e) = &status.last_error {
                    writeln!(out, "{}: {e}", lang.pick("Последна грешка", "Last error"))?;
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
                lang.pick(
                    "документа прочетени; таблиците са възстановени.",
                    "documents read; query tables rebuilt."
                )
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
