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
        }
    };
}
