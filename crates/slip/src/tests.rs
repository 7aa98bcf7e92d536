use super::*;

#[test]
fn reasons_never_name_a_result_for_another_reason() {
    for reason in [
        ReferralReason::Social,
        ReferralReason::Legal,
        ReferralReason::Psychological,
        ReferralReason::Education,
        ReferralReason::Screening(ScreeningKind::Glucose),
        ReferralReason::Screening(ScreeningKind::Tb),
        ReferralReason::Screening(ScreeningKind::BloodPressure),
    ] {
        let text = reason_text(reason, Lang::Bg);
        assert!(!text.contains("ХИВ"), "{text}");
    }
    assert!(
        reason_text(ReferralReason::Screening(ScreeningKind::Hiv), Lang::Bg)
            .contains("потвърдително")
    );
}

#[test]
fn paper_names() {
    assert_eq!(Paper::parse("a6"), Some(Paper::A6));
    assert_eq!(Paper::parse(""), Some(Paper::A5));
    assert_eq!(Paper::parse("letter"), None);
}

/// Low and high glucose both send a person to the doctor: the slip must not say "raised"
/// for a low reading (it did).
#[test]
fn a_glucose_slip_says_neither_high_nor_low() {
    for lang in [Lang::Bg, Lang::En] {
        let text =
            reason_text(ReferralReason::Screening(ScreeningKind::Glucose), lang).to_lowercase();
        for word in ["повишена", "висока", "ниска", "raised", "high", "low"] {
            assert!(!text.contains(word), "{text}");
        }
    }
}
