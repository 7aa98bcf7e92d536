//! Validation errors and warnings, each naming the field it concerns, with the message in
//! Bulgarian and in English. This is the one place user-facing validation text lives: the CLI
//! prints it and the UI shows it beside the field.

use serde::Serialize;
use std::fmt;

/// The language of a user-facing message. Bulgarian first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    Bg,
    En,
}

impl Lang {
    /// The one place a Bulgarian/English pair becomes one text: every label and message in
    /// the workspace is written as `lang.pick(bg, en)`.
    pub fn pick<T>(self, bg: T, en: T) -> T {
        match self {
            Lang::Bg => bg,
            Lang::En => en,
        }
    }

    /// A language code as front ends send it ("bg", "en"); anything else is Bulgarian, the
    /// app's first language.
    pub fn from_code(code: &str) -> Lang {
        if code.trim().eq_ignore_ascii_case("en") {
            Lang::En
        } else {
            Lang::Bg
        }
    }
}

/// Every input field that can be wrong. The key is what the UI binds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, strum::VariantArray)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    GivenName,
    MiddleName,
    FamilyName,
    OtherNames,
    Sex,
    BirthDate,
    Egn,
    Lnch,
    Phone,
    Neighbourhood,
    Address,
    /// Whether the person showed documents.
    Documents,
    /// Why an identity field was corrected (also why persons were merged or split).
    EditReason,
    /// The record that stays when two are merged.
    MergeSurvivor,
    /// The record merged into the survivor's.
    MergeDuplicate,
    /// A case's goal, task or note: its text.
    CaseText,
    /// A task's title.
    TaskTitle,
    /// A goal's target date or a task's due date.
    CaseDate,
    /// A goal's domain.
    CaseDomain,
    /// A note's discipline (it decides who reads it).
    NoteKind,
    /// Whom a task is for.
    Assignee,
    /// Why a case is closed.
    ClosureReason,
    /// A case's, goal's or task's status.
    CaseStatus,
    Cabinet,
    Specialist,
    VisitTime,
    Place,
    Notes,
    ClinicalNote,
    HivConsent,
    HivCounselling,
    HivResult,
    GlucoseValue,
    Fasting,
    Ketones,
    GlucoseMedication,
    GlucoseRecheck,
    Hba1cValue,
    CoughWeeks,
    Systolic,
    Diastolic,
    Pulse,
    BpMoreReadings,
    Pregnancy,
    HivRepeat,
    HepatitisRepeat,
    Weight,
    Height,
    HepatitisResult,
    ReferralCode,
    ReferralReason,
    ReferralDestination,
    ReferralUrgency,
    ReferralStatus,
    /// A report's first day.
    ReportFrom,
    /// A report's last day.
    ReportTo,
}

impl Field {
    /// The field of a stable key (as [`Field::key`] spells it).
    pub fn by_key(key: &str) -> Option<Field> {
        <Field as strum::VariantArray>::VARIANTS
            .iter()
            .copied()
            .find(|f| f.key() == key)
    }

