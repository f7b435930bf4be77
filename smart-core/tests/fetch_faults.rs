//! Rate limits and faults: 429 with `Retry-After` (seconds, HTTP-date), `X-RateLimit-Reset` (delta, epoch) or
//! nothing; 503 and 5xx; the retry budget; connections reset mid-body; invalid header lines (strict and
//! lenient adapters); and the per-payer concurrency cap, shared by members and released during waits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fetch_common.rs"]
mod common;
#[path = "support/raw_server.rs"]
mod raw_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use raw_server::{RawServer, Reply};
use smart_core::fhir::{FhirClient, FhirPool};
use smart_core::{Error, TransportKind};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(adapter: TestAdapter) -> FhirClient {
    FhirClient::builder(adapter.arc())
        .token_source(static_tokens())
        .build()
        .unwrap()
}

fn patient_json() -> String {
    let mut p: serde_json::Value = serde_json::from_str(PATIENT_FIXTURE).unwrap();
    p["id"] = serde_json::json!("pat-1");
    p.to_string()
}

/// A server whose `Patient/pat-1` answers `first` once, then the patient.
async fn throttled_once(first: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(first)
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(patient_json(), "application/fhir+json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    server
}

async fn timed_patient(server: &MockServer, adapter: TestAdapter) -> Duration {
    let started = Instant::now();
    let p = client(adapter).patient().await.unwrap();
    assert_eq!(p.id.as_deref(), Some("pat-1"));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "one 429, one retry"
    );
    started.elapsed()
}

#[tokio::test]
async fn a_429_with_retry_after_seconds_waits_that_long() {
    let server = throttled_once(ResponseTemplate::new(429).insert_header("retry-after", "1")).await;
    let took = timed_patient(&server, TestAdapter::new(&format!("{}/fhir", server.uri()))).await;
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
}

#[tokio::test]
async fn a_429_with_retry_after_as_an_http_date_waits_until_then() {
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    let server =
        throttled_once(ResponseTemplate::new(429).insert_header("retry-after", at.as_str())).await;
    let took = timed_patient(&server, TestAdapter::new(&format!("{}/fhir", server.uri()))).await;
    // HTTP dates have whole seconds: "in 2 s" is between 1 and 2 s away.
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_millis(3000), "{took:?}");
}

#[tokio::test]
async fn a_429_with_x_ratelimit_reset_as_delta_seconds_waits_that_long() {
    let server =
        throttled_once(ResponseTemplate::new(429).insert_header("x-ratelimit-reset", "1")).await;
    let took = timed_patient(&server, TestAdapter::new(&format!("{}/fhir", server.uri()))).await;
    assert!(took >= Duration::from_secs(1), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
}

#[tokio::test]
async fn a_429_with_x_ratelimit_reset_as_an_epoch_time_waits_until_then() {
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    let server = throttled_once(
        ResponseTemplate::new(429).insert_header("x-ratelimit-reset", reset.to_string().as_str()),
    )
    .await;
    let took = timed_patient(&server, TestAdapter::new(&format!("{}/fhir", server.uri()))).await;
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_millis(3000), "{took:?}");
}

