//! C4BB profiles: which kind of ExplanationOfBenefit this is.

/// The NPI identifier system.
pub const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";
