//! Tokens during a sync, with a real `Session` over a `MemoryTokenStore` and a wiremock token endpoint: a token
//! that expires in the middle of a stream is refreshed once and the stream goes on with every claim exactly
//! once (whether the session sees the expiry coming or the payer answers 401); concurrent streams of one member
//! share one refresh request; a second 401 is an error, not a loop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fetch_common.rs"]
mod common;
#[path = "wiremock_support/mod.rs"]
mod smart_support;

use std::sync::Arc;
use std::time::Duration;

use common::{TestAdapter, bundle, eobs, outcome, static_tokens};
use futures::TryStreamExt;
use serde_json::json;
use smart_core::fhir::{EobQuery, FhirClient, FhirPool};
use smart_core::{
    Error, ExposeSecret, MemoryTokenStore, SecretString, Session, TokenSet, TokenSource,
};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OLD: &str = "Bearer at-SECRET-old";
const NEW: &str = "Bearer at-SECRET-new";

fn fhir_json(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/fhir+json")
}

fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_raw(
        outcome("error", "login", "token expired").to_string(),
        "application/fhir+json",
    )
}

/// The payer's token endpoint: one refresh grant answered (after `delay`) with the new access token.
async fn mount_refresh(server: &MockServer, delay: Duration, times: u64) {
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("rt-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "access_token": "at-SECRET-new", "token_type": "Bearer", "expires_in": 3600,
                    "refresh_token": "rt-2", "patient": "pat-123"
                }))
                .set_delay(delay),
        )
        .expect(times)
        .mount(server)
        .await;
}

/// A session for member `pat-123` whose access token expires in `expires_in`.
async fn session(server: &MockServer, skew: Duration, expires_in: Duration) -> Session {
    let smart = smart_support::builder(smart_support::TestAdapter::new(server), Some("s3cret"))
        .refresh_skew(skew)
        .build()
        .unwrap();
    let session = smart.session(Arc::new(MemoryTokenStore::default()), "member-1");
    session
        .save_new(
            TokenSet::bearer(SecretString::from("at-SECRET-old"), Some(expires_in))
                .with_refresh_token(SecretString::from("rt-1"))
                .with_patient("pat-123"),
        )
        .await
        .unwrap();
    session
}

/// Three pages of three claims. Page 1 accepts the old token (answered after `page1_delay`); pages 2 and 3
/// accept only the new one and answer the old one with 401 (after `delay`).
async fn mount_pages(server: &MockServer, page1_delay: Duration, delay: Duration) {
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("patient", "pat-123"))
        .and(header("authorization", OLD))
        .respond_with(
            fhir_json(bundle(
                &eobs(0, 3),
                &[],
                None,
                Some("ExplanationOfBenefit?page=2"),
            ))
            .set_delay(page1_delay),
        )
        .mount(server)
        .await;
    for (page, from) in [(2, 3), (3, 6)] {
        let next = (page == 2).then_some("ExplanationOfBenefit?page=3");
        Mock::given(path("/fhir/ExplanationOfBenefit"))
            .and(query_param("page", page.to_string().as_str()))
            .and(header("authorization", NEW))
            .respond_with(
                fhir_json(bundle(&eobs(from, from + 3), &[], None, next)).set_delay(delay),
            )
            .mount(server)
            .await;
        Mock::given(path("/fhir/ExplanationOfBenefit"))
            .and(query_param("page", page.to_string().as_str()))
            .and(header("authorization", OLD))
            .respond_with(unauthorized().set_delay(delay))
            .mount(server)
            .await;
    }
}

/// Each FHIR request as (page, token age, status).
async fn fhir_requests(server: &MockServer) -> Vec<(String, &'static str)> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with("/fhir/ExplanationOfBenefit"))
        .map(|r| {
            let page = r
                .url
                .query_pairs()
                .find(|(k, _)| k == "page")
                .map_or("1".to_owned(), |(_, v)| v.into_owned());
            let auth = r.headers.get("authorization").unwrap().to_str().unwrap();
            (page, if auth == OLD { "old" } else { "new" })
        })
        .collect()
}

fn fhir(server: &MockServer, tokens: Arc<dyn TokenSource>) -> FhirClient {
    FhirClient::builder(TestAdapter::new(&format!("{}/fhir", server.uri())).arc())
        .token_source(tokens)
        .build()
        .unwrap()
}

fn ids(eobs: &[fhir_c4bb::ExplanationOfBenefit]) -> Vec<String> {
    eobs.iter().map(|e| e.id.clone().unwrap()).collect()
}

fn all_ids() -> Vec<String> {
    (0..9).map(|i| format!("e{i}")).collect()
}

fn pairs(v: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    v.iter().map(|(a, b)| (a.to_string(), *b)).collect()
}

