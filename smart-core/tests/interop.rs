//! Interoperability: the SDK's SMART flow, through its public API, against a real OAuth 2.0 server.
//!
//! The server is the npm package oidc-provider (OpenID certified) with a SMART skin, in `tests/oidc/server.mjs`;
//! `support/oidc_server.rs` runs it and plays the member's browser. Every case runs the full flow: discovery,
//! `authorize_url()`, the headless login, `exchange_code()`, and checks what the server really issued, not
//! what a mock was told to say. Without Node.js these tests skip locally and fail under `CI`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/oidc_server.rs"]
mod oidc_server;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use oidc_server::{OidcServer, clients};
use smart_core::{
    AudPolicy, AuthorizationRequest, ClientAuth, ClientKey, DiscoverySource, Error, ExposeSecret,
    MemoryTokenStore, PayerAdapter, PendingAuthorization, Revocation, ScopeForm, SecretString,
    SigningAlgorithm, SmartClient, Standard, TokenSet, TokenStore,
};
use url::Url;

// ---- Fixtures ---------------------------------------------------------------------------------------------

/// A standard adapter with one or two settings changed, the way a payer module overrides what differs.
#[derive(Debug, Clone)]
struct Tweaked {
    base: Standard,
    client_auth: ClientAuth,
    aud: AudPolicy,
    oauth_issuer: Option<Url>,
    scope_form: ScopeForm,
}

impl Tweaked {
    fn new(fhir_base: &Url) -> Self {
        Self {
            base: Standard::new(fhir_base.as_str()).unwrap(),
            client_auth: ClientAuth::Auto,
            aud: AudPolicy::FhirBase,
            oauth_issuer: None,
            scope_form: ScopeForm::Auto,
        }
    }

    fn scope_form(mut self, form: ScopeForm) -> Self {
        self.scope_form = form;
        self
    }

    fn client_auth(mut self, client_auth: ClientAuth) -> Self {
        self.client_auth = client_auth;
        self
    }

    fn aud(mut self, aud: AudPolicy) -> Self {
        self.aud = aud;
        self
    }

    fn oauth_issuer(mut self, issuer: &Url) -> Self {
        self.oauth_issuer = Some(issuer.clone());
        self
    }
}

impl PayerAdapter for Tweaked {
    fn id(&self) -> &str {
        self.base.id()
    }

    fn fhir_base(&self) -> &Url {
        self.base.fhir_base()
    }

    fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }

    fn aud(&self) -> AudPolicy {
        self.aud.clone()
    }

    fn oauth_issuer(&self) -> Option<Url> {
        self.oauth_issuer.clone()
    }

    fn scope_form(&self) -> ScopeForm {
        self.scope_form
    }
}

/// An SDK client for one of the server's registered clients.
fn client(
    server: &OidcServer,
    adapter: impl PayerAdapter + 'static,
    client_id: &str,
    secret: Option<&str>,
) -> SmartClient {
    let mut builder = SmartClient::builder(Arc::new(adapter))
        .client_id(client_id)
        .redirect_uri(server.redirect_uri.as_str())
        .unwrap()
        .timeout(Duration::from_secs(10));
    if let Some(secret) = secret {
        builder = builder.client_secret(SecretString::from(secret.to_owned()));
    }
    builder.build().unwrap()
}

/// `authorize_url()`, then the member logs in and consents: the pending authorization and the callback URL.
async fn authorize(server: &OidcServer, client: &SmartClient) -> (AuthorizationRequest, Url) {
    let request = client.authorize_url().await.unwrap();
    let url = request
        .server_fetchable_url()
        .expect("a standard adapter allows a server-side login");
    let callback = server.login(url).await;
    (request, callback)
}

