//! Refresh, single-flight sessions, token stores (compare-and-swap, failures) and disconnect.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use serde_json::json;
use smart_core::{
    Error, ExposeSecret, LeaseClaim, MemoryTokenStore, Result, Revocation, SecretString,
    StoredTokens, TokenSet, TokenSource, TokenStore, Version, async_trait,
};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wiremock_support::*;

fn expired(access: &str, refresh: Option<&str>) -> TokenSet {
    let t = TokenSet::bearer(SecretString::from(access.to_owned()), None)
        .with_expires_at(Some(SystemTime::now() - Duration::from_secs(10)))
        .with_patient("pat-123")
        .with_scopes(["openid", "patient/*.read"]);
    match refresh {
        Some(r) => t.with_refresh_token(SecretString::from(r.to_owned())),
        None => t,
    }
}

fn fresh(access: &str) -> TokenSet {
    TokenSet::bearer(
        SecretString::from(access.to_owned()),
        Some(Duration::from_secs(3600)),
    )
    .with_refresh_token(SecretString::from("rt-fresh"))
}

async fn refresh_responds(server: &MockServer, response: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

// ---- SmartClient::refresh -----------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_the_refresh_token_with_the_same_client_auth() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"
        })),
        1,
    )
    .await;
    let c = client(&server, Some(SECRET));
    let new = c.refresh(&expired("at-1", Some("rt-1"))).await.unwrap();
    assert_eq!(new.access_token().expose_secret(), "at-2");
    assert_eq!(new.refresh_token().unwrap().expose_secret(), "rt-2");
    // Kept from the old set where the response is silent.
    assert_eq!(new.patient(), Some("pat-123"));
    assert_eq!(new.scopes(), ["openid", "patient/*.read"]);
    let req = &requests_to(&server, "/auth/token").await[0];
    let body = form(req);
    assert_eq!(body["refresh_token"], "rt-1");
    assert!(!body.contains_key("client_secret"));
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("test-app:p%40ss+w%2Brd%2F%3D%3A%25")
    );
    assert_eq!(
        req.headers.get("authorization").unwrap().to_str().unwrap(),
        expected
    );
    server.verify().await;
}

#[tokio::test]
async fn a_response_without_a_refresh_token_keeps_the_old_one() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": "60"}),
        ),
        1,
    )
    .await;
    let new = client(&server, None)
        .refresh(&expired("at-1", Some("rt-1")))
        .await
        .unwrap();
    assert_eq!(new.access_token().expose_secret(), "at-2");
    assert_eq!(new.refresh_token().unwrap().expose_secret(), "rt-1");
}

#[tokio::test]
async fn no_refresh_token_means_reauthorization_without_a_request() {
    let server = payer().await;
    let err = client(&server, None)
        .refresh(&expired("at-1", None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ReauthorizationRequired { .. }),
        "{err:?}"
    );
    assert!(err.requires_reauthorization());
    assert!(err.hint().unwrap().contains("authoriz"));
    server.verify().await;
}

#[tokio::test]
async fn invalid_grant_on_refresh_means_reauthorization() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(400)
            .set_body_json(json!({"error": "invalid_grant", "error_description": "token revoked"})),
        1,
    )
    .await;
    let err = client(&server, None)
        .refresh(&expired("at-1", Some("rt-1")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::ReauthorizationRequired { reason } if reason.contains("invalid_grant") && reason.contains("token revoked")),
        "{err:?}"
    );
    assert!(err.requires_reauthorization());
}

#[tokio::test]
async fn an_ended_consent_means_reauthorization() {
    let server = payer().await;
    let mut t: serde_json::Value = serde_json::to_value(expired("at-1", Some("rt-1"))).unwrap();
    t["consent_expires_at"] = json!(1_000);
    let t: TokenSet = serde_json::from_value(t).unwrap();
    assert!(t.consent_expired());
    let err = client(&server, None).refresh(&t).await.unwrap_err();
    assert!(
        matches!(err, Error::ReauthorizationRequired { .. }),
        "{err:?}"
    );
}

