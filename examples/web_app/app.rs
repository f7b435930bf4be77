//! The web app's server: its configuration, routes and handlers ("Connect my insurer" → the payer's login →
//! the callback → the member's claims), started with [`serve`] so that a test can run it in-process.
//!
//! | Route | What it does |
//! |---|---|
//! | `GET /` | the configured payers, each connected or not |
//! | `GET /connect/{payer}` | keeps a `PendingAuthorization` server-side for this browser, redirects to the payer |
//! | `GET /callback/{payer}` | takes the pending authorization (once), `exchange_code`, saves the tokens |
//! | `GET /claims/{payer}` | the member's EOBs as a table with totals (refreshing the token through the store) |
//! | `GET /prior-authorizations/{payer}` | the member's prior authorizations, each with a status badge |
//! | `GET /health-record/{payer}` | the member's conditions, medications, allergies, immunizations, recent labs and vitals |
//! | `POST /disconnect/{payer}` | revokes at the payer where it can, deletes the tokens |
//!
//! A browser is known by a random 256-bit cookie (`HttpOnly`, `SameSite=Lax`, `Secure` and `__Host-` on HTTPS)
//! that names a row in SQLite; nothing the app relies on is kept in the browser. SameSite alone does not stop
//! another site from making the browser send a state-changing POST (a sibling subdomain is "same site", and
//! older browsers ignore the attribute), so every POST must also come from the app's own pages: its `Origin`
//! must be the app's origin and its `Sec-Fetch-Site`, when sent, `same-origin` (see [`same_origin_post`]). Each new browser is a new app
//! user here, to keep the example self-contained: a real app takes the user id from its own sign-in, and
//! starts a new session id at that sign-in.

// `#[path]` so that the same module tree loads from `main.rs` and from a test that includes this file.
#[path = "../common/health_record.rs"]
pub mod health_record;
#[path = "store.rs"]
pub mod store;
#[path = "views.rs"]
pub mod views;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use patient_access::Url;
use patient_access::fhir::money::ClaimsTable;
use patient_access::fhir::{ExplanationOfBenefit, Organization, Practitioner};
use patient_access::smart::SecretString;
use patient_access::smart::fhir::{EobQuery, FhirClient, FhirPool};
use patient_access::smart::store::encrypted::{EncryptedStore, KeyRing};
use patient_access::smart::store::sqlite::{SqliteOptions, SqliteStore};
use patient_access::smart::{
    Error as SdkError, PayerAdapter, PendingStore, Session, SmartClient, TokenStore,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use store::{Db, DbError, WebSession};
use views::{ClaimsPage, PayerItem, Warning};

/// The name of the session cookie on plain HTTP (loopback). Distinct from any payer's: on 127.0.0.1 the browser
/// sends every port's cookies to every other port, so the app's and the simulators' cookies share one jar.
pub const SESSION_COOKIE: &str = "pa_session";

/// The name of the session cookie on HTTPS. The `__Host-` prefix makes the browser refuse it unless it is
/// `Secure`, host-only and `Path=/`, so a sibling subdomain cannot plant a session of its choosing.
pub const SECURE_SESSION_COOKIE: &str = "__Host-pa_session";

/// How long a browser session lasts.
const SESSION_MAX_AGE: Duration = store::SESSION_RETENTION;

/// A callback later than this after "Connect" is refused (payers' codes live a minute or ten).
const PENDING_MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// How long [`RunningApp::stop`] waits for open connections before cutting them.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// One payer the app offers.
#[derive(Debug, Clone)]
pub struct PayerConfig {
    /// The payer's key in URLs (`/connect/{key}`) and in token store keys.
    pub key: String,
    /// The name shown.
    pub name: String,
    /// The payer's adapter.
    pub adapter: Arc<dyn PayerAdapter>,
    /// The app's client id at this payer.
    pub client_id: String,
    /// The app's client secret at this payer (none for a public client).
    pub client_secret: Option<SecretString>,
    /// A line shown under the payer's name (the simulators' test login).
    pub login_hint: Option<String>,
}

impl PayerConfig {
    /// A payer with the adapter's display name and no secret.
    pub fn new(
        key: impl Into<String>,
        adapter: Arc<dyn PayerAdapter>,
        client_id: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            name: adapter.display_name().to_owned(),
            adapter,
            client_id: client_id.into(),
            client_secret: None,
            login_hint: None,
        }
    }

    /// The name shown (builder style).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The client secret (builder style).
    pub fn client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// The line shown under the payer's name (builder style).
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.login_hint = Some(hint.into());
        self
    }
}

