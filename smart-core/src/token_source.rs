//! Where the fetch layer gets a valid access token, and how it asks for a new one after a 401.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{Result, TokenSet};

/// A source of valid access tokens for one member.
///
/// The fetch layer calls [`current`](TokenSource::current) before each request and
/// [`refresh_after_rejection`](TokenSource::refresh_after_rejection) once when the server answers 401.
/// Implementations make refresh single-flight: many concurrent callers cause one refresh request.
#[async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// Tokens whose access token is valid now, refreshed first if it expires within the source's skew.
    async fn current(&self) -> Result<Arc<TokenSet>>;

    /// The server rejected `rejected`; return newer tokens, refreshing unless another caller already did since.
    async fn refresh_after_rejection(&self, rejected: &TokenSet) -> Result<Arc<TokenSet>>;
}

/// A fixed token set that is never refreshed (a short script, a test). After expiry or a 401 it answers
/// [`Error::ReauthorizationRequired`](crate::Error::ReauthorizationRequired).
#[derive(Debug, Clone)]
pub struct StaticTokens(Arc<TokenSet>);

impl StaticTokens {
    /// Wraps `tokens`.
    pub fn new(tokens: TokenSet) -> Self {
        Self(Arc::new(tokens))
    }
}

#[async_trait]
impl TokenSource for StaticTokens {
    async fn current(&self) -> Result<Arc<TokenSet>> {
        if self.0.expires_within(std::time::Duration::ZERO) {
            return Err(crate::Error::ReauthorizationRequired {
                reason: "the access token expired and there is no way to refresh it".into(),
            });
        }
        Ok(self.0.clone())
    }

    async fn refresh_after_rejection(&self, _rejected: &TokenSet) -> Result<Arc<TokenSet>> {
        Err(crate::Error::ReauthorizationRequired {
            reason: "the payer rejected the access token and there is no way to refresh it".into(),
        })
    }
}