/// The whole flow, expected to succeed: the callback and the tokens.
async fn connect(server: &OidcServer, client: &SmartClient) -> (PendingAuthorization, TokenSet) {
    let (request, callback) = authorize(server, client).await;
    let tokens = client
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap_or_else(|e| panic!("exchange_code failed: {e}\n{}", server.log()));
    (request.pending, tokens)
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn secret(s: &SecretString) -> &str {
    s.expose_secret()
}

/// What every successful exchange must produce against this server, checked against the server itself.
async fn assert_usable_tokens(server: &OidcServer, tokens: &TokenSet) {
    assert_eq!(
        tokens.patient(),
        Some(server.patient.as_str()),
        "patient from the token response"
    );
    assert!(
        tokens.refresh_token().is_some(),
        "offline_access was granted, so a refresh token: {tokens:?}"
    );
    for scope in ["openid", "offline_access", "launch/patient"] {
        assert!(
            tokens.scopes().iter().any(|s| s == scope),
            "granted scope {scope}: {tokens:?}"
        );
    }
    // `/fhir` offers SMART v1 and v2; the SDK asked in v2 (patient/*.rs), and either form answers the question.
    assert!(
        tokens.granted_scopes().allows_read("ExplanationOfBenefit"),
        "granted: {tokens:?}"
    );
    assert!(
        tokens.scopes_not_granted().is_empty(),
        "everything requested was granted: {tokens:?}"
    );
    let expires_at = tokens.expires_at().expect("the server sends expires_in");
    let lifetime = expires_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    assert!(
        lifetime > Duration::from_secs(3500) && lifetime <= Duration::from_secs(3600),
        "expires_in 3600 became {lifetime:?} from now"
    );
    assert_eq!(
        server
            .read_patient_status(secret(tokens.access_token()))
            .await,
        200,
        "the access token is one the server issued and still honours"
    );
    let debug = format!("{tokens:?}");
    assert!(
        !debug.contains(secret(tokens.access_token())),
        "Debug shows the access token: {debug}"
    );
    assert!(
        !debug.contains(secret(tokens.refresh_token().unwrap())),
        "Debug shows the refresh token"
    );
}

/// The token endpoint refused the client's authentication.
fn assert_invalid_client(result: Result<TokenSet, Error>) {
    match result {
        Err(Error::OAuth { status, error, .. }) => {
            assert_eq!(error, "invalid_client");
            assert_eq!(status, 401);
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
}

// ---- Client authentication ---------------------------------------------------------------------------------

#[tokio::test]
async fn client_secret_basic() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::BASIC;
    // Auto: discovery advertises client_secret_basic and a secret is configured, so Basic.
    let sdk = client(server, Tweaked::new(&server.fhir_base), id, Some(pw));

    let config = sdk.discover().await.unwrap();
    assert_eq!(
        config.source,
        DiscoverySource::SmartConfiguration(server.url("/fhir/.well-known/smart-configuration"))
    );
    assert_eq!(config.issuer.as_ref(), Some(&server.issuer));
    assert_eq!(config.token_endpoint, server.url("/token"));

    let (request, callback) = authorize(server, &sdk).await;
    let url = &request.url;
    assert_eq!(
        query_param(url, "aud").as_deref(),
        Some(server.fhir_base.as_str())
    );
    assert_eq!(
        query_param(url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(
        query_param(url, "code_verifier").is_none(),
        "the verifier never leaves the app"
    );
    // RFC 9207: the server names itself on the callback, exactly as its issuer (no trailing slash).
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(server.issuer.as_str().trim_end_matches('/'))
    );

    // The same code, first through a client that sends the secret in the body: refused, because this client
    // registered Basic. The refusal comes before the code is looked at, so the right method still works.
    let wrong = client(
        server,
        Tweaked::new(&server.fhir_base).client_auth(ClientAuth::ClientSecretPost),
        id,
        Some(pw),
    );
    let refused = wrong
        .exchange_code(&request.pending, callback.as_str())
        .await;
    if let Err(e) = &refused {
        assert!(
            e.hint()
                .is_some_and(|h| h.contains("authentication method")),
            "{e}: {:?}",
            e.hint()
        );
        assert!(
            !e.to_string().contains(pw),
            "the error shows the secret: {e}"
        );
    }
    assert_invalid_client(refused);

    let tokens = sdk
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    assert_usable_tokens(server, &tokens).await;
    assert!(
        !format!("{sdk:?}").contains(pw),
        "the client's Debug shows its secret"
    );
}

#[tokio::test]
async fn client_secret_post() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::POST;
    let sdk = client(
        server,
        Tweaked::new(&server.fhir_base).client_auth(ClientAuth::ClientSecretPost),
        id,
        Some(pw),
    );
    let (request, callback) = authorize(server, &sdk).await;

    // Basic for a client registered for post is refused; then the registered method succeeds.
    let wrong = client(
        server,
        Tweaked::new(&server.fhir_base).client_auth(ClientAuth::ClientSecretBasic),
        id,
        Some(pw),
    );
    assert_invalid_client(
        wrong
            .exchange_code(&request.pending, callback.as_str())
            .await,
    );

    let tokens = sdk
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    assert_usable_tokens(server, &tokens).await;
}

#[tokio::test]
async fn public_client_proves_itself_with_pkce_alone() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let sdk = client(
        server,
        Tweaked::new(&server.fhir_base),
        clients::PUBLIC,
        None,
    );
    let (_, tokens) = connect(server, &sdk).await;
    assert_usable_tokens(server, &tokens).await;
    // And it refreshes without a secret too.
    let refreshed = sdk.refresh(&tokens).await.unwrap();
    assert_eq!(
        server
            .read_patient_status(secret(refreshed.access_token()))
            .await,
        200
    );
}

#[tokio::test]
async fn secret_with_reserved_characters_works_in_basic_and_in_the_body() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    // Basic: the server form-decodes id and secret (RFC 6749 §2.3.1), so a `+` sent raw would become a space
    // and a raw `%` would not decode at all; only correct encoding gets through.
    for (id, auth) in [
        (clients::SPECIAL_BASIC, ClientAuth::ClientSecretBasic),
        (clients::SPECIAL_POST, ClientAuth::ClientSecretPost),
    ] {
        let adapter = Tweaked::new(&server.fhir_base).client_auth(auth);
        let sdk = client(server, adapter, id, Some(clients::SPECIAL_SECRET));
        let (_, tokens) = connect(server, &sdk).await;
        assert_usable_tokens(server, &tokens).await;
        let refreshed = sdk
            .refresh(&tokens)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            server
                .read_patient_status(secret(refreshed.access_token()))
                .await,
            200
        );
    }
}

