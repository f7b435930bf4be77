//! Per-payer adapters for patient-access: each US payer's Patient Access API quirks, written down once.
//!
//! Every payer bends SMART App Launch and C4BB a little. Each module here holds one payer's environments and
//! endpoints (defaults: discovery at run time wins), the [`PayerAdapter`](smart_core::PayerAdapter) that encodes
//! its quirks (a [`PayerProfile`]: data wherever it can be data), the hints for its known failure signatures, and,
//! behind the feature `simulator`, a loopback HTTP server that behaves like that payer, quirks included.
//!
//! # Contents
//!
//! 1. [Picking an adapter](#picking-an-adapter)
//! 2. [The directory](#the-directory)
//! 3. [Adjusting a known payer](#adjusting-a-known-payer)
//! 4. [Adding a payer](#adding-a-payer)
//! 5. [Simulators](#simulators)
//! 6. [Payers](#payers)
//!
//! # Picking an adapter
//!
//! Each payer module has one function per deployment (`aetna::sandbox()`, `aetna::production()`); an app that
//! reads the payer from its configuration looks it up by id with [`by_id`]. Either way the adapter goes to
//! `smart_core::SmartClient::builder` (and the same one to `FhirClient::builder`).
//!
//! ```
//! use std::sync::Arc;
//! use smart_core::{PayerAdapter, SecretString, SmartClient};
//! # let secret_from_your_vault = "example-secret".to_owned();
//!
//! let client = SmartClient::builder(Arc::new(payer_quirks::aetna::sandbox()))
//!     .client_id("my-app")
//!     .client_secret(SecretString::from(secret_from_your_vault)) // Aetna: confidential clients only
//!     .redirect_uri("https://app.example/callback")?
//!     .build()?;
//! assert_eq!(client.adapter().id(), "aetna-sandbox");
//!
//! // From a setting such as PAYER=cigna-sandbox:
//! let found = payer_quirks::by_id("cigna-sandbox").ok_or("unknown payer")?;
//! assert_eq!(found.payer.name, "Cigna");
//! // Cigna's login checks a cookie set in the member's browser: the SDK will not fetch its authorize URL itself.
//! assert!(found.adapter.authorize_in_browser_only());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The directory
//!
//! [`directory`](directory()) lists every payer with its deployments (adapter id, name, default FHIR base), the resource types
//! it serves and its quirks, one line each: enough for a "choose your insurer" picker. [`markdown_table`]
//! renders the same as a table.
//!
//! ```
//! for payer in payer_quirks::directory() {
//!     for env in &payer.environments {
//!         println!("{:<28} {} ({})", env.id, env.display_name, env.fhir_base);
//!     }
//! }
//! assert!(payer_quirks::markdown_table().contains("`aetna-sandbox`"));
//! ```
//!
//! # Adjusting a known payer
//!
//! A [`PayerProfile`]'s fields are public, so one knob can be changed without forking the crate, for example when
//! a payer moves its FHIR base before this crate learns about it:
//!
//! ```
//! use smart_core::PayerAdapter;
//!
//! let mut aetna = payer_quirks::aetna::sandbox();
//! aetna.fhir_base = url::Url::parse("https://vteapif1.aetna.com/fhirdemo/v3/patientaccess")?;
//! assert!(aetna.fhir_base().path().ends_with("/v3/patientaccess"));
//! # Ok::<(), url::ParseError>(())
//! ```
//!
//! # Adding a payer
//!
//! A payer this crate does not cover needs no change here. A standards-following one works with
//! `smart_core::Standard::new(fhir_base)`. A quirky one is either described as data, starting from
//! [`PayerProfile::standard`] and setting the fields that differ, or implemented in code: `PayerAdapter` has a
//! default for everything but the id and the FHIR base, and each default is the standard SMART behaviour, so
//! an adapter overrides only its payer's differences, with the reason next to each.
//!
//! ```
//! use smart_core::{AudPolicy, PayerAdapter};
//! use url::Url;
//!
//! /// Acme Health: standard SMART, except two differences.
//! #[derive(Debug)]
//! struct AcmeHealth {
//!     fhir_base: Url,
//! }
//!
//! impl PayerAdapter for AcmeHealth {
//!     fn id(&self) -> &str {
//!         "acme-health"
//!     }
//!
//!     fn fhir_base(&self) -> &Url {
//!         &self.fhir_base
//!     }
//!
//!     // Its authorization server rejects `aud` with `invalid_request`.
//!     fn aud(&self) -> AudPolicy {
//!         AudPolicy::Omit
//!     }
//!
//!     // Members of employer plans are refused at login; say so instead of a bare `access_denied`. Match the
//!     // description too: a member who clicks Deny is also `access_denied`, and the hint must not blame the plan.
//!     fn explain_oauth_error(&self, error: &str, description: Option<&str>) -> Option<String> {
//!         let ineligible = description.is_some_and(|d| d.contains("not eligible"));
//!         (error == "access_denied" && ineligible)
//!             .then(|| "Acme shares data for its Medicare and Medicaid plans only".into())
//!     }
//! }
//!
//! let acme = AcmeHealth { fhir_base: Url::parse("https://fhir.acme.example/r4")? };
//! assert_eq!(acme.aud(), AudPolicy::Omit);
//! assert_eq!(acme.fhir_accept(), "application/fhir+json"); // the standard default
//! # Ok::<(), url::ParseError>(())
//! ```
//!
//! `cargo run --example custom_payer` runs such an adapter through the whole flow against a simulator. To add a
//! payer to this crate itself: a module with its URLs, `sandbox()`/`production()` building a [`PayerProfile`], its
//! `KEY`, `RESOURCES` and `QUIRKS`, an entry in the directory, a simulator with its quirks switched on, and for
//! every quirk a pair of tests (the `Standard` adapter fails the way the real payer fails; the payer's adapter
//! succeeds), as the existing payers have in `tests/payer_quirk_pairs.rs`.
//!
//! # Simulators
//!
//! With the feature `simulator`, every payer module has a `simulator::start(SimOptions)` that serves that payer's
//! quirks and a synthetic member (built from the C4BB examples) on 127.0.0.1, with a scripted member's browser
//! for the login. `cargo run --example quickstart` is the whole flow against the Aetna simulator.
//!
//! The payers under CMS-0057-F (Medicare Advantage, Medicaid, CHIP and Marketplace plans: every payer here but CMS
//! Blue Button, which is Medicare fee-for-service) also serve the member's five Da Vinci PDex prior
//! authorizations: pending, approved, partially approved, denied with a reason, and one that is pended until
//! [`Simulator::advance_day`](simulator::Simulator::advance_day) and approved after, with a later
//! `meta.lastUpdated`. [`SimOptions::prior_authorizations`](simulator::SimOptions::prior_authorizations) overrides
//! a payer's default.
//!
//! ```toml
//! [dev-dependencies]
//! payer-quirks = { version = "0.1", features = ["simulator"] }
//! ```
//!
//! # Payers
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
pub mod brands;
pub mod cigna;
mod directory;
pub mod elevance;
mod environment;
pub mod humana;
mod profile;
pub mod sources;
pub mod unitedhealthcare;

#[cfg(feature = "simulator")]
pub mod simulator;

pub use directory::{
    EnvironmentInfo, Found, PayerInfo, Registration, by_id, directory, markdown_table,
};
pub use environment::Environment;
pub use profile::{OAuthHint, PayerProfile, ResponseHint};
