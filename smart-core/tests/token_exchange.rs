//! The code exchange against a simulated token endpoint: client authentication, lenient parsing, and every
//! way a token endpoint misbehaves. Never a panic; every failure a typed error without secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_support;

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde_json::json;
use smart_core::{
    ClientAuth, EndpointOverrides, Error, ExposeSecret, PatientIdSource, SmartClient, Stage,
    TokenSet, TransportKind,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wiremock_support::*;

/// Runs authorize → callback → exchange against `server` with `c`.
async fn exchange(c: &SmartClient) -> Result<TokenSet, Error> {
    let req = c.authorize_url().await.unwrap();
    c.exchange_code(&req.pending, &callback(&req, "the-code"))
        .await
}

async fn token_responds(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(response)
        .mount(server)
        .await;
}

fn ok_tokens() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(token_json("at-1", Some("rt-1"), 3600.into()))
}

// ---- client authentication ----------------------------------------------------------------------------

#[tokio::test]
async fn client_secret_basic_form_encodes_id_and_secret_before_base64() {
    let server = payer().await;
    // RFC 6749 §2.3.1: application/x-www-form-urlencoded first, so ' ' is '+', '@' is %40, '+' is %2B ...
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("test-app:p%40ss+w%2Brd%2F%3D%3A%25")
    );
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .and(header("authorization", expected.as_str()))
        .respond_with(ok_tokens())
        .expect(1)
        .mount(&server)
        .await;
    let tokens = exchange(&client(&server, Some(SECRET))).await.unwrap();
    assert_eq!(tokens.access_token().expose_secret(), "at-1");
    let req = &requests_to(&server, "/auth/token").await[0];
    let body = form(req);
    assert!(!body.contains_key("client_secret"), "{body:?}");
    assert!(
        !body.contains_key("client_id"),
        "Basic carries the id: {body:?}"
    );
    assert!(body.contains_key("code_verifier"));
    assert_eq!(
        req.headers.get("content-type").unwrap().to_str().unwrap(),
        "application/x-www-form-urlencoded"
    );
    server.verify().await;
}

#[tokio::test]
async fn client_secret_post_puts_id_and_secret_in_the_body_and_no_header() {
    let server = MockServer::start().await;
    let mut cfg = smart_config(&server);
    cfg["token_endpoint_auth_methods_supported"] = json!(["client_secret_post"]);
    mount_smart_config(&server, cfg).await;
    token_responds(&server, ok_tokens()).await;
    exchange(&client(&server, Some(SECRET))).await.unwrap();
    let req = &requests_to(&server, "/auth/token").await[0];
    assert!(req.headers.get("authorization").is_none());
    let body = form(req);
    assert_eq!(body["client_id"], CLIENT_ID);
    assert_eq!(body["client_secret"], SECRET);
    assert!(body.contains_key("code_verifier"));
}

#[tokio::test]
async fn adapter_choice_of_post_wins_over_discovery() {
    let server = payer().await; // advertises basic and post
    token_responds(&server, ok_tokens()).await;
    let mut a = TestAdapter::new(&server);
    a.client_auth = ClientAuth::ClientSecretPost;
    exchange(&builder(a, Some(SECRET)).build().unwrap())
        .await
        .unwrap();
    let req = &requests_to(&server, "/auth/token").await[0];
    assert!(req.headers.get("authorization").is_none());
    assert_eq!(form(req)["client_secret"], SECRET);
}

#[tokio::test]
async fn public_client_sends_client_id_and_no_secret() {
    let server = payer().await;
    token_responds(&server, ok_tokens()).await;
    exchange(&client(&server, None)).await.unwrap();
    let req = &requests_to(&server, "/auth/token").await[0];
    assert!(req.headers.get("authorization").is_none());
    let body = form(req);
    assert_eq!(body["client_id"], CLIENT_ID);
    assert!(!body.contains_key("client_secret"));
    assert!(body["code_verifier"].len() >= 43);
    assert_eq!(body["grant_type"], "authorization_code");
}

