//! What the fetch benchmarks share: the slow payer (a child process) and the client side of a sync.
#![allow(dead_code)]

pub mod slow_payer;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use secrecy::SecretString;
use smart_core::fhir::{EobQuery, FhirPool, SearchItem};
use smart_core::{FhirClient, PayerAdapter, RatePolicy, StaticTokens, TokenSet};
use url::Url;

/// The payer as the SDK sees it: the standard behaviour, with a concurrency cap.
#[derive(Debug)]
struct BenchPayer {
    base: Url,
    max_concurrency: usize,
}

impl PayerAdapter for BenchPayer {
    fn id(&self) -> &str {
        "bench"
    }
    fn fhir_base(&self) -> &Url {
        &self.base
    }
    fn rate_policy(&self) -> RatePolicy {
        let mut p = RatePolicy::default();
        p.max_concurrency = self.max_concurrency;
        p
    }
}

/// A pool for the payer at `fhir_base`, capped at `max_concurrency` requests.
pub fn pool(fhir_base: &str, max_concurrency: usize, read_ahead: bool) -> FhirPool {
    let adapter = BenchPayer {
        base: Url::parse(fhir_base).expect("base"),
        max_concurrency,
    };
    FhirPool::builder(Arc::new(adapter))
        .read_ahead(read_ahead)
        .build()
        .expect("pool")
}

/// The client for one member (see [`slow_payer`] for what the patient id means).
pub fn member(pool: &FhirPool, patient: String) -> FhirClient {
    pool.for_member(Arc::new(StaticTokens::new(
        TokenSet::bearer(SecretString::from("bench-token"), None).with_patient(patient),
    )))
}

/// Streams one member's EOBs, counting and dropping each one as it arrives.
pub async fn sync(client: FhirClient) -> usize {
    let mut stream = client.explanation_of_benefits(EobQuery::new());
    let mut n = 0;
    while let Some(item) = stream.next().await {
        match item.expect("the sync failed") {
            SearchItem::Match(eob) => {
                assert!(eob.id.is_some());
                n += 1;
            }
            other => panic!("unexpected item {other:?}"),
        }
    }
    n
}

/// CPU time this process has used (user + system), from /proc/self/stat: Linux only, `None` elsewhere.
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start at field 3; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel reports in USER_HZ, 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

/// "; client CPU …" for a run that took `wall` and started at `cpu_before`, or nothing off Linux.
pub fn cpu_note(cpu_before: Option<Duration>, wall: Duration, requests: usize) -> String {
    match (cpu_before, cpu_time()) {
        (Some(a), Some(b)) => format!(
            "; client CPU {:.0} ms = {:.0}% of one core, {:.0} µs a request",
            (b - a).as_secs_f64() * 1e3,
            100.0 * (b - a).as_secs_f64() / wall.as_secs_f64(),
            (b - a).as_secs_f64() * 1e6 / requests as f64
        ),
        _ => String::new(),
    }
}

/// "one page (default)" or "read-ahead".
pub fn mode(read_ahead: bool) -> &'static str {
    if read_ahead { "read-ahead" } else { "one page" }
}

/// The runtime the benchmarks run on: the multi-threaded one a backend would use.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
