//! Per-payer adapters for patient-access: each US payer's Patient Access API quirks, written down once.
//!
//! Every payer bends SMART App Launch and C4BB a little. Each module here holds one payer's environments and
//! endpoints (defaults: discovery at run time wins), the [`PayerAdapter`](smart_core::PayerAdapter) that encodes
//! its quirks (a [`PayerProfile`]: data wherever it can be data), the hints for its known failure signatures, and,
//! behind the feature `simulator`, a loopback HTTP server that behaves like that payer, quirks included.
//!
//! ```
//! use smart_core::PayerAdapter;
//! let aetna = payer_quirks::aetna::sandbox();
//! assert_eq!(aetna.fhir_accept(), "application/json");
//! let found = payer_quirks::by_id("cigna-sandbox").expect("known id");
//! assert!(found.adapter.authorize_in_browser_only());
//! ```
//!
//! | Payer | Module |
//! |---|---|
//! | Aetna | [`aetna`] |
//! | Cigna | [`cigna`] |
//! | UnitedHealthcare (Optum FLEX) | [`unitedhealthcare`] |
//! | CMS Blue Button 2.0 (Medicare) | [`bluebutton`] |
//! | Humana | [`humana`] |
//! | Elevance Health (13 brands) | [`elevance`] |
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aetna;
pub mod bluebutton;
pub mod cigna;
mod directory;
pub mod elevance;
mod environment;
pub mod humana;
mod profile;
pub mod unitedhealthcare;

#[cfg(feature = "simulator")]
pub mod simulator;

pub use directory::{EnvironmentInfo, Found, PayerInfo, by_id, directory, markdown_table};
pub use environment::Environment;
pub use profile::{OAuthHint, PayerProfile, ResponseHint};