/// What the app needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The SQLite file (created when missing).
    pub database: PathBuf,
    /// The URL the browser reaches the app at (redirect URIs are built on it); by default
    /// `http://{listener address}/`.
    pub public_url: Option<Url>,
    /// The payers offered, in order.
    pub payers: Vec<PayerConfig>,
    /// The "find your insurer" picker on the home page: User Access Brands merged with the payer directory
    /// ([`patient_access::payers::brands::merge_with_directory`]). An entry whose FHIR base is a configured payer's links
    /// to its Connect page.
    pub directory: Vec<patient_access::payers::brands::DirectoryEntry>,
    /// When set, every token set and pending authorization is sealed with these keys before it reaches the
    /// database (the SDK's `EncryptedStore`); otherwise they are stored in clear in an owner-only file.
    pub token_keys: Option<KeyRing>,
}

/// The redirect URI registered at a payer for the payer with key `key`: `{public_url}callback/{key}`.
pub fn callback_url(public_url: &Url, key: &str) -> Result<Url, AppError> {
    public_url
        .join(&format!("callback/{key}"))
        .map_err(|e| AppError::Config(format!("callback URL for {key}: {e}")))
}

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A setting is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The SDK refused a payer's settings.
    #[error("payer {payer}: {source}")]
    Payer {
        /// The payer's key.
        payer: String,
        /// Why (boxed: the SDK's error is large, and this one is returned by value).
        #[source]
        source: Box<SdkError>,
    },
    /// The database could not be opened.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The SDK's token store could not be opened.
    #[error("token store: {0}")]
    Store(Box<SdkError>),
    /// The listener failed.
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
}

