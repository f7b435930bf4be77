//! The tokens a payer issued for one member: access token, refresh token, expiry, scopes, patient id.
//!
//! Every secret is a [`SecretString`]; `Debug` prints no token value. `TokenSet` is `Serialize`/`Deserialize`
//! for token stores: **its serialized form holds the tokens in clear**, so store it where you would store a
//! password (encrypted at rest, never logged).

use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::claims;
use crate::scopes::ScopeSet;
use crate::serde_util;

/// The tokens for one member's authorization, as returned by the token endpoint and kept by a
/// [`TokenStore`](crate::TokenStore).
///
/// Fields are private so that every way to build one keeps its invariants; read them with the accessors.
/// Serialized, `expires_at`, `consent_expires_at` and `issued_at` are unix seconds.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenSet {
    #[serde(with = "serde_util::secret")]
    pub(crate) access_token: SecretString,
    pub(crate) token_type: String,
    #[serde(default, with = "serde_util::unix_secs_opt")]
    pub(crate) expires_at: Option<SystemTime>,
    #[serde(
        default,
        with = "serde_util::secret_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) refresh_token: Option<SecretString>,
    #[serde(default)]
    pub(crate) scopes: Vec<String>,
    /// Scopes requested but not granted (empty when everything was granted or the payer did not say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) not_granted: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) patient: Option<String>,
    #[serde(
        default,
        with = "serde_util::unix_secs_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) consent_expires_at: Option<SystemTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) encounter: Option<String>,
    #[serde(
        default,
        with = "serde_util::secret_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) id_token: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) need_patient_banner: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) smart_style_url: Option<String>,
    #[serde(default = "now", with = "serde_util::unix_secs")]
    pub(crate) issued_at: SystemTime,
    /// Token response fields the SDK does not model, as sent.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub(crate) extra: Map<String, Value>,
}

fn now() -> SystemTime {
    SystemTime::now()
}

impl TokenSet {
    /// A bearer token set with only an access token and, optionally, its lifetime from now.
    /// Useful for tests and for tokens obtained elsewhere.
    ///
    /// ```
    /// use std::time::Duration;
    /// use secrecy::SecretString;
    /// let t = smart_core::TokenSet::bearer(SecretString::from("at"), Some(Duration::from_secs(3600)))
    ///     .with_patient("123");
    /// assert!(!t.expires_within(Duration::from_secs(60)));
    /// assert_eq!(t.patient(), Some("123"));
    /// ```
    pub fn bearer(access_token: SecretString, expires_in: Option<Duration>) -> Self {
        let issued_at = SystemTime::now();
        Self {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_at: expires_in.map(|d| serde_util::add_clamped(issued_at, d)),
            refresh_token: None,
            scopes: Vec::new(),
            not_granted: Vec::new(),
            patient: None,
            consent_expires_at: None,
            encounter: None,
            id_token: None,
            need_patient_banner: None,
            smart_style_url: None,
            issued_at,
            extra: Map::new(),
        }
    }

    /// Sets the patient id (builder style).
    pub fn with_patient(mut self, patient: impl Into<String>) -> Self {
        self.patient = Some(patient.into());
        self
    }

    /// Sets the refresh token (builder style).
    pub fn with_refresh_token(mut self, refresh_token: SecretString) -> Self {
        self.refresh_token = Some(refresh_token);
        self
    }

    /// Sets the granted scopes (builder style).
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets when the access token expires (builder style).
    pub fn with_expires_at(mut self, expires_at: Option<SystemTime>) -> Self {
        self.expires_at = expires_at;
        self
    }

    /// The access token.
    pub fn access_token(&self) -> &SecretString {
        &self.access_token
    }