#[tokio::test]
async fn a_server_asking_for_a_long_wait_is_held_to_max_backoff() {
    let server =
        throttled_once(ResponseTemplate::new(429).insert_header("retry-after", "3600")).await;
    let mut adapter = TestAdapter::new(&format!("{}/fhir", server.uri()));
    adapter.policy.max_backoff = Duration::from_millis(300);
    let took = timed_patient(&server, adapter).await;
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[tokio::test]
async fn a_429_without_headers_backs_off_with_jitter_and_counts_attempts() {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(3)
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(patient_json(), "application/fhir+json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut adapter = TestAdapter::new(&format!("{}/fhir", server.uri()));
    adapter.policy.base_backoff = Duration::from_millis(100);
    let started = Instant::now();
    client(adapter).patient().await.unwrap();
    let took = started.elapsed();
    // Full jitter: each wait is drawn from [0, 100 ms], [0, 200 ms], [0, 400 ms].
    assert!(took < Duration::from_millis(700 + 500), "{took:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_payer_that_keeps_throttling_ends_in_rate_limited_with_the_payers_hint() {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .expect(4)
        .mount(&server)
        .await;
    let err = client(TestAdapter::new(&format!("{}/fhir", server.uri())))
        .patient()
        .await
        .unwrap_err();
    match &err {
        Error::RateLimited {
            attempts,
            waited,
            payer_hint,
            ..
        } => {
            assert_eq!(*attempts, 4);
            assert!(*waited < Duration::from_millis(100), "{waited:?}");
            assert!(
                payer_hint
                    .as_deref()
                    .unwrap()
                    .contains("10 requests a second")
            );
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(err.hint(), err_payer_hint(&err));
    assert!(err.is_transient());
}

fn err_payer_hint(err: &Error) -> Option<&str> {
    match err {
        Error::RateLimited { payer_hint, .. } => payer_hint.as_deref(),
        _ => None,
    }
}

#[tokio::test]
async fn the_request_budget_is_not_spent_waiting_for_a_retry_that_cannot_fit() {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
        .expect(1)
        .mount(&server)
        .await;
    let mut adapter = TestAdapter::new(&format!("{}/fhir", server.uri()));
    adapter.policy.request_budget = Duration::from_millis(500);
    let started = Instant::now();
    let err = client(adapter).patient().await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { attempts: 1, .. }),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(400));
}

#[tokio::test]
async fn a_retry_after_of_u64_max_with_an_unbounded_max_backoff_ends_in_rate_limited_not_a_panic() {
    // `elapsed + wait` used to overflow (and panic) here: the server's wait, held to a `max_backoff` that does
    // not bound it, added to the time already spent (over a second, so that the seconds carry).
    let server = MockServer::start().await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "18446744073709551615")
                .set_delay(Duration::from_millis(1100)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut adapter = TestAdapter::new(&format!("{}/fhir", server.uri()));
    adapter.policy.max_backoff = Duration::MAX;
    let started = Instant::now();
    let err = client(adapter).patient().await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { attempts: 1, .. }),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(6));
}

#[tokio::test]
async fn a_503_then_success_is_retried() {
    let server = throttled_once(ResponseTemplate::new(503)).await;
    timed_patient(&server, TestAdapter::new(&format!("{}/fhir", server.uri()))).await;
}

#[tokio::test]
async fn a_5xx_the_adapter_calls_permanent_fails_at_once_and_others_are_retried() {
    let server = MockServer::start().await;
    let not_known = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","diagnostics":"HAPI-2001: Resource Organization/ifp-1 is not known"}]}"#;
    Mock::given(path("/fhir/Organization/ifp-1"))
        .respond_with(ResponseTemplate::new(500).set_body_raw(not_known, "application/fhir+json"))
        .mount(&server)
        .await;
    let base = format!("{}/fhir", server.uri());
    let mut permanent = TestAdapter::new(&base);
    permanent.permanent_5xx_marker = Some("is not known");
    let read = |adapter: TestAdapter| async move {
        client(adapter)
            .read::<fhir_c4bb::Organization>("ifp-1")
            .await
            .unwrap_err()
    };

    let err = read(permanent).await;
    assert!(
        matches!(err, Error::OperationOutcome { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "not retried"
    );

    // Another 500 (no marker), or an adapter that says nothing: retried up to max_attempts.
    let err = read(TestAdapter::new(&base)).await;
    assert!(
        matches!(err, Error::OperationOutcome { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1 + fast_policy().max_attempts as usize
    );
}

#[tokio::test]
async fn a_connection_reset_mid_body_is_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = RawServer::with(move |_req| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                // Promise 10,000 bytes, send 100, hang up.
                let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: 10000\r\n\r\n".to_vec();
                bytes.extend_from_slice(&patient_json().as_bytes()[..100]);
                Reply::raw_then_close(bytes)
            } else {
                Reply::json(200, patient_json().as_bytes())
            }
        }
    })
    .await;
    let p = client(TestAdapter::new(&format!("{}/fhir", server.uri())))
        .patient()
        .await
        .unwrap();
    assert_eq!(p.id.as_deref(), Some("pat-1"));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_search_page_dropped_mid_body_is_read_again_from_its_first_byte() {
    // The first answer for page 1 stops inside its `entry` array. The retry's body starts over: had the link
    // scanner carried on from where the dropped body stopped, it would have missed page 1's `next` link and
    // ended the search after one page.
    let page_1_calls = Arc::new(AtomicUsize::new(0));
    let calls = page_1_calls.clone();
    let server = RawServer::with(move |req| {
        let n = if req.target.contains("page=2") {
            usize::MAX
        } else {
            calls.fetch_add(1, Ordering::SeqCst)
        };
        async move {
            let entries = |from, to| entry_texts(from, to).join(",");
            match n {
                0 => {
                    let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: 10000\r\n\r\n".to_vec();
                    // As long as the full page up to where its `link` array opens, and inside an array
                    // here: a scan carried on from this offset would take page 1's link for an item of
                    // that array and find no `link` member.
                    bytes.extend_from_slice(br#"{"resourceType":"Bundle","note":["#);
                    Reply::raw_then_close(bytes)
                }
                usize::MAX => Reply::json(
                    200,
                    format!(r#"{{"resourceType":"Bundle","type":"searchset","entry":[{}]}}"#, entries(3, 5))
                        .as_bytes(),
                ),
                _ => Reply::json(
                    200,
                    format!(
                        r#"{{"resourceType":"Bundle","link":[{{"relation":"next","url":"ExplanationOfBenefit?patient=pat-1&page=2"}}],"entry":[{}],"type":"searchset"}}"#,
                        entries(0, 3)
                    )
                    .as_bytes(),
                ),
            }
        }
    })
    .await;
    let claims = client(TestAdapter::new(&format!("{}/fhir", server.uri())))
        .explanation_of_benefits(smart_core::fhir::EobQuery::new())
        .collect_all()
        .await
        .unwrap();
    let ids: Vec<_> = claims.matches.iter().filter_map(|e| e.id.clone()).collect();
    assert_eq!(ids, ["e0", "e1", "e2", "e3", "e4"]);
    assert_eq!(
        page_1_calls.load(Ordering::SeqCst),
        2,
        "page 1 was retried once"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_connection_that_keeps_dropping_ends_in_an_interrupted_transport_error() {
    let server = RawServer::with(|_req| async {
        Reply::raw_then_close(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: 10000\r\n\r\n{\"resourceType\"".to_vec(),
        )
    })
    .await;
    let err = client(TestAdapter::new(&format!("{}/fhir", server.uri())))
        .patient()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Interrupted,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(server.requests().len(), 4, "max_attempts");
}

fn bad_header_server_reply() -> Reply {
    Reply::with_headers(
        200,
        &[
            ("Content-Type", "application/fhir+json"),
            ("Bad Header", "x"),
        ],
        patient_json().as_bytes(),
    )
}

#[tokio::test]
async fn an_invalid_header_line_fails_a_strict_adapter_and_passes_a_lenient_one() {
    let server = RawServer::with(|_req| async { bad_header_server_reply() }).await;
    let base = format!("{}/fhir", server.uri());

    let err = client(TestAdapter::new(&base)).patient().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Other,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1, "a parse error is not retried");

    let mut lenient = TestAdapter::new(&base);
    lenient.lenient = true;
    let p = client(lenient).patient().await.unwrap();
    assert_eq!(p.id.as_deref(), Some("pat-1"));
}

/// A server where each answer takes `delay`, counting requests in flight.
async fn slow_server(delay: Duration) -> RawServer {
    RawServer::with(move |_req| async move {
        tokio::time::sleep(delay).await;
        Reply::json(200, patient_json().as_bytes())
    })
    .await
}

#[tokio::test]
async fn the_concurrency_cap_is_shared_by_every_member_of_a_pool() {
    let server = slow_server(Duration::from_millis(60)).await;
    let mut adapter = TestAdapter::new(&format!("{}/fhir", server.uri()));
    adapter.policy.max_concurrency = 3;
    let pool = FhirPool::builder(adapter.arc()).build().unwrap();
    let started = Instant::now();
    let reads = (0..12).map(|_| {
        let member = pool.for_member(static_tokens());
        async move { member.patient().await }
    });
    let results = futures::future::join_all(reads).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(server.requests().len(), 12);
    assert_eq!(
        server.max_in_flight(),
        3,
        "the cap was reached but never exceeded"
    );
    // 12 requests, 3 at a time, 60 ms each: at least 4 rounds.
    assert!(started.elapsed() >= Duration::from_millis(240));
    assert_eq!(pool.in_flight(), 0);
}

#[tokio::test]
async fn a_member_waiting_to_retry_does_not_hold_a_permit() {
    // Member A is throttled for 1 s; with a cap of 1, member B must still get through meanwhile.
    let a_calls = Arc::new(AtomicUsize::new(0));
    let a_counter = a_calls.clone();
    let server = RawServer::with(move |req| {
        let first_for_a = req.header("authorization") == Some("Bearer tok-a")
            && a_counter.fetch_add(1, Ordering::SeqCst) == 0;
        async move {
            if first_for_a {
                Reply::with_headers(429, &[("Retry-After", "1")], b"")
            } else {
                Reply::json(200, patient_json().as_bytes())
            }
        }
    })
    .await;
    let mut adapter = TestAdapter::new(&format!("{}/fhir", server.uri()));
    adapter.policy.max_concurrency = 1;
    let pool = FhirPool::builder(adapter.arc()).build().unwrap();
    let member = |tok: &str| {
        pool.for_member(Arc::new(smart_core::StaticTokens::new(
            smart_core::TokenSet::bearer(secrecy::SecretString::from(tok.to_owned()), None)
                .with_patient("pat-1"),
        )))
    };
    let (a, b) = (member("tok-a"), member("tok-b"));
    let started = Instant::now();
    let a_task = tokio::spawn(async move {
        let r = a.patient().await;
        (r.map(|_| ()), Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b_result = b.patient().await;
    let b_done = Instant::now();
    assert!(b_result.is_ok(), "{b_result:?}");
    assert!(
        b_done.duration_since(started) < Duration::from_millis(800),
        "B waited behind A's backoff"
    );
    let (a_result, a_done) = a_task.await.unwrap();
    assert!(a_result.is_ok(), "{a_result:?}");
    assert!(a_done > b_done);
    assert!(a_done.duration_since(started) >= Duration::from_secs(1));
    assert_eq!(a_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_per_attempt_and_is_retried() {
    let server = RawServer::with(|_req| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Reply::json(200, patient_json().as_bytes())
    })
    .await;
    let mut adapter = TestAdapter::new(&format!("{}/fhir", server.uri()));
    adapter.policy.max_attempts = 2;
    let client = FhirClient::builder(adapter.arc())
        .token_source(static_tokens())
        .request_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.patient().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 2, "one timeout, one retry");
}