/// The app, serving in a background task.
#[derive(Debug)]
pub struct RunningApp {
    url: Url,
    addr: SocketAddr,
    store: Arc<dyn TokenStore>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningApp {
    /// Where the browser reaches the app.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token store (to look at what is stored).
    pub fn token_store(&self) -> Arc<dyn TokenStore> {
        self.store.clone()
    }

    /// Stops accepting, lets requests in flight finish (at most a few seconds), and returns.
    pub async fn stop(self) -> std::io::Result<()> {
        let RunningApp {
            shutdown, mut task, ..
        } = self;
        let _ = shutdown.send(());
        match tokio::time::timeout(STOP_GRACE, &mut task).await {
            Ok(joined) => joined.map_err(std::io::Error::other)?,
            Err(_) => {
                task.abort();
                Ok(())
            }
        }
    }

    /// Serves until the server fails.
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// The pending-authorization key of one browser's attempt at one payer: another browser's callback finds
/// nothing under it.
fn pending_key(session: &WebSession, payer_key: &str) -> String {
    format!("{}:{payer_key}", session.id_hash)
}

/// The token store key of one member's tokens at one payer.
pub fn token_key(user_id: &str, payer_key: &str) -> String {
    format!("{user_id}:{payer_key}")
}

/// Starts the app on `listener`: opens the database, builds one SDK client and one FHIR connection pool per
/// payer, and serves in a background task.
pub async fn serve(listener: TcpListener, config: Config) -> Result<RunningApp, AppError> {
    let addr = listener.local_addr()?;
    let url = match config.public_url {
        Some(u) => u,
        None => Url::parse(&format!("http://{addr}/"))
            .map_err(|e| AppError::Config(format!("listener address {addr}: {e}")))?,
    };
    let mut payers = Vec::with_capacity(config.payers.len());
    for p in config.payers {
        if p.key.is_empty()
            || !p
                .key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(AppError::Config(format!(
                "payer key {:?}: use letters, digits, - and _",
                p.key
            )));
        }
        let sdk = |source: SdkError| AppError::Payer {
            payer: p.key.clone(),
            source: Box::new(source),
        };
        let mut builder = SmartClient::builder(p.adapter.clone())
            .client_id(p.client_id.clone())
            .redirect_uri(callback_url(&url, &p.key)?.as_str())
            .map_err(sdk)?;
        if let Some(secret) = p.client_secret.clone() {
            builder = builder.client_secret(secret);
        }
        let client = builder.build().map_err(sdk)?;
        // One pool per payer: every member's reads share its connections and its concurrency cap.
        let pool = FhirPool::builder(p.adapter.clone()).build().map_err(sdk)?;
        payers.push(Payer {
            key: p.key,
            name: p.name,
            login_hint: p.login_hint,
            client,
            pool,
        });
    }
    let db = Db::open(&config.database).await?;
    // The SDK's store, in the same file: tokens (compare-and-swap), refresh leases and pending authorizations.
    let sqlite = SqliteStore::open(&config.database, SqliteOptions::default())
        .await
        .map_err(|e| AppError::Store(Box::new(e)))?;
    let (store, pending): (Arc<dyn TokenStore>, Arc<dyn PendingStore>) = match config.token_keys {
        Some(keys) => {
            let sealed = Arc::new(EncryptedStore::new(sqlite, keys));
            (sealed.clone(), sealed)
        }
        None => {
            let plain = Arc::new(sqlite);
            (plain.clone(), plain)
        }
    };
    let state = AppState(Arc::new(Inner {
        db,
        store: store.clone(),
        pending,
        payers,
        directory: config.directory,
        secure_cookies: url.scheme() == "https",
        origin: url.origin(),
    }));
    let router = router(state);
    let (shutdown, on_shutdown) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = on_shutdown.await;
            })
            .await
    });
    tracing::info!(%url, "web app listening");
    Ok(RunningApp {
        url,
        addr,
        store,
        shutdown,
        task,
    })
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/style.css", get(style))
        .route("/connect/{payer}", get(connect))
        .route("/callback/{payer}", get(callback))
        .route("/claims/{payer}", get(claims))
        .route("/prior-authorizations/{payer}", get(prior_authorizations))
        .route("/health-record/{payer}", get(health_record))
        .route("/disconnect/{payer}", post(disconnect))
        .fallback(not_found)
        .with_state(state)
}

#[derive(Clone)]
struct AppState(Arc<Inner>);

struct Inner {
    db: Db,
    store: Arc<dyn TokenStore>,
    pending: Arc<dyn PendingStore>,
    payers: Vec<Payer>,
    directory: Vec<patient_access::payers::brands::DirectoryEntry>,
    secure_cookies: bool,
    /// The app's public origin: the only one a POST may come from.
    origin: url::Origin,
}

struct Payer {
    key: String,
    name: String,
    login_hint: Option<String>,
    client: SmartClient,
    pool: FhirPool,
}

impl AppState {
    fn payer(&self, key: &str) -> Result<&Payer, PageError> {
        self.0
            .payers
            .iter()
            .find(|p| p.key == key)
            .ok_or(PageError::NotFound)
    }

    /// The browser's session, if its cookie names one.
    async fn session(&self, headers: &HeaderMap) -> Result<Option<WebSession>, PageError> {
        match session_cookie(headers, self.cookie_name()) {
            Some(value) => Ok(self.0.db.find_session(value).await?),
            None => Ok(None),
        }
    }

    /// The browser's session, started (with the `Set-Cookie` to send) when it has none.
    async fn session_or_new(
        &self,
        headers: &HeaderMap,
    ) -> Result<(WebSession, Option<HeaderValue>), PageError> {
        if let Some(s) = self.session(headers).await? {
            return Ok((s, None));
        }
        let (cookie, session) = self.0.db.create_session().await?;
        let secure = if self.0.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        // Lax: sent on the payer's top-level redirect back to the callback, not on cross-site POSTs
        // (which is what keeps another site from disconnecting the member).
        let value = format!(
            "{}={cookie}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            self.cookie_name(),
            SESSION_MAX_AGE.as_secs()
        );
        let header = HeaderValue::from_str(&value)
            .map_err(|_| PageError::Internal("session cookie is not a valid header".into()))?;
        Ok((session, Some(header)))
    }

