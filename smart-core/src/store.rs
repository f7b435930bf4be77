//! Token storage: an async trait with compare-and-swap saves and a refresh lease, and an in-memory
//! implementation. With the `test-util` feature, `conformance` checks any implementation against the contract.
//!
//! # Stores the SDK ships
//!
//! | store | feature | for |
//! | --- | --- | --- |
//! | [`MemoryTokenStore`] | (always) | tests, CLIs, one process that re-authorizes after a restart |
//! | `sqlite::SqliteStore` | `store-sqlite` | one machine, any number of processes sharing a database file |
//! | `postgres::PostgresStore` | `store-postgres` | several machines sharing a PostgreSQL database |
//! | `encrypted::EncryptedStore` | `store-encrypted` | wraps any of the above: tokens sealed at rest |
//!
//! Each implements both [`TokenStore`] (members' tokens) and [`PendingStore`] (the single-use
//! [`PendingAuthorization`]s a web app keeps between the redirect to the payer and the callback).
//!
//! # Backing the store with a database yourself
//!
//! Keep one row per key with the serialized [`TokenSet`] (it is `Serialize`/`Deserialize`; encrypt it at rest,
//! since it holds the tokens) and an integer version. `save` is a compare-and-swap:
//!
//! ```sql
//! -- expected = None: insert, failing on an existing key (primary key violation → StoreConflict)
//! INSERT INTO tokens (key, tokens, version) VALUES (?, ?, 1);
//! -- expected = Some(v): update only if nobody saved since v was loaded
//! UPDATE tokens SET tokens = ?, version = version + 1 WHERE key = ? AND version = ?;
//! -- 0 rows updated → Error::StoreConflict; 1 row → Ok(v + 1)
//! ```
//!
//! The refresh lease (see [`TokenStore::try_claim_refresh`]) is a second table, one row per key being refreshed,
//! claimed with a conditional upsert and released with a guarded delete:
//!
//! ```sql
//! INSERT INTO refresh_leases (key, holder, expires_at) VALUES (?, ?, ?)   -- expires_at = now + ttl
//!   ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
//!   WHERE refresh_leases.expires_at <= ? OR refresh_leases.holder = excluded.holder   -- ? = now
//!   RETURNING holder;                      -- one row: LeaseClaim::Claimed; none: LeaseClaim::HeldElsewhere
//! DELETE FROM refresh_leases WHERE key = ? AND holder = ?;                -- release_refresh
//! ```
//!
//! The example below implements exactly that logic over a map standing in for the table; replace the map
//! operations with your database client's queries.
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//! use std::time::{Duration, SystemTime};
//! use smart_core::{async_trait, Error, LeaseClaim, Result, StoredTokens, TokenSet, TokenStore, Version};
//!
//! /// A row of `CREATE TABLE tokens (key TEXT PRIMARY KEY, tokens TEXT NOT NULL, version BIGINT NOT NULL)`.
//! struct Row { tokens: String, version: Version }
//!
//! #[derive(Default)]
//! struct SqlStore {
//!     table: Mutex<HashMap<String, Row>>,
//!     /// `CREATE TABLE refresh_leases (key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)`
//!     leases: Mutex<HashMap<String, (String, SystemTime)>>,
//! }
//!
//! // TokenStore requires Debug; print no row (they hold tokens).
//! impl std::fmt::Debug for SqlStore {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("SqlStore") }
//! }
//!
//! fn store_err(e: impl std::error::Error + Send + Sync + 'static) -> Error { Error::Store(Box::new(e)) }
//!
//! #[async_trait]
//! impl TokenStore for SqlStore {
//!     async fn load(&self, key: &str) -> Result<Option<StoredTokens>> {
//!         // SELECT tokens, version FROM tokens WHERE key = ?
//!         let table = self.table.lock().unwrap();
//!         match table.get(key) {
//!             None => Ok(None),
//!             Some(row) => {
//!                 let tokens: TokenSet = serde_json::from_str(&row.tokens).map_err(store_err)?;
//!                 Ok(Some(StoredTokens::new(tokens, row.version)))
//!             }
//!         }
//!     }
//!
//!     async fn save(&self, key: &str, tokens: &TokenSet, expected: Option<Version>) -> Result<Version> {
//!         let json = serde_json::to_string(tokens).map_err(store_err)?;
//!         let mut table = self.table.lock().unwrap();
//!         match (expected, table.get_mut(key)) {
//!             // INSERT INTO tokens (key, tokens, version) VALUES (?, ?, 1)
//!             (None, None) => {
//!                 table.insert(key.to_owned(), Row { tokens: json, version: 1 });
//!                 Ok(1)
//!             }
//!             // UPDATE tokens SET tokens = ?, version = version + 1 WHERE key = ? AND version = ?
//!             (Some(v), Some(row)) if row.version == v => {
//!                 row.tokens = json;
//!                 row.version += 1;
//!                 Ok(row.version)
//!             }
//!             // The insert hit an existing key, or the update matched 0 rows.
//!             _ => Err(Error::StoreConflict),
//!         }
//!     }
//!
//!     async fn delete(&self, key: &str) -> Result<()> {
//!         // DELETE FROM tokens WHERE key = ?; DELETE FROM refresh_leases WHERE key = ?
//!         self.table.lock().unwrap().remove(key);
//!         self.leases.lock().unwrap().remove(key);
//!         Ok(())
//!     }
//!
//!     async fn try_claim_refresh(&self, key: &str, holder: &str, ttl: Duration) -> Result<LeaseClaim> {
//!         // INSERT INTO refresh_leases (key, holder, expires_at) VALUES (?, ?, now + ttl)
//!         //   ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
//!         //   WHERE refresh_leases.expires_at <= now OR refresh_leases.holder = excluded.holder
//!         //   RETURNING holder            -- a row back: Claimed; none: HeldElsewhere
//!         let now = SystemTime::now();
//!         let mut leases = self.leases.lock().unwrap();
//!         match leases.get(key) {
//!             Some((other, until)) if other != holder && *until > now => Ok(LeaseClaim::HeldElsewhere),
//!             _ => {
//!                 leases.insert(key.to_owned(), (holder.to_owned(), now + ttl));
//!                 Ok(LeaseClaim::Claimed)
//!             }
//!         }
//!     }
//!
//!     async fn release_refresh(&self, key: &str, holder: &str) -> Result<()> {
//!         // DELETE FROM refresh_leases WHERE key = ? AND holder = ?
//!         let mut leases = self.leases.lock().unwrap();
//!         if leases.get(key).is_some_and(|(h, _)| h == holder) {
//!             leases.remove(key);
//!         }
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<()> {
//! let store = SqlStore::default();
//! let tokens = TokenSet::bearer("at".to_owned().into(), None);
//! let v1 = store.save("alice:payer", &tokens, None).await?;
//! let v2 = store.save("alice:payer", &tokens, Some(v1)).await?;
//! // A writer still holding v1 loses:
//! assert!(matches!(store.save("alice:payer", &tokens, Some(v1)).await, Err(Error::StoreConflict)));
//! assert_eq!(store.load("alice:payer").await?.unwrap().version, v2);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::{Error, PendingAuthorization, Result, TokenSet};

#[cfg(any(test, feature = "test-util"))]
pub mod conformance;
#[cfg(feature = "store-encrypted")]
pub mod encrypted;
#[cfg(feature = "store-postgres")]
pub mod postgres;
#[cfg(feature = "store-sqlite")]
pub mod sqlite;

/// A monotonically increasing version of one key's stored tokens, for compare-and-swap.
pub type Version = u64;

/// Tokens as loaded from a store, with the version to pass back on the next save.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoredTokens {
    /// The tokens.
    pub tokens: TokenSet,
    /// Their version.
    pub version: Version,
}

