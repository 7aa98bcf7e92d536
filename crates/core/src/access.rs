//! Who may read and write which data: the access matrix, in one place. The hub enforces it
//! when it syncs documents to and from devices and when staff use its web API; the document
//! model follows it (one document per visit and sensitive class), so whole documents can be
//! left out.

use crate::screening::AccessClass;
use serde::{Deserialize, Serialize};

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
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
    ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    Nurse,
    Doctor,
    Psychologist,
    Lawyer,
    SocialWorker,
    EducationMediator,
    HubAdmin,
    /// The data protection officer (длъжностно лице по защита на данните): reads the whole
    /// audit log, including which records of sensitive classes were touched, and no clinical
    /// data. The hub admin's audit view leaves those lines out.
    PrivacyOfficer,
    /// The programme manager (ръководител на програмата): reads the programme's reports, the
    /// aggregates of every condition with small numbers suppressed, and no person-level data
    /// at all (no class in the matrix).
    ProgrammeManager,
}

/// Read / write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    None,
    Read,
    ReadWrite,
}

use Access::{None as No, Read as R, ReadWrite as RW};

/// The matrix: a row per role, a column per class, in `AccessClass::ALL` order
/// (general, hiv, hepatitis, tuberculosis, psychology, legal, clinical). Results of tests are for the
/// medical staff who act on them; the psychologist's and the lawyer's notes for themselves;
/// the hub admin manages people and devices and reads only general data; the privacy officer
/// reads general data and the audit log; the programme manager reads none (only reports).
pub const MATRIX: [(Role, [Access; 7]); 9] = [
    (Role::Nurse, [RW, RW, RW, RW, No, No, RW]),
    (Role::Doctor, [RW, RW, RW, RW, No, No, RW]),
    (Role::Psychologist, [RW, No, No, No, RW, No, No]),
    (Role::Lawyer, [RW, No, No, No, No, RW, No]),
    (Role::SocialWorker, [RW, No, No, No, No, No, No]),
    (Role::EducationMediator, [RW, No, No, No, No, No, No]),
    (Role::HubAdmin, [R, No, No, No, No, No, No]),
    (Role::PrivacyOfficer, [R, No, No, No, No, No, No]),
    (Role::ProgrammeManager, [No, No, No, No, No, No, No]),
];

impl Role {
    pub const ALL: &'static [Role] = <Role as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Role> {
        s.trim().parse().ok()
    }

    /// The role's name for people (the UI's own labels say the same).
    pub fn label(self, lang: crate::Lang) -> &'static str {
        let (bg, en) = match self {
            Role::Nurse => ("медицинска сестра", "nurse"),
            Role::Doctor => ("лекар", "doctor"),
            Role::Psychologist => ("психолог", "psychologist"),
            Role::Lawyer => ("юрист", "lawyer"),
            Role::SocialWorker => ("социален работник", "social worker"),
            Role::EducationMediator => ("образователен медиатор", "education mediator"),
            Role::HubAdmin => ("администратор на Хъба", "hub admin"),
            Role::PrivacyOfficer => (
                "длъжностно лице по защита на данните",
                "data protection officer",
            ),
            Role::ProgrammeManager => ("ръководител на програмата", "programme manager"),
        };
        lang.pick(bg, en)
    }

    pub fn access(self, class: AccessClass) -> Access {
        MATRIX
            .iter()
            .find(|(r, _)| *r == self)
            .map_or(Access::None, |(_, row)| row[class.code() as usize])
    }

    pub fn can_read(self, class: AccessClass) -> bool {
        self.access(class) != Access::None
    }

    pub fn can_write(self, class: AccessClass) -> bool {
        self.access(class) == Access::ReadWrite
    }

    /// Who opens the audit log at all: the hub admin and the privacy officer.
    pub fn reads_audit(self) -> bool {
        matches!(self, Role::HubAdmin | Role::PrivacyOfficer)
    }

    /// Whether the role records (a member of the team): the others (the hub admin, the
    /// privacy officer, the programme manager) work at the hub's web UI, have no device and
    /// are given no case work.
    pub fn records(self) -> bool {
        self.can_write(AccessClass::General)
    }

    /// Who opens the programme report: the clinicians, the hub admin and the programme
    /// manager.
    pub fn reads_reports(self) -> bool {
        matches!(
            self,
            Role::Nurse | Role::Doctor | Role::HubAdmin | Role::ProgrammeManager
        )
    }

    /// The sensitive classes whose indicators the role's report holds: those it reads, and
    /// for the programme manager HIV, hepatitis and TB (counts only, small numbers suppressed
    /// below the whole programme).
    pub fn report_classes(self) -> Vec<AccessClass> {
        [
            AccessClass::Hiv,
            AccessClass::Hepatitis,
            AccessClass::Tuberculosis,
        ]
        .into_iter()
        .filter(|c| self == Role::ProgrammeManager || (self.reads_reports() && self.can_read(*c)))
        .collect()
    }

    /// Whether audit lines about a class are shown to this role. A line that says "someone
    /// viewed the HIV result of person X" tells that X has one: only those who may read the
    /// class see such lines, and the privacy officer, whose job is to check them.
    pub fn reads_audit_of(self, class: AccessClass) -> bool {
        self.reads_audit() && (self == Role::PrivacyOfficer || self.can_read(class))
    }
}

