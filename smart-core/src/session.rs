//! [`Session`]: one member's tokens at one payer, kept in a [`TokenStore`] and refreshed single-flight.
//!
//! Refresh is single-flight at two levels. Inside one `Session` (and its clones) a `tokio` mutex makes concurrent
//! callers wait for one refresh. Across `Session`s (other web requests, other processes sharing the store) the
//! store's refresh lease ([`TokenStore::try_claim_refresh`]) does: the caller that claims it reloads the store
//! (another worker may have refreshed already), refreshes, saves the new tokens with compare-and-swap *before*
//! anyone uses them, and releases the lease; the others poll the store with backoff and take the saved tokens,
//! so the refresh token is sent once. A failed save is an error and the new tokens are not handed out, because
//! with rotating refresh tokens the old refresh token is already spent: tokens that are used but not stored
//! would be lost on the next restart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::client::{Revocation, SmartClient};
use crate::error::{Error, Result};
use crate::store::{LeaseClaim, StoredTokens, TokenStore, Version};
use crate::token_source::TokenSource;
use crate::tokens::TokenSet;

/// What a refresh lease holder may take beyond its token request's own timeout (the save), and how long past the
/// lease's end a waiter keeps polling before it gives up.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// A waiter's first and longest pause between two looks at the store.
const FIRST_POLL: Duration = Duration::from_millis(20);
const MAX_POLL: Duration = Duration::from_millis(250);

/// One member's tokens at one payer: loads them from a [`TokenStore`], refreshes them when they expire (one
/// refresh for any number of concurrent callers, in this `Session` or in any other sharing the store, through
/// the store's refresh lease, [`TokenStore::try_claim_refresh`]), saves refreshed tokens before using them, and
/// disconnects.
///
/// Cheap to clone; clones share the cache and the refresh lock. Implements [`TokenSource`] for the FHIR layer.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

struct SessionInner {
    client: SmartClient,
    store: Arc<dyn TokenStore>,
    key: String,
    /// This session's name in the store's refresh lease: unique per `Session`, shared by its clones.
    holder: String,
    /// In an `Arc` so that a refresh can take its guard into a task of its own (see `refresh_locked`).
    cache: Arc<Mutex<Cached>>,
}

#[derive(Default)]
struct Cached {
    tokens: Option<Arc<TokenSet>>,
    version: Option<Version>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("adapter", &self.inner.client.adapter().id())
            .field("key", &self.inner.key)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

/// What [`Session::disconnect`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct DisconnectOutcome {
    /// True when the payer accepted a revocation of the tokens.
    pub revoked_at_payer: bool,
    /// What the revocation did: `None` when there were no tokens or the revocation failed
    /// ([`revocation_error`](DisconnectOutcome::revocation_error)); [`Revocation::NotSupported`] when the payer
    /// has no revocation endpoint, so the tokens were only deleted here and stay valid at the payer until they
    /// expire (the member can revoke the app in the payer's portal).
    pub revocation: Option<Revocation>,
    /// Why revoking at the payer failed, when it did. The tokens were deleted locally all the same.
    pub revocation_error: Option<Error>,
    /// False when nothing was stored under the session's key.
    pub had_tokens: bool,
}

impl Session {
    pub(crate) fn new(client: SmartClient, store: Arc<dyn TokenStore>, key: String) -> Self {
        Self {
            inner: Arc::new(SessionInner {
                client,
                store,
                key,
                holder: format!(
                    "session-{}-{:016x}",
                    std::process::id(),
                    rand::random::<u64>()
                ),
                cache: Arc::new(Mutex::new(Cached::default())),
            }),
        }
    }

    /// The store key.
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The client this session refreshes with.
    pub fn client(&self) -> &SmartClient {
        &self.inner.client
    }