impl StoredTokens {
    /// Tokens loaded at `version` (for [`TokenStore`] implementations).
    pub fn new(tokens: TokenSet, version: Version) -> Self {
        Self { tokens, version }
    }
}

/// The answer to [`TokenStore::try_claim_refresh`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseClaim {
    /// The caller holds the refresh lease now (newly claimed, taken over from an expired lease, or renewed).
    Claimed,
    /// Another holder's lease on this key has not expired: wait, then reload the tokens.
    HeldElsewhere,
}

/// Persistent storage for members' tokens, keyed by an app-chosen string (e.g. `"{user_id}:{payer_id}"`).
///
/// # The contract
///
/// Two rules keep a rotating refresh token from being spent twice, which a server with reuse detection answers
/// by revoking the member's whole grant:
///
/// 1. **`save` is compare-and-swap.** It succeeds only when the stored version is still `expected` (`None`:
///    nothing stored yet), and otherwise fails with [`Error::StoreConflict`]. This stops a second *write*.
/// 2. **A refresh lease.** Before [`Session`](crate::Session) sends a refresh token it claims a short lease on
///    the key with [`try_claim_refresh`](TokenStore::try_claim_refresh), and it releases it after saving the
///    rotated tokens. Every other `Session` (in this process or another one sharing the store) that needs a
///    refresh meanwhile gets [`LeaseClaim::HeldElsewhere`], polls with backoff, and picks up the saved tokens
///    instead of sending the same refresh token. This stops a second *refresh*.
///
/// The lease must be exclusive across every process that shares the store (a claim is one atomic operation:
/// a conditional upsert, a check-and-set under a lock), and it must expire: a holder that dies mid-refresh
/// blocks the member for at most `ttl`. Precisely:
///
/// - `try_claim_refresh(key, holder, ttl)` answers [`LeaseClaim::Claimed`] and records `(holder, now + ttl)`
///   when no lease is recorded for `key`, the recorded one has expired, or it is `holder`'s own (a renewal);
///   otherwise [`LeaseClaim::HeldElsewhere`], changing nothing. Leases of different keys are independent, and a
///   lease needs no stored tokens under its key.
/// - `release_refresh(key, holder)` ends `holder`'s lease; it never ends another holder's, and releasing
///   nothing is not an error.
/// - `delete(key)` removes the tokens and any lease on `key`: a holder's later `save(.., Some(v))` is a
///   conflict, and the next claim succeeds.
///
/// There is deliberately no default implementation: a store that silently coordinated nothing would break the
/// guarantee for everyone sharing it. A store that is only ever used by one `Session` may implement the lease
/// trivially (always [`LeaseClaim::Claimed`]), and should say so. With the `test-util` feature, the
/// `store::conformance` module checks an implementation against all of the above.
///
/// See the [module docs](self) for a database-backed implementation.
#[async_trait]
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// The tokens stored under `key`, if any.
    async fn load(&self, key: &str) -> Result<Option<StoredTokens>>;

    /// Stores `tokens` under `key` if the stored version is `expected`; returns the new version.
    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> Result<Version>;

    /// Removes whatever is stored under `key`, and any refresh lease on it (no error if nothing is).
    async fn delete(&self, key: &str) -> Result<()>;

    /// Claims the right to refresh `key`'s tokens for `ttl`, on behalf of `holder` (an id unique to the
    /// caller, e.g. one per [`Session`](crate::Session)). See the [trait docs](TokenStore#the-contract).
    async fn try_claim_refresh(&self, key: &str, holder: &str, ttl: Duration)
    -> Result<LeaseClaim>;

    /// Ends `holder`'s refresh lease on `key`, if it still holds one.
    async fn release_refresh(&self, key: &str, holder: &str) -> Result<()>;
}

