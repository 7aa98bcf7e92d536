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
    /// The repeat with a new test after an invalid one.
    #[arg(long)]
    hiv_repeat: Option<String>,
    /// The woman is pregnant.
    #[arg(long)]
    pregnant: bool,
    /// Informed consent for the HIV test was given.
    #[arg(long)]
    hiv_consent: bool,
    /// Pre-test counselling was done.
    #[arg(long)]
    hiv_counselled: bool,

    /// Capillary glucose value, or HI when the meter reads above its range. Give one of
    /// --fasting, --random or --fasting-unknown with it.
    #[arg(long)]
    glucose: Option<String>,
    /// mmol/L (default) or mg/dL.
    #[arg(long, default_value = "mmol/L")]
    glucose_unit: String,
    /// The glucose was measured fasting (≥ 8 hours).
    #[arg(long, conflicts_with_all = ["random", "fasting_unknown"])]
    fasting: bool,
    /// The glucose was measured after eating.
    #[arg(long, conflicts_with = "fasting_unknown")]
    random: bool,
    /// Not known whether the person was fasting.
    #[arg(long)]
    fasting_unknown: bool,
    /// Urine ketones: negative | trace | 1+ | 2+ | 3+.
    #[arg(long)]
    ketones: Option<String>,
    /// Glucose-lowering treatment: none | oral | insulin.
    #[arg(long)]
    glucose_medication: Option<String>,
    /// Drowsy, confused or not fully conscious.
    #[arg(long)]
    drowsy: bool,
    /// The second glucose, 15 minutes after fast carbohydrate, same unit.
    #[arg(long)]
    glucose_recheck: Option<String>,

    /// HbA1c value.
    #[arg(long)]
    hba1c: Option<f64>,
    /// % (default) or mmol/mol.
    #[arg(long, default_value = "%")]
    hba1c_unit: String,

    /// Blood pressure as systolic/diastolic, e.g. 150/95; up to three times for repeat
    /// readings (graded on their mean).
    #[arg(long)]
    bp: Vec<String>,
    #[arg(long)]
    chest_pain: bool,
    #[arg(long)]
    breathless: bool,
    /// One-sided weakness, slurred speech, a drooping face, vision loss.
    #[arg(long)]
    neurological: bool,
    #[arg(long)]
    confusion: bool,
    /// Severe headache with vomiting.
    #[arg(long)]
    headache_vomiting: bool,
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
    /// Coughing up blood.
    #[arg(long)]
    tb_haemoptysis: bool,
    #[arg(long)]
    tb_breathless: bool,
    #[arg(long)]
    tb_very_ill: bool,
    /// TB risk factors: diabetes, hiv, previous-tb, prison, smoking, alcohol (repeatable).
    #[arg(long)]
    tb_risk: Vec<String>,

    /// Hepatitis B (HBsAg) rapid test result.
    #[arg(long)]
    hbsag: Option<String>,
    /// Hepatitis C (anti-HCV) rapid test result.
    #[arg(long)]
    anti_hcv: Option<String>,
    #[arg(long)]
    hbsag_repeat: Option<String>,
    #[arg(long)]
    anti_hcv_repeat: Option<String>,

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
    let mut readings = Vec::new();
    for bp in &a.bp {
        match bp.split_once('/') {
            Some((sys, dia)) => readings.push((sys.trim().to_string(), dia.trim().to_string())),
            None => {
                return Err(ValidationErrors(vec![unit_error(
                    Field::Systolic,
                    bp,
                    "систолно/диастолно, напр. 150/95",
                )]));
            }
        }
    }
    let reading = |i: usize| readings.get(i).cloned().unwrap_or_default();
    let ((systolic, diastolic), (systolic2, diastolic2), (systolic3, diastolic3)) =
        (reading(0), reading(1), reading(2));
    if readings.len() > kabinet_core::screening::BP_MAX_READINGS {
        return Err(ValidationErrors(vec![ValidationError::new(
            Field::BpMoreReadings,
            Problem::TooManyReadings {
                max: kabinet_core::screening::BP_MAX_READINGS,
            },
        )]));
    }
    let fasting = if a.fasting {
        "fasting"
    } else if a.random {
        "random"
    } else if a.fasting_unknown {
        "unknown"
    } else if a.glucose.is_some() {
        // The form's own message names its choices; here the choices are flags.
        return Err(ValidationErrors(vec![ValidationError::new(
            Field::Fasting,
            Problem::ChooseOne {
                options: "--fasting | --random | --fasting-unknown",
            },
        )]));
    } else {
        ""
    };
    let risk = |name: &str| a.tb_risk.iter().any(|r| r.trim().replace('_', "-") == name);
    for r in &a.tb_risk {
        let known = [
            "diabetes",
            "hiv",
            "previous-tb",
            "prison",
            "smoking",
            "alcohol",
        ];
        if !known.contains(&r.trim().replace('_', "-").as_str()) {
            return Err(ValidationErrors(vec![unit_error(
                Field::CoughWeeks,
                r,
                "diabetes | hiv | previous-tb | prison | smoking | alcohol",
            )]));
        }
    }
    let text = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let given = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(VisitForm {
        hiv_result: given(&a.hiv),
        hiv_repeat: given(&a.hiv_repeat),
        hiv_consent: a.hiv_consent,
        hiv_counselled: a.hiv_counselled,
        pregnant: a.pregnant,
        glucose: given(&a.glucose),
        glucose_unit: a.glucose_unit.clone(),
        fasting: fasting.to_string(),
        ketones: given(&a.ketones),
        glucose_medication: given(&a.glucose_medication),
        drowsy: a.drowsy,
        glucose_recheck: given(&a.glucose_recheck),
        hba1c: text(a.hba1c),
        hba1c_unit: a.hba1c_unit.clone(),
        systolic,
        diastolic,
        pulse: a.pulse.map(|p| p.to_string()).unwrap_or_default(),
        systolic2,
        diastolic2,
        systolic3,
        diastolic3,
        chest_pain: a.chest_pain,
        breathless: a.breathless,
        neurological: a.neurological,
        confusion: a.confusion,
        headache_vomiting: a.headache_vomiting,
        weight_kg: text(a.weight_kg),
        height_cm: text(a.height_cm),
        tb_screened: a.tb_screened,
        tb_cough: a.tb_cough,
        tb_cough_weeks: a.tb_cough_weeks.to_string(),
        tb_fever: a.tb_fever,
        tb_night_sweats: a.tb_night_sweats,
        tb_weight_loss: a.tb_weight_loss,
        tb_contact: a.tb_contact,
        tb_haemoptysis: a.tb_haemoptysis,
        tb_breathless: a.tb_breathless,
        tb_very_ill: a.tb_very_ill,
        tb_risk_diabetes: risk("diabetes"),
        tb_risk_hiv: risk("hiv"),
        tb_risk_previous_tb: risk("previous-tb"),
        tb_risk_prison: risk("prison"),
        tb_risk_smoking: risk("smoking"),
        tb_risk_alcohol: risk("alcohol"),
        hbsag: given(&a.hbsag),
        anti_hcv: given(&a.anti_hcv),
        hbsag_repeat: given(&a.hbsag_repeat),
        anti_hcv_repeat: given(&a.anti_hcv_repeat),
    })
}

