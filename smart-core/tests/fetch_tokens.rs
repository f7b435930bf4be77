//! Tokens during a sync: a token that expires in the middle of a stream is refreshed once and the stream goes
//! on with every claim exactly once; concurrent streams share one refresh; a second 401 is an error, not a loop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fetch_common.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures::TryStreamExt;
use smart_core::fhir::{EobQuery, FhirClient, FhirPool};
use smart_core::{Error, TokenSource};
use wiremock::matchers::{header, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fhir_json(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/fhir+json")
}

fn unauthorized() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_raw(
        outcome("error", "login", "token expired").to_string(),
        "application/fhir+json",
    )
}

/// Three pages of claims; page 1 accepts the first token, pages 2 and 3 only the refreshed one (the first
/// token expired at the payer while the member's sync was between pages).
async fn server_where_the_token_expires_after_page_1(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("patient", "pat-1"))
        .and(header("authorization", "Bearer at-SECRET-0"))
        .respond_with(fhir_json(bundle(
            &eobs(0, 3),
            &[],
            None,
            Some("ExplanationOfBenefit?page=2"),
        )))
        .mount(&server)
        .await;
    for (page, from) in [(2, 3), (3, 6)] {
        let next = (page == 2).then_some("ExplanationOfBenefit?page=3");
        Mock::given(path("/fhir/ExplanationOfBenefit"))
            .and(query_param("page", page.to_string().as_str()))
            .and(header("authorization", "Bearer at-SECRET-1"))
            .respond_with(
                fhir_json(bundle(&eobs(from, from + 3), &[], None, next)).set_delay(delay),
            )
            .mount(&server)
            .await;
        Mock::given(path("/fhir/ExplanationOfBenefit"))
            .and(query_param("page", page.to_string().as_str()))
            .and(header("authorization", "Bearer at-SECRET-0"))
            .respond_with(unauthorized().set_delay(delay))
            .mount(&server)
            .await;
    }
    server
}

/// How many times each page was answered 200 and 401.
async fn page_counts(server: &MockServer) -> Vec<(String, &'static str)> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let page = r
                .url
                .query_pairs()
                .find(|(k, _)| k == "page")
                .map_or("1".to_owned(), |(_, v)| v.into_owned());
            let auth = r.headers.get("authorization").unwrap().to_str().unwrap();
            (page, if auth.ends_with("-0") { "old" } else { "new" })
        })
        .collect()
}

#[tokio::test]
async fn a_token_expiring_mid_stream_is_refreshed_once_and_every_claim_arrives_exactly_once() {
    let server = server_where_the_token_expires_after_page_1(Duration::ZERO).await;
    let tokens = CountingTokens::new(Duration::from_millis(20));
    let client = FhirClient::builder(TestAdapter::new(&format!("{}/fhir", server.uri())).arc())
        .token_source(tokens.clone())
        .build()
        .unwrap();
    let got: Vec<_> = client
        .explanation_of_benefits(EobQuery::new())
        .matches()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = got.iter().map(|e| e.id.clone().unwrap()).collect();
    assert_eq!(ids, (0..9).map(|i| format!("e{i}")).collect::<Vec<_>>());
    assert_eq!(tokens.refreshes(), 1);
    let counts = page_counts(&server).await;
    assert_eq!(
        counts,
        [
            ("1".to_owned(), "old"),
            ("2".to_owned(), "old"),
            ("2".to_owned(), "new"),
            ("3".to_owned(), "new"),
        ],
        "page 2 was rejected once, fetched once with the new token, never twice"
    );
}

#[tokio::test]
async fn concurrent_streams_of_one_member_share_one_refresh() {
    // Page 2's 401s arrive together (50 ms delay) so both streams are rejected with the same old token.
    let server = server_where_the_token_expires_after_page_1(Duration::from_millis(50)).await;
    let tokens = CountingTokens::new(Duration::from_millis(50));
    let pool = FhirPool::builder(TestAdapter::new(&format!("{}/fhir", server.uri())).arc())
        .build_pool()
        .unwrap();
    let streams = (0..2).map(|_| {
        let client = pool.for_member(tokens.clone());
        async move {
            client
                .explanation_of_benefits(EobQuery::new())
                .matches()
                .try_collect::<Vec<_>>()
                .await
        }
    });
    let results = futures::future::join_all(streams).await;
    for r in &results {
        assert_eq!(r.as_ref().unwrap().len(), 9);
    }
    assert_eq!(
        tokens.refreshes(),
        1,
        "exactly one refresh for both streams"
    );
    let counts = page_counts(&server).await;
    let new_page2 = counts.iter().filter(|c| c.0 == "2" && c.1 == "new").count();
    assert_eq!(
        new_page2, 2,
        "each stream fetched page 2 once with the new token"
    );
}

#[tokio::test]
async fn a_second_401_after_the_refresh_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(unauthorized())
        .expect(2)
        .mount(&server)
        .await;
    let tokens = CountingTokens::new(Duration::ZERO);
    let client = FhirClient::builder(TestAdapter::new(&format!("{}/fhir", server.uri())).arc())
        .token_source(tokens.clone())
        .build()
        .unwrap();
    let err = client.patient().await.unwrap_err();
    assert!(
        matches!(err, Error::OperationOutcome { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.hint().unwrap().contains("scopes"), "{err:?}");
    assert_eq!(tokens.refreshes(), 1);
}

#[tokio::test]
async fn a_static_token_rejected_with_401_asks_for_reauthorization() {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(unauthorized())
        .expect(1)
        .mount(&server)
        .await;
    let client = FhirClient::builder(TestAdapter::new(&format!("{}/fhir", server.uri())).arc())
        .token_source(static_tokens())
        .build()
        .unwrap();
    let err = client.patient().await.unwrap_err();
    assert!(err.requires_reauthorization(), "{err:?}");
}

#[tokio::test]
async fn tokens_without_a_patient_are_a_typed_error_before_any_request() {
    let server = MockServer::start().await;
    let tokens: Arc<dyn TokenSource> = Arc::new(smart_core::StaticTokens::new(
        smart_core::TokenSet::bearer(secrecy::SecretString::from("t"), None),
    ));
    let client = FhirClient::builder(TestAdapter::new(&format!("{}/fhir", server.uri())).arc())
        .token_source(tokens)
        .build()
        .unwrap();
    let err = client
        .explanation_of_benefits(EobQuery::new())
        .collect_all()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingPatient), "{err:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}
