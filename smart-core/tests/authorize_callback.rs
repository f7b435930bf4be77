//! The authorize URL and the callback checks, end to end through `exchange_code` against a simulated payer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_support;

use smart_core::{AudPolicy, Error, ExposeSecret, Stage};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};
use wiremock_support::*;

#[tokio::test]
async fn authorize_url_has_every_standard_parameter() {
    let server = payer().await;
    let c = client(&server, Some(SECRET));
    let req = c.authorize_url().await.unwrap();
    assert_eq!(req.url.path(), "/auth/authorize");
    let q = query(&req.url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(
        q["scope"],
        "launch/patient openid fhirUser offline_access patient/*.read"
    );
    assert_eq!(q["aud"], format!("{}/fhir", server.uri()));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 22, "state must carry at least 128 bits");
    assert_eq!(q["state"], req.pending.state().expose_secret());
    assert_eq!(req.pending.adapter_id(), "test-payer");
    assert_eq!(req.pending.redirect_uri().as_str(), REDIRECT);
    assert!(req.server_fetchable_url().is_ok());

    // Fresh randomness every time.
    let again = c.authorize_url().await.unwrap();
    let q2 = query(&again.url);
    assert_ne!(q["state"], q2["state"]);
    assert_ne!(q["code_challenge"], q2["code_challenge"]);
}

#[tokio::test]
async fn aud_policy_and_adapter_parameters() {
    let server = payer().await;
    let mut a = TestAdapter::new(&server);
    a.aud = AudPolicy::Url(Url::parse("https://auth.example/fhirdemo").unwrap());
    a.extra = vec![("skin".into(), "skin13".into())];
    a.removed = vec!["scope".into()];
    let req = builder(a, None)
        .build()
        .unwrap()
        .authorize_url()
        .await
        .unwrap();
    let q = query(&req.url);
    assert_eq!(q["aud"], "https://auth.example/fhirdemo");
    assert_eq!(q["skin"], "skin13");
    assert!(!q.contains_key("scope"));

    let mut a = TestAdapter::new(&server);
    a.aud = AudPolicy::Omit;
    let req = builder(a, None)
        .build()
        .unwrap()
        .authorize_url()
        .await
        .unwrap();
    assert!(!query(&req.url).contains_key("aud"));
}

#[tokio::test]
async fn browser_only_adapters_refuse_server_side_fetching() {
    let server = payer().await;
    let mut a = TestAdapter::new(&server);
    a.browser_only = true;
    let req = builder(a, None)
        .build()
        .unwrap()
        .authorize_url()
        .await
        .unwrap();
    let err = req.server_fetchable_url().unwrap_err();
    assert!(matches!(&err, Error::BrowserOnlyAuthorize { payer } if payer == "test-payer"));
    assert_eq!(err.stage(), Stage::Authorization);
    // The browser still gets its URL.
    assert_eq!(req.browser_url(), &req.url);
}

#[tokio::test]
async fn pending_authorization_survives_a_round_trip_through_the_session() {
    let server = payer().await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json(
            "at-1",
            Some("rt-1"),
            3600.into(),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, None);
    let req = c.authorize_url().await.unwrap();
    let cb = callback(&req, "code-1");
    let saved = serde_json::to_string(&req.pending).unwrap();
    let pending: smart_core::PendingAuthorization = serde_json::from_str(&saved).unwrap();
    let tokens = c.exchange_code(&pending, &cb).await.unwrap();
    assert_eq!(tokens.access_token().expose_secret(), "at-1");
    let sent = form(&requests_to(&server, "/auth/token").await[0]);
    // The verifier sent is the one whose S256 challenge went out on the authorize URL.
    let verifier = oauth2::PkceCodeVerifier::new(sent["code_verifier"].clone());
    let challenge = oauth2::PkceCodeChallenge::from_code_verifier_sha256(&verifier);
    assert_eq!(challenge.as_str(), query(&req.url)["code_challenge"]);
    assert_eq!(sent["grant_type"], "authorization_code");
    assert_eq!(sent["code"], "code-1");
    assert_eq!(sent["redirect_uri"], REDIRECT);
}

