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
mod care_plan;
mod care_team;
mod condition;
mod device;
mod diagnostic_report;
mod document_reference;
mod encounter;
mod endpoint;
mod family_member_history;
mod goal;
mod immunization;
mod location;
mod media;
mod medication;
mod medication_dispense;
mod medication_request;
mod medication_statement;
mod observation;
mod practitioner_role;
mod procedure;
mod provenance;
mod questionnaire_response;
mod related_person;
mod service_request;
mod specimen;
mod status;

pub use allergy_intolerance::{ALLERGY_CLINICAL, ALLERGY_VERIFICATION};
pub use allergy_intolerance::{AllergyIntolerance, AllergyOnset, AllergyReaction};
pub use care_plan::{
    ActivityProduct, ActivityScheduled, CarePlan, CarePlanActivity, CarePlanActivityDetail,
};
pub use care_team::{CareTeam, CareTeamParticipant};
pub use condition::{CONDITION_CLINICAL, CONDITION_VER_STATUS};
pub use condition::{
    Condition, ConditionAbatement, ConditionEvidence, ConditionOnset, ConditionStage,
};
pub use device::{
    Device, DeviceName, DeviceProperty, DeviceSpecialization, DeviceUdiCarrier, DeviceVersion,
};
pub use diagnostic_report::{DiagnosticReport, DiagnosticReportEffective, DiagnosticReportMedia};
pub use document_reference::{
    DocumentContent, DocumentContext, DocumentReference, DocumentRelatesTo,
};
pub use encounter::{
    Encounter, EncounterClassHistory, EncounterDiagnosis, EncounterHospitalization,
    EncounterLocation, EncounterParticipant, EncounterStatusHistory,
};
pub use endpoint::Endpoint;
pub use family_member_history::{
    FamilyAge, FamilyBorn, FamilyConditionOnset, FamilyDeceased, FamilyMemberCondition,
    FamilyMemberHistory,
};
pub use goal::{Goal, GoalStart, GoalTarget, GoalTargetDetail, GoalTargetDue};
pub use immunization::{
    Immunization, ImmunizationEducation, ImmunizationOccurrence, ImmunizationPerformer,
    ImmunizationProtocolApplied, ImmunizationReaction, ProtocolDose, SeriesDoses,
};
pub use location::{Location, LocationHours, LocationPosition};
pub use media::{Media, MediaCreated};
pub use medication::{Medication, MedicationBatch, MedicationIngredient, MedicationIngredientItem};
pub use medication_dispense::{
    DispensePerformer, DispenseStatusReason, DispenseSubstitution, MedicationDispense,
};
pub use medication_request::{
    DispenseInitialFill, MedicationChoice, MedicationRequest, MedicationRequestDispense,
    MedicationRequestReported, MedicationRequestSubstitution, SubstitutionAllowed,
};
pub use medication_statement::{MedicationStatement, StatementEffective};
pub use observation::OBSERVATION_CATEGORY;
pub use observation::{
    Observation, ObservationComponent, ObservationEffective, ObservationReferenceRange,
    ObservationValue,
};
pub use practitioner_role::{PractitionerRole, RoleAvailableTime, RoleNotAvailable};
pub use procedure::{Procedure, ProcedureFocalDevice, ProcedurePerformed, ProcedurePerformer};
pub use provenance::{Provenance, ProvenanceAgent, ProvenanceEntity, ProvenanceOccurred};
pub use questionnaire_response::{
    AnswerValue, QuestionnaireResponse, QuestionnaireResponseAnswer, QuestionnaireResponseItem,
};
pub use related_person::{RelatedPerson, RelatedPersonCommunication};
pub use service_request::{ServiceRequest, ServiceRequestOccurrence, ServiceRequestQuantity};
pub use specimen::{
    Specimen, SpecimenAdditive, SpecimenCollected, SpecimenCollection, SpecimenContainer,
    SpecimenFasting, SpecimenProcessing, SpecimenProcessingTime,
};
pub use status::ClinicalStatus;

/// What the generated clinical files import.
mod prelude {
    pub(crate) use crate::clinical::{MedicationChoice, resource_validate};
    pub(crate) use crate::datatypes::*;
    pub(crate) use crate::macros::{fhir_choice, fhir_struct};
    pub(crate) use crate::validate::{Check, ValidationIssue};
    pub(crate) use crate::{DateTime, Decimal, Integer};
}

/// The name of a `medication[x]`: the concept's display text, the reference's display,
/// else the code of the contained Medication it points to.
pub(crate) fn medication_text<'a>(
    m: Option<&'a MedicationChoice>,
    contained: impl Fn(&crate::Reference) -> Option<&'a crate::Resource>,
) -> Option<&'a str> {
    let m = m?;
    if let MedicationChoice::Reference(r) = m
        && r.display.is_none()
    {
        return contained(r)
            .and_then(crate::Resource::as_medication)
            .and_then(|med| med.code.as_ref())
            .and_then(|c| c.display_text());
    }
    m.text()
}

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
