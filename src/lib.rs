//! # patient-access
//!
//! Connect a Rust app to US health insurers' Patient Access APIs (CMS-9115-F): SMART on FHIR standalone patient
//! launch, then typed CARIN Blue Button (C4BB) claims and clinical data, with each payer's quirks handled.
//!
//! This crate is the one dependency an app needs; it re-exports the three crates of the workspace:
//!
//! - [`smart`] ([`smart_core`]): discovery, PKCE authorization, tokens, refresh, storage, the FHIR fetch layer and
//!   the [`PayerAdapter`](smart_core::PayerAdapter) trait.
//! - [`payers`] ([`payer_quirks`]): the adapters for real payers, each next to the quirks it works around.
//! - [`fhir`] ([`fhir_c4bb`]): typed, lossless C4BB resources.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use fhir_c4bb as fhir;
pub use payer_quirks as payers;
pub use smart_core as smart;

pub use fhir_c4bb;
pub use payer_quirks;
pub use smart_core;
