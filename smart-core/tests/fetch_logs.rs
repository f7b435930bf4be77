//! What the fetch layer logs: one `tracing` span per request with method, path, status and attempt, and never a
//! token or a query value. Alone in its binary: tracing caches per-callsite interest process-wide, and tests
//! running in parallel without a subscriber can make a thread-local subscriber miss events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/fetch_common.rs"]
mod common;

use std::io::Write;
use std::sync::Arc;

use common::*;
use smart_core::fhir::{EobQuery, FhirClient};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn logs_carry_method_path_status_and_attempt_but_no_token_and_no_query() {
    use std::sync::Mutex;
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    let base = format!("{}/fhir", server.uri());
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            bundle(&eobs(0, 1), &[], None, None),
            "application/fhir+json",
        ))
        .mount(&server)
        .await;
    let client = FhirClient::builder(TestAdapter::new(&base).arc())
        .token_source(static_tokens())
        .build()
        .unwrap();
    let got = client
        .explanation_of_benefits(EobQuery::new().last_updated("ge2031-02-03"))
        .collect_all()
        .await
        .unwrap();
    assert_eq!(got.matches.len(), 1);
    drop(_guard);
    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("fhir.request"), "{logs}");
    assert!(logs.contains("/fhir/ExplanationOfBenefit"), "{logs}");
    assert!(logs.contains("status=200"), "{logs}");
    assert!(logs.contains("attempt=1"), "{logs}");
    assert!(
        !logs.contains("SECRET"),
        "the token leaked into the logs: {logs}"
    );
    assert!(
        !logs.contains("2031"),
        "a query value leaked into the logs: {logs}"
    );
    assert!(
        !logs.contains("pat-1"),
        "a query value leaked into the logs: {logs}"
    );
}
