//! Shared scaffolding for the wiremock tests: a configurable test adapter, a simulated payer's discovery and
//! token endpoints, and helpers to drive a flow to its callback.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use smart_core::{
    AudPolicy, AuthorizationRequest, ClientAuth, EndpointOverrides, PatientIdSource, PayerAdapter,
    SecretString, SmartClient, SmartClientBuilder, TokenRequestFormat,
};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A client secret with every character RFC 6749 §2.3.1 form-encoding changes.
pub const SECRET: &str = "p@ss w+rd/=:%";
pub const CLIENT_ID: &str = "test-app";
pub const REDIRECT: &str = "http://127.0.0.1:3000/callback";

/// A `PayerAdapter` whose every quirk a test can set.
#[derive(Debug, Clone)]
pub struct TestAdapter {
    pub id: String,
    pub fhir_base: Url,
    pub smart_urls: Option<Vec<Url>>,
    pub issuer: Option<Url>,
    pub overrides: EndpointOverrides,
    pub aud: AudPolicy,
    pub extra: Vec<(String, String)>,
    pub removed: Vec<String>,
    pub browser_only: bool,
    pub client_auth: ClientAuth,
    pub patient_source: PatientIdSource,
    pub token_format: TokenRequestFormat,
    pub id_token_policy: smart_core::IdTokenPolicy,
}

impl TestAdapter {
    pub fn new(server: &MockServer) -> Self {
        Self {
            id: "test-payer".into(),
            fhir_base: Url::parse(&format!("{}/fhir", server.uri())).unwrap(),
            smart_urls: None,
            issuer: None,
            overrides: EndpointOverrides::default(),
            aud: AudPolicy::FhirBase,
            extra: Vec::new(),
            removed: Vec::new(),
            browser_only: false,
            client_auth: ClientAuth::Auto,
            patient_source: PatientIdSource::TokenResponse,
            token_format: TokenRequestFormat::Form,
            id_token_policy: smart_core::IdTokenPolicy::Verify,
        }
    }
}

impl PayerAdapter for TestAdapter {
    fn id(&self) -> &str {
        &self.id
    }
    fn fhir_base(&self) -> &Url {
        &self.fhir_base
    }
    fn smart_configuration_urls(&self) -> Vec<Url> {
        self.smart_urls.clone().unwrap_or_else(|| {
            vec![
                Url::parse(&format!(
                    "{}/.well-known/smart-configuration",
                    self.fhir_base
                ))
                .unwrap(),
            ]
        })
    }
    fn oauth_issuer(&self) -> Option<Url> {
        self.issuer.clone()
    }
    fn endpoint_overrides(&self) -> EndpointOverrides {
        self.overrides.clone()
    }
    fn aud(&self) -> AudPolicy {
        self.aud.clone()
    }
    fn extra_authorize_params(&self) -> Vec<(String, String)> {
        self.extra.clone()
    }
    fn removed_authorize_params(&self) -> Vec<String> {
        self.removed.clone()
    }
    fn authorize_in_browser_only(&self) -> bool {
        self.browser_only
    }
    fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }
    fn token_request_format(&self) -> TokenRequestFormat {
        self.token_format
    }
    fn patient_id_source(&self) -> PatientIdSource {
        self.patient_source.clone()
    }
    fn id_token_policy(&self) -> smart_core::IdTokenPolicy {
        self.id_token_policy
    }
    fn explain_oauth_error(&self, error: &str, description: Option<&str>) -> Option<String> {
        match (error, description) {
            ("access_denied", Some(d)) if d.contains("eligibility") => {
                Some("this member's plan is not covered by the Patient Access API".into())
            }
            ("invalid_client", _) => Some("test payer: Basic auth only".into()),
            _ => None,
        }
    }
}

/// The smart-configuration document the simulated payer serves.
pub fn smart_config(server: &MockServer) -> Value {
    json!({
        "issuer": format!("{}/auth", server.uri()),
        "authorization_endpoint": format!("{}/auth/authorize", server.uri()),
        "token_endpoint": format!("{}/auth/token", server.uri()),
        "revocation_endpoint": format!("{}/auth/revoke", server.uri()),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": ["launch-standalone", "client-confidential-symmetric", "permission-offline"],
        "x-unknown-field": {"kept": true}
    })
}

/// Mounts `doc` as the smart-configuration at the default place.
pub async fn mount_smart_config(server: &MockServer, doc: Value) {
    Mock::given(method("GET"))
        .and(path("/fhir/.well-known/smart-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc))
        .mount(server)
        .await;
}

/// A standard simulated payer: smart-configuration mounted, nothing else.
pub async fn payer() -> MockServer {
    let server = MockServer::start().await;
    mount_smart_config(&server, smart_config(&server)).await;
    server
}

pub fn builder(adapter: TestAdapter, secret: Option<&str>) -> SmartClientBuilder {
    let mut b = SmartClient::builder(Arc::new(adapter))
        .client_id(CLIENT_ID)
        .redirect_uri(REDIRECT)
        .unwrap()
        .scopes([
            "launch/patient",
            "openid",
            "fhirUser",
            "offline_access",
            "patient/*.read",
        ])
        .timeout(Duration::from_secs(5));
    if let Some(s) = secret {
        b = b.client_secret(SecretString::from(s.to_owned()));
    }
    b
}

pub fn client(server: &MockServer, secret: Option<&str>) -> SmartClient {
    builder(TestAdapter::new(server), secret).build().unwrap()
}

/// The query parameters of `url` as a map (asserting none repeats).
pub fn query(url: &Url) -> std::collections::HashMap<String, String> {
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let map: std::collections::HashMap<_, _> = pairs.iter().cloned().collect();
    assert_eq!(
        map.len(),
        pairs.len(),
        "a repeated query parameter in {url}"
    );
    map
}

/// The form body of a recorded request.
pub fn form(req: &Request) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(&req.body)
        .into_owned()
        .collect()
}

/// The callback the payer would send for `req` with `code` (and the right state).
pub fn callback(req: &AuthorizationRequest, code: &str) -> String {
    let state = query(&req.url)["state"].clone();
    let mut u = Url::parse(REDIRECT).unwrap();
    u.query_pairs_mut()
        .append_pair("code", code)
        .append_pair("state", &state);
    u.to_string()
}

/// A token response.
pub fn token_json(access: &str, refresh: Option<&str>, expires_in: Value) -> Value {
    let mut v = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": "launch/patient openid fhirUser offline_access patient/*.read",
        "patient": "pat-123"
    });
    if let Some(r) = refresh {
        v["refresh_token"] = json!(r);
    }
    v
}

/// Requests the server received on `p`.
pub async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}
