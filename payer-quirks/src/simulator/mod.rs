//! Loopback simulators of each payer (feature `simulator`): real HTTP servers on 127.0.0.1 that behave like the
//! payer, quirks included, and serve one synthetic member built from the C4BB example resources.
//!
//! Each payer module has a `simulator::start(SimOptions)`; the shared engine here does what every payer does
//! (OAuth authorize/login/consent pages, codes with PKCE S256 verification, the token endpoint with client
//! authentication, refresh with rotation or none, revocation, SMART discovery, FHIR read and search with `_count`
//! paging and `next` links, request counters), and each payer's module switches its differences on.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use payer_quirks::simulator::SimOptions;
//! let sim = payer_quirks::aetna::simulator::start(SimOptions::default()).await?;
//! let adapter = sim.adapter();            // Aetna's quirks, pointed at 127.0.0.1
//! println!("{} serves {} EOBs", sim.base_url(), sim.member().eob_count());
//! // ... build a SmartClient with `adapter`, `sim.client_id()`, `sim.client_secret()`, `sim.redirect_uri()`;
//! // let callback = sim.login(&authorization_request.url).await?;  // headless member login
//! # Ok(()) }
//! ```
//!
//! The simulator stops when the [`Simulator`] is dropped.

mod browser;
pub(crate) mod config;
mod data;
mod engine;
mod fhir;
mod fixtures;
mod oauth;
mod raw_front;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use smart_core::PayerAdapter;
use url::Url;

pub use browser::Browser;

use crate::environment::Environment;
use crate::profile::PayerProfile;
use config::{RefreshRule, SimConfig};
use engine::{Engine, lock};

/// Burst limit for a simulator's FHIR API (Aetna answers 429 "Assembly Rate Limit exceeded" past it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed per window.
    pub burst: u32,
    /// The sliding window.
    pub window: Duration,
}

/// How a simulator behaves: the environment it imitates and the knobs where payers vary.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimOptions {
    /// Sandbox (default) or production (Aetna production adds its CDN's malformed header).
    pub environment: Environment,
    /// Issue refresh tokens: `None` keeps the payer's default; Aetna's reports differ, so both modes exist.
    pub refresh_tokens: Option<bool>,
    /// Access-token lifetime (default one hour).
    pub access_token_ttl: Duration,
    /// Search page size when the request has no `_count` (default: the payer's).
    pub page_size: Option<u32>,
    /// Answer 429 past this burst (off by default).
    pub rate_limit: Option<RateLimit>,
    /// The app has an active product subscription (Aetna's login page shows `null` without).
    pub subscribed: bool,
    /// The registered client id.
    pub client_id: String,
    /// The registered client secret (a test value).
    pub client_secret: String,
    /// The registered redirect URI.
    pub redirect_uri: Url,
    /// How long the token endpoint takes to answer (default: no delay). A slow token endpoint widens the window
    /// in which two clients refreshing at once would both send one refresh token.
    pub token_latency: Duration,
    /// Serve the member's five prior authorizations: `None` keeps the payer's default (every payer under
    /// CMS-0057-F does; CMS Blue Button, Medicare fee-for-service, does not).
    pub prior_authorizations: Option<bool>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            environment: Environment::Sandbox,
            refresh_tokens: None,
            access_token_ttl: Duration::from_secs(3600),
            page_size: None,
            rate_limit: None,
            subscribed: true,
            client_id: "sim-client".to_owned(),
            client_secret: "sim-secret p@ss+w/rd=".to_owned(),
            redirect_uri: default_redirect_uri(),
            token_latency: Duration::ZERO,
            prior_authorizations: None,
        }
    }
}

fn default_redirect_uri() -> Url {
    crate::environment::known_url("http://127.0.0.1:3000/callback")
}

impl SimOptions {
    /// Imitate `environment`.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// Imitate production.
    pub fn production(self) -> Self {
        self.environment(Environment::Production)
    }

    /// Issue refresh tokens, or not.
    pub fn refresh_tokens(mut self, issue: bool) -> Self {
        self.refresh_tokens = Some(issue);
        self
    }