// ---- Session ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn twenty_concurrent_callers_cause_one_refresh_and_the_store_holds_the_new_tokens() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"}))
            .set_delay(Duration::from_millis(300)),
        1,
    )
    .await;
    let store = Arc::new(MemoryTokenStore::new());
    let v1 = store
        .save("alice", &expired("at-1", Some("rt-1")), None)
        .await
        .unwrap();
    let session = client(&server, None).session(store.clone(), "alice");
    let results = futures::future::join_all((0..20).map(|_| {
        let s = session.clone();
        tokio::spawn(async move { s.current().await })
    }))
    .await;
    for r in results {
        assert_eq!(r.unwrap().unwrap().access_token().expose_secret(), "at-2");
    }
    let stored = store.load("alice").await.unwrap().unwrap();
    assert_eq!(stored.tokens.access_token().expose_secret(), "at-2");
    assert_eq!(
        stored.tokens.refresh_token().unwrap().expose_secret(),
        "rt-2"
    );
    assert_eq!(stored.version, v1 + 1);
    server.verify().await;
}

#[tokio::test]
async fn fresh_tokens_are_returned_without_a_request_and_save_new_replaces() {
    let server = payer().await;
    let store = Arc::new(MemoryTokenStore::new());
    let session = client(&server, None).session(store.clone(), "bob");
    assert!(matches!(
        session.current().await,
        Err(Error::ReauthorizationRequired { .. })
    ));
    assert!(session.needs_reauthorization().await.unwrap());
    session.save_new(fresh("at-a")).await.unwrap();
    session.save_new(fresh("at-b")).await.unwrap();
    assert_eq!(
        session
            .current()
            .await
            .unwrap()
            .access_token()
            .expose_secret(),
        "at-b"
    );
    assert_eq!(store.load("bob").await.unwrap().unwrap().version, 2);
    assert!(!session.needs_reauthorization().await.unwrap());
    server.verify().await;
}

#[tokio::test]
async fn expiring_tokens_without_a_refresh_token_need_reauthorization_before_expiry() {
    let server = payer().await;
    let store = Arc::new(MemoryTokenStore::new());
    // Valid for 30 more seconds, inside the 60 s skew, and not refreshable.
    let t = TokenSet::bearer(SecretString::from("at-1"), Some(Duration::from_secs(30)));
    store.save("carol", &t, None).await.unwrap();
    let session = client(&server, None).session(store, "carol");
    assert!(session.needs_reauthorization().await.unwrap());
    let err = session.current().await.unwrap_err();
    assert!(err.requires_reauthorization(), "{err:?}");
    server.verify().await;
}

/// A store whose saves fail while `fail` is set.
#[derive(Debug, Default)]
struct FlakyStore {
    inner: MemoryTokenStore,
    fail: AtomicBool,
}

#[derive(Debug)]
struct DiskFull;
impl std::fmt::Display for DiskFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("disk full")
    }
}
impl std::error::Error for DiskFull {}

#[async_trait]
impl TokenStore for FlakyStore {
    async fn load(&self, key: &str) -> Result<Option<StoredTokens>> {
        self.inner.load(key).await
    }
    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> Result<Version> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(Error::Store(Box::new(DiskFull)));
        }
        self.inner.save(key, tokens, expected).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key).await
    }
    async fn try_claim_refresh(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseClaim> {
        self.inner.try_claim_refresh(key, holder, ttl).await
    }
    async fn release_refresh(&self, key: &str, holder: &str) -> Result<()> {
        self.inner.release_refresh(key, holder).await
    }
}

#[tokio::test]
async fn a_failing_store_is_an_error_and_the_new_token_is_not_returned() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"})),
        2,
    )
    .await;
    let store = Arc::new(FlakyStore::default());
    store
        .save("dave", &expired("at-1", Some("rt-1")), None)
        .await
        .unwrap();
    store.fail.store(true, Ordering::SeqCst);
    let session = client(&server, None).session(store.clone(), "dave");
    let err = session.current().await.unwrap_err();
    assert!(matches!(&err, Error::Store(_)), "{err:?}");
    assert!(err.to_string().contains("disk full"));
    // Nothing was handed out or cached: the next call refreshes again (second expected request) and saves.
    store.fail.store(false, Ordering::SeqCst);
    assert_eq!(
        session
            .current()
            .await
            .unwrap()
            .access_token()
            .expose_secret(),
        "at-2"
    );
    assert_eq!(
        store
            .load("dave")
            .await
            .unwrap()
            .unwrap()
            .tokens
            .access_token()
            .expose_secret(),
        "at-2"
    );
    server.verify().await;
}