/// Callback problems never reach the token endpoint.
#[tokio::test]
async fn bad_callbacks_are_typed_errors_and_send_nothing() {
    let server = payer().await;
    Mock::given(path("/auth/token"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server, None);
    let req = c.authorize_url().await.unwrap();
    let state = query(&req.url)["state"].clone();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();

    let err = c
        .exchange_code(&req.pending, &format!("{REDIRECT}?code=c&state=wrong"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StateMismatch), "{err:?}");
    assert!(err.hint().is_some());

    let err = c
        .exchange_code(
            &req.pending,
            &format!(
                "?error=access_denied&error_description=Member+eligibility+failed&state={}",
                enc(&state)
            ),
        )
        .await
        .unwrap_err();
    match &err {
        Error::AuthorizationDenied {
            error,
            description,
            payer_hint,
            ..
        } => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("Member eligibility failed"));
            assert!(payer_hint.as_deref().unwrap().contains("not covered"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.hint().unwrap().contains("not covered"));

    let err = c
        .exchange_code(&req.pending, &format!("state={}", enc(&state)))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidCallback(m) if m.contains("code")),
        "{err:?}"
    );

    let err = c
        .exchange_code(
            &req.pending,
            &format!("code=a&code=b&state={}", enc(&state)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidCallback(m) if m.contains("more than once")),
        "{err:?}"
    );

    let err = c.exchange_code(&req.pending, "code=a").await.unwrap_err();
    assert!(matches!(&err, Error::InvalidCallback(_)), "{err:?}");

    // An error callback is refused like a code callback when its state is missing or wrong (RFC 6749
    // §4.1.2.1): it is not the payer's answer to this authorization.
    let no_state = c
        .exchange_code(
            &req.pending,
            &format!("{REDIRECT}?error=access_denied&error_description=forged"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&no_state, Error::InvalidCallback(m) if m.contains("no `state`")),
        "{no_state:?}"
    );
    assert_eq!(
        no_state.to_string(),
        err.to_string(),
        "the same state error"
    );
    let wrong_state = c
        .exchange_code(&req.pending, "error=access_denied&state=wrong")
        .await
        .unwrap_err();
    assert!(
        matches!(wrong_state, Error::StateMismatch),
        "{wrong_state:?}"
    );
    assert!(
        req.pending
            .check_state(&format!("{REDIRECT}?error=x"))
            .is_err()
    );
    assert!(
        req.pending
            .check_state(&format!("{REDIRECT}?error=x&state={}", enc(&state)))
            .is_ok()
    );

    let err = c
        .exchange_code(
            &req.pending,
            &format!(
                "code=a&state={}&iss=https%3A%2F%2Fevil.example",
                enc(&state)
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::IssuerMismatch { .. }), "{err:?}");

    // A pending authorization started with another payer's client.
    let mut other = TestAdapter::new(&server);
    other.id = "other-payer".into();
    let other_req = builder(other, None)
        .build()
        .unwrap()
        .authorize_url()
        .await
        .unwrap();
    let err = c
        .exchange_code(&other_req.pending, &callback(&other_req, "c"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::PendingAuthorizationMismatch { .. }),
        "{err:?}"
    );
    assert_eq!(err.stage(), Stage::Callback);

    server.verify().await;
}

#[tokio::test]
async fn matching_iss_is_accepted() {
    let server = payer().await;
    Mock::given(path("/auth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json("at", None, 60.into())))
        .mount(&server)
        .await;
    let c = client(&server, None);
    let req = c.authorize_url().await.unwrap();
    let mut cb = Url::parse(&callback(&req, "code")).unwrap();
    cb.query_pairs_mut()
        .append_pair("iss", &format!("{}/auth", server.uri()));
    c.exchange_code(&req.pending, cb.as_str()).await.unwrap();
}

#[tokio::test]
async fn the_standard_adapter_from_a_base_url_alone_completes_the_flow() {
    let server = payer().await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_json(
            "at-std",
            Some("rt-std"),
            3600.into(),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let adapter = smart_core::Standard::new(&format!("{}/fhir/", server.uri())).unwrap();
    let c = smart_core::SmartClient::builder(std::sync::Arc::new(adapter))
        .client_id(CLIENT_ID)
        .redirect_uri(REDIRECT)
        .unwrap()
        .build()
        .unwrap();
    let req = c.authorize_url().await.unwrap();
    let q = query(&req.url);
    assert_eq!(
        q["aud"],
        format!("{}/fhir", server.uri()),
        "trailing slash trimmed"
    );
    assert_eq!(
        q["scope"],
        "launch/patient openid fhirUser offline_access patient/*.read"
    );
    let tokens = c
        .exchange_code(&req.pending, &callback(&req, "c"))
        .await
        .unwrap();
    assert_eq!(tokens.patient(), Some("pat-123"));
    server.verify().await;
}

#[tokio::test]
async fn the_standard_adapter_with_only_an_issuer_discovers_through_openid_configuration() {
    let server = wiremock::MockServer::start().await;
    Mock::given(path("/issuer/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": format!("{}/issuer", server.uri()),
            "authorization_endpoint": format!("{}/issuer/authorize", server.uri()),
            "token_endpoint": format!("{}/issuer/token", server.uri()),
        })))
        .mount(&server)
        .await;
    let adapter = smart_core::Standard::new(&format!("{}/fhir", server.uri()))
        .unwrap()
        .with_oauth_issuer(Url::parse(&format!("{}/issuer", server.uri())).unwrap())
        .with_aud(AudPolicy::Url(Url::parse("https://aud.example").unwrap()));
    let c = smart_core::SmartClient::builder(std::sync::Arc::new(adapter))
        .client_id(CLIENT_ID)
        .redirect_uri(REDIRECT)
        .unwrap()
        .build()
        .unwrap();
    let req = c.authorize_url().await.unwrap();
    assert_eq!(req.url.path(), "/issuer/authorize");
    assert_eq!(query(&req.url)["aud"], "https://aud.example/");
}