/// Server-side storage of [`PendingAuthorization`]s between the redirect to the payer and the callback: each
/// is **single-use** (the first [`take`](PendingStore::take) removes it, so of two callbacks carrying one
/// `state` exactly one wins) and **expiring** (after its `ttl` it is gone, whether taken or not).
///
/// The key is the app's: the authorization's `state` (from the callback's query) or, as the web-app example
/// does, the member's browser session and the payer.
#[async_trait]
pub trait PendingStore: Send + Sync + std::fmt::Debug {
    /// Keeps `pending` under `key` for `ttl`, replacing whatever was kept under it.
    async fn put(&self, key: &str, pending: &PendingAuthorization, ttl: Duration) -> Result<()>;

    /// Removes and returns what is kept under `key`, if anything is and it has not expired. Atomic: of
    /// concurrent takes of one key (in any process sharing the store) at most one gets it.
    async fn take(&self, key: &str) -> Result<Option<PendingAuthorization>>;
}

/// A [`TokenStore`] in process memory: for tests, CLIs and single-process apps that re-authorize after a
/// restart. Its refresh lease coordinates every `Session` sharing the store in this process. It is a
/// [`PendingStore`] too. `Debug` shows only the number of keys.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> smart_core::Result<()> {
/// use smart_core::{MemoryTokenStore, TokenSet, TokenStore};
/// let store = MemoryTokenStore::default();
/// let v = store.save("k", &TokenSet::bearer("at".to_owned().into(), None), None).await?;
/// assert_eq!(store.load("k").await?.unwrap().version, v);
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct MemoryTokenStore {
    state: Mutex<MemoryState>,
}

