//! Reusable checks of the [`TokenStore`] contract: run them against every implementation (memory, SQLite,
//! PostgreSQL, a file, an encrypting wrapper) so that all of them keep the promise that two processes never both
//! spend one rotating refresh token.
//!
//! Each check uses keys of its own (a random suffix), so a persistent store can be reused across runs, and
//! returns a [`ConformanceFailure`] naming the broken rule instead of panicking. Enabled by the `test-util`
//! feature (add `smart-core = { version = "…", features = ["test-util"] }` to your dev-dependencies).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use smart_core::{MemoryTokenStore, store::conformance};
//! conformance::check_all(&MemoryTokenStore::new()).await.unwrap();
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;

use super::{LeaseClaim, PendingStore, StoredTokens, TokenStore, Version};
use crate::{Error, PendingAuthorization, TokenSet};

/// A long lease: it must not expire while a check runs.
const LONG: Duration = Duration::from_secs(60);
/// The lease the expiry check lets run out. Stores that keep time in milliseconds handle it; one whose clock
/// has a coarser grain should call [`lease_expiry`] with a longer ttl.
pub const DEFAULT_EXPIRY_TTL: Duration = Duration::from_millis(300);

/// A rule of the [`TokenStore`] contract that an implementation broke.
#[derive(Debug, thiserror::Error)]
#[error("token store conformance, {check}: {message}")]
#[non_exhaustive]
pub struct ConformanceFailure {
    /// The check that failed (the function's name).
    pub check: &'static str,
    /// What was expected and what happened.
    pub message: String,
}

type Checked = std::result::Result<(), ConformanceFailure>;

fn fail(check: &'static str, message: impl Into<String>) -> ConformanceFailure {
    ConformanceFailure {
        check,
        message: message.into(),
    }
}

/// Turns a store error into a failure of `check`, naming the step.
fn step<T>(
    check: &'static str,
    what: &str,
    r: crate::Result<T>,
) -> std::result::Result<T, ConformanceFailure> {
    r.map_err(|e| fail(check, format!("{what} failed: {e}")))
}

fn unique_key(check: &str) -> String {
    format!("conformance:{check}:{:016x}", rand::random::<u64>())
}

fn tokens(access: &str) -> TokenSet {
    TokenSet::bearer(
        SecretString::from(access.to_owned()),
        Some(Duration::from_secs(3600)),
    )
    .with_refresh_token(SecretString::from(format!("rt-{access}")))
}

/// Every check, in order; the first failure is returned.
pub async fn check_all(store: &dyn TokenStore) -> Checked {
    compare_and_swap(store).await?;
    lease_exclusivity(store).await?;
    concurrent_claims_have_one_winner(store).await?;
    lease_expiry(store, DEFAULT_EXPIRY_TTL).await?;
    release(store).await?;
    delete_during_a_lease(store).await?;
    Ok(())
}

/// Every [`PendingStore`] check, in order; the first failure is returned.
pub async fn check_pending_all(store: &dyn PendingStore) -> Checked {
    pending_single_use(store).await?;
    concurrent_pending_takes_have_one_winner(store).await?;
    pending_expiry(store, DEFAULT_EXPIRY_TTL).await?;
    Ok(())
}

/// A pending authorization for the checks, whose `state` is `state`.
fn sample_pending(
    check: &'static str,
    state: &str,
) -> Result<PendingAuthorization, ConformanceFailure> {
    let redirect_uri = url::Url::parse("http://127.0.0.1:3000/callback")
        .map_err(|e| fail(check, format!("redirect URI: {e}")))?;
    Ok(PendingAuthorization {
        state: SecretString::from(state.to_owned()),
        code_verifier: SecretString::from(format!("verifier-{state}-0123456789abcdef0123456789")),
        redirect_uri,
        scopes: vec!["openid".into(), "patient/*.read".into()],
        nonce: Some(SecretString::from(format!("nonce-{state}"))),
        adapter_id: "conformance".into(),
        created_at: std::time::SystemTime::now(),
    })
}

fn same_pending(a: &PendingAuthorization, b: &PendingAuthorization) -> bool {
    a.state.expose_secret() == b.state.expose_secret()
        && a.code_verifier.expose_secret() == b.code_verifier.expose_secret()
        && a.nonce.as_ref().map(|n| n.expose_secret())
            == b.nonce.as_ref().map(|n| n.expose_secret())
        && a.redirect_uri == b.redirect_uri
        && a.scopes == b.scopes
        && a.adapter_id == b.adapter_id
}

