//! One "payer connection": the HTTP client, the per-payer concurrency cap and the fetch settings, shared by
//! every member synced through it, and the builder for it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use tokio::sync::Semaphore;

use super::client::FhirClient;
use super::transport::Transport;
use crate::adapter::{PayerAdapter, RatePolicy};
use crate::error::{Error, Result};
use crate::token_source::TokenSource;
use crate::url_policy::require_secure;

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default timeout of one attempt, from sending to the last byte of the body.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on one response body (decompressed): 32 MiB, far above a page of 50 large claims.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Default cap on the pages of one search: 10,000 pages is 500,000 claims at 50 per page.
pub const DEFAULT_MAX_PAGES: usize = 10_000;

/// A connection to one payer's FHIR server, shared by every member synced through it.
///
/// It holds the HTTP client (one connection pool) and a semaphore of
/// [`RatePolicy::max_concurrency`] permits: each request holds one while it is in flight (not while it waits
/// to retry), so the payer never sees more than that many requests at once from this process, however many
/// members are being synced. Cloning is cheap (an `Arc`).
///
/// ```no_run
/// # async fn run(adapter: std::sync::Arc<dyn smart_core::PayerAdapter>,
/// #              members: Vec<std::sync::Arc<dyn smart_core::TokenSource>>) -> smart_core::Result<()> {
/// use futures::TryStreamExt;
/// use smart_core::fhir::{EobQuery, FhirPool};
///
/// let pool = FhirPool::builder(adapter).max_concurrency(32).build()?;
/// let syncs = members.into_iter().map(|tokens| {
///     let client = pool.for_member(tokens);
///     async move {
///         let eobs: Vec<_> = client
///             .explanation_of_benefits(EobQuery::new())
///             .matches()
///             .try_collect()
///             .await?;
///         Ok::<_, smart_core::Error>(eobs.len())
///     }
/// });
/// let counts = futures::future::try_join_all(syncs).await?;
/// # let _ = counts; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FhirPool {
    pub(crate) transport: Arc<Transport>,
}

impl FhirPool {
    /// Starts building a pool for `adapter`'s FHIR server.
    pub fn builder(adapter: Arc<dyn PayerAdapter>) -> FhirPoolBuilder {
        FhirPoolBuilder::new(adapter)
    }

    /// A client for one member, sharing this pool's connections and concurrency cap.
    pub fn for_member(&self, tokens: Arc<dyn TokenSource>) -> FhirClient {
        FhirClient::from_parts(self.transport.clone(), tokens)
    }

    /// The adapter this pool talks to.
    pub fn adapter(&self) -> &Arc<dyn PayerAdapter> {
        &self.transport.adapter
    }

    /// Requests in flight right now through this pool (for metrics).
    pub fn in_flight(&self) -> usize {
        self.transport
            .policy
            .max_concurrency
            .max(1)
            .saturating_sub(self.transport.permits.available_permits())
    }
}

/// Builds a [`FhirPool`]: one payer connection for many members.
///
/// Every setting has a default: the adapter's [`RatePolicy`], [`DEFAULT_CONNECT_TIMEOUT`],
/// [`DEFAULT_REQUEST_TIMEOUT`], [`DEFAULT_MAX_BODY_BYTES`], [`DEFAULT_MAX_PAGES`], and an HTTP client built for
/// the adapter (gzip, no redirects, lenient header parsing when the adapter asks for it).
/// [`FhirClientBuilder`] has the same settings, for one member.
///
/// ```no_run
/// # fn run(adapter: std::sync::Arc<dyn smart_core::PayerAdapter>) -> smart_core::Result<()> {
/// use std::time::Duration;
/// use smart_core::fhir::FhirPool;
///
/// let pool = FhirPool::builder(adapter)
///     .max_concurrency(16)
///     .request_timeout(Duration::from_secs(30))
///     .build()?;
/// # let _ = pool; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct FhirPoolBuilder {
    adapter: Arc<dyn PayerAdapter>,
    http: Option<reqwest::Client>,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_body_bytes: usize,
    max_pages: usize,
    read_ahead: bool,
    policy: RatePolicy,
}

impl FhirPoolBuilder {
    pub(crate) fn new(adapter: Arc<dyn PayerAdapter>) -> Self {
        let policy = adapter.rate_policy();
        Self {
            adapter,
            http: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_pages: DEFAULT_MAX_PAGES,
            read_ahead: true,
            policy,
        }
    }

