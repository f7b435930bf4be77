//! The shared simulator engine: state, request routing, counters and response helpers.
//!
//! One `Engine` serves one payer on one loopback port. Routing is by path (the payer's real paths, moved onto
//! 127.0.0.1), so each payer keeps its own URL layout without the engine knowing it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use rand::Rng;
use serde_json::{Value, json};
use url::Url;

use super::config::{RefreshRule, SimConfig};
use super::data::MemberData;
use super::{Counts, RecordedRequest, SimOptions};

/// Largest request body the simulator reads.
const MAX_REQUEST_BODY: usize = 1 << 20;

/// An authorize request in progress (between `/authorize` and the code).
#[derive(Debug, Clone)]
pub(crate) struct AuthSession {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub login_param_ok: bool,
    pub cookie: Option<String>,
    pub user: Option<String>,
}

/// An issued authorization code.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub issued: Instant,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub(crate) struct AccessGrant {
    pub expires_at: Instant,
    pub revoked: bool,
    pub family: u64,
}

/// An issued refresh token.
#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    pub family: u64,
    pub spent: bool,
    pub revoked: bool,
    pub client_id: String,
    pub scope: String,
}

/// Mutable OAuth state.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    pub sessions: HashMap<String, AuthSession>,
    pub codes: HashMap<String, CodeGrant>,
    pub access: HashMap<String, AccessGrant>,
    pub refresh: HashMap<String, RefreshGrant>,
    pub next_family: u64,
}

impl OAuthState {
    /// Revokes every token issued from one authorization.
    pub(crate) fn revoke_family(&mut self, family: u64) {
        self.access
            .values_mut()
            .filter(|g| g.family == family)
            .for_each(|g| g.revoked = true);
        self.refresh
            .values_mut()
            .filter(|g| g.family == family)
            .for_each(|g| g.revoked = true);
    }
}

/// Request counters, for tests' assertions.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub authorize: AtomicU64,
    pub login_pages: AtomicU64,
    pub logins: AtomicU64,
    pub codes_issued: AtomicU64,
    pub token_code: AtomicU64,
    pub token_refresh: AtomicU64,
    pub token_rejected: AtomicU64,
    pub revocations: AtomicU64,
    pub fhir: AtomicU64,
    pub rate_limited: AtomicU64,
    pub unauthorized: AtomicU64,
    pub discovery: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// One running simulator's state.
#[derive(Debug)]
pub(crate) struct Engine {
    pub cfg: SimConfig,
    pub opts: SimOptions,
    /// `http://127.0.0.1:PORT`.
    pub origin: Url,
    pub data: MemberData,
    /// The member's day: from 1 on, prior authorizations decided since day 0 are served in their later version.
    pub day: std::sync::atomic::AtomicU32,
    /// The refresh behaviour in force (payer default, or what the options chose).
    pub refresh: RefreshRule,
    pub state: Mutex<OAuthState>,
    pub counters: Counters,
    pub per_resource: Mutex<BTreeMap<String, u64>>,
    pub log: Mutex<Vec<RecordedRequest>>,
    pub rate: Mutex<VecDeque<Instant>>,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (state stays usable in tests).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a handler sees of a request.
#[derive(Debug)]
pub(crate) struct Incoming<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Vec<(String, String)>,
    pub raw_query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: Bytes,
}

impl Incoming<'_> {
    /// The single value of a query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The form body's pairs.
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// A request header as text.
    pub(crate) fn header(&self, name: HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of one cookie.
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }
}