/// What a set of roles (a device's users, or one staff member) may do.
pub fn may_read(roles: &[Role], class: AccessClass) -> bool {
    roles.iter().any(|r| r.can_read(class))
}

pub fn may_write(roles: &[Role], class: AccessClass) -> bool {
    roles.iter().any(|r| r.can_write(class))
}

/// The roles that may read a class.
pub fn readers(class: AccessClass) -> std::collections::BTreeSet<Role> {
    Role::ALL
        .iter()
        .copied()
        .filter(|r| r.can_read(class))
        .collect()
}

/// Roles as stored: "nurse,doctor".
pub fn roles_to_text(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn roles_from_text(text: &str) -> Vec<Role> {
    text.split(',').filter_map(Role::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The TB screen keeps "living with HIV" among its risk factors (`TbRisks::hiv`): that
    /// is only right while everyone who reads TB also reads HIV. A matrix change that gives
    /// a role TB without HIV fails here, and the factor must move to the HIV document first.
    #[test]
    fn every_reader_of_tb_reads_hiv() {
        assert!(readers(AccessClass::Tuberculosis).is_subset(&readers(AccessClass::Hiv)));
    }

    #[test]
    fn only_medical_roles_read_test_results() {
        for &role in Role::ALL {
            let medical = matches!(role, Role::Nurse | Role::Doctor);
            for class in [
                AccessClass::Hiv,
                AccessClass::Hepatitis,
                AccessClass::Tuberculosis,
            ] {
                assert_eq!(role.can_read(class), medical, "{role:?} {class:?}");
            }
            assert_eq!(
                role.can_read(AccessClass::General),
                role != Role::ProgrammeManager
            );
        }
        assert!(!Role::HubAdmin.can_write(AccessClass::General));
        assert!(may_read(
            &[Role::EducationMediator, Role::Lawyer],
            AccessClass::Legal
        ));
        assert!(!may_read(&[Role::EducationMediator], AccessClass::Hiv));
        // The programme manager reads no record of any class, only the report.
        assert!(
            AccessClass::ALL
                .iter()
                .all(|c| Role::ProgrammeManager.access(*c) == Access::None)
        );
        assert!(Role::ProgrammeManager.reads_reports() && !Role::ProgrammeManager.records());
        assert_eq!(Role::ProgrammeManager.report_classes().len(), 3);
        assert_eq!(Role::HubAdmin.report_classes(), vec![]);
        assert_eq!(Role::Nurse.report_classes().len(), 3);
        assert!(!Role::Psychologist.reads_reports());
        assert_eq!(
            roles_from_text(&roles_to_text(&[Role::Nurse, Role::Doctor])),
            vec![Role::Nurse, Role::Doctor]
        );
    }
}
