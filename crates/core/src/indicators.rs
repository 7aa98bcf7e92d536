//! The programme's indicators (issue #19), defined once: the report screen, the PDF, the CSV
//! and `kabinet-hub report` all print [`INDICATORS`] as [`Report::make`] computes them.
//!
//! The store hands over one [`VisitFact`] per visit and one [`ReferralFact`] per referral
//! (what its query tables hold); everything else is here, without I/O: who counts as reached
//! or new, what "screened" and "abnormal" mean, which referrals are matured enough to judge
//! their completion, the age bands, and the small-number rule ([`SMALL_NUMBER`]) that keeps a
//! person in a small neighbourhood from being recognised in an HIV, hepatitis or TB count.
//! Design: docs/design-reports.md.

use crate::referral::{Destination, Institution, ReferralStatus, Urgency};
use crate::screening::{AccessClass, ScreeningKind};
use crate::sex::Sex;
use crate::{FollowUpDays, Lang};
use chrono::{Datelike, NaiveDate};
use rustc_hash::FxHashMap;
use serde::Serialize;
use smallvec::SmallVec;
use std::collections::BTreeMap;

/// Counts of a sensitive indicator below this are shown as "<5" in every breakdown below the
/// whole programme (0 too: "none here" is as telling in a neighbourhood of forty).
pub const SMALL_NUMBER: u64 = 5;

/// How a report is cut.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    ts_rs::TS,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Breakdown {
    /// The whole programme: one cell, never suppressed.
    Programme,
    Cabinet,
    Neighbourhood,
    Sex,
    /// ESF+ bands: under 18, 18–29, 30–54, 55 and over.
    AgeEsf,
    /// WHO five-year bands, 80 and over last.
    AgeWho,
    /// The calendar month (of the visit; of issue for referrals).
    Month,
    /// Referrals only: destination × urgency.
    DestinationUrgency,
    /// Closed cases only: why they were closed.
    ClosureReason,
}

impl Breakdown {
    pub const ALL: [Breakdown; 9] = [
        Breakdown::Programme,
        Breakdown::Cabinet,
        Breakdown::Neighbourhood,
        Breakdown::Sex,
        Breakdown::AgeEsf,
        Breakdown::AgeWho,
        Breakdown::Month,
        Breakdown::DestinationUrgency,
        Breakdown::ClosureReason,
    ];

    /// As the JSON, the CSV and a DHIS2 mapping spell it (`age_esf`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn label(self, lang: Lang) -> &'static str {
        let (bg, en) = match self {
            Breakdown::Programme => ("цялата програма", "whole programme"),
            Breakdown::Cabinet => ("кабинет", "cabinet"),
            Breakdown::Neighbourhood => ("квартал", "neighbourhood"),
            Breakdown::Sex => ("пол", "sex"),
            Breakdown::AgeEsf => ("възраст (ЕСФ+)", "age (ESF+)"),
            Breakdown::AgeWho => ("възраст (5 г., СЗО)", "age (WHO 5-year)"),
            Breakdown::Month => ("месец", "month"),
            Breakdown::DestinationUrgency => ("насочване × спешност", "destination × urgency"),
            Breakdown::ClosureReason => ("причина за закриване", "reason for closing"),
        };
        lang.pick(bg, en)
    }
}

/// What an indicator's number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Unique persons: a person counts once in a cell, however many visits.
    Persons,
    /// Visits, days, referrals, devices.
    Events,
    /// A numerator over a denominator.
    Percent,
    /// A median number of days.
    Days,
    /// Persons per outreach day.
    PerDay,
}

/// What an indicator counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Persons with a visit (not entered in error) in the period.
    Reached,
    /// Reached, whose first visit ever is in the period.
    New,
    /// Reached, seen before the period.
    Returning,
    /// Reached, recorded without identity documents.
    WithoutDocuments,
    Visits,
    /// Days a cabinet worked (a cabinet and a day with a visit).
    OutreachDays,
    /// Persons seen per outreach day (each day's persons, summed, over the days).
    PersonsPerDay,
    /// Persons screened for a condition. HIV counts only tests with consent and counselling
    /// (there is no other kind: the form refuses a result without them).
    Screened(ScreeningKind),
    /// Persons with an abnormal (a rule of `rules.rs` fired) or reactive result.
    Abnormal(ScreeningKind),
    /// Abnormal ÷ screened.
    Yield(ScreeningKind),
    /// Referrals issued for a condition's finding (the cascade's third step).
    Referred(ScreeningKind),
    /// Of those, attended (or completed) by the day of the report (its fourth).
    ReferredAttended(ScreeningKind),
    /// Reached with their data consent recorded ÷ reached.
    ConsentRecorded,
    /// Visits that reached the hub within 48 hours of being recorded ÷ visits whose arrival
    /// the hub knows (the hub's report only: a device cannot tell when the hub got a visit).
    SyncedWithin48h,
    /// Referrals issued (not cancelled).
    ReferralsIssued,
    /// Attended (or completed) within so many days of issue ÷ issued at least that long ago.
    CompletedWithin(u16),
    MedianDaysToAttended,
    /// Referrals for HIV confirmation (КАБКИС) attended within so many days ÷ those issued at
    /// least that long ago.
    HivConfirmedWithin(u16),
    LostToFollowUp,
    Declined,
    /// Still waiting past the directory's follow-up days for their urgency.
    OverdueNow,
    /// Devices that have not synced for over 7 days (the hub's count).
    DevicesNotSynced,
    /// Possible duplicates waiting for review (the hub's count).
    OpenDuplicates,
    CasesOpened,
    CasesClosed,
    /// Open tasks of open cases past their due day.
    OverdueTasks,
}

/// The group an indicator is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    Reach,
    Screening,
    Yield,
    Linkage,
    DataQuality,
    Team,
}

impl Group {
    pub const ALL: [Group; 6] = [
        Group::Reach,
        Group::Screening,
        Group::Yield,
        Group::Linkage,
        Group::DataQuality,
        Group::Team,
    ];

    pub fn label(self, lang: Lang) -> &'static str {
        let (bg, en) = match self {
            Group::Reach => ("Обхват", "Reach"),
            Group::Screening => ("Скрининг", "Screening"),
            Group::Yield => ("Отклонения", "Yield"),
            Group::Linkage => ("Насочване и проследяване", "Linkage to care"),
            Group::DataQuality => ("Качество на данните", "Data quality"),
            Group::Team => ("Екип и случаи", "Team and cases"),
        };
        lang.pick(bg, en)
    }
}

/// One indicator as the report prints it.
#[derive(Debug, Clone, Copy)]
pub struct Indicator {
    pub id: &'static str,
    pub bg: &'static str,
    pub en: &'static str,
    pub group: Group,
    pub unit: Unit,
    pub measure: Measure,
}

impl Indicator {
    pub fn name(&self, lang: Lang) -> &'static str {
        lang.pick(self.bg, self.en)
    }

    /// The sensitive class the indicator tells about, if any: shown only to a reader of that
    /// class (or of aggregates only), and under [`SMALL_NUMBER`] suppressed below the whole
    /// programme.
    pub fn class(&self) -> AccessClass {
        match self.measure {
            Measure::Screened(k)
            | Measure::Abnormal(k)
            | Measure::Yield(k)
            | Measure::Referred(k)
            | Measure::ReferredAttended(k) => k.access_class(),
            Measure::HivConfirmedWithin(_) => AccessClass::Hiv,
            _ => AccessClass::General,
        }
    }

    pub fn by_id(id: &str) -> Option<&'static Indicator> {
        INDICATORS.iter().find(|i| i.id == id)
    }

    /// The breakdowns the indicator has.
    pub fn breakdowns(&self) -> &'static [Breakdown] {
        use Breakdown::*;
        match self.measure {
            Measure::DevicesNotSynced | Measure::OpenDuplicates => &[Programme],
            Measure::CasesOpened | Measure::OverdueTasks => &[Programme],
            Measure::CasesClosed => &[Programme, ClosureReason],
            Measure::SyncedWithin48h => &[Programme, Cabinet, Month],
            Measure::OutreachDays | Measure::PersonsPerDay => &[Programme, Cabinet, Month],
            Measure::ReferralsIssued => &[Programme, Cabinet, Month, DestinationUrgency],
            Measure::Referred(_) | Measure::ReferredAttended(_) => &[Programme, Cabinet, Month],
            Measure::CompletedWithin(_)
            | Measure::MedianDaysToAttended
            | Measure::HivConfirmedWithin(_)
            | Measure::LostToFollowUp
            | Measure::Declined
            | Measure::OverdueNow => &[Programme, Cabinet, Month],
            _ => &[
                Programme,
                Cabinet,
                Neighbourhood,
                Sex,
                AgeEsf,
                AgeWho,
                Month,
            ],
        }
    }
}

macro_rules! screening_indicators {
    ($($kind:ident, $screened:literal, $abnormal:literal, $yield_id:literal,
       $sbg:literal, $sen:literal, $abg:literal, $aen:literal, $ybg:literal, $yen:literal;)*) => {
        [$(
            Indicator { id: $screened, bg: $sbg, en: $sen, group: Group::Screening, unit: Unit::Persons, measure: Measure::Screened(ScreeningKind::$kind) },
            Indicator { id: $abnormal, bg: $abg, en: $aen, group: Group::Yield, unit: Unit::Persons, measure: Measure::Abnormal(ScreeningKind::$kind) },
            Indicator { id: $yield_id, bg: $ybg, en: $yen, group: Group::Yield, unit: Unit::Percent, measure: Measure::Yield(ScreeningKind::$kind) },
        )*]
    };
}