/// The single value of `name` in form pairs.
pub(crate) fn form_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A random token of `len` alphanumeric characters.
pub(crate) fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// The axum handler for every request.
pub(crate) async fn dispatch(State(engine): State<Arc<Engine>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_REQUEST_BODY)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().map(str::to_owned);
    let query = raw_query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let incoming = Incoming {
        method: &parts.method,
        path: &path,
        query,
        raw_query: raw_query.as_deref(),
        headers: &parts.headers,
        body,
    };
    let latency = engine.opts.token_latency;
    if !latency.is_zero() && same_path(&path, &engine.cfg.token_path) {
        tokio::time::sleep(latency).await;
    }
    let mut response = engine.route(&incoming);
    if engine.cfg.bot_cookies {
        for cookie in [
            "_abck=sim~0~bot-manager; Path=/; Secure",
            "bm_sz=sim-bm; Path=/",
            "dtCookie=v_4_srv_1_sim; Path=/",
        ] {
            response
                .headers_mut()
                .append(header::SET_COOKIE, HeaderValue::from_static(cookie));
        }
    }
    engine.record(&incoming, &response);
    response
}

impl Engine {
    fn record(&self, req: &Incoming<'_>, resp: &Response) {
        let authorization = req
            .header(header::AUTHORIZATION)
            .and_then(|v| v.split_whitespace().next())
            .map(str::to_owned);
        lock(&self.log).push(RecordedRequest {
            method: req.method.to_string(),
            path: req.path.to_owned(),
            query: req.raw_query.map(str::to_owned),
            authorization_scheme: authorization,
            accept: req.header(header::ACCEPT).map(str::to_owned),
            status: resp.status().as_u16(),
        });
    }