    fn cookie_name(&self) -> &'static str {
        if self.0.secure_cookies {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    /// The member's FHIR client at `payer`, or `None` when this browser has no session or the member must connect
    /// again (the page then offers Connect). The client's session refreshes the access token when it has expired
    /// or the payer rejects it, and saves the new tokens (compare-and-swap) before using them.
    async fn member_fhir(
        &self,
        payer: &Payer,
        headers: &HeaderMap,
    ) -> Result<Option<FhirClient>, PageError> {
        let Some(session) = self.session(headers).await? else {
            return Ok(None);
        };
        let tokens = self.token_session(payer, &session);
        if tokens
            .needs_reauthorization()
            .await
            .map_err(|e| PageError::sdk(payer, e))?
        {
            return Ok(None);
        }
        Ok(Some(payer.pool.for_member(Arc::new(tokens))))
    }

    /// The SDK session for this member's tokens at this payer.
    fn token_session(&self, payer: &Payer, session: &WebSession) -> Session {
        let store = self.0.store.clone();
        payer
            .client
            .session(store, token_key(&session.user_id, &payer.key))
    }
}

/// The value of the session cookie, if the request carries a well-formed one.
fn session_cookie<'h>(headers: &'h HeaderMap, cookie_name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie_name)
        .map(|(_, value)| value)
        // 32 random bytes in base64url: anything else is not ours, and is not worth a database lookup.
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// A page, with the headers every page gets: no caching (claims are health data), no framing, no referrer
/// (so no URL of this app reaches another site), and a CSP that allows only this app's stylesheet.
fn page(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    security_headers(h);
    response
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
}

/// 303 See Other to `location`, setting the session cookie when there is one to set.
fn redirect(location: &str, cookie: Option<HeaderValue>) -> Result<Response, PageError> {
    let location = HeaderValue::from_str(location)
        .map_err(|_| PageError::Internal("redirect target is not a valid header".into()))?;
    let mut response = StatusCode::SEE_OTHER.into_response();
    let h = response.headers_mut();
    h.insert(header::LOCATION, location);
    if let Some(c) = cookie {
        h.insert(header::SET_COOKIE, c);
    }
    security_headers(h);
    Ok(response)
}

fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
}

async fn style() -> Response {
    let mut response = views::STYLE.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    response
}

async fn not_found() -> Response {
    PageError::NotFound.into_response()
}

async fn home(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (session, cookie) = app.session_or_new(&headers).await?;
    let mut connected = Vec::with_capacity(app.0.payers.len());
    for p in &app.0.payers {
        let key = token_key(&session.user_id, &p.key);
        connected.push(app.0.store.load(&key).await?.is_some());
    }
    let items: Vec<PayerItem<'_>> = app
        .0
        .payers
        .iter()
        .zip(connected)
        .map(|(p, connected)| PayerItem {
            key: &p.key,
            name: &p.name,
            connected,
            login_hint: p.login_hint.as_deref(),
        })
        .collect();
    // The picker: filtered on the server by `?q=`, at most PICKER_LIMIT lines.
    let q: String = query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "q")
                .map(|(_, v)| v.chars().take(100).collect())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let matches = patient_access::payers::brands::search(&app.0.directory, &q);
    let total = matches.len();
    let picker: Vec<views::BrandItem<'_>> = matches
        .into_iter()
        .take(views::PICKER_LIMIT)
        .map(|e| {
            let base = patient_access::payers::brands::normalize_fhir_base(&e.fhir_base);
            views::BrandItem {
                name: &e.name,
                aliases: &e.aliases,
                adapter: e.adapter_id.as_deref(),
                connect: app
                    .0
                    .payers
                    .iter()
                    .find(|p| {
                        patient_access::payers::brands::normalize_fhir_base(
                            p.client.adapter().fhir_base(),
                        ) == base
                    })
                    .map(|p| p.key.as_str()),
            }
        })
        .collect();
    Ok(with_cookie(
        page(
            StatusCode::OK,
            views::home(
                &items,
                &views::Picker {
                    query: &q,
                    items: &picker,
                    total,
                },
            ),
        ),
        cookie,
    ))
}