    /// Stable key, the same the UI uses for its form fields.
    pub fn key(self) -> &'static str {
        match self {
            Field::GivenName => "given_name",
            Field::MiddleName => "middle_name",
            Field::FamilyName => "family_name",
            Field::OtherNames => "other_names",
            Field::Sex => "sex",
            Field::BirthDate => "birth_date",
            Field::Egn => "egn",
            Field::Lnch => "lnch",
            Field::Phone => "phone",
            Field::Neighbourhood => "neighbourhood",
            Field::Address => "address",
            Field::Documents => "no_documents",
            Field::EditReason => "reason",
            Field::MergeSurvivor => "survivor",
            Field::MergeDuplicate => "duplicate",
            Field::CaseText => "text",
            Field::TaskTitle => "title",
            Field::CaseDate => "date",
            Field::CaseDomain => "domain",
            Field::NoteKind => "kind",
            Field::Assignee => "assignee",
            Field::ClosureReason => "closure_reason",
            Field::CaseStatus => "status",
            Field::Cabinet => "cabinet",
            Field::Specialist => "specialist",
            Field::VisitTime => "visit_time",
            Field::Place => "place",
            Field::Notes => "notes",
            Field::ClinicalNote => "clinical_note",
            Field::HivConsent => "hiv.consent",
            Field::HivCounselling => "hiv.counselling",
            Field::HivResult => "hiv.result",
            Field::GlucoseValue => "glucose.value",
            Field::Fasting => "glucose.fasting",
            Field::Ketones => "glucose.ketones",
            Field::GlucoseMedication => "glucose.medication",
            Field::GlucoseRecheck => "glucose.recheck",
            Field::BpMoreReadings => "blood_pressure.more",
            Field::Pregnancy => "pregnancy",
            Field::HivRepeat => "hiv.repeat",
            Field::HepatitisRepeat => "hepatitis.repeat",
            Field::Hba1cValue => "hba1c.value",
            Field::CoughWeeks => "tb.cough_weeks",
            Field::Systolic => "blood_pressure.systolic",
            Field::Diastolic => "blood_pressure.diastolic",
            Field::Pulse => "blood_pressure.pulse",
            Field::Weight => "body.weight_kg",
            Field::Height => "body.height_cm",
            Field::HepatitisResult => "hepatitis.result",
            Field::ReferralCode => "referral.code",
            Field::ReferralReason => "referral.reason",
            Field::ReferralDestination => "referral.destination",
            Field::ReferralUrgency => "referral.urgency",
            Field::ReferralStatus => "referral.status",
            Field::ReportFrom => "from",
            Field::ReportTo => "to",
        }
    }

    /// The field's label as the user sees it on the form.
    pub fn label(self, lang: Lang) -> &'static str {
        let (bg, en) = match self {
            Field::GivenName => ("Име", "Given name"),
            Field::MiddleName => ("Презиме", "Middle name"),
            Field::FamilyName => ("Фамилия", "Family name"),
            Field::OtherNames => ("Други имена", "Other names"),
            Field::Sex => ("Пол", "Sex"),
            Field::BirthDate => ("Дата на раждане", "Birth date"),
            Field::Egn => ("ЕГН", "EGN (personal number)"),
            Field::Lnch => ("ЛНЧ", "LNCh (foreigner's number)"),
            Field::Phone => ("Телефон", "Phone"),
            Field::Neighbourhood => ("Квартал", "Neighbourhood"),
            Field::Address => ("Адрес", "Address"),
            Field::Documents => ("Документи", "Documents"),
            Field::EditReason => ("Причина за корекцията", "Reason for the correction"),
            Field::MergeSurvivor => ("Записът, който остава", "The record that stays"),
            Field::MergeDuplicate => ("Дублираният запис", "The duplicate record"),
            Field::CaseText => ("Текст", "Text"),
            Field::TaskTitle => ("Задача", "Task"),
            Field::CaseDate => ("Срок", "Date"),
            Field::CaseDomain => ("Област", "Domain"),
            Field::NoteKind => ("Вид бележка", "Kind of note"),
            Field::Assignee => ("Изпълнител", "Assigned to"),
            Field::ClosureReason => ("Причина за закриване", "Reason for closing"),
            Field::CaseStatus => ("Статус", "Status"),
            Field::Cabinet => ("Кабинет", "Cabinet"),
            Field::Specialist => ("Специалист", "Specialist"),
            Field::VisitTime => ("Час на посещението", "Visit time"),
            Field::Place => ("Място", "Place"),
            Field::Notes => ("Бележки", "Notes"),
            Field::ClinicalNote => ("Клинична бележка", "Clinical note"),
            Field::HivConsent => (
                "Информирано съгласие за ХИВ тест",
                "HIV test informed consent",
            ),
            Field::HivCounselling => ("Консултиране преди ХИВ тест", "HIV pre-test counselling"),
            Field::HivResult => ("Резултат от ХИВ тест", "HIV test result"),
            Field::GlucoseValue => ("Кръвна захар", "Blood glucose"),
            Field::Fasting => ("На гладно ли е", "Fasting state"),
            Field::Ketones => ("Кетони в урината", "Urine ketones"),
            Field::GlucoseMedication => (
                "Лекарства за понижаване на кръвната захар",
                "Glucose-lowering medication",
            ),
            Field::GlucoseRecheck => (
                "Кръвна захар след 15 минути",
                "Blood glucose after 15 minutes",
            ),
            Field::BpMoreReadings => ("Повторни измервания на кръвното", "Repeat BP readings"),
            Field::Pregnancy => ("Бременност", "Pregnancy"),
            Field::HivRepeat => ("Повторен ХИВ тест", "Repeat HIV test"),
            Field::HepatitisRepeat => ("Повторен тест за хепатит", "Repeat hepatitis test"),
            Field::Hba1cValue => ("HbA1c", "HbA1c"),
            Field::CoughWeeks => ("Седмици кашлица", "Weeks of cough"),
            Field::Systolic => ("Систолно налягане", "Systolic pressure"),
            Field::Diastolic => ("Диастолно налягане", "Diastolic pressure"),
            Field::Pulse => ("Пулс", "Pulse"),
            Field::Weight => ("Тегло", "Weight"),
            Field::Height => ("Ръст", "Height"),
            Field::HepatitisResult => ("Резултат от тест за хепатит", "Hepatitis test result"),
            Field::ReferralCode => ("Код на направлението", "Referral code"),
            Field::ReferralReason => ("Причина за насочването", "Reason for referral"),
            Field::ReferralDestination => ("Насочен към", "Referred to"),
            Field::ReferralUrgency => ("Спешност", "Urgency"),
            Field::ReferralStatus => ("Статус на направлението", "Referral status"),
            Field::ReportFrom => ("От дата", "From"),
            Field::ReportTo => ("До дата", "To"),
        };
        lang.pick(bg, en)
    }
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    Required,
    TooLong {
        max: usize,
    },
    /// Names: only letters (Cyrillic or Latin), spaces, hyphens, apostrophes and dots.
    NotAName,
    NotADate {
        input: String,
    },
    DateInFuture,
    DateTooEarly {
        earliest_year: i32,
    },
    EgnLength {
        digits: usize,
    },
    EgnNotDigits,
    EgnChecksum,
    EgnNoSuchDate,
    EgnBirthDateMismatch {
        from_egn: String,
    },
    EgnSexMismatch,
    LnchFormat,
    LnchChecksum,
    PhoneFormat,
    OutOfRange {
        value: f64,
        min: f64,
        max: f64,
        unit: &'static str,
    },
    SystolicNotAboveDiastolic {
        systolic: u16,
        diastolic: u16,
    },
    /// Contact data for a person who withdrew consent to its processing.
    ConsentWithdrawn,
    /// A correction of who the person is (ЕГН, birth date, sex) needs a reason.
    ReasonForIdentityChange,
    /// Two records with different ЕГН (or ЛНЧ) are two people.
    MergeIdentifiersDiffer {
        identifier: &'static str,
    },
    /// A value that is none of the choices offered.
    NotAChoice {
        input: String,
        options: String,
    },
    /// A period whose first day is after its last.
    PeriodReversed {
        from: String,
        to: String,
    },
    /// A record cannot be merged into itself (or into a record already merged into it).
    MergeWithItself,
    /// The record was merged into another already.
    AlreadyMerged,
    /// An unmerge of a record that is not merged.
    NotMerged,
    /// A choice the rules depend on was left open (fasting or not).
    ChooseOne {
        options: &'static str,
    },
    TooManyReadings {
        max: usize,
    },
    /// A repeat test entered though the first was not invalid.
    RepeatWithoutInvalid,
    /// Pregnancy recorded for someone who cannot be pregnant by the record (sex, age).
    PregnancyNotPossible,
    ConsentRequired,
    CounsellingRequired,
    CoughWeeksWithoutCough,
    UnknownValue {
        input: String,
        expected: &'static str,
    },
    NotANumber {
        input: String,
    },
    /// The user's role may not record data of this class (the access matrix).
    NotForYourRole {
        class: &'static str,
    },
    /// A referral's destination names a condition of another class than its reason (a
    /// psychological referral to the lung hospital): whoever may read one may not read the other.
    DestinationDoesNotFitReason {
        reason: &'static str,
        destination: &'static str,
    },
    ReferralCodeFormat,
    ReferralCodeCheckDigit,
    StatusTransition {
        from: &'static str,
        to: &'static str,
    },
}