#[tokio::test]
async fn a_json_token_request_for_payers_that_want_one() {
    let server = payer().await;
    token_responds(&server, ok_tokens()).await;
    let mut a = TestAdapter::new(&server);
    a.token_format = smart_core::TokenRequestFormat::Json;
    exchange(&builder(a, Some(SECRET)).build().unwrap())
        .await
        .unwrap();
    let req = &requests_to(&server, "/auth/token").await[0];
    assert!(
        req.headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(
        req.headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["grant_type"], "authorization_code");
    assert_eq!(body["code"], "the-code");
    assert!(body["code_verifier"].as_str().unwrap().len() >= 43);
    assert!(body.get("client_secret").is_none());
}

#[tokio::test]
async fn confidential_adapter_without_secret_is_a_configuration_error() {
    let server = MockServer::start().await;
    let mut a = TestAdapter::new(&server);
    a.client_auth = ClientAuth::ClientSecretBasic;
    let err = builder(a, None).build().unwrap_err();
    assert_eq!(err.stage(), Stage::Configuration);
}

// ---- lenient parsing --------------------------------------------------------------------------------------

#[tokio::test]
async fn expires_in_as_a_string_lowercase_bearer_missing_scope_and_extra_fields() {
    let server = payer().await;
    token_responds(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at", "token_type": "bearer", "expires_in": "3600",
            "refresh_token": "rt", "patient": "p-9", "encounter": "e-1",
            "need_patient_banner": false, "smart_style_url": "https://x.example/style.json",
            "access_grant_expiration": "2030-01-01 00:00:00.000000Z",
            "vendor_field": [1, 2]
        })),
    )
    .await;
    let t = exchange(&client(&server, None)).await.unwrap();
    let left = t
        .expires_at()
        .unwrap()
        .duration_since(SystemTime::now())
        .unwrap();
    assert!(left > Duration::from_secs(3500), "{left:?}");
    assert_eq!(t.token_type(), "Bearer");
    assert_eq!(
        t.scopes(),
        [
            "launch/patient",
            "openid",
            "fhirUser",
            "offline_access",
            "patient/*.read"
        ]
    );
    assert_eq!(t.patient(), Some("p-9"));
    assert_eq!(t.encounter(), Some("e-1"));
    assert_eq!(t.need_patient_banner(), Some(false));
    assert_eq!(t.smart_style_url(), Some("https://x.example/style.json"));
    assert!(t.consent_expires_at().is_some());
    assert_eq!(t.extra()["vendor_field"], json!([1, 2]));
    assert_eq!(t.refresh_token().unwrap().expose_secret(), "rt");
}

fn jwt(claims: serde_json::Value) -> String {
    let e = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    format!(
        "{}.{}.{}",
        e(br#"{"alg":"RS256","typ":"JWT"}"#),
        e(claims.to_string().as_bytes()),
        e(b"sig")
    )
}

#[tokio::test]
async fn patient_from_id_token_fhir_user_then_jwt_access_token() {
    let server = payer().await;
    let guard = Mock::given(path("/auth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "opaque", "token_type": "Bearer",
            "id_token": jwt(json!({"sub": "u1", "fhirUser": format!("{}/fhir/Patient/from-id-token", server.uri())}))
        })))
        .mount_as_scoped(&server)
        .await;
    // This payer publishes no jwks_uri, so its (unsigned) id token cannot be verified: refused by default...
    let c = client(&server, None);
    match exchange(&c).await {
        Err(Error::InvalidIdToken { reason }) => assert!(reason.contains("jwks_uri"), "{reason}"),
        other => panic!("expected InvalidIdToken, got {other:?}"),
    }
    // ...and read, unverified, by an adapter that documents the opt-out.
    let mut adapter = TestAdapter::new(&server);
    adapter.id_token_policy = smart_core::IdTokenPolicy::AllowUnverifiedWithoutJwks;
    let c = builder(adapter, None).build().unwrap();
    assert_eq!(exchange(&c).await.unwrap().patient(), Some("from-id-token"));
    drop(guard);
    token_responds(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": jwt(json!({"patient": "from-access-token"})), "token_type": "Bearer"
        })),
    )
    .await;
    assert_eq!(
        exchange(&c).await.unwrap().patient(),
        Some("from-access-token")
    );
}