const SCREENING: [Indicator; 24] = screening_indicators! {
    Hiv, "screened.hiv", "abnormal.hiv", "yield.hiv",
        "Изследвани за ХИВ (със съгласие и консултиране)", "Tested for HIV (with consent and counselling)",
        "Реактивен тест за ХИВ", "Reactive HIV test", "Дял реактивни (ХИВ)", "Reactive share (HIV)";
    Glucose, "screened.glucose", "abnormal.glucose", "yield.glucose",
        "Измерена кръвна захар", "Capillary glucose measured",
        "Кръвна захар извън нормата", "Glucose out of range", "Дял отклонения (захар)", "Abnormal share (glucose)";
    Hba1c, "screened.hba1c", "abnormal.hba1c", "yield.hba1c",
        "Изследван HbA1c", "HbA1c measured",
        "HbA1c извън нормата", "HbA1c out of range", "Дял отклонения (HbA1c)", "Abnormal share (HbA1c)";
    BloodPressure, "screened.bp", "abnormal.bp", "yield.bp",
        "Измерено кръвно налягане", "Blood pressure measured",
        "Повишено кръвно налягане", "Raised blood pressure", "Дял отклонения (налягане)", "Abnormal share (blood pressure)";
    Body, "screened.bmi", "abnormal.bmi", "yield.bmi",
        "Измерен ИТМ", "BMI measured",
        "ИТМ извън нормата", "BMI out of range", "Дял отклонения (ИТМ)", "Abnormal share (BMI)";
    Tb, "screened.tb", "abnormal.tb", "yield.tb",
        "Скринирани за туберкулоза (симптоми)", "Screened for TB (symptoms)",
        "Положителен симптомен скрининг за ТБ", "TB symptom screen positive", "Дял положителни (ТБ)", "Positive share (TB)";
    HepatitisB, "screened.hbsag", "abnormal.hbsag", "yield.hbsag",
        "Изследвани за HBsAg", "Tested for HBsAg",
        "Реактивен HBsAg", "Reactive HBsAg", "Дял реактивни (HBsAg)", "Reactive share (HBsAg)";
    HepatitisC, "screened.anti_hcv", "abnormal.anti_hcv", "yield.anti_hcv",
        "Изследвани за анти-HCV", "Tested for anti-HCV",
        "Реактивен анти-HCV", "Reactive anti-HCV", "Дял реактивни (анти-HCV)", "Reactive share (anti-HCV)";
};

macro_rules! cascade_indicators {
    ($($kind:ident, $referred:literal, $attended:literal, $rbg:literal, $ren:literal, $abg:literal, $aen:literal;)*) => {
        [$(
            Indicator { id: $referred, bg: $rbg, en: $ren, group: Group::Linkage, unit: Unit::Events, measure: Measure::Referred(ScreeningKind::$kind) },
            Indicator { id: $attended, bg: $abg, en: $aen, group: Group::Linkage, unit: Unit::Events, measure: Measure::ReferredAttended(ScreeningKind::$kind) },
        )*]
    };
}

/// The cascade's last two steps per condition: referred, and attended.
const CASCADE: [Indicator; 16] = cascade_indicators! {
    Hiv, "referred.hiv", "attended.hiv", "Насочени (ХИВ)", "Referred (HIV)", "Явили се (ХИВ)", "Attended (HIV)";
    Glucose, "referred.glucose", "attended.glucose", "Насочени (захар)", "Referred (glucose)", "Явили се (захар)", "Attended (glucose)";
    Hba1c, "referred.hba1c", "attended.hba1c", "Насочени (HbA1c)", "Referred (HbA1c)", "Явили се (HbA1c)", "Attended (HbA1c)";
    BloodPressure, "referred.bp", "attended.bp", "Насочени (налягане)", "Referred (blood pressure)", "Явили се (налягане)", "Attended (blood pressure)";
    Body, "referred.bmi", "attended.bmi", "Насочени (ИТМ)", "Referred (BMI)", "Явили се (ИТМ)", "Attended (BMI)";
    Tb, "referred.tb", "attended.tb", "Насочени (ТБ)", "Referred (TB)", "Явили се (ТБ)", "Attended (TB)";
    HepatitisB, "referred.hbsag", "attended.hbsag", "Насочени (HBsAg)", "Referred (HBsAg)", "Явили се (HBsAg)", "Attended (HBsAg)";
    HepatitisC, "referred.anti_hcv", "attended.anti_hcv", "Насочени (анти-HCV)", "Referred (anti-HCV)", "Явили се (анти-HCV)", "Attended (anti-HCV)";
};

const fn indicator(
    id: &'static str,
    bg: &'static str,
    en: &'static str,
    group: Group,
    unit: Unit,
    measure: Measure,
) -> Indicator {
    Indicator {
        id,
        bg,
        en,
        group,
        unit,
        measure,
    }
}

const OTHERS: [Indicator; 24] = [
    indicator(
        "reach.persons",
        "Достигнати лица",
        "People reached",
        Group::Reach,
        Unit::Persons,
        Measure::Reached,
    ),
    indicator(
        "reach.new",
        "Нови лица",
        "New people",
        Group::Reach,
        Unit::Persons,
        Measure::New,
    ),
    indicator(
        "reach.returning",
        "Повторно дошли",
        "Returning people",
        Group::Reach,
        Unit::Persons,
        Measure::Returning,
    ),
    indicator(
        "reach.no_documents",
        "Лица без документи",
        "People without documents",
        Group::Reach,
        Unit::Persons,
        Measure::WithoutDocuments,
    ),
    indicator(
        "reach.visits",
        "Посещения",
        "Visits",
        Group::Reach,
        Unit::Events,
        Measure::Visits,
    ),
    indicator(
        "reach.outreach_days",
        "Изнесени дни",
        "Outreach days",
        Group::Reach,
        Unit::Events,
        Measure::OutreachDays,
    ),
    indicator(
        "reach.persons_per_day",
        "Лица на изнесен ден",
        "People per outreach day",
        Group::Reach,
        Unit::PerDay,
        Measure::PersonsPerDay,
    ),
    indicator(
        "referrals.issued",
        "Издадени направления",
        "Referrals issued",
        Group::Linkage,
        Unit::Events,
        Measure::ReferralsIssued,
    ),
    indicator(
        "referrals.completed_30",
        "Явили се до 30 дни",
        "Attended within 30 days",
        Group::Linkage,
        Unit::Percent,
        Measure::CompletedWithin(30),
    ),
    indicator(
        "referrals.completed_90",
        "Явили се до 90 дни",
        "Attended within 90 days",
        Group::Linkage,
        Unit::Percent,
        Measure::CompletedWithin(90),
    ),
    indicator(
        "referrals.median_days",
        "Медиана дни до явяване",
        "Median days to attendance",
        Group::Linkage,
        Unit::Days,
        Measure::MedianDaysToAttended,
    ),
    indicator(
        "hiv.confirmed_7",
        "Реактивни ХИВ, потвърдени до 7 дни",
        "Reactive HIV confirmed within 7 days",
        Group::Linkage,
        Unit::Percent,
        Measure::HivConfirmedWithin(7),
    ),
    indicator(
        "hiv.confirmed_30",
        "Реактивни ХИВ, потвърдени до 30 дни",
        "Reactive HIV confirmed within 30 days",
        Group::Linkage,
        Unit::Percent,
        Measure::HivConfirmedWithin(30),
    ),
    indicator(
        "hiv.confirmed_90",
        "Реактивни ХИВ, потвърдени до 90 дни",
        "Reactive HIV confirmed within 90 days",
        Group::Linkage,
        Unit::Percent,
        Measure::HivConfirmedWithin(90),
    ),
    indicator(
        "referrals.lost",
        "Без връзка",
        "Lost to follow-up",
        Group::Linkage,
        Unit::Events,
        Measure::LostToFollowUp,
    ),
    indicator(
        "referrals.declined",
        "Отказани",
        "Declined",
        Group::Linkage,
        Unit::Events,
        Measure::Declined,
    ),
    indicator(
        "referrals.overdue",
        "Просрочени сега",
        "Overdue now",
        Group::Linkage,
        Unit::Events,
        Measure::OverdueNow,
    ),
    indicator(
        "quality.consent",
        "Със записано съгласие",
        "With consent recorded",
        Group::DataQuality,
        Unit::Percent,
        Measure::ConsentRecorded,
    ),
    indicator(
        "quality.synced_48h",
        "Посещения, синхронизирани до 48 часа",
        "Visits synced within 48 hours",
        Group::DataQuality,
        Unit::Percent,
        Measure::SyncedWithin48h,
    ),
    indicator(
        "quality.devices_not_synced",
        "Устройства без синхронизация над 7 дни",
        "Devices not synced for over 7 days",
        Group::DataQuality,
        Unit::Events,
        Measure::DevicesNotSynced,
    ),
    indicator(
        "quality.open_duplicates",
        "Възможни дубликати за преглед",
        "Possible duplicates to review",
        Group::DataQuality,
        Unit::Events,
        Measure::OpenDuplicates,
    ),
    indicator(
        "team.cases_opened",
        "Отворени случаи",
        "Cases opened",
        Group::Team,
        Unit::Events,
        Measure::CasesOpened,
    ),
    indicator(
        "team.cases_closed",
        "Закрити случаи",
        "Cases closed",
        Group::Team,
        Unit::Events,
        Measure::CasesClosed,
    ),
    indicator(
        "team.overdue_tasks",
        "Просрочени задачи",
        "Overdue tasks",
        Group::Team,
        Unit::Events,
        Measure::OverdueTasks,
    ),
];

/// Every indicator: reach, linkage, data quality and team first, then each condition's
/// screened, abnormal and yield.
pub const INDICATORS: [Indicator; 64] = {
    let mut out = [OTHERS[0]; 64];
    let mut i = 0;
    while i < OTHERS.len() {
        out[i] = OTHERS[i];
        i += 1;
    }
    let mut j = 0;
    while j < SCREENING.len() {
        out[i + j] = SCREENING[j];
        j += 1;
    }
    let mut k = 0;
    while k < CASCADE.len() {
        out[i + j + k] = CASCADE[k];
        k += 1;
    }
    out
};

/// One visit as the report needs it. The store resolves a merged duplicate to its survivor
/// (`person`), so a person counts once.
#[derive(Debug, Clone)]
pub struct VisitFact<'a> {
    pub person: u128,
    pub cabinet: &'a str,
    pub day: NaiveDate,
    /// Entered in error: out of every count.
    pub voided: bool,
    pub sex: Sex,
    pub birth_year: Option<i32>,
    pub neighbourhood: Option<&'a str>,
    pub no_documents: bool,
    pub data_consent: bool,
    /// The person's first visit ever (of all the store holds), for new and returning.
    pub first_visit: NaiveDate,
    /// The kinds screened at this visit, and those abnormal or reactive ([`kind_bit`]).
    pub screened: u8,
    pub abnormal: u8,
    /// Whether the visit reached the hub within 48 hours of being recorded: `None` where
    /// that is not known (a device's report).
    pub synced_within_48h: Option<bool>,
}