/// A store in which another worker saves fresh tokens just before our first save (a lost CAS race).
#[derive(Debug, Default)]
struct RacingStore {
    inner: MemoryTokenStore,
    saves: AtomicUsize,
}

#[async_trait]
impl TokenStore for RacingStore {
    async fn load(&self, key: &str) -> Result<Option<StoredTokens>> {
        self.inner.load(key).await
    }
    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> Result<Version> {
        if self.saves.fetch_add(1, Ordering::SeqCst) == 1 {
            // The second save is ours after refreshing; the other worker gets there first.
            self.inner
                .save(key, &fresh("at-other-worker"), expected)
                .await?;
        }
        self.inner.save(key, tokens, expected).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key).await
    }
    async fn try_claim_refresh(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseClaim> {
        self.inner.try_claim_refresh(key, holder, ttl).await
    }
    async fn release_refresh(&self, key: &str, holder: &str) -> Result<()> {
        self.inner.release_refresh(key, holder).await
    }
}

#[tokio::test]
async fn a_store_conflict_reloads_what_the_other_worker_saved() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "at-mine", "token_type": "Bearer", "expires_in": 3600}),
        ),
        1,
    )
    .await;
    let store = Arc::new(RacingStore::default());
    store
        .save("erin", &expired("at-1", Some("rt-1")), None)
        .await
        .unwrap();
    let session = client(&server, None).session(store.clone(), "erin");
    let t = session.current().await.unwrap();
    assert_eq!(t.access_token().expose_secret(), "at-other-worker");
    assert_eq!(
        store
            .load("erin")
            .await
            .unwrap()
            .unwrap()
            .tokens
            .access_token()
            .expose_secret(),
        "at-other-worker"
    );
}

#[tokio::test]
async fn another_worker_refreshing_first_is_picked_up_from_the_store() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"})),
        1,
    )
    .await;
    let store = Arc::new(MemoryTokenStore::new());
    store
        .save("frank", &expired("at-1", Some("rt-1")), None)
        .await
        .unwrap();
    let c = client(&server, None);
    let worker_a = c.session(store.clone(), "frank");
    let worker_b = c.session(store.clone(), "frank");
    // Worker B caches the expired tokens (needs_reauthorization loads them) before A refreshes.
    assert!(!worker_b.needs_reauthorization().await.unwrap());
    assert_eq!(
        worker_a
            .current()
            .await
            .unwrap()
            .access_token()
            .expose_secret(),
        "at-2"
    );
    // B finds its cache stale, reloads, and does not spend the (rotated) refresh token again.
    assert_eq!(
        worker_b
            .current()
            .await
            .unwrap()
            .access_token()
            .expose_secret(),
        "at-2"
    );
    server.verify().await;
}

#[tokio::test]
async fn a_rejected_access_token_is_refreshed_once_for_concurrent_rejections() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(
                json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600}),
            )
            .set_delay(Duration::from_millis(200)),
        1,
    )
    .await;
    let store = Arc::new(MemoryTokenStore::new());
    let valid = fresh("at-1");
    store.save("gina", &valid, None).await.unwrap();
    let session = client(&server, None).session(store, "gina");
    let rejected = session.current().await.unwrap();
    let results = futures::future::join_all((0..5).map(|_| {
        let s = session.clone();
        let r = rejected.clone();
        tokio::spawn(async move { s.refresh_after_rejection(&r).await })
    }))
    .await;
    for r in results {
        assert_eq!(r.unwrap().unwrap().access_token().expose_secret(), "at-2");
    }
    server.verify().await;
}