/// A refused input: which field, and why. `Display` is the English message; use
/// [`ValidationError::message`] for the user's language.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{}", self.message(Lang::En))]
pub struct ValidationError {
    pub field: Field,
    pub problem: Problem,
}

impl ValidationError {
    pub fn new(field: Field, problem: Problem) -> Self {
        ValidationError { field, problem }
    }

    /// The full message, starting with the field's label and ending with what to do.
    pub fn message(&self, lang: Lang) -> String {
        let label = self.field.label(lang);
        let text = match &self.problem {
            Problem::Required => {
                lang.pick("полето е задължително; попълнете го.".to_string(), "this field is required; fill it in.".to_string())
            }
            Problem::TooLong { max } => {
                lang.pick(format!("твърде дълго; до {max} знака."), format!("too long; at most {max} characters."))
            }
            Problem::NotAName => {
                lang.pick("допускат се само букви (кирилица или латиница), интервал, тире, апостроф и точка.".into(), "only letters (Cyrillic or Latin), spaces, hyphens, apostrophes and dots are allowed.".into())
            }
            Problem::NotADate { input } => {
                lang.pick(format!("„{input}“ не е дата; въведете дд.мм.гггг или гггг-мм-дд."), format!("\"{input}\" is not a date; enter dd.mm.yyyy or yyyy-mm-dd."))
            }
            Problem::DateInFuture => {
                lang.pick("датата е в бъдещето; проверете я.".into(), "the date is in the future; check it.".into())
            }
            Problem::DateTooEarly { earliest_year } => {
                lang.pick(format!("датата е преди {earliest_year} г.; проверете годината."), format!("the date is before {earliest_year}; check the year."))
            }
            Problem::EgnLength { digits } => {
                lang.pick(format!("трябва да има 10 цифри, а са въведени {digits}; проверете номера."), format!("an EGN has 10 digits, {digits} were entered; check the number."))
            }
            Problem::EgnNotDigits => {
                lang.pick("допускат се само цифри; махнете буквите и знаците.".into(), "an EGN contains digits only; remove letters and symbols.".into())
            }
            Problem::EgnChecksum => {
                lang.pick("контролната цифра не съвпада — вероятно има грешно въведена цифра; сверете с документа.".into(), "the check digit does not match — a digit is probably mistyped; compare with the document.".into())
            }
            Problem::EgnNoSuchDate => {
                lang.pick("първите 6 цифри не са валидна дата на раждане; проверете ги.".into(), "the first 6 digits are not a valid birth date; check them.".into())
            }
            Problem::EgnBirthDateMismatch { from_egn } => {
                lang.pick(format!(
                        "според ЕГН датата на раждане е {from_egn}, а е въведена друга; поправете едното."
                    ), format!(
                        "the EGN gives birth date {from_egn}, but another was entered; correct one of them."
                    ))
            }
            Problem::EgnSexMismatch => {
                lang.pick("полът не съвпада с ЕГН (9-та цифра: четна — мъж, нечетна — жена); поправете едното.".into(), "the sex does not match the EGN (9th digit: even — male, odd — female); correct one of them.".into())
            }
            Problem::LnchFormat => {
                lang.pick("трябва да има 10 цифри; проверете номера.".into(), "an LNCh has 10 digits; check the number.".into())
            }
            Problem::LnchChecksum => {
                lang.pick("контролната цифра на ЛНЧ не съвпада; сверете с документа.".into(), "the LNCh check digit does not match; compare with the document.".into())
            }
            Problem::PhoneFormat => {
                lang.pick("невалиден номер; въведете напр. 0888 123 456 или +359 888 123 456.".into(), "not a phone number; enter e.g. 0888 123 456 or +359 888 123 456.".into())
            }
            Problem::OutOfRange {
                value,
                min,
                max,
                unit,
            } => {
                lang.pick(format!(
                        "{value} {unit} е извън възможния диапазон {min}–{max} {unit}; проверете стойността и мерната единица."
                    ), format!(
                        "{value} {unit} is outside the possible range {min}–{max} {unit}; check the value and the unit."
                    ))
            }
            Problem::SystolicNotAboveDiastolic {
                systolic,
                diastolic,
            } => {
                lang.pick(format!(
                        "систолното ({systolic}) трябва да е по-високо от диастолното ({diastolic}); вероятно са разменени."
                    ), format!(
                        "systolic ({systolic}) must be higher than diastolic ({diastolic}); they are probably swapped."
                    ))
            }
            Problem::ConsentWithdrawn => lang.pick(
                "лицето е оттеглило съгласието си за обработка на данни; такива данни не се записват.".into(),
                "the person withdrew consent to data processing; this data is not recorded.".into(),
            ),
            Problem::ReasonForIdentityChange => lang.pick(
                "корекция на ЕГН, ЛНЧ, дата на раждане или пол се записва с причина; напишете я (напр. „грешно въведена дата“).".into(),
                "a correction of the EGN, LNCh, birth date or sex needs a reason; type it (e.g. \"date mistyped\").".into(),
            ),
            Problem::MergeIdentifiersDiffer { identifier } => lang.pick(
                format!("двата записа имат различни {identifier}: това са двама души и не се обединяват. Ако едното е грешно, първо го поправете."),
                format!("the two records have different {identifier}: they are two people and are not merged. If one is wrong, correct it first."),
            ),
            Problem::NotAChoice { input, options } => lang.pick(
                format!("„{input}“ не е от възможните стойности; изберете една от: {options}."),
                format!("\"{input}\" is not one of the choices; choose one of: {options}."),
            ),
            Problem::PeriodReversed { from, to } => lang.pick(
                format!("началото ({from}) е след края ({to}); разменете датите."),
                format!("the start ({from}) is after the end ({to}); swap the dates."),
            ),
            Problem::MergeWithItself => lang.pick(
                "това е същият запис (или вече е обединен в него); изберете друг.".into(),
                "this is the same record (or already merged into it); choose another.".into(),
            ),
            Problem::AlreadyMerged => lang.pick(
                "този запис вече е обединен с друг; първо го разделете.".into(),
                "this record is already merged into another; unmerge it first.".into(),
            ),
            Problem::NotMerged => lang.pick(
                "този запис не е обединен с друг.".into(),
                "this record is not merged into another.".into(),
            ),
            Problem::ChooseOne { options } => lang.pick(
                format!("изберете едно: {options}."),
                format!("choose one: {options}."),
            ),
            Problem::TooManyReadings { max } => lang.pick(
                format!("най-много {max} измервания; махнете излишните."),
                format!("at most {max} readings; remove the extra ones."),
            ),
            Problem::RepeatWithoutInvalid => lang.pick(
                "повторен тест се въвежда само след невалиден; изтрийте повторния резултат или поправете първия.".into(),
                "a repeat test follows an invalid one only; clear the repeat or correct the first result.".into(),
            ),
            Problem::PregnancyNotPossible => lang.pick(
                "бременност се отбелязва само за жени между 10 и 55 години; проверете пола и датата на раждане.".into(),
                "pregnancy is recorded only for women aged 10 to 55; check the sex and birth date.".into(),
            ),
            Problem::ConsentRequired => {
                lang.pick("без информирано съгласие не се въвежда резултат; получете и отбележете съгласието.".into(), "no result may be entered without informed consent; obtain and tick the consent.".into())
            }
            Problem::CounsellingRequired => {
                lang.pick("без консултиране преди теста не се въвежда резултат; проведете и отбележете консултирането.".into(), "no result may be entered without pre-test counselling; counsel and tick it."
                        .into())
            }
            Problem::CoughWeeksWithoutCough => {
                lang.pick("въведени са седмици кашлица без отбелязана кашлица; отбележете кашлицата или нулирайте седмиците.".into(), "weeks of cough were entered but no cough is ticked; tick cough or set the weeks to 0.".into())
            }
            Problem::UnknownValue { input, expected } => {
                lang.pick(format!("непозната стойност „{input}“; очаква се: {expected}."), format!("unknown value \"{input}\"; expected: {expected}."))
            }
            Problem::NotANumber { input } => {
                lang.pick(format!(
                        "„{input}“ не е число; въведете само цифри (десетична запетая или точка)."
                    ), format!(
                        "\"{input}\" is not a number; type digits only (decimal comma or point)."
                    ))
            }
            Problem::NotForYourRole { class } => {
                lang.pick(format!(
                        "вашата роля не може да записва данни от клас „{class}“; оставете полето празно или помолете лекар или медицинска сестра."
                    ), format!(
                        "your role may not record {class} data; leave it empty or ask a doctor or nurse."
                    ))
            }
            Problem::DestinationDoesNotFitReason {
                reason,
                destination,
            } => lang.pick(
                format!(
                    "направлението „{reason}“ не може да отиде към „{destination}“: изберете място, което отговаря на причината."
                ),
                format!(
                    "a referral for „{reason}“ cannot go to „{destination}“: choose a destination that fits the reason."
                ),
            ),
            Problem::ReferralCodeFormat => {
                lang.pick("кодът е от вида 07-00042-3 (само цифри); проверете го.".into(), "a code looks like 07-00042-3 (digits only); check it.".into())
            }
            Problem::ReferralCodeCheckDigit => {
                lang.pick("последната (контролна) цифра не съвпада — вероятно има грешна или разменена цифра.".into(), "the last (check) digit does not match — a digit is probably wrong or swapped."
                        .into())
            }
            Problem::StatusTransition { from, to } => {
                lang.pick(format!("направление със статус „{from}“ не може да стане „{to}“."), format!("a referral in status \"{from}\" cannot become \"{to}\"."))
            }
        };
        format!("{label}: {text}")
    }
}