    /// Access-token lifetime.
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// Serves the member's prior authorizations or not, whatever the payer's default (e.g. to try a generic
    /// client on Blue Button's standards-following server with prior authorizations in the history).
    pub fn prior_authorizations(mut self, serve: bool) -> Self {
        self.prior_authorizations = Some(serve);
        self
    }

    /// Default search page size.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Answer 429 past `burst` FHIR requests per `window`.
    pub fn rate_limit(mut self, burst: u32, window: Duration) -> Self {
        self.rate_limit = Some(RateLimit { burst, window });
        self
    }

    /// The token endpoint answers after `latency`.
    pub fn token_latency(mut self, latency: Duration) -> Self {
        self.token_latency = latency;
        self
    }

    /// The app has no active product subscription.
    pub fn unsubscribed(mut self) -> Self {
        self.subscribed = false;
        self
    }

    /// The registered client.
    pub fn client(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: Url,
    ) -> Self {
        self.client_id = client_id.into();
        self.client_secret = client_secret.into();
        self.redirect_uri = redirect_uri;
        self
    }
}

/// The simulated member.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member {
    /// Login name on the simulator's login page.
    pub username: String,
    /// Password.
    pub password: String,
    /// FHIR Patient id.
    pub patient_id: String,
    /// Ids of the Coverage resources served.
    pub coverage_ids: Vec<String>,
    /// Ids of the ExplanationOfBenefit resources served, in page order: claims and prior authorizations.
    pub eob_ids: Vec<String>,
    /// Ids of the prior authorizations among them (EOBs with `use = preauthorization`), in page order; empty
    /// for a payer outside CMS-0057-F (CMS Blue Button, Medicare fee-for-service).
    pub prior_auth_ids: Vec<String>,
    /// EOBs per page when the request names no `_count`.
    pub page_size: u32,
    /// The member's US Core clinical records, by resource type (ids in page order): only the types the payer's
    /// module lists; empty for a claims-only payer.
    pub clinical: std::collections::BTreeMap<String, Vec<String>>,
}

impl Member {
    /// How many EOBs the simulator serves.
    pub fn eob_count(&self) -> usize {
        self.eob_ids.len()
    }

    /// How many of them are claims (not prior authorizations).
    pub fn claim_count(&self) -> usize {
        self.eob_ids.len() - self.prior_auth_ids.len()
    }

    /// How many prior authorizations the simulator serves.
    pub fn prior_auth_count(&self) -> usize {
        self.prior_auth_ids.len()
    }

    /// How many Coverages the simulator serves.
    pub fn coverage_count(&self) -> usize {
        self.coverage_ids.len()
    }

    /// How many EOB pages a search with `page_size` (or the default) takes.
    pub fn eob_pages(&self, page_size: Option<u32>) -> usize {
        let n = page_size.unwrap_or(self.page_size).max(1) as usize;
        self.eob_ids.len().div_ceil(n)
    }
}

/// Request counts so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// `/authorize` requests.
    pub authorize: u64,
    /// Login page loads.
    pub login_pages: u64,
    /// Successful logins.
    pub logins: u64,
    /// Authorization codes issued.
    pub codes_issued: u64,
    /// Successful code exchanges.
    pub token_code_exchanges: u64,
    /// Successful refreshes.
    pub token_refreshes: u64,
    /// Token/revocation requests refused.
    pub token_rejections: u64,
    /// Revocation requests.
    pub revocations: u64,
    /// FHIR requests (excluding `metadata`).
    pub fhir_requests: u64,
    /// FHIR requests answered 429.
    pub rate_limited: u64,
    /// FHIR/userinfo requests answered 401.
    pub unauthorized: u64,
    /// Discovery documents served (`smart-configuration`, `openid-configuration`, `metadata`).
    pub discovery: u64,
    /// FHIR requests per resource type (`ExplanationOfBenefit`, `Patient/$everything`, ...).
    pub per_resource: BTreeMap<String, u64>,
}