#[tokio::test]
async fn patient_from_the_id_tokens_fhir_user_when_the_token_response_has_none() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::FHIRUSER;
    let sdk = client(server, Tweaked::new(&server.fhir_base), id, Some(pw));

    // First, without the SDK: this client's token response really has no `patient` (else the fallback below
    // would not be exercised), only an id token.
    let (request, callback) = authorize(server, &sdk).await;
    let saved = serde_json::to_value(&request.pending).unwrap();
    let raw: serde_json::Value = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth(id, Some(pw))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &query_param(&callback, "code").unwrap()),
            ("redirect_uri", server.redirect_uri.as_str()),
            ("code_verifier", saved["code_verifier"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(raw.get("access_token").is_some(), "{raw}");
    assert!(raw.get("patient").is_none(), "{raw}");
    assert!(raw.get("id_token").is_some(), "{raw}");

    // Then through the SDK: the patient comes from the id token's `fhirUser` ({fhir_base}/Patient/{id}), in
    // oidc-provider's own RS256 JWT.
    let (_, tokens) = connect(server, &sdk).await;
    assert!(tokens.id_token().is_some());
    assert_usable_tokens(server, &tokens).await;
}

// ---- Refresh -------------------------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_and_reusing_a_spent_refresh_token_requires_reauthorization() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::BASIC;
    let sdk = client(server, Tweaked::new(&server.fhir_base), id, Some(pw));
    let (_, first) = connect(server, &sdk).await;

    let second = sdk.refresh(&first).await.unwrap();
    let spent = secret(first.refresh_token().unwrap());
    let rotated = secret(second.refresh_token().expect("a rotated refresh token"));
    assert_ne!(rotated, spent, "the server rotates on every refresh");
    assert_ne!(secret(second.access_token()), secret(first.access_token()));
    assert_eq!(second.patient(), Some(server.patient.as_str()));
    assert_eq!(
        server
            .read_patient_status(secret(second.access_token()))
            .await,
        200
    );

    // Spending the old refresh token again looks like theft to the server: it refuses, and the app is told
    // to send the member through authorization again.
    let err = sdk
        .refresh(&first)
        .await
        .expect_err("a spent refresh token is refused");
    assert!(err.requires_reauthorization(), "{err:?}");
    assert!(
        !err.to_string().contains(spent),
        "the error shows the refresh token: {err}"
    );

    // ...and the server revoked the whole grant, the tokens from the legitimate refresh included.
    assert_eq!(
        server
            .read_patient_status(secret(second.access_token()))
            .await,
        401
    );
    let err = sdk
        .refresh(&second)
        .await
        .expect_err("the grant is revoked");
    assert!(err.requires_reauthorization(), "{err:?}");
}