    /// Stores tokens from a new authorization ([`SmartClient::exchange_code`]), replacing whatever was stored
    /// under this key.
    pub async fn save_new(&self, tokens: TokenSet) -> Result<Arc<TokenSet>> {
        let mut cache = self.inner.cache.lock().await;
        let tokens = Arc::new(tokens);
        // A new authorization supersedes anything stored; CAS still protects against a concurrent writer
        // between our load and save, so retry once on a conflict.
        for _ in 0..2 {
            let expected = self.load(&mut cache).await?.map(|s| s.version);
            match self
                .inner
                .store
                .save(&self.inner.key, &tokens, expected)
                .await
            {
                Ok(v) => {
                    cache.tokens = Some(tokens.clone());
                    cache.version = Some(v);
                    return Ok(tokens);
                }
                Err(Error::StoreConflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::StoreConflict)
    }

    /// Tokens whose access token is valid for at least the client's refresh skew, refreshed (and saved) first
    /// when needed. Fails with [`Error::ReauthorizationRequired`] when nothing is stored, or the tokens expire
    /// and cannot be refreshed, and with [`Error::StoreConflict`] when another worker held the store's refresh
    /// lease for longer than its term (retry later).
    pub async fn current(&self) -> Result<Arc<TokenSet>> {
        let mut cache = self.inner.cache.clone().lock_owned().await;
        let tokens = self.cached_or_loaded(&mut cache).await?;
        if !self.needs_refresh(&tokens) {
            return Ok(tokens);
        }
        self.refresh_locked(cache, None).await
    }

    /// True when the member has to authorize again before the app can read data: nothing is stored, the
    /// consent has ended, or the access token is (nearly) expired and cannot be refreshed. Ask this before
    /// starting a long sync, to send the member through authorization first.
    pub async fn needs_reauthorization(&self) -> Result<bool> {
        let mut cache = self.inner.cache.lock().await;
        match self.cached_or_loaded(&mut cache).await {
            Ok(t) => Ok(t.consent_expired()
                || (!t.can_refresh() && t.expires_within(self.inner.client.refresh_skew()))),
            Err(Error::ReauthorizationRequired { .. }) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// Revokes the newest stored tokens at the payer where it has a revocation endpoint (RFC 7009: refresh token
    /// first, then access token), then deletes them from the store. Where the payer has no revocation endpoint,
    /// or revoking fails, the tokens are deleted locally all the same and the outcome says so.
    ///
    /// Takes the store's refresh lease first, waiting for a refresh in flight in another worker to save its
    /// tokens, so that what is revoked is the newest refresh token and not the one that refresh just spent.
    pub async fn disconnect(&self) -> Result<DisconnectOutcome> {
        let mut cache = self.inner.cache.lock().await;
        let leased = self.claim_waiting().await?;
        if !leased {
            tracing::warn!(
                "another worker held the refresh lease past its term; disconnecting without it"
            );
        }
        let result = self.disconnect_leased(&mut cache).await;
        // Success deleted the lease with the tokens.
        if result.is_err() && leased {
            self.release_lease().await;
        }
        result
    }

    async fn disconnect_leased(&self, cache: &mut Cached) -> Result<DisconnectOutcome> {
        // The store, not the cache: another worker may have rotated the tokens since this session cached them,
        // and revoking the superseded copy would leave the live refresh token valid at the payer.
        let tokens = self.load(cache).await?.map(|s| Arc::new(s.tokens));
        let mut outcome = DisconnectOutcome {
            revoked_at_payer: false,
            revocation: None,
            revocation_error: None,
            had_tokens: tokens.is_some(),
        };
        if let Some(tokens) = tokens {
            match self.inner.client.revoke(&tokens).await {
                Ok(r) => {
                    outcome.revoked_at_payer = r.revoked_at_payer();
                    if !outcome.revoked_at_payer {
                        tracing::info!(
                            "the payer has no revocation endpoint; tokens deleted locally only"
                        );
                    }
                    outcome.revocation = Some(r);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "revocation at the payer failed; deleting locally");
                    outcome.revocation_error = Some(e);
                }
            }
        }
        self.inner.store.delete(&self.inner.key).await?;
        *cache = Cached::default();
        Ok(outcome)
    }

    /// The refresh lease's term: the refresh request is bounded by the client's timeout; the margin covers the
    /// save.
    fn lease_ttl(&self) -> Duration {
        self.inner.client.timeout() + LEASE_MARGIN
    }

    /// Claims the refresh lease, waiting (with backoff) while another worker holds it, at most for its term and
    /// the margin. False when it stayed held that long.
    async fn claim_waiting(&self) -> Result<bool> {
        let ttl = self.lease_ttl();
        let deadline = Instant::now() + ttl + LEASE_MARGIN;
        let mut pause = FIRST_POLL;
        loop {
            let claim = self
                .inner
                .store
                .try_claim_refresh(&self.inner.key, &self.inner.holder, ttl)
                .await?;
            if claim == LeaseClaim::Claimed {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// Releases this session's lease; a failure only logs (the lease expires by itself).
    async fn release_lease(&self) {
        if let Err(e) = self
            .inner
            .store
            .release_refresh(&self.inner.key, &self.inner.holder)
            .await
        {
            tracing::warn!(error = %e, "could not release the refresh lease; it expires by itself");
        }
    }

    fn needs_refresh(&self, tokens: &TokenSet) -> bool {
        tokens.consent_expired() || tokens.expires_within(self.inner.client.refresh_skew())
    }

    async fn load(&self, cache: &mut Cached) -> Result<Option<StoredTokens>> {
        let loaded = self.inner.store.load(&self.inner.key).await?;
        match &loaded {
            Some(s) => {
                cache.tokens = Some(Arc::new(s.tokens.clone()));
                cache.version = Some(s.version);
            }
            None => *cache = Cached::default(),
        }
        Ok(loaded)
    }

    async fn cached_or_loaded(&self, cache: &mut Cached) -> Result<Arc<TokenSet>> {
        if let Some(t) = &cache.tokens {
            return Ok(t.clone());
        }
        self.load(cache).await?;
        cache.tokens.clone().ok_or_else(|| Error::ReauthorizationRequired {
            reason: format!(
                "no tokens are stored under key {:?}: the member has not authorized this app yet",
                self.inner.key
            ),
        })
    }

    /// Refreshes under the lock. `rejected`: the access token the server refused (force a refresh unless the
    /// store already holds a different one).
    ///
    /// Claims the store's refresh lease first; while another session holds it, polls the store with backoff
    /// until that session's tokens arrive or its lease runs out (then claims it in turn).
    async fn refresh_locked(
        &self,
        mut cache: OwnedMutexGuard<Cached>,
        rejected: Option<&TokenSet>,
    ) -> Result<Arc<TokenSet>> {
        let version_before = cache.version;
        let ttl = self.lease_ttl();
        let deadline = Instant::now() + ttl + LEASE_MARGIN;
        let mut pause = FIRST_POLL;
        loop {
            // Another worker (process) may have refreshed since we cached: the store is the truth.
            let stored = self.load_stored(&mut cache).await?;
            if let Some(t) = self.reusable(&stored, version_before, rejected) {
                return Ok(t);
            }
            Self::check_refreshable(&stored.tokens, rejected)?;
            let claim = self
                .inner
                .store
                .try_claim_refresh(&self.inner.key, &self.inner.holder, ttl)
                .await?;
            if claim == LeaseClaim::Claimed {
                // From here to the release runs in a task of its own, with this session's lock: a caller that
                // gives up (a web request whose client went away drops its future) must not abort a refresh
                // whose request may have reached the payer, or the rotated tokens would never be saved and the
                // lease would block every other worker until it expired.
                let (this, rejected) = (self.clone(), rejected.cloned());
                let refresh = tokio::spawn(async move {
                    let result = this
                        .refresh_leased(&mut cache, version_before, rejected.as_ref())
                        .await;
                    this.release_lease().await;
                    result
                });
                return match refresh.await {
                    Ok(result) => result,
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    // The runtime is shutting down.
                    Err(e) => Err(Error::Store(Box::new(e))),
                };
            }
            if Instant::now() >= deadline {
                tracing::warn!(
                    "another worker held the refresh lease for longer than its term; giving up for now"
                );
                return Err(Error::StoreConflict);
            }
            tracing::debug!("another worker is refreshing these tokens; waiting for it");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }

    /// The refresh itself, holding the lease.
    async fn refresh_leased(
        &self,
        cache: &mut Cached,
        version_before: Option<Version>,
        rejected: Option<&TokenSet>,
    ) -> Result<Arc<TokenSet>> {
        // The previous holder may have saved between our last look and our claim.
        let stored = self.load_stored(cache).await?;
        if let Some(t) = self.reusable(&stored, version_before, rejected) {
            return Ok(t);
        }
        Self::check_refreshable(&stored.tokens, rejected)?;
        let usable = |t: &TokenSet| {
            !self.needs_refresh(t) && rejected.is_none_or(|r| !t.same_access_token(r))
        };
        let new = match self.inner.client.refresh(&stored.tokens).await {
            Ok(new) => new,
            Err(e) if e.requires_reauthorization() => {
                // Refused (invalid_grant): someone else may have spent this refresh token and saved what it
                // got (a worker whose lease ran out, or one that does not take the lease). Their tokens are
                // as good as ours would have been.
                return match self.load(cache).await? {
                    Some(s) if s.version != stored.version && usable(&s.tokens) => {
                        tracing::info!(
                            "the payer refused the refresh token, but another worker had saved newer tokens; using them"
                        );
                        Ok(Arc::new(s.tokens))
                    }
                    _ => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        match self
            .inner
            .store
            .save(&self.inner.key, &new, Some(stored.version))
            .await
        {
            Ok(v) => {
                let new = Arc::new(new);
                cache.tokens = Some(new.clone());
                cache.version = Some(v);
                Ok(new)
            }
            Err(Error::StoreConflict) => {
                tracing::debug!("another worker saved tokens first; using theirs");
                match self.load(cache).await? {
                    Some(s) if usable(&s.tokens) => Ok(Arc::new(s.tokens)),
                    _ => Err(Error::StoreConflict),
                }
            }
            Err(e) => {
                // The refreshed tokens are dropped unused: handing them out unsaved would lose a rotated refresh
                // token on the next restart.
                Err(e)
            }
        }
    }

    /// Loads the stored tokens; none stored means the member disconnected.
    async fn load_stored(&self, cache: &mut Cached) -> Result<StoredTokens> {
        self.load(cache)
            .await?
            .ok_or_else(|| Error::ReauthorizationRequired {
                reason: "the tokens were deleted from the store (disconnected?)".into(),
            })
    }

    /// `stored`, when it can be used without a refresh: fresh, and either newer than what this session had
    /// cached or not the access token the server just refused.
    fn reusable(
        &self,
        stored: &StoredTokens,
        version_before: Option<Version>,
        rejected: Option<&TokenSet>,
    ) -> Option<Arc<TokenSet>> {
        let t = &stored.tokens;
        let usable = !self.needs_refresh(t) && rejected.is_none_or(|r| !t.same_access_token(r));
        (usable && (Some(stored.version) != version_before || rejected.is_none()))
            .then(|| Arc::new(t.clone()))
    }

    /// An error when `tokens` cannot be refreshed at all.
    fn check_refreshable(tokens: &TokenSet, rejected: Option<&TokenSet>) -> Result<()> {
        if tokens.can_refresh() {
            return Ok(());
        }
        Err(Error::ReauthorizationRequired {
            reason: if tokens.consent_expired() {
                "the member's consent has ended".into()
            } else if rejected.is_some() {
                "the payer rejected the access token and issued no refresh token".into()
            } else {
                "the access token expires and the payer issued no refresh token".into()
            },
        })
    }
}

#[async_trait]
impl TokenSource for Session {
    async fn current(&self) -> Result<Arc<TokenSet>> {
        Session::current(self).await
    }

    async fn refresh_after_rejection(&self, rejected: &TokenSet) -> Result<Arc<TokenSet>> {
        let mut cache = self.inner.cache.clone().lock_owned().await;
        let cached = self.cached_or_loaded(&mut cache).await?;
        if !cached.same_access_token(rejected) && !self.needs_refresh(&cached) {
            // Someone refreshed while this request was in flight.
            return Ok(cached);
        }
        self.refresh_locked(cache, Some(rejected)).await
    }
}