async fn connect(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let payer = app.payer(&key)?;
    let (session, cookie) = app.session_or_new(&headers).await?;
    let request = payer
        .client
        .authorize_url()
        .await
        .map_err(|e| PageError::sdk(payer, e))?;
    // The member's browser opens the authorize URL; this server never fetches it. That is what every payer
    // expects, and Cigna requires it: its /authorize sets a cookie in the browser that its login page checks.
    let (url, pending) = request.into_parts();
    app.0
        .pending
        .put(
            &pending_key(&session, &payer.key),
            &pending,
            PENDING_MAX_AGE,
        )
        .await?;
    tracing::info!(payer = %payer.key, "sending the member to the payer's login");
    redirect(url.as_str(), cookie)
}

async fn callback(
    State(app): State<AppState>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let payer = app.payer(&key)?;
    let session = app.session(&headers).await?.ok_or(PageError::NoPending)?;
    // Taken, not read: a callback URL replayed (back button, a leaked link) finds nothing.
    let pending = app
        .0
        .pending
        .take(&pending_key(&session, &payer.key))
        .await?
        .ok_or(PageError::NoPending)?;
    if pending.is_older_than(PENDING_MAX_AGE) {
        return Err(PageError::NoPending);
    }
    let tokens = payer
        .client
        .exchange_code(&pending, query.as_deref().unwrap_or_default())
        .await
        .map_err(|e| PageError::sdk(payer, e))?;
    app.token_session(payer, &session)
        .save_new(tokens)
        .await
        .map_err(|e| PageError::sdk(payer, e))?;
    tracing::info!(payer = %payer.key, "member connected");
    redirect(&format!("/claims/{}", payer.key), None)
}

async fn claims(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let payer = app.payer(&key)?;
    let not_connected = |reason: Option<&str>| {
        page(
            StatusCode::OK,
            views::not_connected(&payer.key, &payer.name, reason),
        )
    };
    let Some(fhir) = app.member_fhir(payer, &headers).await? else {
        return Ok(not_connected(None));
    };
    let (patient, eobs) = tokio::join!(
        fhir.patient(),
        fhir.explanation_of_benefits(EobQuery::new().claims_only())
            .collect_all()
    );
    let (patient, eobs) = match (patient, eobs) {
        (Ok(p), Ok(e)) => (p, e),
        (Err(e), _) | (_, Err(e)) if e.requires_reauthorization() => {
            tracing::info!(payer = %payer.key, error = %e, "the member must connect again");
            return Ok(not_connected(Some(&format!(
                "Your connection to {} has ended. Connect again to see your claims.",
                payer.name
            ))));
        }
        (Err(e), _) | (_, Err(e)) => return Err(PageError::sdk(payer, e)),
    };
    let mut table = ClaimsTable::from_eobs(&eobs.matches);
    let names = provider_names(&fhir, &eobs.matches).await;
    for row in &mut table.rows {
        if let Some(name) = row.provider.as_ref().and_then(|r| names.get(r)) {
            row.provider = Some(name.clone());
        }
    }
    let warnings: Vec<Warning> = eobs
        .warnings
        .iter()
        .flat_map(|outcome| outcome.issue.iter())
        .filter_map(|issue| issue.message())
        .map(|message| Warning {
            message: message.to_owned(),
            hint: payer.client.adapter().explain_response(200, message),
        })
        .collect();
    let member_name = patient.display_name();
    Ok(page(
        StatusCode::OK,
        views::claims(&ClaimsPage {
            payer_key: &payer.key,
            payer_name: &payer.name,
            member_name: member_name.as_deref(),
            table: &table,
            warnings: &warnings,
        }),
    ))
}

