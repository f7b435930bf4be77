//! The one list of resource types this crate models.
//!
//! Everything that depends on "which types are typed" is generated from this list: the
//! [`Resource`](crate::Resource) enum and its variants, `resource_type()`, `id()`, the
//! `as_*` / `into_*` accessors, the `resourceType` dispatch while parsing, serialization,
//! `validate()` dispatch, the walk that reports mismatched members, and (through this
//! exported macro) smart-core's `FhirResource` impls. Adding a resource type is one new
//! file plus one line here; see the crate guide, "Adding a resource type".

/// Calls the macro `$callback` with every resource type this crate models, one entry per
/// type: `Variant => path::to::Type, as_fn, into_fn, "doc";`.
///
/// Other crates generate their per-type code from it, so that a type added here cannot be
/// forgotten there (smart-core implements its `FhirResource` trait this way):
///
/// ```
/// macro_rules! names {
///     ($($variant:ident => $ty:ty, $as_fn:ident, $into_fn:ident, $doc:literal;)*) => {
///         const NAMES: &[&str] = &[$(<$ty>::RESOURCE_TYPE),*];
///     };
/// }
/// fhir_c4bb::with_resource_types!(names);
/// assert!(NAMES.contains(&"Observation"));
/// assert!(NAMES.contains(&"ExplanationOfBenefit"));
/// ```
#[macro_export]
macro_rules! with_resource_types {
    ($callback:ident) => {
        $callback! {
            // Claims (CARIN Blue Button) and the search machinery.
            Patient => $crate::Patient, as_patient, into_patient, "A Patient.";
            Coverage => $crate::Coverage, as_coverage, into_coverage, "A Coverage.";
            ExplanationOfBenefit => $crate::ExplanationOfBenefit, as_eob, into_eob,
                "An ExplanationOfBenefit (a claim as adjudicated, or a prior authorization).";
            Organization => $crate::Organization, as_organization, into_organization,
                "An Organization (payer or provider).";
            Practitioner => $crate::Practitioner, as_practitioner, into_practitioner, "A Practitioner.";
            OperationOutcome => $crate::OperationOutcome, as_operation_outcome, into_operation_outcome,
                "An OperationOutcome (errors and warnings, sometimes inside a search Bundle).";
            Bundle => $crate::Bundle, as_bundle, into_bundle, "A Bundle (search results, collections).";
            // Clinical data (US Core).
            AllergyIntolerance => $crate::clinical::AllergyIntolerance, as_allergy_intolerance,
                into_allergy_intolerance, "An AllergyIntolerance (US Core).";
            Condition => $crate::clinical::Condition, as_condition, into_condition,
                "A Condition: a problem, health concern or encounter diagnosis (US Core).";
            Immunization => $crate::clinical::Immunization, as_immunization, into_immunization,
                "An Immunization (US Core).";
            Medication => $crate::clinical::Medication, as_medication, into_medication,
                "A Medication (US Core), often contained in a MedicationRequest.";
            MedicationRequest => $crate::clinical::MedicationRequest, as_medication_request,
                into_medication_request, "A MedicationRequest: a prescription or order (US Core).";
            Observation => $crate::clinical::Observation, as_observation, into_observation,
                "An Observation: a lab result, vital sign, assessment (US Core).";
            CarePlan => $crate::clinical::CarePlan, as_care_plan, into_care_plan, "A CarePlan (US Core).";
            CareTeam => $crate::clinical::CareTeam, as_care_team, into_care_team, "A CareTeam (US Core).";
            Device => $crate::clinical::Device, as_device, into_device, "A Device (US Core Implantable Device).";
            DiagnosticReport => $crate::clinical::DiagnosticReport, as_diagnostic_report, into_diagnostic_report, "A DiagnosticReport: lab panel, imaging report, note (US Core).";
            DocumentReference => $crate::clinical::DocumentReference, as_document_reference, into_document_reference, "A DocumentReference: a clinical note or document (US Core).";
            Encounter => $crate::clinical::Encounter, as_encounter, into_encounter, "An Encounter (US Core).";
            Endpoint => $crate::clinical::Endpoint, as_endpoint, into_endpoint, "An Endpoint.";
            FamilyMemberHistory => $crate::clinical::FamilyMemberHistory, as_family_member_history, into_family_member_history, "A FamilyMemberHistory.";
            Goal => $crate::clinical::Goal, as_goal, into_goal, "A Goal (US Core).";
            Location => $crate::clinical::Location, as_location, into_location, "A Location (US Core).";
            Media => $crate::clinical::Media, as_media, into_media, "A Media (US Core, R4).";
            MedicationDispense => $crate::clinical::MedicationDispense, as_medication_dispense, into_medication_dispense, "A MedicationDispense (US Core).";
            MedicationStatement => $crate::clinical::MedicationStatement, as_medication_statement, into_medication_statement, "A MedicationStatement.";
            PractitionerRole => $crate::clinical::PractitionerRole, as_practitioner_role, into_practitioner_role, "A PractitionerRole (US Core).";
            Procedure => $crate::clinical::Procedure, as_procedure, into_procedure, "A Procedure (US Core).";
            Provenance => $crate::clinical::Provenance, as_provenance, into_provenance, "A Provenance (US Core).";
            QuestionnaireResponse => $crate::clinical::QuestionnaireResponse, as_questionnaire_response, into_questionnaire_response, "A QuestionnaireResponse (US Core).";
            RelatedPerson => $crate::clinical::RelatedPerson, as_related_person, into_related_person, "A RelatedPerson (US Core).";
            ServiceRequest => $crate::clinical::ServiceRequest, as_service_request, into_service_request, "A ServiceRequest (US Core).";
            Specimen => $crate::clinical::Specimen, as_specimen, into_specimen, "A Specimen (US Core).";
        }
    };
}