/// The headline promise, against a server that rotates refresh tokens and revokes the grant on reuse: eight
/// `Session`s over one store (eight web requests, each building its own), the access token expired, all asking
/// for a token at the same moment. Exactly one refresh request reaches the server, none is refused, and every
/// caller gets the same rotated access token, which the server honours on a protected read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_sessions_refreshing_at_once_spend_the_rotating_refresh_token_once() {
    const CALLERS: usize = 8;
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::RACE_MEMORY;
    let sdk = client(server, Tweaked::new(&server.fhir_base), id, Some(pw));
    let (_, issued) = connect(server, &sdk).await;
    let before = server.refresh_counts(id).await;

    // The server's access token lives an hour; the store's copy says it has expired, so every caller refreshes.
    let store = Arc::new(MemoryTokenStore::new());
    let expired = issued
        .clone()
        .with_expires_at(Some(SystemTime::now() - Duration::from_secs(10)));
    store.save("member-1:oidc", &expired, None).await.unwrap();

    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let calls = (0..CALLERS).map(|_| {
        let (session, barrier) = (sdk.session(store.clone(), "member-1:oidc"), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            session.current().await
        })
    });
    let results = futures::future::join_all(calls).await;
    let after = server.refresh_counts(id).await;
    let mut failures = Vec::new();
    let mut dishonoured = 0;
    let mut access_tokens = std::collections::BTreeSet::new();
    for r in results {
        match r.unwrap() {
            Ok(t) => {
                let status = server.read_patient_status(secret(t.access_token())).await;
                if status != 200 {
                    dishonoured += 1;
                }
                access_tokens.insert(secret(t.access_token()).to_owned());
            }
            Err(e) => failures.push(e),
        }
    }
    let refreshes = after.requests - before.requests;
    let reauthorizations = failures
        .iter()
        .filter(|e| e.requires_reauthorization())
        .count();
    eprintln!(
        "refresh race (MemoryTokenStore, oidc-provider): {CALLERS} callers, {refreshes} refresh request(s) at the \
         server, {} refused, {reauthorizations} re-authorization(s), {dishonoured} token(s) handed out that the \
         server no longer honours",
        after.invalid_grant - before.invalid_grant
    );
    assert!(failures.is_empty(), "callers failed: {failures:?}");
    assert_eq!(
        dishonoured, 0,
        "every caller's token works on a protected read"
    );
    assert_eq!(refreshes, 1, "refresh requests that reached the server");
    assert_eq!(
        after.invalid_grant, before.invalid_grant,
        "no invalid_grant"
    );
    assert_eq!(
        access_tokens.len(),
        1,
        "every caller got the one rotated token"
    );
    assert!(!access_tokens.contains(secret(issued.access_token())));
    let stored = store.load("member-1:oidc").await.unwrap().unwrap();
    assert_eq!(stored.version, 2, "one save");
    assert_ne!(
        secret(stored.tokens.refresh_token().unwrap()),
        secret(issued.refresh_token().unwrap()),
        "the rotated refresh token was saved"
    );
    // The grant is intact: the saved refresh token still refreshes (a reuse would have revoked it).
    let next = sdk.refresh(&stored.tokens).await.unwrap();
    assert_eq!(
        server
            .read_patient_status(secret(next.access_token()))
            .await,
        200
    );
}

#[tokio::test]
async fn revoke_ends_the_grant_at_the_server() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::BASIC;
    let sdk = client(server, Tweaked::new(&server.fhir_base), id, Some(pw));
    let (_, tokens) = connect(server, &sdk).await;

    let revocation = sdk.revoke(&tokens).await.unwrap();
    assert!(revocation.revoked_at_payer(), "{revocation:?}");
    assert!(
        matches!(
            revocation,
            Revocation::Revoked {
                refresh_token: true,
                access_token: true
            }
        ),
        "{revocation:?}"
    );
    assert_eq!(
        server
            .read_patient_status(secret(tokens.access_token()))
            .await,
        401
    );
    let err = sdk.refresh(&tokens).await.expect_err("revoked");
    assert!(err.requires_reauthorization(), "{err:?}");
}

// ---- What the server checks ------------------------------------------------------------------------------------