/// The member's prior authorizations (PDex EOBs with `use = preauthorization`), read the way the payer serves
/// them, each with its status: what is still waiting for the plan and what it refused, and why.
async fn prior_authorizations(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let payer = app.payer(&key)?;
    let not_connected = |reason: Option<&str>| {
        page(
            StatusCode::OK,
            views::not_connected(&payer.key, &payer.name, reason),
        )
    };
    let Some(fhir) = app.member_fhir(payer, &headers).await? else {
        return Ok(not_connected(None));
    };
    let (patient, auths) = tokio::join!(fhir.patient(), fhir.prior_authorizations().collect_all());
    let (patient, auths) = match (patient, auths) {
        (Ok(p), Ok(a)) => (p, a),
        (Err(e), _) | (_, Err(e)) if e.requires_reauthorization() => {
            return Ok(not_connected(Some(&e.to_string())));
        }
        (Err(e), _) | (_, Err(e)) => return Err(PageError::sdk(payer, e)),
    };
    let rows: Vec<views::PriorAuthRow> = auths
        .matches
        .iter()
        .filter_map(ExplanationOfBenefit::prior_authorization)
        .map(|pa| views::PriorAuthRow::new(&pa))
        .collect();
    let warnings: Vec<Warning> = auths
        .warnings
        .iter()
        .flat_map(|outcome| outcome.issue.iter())
        .filter_map(|issue| issue.message())
        .map(|message| Warning {
            message: message.to_owned(),
            hint: payer.client.adapter().explain_response(200, message),
        })
        .collect();
    let member_name = patient.display_name();
    Ok(page(
        StatusCode::OK,
        views::prior_authorizations(&views::PriorAuthsPage {
            payer_key: &payer.key,
            payer_name: &payer.name,
            member_name: member_name.as_deref(),
            rows: &rows,
            warnings: &warnings,
        }),
    ))
}

/// The member's clinical data (US Core), read by type name for the types the payer lists and shown with the
/// typed helpers: conditions and allergies with their clinical status, medications, immunizations, and the most
/// recent labs and vital signs with their units.
async fn health_record(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let payer = app.payer(&key)?;
    let not_connected = |reason: Option<&str>| {
        page(
            StatusCode::OK,
            views::not_connected(&payer.key, &payer.name, reason),
        )
    };
    let Some(fhir) = app.member_fhir(payer, &headers).await? else {
        return Ok(not_connected(None));
    };
    let (patient, record) = tokio::join!(fhir.patient(), health_record::HealthRecord::read(&fhir));
    let (patient, record) = match (patient, record) {
        (Ok(p), Ok(r)) => (p, r),
        (Err(e), _) | (_, Err(e)) if e.requires_reauthorization() => {
            return Ok(not_connected(Some(&e.to_string())));
        }
        (Err(e), _) | (_, Err(e)) => return Err(PageError::sdk(payer, e)),
    };
    let member_name = patient.display_name();
    Ok(page(
        StatusCode::OK,
        views::health_record(&payer.key, &payer.name, member_name.as_deref(), &record),
    ))
}