/// All the problems of one input at once, so a form can mark every wrong field together.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    pub fn messages(&self, lang: Lang) -> Vec<String> {
        self.0.iter().map(|e| e.message(lang)).collect()
    }
    pub fn fields(&self) -> Vec<Field> {
        self.0.iter().map(|e| e.field).collect()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.messages(Lang::En).join("; "))
    }
}

impl From<ValidationError> for ValidationErrors {
    fn from(e: ValidationError) -> Self {
        ValidationErrors(vec![e])
    }
}

/// A value that is possible but unusual: the UI shows it and lets the user keep it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub field: Field,
    pub concern: Concern,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Concern {
    Unusual {
        value: f64,
        low: f64,
        high: f64,
        unit: &'static str,
    },
    VeryOld {
        age: i64,
    },
    NoIdentifier,
}

impl Warning {
    pub fn message(&self, lang: Lang) -> String {
        let label = self.field.label(lang);
        let text = match &self.concern {
            Concern::Unusual {
                value,
                low,
                high,
                unit,
            } => {
                lang.pick(format!(
                        "{value} {unit} е необичайна стойност (обичайно {low}–{high} {unit}); уверете се, че е вярна."
                    ), format!(
                        "{value} {unit} is unusual (usually {low}–{high} {unit}); make sure it is right."
                    ))
            }
            Concern::VeryOld { age } => {
                lang.pick(format!("възрастта е {age} години; проверете годината на раждане."), format!("the age is {age} years; check the birth year."))
            }
            Concern::NoIdentifier => {
                lang.pick("няма ЕГН, ЛНЧ или телефон — при следващо посещение търсете по име и година."
                        .into(), "no EGN, LNCh or phone — next time, search by name and birth year.".into())
            }
        };
        format!("{label}: {text}")
    }
}