#[tokio::test]
async fn pkce_verifier_is_checked_by_the_server() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::BASIC;
    let sdk = client(server, Tweaked::new(&server.fhir_base), id, Some(pw));
    let (request, callback) = authorize(server, &sdk).await;

    // A well-formed verifier that is not the one behind the challenge: one character changed. (The pending
    // authorization is serializable for web sessions; that is the way to reach its verifier from outside.)
    let mut saved: serde_json::Value = serde_json::to_value(request.pending.clone()).unwrap();
    let verifier = saved["code_verifier"]
        .as_str()
        .expect("the verifier is serialized")
        .to_owned();
    let last = if verifier.ends_with('A') { "B" } else { "A" };
    let tampered_verifier = format!("{}{last}", &verifier[..verifier.len() - 1]);
    saved["code_verifier"] = tampered_verifier.into();
    let tampered: PendingAuthorization = serde_json::from_value(saved).unwrap();

    match sdk.exchange_code(&tampered, callback.as_str()).await {
        Err(Error::OAuth { error, status, .. }) => {
            assert_eq!(error, "invalid_grant");
            assert_eq!(status, 400);
        }
        other => panic!("a wrong verifier must be refused, got {other:?}"),
    }
    // oidc-provider checks PKCE before spending the code, so the genuine verifier still works: the refusal
    // above was the verifier's doing, nothing else.
    let tokens = sdk
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    assert_usable_tokens(server, &tokens).await;
}

#[tokio::test]
async fn aud_is_checked_by_the_server() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::BASIC;
    let other = server.url("/other-fhir");
    let adapter = Tweaked::new(&server.fhir_base).aud(AudPolicy::Url(other.clone()));
    let sdk = client(server, adapter, id, Some(pw));
    let (request, callback) = authorize(server, &sdk).await;
    assert_eq!(
        query_param(&request.url, "aud").as_deref(),
        Some(other.as_str())
    );
    assert!(
        query_param(&callback, "code").is_none(),
        "no code for a wrong aud: {callback}"
    );

    match sdk.exchange_code(&request.pending, callback.as_str()).await {
        Err(Error::AuthorizationDenied {
            error, description, ..
        }) => {
            assert_eq!(error, "invalid_request");
            assert!(
                description.as_deref().is_some_and(|d| d.contains("aud")),
                "{description:?}"
            );
        }
        other => panic!("a wrong aud must be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn a_replayed_code_is_rejected_and_revokes_what_it_issued() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::BASIC;
    let sdk = client(server, Tweaked::new(&server.fhir_base), id, Some(pw));
    let (request, callback) = authorize(server, &sdk).await;
    let first = sdk
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    assert_eq!(
        server
            .read_patient_status(secret(first.access_token()))
            .await,
        200
    );

    let err = sdk
        .exchange_code(&request.pending, callback.as_str())
        .await
        .expect_err("a code works once");
    assert!(
        matches!(&err, Error::OAuth { error, .. } if error == "invalid_grant"),
        "{err:?}"
    );
    assert!(err.requires_reauthorization());
    // RFC 6749 §4.1.2: a replayed code should revoke the tokens it issued; oidc-provider does.
    assert_eq!(
        server
            .read_patient_status(secret(first.access_token()))
            .await,
        401
    );
}

// ---- Discovery --------------------------------------------------------------------------------------------------

#[tokio::test]
async fn discovery_falls_back_to_the_issuers_openid_configuration() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::BASIC;
    // /nofhir serves neither a smart-configuration nor a CapabilityStatement.
    let nofhir = server.url("/nofhir");

    let blind = client(server, Tweaked::new(&nofhir), id, Some(pw));
    match blind.discover().await {
        Err(Error::Discovery { tried, .. }) => {
            assert!(
                tried
                    .iter()
                    .any(|t| t.contains("/nofhir/.well-known/smart-configuration")),
                "{tried:?}"
            );
            assert!(
                !tried.iter().any(|t| t.contains("openid-configuration")),
                "no issuer was named: {tried:?}"
            );
        }
        other => panic!("nothing to discover without an issuer, got {other:?}"),
    }

    let sdk = client(
        server,
        Tweaked::new(&nofhir).oauth_issuer(&server.issuer),
        id,
        Some(pw),
    );
    let config = sdk.discover().await.unwrap();
    assert_eq!(
        config.source,
        DiscoverySource::OpenIdConfiguration(server.url("/.well-known/openid-configuration"))
    );
    assert_eq!(config.authorization_endpoint, server.url("/auth"));
    let (request, tokens) = connect(server, &sdk).await;
    assert_eq!(request.adapter_id(), "standard");
    assert_usable_tokens(server, &tokens).await;
}

// ---- Logs ----------------------------------------------------------------------------------------------------------

