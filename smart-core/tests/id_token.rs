//! Id tokens are verified before any claim is used: signature against the issuer's JWKS (cached, fetched again
//! once for an unknown `kid`), `iss`, `aud`, `exp`/`iat`, and the `nonce` sent on the authorize request. The
//! issuer here is a wiremock payer whose id tokens are signed with the test-only fixture keys; the same checks
//! run against oidc-provider's real id tokens in `interop.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_support;

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use smart_core::{
    AuthorizationRequest, ClientKey, Error, ExposeSecret, IdTokenPolicy, SecretString,
    SigningAlgorithm, SmartClient,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wiremock_support::*;

fn fixture(name: &str) -> SecretString {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    SecretString::from(std::fs::read_to_string(&path).unwrap())
}

/// The issuer's two keys (here: the test-only fixtures, kids `test-rs384` and `test-es384`).
fn rsa_key() -> ClientKey {
    ClientKey::from_jwk(&fixture("rs384-test-key.jwk.json")).unwrap()
}
fn ec_key() -> ClientKey {
    ClientKey::from_pem(
        &fixture("es384-test-key.pem"),
        SigningAlgorithm::Es384,
        "test-es384",
    )
    .unwrap()
}

/// A payer whose discovery names `/auth/jwks` (unless `jwks` is false).
async fn issuer(jwks: bool) -> MockServer {
    let server = MockServer::start().await;
    let mut cfg = smart_config(&server);
    if jwks {
        cfg["jwks_uri"] = json!(format!("{}/auth/jwks", server.uri()));
    }
    mount_smart_config(&server, cfg).await;
    server
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Good claims for `req`'s nonce, naming Patient p-9 through `fhirUser`.
fn claims(server: &MockServer, req: &AuthorizationRequest) -> Value {
    json!({
        "iss": format!("{}/auth", server.uri()),
        "sub": "member-9",
        "aud": CLIENT_ID,
        "iat": now(),
        "exp": now() + 300,
        "nonce": req.pending.nonce().map(|n| n.expose_secret().to_owned()),
        "fhirUser": "Patient/p-9",
    })
}

/// authorize → a token response (served once) carrying `id_token` and no `patient` → exchange.
async fn exchange_with(
    server: &MockServer,
    c: &SmartClient,
    make_id_token: impl FnOnce(&AuthorizationRequest) -> String,
) -> Result<smart_core::TokenSet, Error> {
    let req = c.authorize_url().await.unwrap();
    let mut body = token_json("at-1", Some("rt-1"), 3600.into());
    body.as_object_mut().unwrap().remove("patient");
    body["id_token"] = json!(make_id_token(&req));
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .up_to_n_times(1)
        .mount(server)
        .await;
    c.exchange_code(&req.pending, &callback(&req, "the-code"))
        .await
}

async fn serve_jwks(server: &MockServer, keys: &[&ClientKey]) {
    Mock::given(method("GET"))
        .and(path("/auth/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(smart_core::jwks_document(keys)))
        .mount(server)
        .await;
}

fn expect_invalid(result: Result<smart_core::TokenSet, Error>, needle: &str) {
    match result {
        Err(Error::InvalidIdToken { reason }) => {
            assert!(reason.contains(needle), "{reason}")
        }
        other => panic!("expected InvalidIdToken ({needle}), got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_id_token_is_verified_and_its_fhir_user_names_the_patient() {
    let server = issuer(true).await;
    let c = client(&server, Some(SECRET));
    serve_jwks(&server, &[&rsa_key(), &ec_key()]).await;
    let tokens = exchange_with(&server, &c, |req| {
        let nonce = query(&req.url)["nonce"].clone();
        assert_eq!(
            Some(nonce.as_str()),
            req.pending.nonce().map(|n| n.expose_secret())
        );
        assert!(nonce.len() >= 43, "a 256-bit nonce");
        rsa_key()
            .sign_jwt(&claims(&server, req))
            .unwrap()
            .expose_secret()
            .to_owned()
    })
    .await
    .unwrap();
    assert_eq!(tokens.patient(), Some("p-9"));
}

#[tokio::test]
async fn a_tampered_wrong_nonce_or_foreign_id_token_is_refused_and_never_names_the_patient() {
    let server = issuer(true).await;
    let c = client(&server, Some(SECRET));
    serve_jwks(&server, &[&rsa_key(), &ec_key()]).await;
    type Case = (
        &'static str,
        Box<dyn Fn(&MockServer, &AuthorizationRequest) -> String>,
    );
    let cases: Vec<Case> = vec![
        (
            "signature",
            Box::new(|s, req| {
                // Another patient in the payload, the original signature kept.
                let good = rsa_key().sign_jwt(&claims(s, req)).unwrap();
                let parts: Vec<&str> = good.expose_secret().split('.').collect();
                let mut c = claims(s, req);
                c["fhirUser"] = json!("Patient/someone-else");
                let forged = URL_SAFE_NO_PAD.encode(c.to_string());
                format!("{}.{forged}.{}", parts[0], parts[2])
            }),
        ),
        (
            "nonce",
            Box::new(|s, req| {
                let mut c = claims(s, req);
                c["nonce"] = json!("not-the-nonce-we-sent");
                rsa_key().sign_jwt(&c).unwrap().expose_secret().to_owned()
            }),
        ),
        (
            "aud",
            Box::new(|s, req| {
                let mut c = claims(s, req);
                c["aud"] = json!("another-app");
                ec_key().sign_jwt(&c).unwrap().expose_secret().to_owned()
            }),
        ),
        (
            "iss",
            Box::new(|s, req| {
                let mut c = claims(s, req);
                c["iss"] = json!("https://evil.example");
                ec_key().sign_jwt(&c).unwrap().expose_secret().to_owned()
            }),
        ),
        (
            "expired",
            Box::new(|s, req| {
                let mut c = claims(s, req);
                c["exp"] = json!(now() - 600);
                rsa_key().sign_jwt(&c).unwrap().expose_secret().to_owned()
            }),
        ),
        (
            "alg none",
            Box::new(|s, req| {
                let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
                let payload = URL_SAFE_NO_PAD.encode(claims(s, req).to_string());
                format!("{header}.{payload}.")
            }),
        ),
    ];
    for (needle, make) in cases {
        let result = exchange_with(&server, &c, |req| make(&server, req)).await;
        let shown = format!("{result:?}");
        assert!(
            !shown.contains("p-9") && !shown.contains("someone-else"),
            "{shown}"
        );
        expect_invalid(result, needle.split(' ').next().unwrap_or(needle));
    }
}

#[tokio::test]
async fn the_jwks_is_cached_and_fetched_again_once_for_an_unknown_kid() {
    let server = issuer(true).await;
    // Before the rotation the issuer publishes only its EC key; afterwards, the RSA key too.
    Mock::given(method("GET"))
        .and(path("/auth/jwks"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(smart_core::jwks_document(&[&ec_key()])),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    serve_jwks(&server, &[&ec_key(), &rsa_key()]).await;
    let c = client(&server, Some(SECRET));
    let sign = |key: ClientKey| {
        let server = &server;
        move |req: &AuthorizationRequest| {
            key.sign_jwt(&claims(server, req))
                .unwrap()
                .expose_secret()
                .to_owned()
        }
    };
    exchange_with(&server, &c, sign(ec_key())).await.unwrap();
    exchange_with(&server, &c, sign(ec_key())).await.unwrap();
    assert_eq!(requests_to(&server, "/auth/jwks").await.len(), 1, "cached");
    exchange_with(&server, &c, sign(rsa_key())).await.unwrap();
    assert_eq!(
        requests_to(&server, "/auth/jwks").await.len(),
        2,
        "unknown kid: fetched again"
    );
    let gone = ClientKey::from_pem(
        &fixture("rs384-test-key.pem"),
        SigningAlgorithm::Rs384,
        "rotated-away",
    )
    .unwrap();
    expect_invalid(exchange_with(&server, &c, sign(gone)).await, "rotated-away");
    assert_eq!(
        requests_to(&server, "/auth/jwks").await.len(),
        3,
        "fetched again once, not in a loop"
    );
}

#[tokio::test]
async fn without_a_jwks_uri_the_adapter_decides() {
    let server = issuer(false).await;
    let c = client(&server, Some(SECRET));
    let make = |req: &AuthorizationRequest| {
        rsa_key()
            .sign_jwt(&claims(&server, req))
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    expect_invalid(exchange_with(&server, &c, make).await, "jwks_uri");
    let mut adapter = TestAdapter::new(&server);
    adapter.id_token_policy = IdTokenPolicy::AllowUnverifiedWithoutJwks;
    let c = builder(adapter, Some(SECRET)).build().unwrap();
    let tokens = exchange_with(&server, &c, make).await.unwrap();
    assert_eq!(tokens.patient(), Some("p-9"), "the documented opt-out");
}
