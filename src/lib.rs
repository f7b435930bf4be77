//! # patient-access
//!
//! Connect a Rust app to US health insurers' Patient Access APIs (CMS-9115-F): SMART on FHIR standalone patient
//! launch, then typed CARIN Blue Button (C4BB) claims and clinical data, with each payer's quirks handled.
//!
//! This crate is the one dependency an app needs; it re-exports the three crates of the workspace, with their
//! documentation inlined here:
//!
//! - [`smart`] (the `smart-core` crate): discovery, PKCE authorization, tokens, refresh, storage, the FHIR fetch
//!   layer and the [`PayerAdapter`](smart::PayerAdapter) trait.
//! - [`payers`] (the `payer-quirks` crate): the adapters for real payers, each next to the quirks it works around,
//!   and (feature `simulator`) loopback simulators of them.
//! - [`fhir`] (the `fhir-c4bb` crate): typed, lossless C4BB resources, with exact money.
//!
//! and [`Url`], the URL type adapters and simulators use, so that no second dependency is needed to name it.
//!
//! # Features
//!
//! | Feature | Default | What it turns on |
//! |---|---|---|
//! | `simulator` | off | `payers::<payer>::simulator`: a loopback HTTP server per payer, quirks included, with a scripted member's login; for tests, demos and a first program without credentials |
//!
//! Every feature of the member crates that an app needs is forwarded through this crate (TLS and store choices
//! will be added the same way as they land), so `patient-access` stays the only dependency.
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
//! cargo run --example connect -- --simulate aetna-sandbox  # login, tokens and an NDJSON export, simulated
//! cargo run --example connect -- --payer aetna-sandbox    # a real sandbox (client id and secret in env vars)
//! ```
//!
//! The README's first program is a complete one to copy: it runs against a simulator with the feature
//! `simulator`. For a real payer, its developer portal issues the client id: each payer's entry in
//! [`payers::directory`] says where it is and what registering takes ([`payers::Registration`]), with sources in
//! [`payers::sources`].
//!
//! # A member's claims in a dozen lines
//!
//! An app registered at the payer sends the member to [`authorize_url`](smart::SmartClient::authorize_url),
//! hands the callback to [`exchange_code`](smart::SmartClient::exchange_code), keeps the tokens in a
//! [`Session`](smart::Session), and reads through a [`FhirClient`](smart::FhirClient). In a web app the
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
//! [`Standard::new(fhir_base)`](smart::Standard::new), and a payer with quirks of its own takes a small
//! `impl PayerAdapter` in your crate: see [`payers`]'s "Adding a payer" and `examples/custom_payer.rs`.
//!
//! # Keeping the member connected
//!
//! A [`Session`](smart::Session) refreshes the access token before it expires (one refresh for any number
//! of concurrent requests) and saves the new tokens before using them, in a
//! [`TokenStore`](smart::TokenStore) whose saves are compare-and-swap and which leases the right to
//! refresh, so that two workers sharing the store (Sessions, requests, processes) send a rotating refresh token
//! once. [`MemoryTokenStore`](smart::MemoryTokenStore) is for tests and one-off
//! scripts; for production, features `store-sqlite`, `store-postgres` and `store-encrypted` add SQLite and
//! PostgreSQL stores and a wrapper that seals tokens at rest (see [`smart::store`]);
//! `examples/connect/token_file.rs` keeps them in a file.
//! [`Session::needs_reauthorization`](smart::Session::needs_reauthorization) tells when the member must sign
//! in again (consent ended, no refresh token).
//!
//! # When a payer misbehaves
//!
//! Every failure is one [`smart::Error`], classified by stage. [`Error::hint`](smart::Error::hint)
//! says what to do where a fix is known, including the payer's own explanation when its adapter recognises the
//! failure (UnitedHealthcare's "Member eligibility failed" means a commercial plan, not a bug). An HTML login
//! page or an XML gateway fault where JSON was expected becomes
//! [`UnexpectedResponse`](smart::Error::UnexpectedResponse) with the status and a short, secret-free excerpt.
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
//! - **What is redacted.** Secrets are [`secrecy`](smart::SecretString) types: no `Debug` or `Display`
//!   output, error message or log line of this SDK contains a client secret, token, code, state or verifier.
//!   Logged URLs have no query string; headers and bodies are never logged; no error keeps the body of a token
//!   response; excerpts of unexpected bodies have secret-looking values removed.
//! - **What you must protect.** [`TokenSet`](smart::TokenSet) and
//!   [`PendingAuthorization`](smart::PendingAuthorization) serialize their secrets in clear, for your
//!   token store and session: store them where you would store a password (encrypted at rest, never in a URL, a
//!   page or a log). `smart::store::encrypted::EncryptedStore` (feature `store-encrypted`) seals them
//!   before any store sees them. `examples/connect` keeps them in a file with mode 0600, sealed when given a key.
//! - **Id tokens are verified.** Every id token from a code exchange or refresh is checked before any of its claims
//!   is used: the signature against the issuer's JWKS (discovery's `jwks_uri`, cached, fetched again once for an
//!   unknown `kid`; RS256/384/512, PS256/384/512, ES256, ES384; never `none` or HMAC), `iss` = the discovered
//!   issuer, `aud` naming the client (and `azp` with several audiences), `exp`/`iat` within 60 s, and the `nonce`
//!   the SDK sent on the authorize request whenever `openid` is requested. A failure is
//!   [`InvalidIdToken`](smart::Error::InvalidIdToken); a payer without a `jwks_uri` is refused too unless its
//!   adapter opts out ([`IdTokenPolicy::AllowUnverifiedWithoutJwks`](smart::IdTokenPolicy)).
//!   **Not checked:** a JWT *access token*'s claims, read only as the last fallback for the patient id when
//!   neither the token response nor the id token names one; the access token is the payer's to validate.
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

// Inlined, so that the facade's own pages document every item and every link on them resolves here. (A link to
// an item of another crate renders as plain text, without a warning, when rustdoc does not know where that crate's
// pages are, as under `cargo doc --no-deps`.)
#[doc(inline)]
pub use fhir_c4bb as fhir;
#[doc(inline)]
pub use payer_quirks as payers;
#[doc(inline)]
pub use smart_core as smart;

/// The stream combinators (`try_next`, `try_collect`, ...) that read a
/// [`SearchStream`](smart::fhir::SearchStream) item by item, re-exported so that no second dependency is needed.
#[doc(no_inline)]
pub use futures::{StreamExt, TryStreamExt};
#[doc(no_inline)]
pub use url::Url;

// The crates under their own names too, for code written against them directly.
#[doc(hidden)]
pub use fhir_c4bb;
#[doc(hidden)]
pub use payer_quirks;
#[doc(hidden)]
pub use smart_core;

// Every Rust block in README.md compiles as a doctest, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
