//! Token storage: an async trait with compare-and-swap saves, and an in-memory implementation.
//!
//! # Backing the store with a database
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
//! The example below implements exactly that logic over a map standing in for the table; replace the map
//! operations with your database client's queries.
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//! use smart_core::{async_trait, Error, Result, StoredTokens, TokenSet, TokenStore, Version};
//!
//! /// A row of `CREATE TABLE tokens (key TEXT PRIMARY KEY, tokens TEXT NOT NULL, version BIGINT NOT NULL)`.
//! struct Row { tokens: String, version: Version }
//!
//! #[derive(Default)]
//! struct SqlStore { table: Mutex<HashMap<String, Row>> }
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
//!         // DELETE FROM tokens WHERE key = ?
//!         self.table.lock().unwrap().remove(key);
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

use async_trait::async_trait;

use crate::{Error, Result, TokenSet};

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

/// Persistent storage for members' tokens, keyed by an app-chosen string (e.g. `"{user_id}:{payer_id}"`).
///
/// `save` is compare-and-swap so that two processes cannot both spend one rotating refresh token: it succeeds
/// only when the stored version is still `expected` (`None`: nothing stored yet), and otherwise fails with
/// [`Error::StoreConflict`]. See the [module docs](self) for a database-backed
/// implementation.
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

    /// Removes whatever is stored under `key` (no error if nothing is).
    async fn delete(&self, key: &str) -> Result<()>;
}

/// A [`TokenStore`] in process memory: for tests, CLIs and single-process apps that re-authorize after a
/// restart. `Debug` shows only the number of keys.
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
    entries: Mutex<HashMap<String, (TokenSet, Version)>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (TokenSet, Version)>> {
        // A panic while holding the lock cannot leave a half-written entry (every write is one insert/remove).
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTokenStore")
            .field("keys", &self.entries().len())
            .finish()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self, key: &str) -> Result<Option<StoredTokens>> {
        Ok(self
            .entries()
            .get(key)
            .map(|(t, v)| StoredTokens::new(t.clone(), *v)))
    }

    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> Result<Version> {
        let mut entries = self.entries();
        let current = entries.get(key).map(|(_, v)| *v);
        if current != expected {
            return Err(Error::StoreConflict);
        }
        let next = current.map_or(1, |v| v + 1);
        entries.insert(key.to_owned(), (tokens.clone(), next));
        Ok(next)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.entries().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