/// One referral as the report needs it.
#[derive(Debug, Clone)]
pub struct ReferralFact<'a> {
    pub cabinet: &'a str,
    pub issued: NaiveDate,
    pub destination: Destination,
    pub urgency: Urgency,
    /// The class the referral is read under (`Referral::access_class`).
    pub class: AccessClass,
    /// The screening whose finding it follows (none for the team's needs).
    pub reason: Option<ScreeningKind>,
    pub status: ReferralStatus,
    /// The first day it was attended (or completed, when no attendance was recorded).
    pub attended: Option<NaiveDate>,
}

/// One case, for the team's indicators.
#[derive(Debug, Clone)]
pub struct CaseFact {
    pub opened: NaiveDate,
    pub closed: Option<NaiveDate>,
    /// Why it was closed (none for a closed case of a newer build's reason).
    pub closure_reason: Option<crate::case::ClosureReason>,
    pub overdue_tasks: u64,
}

/// A screening kind's bit in [`VisitFact::screened`] and [`VisitFact::abnormal`].
pub fn kind_bit(kind: ScreeningKind) -> u8 {
    1 << ScreeningKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is in ALL")
}

/// What one document's screenings add to a visit's facts: the kinds screened, and those a
/// rule of `rules.rs` finds abnormal (or reactive) for an adult and for a child (the only
/// way age enters the rules), pregnancy as the visit records it. The store keeps these bits
/// per document, so a report never loads a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScreeningBits {
    pub screened: u8,
    pub abnormal_adult: u8,
    pub abnormal_child: u8,
}

impl ScreeningBits {
    pub fn of(screenings: &crate::Screenings, pregnant: bool) -> ScreeningBits {
        use crate::rules::{Subject, suggest_referrals};
        let mut screened = 0;
        for kind in screenings.kinds() {
            // An HIV test counts only with consent and counselling (the form refuses one
            // without them; an imported record might lack them).
            if kind == ScreeningKind::Hiv
                && !screenings
                    .hiv
                    .as_ref()
                    .is_some_and(|h| h.consent && h.counselled)
            {
                continue;
            }
            screened |= kind_bit(kind);
        }
        let abnormal = |age_years: u32| {
            let who = Subject {
                age_years: Some(age_years),
                pregnant,
            };
            suggest_referrals(screenings, &who)
                .iter()
                .fold(0u8, |bits, s| bits | kind_bit(s.reason))
                & screened
        };
        ScreeningBits {
            screened,
            abnormal_adult: abnormal(crate::rules::ADULT_AGE),
            abnormal_child: abnormal(crate::rules::ADULT_AGE - 1),
        }
    }

    /// The abnormal bits for a person of `age` (unknown: an adult, as the rules take it).
    pub fn abnormal_at(&self, age: Option<i32>) -> u8 {
        match age {
            Some(a) if a < crate::rules::ADULT_AGE as i32 => self.abnormal_child,
            _ => self.abnormal_adult,
        }
    }
}

/// What a report is asked for.
#[derive(Debug, Clone, Default)]
pub struct ReportRequest {
    /// Both days included.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The day the report is made: referrals are judged by what they could have done by then.
    pub as_of: NaiveDate,
    /// The sensitive classes whose indicators the reader may see (general ones always).
    pub shown: Vec<AccessClass>,
    pub follow_up: FollowUpDays,
    /// The hub's counts for data quality, when the hub makes the report.
    pub devices_not_synced: Option<u64>,
    pub open_duplicates: Option<u64>,
    /// The hub makes the report: its store's arrival times say when each visit was synced
    /// (the store fills [`VisitFact::synced_within_48h`] only then).
    pub at_hub: bool,
    /// The report is of a part of the programme (one cabinet): its totals are a breakdown
    /// below the whole programme, and small numbers are suppressed in them too.
    pub below_programme: bool,
}

/// A cell's value.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    Count(u64),
    Percent {
        numerator: u64,
        denominator: u64,
    },
    /// Persons per outreach day, or a median number of days.
    Number(f64),
    /// Under [`SMALL_NUMBER`], in a breakdown below the whole programme.
    Suppressed,
    /// Not small, but hidden so that a `<5` beside it cannot be worked out by subtraction
    /// (secondary suppression, see [`withhold_complements`]).
    Withheld,
}

impl Value {
    /// As a table or CSV shows it.
    pub fn text(&self) -> String {
        match self {
            Value::Count(n) => n.to_string(),
            Value::Percent {
                numerator,
                denominator,
            } => match denominator {
                0 => "—".into(),
                d => format!("{:.1}%", *numerator as f64 * 100.0 / *d as f64),
            },
            Value::Number(x) => format!("{x:.1}"),
            Value::Suppressed => format!("<{SMALL_NUMBER}"),
            Value::Withheld => "x".into(),
        }
    }
}

/// One number of the report.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Row {
    pub indicator: &'static str,
    pub breakdown: Breakdown,
    /// The cell within the breakdown (a cabinet, a month "2026-03", an age band, "all").
    pub key: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: NaiveDate,
    pub rows: Vec<Row>,
}

/// The ESF+ age band of an age in whole years.
pub fn esf_band(age: Option<i32>) -> &'static str {
    match age {
        None => "unknown",
        Some(a) if a < 18 => "<18",
        Some(a) if a < 30 => "18-29",
        Some(a) if a < 55 => "30-54",
        Some(_) => "55+",
    }
}

/// The WHO five-year band of an age ("0-4" … "75-79", "80+").
pub fn who_band(age: Option<i32>) -> String {
    match age {
        None => "unknown".into(),
        Some(a) if a >= 80 => "80+".into(),
        Some(a) => {
            let low = a.max(0) / 5 * 5;
            format!("{low:02}-{:02}", low + 4)
        }
    }
}

// Person-level flags, one bit each; the screening kinds' bits follow.
const REACHED: u32 = 1 << 0;
const NEW: u32 = 1 << 1;
const RETURNING: u32 = 1 << 2;
const NO_DOCUMENTS: u32 = 1 << 3;
const CONSENT: u32 = 1 << 4;
const SCREENED_SHIFT: u32 = 5;
const ABNORMAL_SHIFT: u32 = 13;
const FLAG_BITS: usize = 21;

fn screened_flag(kind: ScreeningKind) -> u32 {
    u32::from(kind_bit(kind)) << SCREENED_SHIFT
}

fn abnormal_flag(kind: ScreeningKind) -> u32 {
    u32::from(kind_bit(kind)) << ABNORMAL_SHIFT
}

/// A breakdown's cell.
type Cell = (Breakdown, String);

/// Per cell: persons per flag, and the events.
#[derive(Default, Clone)]
struct Tally {
    persons: [u64; FLAG_BITS],
    visits: u64,
    outreach_days: u64,
    person_days: u64,
    /// Visits whose arrival at the hub is known, and those that arrived within 48 hours.
    arrivals_known: u64,
    arrived_in_time: u64,
}

impl Tally {
    fn add_person(&mut self, flags: u32) {
        let mut rest = flags;
        while rest != 0 {
            self.persons[rest.trailing_zeros() as usize] += 1;
            rest &= rest - 1;
        }
    }
}

