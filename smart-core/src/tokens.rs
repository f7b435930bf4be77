//! The tokens a payer issued for one member: access token, refresh token, expiry, scopes, patient id.
//!
//! Every secret is a [`SecretString`]; `Debug` prints no token value.

use std::time::{Duration, SystemTime};

use secrecy::SecretString;

/// The tokens for one member's authorization, as returned by the token endpoint and kept by a
/// [`TokenStore`](crate::TokenStore).
///
/// Fields are private so that every way to build one keeps its invariants; read them with the accessors.
// TODO(smart-core helper): serde (secrets serialized deliberately, for stores), the parser for token responses,
// the rest of the accessors. Debug must print no secret.
#[derive(Clone)]
pub struct TokenSet {
    pub(crate) access_token: SecretString,
    pub(crate) token_type: String,
    pub(crate) expires_at: Option<SystemTime>,
    pub(crate) refresh_token: Option<SecretString>,
    pub(crate) scopes: Vec<String>,
    pub(crate) patient: Option<String>,
    pub(crate) consent_expires_at: Option<SystemTime>,
}

impl TokenSet {
    /// A bearer token set with only an access token and, optionally, its lifetime from now.
    /// Useful for tests and for tokens obtained elsewhere.
    pub fn bearer(access_token: SecretString, expires_in: Option<Duration>) -> Self {
        Self {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_at: expires_in.map(|d| SystemTime::now() + d),
            refresh_token: None,
            scopes: Vec::new(),
            patient: None,
            consent_expires_at: None,
        }
    }

    /// Sets the patient id (builder style).
    pub fn with_patient(mut self, patient: impl Into<String>) -> Self {
        self.patient = Some(patient.into());
        self
    }

    /// The access token.
    pub fn access_token(&self) -> &SecretString {
        &self.access_token
    }

    /// The refresh token, if the payer issued one.
    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.refresh_token.as_ref()
    }

    /// When the access token expires, if the payer said.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// True when the access token has expired or will within `skew`.
    pub fn expires_within(&self, skew: Duration) -> bool {
        self.expires_at
            .is_some_and(|at| at <= SystemTime::now() + skew)
    }

    /// The member's FHIR Patient id, if known.
    pub fn patient(&self) -> Option<&str> {
        self.patient.as_deref()
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("scopes", &self.scopes)
            .field("patient", &self.patient)
            .field("consent_expires_at", &self.consent_expires_at)
            .finish_non_exhaustive()
    }
}