#[derive(Default)]
struct MemoryState {
    entries: HashMap<String, (TokenSet, Version)>,
    /// key → (holder, expiry).
    leases: HashMap<String, (String, Instant)>,
    /// key → (pending authorization, expiry).
    pending: HashMap<String, (PendingAuthorization, Instant)>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A panic while holding the lock cannot leave a half-written entry (every write is one insert/remove).
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTokenStore")
            .field("keys", &self.state().entries.len())
            .finish()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self, key: &str) -> Result<Option<StoredTokens>> {
        Ok(self
            .state()
            .entries
            .get(key)
            .map(|(t, v)| StoredTokens::new(t.clone(), *v)))
    }

    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> Result<Version> {
        let mut state = self.state();
        let current = state.entries.get(key).map(|(_, v)| *v);
        if current != expected {
            return Err(Error::StoreConflict);
        }
        let next = current.map_or(1, |v| v + 1);
        state.entries.insert(key.to_owned(), (tokens.clone(), next));
        Ok(next)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let mut state = self.state();
        state.entries.remove(key);
        state.leases.remove(key);
        Ok(())
    }

    async fn try_claim_refresh(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseClaim> {
        let now = Instant::now();
        let mut state = self.state();
        match state.leases.get(key) {
            Some((other, until)) if other != holder && *until > now => {
                Ok(LeaseClaim::HeldElsewhere)
            }
            _ => {
                let until = now
                    .checked_add(ttl)
                    .unwrap_or(now + Duration::from_secs(3600));
                state
                    .leases
                    .insert(key.to_owned(), (holder.to_owned(), until));
                Ok(LeaseClaim::Claimed)
            }
        }
    }

    async fn release_refresh(&self, key: &str, holder: &str) -> Result<()> {
        let mut state = self.state();
        if state.leases.get(key).is_some_and(|(h, _)| h == holder) {
            state.leases.remove(key);
        }
        Ok(())
    }
}

#[async_trait]
impl PendingStore for MemoryTokenStore {
    async fn put(&self, key: &str, pending: &PendingAuthorization, ttl: Duration) -> Result<()> {
        let now = Instant::now();
        let until = now
            .checked_add(ttl)
            .unwrap_or(now + Duration::from_secs(3600));
        let mut state = self.state();
        state.pending.retain(|_, (_, until)| *until > now);
        state
            .pending
            .insert(key.to_owned(), (pending.clone(), until));
        Ok(())
    }

