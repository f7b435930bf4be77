//! # patient-access
//!
//! Connect a Rust app to US health insurers' Patient Access APIs (CMS-9115-F): SMART on FHIR standalone patient
//! launch, then typed CARIN Blue Button (C4BB) claims and clinical data, with each payer's quirks handled.
//!
//! This crate is the one dependency an app needs; it re-exports the three crates of the workspace:
//!
//! - [`smart`] ([`smart_core`]): discovery, PKCE authorization, tokens, refresh, storage, the FHIR fetch layer and
//!   the [`PayerAdapter`](smart_core::PayerAdapter) trait.
//! - [`payers`] ([`payer_quirks`]): the adapters for real payers, each next to the quirks it works around, and
//!   (feature `simulator`) loopback simulators of them.
//! - [`fhir`] ([`fhir_c4bb`]): typed, lossless C4BB resources, with exact money.
//!
//! # Contents
//!
//! 1. [The first five minutes](#the-first-five-minutes)
//! 2. [A member's claims in a dozen lines](#a-members-claims-in-a-dozen-lines)
//! 3. [Choosing the payer](#choosing-the-payer)
//! 4. [Keeping the member connected](#keeping-the-member-connected)
//! 5. [When a payer misbehaves](#when-a-payer-misbehaves)
//! 6. [Security model](#security-model)
//! 7. [Examples](#examples)
//!
//! # The first five minutes
//!
//! ```text
//! cargo run --example quickstart      # a simulated payer: the whole flow and a claims table, no credentials
//! cargo run --example connect -- --payer aetna-sandbox    # a real sandbox (client id and secret in env vars)
//! ```
//!
//! # A member's claims in a dozen lines
//!
//! An app registered at the payer sends the member to [`authorize_url`](smart_core::SmartClient::authorize_url),
//! hands the callback to [`exchange_code`](smart_core::SmartClient::exchange_code), keeps the tokens in a
//! [`Session`](smart_core::Session), and reads through a [`FhirClient`](smart_core::FhirClient). In a web app the
//! two halves run in two requests, with the `PendingAuthorization` kept in the member's server-side session.
//!
//! ```no_run
//! use std::sync::Arc;
//! use patient_access::fhir::money::ClaimsTable;
//! use patient_access::smart::fhir::{EobQuery, FhirClient};
//! use patient_access::smart::{MemoryTokenStore, SecretString, SmartClient};
//! # async fn app(secret: String, callback_url: String) -> Result<(), Box<dyn std::error::Error>> {
//!
//! let client = SmartClient::builder(Arc::new(patient_access::payers::aetna::sandbox()))
//!     .client_id("my-app").client_secret(SecretString::from(secret))
//!     .redirect_uri("https://my-app.example/callback")?.build()?;
//! let request = client.authorize_url().await?; // send the member's browser to request.url
//! # let _ = &request.url;
//! let tokens = client.exchange_code(&request.pending, &callback_url).await?; // at /callback?code=..&state=..
//! let session = client.session(Arc::new(MemoryTokenStore::new()), "member-42"); // your database in production
//! session.save_new(tokens).await?;
//! let fhir = FhirClient::builder(client.adapter().clone()).token_source(Arc::new(session)).build()?;
//! let claims = fhir.explanation_of_benefits(EobQuery::new()).collect_all().await?; // every page
//! for row in ClaimsTable::from_eobs(&claims.matches).rows {
//!     println!("{:?} {} {:?} owes {:?}", row.service_date, row.claim_type, row.provider, row.member_owes);
//! }
//! # Ok(()) }
//! ```
//!
//! # Choosing the payer
//!
//! Each payer this SDK knows has a module in [`payers`] with one adapter per deployment (`aetna::sandbox()`,
//! `cigna::production()`, ...), and [`payers::by_id`] finds one from a setting (`"humana-sandbox"`);
//! [`payers::directory`] lists them all for a picker. Any other standards-following server works with
//! [`Standard::new(fhir_base)`](smart_core::Standard::new), and a payer with quirks of its own takes a small
//! `impl PayerAdapter` in your crate: see [`payer_quirks`]'s "Adding a payer" and `examples/custom_payer.rs`.
//!
//! # Keeping the member connected
//!
//! A [`Session`](smart_core::Session) refreshes the access token before it expires (one refresh for any number
//! of concurrent requests) and saves the new tokens before using them, in a
//! [`TokenStore`](smart_core::TokenStore) whose saves are compare-and-swap and which leases the right to
//! refresh, so that two workers sharing the store (Sessions, requests, processes) send a rotating refresh token
//! once. [`MemoryTokenStore`](smart_core::MemoryTokenStore) is for tests and one-off
//! scripts; for production, features `store-sqlite`, `store-postgres` and `store-encrypted` add SQLite and
//! PostgreSQL stores and a wrapper that seals tokens at rest (see [`smart_core::store`]);
//! `examples/connect/token_file.rs` keeps them in a file.
//! [`Session::needs_reauthorization`](smart_core::Session::needs_reauthorization) tells when the member must sign
//! in again (consent ended, no refresh token).
//!
//! # When a payer misbehaves
//!
//! Every failure is one [`smart::Error`](smart_core::Error), classified by stage. [`Error::hint`](smart_core::Error::hint)
//! says what to do where a fix is known, including the payer's own explanation when its adapter recognises the
//! failure (UnitedHealthcare's "Member eligibility failed" means a commercial plan, not a bug). An HTML login
//! page or an XML gateway fault where JSON was expected becomes
//! [`UnexpectedResponse`](smart_core::Error::UnexpectedResponse) with the status and a short, secret-free excerpt.
//! FHIR decode errors name the JSON path (`entry[3].resource.item[0].adjudication`).
//!
//! # Security model
//!
//! - **Where tokens go.** The access token is sent only in the `Authorization` header of requests to the
//!   adapter's FHIR base origin (plus origins the adapter explicitly trusts, and the userinfo endpoint for payers
//!   whose adapter reads the member's id there); a `next` link to any other origin is refused before anything is
//!   sent. The client secret, codes, PKCE verifiers and refresh tokens go only to the discovered token and
//!   revocation endpoints, whose redirects are never followed.
//! - **Transport.** HTTPS everywhere except loopback addresses, for the FHIR base, every discovered endpoint and the
//!   redirect URI. Response bodies are read with a size cap; requests have timeouts.
//! - **The protocol.** PKCE S256 on every authorization; a 256-bit `state` compared in constant time; `iss` on the
//!   callback checked against discovery.
//! - **What is redacted.** Secrets are [`secrecy`](smart_core::SecretString) types: no `Debug` or `Display`
//!   output, error message or log line of this SDK contains a client secret, token, code, state or verifier.
//!   Logged URLs have no query string; headers and bodies are never logged; no error keeps the body of a token
//!   response; excerpts of unexpected bodies have secret-looking values removed.
//! - **What you must protect.** [`TokenSet`](smart_core::TokenSet) and
//!   [`PendingAuthorization`](smart_core::PendingAuthorization) serialize their secrets in clear, for your
//!   token store and session: store them where you would store a password (encrypted at rest, never in a URL, a
//!   page or a log). `smart_core::store::encrypted::EncryptedStore` (feature `store-encrypted`) seals them
//!   before any store sees them. `examples/connect` keeps them in a file with mode 0600, sealed when given a key.
//! - **Not checked.** Claims in id tokens and JWT access tokens are read without verifying signatures, only to
//!   find the member's patient id in a token that just came from the payer over TLS; nothing else trusts them.
//!
//! # Examples
//!
//! | Command | What it shows |
//! |---|---|
//! | `cargo run --example quickstart` | The whole flow against a simulated Aetna: authorize URL, headless login, callback, tokens, Patient, Coverage, a claims table with exact totals. No credentials, no network. |
//! | `cargo run --example connect -- --payer aetna-sandbox` | A real payer from the command line: browser login, loopback callback, tokens in a 0600 file (a second run refreshes instead of asking again), every resource exported as NDJSON. `--fhir-base URL` for any SMART server; `--help`. |
//! | `cargo run --example custom_payer` | A payer the SDK does not know, added in a few lines of `impl PayerAdapter`, and the quirk it fixes. |
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use fhir_c4bb as fhir;
pub use payer_quirks as payers;
pub use smart_core as smart;

pub use fhir_c4bb;
pub use payer_quirks;
pub use smart_core;

// Every Rust block in README.md compiles as a doctest, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
