//! SMART App Launch for payer Patient Access APIs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adapter;
pub mod discovery;
pub mod error;
pub mod fhir;
pub mod store;
pub mod token_source;
pub mod tokens;
pub mod url_policy;

pub use adapter::{
    AudPolicy, ClientAuth, CoverageSearch, EndpointOverrides, PatientIdSource, PayerAdapter,
    RatePolicy, Standard,
};
pub use error::{Error, OutcomeIssue, Result, Stage, TransportKind};
pub use fhir::{EobQuery, FhirClient, FhirPool, SearchItem, SearchStream};
pub use store::{StoredTokens, TokenStore, Version};
pub use token_source::{StaticTokens, TokenSource};
pub use tokens::TokenSet;