/// A tracing writer that keeps everything in memory.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs_at_trace_level() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // Thread-local: #[tokio::test] runs everything, reqwest's connection tasks included, on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);

    let sdk = client(
        server,
        Tweaked::new(&server.fhir_base).client_auth(ClientAuth::ClientSecretBasic),
        clients::SPECIAL_BASIC,
        Some(clients::SPECIAL_SECRET),
    );
    let (request, callback) = authorize(server, &sdk).await;
    let first = sdk
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    let second = sdk.refresh(&first).await.unwrap();
    let _ = sdk.refresh(&first).await.expect_err("spent");
    let saved = serde_json::to_value(&request.pending).unwrap();

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("smart_core"),
        "the SDK logged nothing at trace level; is the capture working?\n{text}"
    );
    // The secret as sent: form-encoded, and inside the Basic header.
    let encoded: String =
        url::form_urlencoded::byte_serialize(clients::SPECIAL_SECRET.as_bytes()).collect();
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{encoded}", clients::SPECIAL_BASIC),
    );
    let secrets = [
        ("client secret", clients::SPECIAL_SECRET.to_owned()),
        ("form-encoded client secret", encoded.clone()),
        ("Basic credentials", basic),
        ("code", query_param(&callback, "code").unwrap()),
        ("state", query_param(&callback, "state").unwrap()),
        (
            "verifier",
            saved["code_verifier"].as_str().unwrap().to_owned(),
        ),
        ("access token", secret(first.access_token()).to_owned()),
        (
            "refresh token",
            secret(first.refresh_token().unwrap()).to_owned(),
        ),
        (
            "rotated access token",
            secret(second.access_token()).to_owned(),
        ),
        (
            "rotated refresh token",
            secret(second.refresh_token().unwrap()).to_owned(),
        ),
    ];
    for (what, value) in secrets {
        assert!(!text.contains(&value), "the {what} is in the log:\n{text}");
    }
}

// ---- The harness ----------------------------------------------------------------------------------------------------

/// The guarantee that keeps test runs from leaking Node processes: the server goes away by itself when the
/// test process that holds its stdin does (shown here by closing stdin, as process exit does).
#[tokio::test]
async fn the_server_exits_when_its_stdin_closes() {
    let Some(server) = oidc_server::dedicated().await else {
        return;
    };
    let status = server.close_stdin_and_wait(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "the server did not exit on stdin EOF: {status:?}\n{}",
        server.log()
    );
}

// ---- Scopes negotiated from discovery ---------------------------------------------------------------------

#[tokio::test]
async fn scope_form_follows_discovery_v1_only_v2_only_and_both() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::BASIC;
    for (path, want, not) in [
        ("/fhir-v1", "patient/*.read", "patient/*.rs"),
        ("/fhir-v2", "patient/*.rs", "patient/*.read"),
        ("/fhir", "patient/*.rs", "patient/*.read"),
    ] {
        let sdk = client(server, Tweaked::new(&server.url(path)), id, Some(pw));
        let (request, callback) = authorize(server, &sdk).await;
        let asked = query_param(&request.url, "scope").unwrap();
        let asked: Vec<&str> = asked.split(' ').collect();
        assert!(asked.contains(&want), "{path}: asked {asked:?}");
        assert!(!asked.contains(&not), "{path}: asked {asked:?}");
        assert!(request.pending.scopes().iter().any(|s| s == want));
        let tokens = sdk
            .exchange_code(&request.pending, callback.as_str())
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}\n{}", server.log()));
        assert!(
            tokens.scopes().iter().any(|s| s == want),
            "{path}: {tokens:?}"
        );
        assert!(tokens.granted_scopes().allows_read("Condition"), "{path}");
        assert!(tokens.scopes_not_granted().is_empty(), "{path}: {tokens:?}");
    }
}

#[tokio::test]
async fn a_v2_only_server_refuses_v1_scopes_pinned_by_the_adapter() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::BASIC;
    let adapter = Tweaked::new(&server.url("/fhir-v2")).scope_form(ScopeForm::V1);
    let sdk = client(server, adapter, id, Some(pw));
    let (request, callback) = authorize(server, &sdk).await;
    assert!(
        request
            .pending
            .scopes()
            .iter()
            .any(|s| s == "patient/*.read")
    );
    match sdk.exchange_code(&request.pending, callback.as_str()).await {
        Err(Error::AuthorizationDenied { error, .. }) => assert_eq!(error, "invalid_scope"),
        other => panic!("expected invalid_scope, got {other:?}"),
    }
}

