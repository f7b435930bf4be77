//! Token storage: an async trait with compare-and-swap saves, and an in-memory implementation.

use async_trait::async_trait;

use crate::{Result, TokenSet};

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

/// Persistent storage for members' tokens, keyed by an app-chosen string (e.g. `"{user_id}:{payer_id}"`).
///
/// `save` is compare-and-swap so that two processes cannot both spend one rotating refresh token: it succeeds
/// only when the stored version is still `expected` (`None`: nothing stored yet), and otherwise fails with
/// [`Error::StoreConflict`](crate::Error::StoreConflict).
// TODO(smart-core helper): docs showing how to back it with a database (SQL `UPDATE ... WHERE version = ?`).
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
