//! SMART App Launch for payer Patient Access APIs.
//!
//! A US health insurer's Patient Access API (CMS-9115-F) is a FHIR R4 server behind SMART on FHIR: the member
//! authorizes your app through a *standalone patient launch* (OAuth 2.0 authorization code + PKCE), and your app
//! then reads their data with the access token. This crate does the protocol part, with each payer's quirks
//! behind the [`PayerAdapter`] trait.
//!
//! # Contents
//!
//! 1. [The flow, end to end](#the-flow-end-to-end)
//! 2. [Reading the member's data](#reading-the-members-data)
//! 3. [Payer adapters](#payer-adapters)
//! 4. [Keeping tokens: sessions and stores](#keeping-tokens-sessions-and-stores)
//! 5. [Errors](#errors)
//! 6. [Security properties](#security-properties)
//! 7. [Logging](#logging)
//!
//! # The flow, end to end
//!
//! [`SmartClient`] holds one app's registration at one payer. [`SmartClient::authorize_url`] runs discovery
//! (cached) and returns the URL to send the member to, plus a [`PendingAuthorization`] to keep in their
//! server-side session. At the callback, [`SmartClient::exchange_code`] checks `state` (constant time), `iss` and
//! `error`, then exchanges the code for a [`TokenSet`]. A [`Session`] keeps the tokens in a [`TokenStore`] and
//! refreshes them when they expire.
//!
//! ```no_run
//! use std::sync::Arc;
//! use smart_core::{
//!     Error, ExposeSecret, MemoryTokenStore, PendingAuthorization, SecretString, SmartClient, Standard,
//! };
//!
//! # async fn web_app() -> Result<(), Box<dyn std::error::Error>> {
//! // Once, at start-up: one client per payer, shared by every request handler (it is a cheap clone).
//! let adapter = Arc::new(Standard::new("https://fhir.payer.example/r4")?);
//! let client = SmartClient::builder(adapter)
//!     .client_id("my-app")
//!     .client_secret(SecretString::from(std::env::var("PAYER_CLIENT_SECRET")?)) // omit for a public client
//!     .redirect_uri("https://app.example/callback")?
//!     .scopes(["launch/patient", "openid", "fhirUser", "offline_access", "patient/*.read"])
//!     .build()?;
//! let store = Arc::new(MemoryTokenStore::new()); // use a database-backed TokenStore in production
//!
//! // 1. "Connect my insurance": send the member's browser to the payer.
//! let request = client.authorize_url().await?;
//! let saved = serde_json::to_string(&request.pending)?; // into the member's *server-side* session
//! let redirect_to = request.url.as_str();               // answer 302 with this Location
//! # let _ = redirect_to;
//!
//! // 2. The payer redirects back to https://app.example/callback?code=...&state=...
//! let callback_url = "https://app.example/callback?code=...&state=...";
//! let pending: PendingAuthorization = serde_json::from_str(&saved)?;
//! let tokens = match client.exchange_code(&pending, callback_url).await {
//!     Ok(tokens) => tokens,
//!     Err(Error::AuthorizationDenied { .. }) => return Ok(()), // the member said no
//!     Err(e) => {
//!         eprintln!("could not connect: {e} ({})", e.hint().unwrap_or("no known fix"));
//!         return Err(e.into());
//!     }
//! };
//! println!("connected member's FHIR Patient id: {:?}", tokens.patient());
//!
//! // 3. Keep the tokens for this member, under a key of your choice.
//! let session = client.session(store.clone(), "user-42:payer");
//! session.save_new(tokens).await?;
//!
//! // 4. Any time later (a nightly sync, another worker): a valid access token, refreshed and saved if needed.
//! match session.current().await {
//!     Ok(tokens) => {
//!         let _bearer = tokens.access_token().expose_secret(); // Authorization: Bearer ...
//!     }
//!     Err(e) if e.requires_reauthorization() => { /* ask the member to connect again */ }
//!     Err(e) => return Err(e.into()),
//! }
//!
//! // 5. "Disconnect my insurance": revoke at the payer where it can, and forget the tokens.
//! let outcome = session.disconnect().await?;
//! if !outcome.revoked_at_payer {
//!     println!("tokens deleted here; the payer has no revocation endpoint");
//! }
//! # Ok(()) }
//! ```
//!
//! # Reading the member's data
//!
//! A [`FhirClient`] reads one member's data from the adapter's FHIR base, typed by `fhir-c4bb`, asking a
//! [`TokenSource`] (the member's [`Session`]) for a valid token before every request, refreshing once after a
//! 401. Searches are [`SearchStream`]s that follow every `next` link (only to the FHIR origin), one page in
//! memory at a time; the [`OperationOutcome`](fhir_c4bb::OperationOutcome)s a payer puts inside a Bundle arrive
//! as [`SearchItem::Warning`]s instead of being dropped. 429 and 503 are retried within the adapter's
//! [`RatePolicy`], honouring `Retry-After`. For many members, share one [`FhirPool`].
//!
//! Prior authorizations (CMS-0057-F, from 2027; Da Vinci PDex EOBs with `use = preauthorization`) come with the
//! EOBs unless the query is [`claims_only`](EobQuery::claims_only);
//! [`FhirClient::prior_authorizations`](fhir::FhirClient::prior_authorizations) streams them alone, asked the way
//! the adapter says the payer supports ([`PriorAuthSearch`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use futures::TryStreamExt;
//! use smart_core::fhir::{EobQuery, FhirClient, SearchItem};
//! use smart_core::{PayerAdapter, Session};
//!
//! # async fn sync(adapter: Arc<dyn PayerAdapter>, session: Session) -> smart_core::Result<()> {
//! let fhir = FhirClient::builder(adapter).token_source(Arc::new(session)).build()?;
//!
//! let patient = fhir.patient().await?; // Patient/{the id the token response named}
//! let coverage = fhir.coverage().collect_all().await?; // every page, sorted into matches and warnings
//! println!("{:?}: {} coverages", patient.display_name(), coverage.matches.len());
//!
//! // Claims updated since the last sync, streamed page by page (prior authorizations apart).
//! let mut claims = fhir.explanation_of_benefits(EobQuery::new().last_updated("ge2025-01-01").claims_only());
//! while let Some(item) = claims.try_next().await? {
//!     match item {
//!         SearchItem::Match(eob) => {
//!             let row = eob.claim_row(); // service date, type, provider, billed, plan paid, member owes
//!             println!("{:?} {} {:?}", row.service_date, row.claim_type, row.member_owes);
//!         }
//!         SearchItem::Warning(outcome) => eprintln!("the payer warns: {outcome:?}"),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Payer adapters
//!
//! [`Standard`] needs only a FHIR base URL and follows the SMART App Launch specification: discovery at
//! `{fhir_base}/.well-known/smart-configuration` (falling back to the CapabilityStatement's `oauth-uris` and to an
//! OpenID issuer's configuration, see [`discovery`]), `aud` = the FHIR base, client authentication chosen from
//! discovery and whether a secret is set, the patient id from the token response or the id token. A payer that
//! bends the standard implements [`PayerAdapter`] and overrides only what differs: endpoints
//! ([`EndpointOverrides`]), the [`AudPolicy`], extra or removed authorize parameters, [`ClientAuth`], where the
//! patient id is ([`PatientIdSource`]), hints for its error messages, and whether its authorize step must start
//! in the member's browser ([`AuthorizationRequest::server_fetchable_url`]).
//!
//! # Keeping tokens: sessions and stores
//!
//! [`TokenStore`] is an async trait with compare-and-swap saves and a refresh lease, so that two processes
//! sharing a store never both spend one rotating refresh token: a [`Session`] claims the lease before it sends
//! the refresh token, and every other `Session` waits for the saved result instead. That holds as long as the
//! store keeps the lease contract (checked by `store::conformance`, feature `test-util`), the sharers' clocks
//! agree to within seconds, and a refresh with its save ends within the lease's term (the client's timeout plus
//! five seconds). [`MemoryTokenStore`] keeps tokens in memory, and the [`store`] module shows a
//! database-backed one. A [`Session`] refreshes single-flight (many concurrent callers, one refresh request),
//! saves the new tokens *before* handing them out (a failed save is an error), and picks up tokens another
//! worker refreshed first. It implements [`TokenSource`], which the FHIR fetch layer asks for tokens.
//! [`TokenSet`] and [`PendingAuthorization`] are `Serialize`/`Deserialize` **with their secrets in clear**, for
//! exactly these two purposes: store them where you would store a password.
//!
//! # Errors
//!
//! One [`Error`] type, `#[non_exhaustive]`, classified by [`Stage`] (configuration, discovery, authorization,
//! callback, token, store, FHIR). [`Error::hint`] says what to do where a fix is known (with the payer's own
//! explanation when its adapter recognises the failure); [`Error::is_transient`] and
//! [`Error::requires_reauthorization`] drive retries and re-consent. Answers that are not what the protocol
//! expects (an HTML login page, an XML gateway fault) become [`Error::UnexpectedResponse`] with the status, the
//! content type and a short excerpt with secret-looking values removed.
//!
//! # Security properties
//!
//! - PKCE S256 on every authorization (RFC 7636); `state` carries 256 bits from a CSPRNG and is compared in
//!   constant time.
//! - Client secrets, tokens, codes and verifiers are [`secrecy`](https://docs.rs/secrecy/0.10) types; no `Debug`
//!   or `Display` output of this crate contains one, and no error keeps the body of a successful token response.
//! - HTTPS everywhere except loopback ([`url_policy`]); the token endpoint's redirects are never followed;
//!   response bodies are read with a size cap ([`SmartClientBuilder::max_body_bytes`]).
//! - Claims in id tokens and JWT access tokens are read **without checking signatures**, only to find the
//!   member's patient id in a token that just came from the payer over TLS; nothing else trusts them.
//!
//! # Logging
//!
//! Every HTTP call runs in a `tracing` span `smart_core.http` (level DEBUG) with the method, the URL without its
//! query, the stage and the status; FHIR reads also run in a span `fhir.request` (level INFO) with the path, the
//! status, the attempt and any retry wait. Headers, query values and bodies are never logged.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adapter;
mod authorize;
mod callback;
mod claims;
mod client;
pub mod discovery;
pub mod error;
pub mod fhir;
pub(crate) mod http;
mod pkce;
mod serde_util;
mod session;
pub mod store;
mod token_endpoint;
pub mod token_source;
pub mod tokens;
pub mod url_policy;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz;

pub use adapter::{
    AudPolicy, ClientAuth, CoverageSearch, EndpointOverrides, PatientIdSource, PayerAdapter,
    PriorAuthSearch, RatePolicy, Standard, TokenRequestFormat,
};
/// Re-exported so that [`TokenStore`] and [`PayerAdapter`] implementations need no extra dependency.
pub use async_trait::async_trait;
pub use authorize::{AuthorizationRequest, PendingAuthorization};
pub use client::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_REFRESH_SKEW, DEFAULT_TIMEOUT, Revocation, SmartClient,
    SmartClientBuilder,
};
pub use discovery::{DiscoverySource, SmartConfiguration};
pub use error::{BodyExcerpt, Error, OutcomeIssue, Result, Stage, TransportKind};
pub use fhir::{EobQuery, FhirClient, FhirPool, SearchItem, SearchStream};
pub use secrecy::{ExposeSecret, SecretString};
pub use session::{DisconnectOutcome, Session};
pub use store::{LeaseClaim, MemoryTokenStore, StoredTokens, TokenStore, Version};
pub use token_source::{StaticTokens, TokenSource};
pub use tokens::TokenSet;