#[tokio::test]
async fn filtered_v2_grants_are_typed_and_missing_scopes_are_named() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::BASIC;
    let requested = [
        "openid",
        "offline_access",
        "launch/patient",
        "patient/Observation.rs?category=laboratory",
        "patient/Condition.rs",
        "patient/Coverage.rs",
    ];
    let sdk = SmartClient::builder(Arc::new(Tweaked::new(&server.url("/fhir-v2"))))
        .client_id(id)
        .client_secret(SecretString::from(pw))
        .redirect_uri(server.redirect_uri.as_str())
        .unwrap()
        .scopes(requested)
        .build()
        .unwrap();
    let (_, tokens) = connect(server, &sdk).await;
    let granted = tokens.granted_scopes();
    assert!(granted.allows_read("Condition"), "{tokens:?}");
    assert!(granted.allows_read_some("Observation"), "{tokens:?}");
    assert!(!granted.allows_read("Observation"), "only laboratory ones");
    assert!(!granted.allows_read_some("Coverage"));
    assert_eq!(tokens.scopes_not_granted(), ["patient/Coverage.rs"]);
    match tokens.require_scopes(&["patient/Condition.rs", "patient/Coverage.rs"]) {
        Err(Error::ScopesNotGranted { missing, .. }) => {
            assert_eq!(missing, ["patient/Coverage.rs"])
        }
        other => panic!("expected ScopesNotGranted, got {other:?}"),
    }
}

// ---- private_key_jwt (client-confidential-asymmetric) -----------------------------------------------------

fn fixture(name: &str) -> SecretString {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    SecretString::from(std::fs::read_to_string(&path).unwrap())
}

fn rs384_key(kid: &str) -> ClientKey {
    ClientKey::from_pem(&fixture("rs384-test-key.pem"), SigningAlgorithm::Rs384, kid).unwrap()
}

fn es384_key() -> ClientKey {
    ClientKey::from_jwk(&fixture("es384-test-key.jwk.json")).unwrap()
}

fn key_client(
    server: &OidcServer,
    adapter: Tweaked,
    client_id: &str,
    key: ClientKey,
) -> SmartClient {
    SmartClient::builder(Arc::new(adapter))
        .client_id(client_id)
        .client_key(key)
        .redirect_uri(server.redirect_uri.as_str())
        .unwrap()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn private_key_jwt_rs384_and_es384_for_exchange_refresh_and_revocation() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    for (client_id, key, registered) in [
        (
            clients::JWT_RS384,
            rs384_key("test-rs384"),
            "rs384-test-key.jwk.json",
        ),
        (clients::JWT_ES384, es384_key(), "es384-test-key.jwk.json"),
    ] {
        // Auto: discovery advertises private_key_jwt and the app has a key (and no secret).
        let sdk = key_client(server, Tweaked::new(&server.fhir_base), client_id, key);
        // The JWKS the app would publish is the public half the server has registered.
        let jwks = sdk.jwks().unwrap();
        let private: serde_json::Value =
            serde_json::from_str(fixture(registered).expose_secret()).unwrap();
        for field in ["kid", "kty", "n", "e", "x", "y"] {
            assert_eq!(
                jwks["keys"][0].get(field),
                private.get(field),
                "{client_id} {field}"
            );
        }
        assert!(jwks["keys"][0].get("d").is_none());

        let (_, tokens) = connect(server, &sdk).await;
        assert_usable_tokens(server, &tokens).await;
        let refreshed = sdk
            .refresh(&tokens)
            .await
            .unwrap_or_else(|e| panic!("{client_id} refresh: {e}\n{}", server.log()));
        assert_eq!(
            server
                .read_patient_status(secret(refreshed.access_token()))
                .await,
            200
        );
        let revocation = sdk
            .revoke(&refreshed)
            .await
            .unwrap_or_else(|e| panic!("{client_id} revoke: {e}\n{}", server.log()));
        assert!(
            matches!(
                revocation,
                Revocation::Revoked {
                    refresh_token: true,
                    access_token: true
                }
            ),
            "{revocation:?}"
        );
        assert_eq!(
            server
                .read_patient_status(secret(refreshed.access_token()))
                .await,
            401,
            "{client_id}: revoked with a client assertion"
        );
    }
}

#[tokio::test]
async fn private_key_jwt_with_an_unregistered_kid_is_refused() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let adapter = Tweaked::new(&server.fhir_base).client_auth(ClientAuth::PrivateKeyJwt);
    let sdk = key_client(
        server,
        adapter,
        clients::JWT_RS384,
        rs384_key("not-registered"),
    );
    let (request, callback) = authorize(server, &sdk).await;
    assert_invalid_client(sdk.exchange_code(&request.pending, callback.as_str()).await);
}

