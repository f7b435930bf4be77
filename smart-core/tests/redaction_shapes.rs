//! Every secret shape through every error path that can carry a body excerpt or a URL: the secret value never
//! appears in the error's `Display` or `Debug`, nor in what `tracing` records at TRACE level.
//!
//! Shapes: snake and camel keys (`access_token` … `clientSecret`) in JSON, in escaped JSON inside a JSON string,
//! form-encoded and in a query string; `Authorization: Bearer x` / `Basic x` lines; userinfo in a URL.
//! Paths: the token endpoint's OAuth error (`error` and `error_description`), an unexpected response's excerpt
//! (token endpoint and FHIR), `Error::Config` from `parse_secure_url`, and discovery errors. (The web app's store
//! errors have their own test, `store_errors_never_quote_a_stored_value`, in `examples/web_app/store.rs`.)
//!
//! The subscriber is set for this test's thread only (`set_default`), and the runtime is current-thread, so
//! every record of the flow lands in the buffer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use smart_core::fhir::FhirClient;
use smart_core::{Error, SecretString, StaticTokens, TokenSet};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
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

const KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code",
    "code_verifier",
    "client_assertion",
    "accessToken",
    "refreshToken",
    "idToken",
    "clientSecret",
];

/// `(what, text that carries the secret, the secret)`.
fn shapes() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut n = 0;
    let mut secret = || {
        n += 1;
        format!("SEKRIT{n}x")
    };
    for key in KEYS {
        let s = secret();
        out.push((
            format!("json {key}"),
            format!(r#"{{"{key}":"{s}","x":1}}"#),
            s,
        ));
        let s = secret();
        out.push((
            format!("json spaced {key}"),
            format!(r#"{{ "{key}" : "{s}" }}"#),
            s,
        ));
        let s = secret();
        out.push((
            format!("escaped json {key}"),
            format!(r#"{{"detail":"{{\"{key}\":\"{s}\"}}"}}"#),
            s,
        ));
        let s = secret();
        out.push((format!("form {key}"), format!("grant=x&{key}={s}&y=2"), s));
        let s = secret();
        out.push((
            format!("query {key}"),
            format!("redirected to https://app.example/cb?{key}={s}&state=1"),
            s,
        ));
    }
    for scheme in ["Bearer", "Basic", "bearer"] {
        let s = secret();
        out.push((
            format!("authorization {scheme}"),
            format!("request had Authorization: {scheme} {s}\nand failed"),
            s,
        ));
    }
    let s = secret();
    out.push((
        "userinfo".into(),
        format!("see https://app-user:{s}@payer.example/fhir/x"),
        s,
    ));
    out
}

fn assert_hidden(what: &str, path: &str, secret: &str, err: &Error) {
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(
            !shown.contains(secret),
            "{path} / {what}: the secret is in {shown}"
        );
    }
}

#[tokio::test]
async fn every_secret_shape_is_hidden_on_every_error_path() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace,wiremock=off"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let shapes = shapes();
    assert!(shapes.len() > 50);
    let mut seen = 0;
    for (what, text, secret) in &shapes {
        // 1. The token endpoint's OAuth error: the description, and the error code itself.
        for body in [
            json!({"error": "invalid_request", "error_description": text}),
            json!({"error": text}),
        ] {
            let server = payer().await;
            Mock::given(method("POST"))
                .and(path("/auth/token"))
                .respond_with(ResponseTemplate::new(400).set_body_json(body))
                .mount(&server)
                .await;
            let c = client(&server, Some(SECRET));
            let req = c.authorize_url().await.unwrap();
            let err = c
                .exchange_code(&req.pending, &callback(&req, "a-code"))
                .await
                .unwrap_err();
            assert!(matches!(err, Error::OAuth { .. }), "{err:?}");
            assert_hidden(what, "token endpoint OAuth error", secret, &err);
            seen += 1;
        }

        // 2. An unexpected answer's excerpt: from the token endpoint (an HTML gateway page) and from FHIR.
        let server = payer().await;
        Mock::given(method("POST"))
            .and(path("/auth/token"))
            .respond_with(
                ResponseTemplate::new(502)
                    .set_body_raw(format!("<html><body>{text}</body></html>"), "text/html"),
            )
            .mount(&server)
            .await;
        Mock::given(path("/fhir/Patient/pat-1"))
            .respond_with(ResponseTemplate::new(400).set_body_raw(text.clone(), "text/plain"))
            .mount(&server)
            .await;
        let c = client(&server, Some(SECRET));
        let req = c.authorize_url().await.unwrap();
        let err = c
            .exchange_code(&req.pending, &callback(&req, "a-code"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
        assert_hidden(what, "token endpoint excerpt", secret, &err);
        let fhir = FhirClient::builder(Arc::new(TestAdapter::new(&server)))
            .token_source(Arc::new(StaticTokens::new(
                TokenSet::bearer(
                    SecretString::from("at-redaction"),
                    Some(Duration::from_secs(3600)),
                )
                .with_patient("pat-1"),
            )))
            .build()
            .unwrap();
        let err = fhir.patient().await.unwrap_err();
        assert!(
            matches!(err, Error::UnexpectedResponse { status: 400, .. }),
            "{err:?}"
        );
        assert_hidden(what, "FHIR excerpt", secret, &err);

        // 3. Config from parse_secure_url: the shape in the query, the fragment, the userinfo, or as the URL.
        let encoded: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
        for bad in [
            format!("https://payer.example:99999/fhir?x={encoded}"),
            format!("https://payer.example:99999/fhir#{encoded}"),
            format!("https://u:{secret}@payer.example:99999/fhir"),
            format!("mailto:{secret}@x?{encoded}"),
            text.clone(),
        ] {
            if let Err(err) = smart_core::url_policy::parse_secure_url(&bad) {
                assert_hidden(what, "parse_secure_url", secret, &err);
                seen += 1;
            }
        }

        // 4. Discovery: the smart-configuration is an HTML page that echoes the shape.
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(format!("<html><p>{text}</p></html>"), "text/html"),
            )
            .mount(&server)
            .await;
        let err = client(&server, Some(SECRET))
            .authorize_url()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Discovery { .. }), "{err:?}");
        assert_hidden(what, "discovery", secret, &err);
        seen += 4;
    }
    assert!(seen >= shapes.len() * 7, "{seen}");

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("smart_core"),
        "the capture saw the SDK's records"
    );
    for (what, _, secret) in &shapes {
        assert!(
            !logs.contains(secret.as_str()),
            "{what}: the secret is in the TRACE logs"
        );
    }
}
