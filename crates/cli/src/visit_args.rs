//! `kabinet visit add`: the visit form as flags, saved through the same `save_visit` as the
//! app and the hub; the suggested referrals come from core's rules and are issued with
//! `--refer`, in the same transaction as the visit.

use crate::{Cli, Invalid, call, context, open};
use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Args;
use kabinet_core::{Field, Lang, Problem, ValidationError, ValidationErrors, VisitForm};
use kabinet_service::{ReferralChoice, Request, Response};
use std::io::Write;
use uuid::Uuid;

#[derive(Args)]
pub struct VisitArgs {
    /// The person's id (from `kabinet person search`).
    #[arg(long)]
    person: Uuid,
    #[arg(long)]
    specialist: String,
    /// When (RFC 3339); defaults to now.
    #[arg(long)]
    at: Option<DateTime<Utc>>,
    #[arg(long)]
    place: Option<String>,
    #[arg(long, default_value = "")]
    notes: String,
    /// A clinical note, read by nurses and doctors only (results, diagnoses, what was said).
    #[arg(long, default_value = "")]
    clinical_note: String,

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

/// The flags as core's visit form (the same reading the app and the hub's web UI use).
fn form(a: &VisitArgs) -> Result<VisitForm, ValidationErrors> {
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
    Ok(VisitForm {
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
    })
}

pub fn add_visit(cli: &Cli, lang: Lang, a: &VisitArgs, out: &mut impl Write) -> Result<()> {
    let form = form(a).map_err(Invalid)?;
    let mut store = open(cli, lang)?;
    // The specialist records the visit, as in the app.
    let ctx = context(lang, &a.specialist, Utc::now());
    let Response::CheckVisit(check) =
        call(&mut store, &ctx, Request::CheckVisit { form: form.clone() })?
    else {
        unreachable!("check_visit answers with a check")
    };
    // A form with errors is refused by save_visit below, with every field's message, and
    // nothing is written.
    let referrals: Vec<ReferralChoice> = if a.refer {
        check
            .suggestions
            .iter()
            .map(|s| ReferralChoice {
                reason: s.reason.clone(),
                destination: s.destination.clone(),
                urgency: s.urgency.as_str().to_string(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let Response::SaveVisit(saved) = call(
        &mut store,
        &ctx,
        Request::SaveVisit {
            person_id: a.person,
            at: a.at,
            form,
            notes: a.notes.clone(),
            clinical_note: Some(a.clinical_note.clone()),
            place: a.place.clone(),
            referrals,
        },
    )?
    else {
        unreachable!("save_visit answers with the saved visit")
    };
    for w in &check.warnings {
        eprintln!("{}: {}", lang.pick("внимание", "warning"), w.message);
    }
    writeln!(out, "{}", saved.visit_id)?;
    if check.suggestions.is_empty() {
        writeln!(
            out,
            "{}",
            lang.pick("Няма предложени направления.", "No suggested referrals.")
        )?;
    }
    for (i, s) in check.suggestions.iter().enumerate() {
        let issued = saved
            .referrals
            .get(i)
            .map(|r| format!("  [{}]", r.code))
            .unwrap_or_default();
        writeln!(
            out,
            "{} {} → {} ({}): {}{issued}",
            lang.pick("Направление:", "Referral:"),
            s.reason_label,
            s.destination_label,
            s.urgency_label,
            s.finding,
        )?;
    }
    Ok(())
}
