//! What the fetch tests share: a configurable test adapter, FHIR JSON builders over a real C4BB example EOB,
//! a static token source, and a fast retry policy.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use smart_core::{
    CoverageSearch, PayerAdapter, PriorAuthSearch, RatePolicy, StaticTokens, TokenSet, TokenSource,
};
use url::Url;

/// A C4BB example EOB (see `benches/data/SOURCES.md`).
pub const EOB_FIXTURE: &str = include_str!("../../benches/data/eob-professional1.json");
/// A C4BB example Coverage.
pub const COVERAGE_FIXTURE: &str = include_str!("../../benches/data/coverage1.json");
/// A C4BB example Patient.
pub const PATIENT_FIXTURE: &str = include_str!("../../benches/data/patient1.json");

/// The example EOB with `id` set to `id`.
pub fn eob(id: &str) -> Value {
    let mut v: Value = serde_json::from_str(EOB_FIXTURE).unwrap();
    v["id"] = json!(id);
    v
}

/// A searchset Bundle page with these match entries, optional extra entries, and links.
pub fn bundle(
    matches: &[Value],
    extra_entries: &[Value],
    self_url: Option<&str>,
    next: Option<&str>,
) -> String {
    let mut entry: Vec<Value> = matches
        .iter()
        .map(|r| json!({"fullUrl": format!("urn:id:{}", r["id"].as_str().unwrap_or("")), "resource": r, "search": {"mode": "match"}}))
        .collect();
    entry.extend(extra_entries.iter().cloned());
    let mut link = Vec::new();
    if let Some(s) = self_url {
        link.push(json!({"relation": "self", "url": s}));
    }
    if let Some(n) = next {
        link.push(json!({"relation": "next", "url": n}));
    }
    json!({"resourceType": "Bundle", "type": "searchset", "link": link, "entry": entry}).to_string()
}

/// The example EOB as a prior authorization (`use = preauthorization`) with `id` set to `id`.
pub fn prior_auth(id: &str) -> Value {
    let mut v = eob(id);
    v["use"] = json!("preauthorization");
    v
}

/// EOBs `e{from}`..`e{to-1}`.
pub fn eobs(from: usize, to: usize) -> Vec<Value> {
    (from..to).map(|i| eob(&format!("e{i}"))).collect()
}

/// The search entries for EOBs `e{from}`..`e{to-1}`, each as JSON text, for pages written by hand (to put
/// members in a chosen order, or to cut a page at a chosen byte).
pub fn entry_texts(from: usize, to: usize) -> Vec<String> {
    eobs(from, to)
        .iter()
        .map(|r| json!({"resource": r, "search": {"mode": "match"}}).to_string())
        .collect()
}

/// An OperationOutcome with one issue.
pub fn outcome(severity: &str, code: &str, diagnostics: &str) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}]})
}

/// A payer adapter whose every quirk a test can set.
#[derive(Debug, Clone)]
pub struct TestAdapter {
    pub base: Url,
    pub trusted: Vec<url::Origin>,
    pub lenient: bool,
    pub policy: RatePolicy,
    pub max_page_size: Option<u32>,
    pub coverage_search: CoverageSearch,
    pub prior_auth_search: PriorAuthSearch,
    pub everything: bool,
    pub accept: &'static str,
    /// A 5xx whose body contains this is final (see `PayerAdapter::is_permanent_failure`).
    pub permanent_5xx_marker: Option<&'static str>,
}

impl TestAdapter {
    pub fn new(base: &str) -> Self {
        Self {
            base: Url::parse(base).unwrap(),
            trusted: Vec::new(),
            lenient: false,
            policy: fast_policy(),
            max_page_size: None,
            coverage_search: CoverageSearch::Beneficiary,
            prior_auth_search: PriorAuthSearch::FilterClientSide,
            everything: false,
            accept: "application/fhir+json",
            permanent_5xx_marker: None,
        }
    }

    pub fn arc(self) -> Arc<dyn PayerAdapter> {
        Arc::new(self)
    }
}

impl PayerAdapter for TestAdapter {
    fn id(&self) -> &str {
        "test-payer"
    }
    fn fhir_base(&self) -> &Url {
        &self.base
    }
    fn trusted_origins(&self) -> Vec<url::Origin> {
        self.trusted.clone()
    }
    fn lenient_response_headers(&self) -> bool {
        self.lenient
    }
    fn rate_policy(&self) -> RatePolicy {
        self.policy.clone()
    }
    fn max_page_size(&self) -> Option<u32> {
        self.max_page_size
    }
    fn coverage_search(&self) -> CoverageSearch {
        self.coverage_search
    }
    fn prior_auth_search(&self) -> PriorAuthSearch {
        self.prior_auth_search
    }
    fn supports_everything(&self) -> bool {
        self.everything
    }
    fn fhir_accept(&self) -> &str {
        self.accept
    }
    fn is_permanent_failure(&self, status: u16, body_excerpt: &str) -> bool {
        status >= 500
            && self
                .permanent_5xx_marker
                .is_some_and(|m| body_excerpt.contains(m))
    }
    fn explain_response(&self, status: u16, body_excerpt: &str) -> Option<String> {
        (status == 429).then(|| {
            format!(
                "test-payer allows 10 requests a second ({} bytes)",
                body_excerpt.len()
            )
        })
    }
}

/// Retries that keep tests fast: 4 attempts, 20 ms base backoff, 3 s max wait, 10 s budget.
pub fn fast_policy() -> RatePolicy {
    let mut p = RatePolicy::default();
    p.max_attempts = 4;
    p.base_backoff = Duration::from_millis(20);
    p.max_backoff = Duration::from_secs(3);
    p.request_budget = Duration::from_secs(10);
    p.max_concurrency = 8;
    p
}

pub const TOKEN: &str = "at-SECRET-0";

/// A fixed token for patient `pat-1`.
pub fn static_tokens() -> Arc<dyn TokenSource> {
    Arc::new(StaticTokens::new(
        TokenSet::bearer(SecretString::from(TOKEN), Some(Duration::from_secs(3600)))
            .with_patient("pat-1"),
    ))
}