    async fn take(&self, key: &str) -> Result<Option<PendingAuthorization>> {
        let now = Instant::now();
        Ok(self
            .state()
            .pending
            .remove(key)
            .and_then(|(p, until)| (until > now).then_some(p)))
    }
}

/// A shared store is a store: `EncryptedStore<Arc<SqliteStore>>`, or one `Arc` handed to several wrappers.
#[async_trait]
impl<T: TokenStore + ?Sized> TokenStore for std::sync::Arc<T> {
    async fn load(&self, key: &str) -> Result<Option<StoredTokens>> {
        (**self).load(key).await
    }

    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> Result<Version> {
        (**self).save(key, tokens, expected).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        (**self).delete(key).await
    }

    async fn try_claim_refresh(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseClaim> {
        (**self).try_claim_refresh(key, holder, ttl).await
    }

    async fn release_refresh(&self, key: &str, holder: &str) -> Result<()> {
        (**self).release_refresh(key, holder).await
    }
}

#[async_trait]
impl<T: PendingStore + ?Sized> PendingStore for std::sync::Arc<T> {
    async fn put(&self, key: &str, pending: &PendingAuthorization, ttl: Duration) -> Result<()> {
        (**self).put(key, pending, ttl).await
    }

    async fn take(&self, key: &str) -> Result<Option<PendingAuthorization>> {
        (**self).take(key).await
    }
}

/// What a database store says of a stored document that did not read back (or a value that did not serialize):
/// the kind and the position, never serde's own message, which quotes the value it could not read
/// (`invalid type: string "<the refresh token>"`), and these messages reach logs and the SDK's errors.
#[cfg(any(feature = "store-sqlite", feature = "store-postgres"))]
pub(crate) fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match e.classify() {
        Category::Io => "could not be read",
        Category::Syntax => "is not valid JSON",
        Category::Data => "does not have the expected shape",
        Category::Eof => "is truncated",
    };
    format!(
        "the stored document {kind} (line {}, column {})",
        e.line(),
        e.column()
    )
}

/// Milliseconds since the Unix epoch, for the SQLite store's expiry columns (PostgreSQL uses its own clock).
#[cfg(feature = "store-sqlite")]
pub(crate) fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A duration in milliseconds, saturating, for the database stores.
#[cfg(any(feature = "store-sqlite", feature = "store-postgres"))]
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Checks a table prefix or schema name: ASCII letters, digits and `_`, not starting with a digit, at most 48
/// characters, so that it can be put in SQL text unquoted.
#[cfg(any(feature = "store-sqlite", feature = "store-postgres"))]
pub(crate) fn valid_identifier(name: &str, allow_empty: bool) -> bool {
    if name.is_empty() {
        return allow_empty;
    }
    name.len() <= 48
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_meets_the_contract() {
        let store = MemoryTokenStore::new();
        conformance::check_all(&store).await.unwrap();
        conformance::check_pending_all(&store).await.unwrap();
    }

    #[tokio::test]
    async fn compare_and_swap() {
        let s = MemoryTokenStore::new();
        let t = TokenSet::bearer("a".to_owned().into(), None);
        assert!(matches!(
            s.save("k", &t, Some(1)).await,
            Err(Error::StoreConflict)
        ));
        let v1 = s.save("k", &t, None).await.unwrap();
        assert!(matches!(
            s.save("k", &t, None).await,
            Err(Error::StoreConflict)
        ));
        let v2 = s.save("k", &t, Some(v1)).await.unwrap();
        assert!(v2 > v1);
        assert!(matches!(
            s.save("k", &t, Some(v1)).await,
            Err(Error::StoreConflict)
        ));
        s.delete("k").await.unwrap();
        s.delete("k").await.unwrap();
        assert!(s.load("k").await.unwrap().is_none());
    }
}