/// One request the simulator received, without secrets (only the `Authorization` scheme is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// `Basic`, `Bearer`, ... or `None`.
    pub authorization_scheme: Option<String>,
    /// The `Accept` header.
    pub accept: Option<String>,
    /// The status answered.
    pub status: u16,
}

/// Why a simulator or its browser failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listener could not be bound.
    #[error("could not start the simulator: {0}")]
    Start(#[from] std::io::Error),
    /// The embedded example data could not be read.
    #[error("simulator data: {0}")]
    Data(String),
    /// A page rendered blank (Aetna's login without `skin=skin13`).
    #[error("the page at {url} rendered blank")]
    BlankPage {
        /// Path of the page.
        url: String,
    },
    /// A page that is neither a form nor a redirect: an error page, or Aetna's `null`.
    #[error("unexpected page at {url}: HTTP {status}: {excerpt}")]
    UnexpectedPage {
        /// Path of the page.
        url: String,
        /// HTTP status.
        status: u16,
        /// Text of the page, shortened.
        excerpt: String,
    },
    /// The HTTP request failed (connection, or a response the client could not parse).
    #[error("request to {url} failed: {source}")]
    Http {
        /// Path requested.
        url: String,
        /// The client error.
        #[source]
        source: reqwest::Error,
    },
    /// The login did not reach the app's callback.
    #[error("the login did not reach the app's callback within {0} steps")]
    TooManySteps(usize),
}

impl SimError {
    pub(crate) fn http(url: &str, source: reqwest::Error) -> Self {
        SimError::Http {
            url: url.to_owned(),
            source,
        }
    }

    /// The page text of an [`UnexpectedPage`](SimError::UnexpectedPage), for `PayerAdapter::explain_response`.
    pub fn page_excerpt(&self) -> Option<(u16, &str)> {
        match self {
            SimError::UnexpectedPage {
                status, excerpt, ..
            } => Some((*status, excerpt)),
            _ => None,
        }
    }
}

/// A running payer simulator. Stops when dropped.
#[derive(Debug)]
pub struct Simulator {
    engine: Arc<Engine>,
    member: Member,
    task: tokio::task::JoinHandle<()>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        match self.shutdown.take() {
            // Graceful: stop accepting and close idle keep-alive connections too (aborting the accept loop
            // alone would leave them open).
            Some(tx) => {
                let _ = tx.send(());
            }
            None => self.task.abort(),
        }
    }
}

/// Starts a simulator: binds 127.0.0.1:0, lets `configure` build the payer's config on that origin, serves it.
pub(crate) async fn start(
    opts: SimOptions,
    configure: impl FnOnce(&Url, &SimOptions) -> SimConfig,
) -> Result<Simulator, SimError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let origin = Url::parse(&format!("http://127.0.0.1:{port}"))
        .map_err(|e| SimError::Data(format!("origin: {e}")))?;
    let cfg = configure(&origin, &opts);
    let data = data::build(
        &cfg.patient_id,
        opts.prior_authorizations
            .unwrap_or(cfg.prior_authorizations),
    )?
    .with_clinical(&cfg.resources)?;
    let refresh = match (opts.refresh_tokens, cfg.refresh) {
        // A payer whose "no refresh" means "refresh refused" (CMS one-time apps) keeps its rule.
        (Some(false), RefreshRule::Forbidden) => RefreshRule::Forbidden,
        (Some(false), _) => RefreshRule::None,
        (Some(true), RefreshRule::None) => RefreshRule::Rotate,
        (_, rule) => rule,
    };
    let member = Member {
        username: cfg.username.clone(),
        password: cfg.password.clone(),
        patient_id: cfg.patient_id.clone(),
        coverage_ids: ids(&data.coverages),
        eob_ids: ids(&data.eobs),
        prior_auth_ids: ids(&data
            .eobs
            .iter()
            .filter(|e| e["use"] == "preauthorization")
            .cloned()
            .collect::<Vec<_>>()),
        page_size: opts.page_size.unwrap_or(cfg.default_count),
        clinical: {
            let mut by_type: std::collections::BTreeMap<String, Vec<String>> =
                std::collections::BTreeMap::new();
            for r in &data.clinical {
                by_type
                    .entry(r["resourceType"].as_str().unwrap_or_default().to_owned())
                    .or_default()
                    .push(r["id"].as_str().unwrap_or_default().to_owned());
            }
            by_type
        },
    };
    let engine = Arc::new(Engine {
        cfg,
        opts,
        origin,
        data,
        day: std::sync::atomic::AtomicU32::new(0),
        refresh,
        state: Mutex::default(),
        counters: engine::Counters::default(),
        per_resource: Mutex::default(),
        log: Mutex::default(),
        rate: Mutex::default(),
    });
    let router = axum::Router::new()
        .fallback(engine::dispatch)
        .with_state(engine.clone());
    let (task, shutdown) = if engine.cfg.bad_header_paths.is_empty() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::warn!(error = %e, "simulator stopped");
            }
        });
        (task, Some(tx))
    } else {
        // One request per connection there, so stopping the accept loop stops everything.
        let task = tokio::spawn(raw_front::serve(listener, router, engine.clone()));
        (task, None)
    };
    Ok(Simulator {
        engine,
        member,
        task,
        shutdown,
    })
}