struct PersonTally<'a> {
    /// Attributes as at the person's first visit in the period.
    sex: Sex,
    neighbourhood: Option<&'a str>,
    age: Option<i32>,
    first_day: NaiveDate,
    flags: u32,
    /// Flags and visits per cabinet and per month the person was seen in, and the days they
    /// were seen in each cabinet: a person has few visits, so these stay inline (no
    /// allocation for most of a million persons).
    by_cabinet: SmallVec<[(&'a str, u32, u64); 2]>,
    by_month: SmallVec<[(u32, u32, u64); 2]>,
    days: SmallVec<[(&'a str, NaiveDate); 2]>,
}

/// A cell of a visit breakdown under a key that costs nothing to make.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key<'a> {
    Programme,
    Cabinet(&'a str),
    /// Year × 12 + month − 1.
    Month(u32),
    Neighbourhood(Option<&'a str>),
    Sex(Sex),
    AgeEsf(&'static str),
    /// The band's lowest age; -1 unknown.
    AgeWho(i32),
}

impl Key<'_> {
    fn cell(self) -> Cell {
        match self {
            Key::Programme => (Breakdown::Programme, "all".into()),
            Key::Cabinet(c) => (Breakdown::Cabinet, c.to_string()),
            Key::Month(m) => (Breakdown::Month, format!("{:04}-{:02}", m / 12, m % 12 + 1)),
            Key::Neighbourhood(n) => (Breakdown::Neighbourhood, neighbourhood_key(n)),
            Key::Sex(s) => (Breakdown::Sex, s.as_str().to_string()),
            Key::AgeEsf(b) => (Breakdown::AgeEsf, b.to_string()),
            Key::AgeWho(low) => (Breakdown::AgeWho, who_band((low >= 0).then_some(low))),
        }
    }
}

fn month_key(day: NaiveDate) -> u32 {
    day.year() as u32 * 12 + day.month0()
}

/// The lowest age of the WHO band of `age` (80 for 80 and over), -1 when unknown.
fn who_low(age: Option<i32>) -> i32 {
    match age {
        None => -1,
        Some(a) => (a.max(0) / 5 * 5).min(80),
    }
}

/// Adds a visit with `flags` to the entry of `key` (flags or-ed, visits counted).
fn or_into<K: PartialEq>(list: &mut SmallVec<[(K, u32, u64); 2]>, key: K, flags: u32) {
    match list.iter_mut().find(|(k, _, _)| *k == key) {
        Some((_, f, n)) => {
            *f |= flags;
            *n += 1;
        }
        None => list.push((key, flags, 1)),
    }
}

/// The ESF+ bands as [`esf_band`] names them, unknown last (also a dense index for the visit
/// breakdowns with few cells).
pub const ESF_BANDS: [&str; 5] = ["<18", "18-29", "30-54", "55+", "unknown"];

fn esf_index(band: &str) -> usize {
    ESF_BANDS.iter().position(|b| *b == band).unwrap_or(4)
}

fn sex_index(sex: Sex) -> usize {
    match sex {
        Sex::M => 0,
        Sex::F => 1,
    }
}

/// WHO bands by their lowest age: -1 (unknown), 0, 5 … 80.
fn who_index(low: i32) -> usize {
    ((low + 5) / 5) as usize
}

/// The visits' counts under cheap keys (persons per flag, visits, and the persons seen on
/// each cabinet's day), before the cells are named.
#[derive(Default)]
struct VisitTallies<'a> {
    by_key: FxHashMap<Key<'a>, Tally>,
    days: FxHashMap<(&'a str, NaiveDate), u64>,
}

impl<'a> VisitTallies<'a> {
    /// Counts `visits` in the period. A year of a national programme is a million visits:
    /// cells are counted under cheap keys (no text made per visit), and turned into the
    /// report's cells once at the end.
    fn of(request: &ReportRequest, visits: impl IntoIterator<Item = VisitFact<'a>>) -> Self {
        let in_period = |d: NaiveDate| d >= request.from && d <= request.to;
        let mut persons: FxHashMap<u128, PersonTally<'a>> = FxHashMap::default();
        let mut by_key: FxHashMap<Key<'a>, Tally> = FxHashMap::default();
        by_key.insert(Key::Programme, Tally::default());
        // Visits per cell: the few-celled breakdowns in arrays, the rest per person (a
        // million visits then cost one map entry each, not seven).
        let mut programme_visits = 0u64;
        let mut sex_visits = [0u64; 2];
        let mut esf_visits = [0u64; ESF_BANDS.len()];
        let mut who_visits = [0u64; 18];
        // Arrivals at the hub per cabinet and month: (known, within 48 hours).
        let mut arrivals: FxHashMap<(&'a str, u32), (u64, u64)> = FxHashMap::default();
        for v in visits {
            if v.voided || !in_period(v.day) {
                continue;
            }
            let age = v.birth_year.map(|y| v.day.year() - y);
            let mut flags = REACHED;
            if v.no_documents {
                flags |= NO_DOCUMENTS;
            }
            if v.data_consent {
                flags |= CONSENT;
            }
            flags |= u32::from(v.screened) << SCREENED_SHIFT;
            flags |= u32::from(v.abnormal & v.screened) << ABNORMAL_SHIFT;
            flags |= match in_period(v.first_visit) {
                true => NEW,
                false => RETURNING,
            };
            let month = month_key(v.day);
            if let Some(in_time) = v.synced_within_48h {
                let e = arrivals.entry((v.cabinet, month)).or_default();
                e.0 += 1;
                e.1 += u64::from(in_time);
            }
            programme_visits += 1;
            sex_visits[sex_index(v.sex)] += 1;
            esf_visits[esf_index(esf_band(age))] += 1;
            who_visits[who_index(who_low(age))] += 1;
            by_key
                .entry(Key::Neighbourhood(v.neighbourhood))
                .or_default()
                .visits += 1;
            let p = persons.entry(v.person).or_insert_with(|| PersonTally {
                sex: v.sex,
                neighbourhood: v.neighbourhood,
                age,
                first_day: v.day,
                flags: 0,
                by_cabinet: SmallVec::new(),
                by_month: SmallVec::new(),
                days: SmallVec::new(),
            });
            // The visits come in any order: the earliest gives the person's attributes.
            if v.day < p.first_day {
                (p.sex, p.neighbourhood, p.age, p.first_day) = (v.sex, v.neighbourhood, age, v.day);
            }
            p.flags |= flags;
            or_into(&mut p.by_cabinet, v.cabinet, flags);
            or_into(&mut p.by_month, month, flags);
            if !p.days.contains(&(v.cabinet, v.day)) {
                p.days.push((v.cabinet, v.day));
            }
        }
        by_key.entry(Key::Programme).or_default().visits += programme_visits;
        for (sex, n) in [Sex::M, Sex::F].into_iter().zip(sex_visits) {
            if n > 0 {
                by_key.entry(Key::Sex(sex)).or_default().visits += n;
            }
        }
        for (band, n) in ESF_BANDS.into_iter().zip(esf_visits) {
            if n > 0 {
                by_key.entry(Key::AgeEsf(band)).or_default().visits += n;
            }
        }
        for (i, n) in who_visits.into_iter().enumerate() {
            if n > 0 {
                by_key
                    .entry(Key::AgeWho(i as i32 * 5 - 5))
                    .or_default()
                    .visits += n;
            }
        }
        for ((cabinet, month), (known, in_time)) in arrivals {
            for key in [Key::Programme, Key::Cabinet(cabinet), Key::Month(month)] {
                let t = by_key.entry(key).or_default();
                t.arrivals_known += known;
                t.arrived_in_time += in_time;
            }
        }
        let mut days: FxHashMap<(&'a str, NaiveDate), u64> = FxHashMap::default();
        for p in persons.values() {
            let mut add =
                |key: Key<'a>, flags: u32| by_key.entry(key).or_default().add_person(flags);
            add(Key::Programme, p.flags);
            add(Key::Neighbourhood(p.neighbourhood), p.flags);
            add(Key::Sex(p.sex), p.flags);
            add(Key::AgeEsf(esf_band(p.age)), p.flags);
            add(Key::AgeWho(who_low(p.age)), p.flags);
            for (cabinet, flags, n) in &p.by_cabinet {
                let t = by_key.entry(Key::Cabinet(cabinet)).or_default();
                t.add_person(*flags);
                t.visits += n;
            }
            for (month, flags, n) in &p.by_month {
                let t = by_key.entry(Key::Month(*month)).or_default();
                t.add_person(*flags);
                t.visits += n;
            }
            for day in &p.days {
                *days.entry(*day).or_default() += 1;
            }
        }
        VisitTallies { by_key, days }
    }

    /// Adds the counts of other persons' visits.
    fn merge(&mut self, other: VisitTallies<'a>) {
        for (key, t) in other.by_key {
            let mine = self.by_key.entry(key).or_default();
            for (a, b) in mine.persons.iter_mut().zip(t.persons) {
                *a += b;
            }
            mine.visits += t.visits;
            mine.outreach_days += t.outreach_days;
            mine.person_days += t.person_days;
            mine.arrivals_known += t.arrivals_known;
            mine.arrived_in_time += t.arrived_in_time;
        }
        for (day, seen) in other.days {
            *self.days.entry(day).or_default() += seen;
        }
    }
}

impl Report {
    /// The report of `request` over the facts given. Facts outside the period (and voided
    /// visits, cancelled referrals, referrals of classes not shown) are passed over here, so
    /// the store may hand over more than needed.
    pub fn make<'a>(
        request: &ReportRequest,
        visits: impl IntoIterator<Item = VisitFact<'a>>,
        referrals: impl IntoIterator<Item = ReferralFact<'a>>,
        cases: impl IntoIterator<Item = CaseFact>,
    ) -> Report {
        let tallies = VisitTallies::of(request, visits);
        Report::from_tallies(request, tallies, referrals, cases)
    }

    /// The same report, the visits counted in `parts` at once, one thread each. Every visit
    /// of a person must be in the same part (a person counts once per cell).
    pub fn make_in_parts<'a, I>(
        request: &ReportRequest,
        parts: Vec<I>,
        referrals: impl IntoIterator<Item = ReferralFact<'a>>,
        cases: impl IntoIterator<Item = CaseFact>,
    ) -> Report
    where
        I: IntoIterator<Item = VisitFact<'a>> + Send,
    {
        let mut counted = std::thread::scope(|scope| {
            let running: Vec<_> = parts
                .into_iter()
                .map(|part| scope.spawn(move || VisitTallies::of(request, part)))
                .collect();
            running
                .into_iter()
                .map(|t| t.join().expect("counting visits does not panic"))
                .collect::<Vec<_>>()
        })
        .into_iter();
        let mut tallies = counted.next().unwrap_or_default();
        for other in counted {
            tallies.merge(other);
        }
        Report::from_tallies(request, tallies, referrals, cases)
    }

    fn from_tallies<'a>(
        request: &ReportRequest,
        tallies: VisitTallies<'a>,
        referrals: impl IntoIterator<Item = ReferralFact<'a>>,
        cases: impl IntoIterator<Item = CaseFact>,
    ) -> Report {
        let in_period = |d: NaiveDate| d >= request.from && d <= request.to;
        let shown =
            |class: AccessClass| class == AccessClass::General || request.shown.contains(&class);
        let VisitTallies { mut by_key, days } = tallies;
        by_key.entry(Key::Programme).or_default();
        // Outreach days: a cabinet's day with anyone seen, and how many persons that day.
        for ((cabinet, day), seen) in &days {
            for key in [
                Key::Programme,
                Key::Cabinet(cabinet),
                Key::Month(month_key(*day)),
            ] {
                let t = by_key.entry(key).or_default();
                t.outreach_days += 1;
                t.person_days += seen;
            }
        }
        let tallies: BTreeMap<Cell, Tally> =
            by_key.into_iter().map(|(k, t)| (k.cell(), t)).collect();

        // Referrals issued in the period, of classes shown, not withdrawn: kept once, listed
        // per cell under cheap keys, and the cells named once at the end.
        let kept: Vec<ReferralFact<'a>> = referrals
            .into_iter()
            .filter(|r| {
                in_period(r.issued) && shown(r.class) && r.status != ReferralStatus::Cancelled
            })
            .collect();
        let mut listed: FxHashMap<Key<'a>, Vec<&ReferralFact<'a>>> = FxHashMap::default();
        listed.insert(Key::Programme, kept.iter().collect());
        for r in &kept {
            for key in [Key::Cabinet(r.cabinet), Key::Month(month_key(r.issued))] {
                listed.entry(key).or_default().push(r);
            }
        }
        let referrals_by: BTreeMap<Cell, Vec<&ReferralFact<'a>>> = listed
            .into_iter()
            .map(|(k, list)| (k.cell(), list))
            .collect();

        let cases: Vec<CaseFact> = cases.into_iter().collect();
        let mut rows = Vec::new();
        for ind in INDICATORS.iter().filter(|i| shown(i.class())) {
            let sensitive = ind.class() != AccessClass::General;
            let mut push = |cell: &Cell, value: Value| {
                let value = match (sensitive, cell.0, &value) {
                    (false, _, _) => value,
                    (_, Breakdown::Programme, _) if !request.below_programme => value,
                    (true, _, v) if v.is_small() => Value::Suppressed,
                    _ => value,
                };
                rows.push(Row {
                    indicator: ind.id,
                    breakdown: cell.0,
                    key: cell.1.clone(),
                    value,
                });
            };
            let breakdowns = ind.breakdowns();
            match ind.measure {
                Measure::ReferralsIssued => {
                    for (cell, list) in referrals_by
                        .iter()
                        .filter(|(c, _)| breakdowns.contains(&c.0))
                    {
                        push(cell, Value::Count(list.len() as u64));
                    }
                    let mut by_pair: BTreeMap<(String, u8), (u64, AccessClass)> = BTreeMap::new();
                    if let Some(all) = referrals_by.get(&(Breakdown::Programme, "all".into())) {
                        for r in all {
                            let e = by_pair
                                .entry((r.destination.slug().to_string(), r.urgency.rank()))
                                .or_insert((0, r.destination.access_class()));
                            e.0 += 1;
                        }
                    }
                    for ((slug, rank), (n, class)) in by_pair {
                        let urgency =
                            Urgency::from_rank(i64::from(rank)).unwrap_or(Urgency::Routine);
                        let value = match class != AccessClass::General && n < SMALL_NUMBER {
                            true => Value::Suppressed,
                            false => Value::Count(n),
                        };
                        rows.push(Row {
                            indicator: ind.id,
                            breakdown: Breakdown::DestinationUrgency,
                            key: format!("{slug}/{}", urgency.as_str()),
                            value,
                        });
                    }
                }
                Measure::Referred(_)
                | Measure::ReferredAttended(_)
                | Measure::CompletedWithin(_)
                | Measure::MedianDaysToAttended
                | Measure::HivConfirmedWithin(_)
                | Measure::LostToFollowUp
                | Measure::Declined
                | Measure::OverdueNow => {
                    for (cell, list) in referrals_by
                        .iter()
                        .filter(|(c, _)| breakdowns.contains(&c.0))
                    {
                        if let Some(value) = referral_value(ind.measure, list, request) {
                            push(cell, value);
                        }
                    }
                }
                Measure::DevicesNotSynced => {
                    if let Some(n) = request.devices_not_synced {
                        push(&(Breakdown::Programme, "all".into()), Value::Count(n));
                    }
                }
                Measure::OpenDuplicates => {
                    if let Some(n) = request.open_duplicates {
                        push(&(Breakdown::Programme, "all".into()), Value::Count(n));
                    }
                }
                Measure::CasesOpened | Measure::CasesClosed | Measure::OverdueTasks => {
                    if cases.is_empty() {
                        continue; // "when cases exist"
                    }
                    let n = match ind.measure {
                        Measure::CasesOpened => {
                            cases.iter().filter(|c| in_period(c.opened)).count() as u64
                        }
                        Measure::CasesClosed => cases
                            .iter()
                            .filter(|c| c.closed.is_some_and(in_period))
                            .count() as u64,
                        _ => cases.iter().map(|c| c.overdue_tasks).sum(),
                    };
                    push(&(Breakdown::Programme, "all".into()), Value::Count(n));
                    if ind.measure == Measure::CasesClosed {
                        // Why they were closed, each reason the period has.
                        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
                        for c in cases.iter().filter(|c| c.closed.is_some_and(in_period)) {
                            let reason = c.closure_reason.map_or("unknown", |r| r.as_str());
                            *by_reason.entry(reason).or_default() += 1;
                        }
                        for (reason, n) in by_reason {
                            push(
                                &(Breakdown::ClosureReason, reason.to_string()),
                                Value::Count(n),
                            );
                        }
                    }
                }
                measure => {
                    for (cell, t) in tallies.iter().filter(|(c, _)| breakdowns.contains(&c.0)) {
                        if let Some(value) = visit_value(measure, t) {
                            push(cell, value);
                        }
                    }
                }
            }
        }
        withhold_complements(&mut rows);
        Report {
            from: request.from,
            to: request.to,
            as_of: request.as_of,
            rows,
        }
    }

    /// For a report of one cabinet, made beside the whole programme's (`whole`): every
    /// sensitive indicator whose cell for this cabinet the programme's report hides is hidden
    /// here too, with all its breakdowns (they would add up to it). Else the cabinet's own
    /// report would show what the programme's withholds.
    pub fn hide_what_the_programme_hides(&mut self, whole: &Report, cabinet: &str) {
        let hidden: rustc_hash::FxHashSet<&str> = whole
            .rows
            .iter()
            .filter(|r| r.breakdown == Breakdown::Cabinet && r.key == cabinet)
            .filter(|r| matches!(r.value, Value::Suppressed | Value::Withheld))
            .map(|r| r.indicator)
            .collect();
        for r in &mut self.rows {
            if hidden.contains(r.indicator) && r.value != Value::Suppressed {
                r.value = Value::Withheld;
            }
        }
    }

    /// The value of one indicator in one cell, if the report has it.
    pub fn value(&self, indicator: &str, breakdown: Breakdown, key: &str) -> Option<&Value> {
        self.rows
            .iter()
            .find(|r| r.indicator == indicator && r.breakdown == breakdown && r.key == key)
            .map(|r| &r.value)
    }
}

impl Value {
    /// Whether the value, or a part a ratio is built on, is under [`SMALL_NUMBER`].
    fn is_small(&self) -> bool {
        match self {
            Value::Count(n) => *n < SMALL_NUMBER,
            Value::Percent {
                numerator,
                denominator,
            } => *numerator < SMALL_NUMBER || *denominator < SMALL_NUMBER,
            Value::Number(_) | Value::Suppressed | Value::Withheld => false,
        }
    }
}

/// Whether a breakdown's hidden cells can be worked out from what it shows: the whole
/// programme's `total` less the cells `shown` is the hidden cells' sum; each `<5` cell is 0
/// to 4, each withheld one at least 5 and at most the smallest cell shown (it was withheld
/// as the smallest). A lone hidden cell is always given away; several are when the sum
/// leaves one of them a single possible value ("<5" and "<5" summing to 0 are both 0).
fn gives_hidden_away(
    total: Option<u64>,
    shown: &[u64],
    suppressed: usize,
    withheld: usize,
) -> bool {
    match suppressed + withheld {
        0 => return false,
        1 => return true,
        _ => {}
    }
    let Some(total) = total else {
        return false; // the total is hidden too (a one-cabinet report): nothing to subtract from
    };
    let shown_sum: u64 = shown.iter().sum();
    if shown_sum > total {
        return false; // not a partition (a person seen in two months): no exact subtraction
    }
    let (s, w) = (suppressed as i128, withheld as i128);
    let sum = i128::from(total - shown_sum);
    let most = shown.iter().min().map_or(i128::MAX / 4, |m| i128::from(*m));
    let pinned = |lo: i128, hi: i128| lo >= hi;
    // The other hidden cells at their largest and at their smallest.
    let small_one = s > 0
        && pinned(
            (sum - 4 * (s - 1) - most.saturating_mul(w)).max(0),
            (sum - 5 * w).min(4),
        );
    let withheld_one = w > 0
        && pinned(
            (sum - 4 * s - most.saturating_mul(w - 1)).max(5),
            (sum - 5 * (w - 1)).min(most),
        );
    small_one || withheld_one
}

/// Secondary suppression. A breakdown can give its hidden cells away: the whole
/// programme's number less the cells shown is what is hidden ("<5" women tested for HIV
/// beside 20 men, of 23 in all, is 3). So in every breakdown of a sensitive indicator, and
/// in the referrals by destination and urgency (whose sensitive cells are hidden), while
/// the hidden cells can be worked out ([`gives_hidden_away`]) the smallest shown cell is
/// withheld too; and a share is withheld wherever a count it is built on is hidden (its
/// numerator would tell the count). Repeated until nothing changes. What this does not do:
/// weigh different indicators, periods or one-cabinet reports against each other (a
/// statistical office's audit of linked tables); docs/design-reports.md says so.
fn withhold_complements(rows: &mut [Row]) {
    let hidden = |v: &Value| matches!(v, Value::Suppressed | Value::Withheld);
    let size = |v: &Value| match v {
        Value::Count(n) => Some(*n),
        Value::Percent { numerator, .. } => Some(*numerator),
        _ => None,
    };
    let sensitive: FxHashMap<&str, bool> = INDICATORS
        .iter()
        .map(|i| (i.id, i.class() != AccessClass::General))
        .collect();
    let mut groups: BTreeMap<(&str, Breakdown), Vec<usize>> = BTreeMap::new();
    let mut at: FxHashMap<(&str, Breakdown, &str), usize> = FxHashMap::default();
    let mut totals: FxHashMap<&str, u64> = FxHashMap::default();
    for (i, r) in rows.iter().enumerate() {
        at.insert((r.indicator, r.breakdown, r.key.as_str()), i);
        if r.breakdown == Breakdown::Programme
            && let Some(n) = size(&r.value)
        {
            totals.insert(r.indicator, n);
        }
        if r.breakdown != Breakdown::Programme
            && (sensitive.get(r.indicator).copied().unwrap_or(false)
                || r.breakdown == Breakdown::DestinationUrgency)
        {
            groups
                .entry((r.indicator, r.breakdown))
                .or_default()
                .push(i);
        }
    }
    // Each share's cells, and the cells of the counts it is built on.
    let id_of = |m: Measure| INDICATORS.iter().find(|i| i.measure == m).map(|i| i.id);
    let mut shares: Vec<(usize, Vec<usize>)> = Vec::new();
    for &kind in ScreeningKind::ALL.iter() {
        let (Some(share), Some(screened), Some(abnormal)) = (
            id_of(Measure::Yield(kind)),
            id_of(Measure::Screened(kind)),
            id_of(Measure::Abnormal(kind)),
        ) else {
            continue;
        };
        for (i, r) in rows.iter().enumerate() {
            if r.indicator == share {
                let parts = [screened, abnormal]
                    .iter()
                    .filter_map(|p| at.get(&(*p, r.breakdown, r.key.as_str())).copied())
                    .collect();
                shares.push((i, parts));
            }
        }
    }
    drop(at);
    loop {
        let mut changed = false;
        for ((indicator, _), cells) in &groups {
            let shown: Vec<u64> = cells.iter().filter_map(|i| size(&rows[*i].value)).collect();
            let count = |v: Value| cells.iter().filter(|i| rows[**i].value == v).count();
            let (suppressed, withheld) = (count(Value::Suppressed), count(Value::Withheld));
            if cells.len() < 2
                || !gives_hidden_away(totals.get(indicator).copied(), &shown, suppressed, withheld)
            {
                continue;
            }
            let smallest = cells
                .iter()
                .filter(|i| !hidden(&rows[**i].value))
                .filter_map(|i| size(&rows[*i].value).map(|n| (n, *i)))
                .min();
            if let Some((_, j)) = smallest {
                rows[j].value = Value::Withheld;
                changed = true;
            }
        }
        for (share, parts) in &shares {
            if !hidden(&rows[*share].value) && parts.iter().any(|p| hidden(&rows[*p].value)) {
                rows[*share].value = Value::Withheld;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

fn neighbourhood_key(n: Option<&str>) -> String {
    n.map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

/// A visit indicator's value in a cell: `None` where the cell has no such number (outreach
/// days of a sex).
fn visit_value(measure: Measure, t: &Tally) -> Option<Value> {
    let bit = |flag: u32| t.persons[flag.trailing_zeros() as usize];
    Some(match measure {
        Measure::Reached => Value::Count(bit(REACHED)),
        Measure::New => Value::Count(bit(NEW)),
        Measure::Returning => Value::Count(bit(RETURNING)),
        Measure::WithoutDocuments => Value::Count(bit(NO_DOCUMENTS)),
        Measure::Visits => Value::Count(t.visits),
        Measure::OutreachDays => Value::Count(t.outreach_days),
        Measure::PersonsPerDay => match t.outreach_days {
            0 => return None,
            d => Value::Number(t.person_days as f64 / d as f64),
        },
        Measure::Screened(k) => Value::Count(bit(screened_flag(k))),
        Measure::Abnormal(k) => Value::Count(bit(abnormal_flag(k))),
        Measure::Yield(k) => Value::Percent {
            numerator: bit(abnormal_flag(k)),
            denominator: bit(screened_flag(k)),
        },
        Measure::ConsentRecorded => Value::Percent {
            numerator: bit(CONSENT),
            denominator: bit(REACHED),
        },
        Measure::SyncedWithin48h => match t.arrivals_known {
            0 => return None,
            known => Value::Percent {
                numerator: t.arrived_in_time,
                denominator: known,
            },
        },
        _ => return None,
    })
}

/// Whether a referral was attended within `days` of its issue.
fn attended_within(r: &ReferralFact<'_>, days: u16) -> bool {
    r.attended
        .is_some_and(|a| (a - r.issued).num_days() <= i64::from(days))
}

/// A referral indicator's value over the referrals of a cell: `None` where there is none (a
/// median of no waits).
fn referral_value(
    measure: Measure,
    list: &[&ReferralFact<'_>],
    request: &ReportRequest,
) -> Option<Value> {
    // Judged only once it had the time: a referral issued yesterday is not "not attended
    // within 30 days" yet.
    let matured =
        |r: &ReferralFact<'_>, days: u16| (request.as_of - r.issued).num_days() >= i64::from(days);
    let ratio = |of: Vec<&ReferralFact<'_>>, days: u16| Value::Percent {
        numerator: of.iter().filter(|r| attended_within(r, days)).count() as u64,
        denominator: of.len() as u64,
    };
    Some(match measure {
        Measure::CompletedWithin(days) => ratio(
            list.iter().copied().filter(|r| matured(r, days)).collect(),
            days,
        ),
        Measure::HivConfirmedWithin(days) => ratio(
            list.iter()
                .copied()
                .filter(|r| {
                    r.destination == Destination::Institution(Institution::HivTestingCabinet)
                })
                .filter(|r| matured(r, days))
                .collect(),
            days,
        ),
        Measure::MedianDaysToAttended => {
            let mut waits: Vec<i64> = list
                .iter()
                .filter_map(|r| r.attended.map(|a| (a - r.issued).num_days()))
                .collect();
            waits.sort_unstable();
            match waits.len() {
                0 => return None,
                n if n % 2 == 1 => Value::Number(waits[n / 2] as f64),
                n => Value::Number((waits[n / 2 - 1] + waits[n / 2]) as f64 / 2.0),
            }
        }
        Measure::Referred(kind) => {
            Value::Count(list.iter().filter(|r| r.reason == Some(kind)).count() as u64)
        }
        Measure::ReferredAttended(kind) => Value::Count(
            list.iter()
                .filter(|r| r.reason == Some(kind) && r.attended.is_some())
                .count() as u64,
        ),
        Measure::LostToFollowUp => Value::Count(
            list.iter()
                .filter(|r| r.status == ReferralStatus::LostToFollowUp)
                .count() as u64,
        ),
        Measure::Declined => Value::Count(
            list.iter()
                .filter(|r| r.status == ReferralStatus::Declined)
                .count() as u64,
        ),
        Measure::OverdueNow => Value::Count(
            list.iter()
                .filter(|r| {
                    r.status.is_open()
                        && (request.as_of - r.issued).num_days()
                            > i64::from(request.follow_up.of(r.urgency))
                })
                .count() as u64,
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Breakdown::*;
    // A breakdown is meant by `Sex` below; a person's sex is `PersonSex`.
    use crate::sex::Sex as PersonSex;
    use Breakdown::Sex;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    struct P {
        id: u128,
        sex: PersonSex,
        born: i32,
        neighbourhood: Option<&'static str>,
        no_documents: bool,
        consent: bool,
        first: &'static str,
    }

    fn visit(
        p: &P,
        cabinet: &'static str,
        on: &str,
        screened: &[ScreeningKind],
        abnormal: &[ScreeningKind],
    ) -> VisitFact<'static> {
        let bits = |kinds: &[ScreeningKind]| kinds.iter().fold(0u8, |b, k| b | kind_bit(*k));
        VisitFact {
            person: p.id,
            cabinet,
            day: day(on),
            voided: false,
            sex: p.sex,
            birth_year: Some(p.born),
            neighbourhood: p.neighbourhood,
            no_documents: p.no_documents,
            data_consent: p.consent,
            first_visit: day(p.first),
            screened: bits(screened),
            abnormal: bits(abnormal),
            synced_within_48h: None,
        }
    }

    /// `v`, having reached the hub in time or not.
    fn arrived(mut v: VisitFact<'static>, in_time: bool) -> VisitFact<'static> {
        v.synced_within_48h = Some(in_time);
        v
    }

    fn referral(
        cabinet: &'static str,
        issued: &str,
        destination: Destination,
        urgency: Urgency,
        class: AccessClass,
        status: ReferralStatus,
        attended: Option<&str>,
    ) -> ReferralFact<'static> {
        ReferralFact {
            cabinet,
            issued: day(issued),
            destination,
            urgency,
            class,
            // The fixture's referrals to the HIV testing cabinet follow an HIV test.
            reason: (destination == KABKIS).then_some(ScreeningKind::Hiv),
            status,
            attended: attended.map(day),
        }
    }

    const GP: Destination = Destination::Hub(crate::referral::HubRole::Gp);
    const KABKIS: Destination = Destination::Institution(Institution::HivTestingCabinet);
    const LUNG: Destination = Destination::Institution(Institution::LungHospital);

    #[test]
    fn a_documents_bits_count_hiv_only_with_consent_and_counselling_and_age_picks_the_rules() {
        use crate::screening::*;
        let hiv = |consent, counselled, result| HivTest {
            consent,
            counselled,
            assay: HivAssay::RapidAb12,
            result,
            repeat: None,
        };
        let mut s = crate::Screenings {
            hiv: Some(hiv(true, true, RapidResult::Reactive)),
            ..Default::default()
        };
        let b = ScreeningBits::of(&s, false);
        let h = kind_bit(ScreeningKind::Hiv);
        assert_eq!((b.screened, b.abnormal_adult, b.abnormal_child), (h, h, h));
        s.hiv = Some(hiv(true, true, RapidResult::NonReactive));
        assert_eq!(ScreeningBits::of(&s, false).abnormal_adult, 0);
        s.hiv = Some(hiv(true, false, RapidResult::Reactive));
        assert_eq!(ScreeningBits::of(&s, false), ScreeningBits::default());

        let g = kind_bit(ScreeningKind::Glucose);
        let glucose = |v| crate::Screenings {
            glucose: Some(Glucose::reading(v, GlucoseUnit::MmolL, Fasting::Fasting)),
            ..Default::default()
        };
        assert_eq!(ScreeningBits::of(&glucose(4.8), false).screened, g);
        assert_eq!(ScreeningBits::of(&glucose(4.8), false).abnormal_adult, 0);
        assert_eq!(ScreeningBits::of(&glucose(15.0), false).abnormal_adult, g);

        // 135/85 is high-normal for an adult and raised for a child.
        let bp = crate::Screenings {
            blood_pressure: Some(BloodPressure::reading(135, 85)),
            ..Default::default()
        };
        let b = ScreeningBits::of(&bp, false);
        let p = kind_bit(ScreeningKind::BloodPressure);
        assert_eq!((b.abnormal_adult, b.abnormal_child), (0, p));
        assert_eq!(b.abnormal_at(Some(12)), p);
        assert_eq!(b.abnormal_at(Some(40)), 0);
        assert_eq!(b.abnormal_at(None), 0);
    }

    /// The fixture, worked out by hand in the comments of [`the_fixture_by_hand`].
    fn fixture(shown: Vec<AccessClass>) -> Report {
        use ScreeningKind::*;
        let p1 = P {
            id: 1,
            sex: PersonSex::F,
            born: 1990,
            neighbourhood: Some("Мошино"),
            no_documents: false,
            consent: true,
            first: "2025-12-10",
        };
        let p2 = P {
            id: 2,
            sex: PersonSex::M,
            born: 2010,
            neighbourhood: Some("Мошино"),
            no_documents: true,
            consent: false,
            first: "2026-01-05",
        };
        let p3 = P {
            id: 3,
            sex: PersonSex::M,
            born: 1960,
            neighbourhood: Some("Изток"),
            no_documents: false,
            consent: true,
            first: "2026-03-01",
        };
        let p4 = P {
            id: 4,
            sex: PersonSex::F,
            born: 1995,
            neighbourhood: None,
            no_documents: false,
            consent: true,
            first: "2026-04-02",
        };
        let mut voided = visit(&p3, "cabinet-2", "2026-03-02", &[Glucose], &[Glucose]);
        voided.voided = true;
        let visits = vec![
            arrived(
                visit(
                    &p1,
                    "cabinet-1",
                    "2026-01-05",
                    &[Glucose, BloodPressure],
                    &[Glucose],
                ),
                true,
            ),
            arrived(
                visit(&p2, "cabinet-1", "2026-01-05", &[Glucose], &[]),
                false,
            ),
            arrived(visit(&p1, "cabinet-2", "2026-02-10", &[Hiv], &[Hiv]), true),
            arrived(
                visit(&p3, "cabinet-1", "2026-03-01", &[Hiv, Tb], &[Tb]),
                true,
            ),
            // Its arrival not known (held before the hub recorded arrivals).
            visit(&p3, "cabinet-1", "2026-03-01", &[], &[]),
            arrived(voided, false),
            arrived(
                visit(&p4, "cabinet-1", "2026-04-02", &[Glucose], &[]),
                false,
            ),
        ];
        use ReferralStatus::*;
        let referrals = vec![
            referral(
                "cabinet-1",
                "2026-01-05",
                GP,
                Urgency::Routine,
                AccessClass::General,
                Completed,
                Some("2026-01-20"),
            ),
            referral(
                "cabinet-2",
                "2026-02-10",
                KABKIS,
                Urgency::Priority,
                AccessClass::Hiv,
                Attended,
                Some("2026-02-14"),
            ),
            referral(
                "cabinet-1",
                "2026-03-01",
                LUNG,
                Urgency::Priority,
                AccessClass::Tuberculosis,
                Issued,
                None,
            ),
            referral(
                "cabinet-1",
                "2026-03-20",
                GP,
                Urgency::Routine,
                AccessClass::General,
                Declined,
                None,
            ),
            referral(
                "cabinet-1",
                "2026-03-21",
                GP,
                Urgency::Routine,
                AccessClass::General,
                Cancelled,
                None,
            ),
            referral(
                "cabinet-1",
                "2026-04-01",
                GP,
                Urgency::Routine,
                AccessClass::General,
                Issued,
                None,
            ),
        ];
        let request = ReportRequest {
            from: day("2026-01-01"),
            to: day("2026-03-31"),
            as_of: day("2026-06-30"),
            shown,
            devices_not_synced: Some(2),
            at_hub: true,
            ..Default::default()
        };
        let whole = Report::make(&request, visits.clone(), referrals.clone(), []);
        // Counted in parts at once, each person's visits in one part: the same report.
        let (odd, even): (Vec<_>, Vec<_>) = visits.into_iter().partition(|v| v.person % 2 == 1);
        assert_eq!(
            Report::make_in_parts(&request, vec![odd, even, Vec::new()], referrals, []),
            whole
        );
        whole
    }

    fn count(r: &Report, id: &str, b: Breakdown, key: &str) -> u64 {
        match r.value(id, b, key) {
            Some(Value::Count(n)) => *n,
            other => panic!("{id} {b:?} {key}: {other:?}"),
        }
    }

    fn percent(r: &Report, id: &str, b: Breakdown, key: &str) -> (u64, u64) {
        match r.value(id, b, key) {
            Some(Value::Percent {
                numerator,
                denominator,
            }) => (*numerator, *denominator),
            other => panic!("{id} {b:?} {key}: {other:?}"),
        }
    }

    fn number(r: &Report, id: &str, b: Breakdown, key: &str) -> f64 {
        match r.value(id, b, key) {
            Some(Value::Number(x)) => *x,
            other => panic!("{id} {b:?} {key}: {other:?}"),
        }
    }

    #[test]
    fn the_fixture_by_hand() {
        let sensitive = vec![
            AccessClass::Hiv,
            AccessClass::Hepatitis,
            AccessClass::Tuberculosis,
        ];
        let r = fixture(sensitive);
        // Reached in Jan–Mar: P1, P2, P3 (P4 came in April; P3's voided visit is out).
        assert_eq!(count(&r, "reach.persons", Programme, "all"), 3);
        // New: first visit in the period: P2 (Jan 5), P3 (Mar 1). P1 came first in December.
        assert_eq!(count(&r, "reach.new", Programme, "all"), 2);
        assert_eq!(count(&r, "reach.returning", Programme, "all"), 1);
        assert_eq!(count(&r, "reach.no_documents", Programme, "all"), 1);
        // Visits: P1 2, P2 1, P3 2 (twice on Mar 1); the voided one and April's are out.
        assert_eq!(count(&r, "reach.visits", Programme, "all"), 5);
        // Days: cabinet-1 Jan 5, cabinet-2 Feb 10, cabinet-1 Mar 1.
        assert_eq!(count(&r, "reach.outreach_days", Programme, "all"), 3);
        // Persons those days: {P1, P2}, {P1}, {P3} = 4 over 3 days.
        assert!((number(&r, "reach.persons_per_day", Programme, "all") - 4.0 / 3.0).abs() < 1e-9);
        assert_eq!(count(&r, "reach.outreach_days", Cabinet, "cabinet-1"), 2);
        // Glucose: P1 (abnormal), P2 (normal).
        assert_eq!(count(&r, "screened.glucose", Programme, "all"), 2);
        assert_eq!(count(&r, "abnormal.glucose", Programme, "all"), 1);
        assert_eq!(percent(&r, "yield.glucose", Programme, "all"), (1, 2));
        // HIV: P1 reactive at cabinet-2, P3 non-reactive at cabinet-1: whole programme as is.
        assert_eq!(count(&r, "screened.hiv", Programme, "all"), 2);
        assert_eq!(count(&r, "abnormal.hiv", Programme, "all"), 1);
        assert_eq!(percent(&r, "yield.hiv", Programme, "all"), (1, 2));
        // Below the programme, under 5: suppressed; general counts are not.
        assert_eq!(
            r.value("screened.hiv", Cabinet, "cabinet-1"),
            Some(&Value::Suppressed)
        );
        assert_eq!(r.value("yield.hiv", Sex, "F"), Some(&Value::Suppressed));
        assert_eq!(
            r.value("screened.tb", Neighbourhood, "Изток"),
            Some(&Value::Suppressed)
        );
        assert_eq!(count(&r, "screened.glucose", Cabinet, "cabinet-1"), 2);
        // Per cabinet, a person counts where they were seen: cabinet-1 P1, P2, P3; cabinet-2 P1.
        assert_eq!(count(&r, "reach.persons", Cabinet, "cabinet-1"), 3);
        assert_eq!(count(&r, "reach.persons", Cabinet, "cabinet-2"), 1);
        assert_eq!(count(&r, "reach.persons", Neighbourhood, "Мошино"), 2);
        assert_eq!(count(&r, "reach.persons", Sex, "M"), 2);
        // Ages in 2026 (birth year only): P1 36, P2 16, P3 66.
        assert_eq!(count(&r, "reach.persons", AgeEsf, "30-54"), 1);
        assert_eq!(count(&r, "reach.persons", AgeEsf, "<18"), 1);
        assert_eq!(count(&r, "reach.persons", AgeEsf, "55+"), 1);
        assert_eq!(count(&r, "reach.persons", AgeWho, "65-69"), 1);
        assert_eq!(count(&r, "reach.persons", AgeWho, "15-19"), 1);
        assert_eq!(count(&r, "reach.persons", Month, "2026-01"), 2);
        assert_eq!(count(&r, "reach.visits", Month, "2026-03"), 2);
        // Consent recorded: P1, P3 of 3.
        assert_eq!(percent(&r, "quality.consent", Programme, "all"), (2, 3));
        assert_eq!(count(&r, "quality.devices_not_synced", Programme, "all"), 2);
        // Arrivals known: P1 Jan 5 (in time), P2 Jan 5 (late), P1 Feb 10 and P3's first of
        // Mar 1 (in time); P3's second is not known, the voided and April's are out.
        assert_eq!(percent(&r, "quality.synced_48h", Programme, "all"), (3, 4));
        assert_eq!(
            percent(&r, "quality.synced_48h", Cabinet, "cabinet-1"),
            (2, 3)
        );
        assert_eq!(
            percent(&r, "quality.synced_48h", Cabinet, "cabinet-2"),
            (1, 1)
        );
        assert_eq!(percent(&r, "quality.synced_48h", Month, "2026-01"), (1, 2));
        assert_eq!(r.value("quality.synced_48h", Sex, "F"), None);
        assert_eq!(r.value("quality.open_duplicates", Programme, "all"), None);

        // Referrals issued Jan–Mar, not cancelled: R1 GP, R2 КАБКИС, R3 lung, R4 GP.
        assert_eq!(count(&r, "referrals.issued", Programme, "all"), 4);
        // By 30 June each had 30 and 90 days; attended within them: R1 (15 d), R2 (4 d).
        assert_eq!(
            percent(&r, "referrals.completed_30", Programme, "all"),
            (2, 4)
        );
        assert_eq!(
            percent(&r, "referrals.completed_90", Programme, "all"),
            (2, 4)
        );
        assert_eq!(number(&r, "referrals.median_days", Programme, "all"), 9.5);
        assert_eq!(percent(&r, "hiv.confirmed_7", Programme, "all"), (1, 1));
        assert_eq!(count(&r, "referrals.declined", Programme, "all"), 1);
        assert_eq!(count(&r, "referrals.lost", Programme, "all"), 0);
        // R3, priority (7 days), open for 121 days.
        assert_eq!(count(&r, "referrals.overdue", Programme, "all"), 1);
        assert_eq!(
            count(
                &r,
                "referrals.issued",
                DestinationUrgency,
                &format!("{}/routine", GP.slug())
            ),
            2
        );
        assert_eq!(
            r.value(
                "referrals.issued",
                DestinationUrgency,
                &format!("{}/priority", KABKIS.slug())
            ),
            Some(&Value::Suppressed)
        );
        assert_eq!(
            r.value("hiv.confirmed_7", Cabinet, "cabinet-2"),
            Some(&Value::Suppressed)
        );
        // No cases: no team rows.
        assert!(r.rows.iter().all(|row| !row.indicator.starts_with("team.")));
    }

    #[test]
    fn cases_opened_and_closed_in_the_period_and_why() {
        use crate::case::ClosureReason::*;
        let case = |opened: &str, closed: Option<&str>, reason, overdue_tasks| CaseFact {
            opened: day(opened),
            closed: closed.map(day),
            closure_reason: reason,
            overdue_tasks,
        };
        let cases = [
            // Opened before the period, closed in it: goals met.
            case("2025-11-03", Some("2026-01-15"), Some(GoalsMet), 0),
            case("2026-01-10", Some("2026-02-01"), Some(GoalsMet), 0),
            case("2026-02-01", Some("2026-03-30"), Some(MovedAway), 0),
            // Closed after the period: opened in it, not closed in it.
            case("2026-03-01", Some("2026-04-02"), Some(Declined), 0),
            // A reason of a newer build.
            case("2026-01-20", Some("2026-02-20"), None, 0),
            case("2026-02-11", None, None, 2),
            case("2026-03-05", None, None, 1),
        ];
        let request = ReportRequest {
            from: day("2026-01-01"),
            to: day("2026-03-31"),
            as_of: day("2026-04-05"),
            shown: Vec::new(),
            ..Default::default()
        };
        let r = Report::make(&request, [], [], cases);
        // Opened Jan–Mar: all but the first.
        assert_eq!(count(&r, "team.cases_opened", Programme, "all"), 6);
        // Closed Jan–Mar: Jan 15, Feb 1, Mar 30, Feb 20.
        assert_eq!(count(&r, "team.cases_closed", Programme, "all"), 4);
        assert_eq!(
            count(&r, "team.cases_closed", ClosureReason, "goals_met"),
            2
        );
        assert_eq!(
            count(&r, "team.cases_closed", ClosureReason, "moved_away"),
            1
        );
        assert_eq!(count(&r, "team.cases_closed", ClosureReason, "unknown"), 1);
        assert_eq!(
            r.value("team.cases_closed", ClosureReason, "declined"),
            None
        );
        assert_eq!(count(&r, "team.overdue_tasks", Programme, "all"), 3);
        // No cases at all: no team rows ("when cases exist").
        let none = Report::make(&request, [], [], []);
        assert!(
            none.rows
                .iter()
                .all(|row| !row.indicator.starts_with("team."))
        );
    }

    #[test]
    fn a_reader_of_no_sensitive_class_gets_no_row_about_one() {
        let r = fixture(Vec::new());
        for row in &r.rows {
            let ind = Indicator::by_id(row.indicator).unwrap();
            assert_eq!(ind.class(), AccessClass::General, "{row:?}");
        }
        assert!(r.value("screened.hiv", Programme, "all").is_none());
        assert!(r.value("hiv.confirmed_30", Programme, "all").is_none());
        // The HIV and TB referrals are not counted either: R1 and R4.
        assert_eq!(count(&r, "referrals.issued", Programme, "all"), 2);
        assert!(
            r.rows
                .iter()
                .all(|row| !row.key.contains(KABKIS.slug()) && !row.key.contains(LUNG.slug()))
        );
        // General counts are the same as for any reader.
        assert_eq!(count(&r, "reach.persons", Programme, "all"), 3);
    }

    #[test]
    fn five_is_shown_and_four_is_not() {
        let p = |id| P {
            id,
            sex: PersonSex::F,
            born: 1980,
            neighbourhood: Some("Ралица"),
            no_documents: false,
            consent: true,
            first: "2026-01-02",
        };
        let request = ReportRequest {
            from: day("2026-01-01"),
            to: day("2026-01-31"),
            as_of: day("2026-02-01"),
            shown: vec![AccessClass::Hiv],
            ..Default::default()
        };
        let make = |n: u128| {
            let visits: Vec<_> = (0..n)
                .map(|i| visit(&p(i), "cabinet-1", "2026-01-02", &[ScreeningKind::Hiv], &[]))
                .collect();
            Report::make(&request, visits, [], [])
        };
        assert_eq!(
            make(5).value("screened.hiv", Neighbourhood, "Ралица"),
            Some(&Value::Count(5))
        );
        assert_eq!(
            make(4).value("screened.hiv", Neighbourhood, "Ралица"),
            Some(&Value::Suppressed)
        );
        assert_eq!(
            make(4).value("screened.hiv", Programme, "all"),
            Some(&Value::Count(4))
        );
        // A ratio on a suppressed count is suppressed too: 0 reactive of 5.
        assert_eq!(
            make(5).value("yield.hiv", Neighbourhood, "Ралица"),
            Some(&Value::Suppressed)
        );
        assert_eq!(Value::Suppressed.text(), "<5");
        // A report of one cabinet is below the whole programme: its totals too.
        let one_cabinet = ReportRequest {
            below_programme: true,
            ..request.clone()
        };
        let visits: Vec<_> = (0..4)
            .map(|i| visit(&p(i), "cabinet-1", "2026-01-02", &[ScreeningKind::Hiv], &[]))
            .collect();
        let r = Report::make(&one_cabinet, visits, [], []);
        assert_eq!(
            r.value("screened.hiv", Programme, "all"),
            Some(&Value::Suppressed)
        );
        assert_eq!(
            r.value("reach.persons", Programme, "all"),
            Some(&Value::Count(4))
        );
    }

    #[test]
    fn a_lone_hidden_cell_is_not_given_away_by_the_others() {
        // Neighbourhood A: 3 women, none reactive; B: 10 men, 6 reactive; C: 12 men, 5
        // reactive. All tested for HIV.
        let person = |id: u128, sex, neighbourhood| P {
            id,
            sex,
            born: 1980,
            neighbourhood: Some(neighbourhood),
            no_documents: false,
            consent: true,
            first: "2026-01-02",
        };
        let mut visits = Vec::new();
        let mut add = |n: u128, start: u128, sex, place, reactive: u128| {
            for i in 0..n {
                let p = person(start + i, sex, place);
                let abnormal: &[ScreeningKind] = match i < reactive {
                    true => &[ScreeningKind::Hiv],
                    false => &[],
                };
                visits.push(visit(
                    &p,
                    "cabinet-1",
                    "2026-01-02",
                    &[ScreeningKind::Hiv],
                    abnormal,
                ));
            }
        };
        add(3, 0, PersonSex::F, "A", 0);
        add(10, 100, PersonSex::M, "B", 6);
        add(12, 200, PersonSex::M, "C", 5);
        let request = ReportRequest {
            from: day("2026-01-01"),
            to: day("2026-01-31"),
            as_of: day("2026-02-01"),
            shown: vec![AccessClass::Hiv],
            ..Default::default()
        };
        let r = Report::make(&request, visits, [], []);
        let v = |id: &str, b: Breakdown, key: &str| r.value(id, b, key).cloned();
        // 25 tested: A's "<5" would be 25 − 10 − 12; B (the smaller) is withheld with it.
        assert_eq!(v("screened.hiv", Programme, "all"), Some(Value::Count(25)));
        assert_eq!(
            v("screened.hiv", Neighbourhood, "A"),
            Some(Value::Suppressed)
        );
        assert_eq!(v("screened.hiv", Neighbourhood, "B"), Some(Value::Withheld));
        assert_eq!(
            v("screened.hiv", Neighbourhood, "C"),
            Some(Value::Count(12))
        );
        // By sex: 3 women beside 22 men of 25 would tell; both hidden.
        assert_eq!(v("screened.hiv", Sex, "F"), Some(Value::Suppressed));
        assert_eq!(v("screened.hiv", Sex, "M"), Some(Value::Withheld));
        // Reactive, 11 in all: A's 0 is "<5"; with C's 5 withheld beside it and B's 6 shown,
        // A + C = 5 with C at least 5 would still say A is 0: B is withheld too.
        assert_eq!(
            v("abnormal.hiv", Neighbourhood, "A"),
            Some(Value::Suppressed)
        );
        assert_eq!(v("abnormal.hiv", Neighbourhood, "B"), Some(Value::Withheld));
        assert_eq!(v("abnormal.hiv", Neighbourhood, "C"), Some(Value::Withheld));
        // A share tells its counts: B's 6 of 10 would give the withheld 10 away, C's 5 of 12
        // the withheld 5.
        assert_eq!(v("yield.hiv", Neighbourhood, "B"), Some(Value::Withheld));
        assert_eq!(v("yield.hiv", Neighbourhood, "C"), Some(Value::Withheld));
        assert_eq!(Value::Withheld.text(), "x");
        // A general indicator is shown whole: nobody is named by the number of people seen.
        assert_eq!(v("reach.persons", Sex, "F"), Some(Value::Count(3)));
        assert_eq!(
            v("reach.persons", Neighbourhood, "B"),
            Some(Value::Count(10))
        );
    }

    #[test]
    fn hidden_cells_are_given_away_when_the_sum_leaves_them_one_value() {
        // A lone hidden cell, whatever the rest.
        assert!(gives_hidden_away(Some(23), &[20], 1, 0));
        assert!(gives_hidden_away(None, &[20], 1, 0));
        // Two "<5" of a total of 0 (both 0) or 8 (both 4) are known; of 3 they are not.
        assert!(gives_hidden_away(Some(20), &[20], 2, 0));
        assert!(gives_hidden_away(Some(28), &[20], 2, 0));
        assert!(!gives_hidden_away(Some(23), &[20], 2, 0));
        // "<5" beside a withheld cell (at least 5, at most the 12 shown): 13 hidden leaves
        // 1–4 and 9–12; 5 hidden leaves only 0 and 5.
        assert!(!gives_hidden_away(Some(25), &[12], 1, 1));
        assert!(gives_hidden_away(Some(17), &[12], 1, 1));
        // Nothing hidden; the total hidden too; not a partition (more shown than the total).
        assert!(!gives_hidden_away(Some(30), &[10, 20], 0, 0));
        assert!(!gives_hidden_away(None, &[20], 2, 0));
        assert!(!gives_hidden_away(Some(10), &[20], 2, 0));
    }

    #[test]
    fn age_bands_at_their_edges() {
        assert_eq!(esf_band(Some(17)), "<18");
        assert_eq!(esf_band(Some(18)), "18-29");
        assert_eq!(esf_band(Some(29)), "18-29");
        assert_eq!(esf_band(Some(30)), "30-54");
        assert_eq!(esf_band(Some(54)), "30-54");
        assert_eq!(esf_band(Some(55)), "55+");
        assert_eq!(esf_band(None), "unknown");
        assert_eq!(who_band(Some(0)), "00-04");
        assert_eq!(who_band(Some(4)), "00-04");
        assert_eq!(who_band(Some(5)), "05-09");
        assert_eq!(who_band(Some(79)), "75-79");
        assert_eq!(who_band(Some(80)), "80+");
    }

    #[test]
    fn every_indicator_has_a_unique_id_and_both_names() {
        // A breakdown is spelled the same in the JSON and by `as_str` (CSV, DHIS2 mappings).
        for b in Breakdown::ALL {
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
        }
        let mut ids: Vec<&str> = INDICATORS.iter().map(|i| i.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), INDICATORS.len());
        for i in &INDICATORS {
            assert!(!i.bg.is_empty() && !i.en.is_empty(), "{}", i.id);
        }
        // HIV is "reactive", never "positive".
        for i in INDICATORS.iter().filter(|i| i.class() == AccessClass::Hiv) {
            assert!(!i.en.to_lowercase().contains("positive"), "{}", i.id);
            assert!(!i.bg.to_lowercase().contains("положител"), "{}", i.id);
        }
    }
}