#[tokio::test]
async fn an_expired_client_assertion_is_refused_and_a_fresh_one_accepted() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let key = es384_key();
    let sdk = key_client(
        server,
        Tweaked::new(&server.fhir_base),
        clients::JWT_ES384,
        key.clone(),
    );
    let (_, tokens) = connect(server, &sdk).await;
    let token_endpoint = server.url("/token");
    let refresh = |assertion: SecretString| {
        let rt = secret(tokens.refresh_token().unwrap()).to_owned();
        let url = token_endpoint.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.expose_secret()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // Signed ten minutes ago for five minutes: expired beyond any clock tolerance.
    let expired = key
        .client_assertion(
            clients::JWT_ES384,
            &token_endpoint,
            SystemTime::now() - Duration::from_secs(600),
            Duration::from_secs(300),
        )
        .unwrap();
    let answer = refresh(expired).await;
    assert_eq!(answer.status(), 401);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{body}");
    // The same refresh token with a fresh assertion: accepted, so it was the expiry that was refused.
    let fresh = key
        .client_assertion(
            clients::JWT_ES384,
            &token_endpoint,
            SystemTime::now(),
            Duration::from_secs(60),
        )
        .unwrap();
    let answer = refresh(fresh).await;
    assert_eq!(answer.status(), 200, "{}", server.log());
}

// ---- Verified id tokens -------------------------------------------------------------------------------------

#[tokio::test]
async fn oidc_provider_id_tokens_are_verified_with_the_nonce_sent() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::FHIRUSER;
    let sdk = client(server, Tweaked::new(&server.fhir_base), id, Some(pw));
    let (request, callback) = authorize(server, &sdk).await;
    let nonce = request
        .pending
        .nonce()
        .expect("openid requested, so a nonce")
        .clone();
    assert_eq!(
        query_param(&request.url, "nonce").as_deref(),
        Some(nonce.expose_secret())
    );
    let tokens = sdk
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    // The patient came from the verified id token (this client's token responses carry no `patient`).
    assert_eq!(tokens.patient(), Some(server.patient.as_str()));
    let id_token = tokens.id_token().unwrap();
    let claims = sdk.verify_id_token(id_token, Some(&nonce)).await.unwrap();
    assert_eq!(claims["nonce"], nonce.expose_secret());
    assert_eq!(claims["iss"], server.issuer.as_str().trim_end_matches('/'));
    assert_eq!(claims["aud"], id);

    // The same real token, checked as another client's, with another nonce, or with its payload changed.
    let (other, other_pw) = clients::BASIC;
    let other_sdk = client(
        server,
        Tweaked::new(&server.fhir_base),
        other,
        Some(other_pw),
    );
    let expect_invalid = |r: Result<serde_json::Map<String, serde_json::Value>, Error>,
                          needle: &str| match r {
        Err(Error::InvalidIdToken { reason }) => assert!(reason.contains(needle), "{reason}"),
        other => panic!("expected InvalidIdToken ({needle}), got {other:?}"),
    };
    expect_invalid(other_sdk.verify_id_token(id_token, None).await, "aud");
    expect_invalid(
        sdk.verify_id_token(id_token, Some(&SecretString::from("another-nonce")))
            .await,
        "nonce",
    );
    let parts: Vec<&str> = secret(id_token).split('.').collect();
    let mut payload: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[1])
            .unwrap(),
    )
    .unwrap();
    payload["fhirUser"] = serde_json::json!("Patient/someone-else");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            payload.to_string()
        ),
        parts[2]
    );
    expect_invalid(
        sdk.verify_id_token(&SecretString::from(forged), None).await,
        "signature",
    );
}

#[tokio::test]
async fn an_id_token_without_the_nonce_of_the_pending_authorization_fails_the_exchange() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::FHIRUSER;
    let sdk = client(server, Tweaked::new(&server.fhir_base), id, Some(pw));
    let (request, callback) = authorize(server, &sdk).await;
    // The web app's session came back with another nonce (a mix-up or an injected code).
    let mut saved = serde_json::to_value(&request.pending).unwrap();
    saved["nonce"] = serde_json::json!("a-nonce-this-login-never-sent");
    let pending: PendingAuthorization = serde_json::from_value(saved).unwrap();
    match sdk.exchange_code(&pending, callback.as_str()).await {
        Err(Error::InvalidIdToken { reason }) => assert!(reason.contains("nonce"), "{reason}"),
        other => panic!("expected InvalidIdToken, got {other:?}"),
    }
}
