//! Typed, lossless CARIN Blue Button (C4BB) FHIR R4 models: what US health plans send
//! through the CMS Patient Access APIs, with nothing lost on the way.
//!
//! - [Parsing](#parsing): [`from_str`] / [`from_slice`] into [`Resource`] or a typed resource
//! - [Search results](#search-results): [`Bundle`] pages, links, outcomes
//! - [Lossless round trip](#lossless-round-trip): unknown members, extensions, exact decimals
//! - [Lenient parsing, precise errors](#lenient-parsing-precise-errors)
//! - [Claims and money](#claims-and-money): [`ExplanationOfBenefit::totals`], [`money::ClaimsTable`]
//! - [Prior authorizations](#prior-authorizations): [`ExplanationOfBenefit::prior_authorization`]
//! - [Profiles and validation](#profiles-and-validation): [`ExplanationOfBenefit::profile`], `validate()`
//! - [Clinical data](#clinical-data): US Core in [`clinical`]
//! - [Performance](#performance)
//! - [Adding a resource type](#adding-a-resource-type)
//!
//! The crate holds the data model only: serde, no HTTP, no async.
//!
//! # Parsing
//!
//! [`Resource`] dispatches on `resourceType`: the claims types (Patient, Coverage,
//! ExplanationOfBenefit, Organization, Practitioner), OperationOutcome, Bundle and the US
//! Core clinical types in [`clinical`] are typed ([`Resource::TYPED`] lists them); any
//! other type (Questionnaire, Library...) is kept as raw JSON in [`Resource::Other`].
//!
//! ```
//! use fhir_c4bb::Resource;
//!
//! let json = r#"{"resourceType": "Patient", "id": "p1", "birthDate": "1986-03",
//!                "name": [{"family": "Example", "given": ["Ann"]}]}"#;
//! let resource: Resource = fhir_c4bb::from_str(json)?;
//! assert_eq!(resource.resource_type(), "Patient");
//! let patient = resource.as_patient().unwrap();
//! assert_eq!(patient.display_name().as_deref(), Some("Ann Example"));
//! assert_eq!(patient.birth_date.as_ref().unwrap().precision(), Some(fhir_c4bb::Precision::Month));
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
//!
//! # Search results
//!
//! ```
//! let page: fhir_c4bb::Bundle = fhir_c4bb::from_str(r#"{
//!   "resourceType": "Bundle", "type": "searchset", "total": 1,
//!   "link": [{"relation": "next", "url": "https://payer.example/fhir/ExplanationOfBenefit?page=2"}],
//!   "entry": [
//!     {"resource": {"resourceType": "ExplanationOfBenefit", "id": "eob1"}, "search": {"mode": "match"}},
//!     {"resource": {"resourceType": "OperationOutcome",
//!                   "issue": [{"severity": "warning", "code": "incomplete"}]}, "search": {"mode": "outcome"}}
//!   ]}"#)?;
//! assert_eq!(page.link("next"), Some("https://payer.example/fhir/ExplanationOfBenefit?page=2"));
//! assert_eq!(page.eobs().count(), 1);
//! for outcome in page.outcomes() {
//!     for issue in outcome.issues() {
//!         assert_eq!(issue.severity.as_deref(), Some("warning"));
//!     }
//! }
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
//!
//! # Lossless round trip
//!
//! Serialising what was parsed gives back the same JSON (member order aside): members
//! this crate does not model, `_primitive` extensions, repeated and nested extensions,
//! contained resources, `null`s, and decimals with their exact digits (`5.00` stays
//! `5.00`). Numbers are captured as raw text (serde_json's `raw_value` feature), never
//! through `f64` and without `arbitrary_precision`. Every model struct keeps what it does
//! not model in its `extra` field ([`Extra`]).
//!
//! ```
//! let json = r#"{"resourceType":"ExplanationOfBenefit","total":[{"amount":{"value":5.00,"currency":"USD"}}],"_status":{"extension":[{"url":"x","valueCode":"y"}]},"newR5Element":true}"#;
//! let eob: fhir_c4bb::Resource = fhir_c4bb::from_str(json)?;
//! assert_eq!(serde_json::to_string(&eob).unwrap(), json);
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
//!
//! # Lenient parsing, precise errors
//!
//! Payers send off-spec data. A resource whose values have the right JSON types parses
//! even with required elements missing, unknown codes, empty strings, dates of any
//! precision or no date at all (kept, reported by `validate()`), codings without a code,
//! references with only an identifier or display, and `resourceType` anywhere in the
//! object. A value of the wrong JSON shape, in any field of any type (a 0..1 element sent
//! as an array, a 0..* element as one object, a number as a string or the reverse,
//! `null`), leaves that field unset and is kept as sent in the element's `extra` (so it
//! round-trips); `validate()` reports it with its JSON path. Only text that is not JSON,
//! or a document of the wrong type at the top, is a [`ParseError`], naming its JSON path.
//!
//! ```
//! use fhir_c4bb::validate::IssueKind;
//! let text = r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"ExplanationOfBenefit","item":[{"adjudication":"paid"}],"billablePeriod":[{"start":"2024-01-01"}]}}]}"#;
//! let page: fhir_c4bb::Resource = fhir_c4bb::from_str(text)?;
//! assert_eq!(serde_json::to_string(&page).unwrap(), text); // kept members come last
//! let wrong: Vec<String> = page.validate().into_iter()
//!     .filter(|i| i.kind == IssueKind::WrongJsonType).map(|i| i.to_string()).collect();
//! assert_eq!(wrong, [
//!     "entry[0].resource.billablePeriod: expected object, found array; kept as sent in `extra`",
//!     "entry[0].resource.item[0].adjudication: expected array, found string; kept as sent in `extra`",
//! ]);
//!
//! let err = fhir_c4bb::from_str::<fhir_c4bb::Resource>(r#"{"resourceType":"Bundle","entry":[}"#)
//!     .unwrap_err();
//! assert!(err.is_syntax());
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
//!
//! # Claims and money
//!
//! Amounts are recognised by their adjudication/total category codes (HL7, C4BB, C4BB 1.x,
//! CMS Blue Button) and summed exactly in [`Decimal`]. [`money::ClaimsTable`] gives the
//! table a cost-transparency app shows first: service date, claim type, provider, billed,
//! plan paid, member owes, with totals.
//!
//! ```
//! let eob: fhir_c4bb::ExplanationOfBenefit = fhir_c4bb::from_str(r#"{"resourceType":"ExplanationOfBenefit",
//!   "type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"professional"}]},
//!   "provider":{"display":"Dr. Example"},
//!   "item":[{"sequence":1,"servicedDate":"2024-02-01"}],
//!   "total":[{"category":{"coding":[{"code":"submitted"}]},"amount":{"value":150.00,"currency":"USD"}},
//!            {"category":{"coding":[{"code":"benefit"}]},"amount":{"value":120.00,"currency":"USD"}},
//!            {"category":{"coding":[{"code":"memberliability"}]},"amount":{"value":30.00,"currency":"USD"}}]}"#)?;
//! let row = eob.claim_row();
//! assert_eq!(row.service_date.as_ref().map(|d| d.as_str()), Some("2024-02-01"));
//! assert_eq!(row.claim_type, "Professional");
//! assert_eq!(row.provider.as_deref(), Some("Dr. Example"));
//! assert_eq!(row.billed.unwrap().to_string(), "150.00 USD");
//! assert_eq!(row.plan_paid.unwrap().to_string(), "120.00 USD");
//! assert_eq!(row.member_owes.unwrap().to_string(), "30.00 USD");
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
//!
//! # Prior authorizations
//!
//! Under CMS-0057-F, from 1 January 2027 impacted payers (Medicare Advantage, Medicaid,
//! CHIP, Marketplace plans) must return a member's prior authorizations through the Patient
//! Access API: pending, approved, partially approved and denied, with the reason and each
//! later change of status, for at least a year after the last change. Da Vinci PDex sends
//! them as ExplanationOfBenefit with `use = preauthorization` (profile
//! `pdex-priorauthorization`). They are not claims: [`money::ClaimsTable`] gives them no
//! row and no share of its totals, and [`Bundle::claims`] skips them.
//!
//! [`ExplanationOfBenefit::prior_authorization`] returns a borrowed
//! [`prior_auth::PriorAuthorization`] view (detected by `use`, whatever the profile says):
//! the decision as a [`prior_auth::PriorAuthStatus`] (X12 306 `A1` approved, `A2` partially
//! approved, `A3` denied, `A4` pending, `A6` modified, `C` cancelled, anything else kept as
//! `Other(code)`; the full rule is in [`prior_auth`]), the authorization number, the
//! authorized period, the decision date, the level of service, each item's service,
//! decision, amounts and units, and the denial reasons. An app shows the member what is
//! still waiting and what was refused, and why:
//!
//! ```
//! use fhir_c4bb::prior_auth::PriorAuthStatus;
//! let page: fhir_c4bb::Bundle = fhir_c4bb::from_str(r#"{"resourceType":"Bundle","entry":[
//!   {"resource":{"resourceType":"ExplanationOfBenefit","id":"pa1","use":"preauthorization","outcome":"queued",
//!     "item":[{"sequence":1,"productOrService":{"text":"MRI, lumbar spine"}}]}},
//!   {"resource":{"resourceType":"ExplanationOfBenefit","id":"pa2","use":"preauthorization","outcome":"complete",
//!     "adjudication":[{"category":{"coding":[{"code":"submitted"}]},"extension":[{
//!       "url":"http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewAction","extension":[
//!       {"url":"http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewActionCode",
//!        "valueCodeableConcept":{"coding":[{"system":"https://codesystem.x12.org/005010/306","code":"A3"}]}},
//!       {"url":"reasonCode","valueCodeableConcept":{"text":"Not medically necessary"}}]}]}],
//!     "item":[{"sequence":1,"productOrService":{"text":"Sleep study"}}]}},
//!   {"resource":{"resourceType":"ExplanationOfBenefit","id":"claim1","use":"claim"}}]}"#)?;
//! let mut lines = Vec::new();
//! for pa in page.prior_authorizations() {
//!     let service = pa.service().and_then(|s| s.display()).unwrap_or("(service)");
//!     match pa.status() {
//!         PriorAuthStatus::Pending => lines.push(format!("{service}: waiting for a decision")),
//!         PriorAuthStatus::Denied => {
//!             let why: Vec<_> = pa.reasons().filter_map(|r| r.display()).collect();
//!             lines.push(format!("{service}: denied ({})", why.join("; ")));
//!         }
//!         other => lines.push(format!("{service}: {other}")),
//!     }
//! }
//! assert_eq!(lines, ["MRI, lumbar spine: waiting for a decision",
//!                    "Sleep study: denied (Not medically necessary)"]);
//! assert_eq!(fhir_c4bb::money::ClaimsTable::from_eobs(page.eobs()).rows.len(), 1);
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
//!
//! `validate()` checks a prior authorization against PDex, not C4BB; a request with no
//! decision yet is pending, not invalid.
//!
//! # Profiles and validation
//!
//! ```
//! use fhir_c4bb::profile::EobKind;
//! let eob: fhir_c4bb::ExplanationOfBenefit = fhir_c4bb::from_str(r#"{"resourceType":"ExplanationOfBenefit",
//!   "meta":{"profile":["http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-ExplanationOfBenefit-Pharmacy|2.0.0"]}}"#)?;
//! assert_eq!(eob.profile().kind, EobKind::Pharmacy);
//! let issues = eob.validate();
//! assert!(issues.iter().any(|i| i.path == "supportingInfo:dayssupply"));
//! assert!(issues.iter().any(|i| i.path == "billablePeriod"));
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
//!
//! # Clinical data
//!
//! A Patient Access API serves US Core clinical data too. [`clinical`] types every
//! resource the payer specification lists (AllergyIntolerance, CarePlan, CareTeam,
//! Condition, Device, DiagnosticReport, DocumentReference, Encounter, Goal, Immunization,
//! Location, Medication, MedicationDispense, MedicationRequest, MedicationStatement,
//! Observation, PractitionerRole, Procedure, Provenance, RelatedPerson, ServiceRequest,
//! Specimen, Media, FamilyMemberHistory, QuestionnaireResponse, Endpoint) in R4 4.0.1
//! shapes, with the same lossless, lenient guarantees; elements US Core 3.1.1 to 9.0 added
//! or removed are fields or `extra`, never failures.
//!
//! ```
//! use fhir_c4bb::clinical::ClinicalStatus;
//! let page: fhir_c4bb::Bundle = fhir_c4bb::from_str(r#"{"resourceType":"Bundle","type":"searchset","entry":[
//!   {"resource":{"resourceType":"Condition","code":{"text":"Asthma"},
//!     "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]}}},
//!   {"resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"2339-0","display":"Glucose"}]},
//!     "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
//!     "valueQuantity":{"value":95.0,"unit":"mg/dL"}}}]}"#)?;
//! for r in page.entries() {
//!     if let Some(c) = r.as_condition() {
//!         assert_eq!(c.clinical_status(), Some(ClinicalStatus::Active));
//!     }
//!     if let Some(o) = r.as_observation().filter(|o| o.is_laboratory()) {
//!         let name = o.code.as_ref().and_then(|c| c.display_text());
//!         assert_eq!((name, o.value_text().as_deref()), (Some("Glucose"), Some("95.0 mg/dL")));
//!     }
//! }
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```
//!
//! # Performance
//!
//! Visitors are generated by a `macro_rules!` from one field list per type: known keys
//! fill struct fields in place, unknown ones are copied as raw JSON; no `#[serde(flatten)]`
//! buffering, no proc-macro, no code generated from the whole FHIR specification.
//! `cargo bench -p fhir-c4bb` compares typed parsing with `serde_json::Value` on the
//! fixture corpus and on transaction Bundles of US Core resources.
//!
//! # Adding a resource type
//!
//! One new file and one line:
//!
//! 1. Write `src/clinical/<name>.rs` (or `src/<name>.rs`): the type with
//!    `fhir_struct! { pub struct Name: domain_resource "Name" { ... } }` listing only its
//!    own fields (the macro writes `id`, `meta`, `implicitRules`, `language`, `text`,
//!    `contained`, `extension`, `modifierExtension`), choices with `fhir_choice!`,
//!    backbone elements with `pub struct Part: backbone { ... }`, and
//!    `pub(crate) fn validate_into(&self, out, prefix)` with the profile's rules (plus
//!    `resource_validate!(Name, "...")` for the public `validate()`). Declare the module
//!    and re-export the types in its parent `mod.rs`.
//! 2. Add one line to the list in `src/registry.rs`:
//!    `Name => $crate::clinical::Name, as_name, into_name, "doc";`.
//!
//! Everything else is generated from that list: the [`Resource`] variant,
//! `resource_type()`, `id()`, `as_name`/`into_name`, `From<Name> for Resource`, parsing
//! dispatch, serialization, `validate()` dispatch and the mismatch walk, and smart-core's
//! `FhirResource` impl (it calls [`with_resource_types!`]). A type without
//! `validate_into`, `RESOURCE_TYPE` or `id` does not compile.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod budget;
mod bundle;
mod capability_statement;
pub mod clinical;
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
pub mod prior_auth;
pub mod profile;
mod registry;
mod resource;
pub mod validate;

pub use bundle::{
    Bundle, BundleEntry, BundleEntryRequest, BundleEntryResponse, BundleEntrySearch, BundleLink,
};
pub use capability_statement::{
    CapabilityInteraction, CapabilityResource, CapabilityRest, CapabilitySearchParam,
    CapabilityStatement,
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
/// The parse has a memory budget: the typed tree may cost at most about 12 bytes per
/// input byte plus 64 MiB (sizes of the vector slots and boxes it allocates, text aside),
/// so that no body, whatever its shape, grows the parse's peak memory by more than 16
/// bytes per body byte + 64 MiB. Past it the parse stops with an error for which
/// [`ParseError::is_memory_budget`] is true. Real payer pages use a small fraction of it.
/// (Calling `serde_json` directly on these types parses without a budget.)
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
    let scope = budget::Scope::enter(bytes.len());
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        // Out of budget: reading it again to find a path would only spend it again.
        Err(first) if scope.exceeded() => Err(ParseError::new(".".to_owned(), first).budget()),
        Err(first) => {
            drop(scope);
            let _again = budget::Scope::enter(bytes.len());
            Err(locate::<T>(bytes, first))
        }
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