    /// Uses this HTTP client instead of building one. The connect timeout and the adapter's lenient-header
    /// setting are then the client's business; the request timeout is still applied to every request.
    /// A client that follows redirects gets its redirected answers refused.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Timeout for establishing a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Timeout of one attempt, from sending to the last byte of the body (default 60 s). Retries and their
    /// waits are bounded separately by [`RatePolicy::request_budget`].
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The largest response body accepted, after decompression (default 32 MiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The most pages one search may follow before ending with [`Error::PageLimit`] (default 10,000).
    pub fn max_pages(mut self, limit: usize) -> Self {
        self.max_pages = limit;
        self
    }

    /// Requests the next page of a search as soon as the current page's `next` link has arrived (default on).
    ///
    /// On, the link is read from the page's bytes as they arrive: servers that write a Bundle's `link` before
    /// its `entry` (its element order, as most do) have the next page requested before the rest of this one
    /// has even arrived, and its round-trip overlaps the transfer, decoding and draining of the current one.
    /// A sync then costs about one payer round-trip per page. A stream holds at most the page being drained
    /// and the next one, and may make one request the consumer never uses if it stops early (it is cancelled
    /// when the stream is dropped).
    ///
    /// Off, a search holds one page and asks for the next only once every item of the current one has been
    /// taken: a round-trip plus a decode per page, and never a request the consumer did not reach.
    pub fn read_ahead(mut self, on: bool) -> Self {
        self.read_ahead = on;
        self
    }

    /// Replaces the adapter's retry, backoff and concurrency policy.
    pub fn rate_policy(mut self, policy: RatePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Overrides just the concurrency cap of the policy.
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.policy.max_concurrency = n;
        self
    }

    /// The pool. Fails on an insecure FHIR base, a zero concurrency cap or page limit, an invalid `Accept`
    /// header from the adapter, or when the HTTP client cannot be built.
    pub fn build(self) -> Result<FhirPool> {
        let base = self.adapter.fhir_base().clone();
        require_secure(&base)?;
        if base.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "the FHIR base {base} cannot be a base URL"
            )));
        }
        if self.policy.max_concurrency == 0 {
            return Err(Error::Config(
                "RatePolicy::max_concurrency must be at least 1".into(),
            ));
        }
        if self.max_pages == 0 {
            return Err(Error::Config("max_pages must be at least 1".into()));
        }
        let accept = HeaderValue::from_str(self.adapter.fhir_accept()).map_err(|_| {
            Error::Config(format!(
                "the adapter's FHIR Accept header {:?} is not a valid header value",
                self.adapter.fhir_accept()
            ))
        })?;
        let http = match self.http {
            Some(c) => c,
            None => build_http_client(self.adapter.as_ref(), self.connect_timeout)?,
        };
        let mut origins = vec![base.origin()];
        origins.extend(self.adapter.trusted_origins());
        Ok(FhirPool {
            transport: Arc::new(Transport {
                permits: Semaphore::new(self.policy.max_concurrency),
                adapter: self.adapter,
                http,
                base,
                origins,
                accept,
                policy: self.policy,
                request_timeout: self.request_timeout,
                max_body_bytes: self.max_body_bytes,
                max_pages: self.max_pages,
                read_ahead: self.read_ahead,
            }),
        })
    }
}

/// Builds a [`FhirClient`] for one member: a [`token_source`](Self::token_source) plus the settings of
/// [`FhirPoolBuilder`] (the client gets a pool of its own; share a [`FhirPool`] to sync many members under one
/// concurrency cap).
///
/// ```no_run
/// # fn run(adapter: std::sync::Arc<dyn smart_core::PayerAdapter>,
/// #        session: smart_core::Session) -> smart_core::Result<()> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use smart_core::fhir::FhirClient;
///
/// let client = FhirClient::builder(adapter)
///     .token_source(Arc::new(session))
///     .request_timeout(Duration::from_secs(30))
///     .max_pages(500)
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct FhirClientBuilder {
    pool: FhirPoolBuilder,
    tokens: Option<Arc<dyn TokenSource>>,
}

macro_rules! forward {
    ($($name:ident($arg:ident: $ty:ty)),* $(,)?) => {$(
        #[doc = concat!("See [`FhirPoolBuilder::", stringify!($name), "`].")]
        pub fn $name(mut self, $arg: $ty) -> Self {
            self.pool = self.pool.$name($arg);
            self
        }
    )*};
}

impl FhirClientBuilder {
    pub(crate) fn new(adapter: Arc<dyn PayerAdapter>) -> Self {
        Self {
            pool: FhirPoolBuilder::new(adapter),
            tokens: None,
        }
    }

    /// Where the member's access tokens come from: a [`Session`](crate::Session) (refreshing, stored), or
    /// [`StaticTokens`](crate::StaticTokens). Required.
    pub fn token_source(mut self, tokens: Arc<dyn TokenSource>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    forward!(
        http_client(client: reqwest::Client),
        connect_timeout(timeout: Duration),
        request_timeout(timeout: Duration),
        max_body_bytes(limit: usize),
        max_pages(limit: usize),
        read_ahead(on: bool),
        rate_policy(policy: RatePolicy),
        max_concurrency(n: usize),
    );

    /// The client. Fails without a [`token_source`](Self::token_source), and where
    /// [`FhirPoolBuilder::build`] fails.
    pub fn build(self) -> Result<FhirClient> {
        let tokens = self.tokens.ok_or_else(|| {
            Error::Config(
                "a FhirClient needs a token source (FhirClientBuilder::token_source)".into(),
            )
        })?;
        Ok(self.pool.build()?.for_member(tokens))
    }
}

/// The SDK's HTTP client for FHIR reads: gzip on, redirects off (a redirect would carry the bearer token
/// somewhere the origin check never saw), and, for payers whose CDN sends malformed header lines (Aetna
/// production: a header name with a space, which hyper rejects as a parse error), invalid header lines skipped
/// on HTTP/1.1 only.
fn build_http_client(
    adapter: &dyn PayerAdapter,
    connect_timeout: Duration,
) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .gzip(true)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .user_agent(concat!("patient-access/", env!("CARGO_PKG_VERSION")));
    if adapter.lenient_response_headers() {
        builder = builder
            .http1_only()
            .http1_ignore_invalid_headers_in_responses(true);
    }
    builder
        .build()
        .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))
}
