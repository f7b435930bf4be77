//! The whole flow with `tracing` at TRACE captured into a buffer: no client secret, token, code, state or PKCE
//! verifier may appear in the logs, in the `Debug` output of any public type, or in any error's `Display`
//! or `Debug`.
//!
//! One test in this binary, because it installs the global subscriber (which also bridges the `log` records
//! of reqwest and hyper). wiremock's own records are filtered out: they describe what the test server
//! received, which is the test's side of the wire, not the SDK's logging.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde_json::json;
use smart_core::{
    Error, ExposeSecret, MemoryTokenStore, SecretString, StoredTokens, TokenSet, TokenStore,
    Version, async_trait,
};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};
use wiremock_support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
struct Broken;
#[async_trait]
impl TokenStore for Broken {
    async fn load(&self, _: &str) -> smart_core::Result<Option<StoredTokens>> {
        Ok(Some(StoredTokens::new(
            TokenSet::bearer(
                SecretString::from("AT-IN-BROKEN-STORE"),
                Some(Duration::ZERO),
            )
            .with_refresh_token(SecretString::from("RT-IN-BROKEN-STORE")),
            1,
        )))
    }
    async fn save(&self, _: &str, _: &TokenSet, _: Option<Version>) -> smart_core::Result<Version> {
        Err(Error::Store("database unavailable".into()))
    }
    async fn delete(&self, _: &str) -> smart_core::Result<()> {
        Ok(())
    }
    // The one session in the test is the only holder.
    async fn try_claim_refresh(
        &self,
        _: &str,
        _: &str,
        _: Duration,
    ) -> smart_core::Result<smart_core::LeaseClaim> {
        Ok(smart_core::LeaseClaim::Claimed)
    }
    async fn release_refresh(&self, _: &str, _: &str) -> smart_core::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_logs_debug_or_errors() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace,wiremock=off"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .unwrap();