/// Names for the providers the claims reference rather than contain (`Organization/123`): each one read once.
/// A reference that cannot be read keeps its label; a real app would keep these names in its database.
async fn provider_names(
    fhir: &FhirClient,
    eobs: &[ExplanationOfBenefit],
) -> HashMap<String, String> {
    let references: BTreeSet<&str> = eobs
        .iter()
        .filter_map(|e| e.provider.as_ref()?.reference.as_deref())
        .filter(|r| r.starts_with("Organization/") || r.starts_with("Practitioner/"))
        .collect();
    let reads = references.into_iter().map(|reference| async move {
        let name = match reference.split_once('/') {
            Some(("Organization", id)) => fhir
                .read::<Organization>(id)
                .await
                .map(|o| o.name),
            Some((_, id)) => fhir
                .read::<Practitioner>(id)
                .await
                .map(|p| p.display_name()),
            None => Ok(None),
        };
        match name {
            Ok(Some(name)) => Some((reference.to_owned(), name)),
            Ok(None) => None,
            Err(e) => {
                tracing::debug!(%reference, error = %e, "provider not readable; showing the reference");
                None
            }
        }
    });
    futures::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// True when a state-changing request comes from the app's own pages. `Sec-Fetch-Site` (set by the browser, never
/// by a page), when sent, must be `same-origin`; `Origin` must be the app's origin, except that it may be `null`
/// next to `Sec-Fetch-Site: same-origin` (a page served with `Referrer-Policy: no-referrer`, as this app's are,
/// posts `Origin: null` by the Fetch standard). A request with neither header is refused. A cross-site form,
/// `fetch` or a sibling subdomain fails this even where `SameSite=Lax` would have let the cookie through.
pub fn same_origin_post(headers: &HeaderMap, origin: &url::Origin) -> bool {
    let same_origin_fetch = match headers.get("sec-fetch-site") {
        Some(site) if site.as_bytes() == b"same-origin" => true,
        Some(_) => return false,
        None => false,
    };
    match headers.get(header::ORIGIN).map(HeaderValue::as_bytes) {
        None | Some(b"null") => same_origin_fetch,
        Some(from) => std::str::from_utf8(from)
            .ok()
            .and_then(|o| Url::parse(o).ok())
            .is_some_and(|u| u.origin() == *origin),
    }
}

async fn disconnect(
    State(app): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if !same_origin_post(&headers, &app.0.origin) {
        return Err(PageError::CrossSite);
    }
    let payer = app.payer(&key)?;
    if let Some(session) = app.session(&headers).await? {
        let outcome = app
            .token_session(payer, &session)
            .disconnect()
            .await
            .map_err(|e| PageError::sdk(payer, e))?;
        tracing::info!(
            payer = %payer.key,
            revoked_at_payer = outcome.revoked_at_payer,
            "member disconnected"
        );
    }
    redirect("/", None)
}

/// What a handler could not do, as the page the member sees.
#[derive(Debug)]
enum PageError {
    NotFound,
    /// No pending authorization for this browser and payer: a replayed or stale callback, another browser,
    /// or a forged one.
    NoPending,
    /// A state-changing request that did not come from the app's own pages (CSRF).
    CrossSite,
    Sdk {
        payer: String,
        // Boxed: the SDK's error is large, and every handler returns this one by value.
        error: Box<SdkError>,
    },
    Db(DbError),
    Internal(String),
}

impl PageError {
    fn sdk(payer: &Payer, error: SdkError) -> Self {
        PageError::Sdk {
            payer: payer.name.clone(),
            error: Box::new(error),
        }
    }
}

impl From<DbError> for PageError {
    fn from(e: DbError) -> Self {
        PageError::Db(e)
    }
}

impl From<SdkError> for PageError {
    fn from(error: SdkError) -> Self {
        PageError::Sdk {
            payer: "the payer".into(),
            error: Box::new(error),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message, hint) = match &self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found".to_owned(),
                "There is no such page.".to_owned(),
                None,
            ),
            PageError::CrossSite => (
                StatusCode::FORBIDDEN,
                "Request refused".to_owned(),
                "This request did not come from this app's own pages, so nothing was changed.".to_owned(),
                Some("Use the buttons on the app's pages.".to_owned()),
            ),
            PageError::NoPending => (
                StatusCode::BAD_REQUEST,
                "This sign-in has expired".to_owned(),
                "This sign-in link was already used, has expired, or was started in another browser.".to_owned(),
                Some("Start again from your plans: choose Connect my insurer.".to_owned()),
            ),
            // The member sees a sentence written for them; the SDK's message and hint, written for the app's
            // developers, go to the log (below).
            PageError::Sdk { payer, error } => match &**error {
                SdkError::AuthorizationDenied { .. } => (
                    StatusCode::FORBIDDEN,
                    format!("{payer} did not share your data"),
                    format!(
                        "Sharing was declined at {payer}, or {payer} does not share data for your plan with apps."
                    ),
                    Some("To try again, choose Connect my insurer.".to_owned()),
                ),
                SdkError::StateMismatch
                | SdkError::InvalidCallback(_)
                | SdkError::IssuerMismatch { .. }
                | SdkError::PendingAuthorizationMismatch { .. } => (
                    StatusCode::BAD_REQUEST,
                    "This sign-in could not be verified".to_owned(),
                    "For your safety, this sign-in was not completed and nothing was shared.".to_owned(),
                    Some("Start again from your plans: choose Connect my insurer.".to_owned()),
                ),
                _ => (
                    StatusCode::BAD_GATEWAY,
                    format!("Could not reach {payer}"),
                    format!("{payer} did not answer as expected. Nothing was changed; try again in a few minutes."),
                    None,
                ),
            },
            PageError::Db(_) | PageError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong".to_owned(),
                "The app could not complete this request. Try again in a moment.".to_owned(),
                None,
            ),
        };
        if let PageError::Sdk { payer, error } = &self {
            // Secret-free by the SDK's contract: its messages and hints never carry tokens, codes or state.
            tracing::warn!(%payer, error = %error, hint = error.hint().unwrap_or("-"), "SDK error shown to the member as {title:?}");
        }
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        } else {
            tracing::info!(error = ?self, "request refused");
        }
        page(status, views::error_page(&title, &message, hint.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_post_from_the_apps_own_origin_passes_the_csrf_check() {
        let origin = Url::parse("http://127.0.0.1:8080/").unwrap().origin();
        let with = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_str(v).unwrap());
            }
            same_origin_post(&h, &origin)
        };
        assert!(with(&[
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin")
        ]));
        assert!(with(&[("origin", "http://127.0.0.1:8080")]));
        assert!(with(&[("sec-fetch-site", "same-origin")]));
        // What Chromium sends from a page served with Referrer-Policy: no-referrer.
        assert!(with(&[
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ]));
        for refused in [
            &[][..],
            &[("origin", "https://evil.example")],
            &[("origin", "http://127.0.0.1:8081")],
            &[("origin", "null")],
            &[("sec-fetch-site", "cross-site")],
            &[("sec-fetch-site", "same-site")],
            &[
                ("origin", "http://127.0.0.1:8080"),
                ("sec-fetch-site", "cross-site"),
            ],
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "same-origin"),
            ],
        ] {
            assert!(!with(refused), "{refused:?}");
        }
    }

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(header::COOKIE, HeaderValue::from_str(c).unwrap());
        }
        h
    }

    #[test]
    fn the_session_cookie_is_found_by_name_and_shape_only() {
        let id = "A".repeat(43);
        let jar = format!("sim_authz=x; {SESSION_COOKIE}={id}; other=y");
        assert_eq!(
            session_cookie(&headers(&[&jar]), SESSION_COOKIE),
            Some(id.as_str())
        );
        // In a second Cookie header, too (HTTP/2 splits them).
        let second = format!("{SESSION_COOKIE}={id}");
        assert_eq!(
            session_cookie(&headers(&["a=b", &second]), SESSION_COOKIE),
            Some(id.as_str())
        );
        // The HTTPS name is a different cookie.
        assert_eq!(
            session_cookie(&headers(&[&jar]), SECURE_SESSION_COOKIE),
            None
        );
        for bad in [
            "A".repeat(42),
            "A".repeat(44),
            format!("{}=", "A".repeat(42)),
            format!("{}\"", "A".repeat(42)),
        ] {
            let jar = format!("{SESSION_COOKIE}={bad}");
            assert_eq!(
                session_cookie(&headers(&[&jar]), SESSION_COOKIE),
                None,
                "{bad}"
            );
        }
        assert_eq!(session_cookie(&HeaderMap::new(), SESSION_COOKIE), None);
    }

    #[test]
    fn callback_urls_hang_off_the_public_url() {
        let public = Url::parse("https://app.example/health/").unwrap();
        assert_eq!(
            callback_url(&public, "aetna-sandbox").unwrap().as_str(),
            "https://app.example/health/callback/aetna-sandbox"
        );
        assert_eq!(token_key("u1", "cigna"), "u1:cigna");
    }
}
