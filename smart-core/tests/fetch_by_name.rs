//! The fetch layer by name, for types known only at run time: `search_type` (scoped to the member by the one
//! patient-parameter table, matches told from other resources by type, the payer's page-size clamp and
//! Coverage quirk applied), `read_type`, names refused before any request, and `capabilities()` fetched
//! without the bearer token and kept lossless.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fetch_common.rs"]
mod common;

use common::*;
use serde_json::json;
use smart_core::fhir::{FhirClient, SearchParams};
use smart_core::{CoverageSearch, Error};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
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

fn observation(id: &str) -> serde_json::Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"text": "Hemoglobin"}, "subject": {"reference": "Patient/pat-1"},
           "valueQuantity": {"value": 13.20, "unit": "g/dL"}})
}

#[tokio::test]
async fn search_type_scopes_to_the_member_clamps_the_page_and_sorts_items_by_type() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    let extra = [
        json!({"resource": {"resourceType": "Patient", "id": "pat-1"}, "search": {"mode": "include"}}),
        // Another type without a search mode: not a match of an Observation search.
        json!({"resource": {"resourceType": "Condition", "id": "c1"}}),
        json!({"resource": outcome("warning", "incomplete", "labs before 2019 omitted"), "search": {"mode": "outcome"}}),
    ];
    Mock::given(method("GET"))
        .and(path("/fhir/Observation"))
        .and(query_param("patient", "pat-1"))
        .and(query_param("category", "laboratory"))
        .and(query_param("_count", "10"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(fhir_json(
            bundle(
                &[observation("o1")],
                &extra,
                None,
                Some("Observation?page=2"),
            )
            // serde_json's Value writes 13.2; the payer sent two decimals.
            .replace("13.2", "13.20"),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/fhir/Observation"))
        .and(query_param("page", "2"))
        .respond_with(fhir_json(bundle(&[observation("o2")], &[], None, None)))
        .expect(1)
        .mount(&server)
        .await;

    let mut adapter = TestAdapter::new(&base);
    adapter.max_page_size = Some(10);
    let results = client(adapter)
        .search_type(
            "Observation",
            SearchParams::new()
                .param("category", "laboratory")
                .count(500),
        )
        .collect_all()
        .await
        .unwrap();
    let ids: Vec<_> = results.matches.iter().map(|r| r.id().unwrap()).collect();
    assert_eq!(ids, ["o1", "o2"], "both pages, matches only");
    assert!(
        results
            .matches
            .iter()
            .all(|r| r.resource_type() == "Observation")
    );
    let included: Vec<_> = results.included.iter().map(|r| r.resource_type()).collect();
    assert_eq!(included, ["Patient", "Condition"]);
    assert_eq!(results.warnings.len(), 1);
    // The match is the payer's resource as sent: the decimal keeps its digits.
    let written = serde_json::to_string(&results.matches[0]).unwrap();
    assert!(written.contains("13.20"), "{written}");
}

#[tokio::test]
async fn coverage_by_name_follows_the_adapter_and_a_given_patient_parameter_is_not_doubled() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    let coverage: serde_json::Value = serde_json::from_str(COVERAGE_FIXTURE).unwrap();
    Mock::given(path("/fhir/Coverage"))
        .and(query_param("beneficiary", "Patient/pat-1"))
        .and(query_param_is_missing("patient"))
        .respond_with(fhir_json(bundle(
            std::slice::from_ref(&coverage),
            &[],
            None,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/fhir/Coverage"))
        .and(query_param("patient", "pat-1"))
        .and(query_param_is_missing("beneficiary"))
        .respond_with(fhir_json(bundle(&[coverage], &[], None, None)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/fhir/Condition"))
        .and(query_param("patient", "other"))
        .respond_with(fhir_json(bundle(&[], &[], None, None)))
        .expect(1)
        .mount(&server)
        .await;

    let standard = client(TestAdapter::new(&base));
    let found = standard
        .search_type("Coverage", SearchParams::new())
        .collect_all()
        .await
        .unwrap();
    assert_eq!(found.matches.len(), 1);
    assert!(matches!(found.matches[0], fhir_c4bb::Resource::Coverage(_)));
    let mut quirky = TestAdapter::new(&base);
    quirky.coverage_search = CoverageSearch::Patient;
    let found = client(quirky)
        .search_type("Coverage", SearchParams::new())
        .collect_all()
        .await
        .unwrap();
    assert_eq!(found.matches.len(), 1);
    // The caller's own `patient` wins over the member's: sent once.
    let found = standard
        .search_type("Condition", SearchParams::new().param("patient", "other"))
        .collect_all()
        .await
        .unwrap();
    assert!(found.matches.is_empty());
    let asked = server.received_requests().await.unwrap();
    let condition = asked
        .iter()
        .find(|r| r.url.path() == "/fhir/Condition")
        .unwrap();
    assert_eq!(condition.url.query(), Some("patient=other"));
}

#[tokio::test]
async fn a_type_outside_the_patient_compartment_is_searched_with_the_params_as_given() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/Medication"))
        .and(query_param("_id", "m1,m2"))
        .and(query_param_is_missing("patient"))
        .respond_with(fhir_json(bundle(
            &[json!({"resourceType": "Medication", "id": "m1", "code": {"text": "Aspirin"}})],
            &[],
            None,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let found = client(TestAdapter::new(&base))
        .search_type("Medication", SearchParams::new().param("_id", "m1,m2"))
        .collect_all()
        .await
        .unwrap();
    assert_eq!(found.matches.len(), 1);
    assert_eq!(found.matches[0].resource_type(), "Medication");
}

#[tokio::test]
async fn an_invalid_type_name_fails_before_any_request() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(method("GET"))
        .respond_with(fhir_json(bundle(&[], &[], None, None)))
        .expect(0)
        .mount(&server)
        .await;
    let client = client(TestAdapter::new(&base));
    for bad in ["../Patient", "observation", "Obs%2F..", "", "Patient/pat-1"] {
        let err = client
            .search_type(bad, SearchParams::new())
            .collect_all()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidResourceType { .. }),
            "{bad:?}: {err:?}"
        );
        let err = client.read_type(bad, "1").await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidResourceType { .. }),
            "{bad:?}: {err:?}"
        );
        assert!(err.hint().is_some());
    }
}

#[tokio::test]
async fn read_type_reads_any_type_and_refuses_another_type_in_the_answer() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    let location = r#"{"resourceType":"Location","id":"loc-1","name":"Clinic","position":{"longitude":-83.6945691,"latitude":42.25475478}}"#;
    Mock::given(path("/fhir/Location/loc-1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(fhir_json(location.to_owned()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/fhir/Location/loc-2"))
        .respond_with(fhir_json(observation("o1").to_string()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(TestAdapter::new(&base));
    let read = client.read_type("Location", "loc-1").await.unwrap();
    assert_eq!(read.resource_type(), "Location");
    assert_eq!(read.id(), Some("loc-1"));
    assert_eq!(serde_json::to_string(&read).unwrap(), location, "lossless");
    let err = client.read_type("Location", "loc-2").await.unwrap_err();
    match err {
        Error::Decode { path, message, .. } => {
            assert_eq!(path, "resourceType");
            assert!(
                message.contains("Location") && message.contains("Observation"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

const CAPABILITIES: &str = r#"{"resourceType":"CapabilityStatement","id":"payer","status":"active","date":"2024-03","kind":"instance","software":{"name":"Payer FHIR","version":"9.1"},"fhirVersion":"4.0.1","format":["application/fhir+json","json"],"implementationGuide":["http://hl7.org/fhir/us/core/ImplementationGuide/hl7.fhir.us.core|6.1.0"],"rest":[{"mode":"server","security":{"service":[{"text":"SMART-on-FHIR"}]},"resource":[{"type":"Condition","supportedProfile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-problems-health-concerns"],"interaction":[{"code":"read"},{"code":"search-type"}],"searchParam":[{"name":"patient","type":"reference"},{"name":"category","type":"token","_name":{"extension":[{"url":"http://example.org/x","valueString":"y"}]}}]},{"type":"Organization","interaction":[{"code":"read"}]},{"type":"Observation","interaction":[{"code":"search-type"}],"searchParam":[{"name":"patient","type":"reference"}],"x-vendor":true}]},{"mode":"client","resource":[{"type":"Patient","interaction":[{"code":"search-type"}]}]}]}"#;

#[tokio::test]
async fn capabilities_are_fetched_without_the_token_and_list_searchable_types_losslessly() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(method("GET"))
        .and(path("/fhir/metadata"))
        .respond_with(fhir_json(CAPABILITIES.to_owned()))
        .expect(1)
        .mount(&server)
        .await;
    let statement = client(TestAdapter::new(&base))
        .capabilities()
        .await
        .unwrap();
    let asked = server.received_requests().await.unwrap();
    assert_eq!(asked.len(), 1);
    assert!(
        !asked[0].headers.contains_key("authorization"),
        "the CapabilityStatement is asked for without the bearer token"
    );
    assert_eq!(
        statement.searchable_types().collect::<Vec<_>>(),
        ["Condition", "Observation"],
        "the server's types with search-type, not the client block's"
    );
    let condition = statement.resource("Condition").unwrap();
    assert_eq!(
        condition.search_param_names().collect::<Vec<_>>(),
        ["patient", "category"]
    );
    assert!(condition.supports("read"));
    assert!(
        !statement
            .resource("Organization")
            .unwrap()
            .supports("search-type")
    );
    assert_eq!(statement.fhir_version.as_deref(), Some("4.0.1"));
    // Lossless: every member kept, values as sent (members the model does not type are written last).
    let written: serde_json::Value = serde_json::to_value(&statement).unwrap();
    let sent: serde_json::Value = serde_json::from_str(CAPABILITIES).unwrap();
    assert_eq!(written, sent);
}

#[tokio::test]
async fn capabilities_that_are_not_a_capability_statement_are_a_decode_error() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/metadata"))
        .respond_with(fhir_json(observation("o1").to_string()))
        .mount(&server)
        .await;
    let err = client(TestAdapter::new(&base))
        .capabilities()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}