    // A payer with a JWKS: the id token below is really signed (test-only fixture key), so the whole
    // verification path runs under the TRACE subscriber too.
    let server = wiremock::MockServer::start().await;
    let mut cfg = smart_config(&server);
    cfg["jwks_uri"] = json!(format!("{}/auth/jwks", server.uri()));
    mount_smart_config(&server, cfg).await;
    let issuer_key = smart_core::ClientKey::from_jwk(&SecretString::from(
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/rs384-test-key.jwk.json"
        ))
        .unwrap(),
    ))
    .unwrap();
    Mock::given(method("GET"))
        .and(path("/auth/jwks"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(smart_core::jwks_document(&[&issuer_key])),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=BAD-CODE"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(
            "<html><body>upstream said access_token=AT-ECHOED-SECRET&refresh_token=RT-ECHOED-SECRET</body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=INVALID-GRANT-CODE"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "AT-SECOND-SECRET", "token_type": "Bearer", "expires_in": 3600,
            "refresh_token": "RT-SECOND-SECRET"
        })))
        .mount(&server)
        .await;
    Mock::given(path("/auth/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;

    let mut errors: Vec<Error> = Vec::new();
    let mut debugs: Vec<String> = Vec::new();

    let builder = builder(TestAdapter::new(&server), Some(SECRET));
    debugs.push(format!("{builder:?}"));
    let c = builder.build().unwrap();
    let req = c.authorize_url().await.unwrap();
    let state = query(&req.url)["state"].clone();
    let nonce = req.pending.nonce().unwrap().expose_secret().to_owned();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let id_token = issuer_key
        .sign_jwt(&json!({
            "iss": format!("{}/auth", server.uri()), "aud": CLIENT_ID, "iat": now, "exp": now + 300,
            "sub": "member", "fhirUser": "Patient/pat-123", "nonce": nonce,
        }))
        .unwrap()
        .expose_secret()
        .to_owned();
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=GOOD-CODE"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "AT-FIRST-SECRET", "token_type": "Bearer", "expires_in": 1,
            "refresh_token": "RT-FIRST-SECRET", "id_token": id_token,
            "payer_session_token": "EXTRA-SECRET"
        })))
        .mount(&server)
        .await;

    debugs.push(format!("{c:?} {req:?} {:?}", req.pending));

    // Failures on the callback.
    errors.push(
        c.exchange_code(&req.pending, "code=GOOD-CODE&state=WRONG-STATE-VALUE")
            .await
            .unwrap_err(),
    );
    let cb = |code: &str| {
        let mut u = url::Url::parse(REDIRECT).unwrap();
        u.query_pairs_mut()
            .append_pair("code", code)
            .append_pair("state", &state);
        u.to_string()
    };
    errors.push(
        c.exchange_code(&req.pending, &cb("BAD-CODE"))
            .await
            .unwrap_err(),
    );
    errors.push(
        c.exchange_code(&req.pending, &cb("INVALID-GRANT-CODE"))
            .await
            .unwrap_err(),
    );
    errors.push(
        c.exchange_code(&req.pending, &format!("{}&code=GOOD-CODE", cb("GOOD-CODE")))
            .await
            .unwrap_err(),
    );

    // The good path, then a session that must refresh (expires_in 1 < skew).
    let tokens = c
        .exchange_code(&req.pending, &cb("GOOD-CODE"))
        .await
        .unwrap();
    assert_eq!(tokens.patient(), Some("pat-123"));
    debugs.push(format!("{tokens:?}"));
    let store = Arc::new(MemoryTokenStore::new());
    let session = c.session(store.clone(), "member-1");
    session.save_new(tokens).await.unwrap();
    let current = session.current().await.unwrap();
    assert_eq!(current.access_token().expose_secret(), "AT-SECOND-SECRET");
    debugs.push(format!(
        "{current:?} {session:?} {store:?} {:?}",
        store.load("member-1").await.unwrap()
    ));

    // A store that fails to save a refreshed token.
    let broken = c.session(Arc::new(Broken), "member-2");
    errors.push(broken.current().await.unwrap_err());

    let outcome = session.disconnect().await.unwrap();
    assert!(outcome.revoked_at_payer);
    debugs.push(format!("{outcome:?}"));

    // What must never show up anywhere.
    let verifier = form(&requests_to(&server, "/auth/token").await[0])["code_verifier"].clone();
    assert!(verifier.len() >= 43);
    let basic =
        base64::engine::general_purpose::STANDARD.encode("test-app:p%40ss+w%2Brd%2F%3D%3A%25");
    let secrets: Vec<String> = vec![
        SECRET.into(),
        "p%40ss".into(),
        basic,
        "AT-FIRST-SECRET".into(),
        "RT-FIRST-SECRET".into(),
        "AT-SECOND-SECRET".into(),
        "RT-SECOND-SECRET".into(),
        "AT-ECHOED-SECRET".into(),
        "RT-ECHOED-SECRET".into(),
        "AT-IN-BROKEN-STORE".into(),
        "RT-IN-BROKEN-STORE".into(),
        "EXTRA-SECRET".into(),
        id_token.clone(),
        id_token.split('.').nth(1).unwrap().to_owned(),
        nonce.clone(),
        "GOOD-CODE".into(),
        "BAD-CODE".into(),
        "INVALID-GRANT-CODE".into(),
        state.clone(),
        "WRONG-STATE-VALUE".into(),
        verifier,
    ];

    let mut texts = debugs.clone();
    for e in &errors {
        texts.push(format!("{e}"));
        texts.push(format!("{e:?}"));
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            texts.push(format!("{s} {s:?}"));
            source = s.source();
        }
    }
    let log = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // The capture works and covers the SDK's HTTP calls.
    assert!(
        log.contains("smart_core"),
        "no SDK records captured:\n{log}"
    );
    assert!(log.contains("/auth/token"), "{log}");
    assert!(log.contains("/auth/revoke"), "{log}");
    texts.push(log);

    for secret in &secrets {
        for text in &texts {
            assert!(
                !text.contains(secret.as_str()),
                "{secret:?} leaked into:\n{text}"
            );
        }
    }
    // The errors are the ones expected, each still saying what happened.
    assert!(matches!(errors[0], Error::StateMismatch));
    assert!(matches!(
        errors[1],
        Error::UnexpectedResponse { status: 502, .. }
    ));
    assert!(
        errors[1].to_string().contains("upstream said"),
        "{}",
        errors[1]
    );
    assert!(matches!(&errors[2], Error::OAuth { error, .. } if error == "invalid_grant"));
    assert!(matches!(errors[3], Error::InvalidCallback(_)));
    assert!(matches!(errors[4], Error::Store(_)));
    let _ = SystemTime::now();
}