/// `take` returns what `put` kept, once; a missing key is `None`; a second `put` replaces the first; keys are
/// independent.
pub async fn pending_single_use(store: &dyn PendingStore) -> Checked {
    const CHECK: &str = "pending_single_use";
    let (key, other) = (unique_key(CHECK), unique_key(CHECK));
    if step(CHECK, "take of a missing key", store.take(&key).await)?.is_some() {
        return Err(fail(
            CHECK,
            "a missing key returned a pending authorization",
        ));
    }
    let (first, second) = (
        sample_pending(CHECK, "first")?,
        sample_pending(CHECK, "second")?,
    );
    step(CHECK, "put", store.put(&key, &first, LONG).await)?;
    step(
        CHECK,
        "put of a replacement",
        store.put(&key, &second, LONG).await,
    )?;
    step(
        CHECK,
        "put under another key",
        store.put(&other, &first, LONG).await,
    )?;
    let taken = step(CHECK, "take", store.take(&key).await)?
        .ok_or_else(|| fail(CHECK, "what was put could not be taken"))?;
    if !same_pending(&taken, &second) {
        return Err(fail(
            CHECK,
            "take returned something other than the last put",
        ));
    }
    if step(CHECK, "a second take", store.take(&key).await)?.is_some() {
        return Err(fail(CHECK, "a pending authorization was taken twice"));
    }
    let taken = step(CHECK, "take of the other key", store.take(&other).await)?
        .ok_or_else(|| fail(CHECK, "taking one key removed another"))?;
    if !same_pending(&taken, &first) {
        return Err(fail(
            CHECK,
            "the other key returned the wrong pending authorization",
        ));
    }
    Ok(())
}

/// Eight callbacks taking one pending authorization at the same moment: exactly one gets it.
pub async fn concurrent_pending_takes_have_one_winner(store: &dyn PendingStore) -> Checked {
    const CHECK: &str = "concurrent_pending_takes_have_one_winner";
    let key = unique_key(CHECK);
    step(
        CHECK,
        "put",
        store.put(&key, &sample_pending(CHECK, "race")?, LONG).await,
    )?;
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let takes = (0..8).map(|_| {
        let (key, barrier) = (key.clone(), barrier.clone());
        async move {
            barrier.wait().await;
            store.take(&key).await
        }
    });
    let mut winners = 0;
    for r in futures::future::join_all(takes).await {
        if step(CHECK, "take", r)?.is_some() {
            winners += 1;
        }
    }
    if winners != 1 {
        return Err(fail(CHECK, format!("{winners} of 8 concurrent takes won")));
    }
    Ok(())
}

/// A pending authorization is gone after its `ttl`.
pub async fn pending_expiry(store: &dyn PendingStore, ttl: Duration) -> Checked {
    const CHECK: &str = "pending_expiry";
    let key = unique_key(CHECK);
    step(
        CHECK,
        "put",
        store
            .put(&key, &sample_pending(CHECK, "expiring")?, ttl)
            .await,
    )?;
    tokio::time::sleep(ttl + ttl / 2 + Duration::from_millis(50)).await;
    if step(CHECK, "take after the ttl", store.take(&key).await)?.is_some() {
        return Err(fail(CHECK, "an expired pending authorization was taken"));
    }
    Ok(())
}

/// A [`TokenStore`] wrapper whose `save`s fail while [`set_failing`](FaultyStore::set_failing) is on, as a
/// database that goes away mid-refresh would: for checking that [`Session`](crate::Session) hands out no
/// refreshed token it could not save.
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    failing: AtomicBool,
}

/// The error a [`FaultyStore`]'s failing save returns.
#[derive(Debug, thiserror::Error)]
#[error("injected fault: the store is unavailable")]
#[non_exhaustive]
pub struct InjectedFault;

impl<S> FaultyStore<S> {
    /// Wraps `inner`, not failing yet.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            failing: AtomicBool::new(false),
        }
    }

    /// Makes every later `save` fail (`true`) or pass through again (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

#[async_trait]
impl<S: TokenStore> TokenStore for FaultyStore<S> {
    async fn load(&self, key: &str) -> crate::Result<Option<StoredTokens>> {
        self.inner.load(key).await
    }

    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> crate::Result<Version> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Store(Box::new(InjectedFault)));
        }
        self.inner.save(key, tokens, expected).await
    }

    async fn delete(&self, key: &str) -> crate::Result<()> {
        self.inner.delete(key).await
    }

    async fn try_claim_refresh(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> crate::Result<LeaseClaim> {
        self.inner.try_claim_refresh(key, holder, ttl).await
    }

    async fn release_refresh(&self, key: &str, holder: &str) -> crate::Result<()> {
        self.inner.release_refresh(key, holder).await
    }
}

