//! `kabinet visit add`: the visit form as flags. Values are turned into core's screenings and
//! checked there; the suggested referrals come from core's rules and are issued with
//! `--refer`, in the same transaction as the visit.

use crate::{Cli, Invalid, open, tr};
use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Args;
use kabinet_core::*;
use kabinet_store::Origin;
use std::io::Write;
use uuid::Uuid;

#[derive(Args)]
pub struct VisitArgs {
    /// The person's id (from `kabinet person search`).
    #[arg(long)]
    person: Uuid,
    /// The cabinet; defaults to this device's.
    #[arg(long)]
    cabinet: Option<String>,
    #[arg(long)]
    specialist: String,
    /// When (RFC 3339); defaults to now.
    #[arg(long)]
    at: Option<DateTime<Utc>>,
    #[arg(long)]
    place: Option<String>,
    #[arg(long, default_value = "")]
    notes: String,

    /// HIV rapid test result: reactive | non-reactive | invalid.
    #[arg(long)]
    hiv: Option<String>,
    /// Informed consent for the HIV test was given.
    #[arg(long)]
    hiv_consent: bool,
    /// Pre-test counselling was done.
    #[arg(long)]
    hiv_counselled: bool,

    /// Capillary glucose value.
    #[arg(long)]
    glucose: Option<f64>,
    /// mmol/L (default) or mg/dL.
    #[arg(long, default_value = "mmol/L")]
    glucose_unit: String,
    /// The glucose was measured fasting.
    #[arg(long)]
    fasting: bool,

    /// HbA1c value.
    #[arg(long)]
    hba1c: Option<f64>,
    /// % (default) or mmol/mol.
    #[arg(long, default_value = "%")]
    hba1c_unit: String,

    /// Blood pressure as systolic/diastolic, e.g. 150/95.
    #[arg(long)]
    bp: Option<String>,
    #[arg(long)]
    pulse: Option<u16>,

    #[arg(long)]
    weight_kg: Option<f64>,
    #[arg(long)]
    height_cm: Option<f64>,

    /// TB screen: current cough.
    #[arg(long)]
    tb_cough: bool,
    #[arg(long, default_value_t = 0)]
    tb_cough_weeks: u16,
    #[arg(long)]
    tb_fever: bool,
    #[arg(long)]
    tb_night_sweats: bool,
    #[arg(long)]
    tb_weight_loss: bool,
    /// Contact with a person with TB.
    #[arg(long)]
    tb_contact: bool,
    /// Record a TB screen with no symptoms (when no TB flag is given).
    #[arg(long)]
    tb_screened: bool,

    /// Hepatitis B (HBsAg) rapid test result.
    #[arg(long)]
    hbsag: Option<String>,
    /// Hepatitis C (anti-HCV) rapid test result.
    #[arg(long)]
    anti_hcv: Option<String>,

    /// Issue the suggested referrals.
    #[arg(long)]
    refer: bool,
}

fn unit_error(field: Field, input: &str, expected: &'static str) -> ValidationError {
    ValidationError::new(
        field,
        Problem::UnknownValue {
            input: input.to_string(),
            expected,
        },
    )
}

/// Builds the screenings from the flags through core's visit form (the same reading the app
/// and the hub's web UI use), collecting every malformed flag at once.
fn screenings(a: &VisitArgs) -> Result<Screenings, ValidationErrors> {
    let (systolic, diastolic) = match &a.bp {
        None => (String::new(), String::new()),
        Some(bp) => match bp.split_once('/') {
            Some((sys, dia)) => (sys.trim().to_string(), dia.trim().to_string()),
            None => {
                return Err(ValidationErrors(vec![unit_error(
                    Field::Systolic,
                    bp,
                    "систолно/диастолно, напр. 150/95",
                )]));
            }
        },
    };
    let text = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    VisitForm {
        hiv_result: a.hiv.clone().unwrap_or_default(),
        hiv_consent: a.hiv_consent,
        hiv_counselled: a.hiv_counselled,
        glucose: text(a.glucose),
        glucose_unit: a.glucose_unit.clone(),
        fasting: a.fasting,
        hba1c: text(a.hba1c),
        hba1c_unit: a.hba1c_unit.clone(),
        systolic,
        diastolic,
        pulse: a.pulse.map(|p| p.to_string()).unwrap_or_default(),
        weight_kg: text(a.weight_kg),
        height_cm: text(a.height_cm),
        tb_screened: a.tb_screened,
        tb_cough: a.tb_cough,
        tb_cough_weeks: a.tb_cough_weeks.to_string(),
        tb_fever: a.tb_fever,
        tb_night_sweats: a.tb_night_sweats,
        tb_weight_loss: a.tb_weight_loss,
        tb_contact: a.tb_contact,
        hbsag: a.hbsag.clone().unwrap_or_default(),
        anti_hcv: a.anti_hcv.clone().unwrap_or_default(),
    }
    .screenings()
}

pub fn add_visit(cli: &Cli, lang: Lang, a: &VisitArgs, out: &mut impl Write) -> Result<()> {
    let screenings = screenings(a).map_err(Invalid)?;
    let mut store = open(cli, lang)?;
    // The person must exist here: a visit never points at nobody.
    store.person(a.person)?;
    let now = Utc::now();
    let visit = Visit {
        id: Uuid::now_v7(),
        person_id: a.person,
        cabinet: a.cabinet.clone().unwrap_or(store.settings()?.cabinet),
        specialist: a.specialist.clone(),
        at: a.at.unwrap_or(now),
        place: a.place.clone(),
        screenings,
        notes: a.notes.clone(),
    };
    let checked = visit.check(now).map_err(Invalid)?;
    let suggestions = rules::suggest_referrals(&visit.screenings);
    let codes = store.write(Origin::Local, |w| {
        w.put_visit(&visit)?;
        let mut codes = Vec::new();
        if a.refer {
            for s in &suggestions {
                let referral = Referral {
                    id: Uuid::now_v7(),
                    code: w.next_referral_code()?,
                    person_id: visit.person_id,
                    visit_id: visit.id,
                    reason: ReferralReason::Screening(s.reason),
                    destination: s.destination,
                    urgency: s.urgency,
                    history: vec![StatusChange {
                        status: ReferralStatus::Issued,
                        at: now,
                        by: visit.specialist.clone(),
                        note: None,
                    }],
                };
                w.put_referral(&referral)?;
                codes.push(referral.code);
            }
        }
        Ok(codes)
    })?;
    for w in &checked.warnings {
        eprintln!("{}: {}", tr(lang, "внимание", "warning"), w.message(lang));
    }
    writeln!(out, "{}", visit.id)?;
    if suggestions.is_empty() {
        writeln!(
            out,
            "{}",
            tr(
                lang,
                "Няма предложени направления.",
                "No suggested referrals."
            )
        )?;
    }
    for (i, s) in suggestions.iter().enumerate() {
        let issued = codes.get(i).map(|c| format!("  [{c}]")).unwrap_or_default();
        writeln!(
            out,
            "{} {} → {} ({}): {}{issued}",
            tr(lang, "Направление:", "Referral:"),
            s.reason.label_bg(),
            s.destination.label(lang),
            s.urgency.label(lang),
            s.finding(lang),
        )?;
    }
    Ok(())
}
