//! Typed, lossless CARIN Blue Button (C4BB) FHIR R4 models: the claims (ExplanationOfBenefit), coverage and
//! member data a US payer's Patient Access API serves.
//!
//! serde only: no HTTP, no async. `smart-core` reads these from a payer; this crate is just as useful on NDJSON
//! files, a database column or a test fixture.
//!
//! # Contents
//!
//! 1. [Parsing](#parsing)
//! 2. [Lossless](#lossless)
//! 3. [What a claim cost: exact money](#what-a-claim-cost-exact-money)
//! 4. [Which kind of claim: EOB profiles](#which-kind-of-claim-eob-profiles)
//! 5. [Conformance is a separate question: `validate()`](#conformance-is-a-separate-question-validate)
//!
//! # Parsing
//!
//! [`from_str`] and [`from_slice`] read any model type; [`Resource`] dispatches on `resourceType` in one pass,
//! typed where this crate models the type ([`Patient`], [`Coverage`], [`ExplanationOfBenefit`], [`Organization`],
//! [`Practitioner`], [`OperationOutcome`], [`Bundle`]) and raw JSON ([`OtherResource`]) for every other type, so
//! nothing a payer sends is dropped. Parsing is lenient about what payers get wrong (missing required elements,
//! repeated extensions, codings without codes) and fails only on JSON of the wrong shape, with the path:
//!
//! ```
//! use fhir_c4bb::{Resource, from_str};
//!
//! let r: Resource = from_str(r#"{"resourceType":"Condition","id":"c1","code":{"text":"Asthma"}}"#)?;
//! assert_eq!((r.resource_type(), r.id()), ("Condition", Some("c1"))); // kept, untyped
//!
//! let err = from_str::<Resource>(r#"{"resourceType":"Coverage","status":"active","payor":{"display":"Acme"}}"#)
//!     .unwrap_err();
//! assert_eq!(err.path(), "payor"); // `payor` is a list
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
//!
//! # Lossless
//!
//! What was read is what is written: unknown fields, extensions and primitive extensions (`_field`) are kept;
//! decimals keep their digits (`10.00` stays `10.00`, without serde_json's `arbitrary_precision`); dates keep
//! their precision (`2018`, `2018-03`, full instants).
//!
//! ```
//! let text = r#"{"resourceType":"Patient","birthDate":"1986","_birthDate":{"extension":[{"url":"u","valueString":"x"}]},"x-payer-field":[1.50]}"#;
//! let patient: fhir_c4bb::Patient = fhir_c4bb::from_str(text)?;
//! assert_eq!(patient.birth_date.as_ref().map(|d| d.as_str()), Some("1986"));
//! let back = serde_json::to_string(&patient).unwrap();
//! assert!(back.contains(r#""_birthDate":{"extension""#) && back.contains(r#""x-payer-field":[1.50]"#));
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
//!
//! # What a claim cost: exact money
//!
//! [`money`] sums adjudication and total amounts by category in exact decimal arithmetic, whatever code system
//! the payer uses (HL7, C4BB, CMS Blue Button variables), and builds the rows of a claims table: service date,
//! claim type, provider, billed, plan paid, member owes.
//!
//! ```
//! let eob: fhir_c4bb::ExplanationOfBenefit = fhir_c4bb::from_str(r#"{"resourceType":"ExplanationOfBenefit",
//!   "type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"pharmacy"}]},
//!   "provider":{"display":"Corner Pharmacy"},
//!   "item":[{"sequence":1,"servicedDate":"2024-03-05"}],
//!   "total":[
//!     {"category":{"coding":[{"code":"submitted"}]},"amount":{"value":120.10,"currency":"USD"}},
//!     {"category":{"coding":[{"code":"benefit"}]},"amount":{"value":100.00,"currency":"USD"}},
//!     {"category":{"coding":[{"code":"memberliability"}]},"amount":{"value":20.10,"currency":"USD"}}]}"#)?;
//! let row = eob.claim_row();
//! assert_eq!(row.service_date.as_ref().map(|d| d.as_str()), Some("2024-03-05"));
//! assert_eq!((row.claim_type.as_str(), row.provider.as_deref()), ("Pharmacy", Some("Corner Pharmacy")));
//! assert_eq!(row.member_owes.unwrap().to_string(), "20.10 USD");
//!
//! let table = fhir_c4bb::money::ClaimsTable::from_eobs([&eob, &eob]);
//! assert_eq!(table.billed_total.unwrap().to_string(), "240.20 USD"); // exact, not 240.2000000001
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
//!
//! # Which kind of claim: EOB profiles
//!
//! [`ExplanationOfBenefit::profile`] names the C4BB profile (inpatient, outpatient, professional, pharmacy, oral;
//! financial or non-financial "Basis") from `meta.profile` with any version suffix, else from the claim type.
//! See [`profile`].
//!
//! # Conformance is a separate question: `validate()`
//!
//! Each resource type has a `validate()` listing the C4BB required and must-support elements that are missing or
//! invalid, each with its JSON path ([`validate::ValidationIssue`]). An app decides what to do with them; parsing
//! never depends on them.
//!
//! ```
//! let coverage: fhir_c4bb::Coverage = fhir_c4bb::from_str(r#"{"resourceType":"Coverage","status":"active"}"#)?;
//! let errors: Vec<String> = coverage.validate().into_iter().filter(|i| i.is_error()).map(|i| i.path).collect();
//! assert!(errors.contains(&"beneficiary".to_owned()));
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
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