#[tokio::test]
async fn patient_from_userinfo_when_the_adapter_says_so() {
    // Cigna: the id is only at {fhir_base}/$userinfo.
    let server = payer().await;
    token_responds(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": "at-ui", "token_type": "Bearer"})),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/fhir/$userinfo"))
        .and(header("authorization", "Bearer at-ui"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"patient": "cigna-1", "sub": "x"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut a = TestAdapter::new(&server);
    a.patient_source = PatientIdSource::Userinfo(Some(
        Url::parse(&format!("{}/fhir/$userinfo", server.uri())).unwrap(),
    ));
    let t = exchange(&builder(a, None).build().unwrap()).await.unwrap();
    assert_eq!(t.patient(), Some("cigna-1"));
    server.verify().await;
}

// ---- bad answers ------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_json_is_invalid_token_response_without_the_body() {
    let server = payer().await;
    token_responds(
        &server,
        ResponseTemplate::new(200).set_body_raw(
            r#"{"access_token": "AT-LEAKED", "expires_in": }"#,
            "application/json",
        ),
    )
    .await;
    let err = exchange(&client(&server, None)).await.unwrap_err();
    assert!(matches!(err, Error::InvalidTokenResponse(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("AT-LEAKED"));
}

#[tokio::test]
async fn missing_access_token_and_wrong_types_are_invalid_token_responses() {
    for body in [
        json!({"token_type": "Bearer", "expires_in": 3600}),
        json!({"access_token": 12345}),
        json!({"access_token": "AT-LEAKED", "expires_in": {"secs": 1}}),
        json!(["not", "an", "object"]),
    ] {
        let server = payer().await;
        token_responds(&server, ResponseTemplate::new(200).set_body_json(&body)).await;
        let err = exchange(&client(&server, None)).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidTokenResponse(_)),
            "{body} -> {err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("AT-LEAKED"));
    }
}

#[tokio::test]
async fn html_error_page_is_unexpected_response_with_an_excerpt() {
    let server = payer().await;
    token_responds(
        &server,
        ResponseTemplate::new(502).set_body_raw(
            "<!DOCTYPE html>\n<html>\n  <head><title>502 Bad Gateway</title></head>\n  <body>nginx</body></html>",
            "text/html; charset=utf-8",
        ),
    )
    .await;
    let err = exchange(&client(&server, None)).await.unwrap_err();
    match &err {
        Error::UnexpectedResponse {
            stage,
            status,
            content_type,
            excerpt,
            url,
            payer_hint,
        } => {
            // The Standard adapter recognises no payer-specific failure.
            assert_eq!(payer_hint, &None);
            assert_eq!(*stage, Stage::Token);
            assert_eq!(*status, 502);
            assert_eq!(content_type.as_deref(), Some("text/html; charset=utf-8"));
            assert!(
                excerpt.as_str().contains("<title>502 Bad Gateway</title>"),
                "{excerpt}"
            );
            assert!(!excerpt.as_str().contains('\n'));
            assert!(url.ends_with("/auth/token"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_transient());
}

#[tokio::test]
async fn xml_gateway_error_is_unexpected_response() {
    let server = payer().await;
    token_responds(
        &server,
        ResponseTemplate::new(503).set_body_raw(
            "<?xml version=\"1.0\"?><fault><faultstring>Rate limit quota violation</faultstring></fault>",
            "application/xml",
        ),
    )
    .await;
    let err = exchange(&client(&server, None)).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse { status: 503, excerpt, .. } if excerpt.as_str().contains("quota violation")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_200_html_page_is_refused_and_a_200_opaque_body_is_withheld() {
    let server = payer().await;
    let guard = Mock::given(path("/auth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("<html><body>Please log in</body></html>", "text/html"),
        )
        .mount_as_scoped(&server)
        .await;
    let c = client(&server, None);
    let err = exchange(&c).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse { status: 200, .. }),
        "{err:?}"
    );
    drop(guard);
    token_responds(
        &server,
        ResponseTemplate::new(200).set_body_raw(
            "access_token=AT-LEAKED&token_type=bearer",
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    let err = exchange(&c).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse { status: 200, .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("AT-LEAKED"), "{err}");
}

#[tokio::test]
async fn json_under_a_wrong_content_type_is_accepted() {
    let server = payer().await;
    token_responds(
        &server,
        ResponseTemplate::new(200).set_body_raw(
            token_json("at-plain", None, 60.into()).to_string(),
            "text/plain",
        ),
    )
    .await;
    let t = exchange(&client(&server, None)).await.unwrap();
    assert_eq!(t.access_token().expose_secret(), "at-plain");
}

#[tokio::test]
async fn oauth_errors_carry_code_description_and_hints() {
    let server = payer().await;
    let guard = Mock::given(path("/auth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "authorization code expired"
        })))
        .mount_as_scoped(&server)
        .await;
    let c = client(&server, Some(SECRET));
    let err = exchange(&c).await.unwrap_err();
    match &err {
        Error::OAuth {
            status,
            error,
            description,
            ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(error, "invalid_grant");
            assert_eq!(description.as_deref(), Some("authorization code expired"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.requires_reauthorization());
    assert!(err.hint().is_some());
    drop(guard);
    token_responds(
        &server,
        ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
    )
    .await;
    let err = exchange(&c).await.unwrap_err();
    assert_eq!(err.hint(), Some("test payer: Basic auth only"));
}

#[tokio::test]
async fn a_500_without_a_body() {
    let server = payer().await;
    token_responds(&server, ResponseTemplate::new(500)).await;
    let err = exchange(&client(&server, None)).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_slow_token_endpoint_times_out() {
    let server = payer().await;
    token_responds(&server, ok_tokens().set_delay(Duration::from_secs(3))).await;
    let c = builder(TestAdapter::new(&server), None)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = exchange(&c).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Transport {
                kind: TransportKind::Timeout,
                stage: Stage::Token,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let server = payer().await;
    token_responds(
        &server,
        ResponseTemplate::new(200).set_body_raw("x".repeat(4096), "application/json"),
    )
    .await;
    let c = builder(TestAdapter::new(&server), None)
        .max_body_bytes(1024)
        .build()
        .unwrap();
    let err = exchange(&c).await.unwrap_err();
    assert!(
        matches!(&err, Error::BodyTooLarge { limit: 1024, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_redirect_from_the_token_endpoint_is_not_followed() {
    let server = payer().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/steal"))
        .respond_with(ok_tokens())
        .expect(0)
        .mount(&elsewhere)
        .await;
    token_responds(
        &server,
        ResponseTemplate::new(307)
            .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str()),
    )
    .await;
    let err = exchange(&client(&server, Some(SECRET))).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Transport {
                kind: TransportKind::Redirect,
                ..
            }
        ),
        "{err:?}"
    );
    elsewhere.verify().await;
}

#[tokio::test]
async fn a_caller_supplied_client_that_follows_redirects_still_gets_no_tokens() {
    let server = payer().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/steal"))
        .respond_with(ok_tokens())
        .mount(&elsewhere)
        .await;
    token_responds(
        &server,
        ResponseTemplate::new(302)
            .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str()),
    )
    .await;
    let c = builder(TestAdapter::new(&server), None)
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let err = exchange(&c).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Transport {
                kind: TransportKind::Redirect,
                ..
            }
        ),
        "{err:?}"
    );
}

// ---- raw sockets: what wiremock cannot do -----------------------------------------------------------------

/// Serves one connection on 127.0.0.1 with `response` bytes (after reading the whole request), then closes.
async fn raw_server(response: Vec<u8>) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = sock.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
        }
        let _ = sock.write_all(&response).await;
        let _ = sock.shutdown().await;
    });
    Url::parse(&format!("http://{addr}/token")).unwrap()
}

async fn client_with_token_endpoint(
    server: &MockServer,
    token: Url,
    max_body: usize,
) -> SmartClient {
    let mut a = TestAdapter::new(server);
    let mut o = EndpointOverrides::default();
    o.token = Some(token);
    a.overrides = o;
    builder(a, None).max_body_bytes(max_body).build().unwrap()
}

#[tokio::test]
async fn an_oversized_chunked_body_is_cut_off_while_streaming() {
    let server = payer().await;
    let mut resp =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..8 {
        resp.extend_from_slice(format!("400\r\n{}\r\n", "a".repeat(1024)).as_bytes());
    }
    resp.extend_from_slice(b"0\r\n\r\n");
    let c = client_with_token_endpoint(&server, raw_server(resp).await, 4096).await;
    let err = exchange(&c).await.unwrap_err();
    assert!(
        matches!(&err, Error::BodyTooLarge { limit: 4096, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_connection_dropped_mid_body_is_interrupted() {
    let server = payer().await;
    let resp = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"access_token\":".to_vec();
    let c = client_with_token_endpoint(&server, raw_server(resp).await, 1 << 20).await;
    let err = exchange(&c).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Transport {
                kind: TransportKind::Interrupted,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_connection_refused_is_connect() {
    let server = payer().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = client_with_token_endpoint(
        &server,
        Url::parse(&format!("http://{addr}/token")).unwrap(),
        1 << 20,
    )
    .await;
    let err = exchange(&c).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
}