pub fn add_visit(cli: &Cli, lang: Lang, a: &VisitArgs, out: &mut impl Write) -> Result<()> {
    let form = form(a).map_err(Invalid)?;
    let mut store = open(cli, lang)?;
    // The specialist records the visit, as in the app.
    let ctx = context(lang, &a.specialist, Utc::now());
    let Response::CheckVisit(check) = call(
        &mut store,
        &ctx,
        Request::CheckVisit {
            form: form.clone(),
            person_id: Some(a.person),
        },
    )?
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
                finding: Some(s.rule.clone()),
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
    // What to do now comes before any referral: an emergency's "call 112" first.
    for p in &check.prompts {
        writeln!(out, "!! {}", p.text)?;
    }
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

/// `kabinet visit correct ID`: the flags given replace the recorded values.
#[derive(Args)]
pub struct CorrectArgs {
    id: Uuid,
    /// Why (required): kept with the visit, read by every role that reads it.
    #[arg(long)]
    reason: String,
    #[arg(long)]
    glucose: Option<String>,
    #[arg(long)]
    glucose_unit: Option<String>,
    #[arg(long, conflicts_with_all = ["random", "fasting_unknown"])]
    fasting: bool,
    #[arg(long, conflicts_with = "fasting_unknown")]
    random: bool,
    #[arg(long)]
    fasting_unknown: bool,
    #[arg(long)]
    hba1c: Option<String>,
    #[arg(long)]
    hba1c_unit: Option<String>,
    /// Blood pressure as systolic/diastolic (replaces the first reading).
    #[arg(long)]
    bp: Option<String>,
    #[arg(long)]
    pulse: Option<String>,
    #[arg(long)]
    weight_kg: Option<String>,
    #[arg(long)]
    height_cm: Option<String>,
    /// Issue the referrals the corrected values suggest, and cancel the visit's open ones
    /// they no longer suggest.
    #[arg(long)]
    refer: bool,
}

pub fn correct_visit(cli: &Cli, lang: Lang, a: &CorrectArgs, out: &mut impl Write) -> Result<()> {
    let mut store = open(cli, lang)?;
    let ctx = context(lang, &cli.user, Utc::now());
    let Response::VisitForCorrection(edit) = call(
        &mut store,
        &ctx,
        Request::VisitForCorrection { visit_id: a.id },
    )?
    else {
        unreachable!("visit_for_correction answers with the form")
    };
    let mut form = edit.form;
    let set = |slot: &mut String, given: &Option<String>| {
        if let Some(v) = given {
            *slot = v.clone();
        }
    };
    set(&mut form.glucose, &a.glucose);
    set(&mut form.glucose_unit, &a.glucose_unit);
    if a.fasting {
        form.fasting = "fasting".into();
    } else if a.random {
        form.fasting = "random".into();
    } else if a.fasting_unknown {
        form.fasting = "unknown".into();
    }
    set(&mut form.hba1c, &a.hba1c);
    set(&mut form.hba1c_unit, &a.hba1c_unit);
    if let Some(bp) = &a.bp {
        let Some((sys, dia)) = bp.split_once('/') else {
            return Err(Invalid(ValidationErrors(vec![unit_error(
                Field::Systolic,
                bp,
                "систолно/диастолно, напр. 150/95",
            )]))
            .into());
        };
        form.systolic = sys.trim().into();
        form.diastolic = dia.trim().into();
    }
    set(&mut form.pulse, &a.pulse);
    set(&mut form.weight_kg, &a.weight_kg);
    set(&mut form.height_cm, &a.height_cm);
    let (referrals, cancel) = if a.refer {
        let Response::CheckVisit(check) = call(
            &mut store,
            &ctx,
            Request::CheckVisit {
                form: form.clone(),
                person_id: Some(edit.person_id),
            },
        )?
        else {
            unreachable!("check_visit answers with a check")
        };
        let open =
            kabinet_service::visit_corrections::open_referrals_of(&store, &store.visit(a.id)?)?;
        // The same referral: the same finding (the rule), or by hand the same reason and
        // destination.
        let same =
            |r: &kabinet_core::Referral, s: &kabinet_service::SuggestionView| match &r.finding {
                Some(rule) => *rule == s.rule,
                None => r.reason.as_str() == s.reason && r.destination.slug() == s.destination,
            };
        let new: Vec<ReferralChoice> = check
            .suggestions
            .iter()
            .filter(|s| !open.iter().any(|r| same(r, s)))
            .map(|s| ReferralChoice {
                reason: s.reason.clone(),
                destination: s.destination.clone(),
                urgency: s.urgency.as_str().to_string(),
                finding: Some(s.rule.clone()),
            })
            .collect();
        let stale: Vec<Uuid> = open
            .iter()
            .filter(|r| !check.suggestions.iter().any(|s| same(r, s)))
            .map(|r| r.id)
            .collect();
        (new, stale)
    } else {
        (Vec::new(), Vec::new())
    };
    let Response::CorrectVisit(corrected) = call(
        &mut store,
        &ctx,
        Request::CorrectVisit {
            visit_id: a.id,
            form,
            reason: a.reason.clone(),
            referrals,
            cancel,
        },
    )?
    else {
        unreachable!("correct_visit answers with what changed")
    };
    if corrected.changed.is_empty() {
        writeln!(out, "{}", lang.pick("Няма промени.", "Nothing changed."))?;
    } else {
        writeln!(
            out,
            "{}: {}",
            lang.pick("Поправено", "Corrected"),
            corrected.changed.join(", ")
        )?;
    }
    for r in &corrected.referrals {
        writeln!(
            out,
            "{} {} → {} ({})",
            lang.pick("Направление:", "Referral:"),
            r.code,
            r.destination,
            r.urgency
        )?;
    }
    if !corrected.cancelled.is_empty() {
        writeln!(
            out,
            "{}: {}",
            lang.pick("Отменени направления", "Referrals cancelled"),
            corrected.cancelled.len()
        )?;
    }
    Ok(())
}
