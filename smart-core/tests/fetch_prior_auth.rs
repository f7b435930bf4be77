//! Prior authorizations through the fetch layer: `prior_authorizations()` asks the way the adapter says, filters
//! on `use` as the pages stream in, and a claims-only EOB search leaves them out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fetch_common.rs"]
mod common;

use common::*;
use futures::TryStreamExt;
use smart_core::PriorAuthSearch;
use smart_core::fhir::{EobQuery, FhirClient};
use wiremock::matchers::{path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fhir_json(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/fhir+json")
}

fn client(adapter: TestAdapter) -> FhirClient {
    FhirClient::builder(adapter.arc())
        .token_source(static_tokens())
        .build()
        .unwrap()
}

fn ids(items: &[fhir_c4bb::ExplanationOfBenefit]) -> Vec<String> {
    items
        .iter()
        .map(|e| e.id.clone().unwrap_or_default())
        .collect()
}

/// Two pages mixing claims and prior authorizations, served for a plain patient search.
async fn mixed_history(server: &MockServer) {
    let base = server.uri();
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("patient", "pat-1"))
        .and(query_param_is_missing("page"))
        .and(query_param_is_missing("use"))
        .respond_with(fhir_json(bundle(
            &[eob("c1"), prior_auth("pa1"), eob("c2")],
            &[],
            None,
            Some(&format!(
                "{base}/fhir/ExplanationOfBenefit?patient=pat-1&page=2"
            )),
        )))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("page", "2"))
        .respond_with(fhir_json(bundle(
            &[prior_auth("pa2"), eob("c3")],
            &[],
            None,
            None,
        )))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn by_default_prior_authorizations_are_a_patient_search_filtered_on_use() {
    let server = MockServer::start().await;
    mixed_history(&server).await;
    let client = client(TestAdapter::new(&format!("{}/fhir", server.uri())));
    let stream = client.prior_authorizations();
    assert!(stream.includes_prior_authorizations());
    let got: Vec<_> = stream.matches().try_collect().await.unwrap();
    assert_eq!(ids(&got), ["pa1", "pa2"]);
    assert!(got.iter().all(|e| e.prior_authorization().is_some()));
}

#[tokio::test]
async fn the_filtered_stream_yields_a_page_before_the_next_one_is_served() {
    // The second page never arrives: the first page's prior authorization must still come out.
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param_is_missing("page"))
        .respond_with(fhir_json(bundle(
            &[eob("c1"), prior_auth("pa1")],
            &[],
            None,
            Some(&format!(
                "{base}/fhir/ExplanationOfBenefit?patient=pat-1&page=2"
            )),
        )))
        .mount(&server)
        .await;
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("page", "2"))
        .respond_with(
            fhir_json(bundle(&[], &[], None, None)).set_delay(std::time::Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    let client = client(TestAdapter::new(&format!("{base}/fhir")));
    let mut stream = Box::pin(client.prior_authorizations().matches());
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), stream.try_next())
        .await
        .expect("the first page's match came out before the second page")
        .unwrap()
        .unwrap();
    assert_eq!(first.id.as_deref(), Some("pa1"));
}

#[tokio::test]
async fn claims_only_leaves_prior_authorizations_out_and_says_so() {
    let server = MockServer::start().await;
    mixed_history(&server).await;
    let client = client(TestAdapter::new(&format!("{}/fhir", server.uri())));
    let all = client.explanation_of_benefits(EobQuery::new());
    assert!(all.includes_prior_authorizations());
    drop(all);
    let claims = client.explanation_of_benefits(EobQuery::new().claims_only());
    assert!(!claims.includes_prior_authorizations());
    let got: Vec<_> = claims.matches().try_collect().await.unwrap();
    assert_eq!(ids(&got), ["c1", "c2", "c3"]);
    assert!(!client.coverage().includes_prior_authorizations());
}

#[tokio::test]
async fn a_payer_with_a_use_parameter_is_asked_for_prior_authorizations_and_still_filtered() {
    let server = MockServer::start().await;
    // This server says it supports `use`, yet slips a claim in: the SDK still drops it.
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("patient", "pat-1"))
        .and(query_param("use", "preauthorization"))
        .respond_with(fhir_json(bundle(
            &[prior_auth("pa1"), eob("c1")],
            &[],
            None,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let mut adapter = TestAdapter::new(&format!("{}/fhir", server.uri()));
    adapter.prior_auth_search = PriorAuthSearch::UseParameter;
    let got: Vec<_> = client(adapter)
        .prior_authorizations()
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&got), ["pa1"]);
}

#[tokio::test]
async fn a_payer_that_selects_by_profile_is_asked_with_profile() {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param(
            "_profile",
            "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/pdex-priorauthorization",
        ))
        .respond_with(fhir_json(bundle(&[prior_auth("pa1")], &[], None, None)))
        .expect(1)
        .mount(&server)
        .await;
    let mut adapter = TestAdapter::new(&format!("{}/fhir", server.uri()));
    adapter.prior_auth_search = PriorAuthSearch::Profile;
    let got: Vec<_> = client(adapter)
        .prior_authorizations()
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids(&got), ["pa1"]);
}