// ---- disconnect -------------------------------------------------------------------------------------------

#[tokio::test]
async fn disconnect_revokes_refresh_then_access_token_and_deletes() {
    let server = payer().await;
    Mock::given(method("POST"))
        .and(path("/auth/revoke"))
        .and(header(
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD
                    .encode("test-app:p%40ss+w%2Brd%2F%3D%3A%25")
            )
            .as_str(),
        ))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::new());
    store.save("hank", &fresh("at-1"), None).await.unwrap();
    let session = client(&server, Some(SECRET)).session(store.clone(), "hank");
    let outcome = session.disconnect().await.unwrap();
    assert!(outcome.revoked_at_payer);
    assert!(outcome.had_tokens);
    assert_eq!(
        outcome.revocation,
        Some(Revocation::Revoked {
            refresh_token: true,
            access_token: true
        })
    );
    let reqs = requests_to(&server, "/auth/revoke").await;
    assert_eq!(form(&reqs[0])["token"], "rt-fresh");
    assert_eq!(form(&reqs[0])["token_type_hint"], "refresh_token");
    assert_eq!(form(&reqs[1])["token"], "at-1");
    assert_eq!(form(&reqs[1])["token_type_hint"], "access_token");
    assert!(store.load("hank").await.unwrap().is_none());
    assert!(session.needs_reauthorization().await.unwrap());
    server.verify().await;
}

#[tokio::test]
async fn disconnect_without_a_revocation_endpoint_deletes_locally_and_says_so() {
    // Aetna publishes no revocation endpoint.
    let server = MockServer::start().await;
    let mut cfg = smart_config(&server);
    cfg.as_object_mut().unwrap().remove("revocation_endpoint");
    mount_smart_config(&server, cfg).await;
    Mock::given(path("/auth/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::new());
    store.save("ivy", &fresh("at-1"), None).await.unwrap();
    let outcome = client(&server, None)
        .session(store.clone(), "ivy")
        .disconnect()
        .await
        .unwrap();
    assert!(!outcome.revoked_at_payer);
    assert_eq!(outcome.revocation, Some(Revocation::NotSupported));
    assert!(store.load("ivy").await.unwrap().is_none());
    server.verify().await;
}

#[tokio::test]
async fn a_failed_revocation_still_deletes_locally_and_reports_the_error() {
    let server = payer().await;
    Mock::given(path("/auth/revoke"))
        .respond_with(ResponseTemplate::new(503).set_body_raw("<html>down</html>", "text/html"))
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::new());
    store.save("jay", &fresh("at-1"), None).await.unwrap();
    let outcome = client(&server, None)
        .session(store.clone(), "jay")
        .disconnect()
        .await
        .unwrap();
    assert!(!outcome.revoked_at_payer);
    assert!(matches!(
        outcome.revocation_error,
        Some(Error::UnexpectedResponse { status: 503, .. })
    ));
    assert!(store.load("jay").await.unwrap().is_none());
}

// ---- Across Sessions: the store's refresh lease ---------------------------------------------------------------

/// Eight `Session`s (eight web requests, or workers) over one store, each with its own in-process lock, all
/// finding the access token expired at once: the store's lease lets exactly one refresh reach the payer, and all
/// eight get the rotated tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_sessions_over_one_store_send_one_refresh() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"}))
            .set_delay(Duration::from_millis(200)),
        1,
    )
    .await;
    let store = Arc::new(MemoryTokenStore::new());
    store
        .save("kim", &expired("at-1", Some("rt-1")), None)
        .await
        .unwrap();
    let c = client(&server, None);
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let results = futures::future::join_all((0..8).map(|_| {
        let (session, barrier) = (c.session(store.clone(), "kim"), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            session.current().await
        })
    }))
    .await;
    for r in results {
        assert_eq!(r.unwrap().unwrap().access_token().expose_secret(), "at-2");
    }
    let stored = store.load("kim").await.unwrap().unwrap();
    assert_eq!(stored.version, 2, "one save");
    assert_eq!(requests_to(&server, "/auth/token").await.len(), 1);
    server.verify().await;
}

