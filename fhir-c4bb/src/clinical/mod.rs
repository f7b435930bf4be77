//! Typed, lossless US Core clinical resources (FHIR R4 4.0.1 shapes; US Core 3.1.1 to 9.0
//! tolerated): what a Patient Access API serves besides claims.
//!
//! Same guarantees as the claims models: unknown members, extensions, `_primitive`
//! extensions, decimal digits and date precision round-trip; off-spec values (a required
//! element missing, a code outside its value set, two `value[x]` keys, a value of the
//! wrong JSON shape) parse and are reported by `validate()` with their path. Choice
//! elements (`value[x]`, `effective[x]`, `onset[x]`, `medication[x]`...) are enums; a key
//! of a choice this version does not know is kept in `extra`.
//!
//! ```
//! use fhir_c4bb::clinical::{Observation, ClinicalStatus};
//! let o: Observation = fhir_c4bb::from_str(r#"{"resourceType":"Observation","status":"final",
//!   "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
//!   "code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},
//!   "subject":{"reference":"Patient/example"},"effectiveDateTime":"2024-05-01",
//!   "valueQuantity":{"value":44,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}"#)?;
//! assert!(o.is_vital_sign());
//! assert_eq!(o.code.as_ref().and_then(|c| c.display_text()), Some("Heart rate"));
//! assert_eq!(o.value_text().as_deref(), Some("44 /min"));
//! assert!(o.validate().is_empty());
//! # let _ = ClinicalStatus::Active;
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```

mod allergy_intolerance;
mod condition;
mod immunization;
mod medication;
mod medication_request;
mod observation;
mod status;

pub use allergy_intolerance::{AllergyIntolerance, AllergyOnset, AllergyReaction};
pub use condition::{
    Condition, ConditionAbatement, ConditionEvidence, ConditionOnset, ConditionStage,
};
pub use immunization::{
    Immunization, ImmunizationEducation, ImmunizationOccurrence, ImmunizationPerformer,
    ImmunizationProtocolApplied, ImmunizationReaction, ProtocolDose, SeriesDoses,
};
pub use medication::{Medication, MedicationBatch, MedicationIngredient, MedicationIngredientItem};
pub use medication_request::{
    DispenseInitialFill, MedicationChoice, MedicationRequest, MedicationRequestDispense,
    MedicationRequestReported, MedicationRequestSubstitution, SubstitutionAllowed,
};
pub use observation::{
    Observation, ObservationComponent, ObservationEffective, ObservationReferenceRange,
    ObservationValue,
};
pub use status::ClinicalStatus;

/// `pub fn validate()` for a clinical resource whose `validate_into` holds its rules.
macro_rules! resource_validate {
    ($ty:ident, $doc:literal) => {
        impl $ty {
            #[doc = $doc]
            ///
            /// Also reports every member kept because its JSON shape did not fit, and every
            /// choice given more than one value, each with its JSON path.
            pub fn validate(&self) -> Vec<$crate::validate::ValidationIssue> {
                let mut out = Vec::new();
                self.validate_into(&mut out, "");
                $crate::element::Element::walk(self, "", &mut out);
                out
            }
        }
    };
}
pub(crate) use resource_validate;