/// Collects errors and warnings while an input is checked field by field.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    pub errors: Vec<ValidationError>,
    pub warnings: Vec<Warning>,
}

impl Checker {
    pub fn error(&mut self, field: Field, problem: Problem) {
        self.errors.push(ValidationError::new(field, problem));
    }

    pub fn warn(&mut self, field: Field, concern: Concern) {
        self.warnings.push(Warning { field, concern });
    }

    /// Hard bounds are errors; the softer "usual" bounds give a warning.
    pub fn range(
        &mut self,
        field: Field,
        value: f64,
        hard: (f64, f64),
        usual: (f64, f64),
        unit: &'static str,
    ) {
        if !value.is_finite() || value < hard.0 || value > hard.1 {
            self.error(
                field,
                Problem::OutOfRange {
                    value,
                    min: hard.0,
                    max: hard.1,
                    unit,
                },
            );
        } else if value < usual.0 || value > usual.1 {
            self.warn(
                field,
                Concern::Unusual {
                    value,
                    low: usual.0,
                    high: usual.1,
                    unit,
                },
            );
        }
    }

    pub fn finish<T>(self, value: T) -> Result<Checked<T>, ValidationErrors> {
        if self.errors.is_empty() {
            Ok(Checked {
                value,
                warnings: self.warnings,
            })
        } else {
            Err(ValidationErrors(self.errors))
        }
    }
}

/// A validated value with the warnings it raised.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<T> {
    pub value: T,
    pub warnings: Vec<Warning>,
}