/// A worker whose lease ran out (or that takes no lease) spent the refresh token and saved its tokens while
/// our refresh was in flight: the payer answers `invalid_grant`, and the session uses the newer stored tokens
/// instead of sending the member through authorization.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_grant_after_another_worker_rotated_uses_the_newer_stored_tokens() {
    struct OtherWorkerWinsTheRace(Arc<MemoryTokenStore>);
    impl wiremock::Respond for OtherWorkerWinsTheRace {
        fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
            // The other worker's save lands just before the payer answers us. MemoryTokenStore never awaits.
            futures::executor::block_on(self.0.save("lee", &fresh("at-other-worker"), Some(1)))
                .unwrap();
            ResponseTemplate::new(400).set_body_json(
                json!({"error": "invalid_grant", "error_description": "refresh token already used"}),
            )
        }
    }
    let server = payer().await;
    let store = Arc::new(MemoryTokenStore::new());
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(OtherWorkerWinsTheRace(store.clone()))
        .expect(1)
        .mount(&server)
        .await;
    store
        .save("lee", &expired("at-1", Some("rt-1")), None)
        .await
        .unwrap();
    let session = client(&server, None).session(store.clone(), "lee");
    let t = session.current().await.unwrap();
    assert_eq!(t.access_token().expose_secret(), "at-other-worker");
    assert!(!session.needs_reauthorization().await.unwrap());

    // Without newer tokens in the store, invalid_grant still means re-authorization.
    let store2 = Arc::new(MemoryTokenStore::new());
    store2
        .save("lee", &expired("at-9", Some("rt-9")), None)
        .await
        .unwrap();
    let server2 = payer().await;
    refresh_responds(
        &server2,
        ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})),
        1,
    )
    .await;
    let err = client(&server2, None)
        .session(store2, "lee")
        .current()
        .await
        .unwrap_err();
    assert!(err.requires_reauthorization(), "{err:?}");
    server.verify().await;
    server2.verify().await;
}

/// Worker B cached the tokens, then worker A rotated them. B's disconnect must revoke what is stored now (A's
/// rotated refresh token), not its superseded copy, or the live grant would stay valid at the payer.
#[tokio::test]
async fn disconnect_revokes_the_newest_stored_tokens_not_a_stale_cache() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"})),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/auth/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::new());
    store
        .save("mo", &expired("at-1", Some("rt-1")), None)
        .await
        .unwrap();
    let c = client(&server, None);
    let (worker_a, worker_b) = (
        c.session(store.clone(), "mo"),
        c.session(store.clone(), "mo"),
    );
    assert!(!worker_b.needs_reauthorization().await.unwrap()); // B caches at-1/rt-1
    worker_a.current().await.unwrap(); // A rotates to at-2/rt-2
    let outcome = worker_b.disconnect().await.unwrap();
    assert!(outcome.revoked_at_payer);
    let reqs = requests_to(&server, "/auth/revoke").await;
    assert_eq!(form(&reqs[0])["token"], "rt-2");
    assert_eq!(form(&reqs[1])["token"], "at-2");
    assert!(store.load("mo").await.unwrap().is_none());
    server.verify().await;
}

/// A worker claimed the refresh lease and crashed without releasing it: the session waits (it does not spend
/// the refresh token under the dead worker's lease), and refreshes once the lease expires.
#[tokio::test]
async fn a_crashed_workers_lease_delays_the_refresh_until_it_expires() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"})),
        1,
    )
    .await;
    let store = Arc::new(MemoryTokenStore::new());
    store
        .save("nat", &expired("at-1", Some("rt-1")), None)
        .await
        .unwrap();
    let lease = Duration::from_millis(600);
    assert_eq!(
        store
            .try_claim_refresh("nat", "crashed-worker", lease)
            .await
            .unwrap(),
        LeaseClaim::Claimed
    );
    let started = std::time::Instant::now();
    let session = client(&server, None).session(store.clone(), "nat");
    let t = session.current().await.unwrap();
    let waited = started.elapsed();
    assert_eq!(t.access_token().expose_secret(), "at-2");
    assert!(
        waited >= lease - Duration::from_millis(50),
        "refreshed after {waited:?}, inside the crashed worker's lease"
    );
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    // The session released its own lease: the next worker can claim at once.
    assert_eq!(
        store
            .try_claim_refresh("nat", "next-worker", lease)
            .await
            .unwrap(),
        LeaseClaim::Claimed
    );
    server.verify().await;
}