/// `save` is compare-and-swap: a first save fails on an existing key, a later one on a stale version, and
/// `load` returns the winner's tokens and version.
pub async fn compare_and_swap(store: &dyn TokenStore) -> Checked {
    const CHECK: &str = "compare_and_swap";
    let key = unique_key(CHECK);
    let conflict = |r: crate::Result<Version>, what: &str| match r {
        Err(Error::StoreConflict) => Ok(()),
        other => Err(fail(
            CHECK,
            format!("{what}: expected StoreConflict, got {other:?}"),
        )),
    };
    step(CHECK, "load of a missing key", store.load(&key).await)?
        .map_or(Ok(()), |_| Err(fail(CHECK, "a new key loaded tokens")))?;
    conflict(
        store.save(&key, &tokens("a"), Some(1)).await,
        "an update of a missing key",
    )?;
    let v1 = step(
        CHECK,
        "the first save",
        store.save(&key, &tokens("a"), None).await,
    )?;
    conflict(
        store.save(&key, &tokens("b"), None).await,
        "a second first-save",
    )?;
    let v2 = step(
        CHECK,
        "save at the current version",
        store.save(&key, &tokens("b"), Some(v1)).await,
    )?;
    if v2 <= v1 {
        return Err(fail(
            CHECK,
            format!("the version went from {v1} to {v2}, not up"),
        ));
    }
    conflict(
        store.save(&key, &tokens("c"), Some(v1)).await,
        "a save at a stale version",
    )?;
    let loaded = step(CHECK, "load", store.load(&key).await)?
        .ok_or_else(|| fail(CHECK, "saved tokens did not load"))?;
    if loaded.version != v2 || loaded.tokens.access_token().expose_secret() != "b" {
        return Err(fail(
            CHECK,
            format!(
                "loaded version {} (expected {v2}) or not the winner's tokens",
                loaded.version
            ),
        ));
    }
    step(CHECK, "delete", store.delete(&key).await)?;
    step(CHECK, "a second delete", store.delete(&key).await)?;
    if step(CHECK, "load after delete", store.load(&key).await)?.is_some() {
        return Err(fail(CHECK, "tokens loaded after delete"));
    }
    Ok(())
}

async fn claim(
    check: &'static str,
    store: &dyn TokenStore,
    key: &str,
    holder: &str,
    ttl: Duration,
    expected: LeaseClaim,
    when: &str,
) -> Checked {
    let got = step(
        check,
        "try_claim_refresh",
        store.try_claim_refresh(key, holder, ttl).await,
    )?;
    if got != expected {
        return Err(fail(
            check,
            format!("{holder} claiming {when}: expected {expected:?}, got {got:?}"),
        ));
    }
    Ok(())
}

/// One holder at a time: a second holder is refused while the lease runs, the holder itself may renew, and
/// other keys are independent.
pub async fn lease_exclusivity(store: &dyn TokenStore) -> Checked {
    const CHECK: &str = "lease_exclusivity";
    let (key, other_key) = (unique_key(CHECK), unique_key(CHECK));
    claim(
        CHECK,
        store,
        &key,
        "holder-a",
        LONG,
        LeaseClaim::Claimed,
        "a free key",
    )
    .await?;
    claim(
        CHECK,
        store,
        &key,
        "holder-b",
        LONG,
        LeaseClaim::HeldElsewhere,
        "a's lease",
    )
    .await?;
    claim(
        CHECK,
        store,
        &key,
        "holder-a",
        LONG,
        LeaseClaim::Claimed,
        "its own lease (renewal)",
    )
    .await?;
    claim(
        CHECK,
        store,
        &key,
        "holder-b",
        LONG,
        LeaseClaim::HeldElsewhere,
        "a's renewed lease",
    )
    .await?;
    claim(
        CHECK,
        store,
        &other_key,
        "holder-b",
        LONG,
        LeaseClaim::Claimed,
        "another key",
    )
    .await?;
    step(
        CHECK,
        "release",
        store.release_refresh(&key, "holder-a").await,
    )?;
    step(
        CHECK,
        "release",
        store.release_refresh(&other_key, "holder-b").await,
    )?;
    Ok(())
}