fn ids(resources: &[serde_json::Value]) -> Vec<String> {
    resources
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect()
}

impl Simulator {
    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> &Url {
        &self.engine.origin
    }

    /// The simulated FHIR base (the payer's path on 127.0.0.1).
    pub fn fhir_base(&self) -> &Url {
        &self.engine.cfg.adapter.fhir_base
    }

    /// The payer's adapter, pointed at this simulator, every quirk as for the real payer.
    pub fn adapter(&self) -> Arc<dyn PayerAdapter> {
        Arc::new(self.engine.cfg.adapter.clone())
    }

    /// The same adapter as data, to switch one quirk off in a test.
    pub fn profile(&self) -> PayerProfile {
        self.engine.cfg.adapter.clone()
    }

    /// The simulated member.
    pub fn member(&self) -> &Member {
        &self.member
    }

    /// The registered client id.
    pub fn client_id(&self) -> &str {
        &self.engine.opts.client_id
    }

    /// The registered client secret.
    pub fn client_secret(&self) -> SecretString {
        SecretString::from(self.engine.opts.client_secret.clone())
    }

    /// The registered redirect URI.
    pub fn redirect_uri(&self) -> &Url {
        &self.engine.opts.redirect_uri
    }

    /// The options it runs with.
    pub fn options(&self) -> &SimOptions {
        &self.engine.opts
    }

    /// True when this simulator issues refresh tokens.
    pub fn issues_refresh_tokens(&self) -> bool {
        self.engine.refresh_offered()
    }

    /// Request counts so far.
    pub fn counts(&self) -> Counts {
        self.engine.counts()
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.engine.log).clone()
    }

    /// A scripted member's browser for this simulator (the member's credentials, approves consent, keeps
    /// cookies, tolerant header parsing like a real browser).
    pub fn browser(&self) -> Browser {
        Browser {
            origin: self.engine.origin.clone(),
            username: self.member.username.clone(),
            password: self.member.password.clone(),
            approve: true,
            cookies: true,
            lenient_headers: true,
        }
    }

    /// Logs the member in through `authorize_url` with [`browser`](Self::browser) and returns the callback URL
    /// the payer redirects to.
    pub async fn login(&self, authorize_url: &Url) -> Result<Url, SimError> {
        self.browser().login(authorize_url).await
    }

    /// Moves the member on by one day, as a payer's records move between two syncs: from day 1 the pended
    /// prior authorization `prior-auth-5` is served approved (X12 306 `A1`), with a later `meta.lastUpdated`
    /// (so a `_lastUpdated=gt…` sync picks it up). Returns the new day.
    pub fn advance_day(&self) -> u32 {
        self.engine
            .day
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1
    }

    /// The member's day (0 at start; see [`advance_day`](Self::advance_day)).
    pub fn day(&self) -> u32 {
        self.engine.day.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Expires every access token issued so far (for tests of refresh on expiry).
    pub fn expire_access_tokens(&self) {
        self.engine.expire_access_tokens();
    }
}
