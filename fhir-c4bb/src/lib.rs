//! Typed, lossless CARIN Blue Button (C4BB) FHIR R4 models.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bundle;
mod coverage;
pub mod datatypes;
mod datetime;
mod decimal;
mod element;
mod eob;
mod error;
mod macros;
pub mod money;
mod operation_outcome;
mod organization;
mod patient;
mod practitioner;
pub mod profile;
mod resource;
pub mod validate;

pub use bundle::{
    Bundle, BundleEntry, BundleEntryRequest, BundleEntryResponse, BundleEntrySearch, BundleLink,
};
pub use coverage::{CostException, CostToBeneficiary, CostValue, Coverage, CoverageClass};
pub use datatypes::{Money, Reference};
pub use datetime::{DateParts, DateTime, Precision};
pub use decimal::{Decimal, DecimalParseError, Integer};
pub use element::{Extra, RawJson};
pub use eob::{
    Accident, AccidentLocation, AddItem, Adjudication, BenefitAllowed, BenefitBalance,
    BenefitFinancial, BenefitUsed, CareTeam, Diagnosis, DiagnosisValue, EobInsurance, EobPayee,
    EobRelated, ExplanationOfBenefit, Item, ItemDetail, ItemLocation, Payment, Procedure,
    ProcedureValue, ProcessNote, Serviced, SubDetail, SupportingInfo, SupportingInfoTiming,
    SupportingInfoValue, Total,
};
pub use error::ParseError;
pub use operation_outcome::{OperationOutcome, OperationOutcomeIssue};
pub use organization::{Organization, OrganizationContact};
pub use patient::{
    Deceased, MultipleBirth, Patient, PatientCommunication, PatientContact, PatientLink,
};
pub use practitioner::{Practitioner, PractitionerQualification};
pub use resource::{OtherResource, Resource};

/// Parses JSON text into a model type (usually [`Resource`] or [`Bundle`]).
///
/// On failure the error names the JSON path of the offending value.
///
/// ```
/// let r: fhir_c4bb::Resource = fhir_c4bb::from_str(r#"{"resourceType":"Coverage","status":"active"}"#)?;
/// assert_eq!(r.resource_type(), "Coverage");
/// # Ok::<(), fhir_c4bb::ParseError>(())
/// ```
pub fn from_str<'a, T: serde::Deserialize<'a>>(s: &'a str) -> Result<T, ParseError> {
    from_slice(s.as_bytes())
}

/// Parses JSON bytes into a model type; see [`from_str`].
///
/// ```
/// let body: &[u8] = br#"{"resourceType":"Bundle","type":"searchset","total":0}"#;
/// let b: fhir_c4bb::Bundle = fhir_c4bb::from_slice(body)?;
/// assert_eq!(b.total(), Some(0));
/// # Ok::<(), fhir_c4bb::ParseError>(())
/// ```
pub fn from_slice<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ParseError> {
    // The fast path runs without path tracking; only a failing input is read a second time
    // to find where it failed, so well-formed data pays nothing for good error messages.
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(first) => Err(locate::<T>(bytes, first)),
    }
}

fn locate<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8], first: serde_json::Error) -> ParseError {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => {
            let path = e.path().to_string();
            ParseError::new(path, e.into_inner())
        }
        // The value itself was fine: what failed is after it (trailing characters).
        Ok(_) => ParseError::new(".".to_owned(), de.end().err().unwrap_or(first)),
    }
}
