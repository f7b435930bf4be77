//! `Condition` (US Core Condition Problems and Health Concerns, Encounter Diagnosis).

use crate::DateTime;
use crate::clinical::{ClinicalStatus, resource_validate};
use crate::datatypes::{
    Annotation, CodeableConcept, Extension, Identifier, Period, Quantity, Range, Reference,
};
use crate::macros::{fhir_choice, fhir_struct};
use crate::validate::{Check, ValidationIssue};

/// The HL7 `condition-clinical` code system.
pub const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
/// The HL7 `condition-ver-status` code system.
pub const CONDITION_VER_STATUS: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";

fhir_choice! {
    /// `Condition.onset[x]`.
    pub enum ConditionOnset {
        /// `onsetDateTime`
        DateTime(DateTime) = "onsetDateTime",
        /// `onsetAge`
        Age(Box<Quantity>) = "onsetAge",
        /// `onsetPeriod`
        Period(Box<Period>) = "onsetPeriod",
        /// `onsetRange`
        Range(Box<Range>) = "onsetRange",
        /// `onsetString`
        String(String) = "onsetString",
    }
}

fhir_choice! {
    /// `Condition.abatement[x]`.
    pub enum ConditionAbatement {
        /// `abatementDateTime`
        DateTime(DateTime) = "abatementDateTime",
        /// `abatementAge`
        Age(Box<Quantity>) = "abatementAge",
        /// `abatementPeriod`
        Period(Box<Period>) = "abatementPeriod",
        /// `abatementRange`
        Range(Box<Range>) = "abatementRange",
        /// `abatementString`
        String(String) = "abatementString",
    }
}

fhir_struct! {
    /// `Condition.stage`.
    pub struct ConditionStage {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// The stage.
        pub summary: Option<CodeableConcept> = "summary",
        /// Formal record of the assessment.
        pub assessment: Vec<Reference> = "assessment",
        /// Kind of staging.
        pub type_: Option<CodeableConcept> = "type",
    }
}

fhir_struct! {
    /// `Condition.evidence`.
    pub struct ConditionEvidence {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Manifestations or symptoms.
        pub code: Vec<CodeableConcept> = "code",
        /// Supporting information.
        pub detail: Vec<Reference> = "detail",
    }
}

fhir_struct! {
    /// A problem, health concern or encounter diagnosis.
    ///
    /// ```
    /// use fhir_c4bb::clinical::{Condition, ClinicalStatus};
    /// let c: Condition = fhir_c4bb::from_str(r#"{"resourceType":"Condition",
    ///   "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
    ///   "code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006","display":"Diabetes"}]},
    ///   "onsetDateTime":"2019"}"#)?;
    /// assert_eq!(c.clinical_status(), Some(ClinicalStatus::Active));
    /// assert_eq!(c.code.as_ref().and_then(|c| c.display_text()), Some("Diabetes"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Condition: domain_resource "Condition" {
        /// Business identifiers.
        pub identifier: Vec<Identifier> = "identifier",
        /// `active`, `recurrence`, `relapse`, `inactive`, `remission`, `resolved`.
        pub clinical_status: Option<CodeableConcept> = "clinicalStatus",
        /// `unconfirmed`, `provisional`, `differential`, `confirmed`, `refuted`, `entered-in-error`.
        pub verification_status: Option<CodeableConcept> = "verificationStatus",
        /// Problem-list item, health concern, encounter diagnosis...
        pub category: Vec<CodeableConcept> = "category",
        /// Subjective severity.
        pub severity: Option<CodeableConcept> = "severity",
        /// The condition (SNOMED CT, ICD-10-CM).
        pub code: Option<CodeableConcept> = "code",
        /// Anatomical location.
        pub body_site: Vec<CodeableConcept> = "bodySite",
        /// The patient.
        pub subject: Option<Reference> = "subject",
        /// The encounter.
        pub encounter: Option<Reference> = "encounter",
        /// When it began.
        pub onset: Option<ConditionOnset> = "onset",
        /// When it resolved.
        pub abatement: Option<ConditionAbatement> = "abatement",
        /// When it was recorded.
        pub recorded_date: Option<DateTime> = "recordedDate",
        /// Who recorded it.
        pub recorder: Option<Reference> = "recorder",
        /// Who asserted it.
        pub asserter: Option<Reference> = "asserter",
        /// Stage or grade.
        pub stage: Vec<ConditionStage> = "stage",
        /// Supporting evidence.
        pub evidence: Vec<ConditionEvidence> = "evidence",
        /// Notes.
        pub note: Vec<Annotation> = "note",
    }
}

const CLINICAL: &[&str] = &[
    "active",
    "recurrence",
    "relapse",
    "inactive",
    "remission",
    "resolved",
    "unknown",
];
const VERIFICATION: &[&str] = &[
    "unconfirmed",
    "provisional",
    "differential",
    "confirmed",
    "refuted",
    "entered-in-error",
];

impl Condition {
    /// The clinical status as an enum.
    pub fn clinical_status(&self) -> Option<ClinicalStatus> {
        ClinicalStatus::from_concept(self.clinical_status.as_ref()?, CONDITION_CLINICAL)
    }

    /// Whether the verification status is `entered-in-error` (the record should be ignored).
    pub fn is_entered_in_error(&self) -> bool {
        self.verification_status
            .as_ref()
            .is_some_and(|v| v.has(CONDITION_VER_STATUS, "entered-in-error"))
    }

    /// When it began, as a date-time (`onsetDateTime` or the onset period's start).
    pub fn onset_date(&self) -> Option<&DateTime> {
        match self.onset.as_ref()? {
            ConditionOnset::DateTime(d) => Some(d),
            ConditionOnset::Period(p) => p.start.as_ref(),
            _ => None,
        }
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(!self.category.is_empty(), "category");
        c.required(self.code.is_some(), "code");
        c.required(self.subject.is_some(), "subject");
        c.concept_code(
            self.clinical_status.as_ref(),
            CONDITION_CLINICAL,
            CLINICAL,
            "clinicalStatus",
        );
        c.concept_code(
            self.verification_status.as_ref(),
            CONDITION_VER_STATUS,
            VERIFICATION,
            "verificationStatus",
        );
        // con-5: no clinicalStatus on an entered-in-error condition; con-4/3: otherwise one.
        if self.is_entered_in_error() {
            c.not_allowed(
                self.clinical_status.is_some(),
                "clinicalStatus",
                "when entered-in-error",
            );
        }
        if let Some(ConditionOnset::DateTime(d)) = &self.onset {
            c.date(Some(d), "onsetDateTime");
        }
        if let Some(ConditionAbatement::DateTime(d)) = &self.abatement {
            c.date(Some(d), "abatementDateTime");
        }
        c.date(self.recorded_date.as_ref(), "recordedDate");
    }
}

resource_validate!(
    Condition,
    "US Core Condition checks: category, code, subject; clinical and verification status in their value sets; dates."
);
