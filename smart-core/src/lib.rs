//! SMART App Launch for payer Patient Access APIs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod adapter;
mod authorize;
mod callback;
mod claims;
mod client;
pub mod discovery;
pub mod error;
pub(crate) mod http;
mod pkce;
mod serde_util;
mod session;
pub mod store;
mod token_endpoint;
pub mod token_source;
pub mod tokens;
pub mod url_policy;

pub use adapter::{
    AudPolicy, ClientAuth, CoverageSearch, EndpointOverrides, PatientIdSource, PayerAdapter,
    RatePolicy, Standard,
};
/// Re-exported so that [`TokenStore`] and [`PayerAdapter`] implementations need no extra dependency.
pub use async_trait::async_trait;
pub use authorize::{AuthorizationRequest, PendingAuthorization};
pub use client::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_REFRESH_SKEW, DEFAULT_TIMEOUT, Revocation, SmartClient,
    SmartClientBuilder,
};
pub use discovery::{DiscoverySource, SmartConfiguration};
pub use error::{BodyExcerpt, Error, Result, Stage, TransportKind};
pub use secrecy::{ExposeSecret, SecretString};
pub use session::{DisconnectOutcome, Session};
pub use store::{MemoryTokenStore, StoredTokens, TokenStore, Version};
pub use token_source::{StaticTokens, TokenSource};
pub use tokens::TokenSet;