/// Eight holders claiming one free key at the same moment: exactly one gets it.
pub async fn concurrent_claims_have_one_winner(store: &dyn TokenStore) -> Checked {
    const CHECK: &str = "concurrent_claims_have_one_winner";
    let key = unique_key(CHECK);
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let claims = (0..8).map(|i| {
        let (key, barrier) = (key.clone(), barrier.clone());
        async move {
            barrier.wait().await;
            store
                .try_claim_refresh(&key, &format!("holder-{i}"), LONG)
                .await
        }
    });
    let results = futures::future::join_all(claims).await;
    let mut winners = 0;
    for r in results {
        if step(CHECK, "try_claim_refresh", r)? == LeaseClaim::Claimed {
            winners += 1;
        }
    }
    if winners != 1 {
        return Err(fail(CHECK, format!("{winners} of 8 concurrent claims won")));
    }
    step(CHECK, "delete", store.delete(&key).await)?;
    Ok(())
}

/// A holder that dies mid-refresh blocks the key only until its lease expires; then another holder claims it.
pub async fn lease_expiry(store: &dyn TokenStore, ttl: Duration) -> Checked {
    const CHECK: &str = "lease_expiry";
    let key = unique_key(CHECK);
    claim(
        CHECK,
        store,
        &key,
        "crashed-holder",
        ttl,
        LeaseClaim::Claimed,
        "a free key",
    )
    .await?;
    claim(
        CHECK,
        store,
        &key,
        "holder-b",
        LONG,
        LeaseClaim::HeldElsewhere,
        "a running lease",
    )
    .await?;
    tokio::time::sleep(ttl + ttl / 2 + Duration::from_millis(50)).await;
    claim(
        CHECK,
        store,
        &key,
        "holder-b",
        LONG,
        LeaseClaim::Claimed,
        "an expired lease",
    )
    .await?;
    claim(
        CHECK,
        store,
        &key,
        "crashed-holder",
        LONG,
        LeaseClaim::HeldElsewhere,
        "b's lease",
    )
    .await?;
    step(
        CHECK,
        "release",
        store.release_refresh(&key, "holder-b").await,
    )?;
    Ok(())
}

/// A release ends only the releasing holder's lease; releasing nothing is fine.
pub async fn release(store: &dyn TokenStore) -> Checked {
    const CHECK: &str = "release";
    let key = unique_key(CHECK);
    step(
        CHECK,
        "release of nothing",
        store.release_refresh(&key, "holder-a").await,
    )?;
    claim(
        CHECK,
        store,
        &key,
        "holder-a",
        LONG,
        LeaseClaim::Claimed,
        "a free key",
    )
    .await?;
    step(
        CHECK,
        "release by a non-holder",
        store.release_refresh(&key, "holder-b").await,
    )?;
    claim(
        CHECK,
        store,
        &key,
        "holder-b",
        LONG,
        LeaseClaim::HeldElsewhere,
        "after b's release of a's lease",
    )
    .await?;
    step(
        CHECK,
        "release by the holder",
        store.release_refresh(&key, "holder-a").await,
    )?;
    claim(
        CHECK,
        store,
        &key,
        "holder-b",
        LONG,
        LeaseClaim::Claimed,
        "after a released",
    )
    .await?;
    step(
        CHECK,
        "release",
        store.release_refresh(&key, "holder-b").await,
    )?;
    Ok(())
}

/// `delete` during a lease: the tokens are gone, the holder's save is a conflict, the lease is over, and the
/// old holder's late release does not end the next holder's lease.
pub async fn delete_during_a_lease(store: &dyn TokenStore) -> Checked {
    const CHECK: &str = "delete_during_a_lease";
    let key = unique_key(CHECK);
    let v1 = step(
        CHECK,
        "the first save",
        store.save(&key, &tokens("a"), None).await,
    )?;
    claim(
        CHECK,
        store,
        &key,
        "holder-a",
        LONG,
        LeaseClaim::Claimed,
        "a free key",
    )
    .await?;
    step(CHECK, "delete", store.delete(&key).await)?;
    if step(CHECK, "load after delete", store.load(&key).await)?.is_some() {
        return Err(fail(CHECK, "tokens loaded after delete"));
    }
    match store.save(&key, &tokens("b"), Some(v1)).await {
        Err(Error::StoreConflict) => {}
        other => {
            return Err(fail(
                CHECK,
                format!(
                    "the lease holder's save after delete: expected StoreConflict, got {other:?}"
                ),
            ));
        }
    }
    claim(
        CHECK,
        store,
        &key,
        "holder-b",
        LONG,
        LeaseClaim::Claimed,
        "after delete",
    )
    .await?;
    step(
        CHECK,
        "the old holder's late release",
        store.release_refresh(&key, "holder-a").await,
    )?;
    claim(
        CHECK,
        store,
        &key,
        "holder-c",
        LONG,
        LeaseClaim::HeldElsewhere,
        "b's lease after a's late release",
    )
    .await?;
    step(CHECK, "delete", store.delete(&key).await)?;
    Ok(())
}