    /// The token type; always `Bearer` for token sets the SDK built.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// The refresh token, if the payer issued one.
    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.refresh_token.as_ref()
    }

    /// When the access token expires, if the payer said.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// When these tokens were issued (received by the SDK).
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }

    /// True when the access token has expired or will within `skew`.
    pub fn expires_within(&self, skew: Duration) -> bool {
        self.expires_at
            .is_some_and(|at| at <= serde_util::add_clamped(SystemTime::now(), skew))
    }

    /// True when the access token has expired (no skew).
    pub fn is_expired(&self) -> bool {
        self.expires_within(Duration::ZERO)
    }

    /// The member's FHIR Patient id, if known.
    pub fn patient(&self) -> Option<&str> {
        self.patient.as_deref()
    }

    /// The encounter id from the token response, if any (rare in patient access).
    pub fn encounter(&self) -> Option<&str> {
        self.encounter.as_deref()
    }

    /// The OpenID Connect id token, if the payer issued one.
    pub fn id_token(&self) -> Option<&SecretString> {
        self.id_token.as_ref()
    }

    /// SMART's `need_patient_banner`, if sent.
    pub fn need_patient_banner(&self) -> Option<bool> {
        self.need_patient_banner
    }

    /// SMART's `smart_style_url`, if sent.
    pub fn smart_style_url(&self) -> Option<&str> {
        self.smart_style_url.as_deref()
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// True when `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The granted scopes, typed: ask [`ScopeSet::allows_read`] whether a resource type may be read, whichever
    /// scope syntax (v1 or v2) the payer granted.
    ///
    /// ```
    /// use secrecy::SecretString;
    /// let t = smart_core::TokenSet::bearer(SecretString::from("at"), None)
    ///     .with_scopes(["openid", "patient/Condition.rs", "patient/Coverage.read"]);
    /// assert!(t.granted_scopes().allows_read("Condition"));
    /// assert!(t.granted_scopes().allows_read("Coverage"));
    /// assert!(!t.granted_scopes().allows_read("ExplanationOfBenefit"));
    /// ```
    pub fn granted_scopes(&self) -> ScopeSet {
        ScopeSet::from_strs(&self.scopes)
    }

    /// The scopes the app requested that the payer did not grant (empty when all were granted, or when the
    /// token response named no `scope`, which means everything requested).
    pub fn scopes_not_granted(&self) -> &[String] {
        &self.not_granted
    }

    /// Fails with [`Error::ScopesNotGranted`](crate::Error::ScopesNotGranted), naming each missing scope, unless
    /// every one of `required` is covered by the granted scopes.
    pub fn require_scopes<S: AsRef<str>>(&self, required: &[S]) -> crate::Result<()> {
        let missing = self.granted_scopes().missing(required);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::ScopesNotGranted {
                missing,
                granted: self.scopes.clone(),
            })
        }
    }

    /// When the member's consent ends, where the payer says (CMS Blue Button's `access_grant_expiration`).
    /// After it, refreshing fails and the member must authorize again.
    pub fn consent_expires_at(&self) -> Option<SystemTime> {
        self.consent_expires_at
    }

    /// True when the member's consent has ended (never, when the payer did not say).
    pub fn consent_expired(&self) -> bool {
        self.consent_expires_at
            .is_some_and(|at| at <= SystemTime::now())
    }

    /// True when these tokens can be refreshed: a refresh token exists and the consent has not ended.
    pub fn can_refresh(&self) -> bool {
        self.refresh_token.is_some() && !self.consent_expired()
    }

    /// Token response fields the SDK does not model, as sent. They may hold secrets of the payer's own kind;
    /// `Debug` prints only their names.
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// True when both token sets carry the same access token (compared in constant time).
    pub(crate) fn same_access_token(&self, other: &TokenSet) -> bool {
        use subtle::ConstantTimeEq;
        self.access_token
            .expose_secret()
            .as_bytes()
            .ct_eq(other.access_token.expose_secret().as_bytes())
            .into()
    }

    /// The patient id from the claims of the id token, else of a JWT access token (unverified; see
    /// [`crate::claims`]).
    pub(crate) fn patient_from_jwts(&self) -> Option<String> {
        self.id_token
            .iter()
            .chain(std::iter::once(&self.access_token))
            .filter_map(|t| claims::unverified_claims(t.expose_secret()))
            .find_map(|c| claims::patient_from_claims(&c))
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
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("scopes", &self.scopes)
            .field("not_granted", &self.not_granted)
            .field("patient", &self.patient)
            .field("encounter", &self.encounter)
            .field("consent_expires_at", &self.consent_expires_at)
            .field("extra_fields", &self.extra.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trip_keeps_secrets_and_uses_unix_seconds() {
        let t = TokenSet::bearer(SecretString::from("AT-1"), None)
            .with_refresh_token(SecretString::from("RT-1"))
            .with_expires_at(Some(serde_util::from_unix(2_000_000_000)))
            .with_patient("p1")
            .with_scopes(["openid", "patient/*.read"]);
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["expires_at"], 2_000_000_000u64);
        assert_eq!(json["access_token"], "AT-1");
        let back: TokenSet = serde_json::from_value(json).unwrap();
        assert_eq!(back.access_token().expose_secret(), "AT-1");
        assert_eq!(back.refresh_token().unwrap().expose_secret(), "RT-1");
        assert_eq!(back.expires_at(), t.expires_at());
        assert_eq!(back.patient(), Some("p1"));
        assert_eq!(back.scopes(), ["openid", "patient/*.read"]);
    }

    #[test]
    fn debug_shows_no_token() {
        let mut t = TokenSet::bearer(SecretString::from("AT-SECRET"), None)
            .with_refresh_token(SecretString::from("RT-SECRET"));
        t.id_token = Some(SecretString::from("ID-SECRET"));
        t.extra.insert("payer_token".into(), "EXTRA-SECRET".into());
        let d = format!("{t:?}");
        assert!(!d.contains("SECRET"), "{d}");
        assert!(d.contains("payer_token"));
    }

    #[test]
    fn huge_values_clamp_instead_of_panicking() {
        let t: TokenSet = serde_json::from_value(serde_json::json!({
            "access_token": "a", "token_type": "Bearer", "expires_at": u64::MAX, "consent_expires_at": u64::MAX
        }))
        .unwrap();
        assert!(!t.expires_within(Duration::from_secs(3600)));
        let _ = t.expires_within(Duration::MAX); // no overflow panic
        assert!(!t.consent_expired());
        let t = TokenSet::bearer(SecretString::from("a"), Some(Duration::MAX));
        assert!(!t.is_expired());
    }

    #[test]
    fn expiry_with_skew() {
        let t = TokenSet::bearer(SecretString::from("a"), Some(Duration::from_secs(30)));
        assert!(!t.is_expired());
        assert!(t.expires_within(Duration::from_secs(60)));
        let never = TokenSet::bearer(SecretString::from("a"), None);
        assert!(!never.expires_within(Duration::from_secs(3600)));
    }
}