#[tokio::test]
async fn a_token_expiring_during_the_stream_is_refreshed_before_the_next_page() {
    let server = smart_support::payer().await;
    mount_refresh(&server, Duration::ZERO, 1).await;
    // Expires in 2 s, refreshed when within 1 s of expiry; page 1 takes 1.3 s, so page 2 needs a new token.
    mount_pages(&server, Duration::from_millis(1300), Duration::ZERO).await;
    let session = session(&server, Duration::from_secs(1), Duration::from_secs(2)).await;
    let got: Vec<_> = fhir(&server, Arc::new(session.clone()))
        .explanation_of_benefits(EobQuery::new())
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&got), all_ids(), "every claim exactly once, in order");
    assert_eq!(
        fhir_requests(&server).await,
        pairs(&[("1", "old"), ("2", "new"), ("3", "new")]),
        "refreshed ahead of expiry: no 401, no page fetched twice"
    );
    // The rotated tokens were saved: the session now holds the new access token.
    let now = session.current().await.unwrap();
    assert_eq!(now.access_token().expose_secret(), "at-SECRET-new");
}

#[tokio::test]
async fn a_token_the_payer_rejects_mid_stream_is_refreshed_once_and_the_page_is_fetched_once() {
    let server = smart_support::payer().await;
    mount_refresh(&server, Duration::ZERO, 1).await;
    mount_pages(&server, Duration::ZERO, Duration::ZERO).await;
    // The token looks valid for an hour, but the payer revoked it after page 1.
    let session = session(&server, Duration::from_secs(60), Duration::from_secs(3600)).await;
    let got: Vec<_> = fhir(&server, Arc::new(session))
        .explanation_of_benefits(EobQuery::new())
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&got), all_ids());
    assert_eq!(
        fhir_requests(&server).await,
        pairs(&[("1", "old"), ("2", "old"), ("2", "new"), ("3", "new")]),
        "page 2 was rejected once and fetched once with the new token"
    );
}

#[tokio::test]
async fn with_read_ahead_a_rejected_token_still_costs_one_refresh_and_each_page_once() {
    let server = smart_support::payer().await;
    mount_refresh(&server, Duration::ZERO, 1).await;
    mount_pages(&server, Duration::ZERO, Duration::ZERO).await;
    let session = session(&server, Duration::from_secs(60), Duration::from_secs(3600)).await;
    let client = FhirClient::builder(TestAdapter::new(&format!("{}/fhir", server.uri())).arc())
        .token_source(Arc::new(session))
        .read_ahead(true)
        .build()
        .unwrap();
    let got: Vec<_> = client
        .explanation_of_benefits(EobQuery::new())
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&got), all_ids());
    assert_eq!(
        fhir_requests(&server).await,
        pairs(&[("1", "old"), ("2", "old"), ("2", "new"), ("3", "new")]),
    );
}

#[tokio::test]
async fn concurrent_streams_of_one_member_share_one_refresh_request() {
    let server = smart_support::payer().await;
    // Exactly one refresh grant may reach the token endpoint (a second would spend the rotated refresh token).
    mount_refresh(&server, Duration::from_millis(100), 1).await;
    // Page 2's 401s arrive together (50 ms delay), so both streams are rejected with the same old token.
    mount_pages(&server, Duration::ZERO, Duration::from_millis(50)).await;
    let session = session(&server, Duration::from_secs(60), Duration::from_secs(3600)).await;
    let pool = FhirPool::builder(TestAdapter::new(&format!("{}/fhir", server.uri())).arc())
        .build()
        .unwrap();
    let streams = (0..3).map(|_| {
        let client = pool.for_member(Arc::new(session.clone()));
        async move {
            client
                .explanation_of_benefits(EobQuery::new())
                .matches()
                .try_collect::<Vec<_>>()
                .await
        }
    });
    for r in futures::future::join_all(streams).await {
        assert_eq!(ids(&r.unwrap()), all_ids());
    }
    let requests = fhir_requests(&server).await;
    let count = |page: &str, age: &str| {
        requests
            .iter()
            .filter(|r| r.0 == page && r.1 == age)
            .count()
    };
    assert_eq!(
        count("2", "new"),
        3,
        "each stream fetched page 2 once with the new token"
    );
    assert_eq!(count("3", "new"), 3);
    assert_eq!(count("3", "old"), 0);
    // wiremock verifies on drop that the token endpoint saw exactly one refresh.
}

#[tokio::test]
async fn a_second_401_after_the_refresh_is_an_error_not_a_loop() {
    let server = smart_support::payer().await;
    mount_refresh(&server, Duration::ZERO, 1).await;
    Mock::given(path("/fhir/Patient/pat-123"))
        .respond_with(unauthorized())
        .expect(2)
        .mount(&server)
        .await;
    let session = session(&server, Duration::from_secs(60), Duration::from_secs(3600)).await;
    let err = fhir(&server, Arc::new(session))
        .patient()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::OperationOutcome { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.hint().unwrap().contains("scopes"), "{err:?}");
}

#[tokio::test]
async fn a_static_token_rejected_with_401_asks_for_reauthorization() {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(unauthorized())
        .expect(1)
        .mount(&server)
        .await;
    let err = fhir(&server, static_tokens()).patient().await.unwrap_err();
    assert!(err.requires_reauthorization(), "{err:?}");
}

#[tokio::test]
async fn tokens_without_a_patient_are_a_typed_error_before_any_request() {
    let server = MockServer::start().await;
    let tokens: Arc<dyn TokenSource> = Arc::new(smart_core::StaticTokens::new(TokenSet::bearer(
        SecretString::from("t"),
        None,
    )));
    let err = fhir(&server, tokens)
        .explanation_of_benefits(EobQuery::new())
        .collect_all()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingPatient), "{err:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}
