//! `AllergyIntolerance` (US Core AllergyIntolerance).

use crate::DateTime;
use crate::clinical::{ClinicalStatus, resource_validate};
use crate::datatypes::{
    Annotation, CodeableConcept, Extension, Identifier, Period, Quantity, Range, Reference,
};
use crate::macros::{fhir_choice, fhir_struct};
use crate::validate::{Check, ValidationIssue};

/// The HL7 `allergyintolerance-clinical` code system.
pub const ALLERGY_CLINICAL: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
/// The HL7 `allergyintolerance-verification` code system.
pub const ALLERGY_VERIFICATION: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";

fhir_choice! {
    /// `AllergyIntolerance.onset[x]`.
    pub enum AllergyOnset {
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

fhir_struct! {
    /// `AllergyIntolerance.reaction`: one adverse reaction.
    pub struct AllergyReaction {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// The specific substance.
        pub substance: Option<CodeableConcept> = "substance",
        /// Symptoms (hives, anaphylaxis...).
        pub manifestation: Vec<CodeableConcept> = "manifestation",
        /// Description.
        pub description: Option<String> = "description",
        /// When it began.
        pub onset: Option<DateTime> = "onset",
        /// `mild`, `moderate`, `severe`.
        pub severity: Option<String> = "severity",
        /// How the subject was exposed.
        pub exposure_route: Option<CodeableConcept> = "exposureRoute",
        /// Notes.
        pub note: Vec<Annotation> = "note",
    }
}

fhir_struct! {
    /// An allergy or intolerance.
    ///
    /// ```
    /// use fhir_c4bb::clinical::{AllergyIntolerance, ClinicalStatus};
    /// let a: AllergyIntolerance = fhir_c4bb::from_str(r#"{"resourceType":"AllergyIntolerance",
    ///   "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"inactive"}]},
    ///   "code":{"text":"Penicillin"},"patient":{"reference":"Patient/1"}}"#)?;
    /// assert_eq!(a.clinical_status(), Some(ClinicalStatus::Inactive));
    /// assert!(a.validate().is_empty());
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct AllergyIntolerance: domain_resource "AllergyIntolerance" {
        /// Business identifiers.
        pub identifier: Vec<Identifier> = "identifier",
        /// `active`, `inactive`, `resolved`.
        pub clinical_status: Option<CodeableConcept> = "clinicalStatus",
        /// `unconfirmed`, `confirmed`, `refuted`, `entered-in-error`.
        pub verification_status: Option<CodeableConcept> = "verificationStatus",
        /// `allergy` or `intolerance`.
        pub type_: Option<String> = "type",
        /// `food`, `medication`, `environment`, `biologic`.
        pub category: Vec<String> = "category",
        /// `low`, `high`, `unable-to-assess`.
        pub criticality: Option<String> = "criticality",
        /// The substance.
        pub code: Option<CodeableConcept> = "code",
        /// The patient.
        pub patient: Option<Reference> = "patient",
        /// The encounter.
        pub encounter: Option<Reference> = "encounter",
        /// When it began.
        pub onset: Option<AllergyOnset> = "onset",
        /// When it was recorded.
        pub recorded_date: Option<DateTime> = "recordedDate",
        /// Who recorded it.
        pub recorder: Option<Reference> = "recorder",
        /// Who asserted it.
        pub asserter: Option<Reference> = "asserter",
        /// Last known reaction.
        pub last_occurrence: Option<DateTime> = "lastOccurrence",
        /// Notes.
        pub note: Vec<Annotation> = "note",
        /// Reactions.
        pub reaction: Vec<AllergyReaction> = "reaction",
    }
}

const CLINICAL: &[&str] = &["active", "inactive", "resolved"];
const VERIFICATION: &[&str] = &[
    "unconfirmed",
    "presumed",
    "confirmed",
    "refuted",
    "entered-in-error",
];

impl AllergyIntolerance {
    /// The clinical status as an enum.
    pub fn clinical_status(&self) -> Option<ClinicalStatus> {
        ClinicalStatus::from_concept(self.clinical_status.as_ref()?, ALLERGY_CLINICAL)
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.code.is_some(), "code");
        c.required(self.patient.is_some(), "patient");
        c.concept_code(
            self.clinical_status.as_ref(),
            ALLERGY_CLINICAL,
            CLINICAL,
            "clinicalStatus",
        );
        c.concept_code(
            self.verification_status.as_ref(),
            ALLERGY_VERIFICATION,
            VERIFICATION,
            "verificationStatus",
        );
        c.code(self.type_.as_deref(), &["allergy", "intolerance"], "type");
        for (i, cat) in self.category.iter().enumerate() {
            c.code(
                Some(cat),
                &["food", "medication", "environment", "biologic"],
                &format!("category[{i}]"),
            );
        }
        c.code(
            self.criticality.as_deref(),
            &["low", "high", "unable-to-assess"],
            "criticality",
        );
        for (i, r) in self.reaction.iter().enumerate() {
            c.required(
                !r.manifestation.is_empty(),
                &format!("reaction[{i}].manifestation"),
            );
            c.code(
                r.severity.as_deref(),
                &["mild", "moderate", "severe"],
                &format!("reaction[{i}].severity"),
            );
        }
        c.date(self.recorded_date.as_ref(), "recordedDate");
        if let Some(AllergyOnset::DateTime(d)) = &self.onset {
            c.date(Some(d), "onsetDateTime");
        }
    }
}

resource_validate!(
    AllergyIntolerance,
    "US Core AllergyIntolerance checks: code, patient; statuses, type, category, criticality and reaction severity in their value sets; dates."
);
