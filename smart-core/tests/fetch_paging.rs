//! The fetch layer against wiremock: typed reads and searches, paging (relative and absolute `next`, laziness,
//! loops, the page cap), where the token may go (foreign origins, HTTPS), and what the payer's answers become
//! (warnings and includes in a Bundle, OperationOutcome errors, HTML pages, truncated JSON, size cap, gzip).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fetch_common.rs"]
mod common;
#[path = "support/raw_server.rs"]
mod raw_server;

use std::io::Write;
use std::sync::Arc;

use common::*;
use futures::{StreamExt, TryStreamExt};
use raw_server::{RawServer, Reply};
use serde_json::json;
use smart_core::fhir::{EobQuery, FhirClient, SearchItem, SearchParams};
use smart_core::{CoverageSearch, Error, Stage};
use wiremock::matchers::{header, method, path, query_param};
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

fn eob_ids(items: &[fhir_c4bb::ExplanationOfBenefit]) -> Vec<String> {
    items
        .iter()
        .map(|e| e.id.clone().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn pages_are_followed_through_relative_and_absolute_next_links() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    // Page 1 links to page 2 relatively (resolved against the page URL), page 2 to page 3 absolutely.
    Mock::given(method("GET"))
        .and(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("patient", "pat-1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/fhir+json"))
        .respond_with(fhir_json(bundle(
            &eobs(0, 3),
            &[],
            None,
            Some("ExplanationOfBenefit?_getpages=abc&_page=2"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("_getpages", "abc"))
        .and(query_param("_page", "2"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(fhir_json(bundle(
            &eobs(3, 6),
            &[],
            None,
            Some(&format!(
                "{base}/ExplanationOfBenefit?_getpages=abc&_page=3"
            )),
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("_page", "3"))
        .respond_with(fhir_json(bundle(&eobs(6, 8), &[], None, None)))
        .expect(1)
        .mount(&server)
        .await;

    let got: Vec<_> = client(TestAdapter::new(&base))
        .explanation_of_benefits(EobQuery::new())
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        eob_ids(&got),
        (0..8).map(|i| format!("e{i}")).collect::<Vec<_>>()
    );
    // The typed model kept the C4BB content, not just the id.
    assert!(got[0].meta.is_some());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn with_read_ahead_an_escaped_or_repeated_link_member_still_leads_to_every_page() {
    // Shapes the early link scan used to read as "no next link", ending the stream after page 1 or 2 without an
    // error: an escaped member name (`li\u006ek` is `link` to the JSON decoder), and an empty first `link`
    // followed by the one the typed decode keeps.
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    let entries = |from, to| entry_texts(from, to).join(",");
    let page_1 = format!(
        r#"{{"resourceType":"Bundle","type":"searchset","li\u006ek":[{{"relation":"next","url":"ExplanationOfBenefit?page=2"}}],"entry":[{}]}}"#,
        entries(0, 2)
    );
    let page_2 = format!(
        r#"{{"resourceType":"Bundle","type":"searchset","link":[],"entry":[{}],"link":[{{"relation":"next","url":"ExplanationOfBenefit?page=3"}}]}}"#,
        entries(2, 4)
    );
    let page_3 = format!(
        r#"{{"resourceType":"Bundle","type":"searchset","link":null,"entry":[{}]}}"#,
        entries(4, 5)
    );
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("patient", "pat-1"))
        .respond_with(fhir_json(page_1))
        .expect(2)
        .mount(&server)
        .await;
    for (page, body) in [("2", page_2), ("3", page_3)] {
        Mock::given(path("/fhir/ExplanationOfBenefit"))
            .and(query_param("page", page))
            .respond_with(fhir_json(body))
            .expect(2)
            .mount(&server)
            .await;
    }
    for read_ahead in [true, false] {
        let client = FhirClient::builder(TestAdapter::new(&base).arc())
            .token_source(static_tokens())
            .read_ahead(read_ahead)
            .build()
            .unwrap();
        let got: Vec<_> = client
            .explanation_of_benefits(EobQuery::new())
            .matches()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            eob_ids(&got),
            ["e0", "e1", "e2", "e3", "e4"],
            "read_ahead {read_ahead}: every page"
        );
    }
}

#[tokio::test]
async fn without_read_ahead_the_next_page_is_fetched_only_once_the_current_one_is_drained() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("patient", "pat-1"))
        .respond_with(fhir_json(bundle(
            &eobs(0, 3),
            &[],
            None,
            Some("ExplanationOfBenefit?page=2"),
        )))
        .mount(&server)
        .await;
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("page", "2"))
        .respond_with(fhir_json(bundle(&eobs(3, 4), &[], None, None)))
        .mount(&server)
        .await;
    let requests = || async { server.received_requests().await.unwrap().len() };

    let client = FhirClient::builder(TestAdapter::new(&base).arc())
        .token_source(static_tokens())
        .read_ahead(false)
        .build()
        .unwrap();
    let mut stream = client.explanation_of_benefits(EobQuery::new());
    assert_eq!(
        requests().await,
        0,
        "nothing is fetched before the first poll"
    );
    for _ in 0..3 {
        stream.try_next().await.unwrap().unwrap();
        assert_eq!(
            requests().await,
            1,
            "page 2 must wait until page 1 is drained"
        );
    }
    stream.try_next().await.unwrap().unwrap();
    assert_eq!(requests().await, 2);
    assert!(stream.try_next().await.unwrap().is_none());
    assert!(stream.next().await.is_none(), "the stream stays ended");
}

#[tokio::test]
async fn with_read_ahead_the_next_page_is_fetched_while_the_current_one_is_drained() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("patient", "pat-1"))
        .respond_with(fhir_json(bundle(
            &eobs(0, 3),
            &[],
            None,
            Some("ExplanationOfBenefit?page=2"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("page", "2"))
        .respond_with(fhir_json(bundle(
            &eobs(3, 5),
            &[],
            None,
            Some("ExplanationOfBenefit?page=3"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("page", "3"))
        .respond_with(fhir_json(bundle(&eobs(5, 6), &[], None, None)))
        .expect(1)
        .mount(&server)
        .await;
    let client = FhirClient::builder(TestAdapter::new(&base).arc())
        .token_source(static_tokens())
        .read_ahead(true)
        .build()
        .unwrap();
    let mut stream = client.explanation_of_benefits(EobQuery::new());
    stream.try_next().await.unwrap().unwrap();
    // Page 2 is requested in the background while page 1 is still being drained; page 3 is not (one ahead).
    let mut seen = 0;
    for _ in 0..100 {
        seen = server.received_requests().await.unwrap().len();
        if seen >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(server.received_requests().await.unwrap().len(), 2, "{seen}");
    let rest: Vec<_> = stream.matches().try_collect().await.unwrap();
    assert_eq!(
        eob_ids(&rest),
        ["e1", "e2", "e3", "e4", "e5"],
        "every claim once, in order"
    );
}

/// A payer whose page 1 writes its `next` link before its entries (the Bundle's element order) and then holds
/// back its last bytes until page 2 has been asked for, or for `hold` at most.
async fn payer_with_a_slow_first_page(hold: std::time::Duration) -> RawServer {
    let page_2_asked = Arc::new(tokio::sync::Notify::new());
    RawServer::with(move |req| {
        let page_2_asked = page_2_asked.clone();
        async move {
            if req.target.contains("page=2") {
                page_2_asked.notify_one();
                return Reply::json(200, bundle(&eobs(3, 5), &[], None, None).as_bytes());
            }
            let entries = entry_texts(0, 3);
            let head = r#"{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"ExplanationOfBenefit?patient=pat-1&page=2"}],"entry":["#;
            let mut reply = Reply::parts(
                200,
                &[("Content-Type", "application/fhir+json")],
                vec![
                    Arc::from(format!("{head}{},", entries[..2].join(",")).into_bytes()),
                    Arc::from(format!("{}]}}", entries[2]).into_bytes()),
                ],
            );
            reply.hold_last = Some((page_2_asked, hold));
            reply
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_read_ahead_the_next_page_is_requested_as_soon_as_its_link_has_arrived() {
    // Page 1 cannot complete until page 2 has been asked for: a client that waited for the whole page would
    // stall for the full 10 s hold.
    let server = payer_with_a_slow_first_page(std::time::Duration::from_secs(10)).await;
    let client = client(TestAdapter::new(&format!("{}/fhir", server.uri())));
    let started = std::time::Instant::now();
    let claims: Vec<_> = client
        .explanation_of_benefits(EobQuery::new())
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "page 2 was asked for only after page 1 had arrived whole ({:?})",
        started.elapsed()
    );
    assert_eq!(eob_ids(&claims), ["e0", "e1", "e2", "e3", "e4"]);
    assert_eq!(
        server.max_in_flight(),
        2,
        "page 2 was asked while page 1 arrived"
    );
    assert_eq!(server.requests().len(), 2, "each page once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_read_ahead_a_page_is_asked_for_only_once_the_previous_one_is_drained() {
    let server = payer_with_a_slow_first_page(std::time::Duration::from_millis(300)).await;
    let client = FhirClient::builder(TestAdapter::new(&format!("{}/fhir", server.uri())).arc())
        .token_source(static_tokens())
        .read_ahead(false)
        .build()
        .unwrap();
    let claims: Vec<_> = client
        .explanation_of_benefits(EobQuery::new())
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(eob_ids(&claims), ["e0", "e1", "e2", "e3", "e4"]);
    assert_eq!(server.max_in_flight(), 1, "one page at a time");
}

#[tokio::test]
async fn a_next_link_to_a_foreign_origin_is_refused_and_the_foreign_server_sees_nothing() {
    let server = MockServer::start().await;
    let foreign = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .respond_with(fhir_json(bundle(
            &eobs(0, 2),
            &[],
            None,
            Some(&format!(
                "{}/fhir/ExplanationOfBenefit?page=2",
                foreign.uri()
            )),
        )))
        .mount(&server)
        .await;
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .respond_with(fhir_json(bundle(&eobs(2, 3), &[], None, None)))
        .mount(&foreign)
        .await;

    let items: Vec<_> = client(TestAdapter::new(&base))
        .explanation_of_benefits(EobQuery::new())
        .collect()
        .await;
    assert_eq!(items.len(), 3, "two claims, then the error: {items:?}");
    assert!(
        items[..2]
            .iter()
            .all(|i| matches!(i, Ok(SearchItem::Match(_))))
    );
    let err = items[2].as_ref().unwrap_err();
    assert!(matches!(err, Error::ForeignOrigin { .. }), "{err:?}");
    assert_eq!(err.stage(), Stage::Fhir);
    assert!(err.to_string().contains(&foreign.uri()), "{err}");
    assert!(err.hint().unwrap().contains("trusted_origins"));
    assert!(
        foreign.received_requests().await.unwrap().is_empty(),
        "no request at all, so no Authorization header, reached the foreign origin"
    );
}

#[tokio::test]
async fn a_next_link_to_an_origin_the_adapter_trusts_is_followed() {
    let server = MockServer::start().await;
    let trusted = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .respond_with(fhir_json(bundle(
            &eobs(0, 2),
            &[],
            None,
            Some(&format!("{}/pages/2", trusted.uri())),
        )))
        .mount(&server)
        .await;
    Mock::given(path("/pages/2"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(fhir_json(bundle(&eobs(2, 3), &[], None, None)))
        .expect(1)
        .mount(&trusted)
        .await;
    let mut adapter = TestAdapter::new(&base);
    adapter.trusted = vec![url::Url::parse(&trusted.uri()).unwrap().origin()];
    let got: Vec<_> = client(adapter)
        .explanation_of_benefits(EobQuery::new())
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(eob_ids(&got), ["e0", "e1", "e2"]);
}

#[tokio::test]
async fn a_plain_http_next_link_off_loopback_is_refused() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .respond_with(fhir_json(bundle(
            &eobs(0, 1),
            &[],
            None,
            Some("http://payer.example/fhir/ExplanationOfBenefit?page=2"),
        )))
        .mount(&server)
        .await;
    let items: Vec<_> = client(TestAdapter::new(&base))
        .explanation_of_benefits(EobQuery::new())
        .collect()
        .await;
    assert!(
        matches!(items[1], Err(Error::InsecureUrl { .. })),
        "{items:?}"
    );
    assert_eq!(items.len(), 2);
}

#[tokio::test]
async fn a_paging_loop_ends_the_stream_with_a_typed_error_after_every_page_read() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    let page1 = format!("{base}/ExplanationOfBenefit?patient=pat-1");
    // Page 1 -> page 2 -> page 3 -> page 1 again (a broken cursor), each page fetched once.
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("patient", "pat-1"))
        .respond_with(fhir_json(bundle(
            &eobs(0, 2),
            &[],
            Some(&page1),
            Some("ExplanationOfBenefit?page=2"),
        )))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("page", "2"))
        .respond_with(fhir_json(bundle(
            &eobs(2, 4),
            &[],
            None,
            Some("ExplanationOfBenefit?page=3"),
        )))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("page", "3"))
        .respond_with(fhir_json(bundle(&eobs(4, 5), &[], None, Some(&page1))))
        .expect(2)
        .mount(&server)
        .await;

    for read_ahead in [false, true] {
        let client = FhirClient::builder(TestAdapter::new(&base).arc())
            .token_source(static_tokens())
            .read_ahead(read_ahead)
            .build()
            .unwrap();
        let items: Vec<_> = client
            .explanation_of_benefits(EobQuery::new())
            .collect()
            .await;
        assert_eq!(items.len(), 6, "{items:?}");
        assert!(items[..5].iter().all(Result::is_ok));
        match &items[5] {
            Err(e @ Error::PagingLoop { pages: 3, .. }) => {
                assert!(e.to_string().contains("looped after 3 pages"), "{e}");
                assert!(e.to_string().contains("incomplete"), "{e}");
            }
            other => panic!("expected a paging loop, got {other:?}"),
        }
    }
    // Each page was fetched once per run, never the looped-to page again.
    assert_eq!(server.received_requests().await.unwrap().len(), 6);
}

#[tokio::test]
async fn a_next_link_that_repeats_self_is_a_loop() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    // The server names the page by a different spelling than the one requested, and then links to it.
    let own = format!("{base}/ExplanationOfBenefit?cursor=A");
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .respond_with(fhir_json(bundle(&eobs(0, 1), &[], Some(&own), Some(&own))))
        .expect(1)
        .mount(&server)
        .await;
    let items: Vec<_> = client(TestAdapter::new(&base))
        .explanation_of_benefits(EobQuery::new())
        .collect()
        .await;
    assert!(
        matches!(items[1], Err(Error::PagingLoop { pages: 1, .. })),
        "{items:?}"
    );
}

#[tokio::test]
async fn the_page_cap_ends_the_stream_with_a_typed_error() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    for page in 1..=3 {
        Mock::given(path("/fhir/ExplanationOfBenefit"))
            .and(query_param("page", page.to_string().as_str()))
            .respond_with(fhir_json(bundle(
                &eobs(page * 10, page * 10 + 2),
                &[],
                None,
                Some(&format!("ExplanationOfBenefit?page={}", page + 1)),
            )))
            .mount(&server)
            .await;
    }
    for read_ahead in [false, true] {
        let client = FhirClient::builder(TestAdapter::new(&base).arc())
            .token_source(static_tokens())
            .max_pages(2)
            .read_ahead(read_ahead)
            .build()
            .unwrap();
        let items: Vec<_> = client
            .search::<fhir_c4bb::ExplanationOfBenefit>(SearchParams::new().param("page", "1"))
            .collect()
            .await;
        assert_eq!(items.len(), 5, "{items:?}");
        assert!(
            matches!(items[4], Err(Error::PageLimit { limit: 2, .. })),
            "{items:?}"
        );
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        4,
        "two pages per run, never a third"
    );
}

#[tokio::test]
async fn warnings_and_included_resources_in_a_bundle_are_surfaced() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    let org = json!({"resourceType": "Organization", "id": "org-1", "name": "Provider Org"});
    // e1 names its provider by reference (resolved against the included Organization) and carries its
    // payee organization contained (resolved by the EOB itself).
    let mut e1 = eob("e1");
    e1["provider"] = json!({"reference": format!("{base}/Organization/org-1")});
    e1["contained"] = json!([{"resourceType": "Organization", "id": "payee-1", "name": "Payee"}]);
    e1["payee"]["party"] = json!({"reference": "#payee-1"});
    let warning = outcome(
        "warning",
        "incomplete",
        "claims before 2020 are not available",
    );
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("_include", "ExplanationOfBenefit:provider"))
        .respond_with(fhir_json(bundle(
            &[eob("e0"), e1],
            &[
                json!({"resource": org, "search": {"mode": "include"}}),
                json!({"resource": warning, "search": {"mode": "outcome"}}),
                // No search mode at all: recognised by its type.
                json!({"resource": outcome("information", "informational", "page 1 of 1")}),
            ],
            None,
            None,
        )))
        .mount(&server)
        .await;
    let results = client(TestAdapter::new(&base))
        .explanation_of_benefits(EobQuery::new().include("ExplanationOfBenefit:provider"))
        .collect_all()
        .await
        .unwrap();
    assert_eq!(eob_ids(&results.matches), ["e0", "e1"]);
    assert_eq!(results.included.len(), 1);
    assert_eq!(results.included[0].resource_type(), "Organization");
    assert_eq!(results.included[0].id(), Some("org-1"));
    let e1 = &results.matches[1];
    let provider = results.resolve(e1.provider.as_ref().unwrap()).unwrap();
    assert_eq!(provider.id(), Some("org-1"));
    let payee = e1.payee.as_ref().unwrap().party.as_ref().unwrap();
    let contained = e1.resolve_contained(payee).unwrap();
    assert_eq!(
        contained.as_organization().unwrap().name.as_deref(),
        Some("Payee")
    );
    assert_eq!(results.warnings.len(), 2);
    assert_eq!(
        results.warnings[0].issue[0].diagnostics.as_deref(),
        Some("claims before 2020 are not available")
    );
}

#[tokio::test]
async fn an_operation_outcome_with_a_4xx_is_a_typed_error_and_is_not_retried() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .respond_with(
            ResponseTemplate::new(403).set_body_raw(
                outcome(
                    "error",
                    "forbidden",
                    "scope patient/ExplanationOfBenefit.read missing",
                )
                .to_string(),
                "application/fhir+json",
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(TestAdapter::new(&base))
        .explanation_of_benefits(EobQuery::new())
        .collect_all()
        .await
        .unwrap_err();
    match &err {
        Error::OperationOutcome { status, issues, .. } => {
            assert_eq!(*status, 403);
            assert_eq!(issues.len(), 1);
            assert_eq!(issues[0].severity, "error");
            assert_eq!(issues[0].code, "forbidden");
            assert!(issues[0].diagnostics.as_deref().unwrap().contains("scope"));
        }
        other => panic!("expected an OperationOutcome error, got {other:?}"),
    }
    assert_eq!(err.stage(), Stage::Fhir);
    assert!(!err.is_transient());
    assert!(err.to_string().contains("forbidden"), "{err}");
    assert!(
        !err.to_string().contains("pat-1"),
        "no query in the message: {err}"
    );
}

#[tokio::test]
async fn an_html_error_page_is_a_typed_error_with_its_status() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(
            "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let err = client(TestAdapter::new(&base)).patient().await.unwrap_err();
    match &err {
        Error::UnexpectedResponse {
            status,
            content_type,
            excerpt,
            stage,
            ..
        } => {
            assert_eq!(*status, 502);
            assert_eq!(*stage, Stage::Fhir);
            assert_eq!(content_type.as_deref(), Some("text/html"));
            assert!(excerpt.as_str().contains("502 Bad Gateway"), "{excerpt}");
        }
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }
    assert!(err.is_transient());
    assert!(
        err.hint().unwrap().contains("transient"),
        "{:?}",
        err.hint()
    );
    // A 502 is transient: it was retried up to the policy's 4 attempts.
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn an_html_page_with_status_200_is_refused_without_retrying() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<html><body>Please log in</body></html>",
            "text/html; charset=utf-8",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(TestAdapter::new(&base)).patient().await.unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedResponse { status: 200, .. }),
        "{err:?}"
    );
    assert!(err.hint().unwrap().contains("web page"), "{:?}", err.hint());
}

#[tokio::test]
async fn truncated_json_is_a_decode_error_naming_where_it_broke_and_is_not_retried() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    let full = bundle(&eobs(0, 3), &[], None, None);
    let cut = full[..full.len() / 2].to_owned();
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .respond_with(fhir_json(cut))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(TestAdapter::new(&base))
        .explanation_of_benefits(EobQuery::new())
        .collect_all()
        .await
        .unwrap_err();
    match &err {
        Error::Decode {
            path,
            message,
            stage,
            ..
        } => {
            assert_eq!(*stage, Stage::Fhir);
            assert!(path.starts_with("entry"), "path {path:?}");
            assert!(message.contains("EOF"), "{message}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(!err.is_transient());
}

#[tokio::test]
async fn patient_coverage_and_everything_use_the_member_and_the_adapters_choices() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    let mut patient: serde_json::Value = serde_json::from_str(PATIENT_FIXTURE).unwrap();
    patient["id"] = json!("pat-1");
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(patient.to_string(), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let coverage: serde_json::Value = serde_json::from_str(COVERAGE_FIXTURE).unwrap();
    Mock::given(path("/fhir/Coverage"))
        .and(query_param("beneficiary", "Patient/pat-1"))
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
        .and(query_param("_count", "10"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            bundle(&[coverage], &[], None, None),
            "application/json+fhir",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/fhir/Patient/pat-1/$everything"))
        .respond_with(fhir_json(bundle(
            &[patient.clone(), eob("e9")],
            &[],
            None,
            None,
        )))
        .expect(1)
        .mount(&server)
        .await;

    let standard = client(TestAdapter::new(&base));
    let p = standard.patient().await.unwrap();
    assert_eq!(p.id.as_deref(), Some("pat-1"));
    let covs: Vec<_> = standard.coverage().matches().try_collect().await.unwrap();
    assert_eq!(covs.len(), 1);
    let err = standard.everything().err().unwrap();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("$everything"));

    let mut quirky = TestAdapter::new(&base);
    quirky.coverage_search = CoverageSearch::Patient;
    quirky.max_page_size = Some(10);
    quirky.everything = true;
    let quirky = client(quirky);
    let covs: Vec<_> = quirky
        .search::<fhir_c4bb::Coverage>(SearchParams::new().param("patient", "pat-1").count(500))
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(covs.len(), 1, "_count=500 was clamped to the payer's 10");
    let everything = quirky.everything().unwrap().collect_all().await.unwrap();
    let types: Vec<_> = everything
        .matches
        .iter()
        .map(|r| r.resource_type().to_owned())
        .collect();
    assert_eq!(types, ["Patient", "ExplanationOfBenefit"]);
}

#[tokio::test]
async fn a_resource_of_the_wrong_type_is_a_decode_error() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(fhir_json(eob("e1").to_string()))
        .mount(&server)
        .await;
    let err = client(TestAdapter::new(&base)).patient().await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("ExplanationOfBenefit"), "{err}");
}

#[tokio::test]
async fn the_body_size_cap_is_enforced() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .respond_with(fhir_json(bundle(&eobs(0, 5), &[], None, None)))
        .expect(1)
        .mount(&server)
        .await;
    let client = FhirClient::builder(TestAdapter::new(&base).arc())
        .token_source(static_tokens())
        .max_body_bytes(10_000)
        .build()
        .unwrap();
    let err = client
        .explanation_of_benefits(EobQuery::new())
        .collect_all()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 10_000, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn gzip_bodies_are_accepted() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    let body = bundle(&eobs(0, 4), &[], None, None);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() < body.len() / 4);
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(header("accept-encoding", "gzip"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(gz, "application/fhir+json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let got: Vec<_> = client(TestAdapter::new(&base))
        .explanation_of_benefits(EobQuery::new())
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.len(), 4);
}

#[tokio::test]
async fn a_pool_shares_one_connection_between_members_and_reads_each_members_data() {
    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    for who in ["a", "b"] {
        Mock::given(path("/fhir/ExplanationOfBenefit"))
            .and(query_param("patient", who))
            .and(header(
                "authorization",
                format!("Bearer tok-{who}").as_str(),
            ))
            .respond_with(fhir_json(bundle(
                &[eob(&format!("{who}-1"))],
                &[],
                None,
                None,
            )))
            .expect(1)
            .mount(&server)
            .await;
    }
    let pool = smart_core::FhirPool::builder(TestAdapter::new(&base).arc())
        .build()
        .unwrap();
    for who in ["a", "b"] {
        let tokens = Arc::new(smart_core::StaticTokens::new(
            smart_core::TokenSet::bearer(secrecy::SecretString::from(format!("tok-{who}")), None)
                .with_patient(who),
        ));
        let got: Vec<_> = pool
            .for_member(tokens)
            .explanation_of_benefits(EobQuery::new())
            .matches()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(eob_ids(&got), [format!("{who}-1")]);
    }
}