/// The memory store meets the whole `TokenStore` contract (the same checks every store runs).
#[tokio::test]
async fn memory_store_passes_the_conformance_checks() {
    smart_core::store::conformance::check_all(&MemoryTokenStore::new())
        .await
        .unwrap();
}

/// A caller that gives up mid-refresh (a web request whose client went away drops its future) does not abort
/// the refresh: its request may already have spent the refresh token at the payer. The rotated tokens are
/// still saved and the lease released, so the next worker gets them at once, with no second refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_giving_up_mid_refresh_still_saves_the_rotated_tokens() {
    let server = payer().await;
    refresh_responds(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"}))
            .set_delay(Duration::from_millis(300)),
        1,
    )
    .await;
    let store = Arc::new(MemoryTokenStore::new());
    store
        .save("oz", &expired("at-1", Some("rt-1")), None)
        .await
        .unwrap();
    let c = client(&server, None);
    let impatient = c.session(store.clone(), "oz");
    let gave_up = tokio::time::timeout(Duration::from_millis(50), impatient.current()).await;
    assert!(
        gave_up.is_err(),
        "the caller gave up before the payer answered"
    );

    let next = c.session(store.clone(), "oz");
    let t = tokio::time::timeout(Duration::from_secs(5), next.current())
        .await
        .expect("the next worker is not blocked by an abandoned lease")
        .unwrap();
    assert_eq!(t.access_token().expose_secret(), "at-2");
    let stored = store.load("oz").await.unwrap().unwrap();
    assert_eq!(
        stored.tokens.refresh_token().unwrap().expose_secret(),
        "rt-2"
    );
    // The impatient session itself is usable again, with the saved tokens.
    assert_eq!(
        impatient
            .current()
            .await
            .unwrap()
            .access_token()
            .expose_secret(),
        "at-2"
    );
    server.verify().await;
}

/// Worker A is mid-refresh (it holds the lease and has spent rt-1) when worker B, which cached rt-1,
/// disconnects. B waits for A's save and revokes rt-2, the refresh token that is live at the payer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_waits_for_a_refresh_in_flight_and_revokes_its_tokens() {
    let server = payer().await;
    Mock::given(method("POST"))
        .and(path("/auth/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::new());
    let v1 = store
        .save("pat", &expired("at-1", Some("rt-1")), None)
        .await
        .unwrap();
    let worker_b = client(&server, None).session(store.clone(), "pat");
    assert!(!worker_b.needs_reauthorization().await.unwrap()); // B caches at-1/rt-1
    // Worker A (another process) claims the lease, and saves its rotated tokens 300 ms later.
    assert_eq!(
        store
            .try_claim_refresh("pat", "worker-a", Duration::from_secs(30))
            .await
            .unwrap(),
        LeaseClaim::Claimed
    );
    let a_store = store.clone();
    let worker_a = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        a_store.save("pat", &fresh("at-2"), Some(v1)).await.unwrap();
        a_store.release_refresh("pat", "worker-a").await.unwrap();
    });
    let outcome = worker_b.disconnect().await.unwrap();
    worker_a.await.unwrap();
    assert!(outcome.revoked_at_payer);
    let reqs = requests_to(&server, "/auth/revoke").await;
    assert_eq!(
        form(&reqs[0])["token"],
        "rt-fresh",
        "A's rotated refresh token"
    );
    assert_eq!(form(&reqs[1])["token"], "at-2");
    assert!(store.load("pat").await.unwrap().is_none());
    // The disconnect's lease went with the tokens.
    assert_eq!(
        store
            .try_claim_refresh("pat", "anyone", Duration::from_secs(1))
            .await
            .unwrap(),
        LeaseClaim::Claimed
    );
    server.verify().await;
}
