//! The FHIR fetch layer: a member's Patient, Coverage and claims history (ExplanationOfBenefit), typed by
//! `fhir-c4bb`, for one member from a CLI or for thousands from a backend.
//!
//! - [`FhirClient`] reads and searches for one member; [`FhirPool`] shares one payer connection (HTTP client
//!   and concurrency cap) between many members ([`FhirPool::for_member`]).
//! - Searches are [`SearchStream`]s of [`SearchItem`]s: matches, `_include`d resources, and the
//!   `OperationOutcome` warnings a payer puts inside a Bundle. A stream asks for the next page as soon as the
//!   current page's `next` link has arrived, and holds at most two pages ([`FhirPoolBuilder::read_ahead`]);
//!   `next` links are followed verbatim, only to the FHIR origin (or an origin the adapter trusts), and a
//!   paging loop or a runaway search ends the stream with [`Error::PagingLoop`] or
//!   [`Error::PageLimit`](crate::Error::PageLimit).
//! - Every request retries 429/503 (honouring `Retry-After` and `X-RateLimit-Reset`, bounded), 5xx and
//!   dropped connections with jittered backoff, within [`RatePolicy`](crate::RatePolicy) limits; refreshes the
//!   token once on 401; caps the body size; and logs a `tracing` span without tokens or query values.
//!
//! [`Error::PagingLoop`]: crate::Error::PagingLoop
//!
//! ```no_run
//! # async fn run(adapter: std::sync::Arc<dyn smart_core::PayerAdapter>,
//! #              session: std::sync::Arc<dyn smart_core::TokenSource>) -> smart_core::Result<()> {
//! use futures::TryStreamExt;
//! use smart_core::fhir::{EobQuery, FhirClient, SearchItem};
//!
//! let client = FhirClient::builder(adapter).token_source(session).build()?;
//! let mut claims = client.explanation_of_benefits(EobQuery::new().count(50));
//! while let Some(item) = claims.try_next().await? {
//!     if let SearchItem::Match(eob) = item {
//!         println!("{:?}", eob.id);
//!     }
//! }
//! # Ok(()) }
//! ```

mod client;
mod link_scan;
mod model;
mod paging;
mod pool;
mod retry;
mod search;
mod transport;

pub use client::FhirClient;
pub use model::{FhirResource, Included, Outcome};
pub use paging::SearchStream;
pub use pool::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_PAGES, DEFAULT_REQUEST_TIMEOUT,
    FhirClientBuilder, FhirPool, FhirPoolBuilder,
};
pub use search::{
    EobQuery, EobScope, SearchItem, SearchParams, SearchResults, is_resource_type_name,
    patient_search_parameter,
};