    fn route(&self, req: &Incoming<'_>) -> Response {
        let cfg = &self.cfg;
        let path = req.path;
        let get = req.method == Method::GET;
        let post = req.method == Method::POST;
        if same_path(path, &cfg.authorize_path) && get {
            return self.authorize(req);
        }
        if path == cfg.login_path() {
            return if post {
                self.login_submit(req)
            } else {
                self.login_page(req)
            };
        }
        if path == cfg.consent_path() {
            return if post {
                self.consent_submit(req)
            } else {
                self.consent_page(req)
            };
        }
        if same_path(path, &cfg.token_path) && post {
            return self.token(req);
        }
        if same_path(path, &cfg.revoke_path) && post {
            return self.revoke(req);
        }
        if cfg.userinfo_path.as_deref() == Some(path) && get {
            return self.userinfo(req);
        }
        if cfg.smart_config_paths.iter().any(|p| p == path) && get {
            bump(&self.counters.discovery);
            return json_response(StatusCode::OK, &self.smart_configuration());
        }
        if cfg.openid_config_paths.iter().any(|p| p == path) && get {
            bump(&self.counters.discovery);
            return json_response(StatusCode::OK, &self.openid_configuration());
        }
        if let Some(other) = cfg
            .foreign_fhir_paths
            .iter()
            .find(|p| path.starts_with(p.as_str()))
        {
            return gateway_error(
                StatusCode::FORBIDDEN,
                "invalid_brand",
                &format!("The member's consent does not cover {other}"),
            );
        }
        if let Some(rest) = path.strip_prefix(cfg.fhir_path.as_str())
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return self.fhir(req, rest);
        }
        if cfg
            .not_found_prefixes
            .iter()
            .any(|p| path.starts_with(p.as_str()))
        {
            return self.operation_outcome(
                StatusCode::NOT_FOUND,
                "error",
                "not-found",
                &cfg.not_found_text,
            );
        }
        html_response(
            StatusCode::NOT_FOUND,
            "<html><body><h1>Not Found</h1></body></html>",
        )
    }

    /// An absolute URL on this simulator for `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.origin.as_str().trim_end_matches('/'), path)
    }

    /// The FHIR base as an absolute URL.
    pub(crate) fn fhir_base(&self) -> String {
        self.url(&self.cfg.fhir_path)
    }

    pub(crate) fn refresh_offered(&self) -> bool {
        self.refresh != RefreshRule::None
    }

    fn smart_configuration(&self) -> Value {
        let cfg = &self.cfg;
        let mut capabilities = vec![
            "launch-standalone",
            "client-public",
            "client-confidential-symmetric",
            "context-standalone-patient",
            "permission-patient",
        ];
        if self.refresh_offered() {
            capabilities.push("permission-offline");
        }
        let mut scopes: Vec<String> =
            vec!["openid".into(), "fhirUser".into(), "launch/patient".into()];
        if self.refresh_offered() {
            scopes.push("offline_access".into());
        }
        scopes.extend(cfg.scopes_supported.iter().cloned());
        let mut doc = json!({
            "issuer": cfg.issuer.as_str().trim_end_matches('/'),
            "authorization_endpoint": self.url(&cfg.authorize_path),
            "token_endpoint": self.url(&cfg.token_path),
            "revocation_endpoint": self.url(&cfg.revoke_path),
            "token_endpoint_auth_methods_supported": cfg.advertised_auth_methods,
            "grant_types_supported": if self.refresh_offered() { vec!["authorization_code", "refresh_token"] } else { vec!["authorization_code"] },
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "capabilities": capabilities,
        });
        if let Some(p) = &cfg.userinfo_path {
            doc["userinfo_endpoint"] = Value::String(self.url(p));
        }
        doc
    }

    fn openid_configuration(&self) -> Value {
        let mut doc = self.smart_configuration();
        if let Value::Object(map) = &mut doc {
            map.remove("capabilities");
            map.insert("subject_types_supported".into(), json!(["public"]));
        }
        doc
    }

    /// An OperationOutcome response in the payer's FHIR content type (or the gateway's envelope for errors the
    /// gateway answers itself, where the payer has one).
    pub(crate) fn operation_outcome(
        &self,
        status: StatusCode,
        severity: &str,
        code: &str,
        diagnostics: &str,
    ) -> Response {
        if self.cfg.gateway_envelope && matches!(status.as_u16(), 401 | 403 | 406 | 429) {
            return gateway_error(status, code, diagnostics);
        }
        let body = json!({
            "resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
        });
        respond(
            status,
            &[(header::CONTENT_TYPE, self.cfg.fhir_content_type.clone())],
            body.to_string(),
        )
    }

    /// Counts one request for `resource_type`.
    pub(crate) fn count_resource(&self, resource_type: &str) {
        *lock(&self.per_resource)
            .entry(resource_type.to_owned())
            .or_default() += 1;
    }

    /// A snapshot of the counters.
    pub(crate) fn counts(&self) -> Counts {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Counts {
            authorize: get(&c.authorize),
            login_pages: get(&c.login_pages),
            logins: get(&c.logins),
            codes_issued: get(&c.codes_issued),
            token_code_exchanges: get(&c.token_code),
            token_refreshes: get(&c.token_refresh),
            token_rejections: get(&c.token_rejected),
            revocations: get(&c.revocations),
            fhir_requests: get(&c.fhir),
            rate_limited: get(&c.rate_limited),
            unauthorized: get(&c.unauthorized),
            discovery: get(&c.discovery),
            per_resource: lock(&self.per_resource).clone(),
        }
    }
}

/// `a` and `b` name the same path, ignoring one trailing slash (Django-style routes accept both).
fn same_path(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// A response with `status`, `headers` and `body`. Header values that are not valid are skipped (never panics).
pub(crate) fn respond(
    status: StatusCode,
    headers: &[(HeaderName, String)],
    body: impl Into<Body>,
) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().append(k.clone(), v);
        }
    }
    r
}

/// An API gateway's non-FHIR error envelope (Elevance).
pub(crate) fn gateway_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({
            "status_code": status.as_u16(),
            "status": "failed",
            "error": error,
            "error_description": description,
        }),
    )
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    respond(
        status,
        &[
            (header::CONTENT_TYPE, "application/json".into()),
            (header::CACHE_CONTROL, "no-store".into()),
        ],
        body.to_string(),
    )
}

pub(crate) fn html_response(status: StatusCode, body: &str) -> Response {
    respond(
        status,
        &[(header::CONTENT_TYPE, "text/html; charset=utf-8".into())],
        body.to_owned(),
    )
}

pub(crate) fn redirect(location: &str) -> Response {
    respond(
        StatusCode::FOUND,
        &[(header::LOCATION, location.to_owned())],
        Body::empty(),
    )
}

/// Minimal HTML escaping for text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
