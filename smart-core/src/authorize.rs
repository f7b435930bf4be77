//! The authorize step: the URL to send the member to, and the [`PendingAuthorization`] to keep until the callback.

use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result};
use crate::serde_util;

/// What a web app keeps in the member's session between sending them to the payer and the callback.
///
/// It holds the `state` and the PKCE verifier, so it is `Serialize`/`Deserialize` **with those secrets in clear**:
/// keep it server-side (an encrypted session cookie or a server session store), never in a URL or the page.
/// `Debug` redacts them.
///
/// ```
/// # fn demo(pending: &smart_core::PendingAuthorization) -> serde_json::Result<()> {
/// let saved = serde_json::to_string(pending)?;              // into the member's server-side session
/// let pending: smart_core::PendingAuthorization = serde_json::from_str(&saved)?; // at the callback
/// # Ok(()) }
/// ```
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    #[serde(with = "serde_util::secret")]
    pub(crate) state: SecretString,
    #[serde(with = "serde_util::secret")]
    pub(crate) code_verifier: SecretString,
    pub(crate) redirect_uri: Url,
    pub(crate) scopes: Vec<String>,
    pub(crate) adapter_id: String,
    #[serde(with = "serde_util::unix_secs")]
    pub(crate) created_at: SystemTime,
}

impl PendingAuthorization {
    /// The `state` sent on the authorize request. Compare it only through the SDK (constant time).
    pub fn state(&self) -> &SecretString {
        &self.state
    }

    /// The redirect URI the authorize request named (the token request repeats it).
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// The scopes requested.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The id of the adapter (payer) this authorization was started for.
    pub fn adapter_id(&self) -> &str {
        &self.adapter_id
    }

    /// When the authorize URL was built.
    pub fn created_at(&self) -> SystemTime {
        self.created_at
    }

    /// Checks only the `state` of a callback (the full redirect URL, or its query with or without `?`) against
    /// this authorization, exactly as [`SmartClient::exchange_code`](crate::SmartClient::exchange_code) does
    /// first, for code and `error=` callbacks alike: [`Error::StateMismatch`] when it differs,
    /// [`Error::InvalidCallback`] when it is missing or repeated or `callback` is not a callback at all.
    ///
    /// A loopback listener uses it to tell the payer's redirect from a stale tab's or a forged request, refuse
    /// those, and keep waiting. Nothing is sent anywhere.
    ///
    /// ```
    /// # fn demo(pending: &smart_core::PendingAuthorization) {
    /// let forged = "http://127.0.0.1:8080/callback?error=access_denied";
    /// assert!(pending.check_state(forged).is_err()); // no state: not an answer to this authorization
    /// # }
    /// ```
    pub fn check_state(&self, callback: &str) -> Result<()> {
        crate::callback::check_callback_state(self, callback)
    }

    /// True when this pending authorization is older than `max_age` (apps usually give up after 10–30 minutes;
    /// payers expire their login pages and codes sooner).
    pub fn is_older_than(&self, max_age: Duration) -> bool {
        self.created_at.elapsed().is_ok_and(|age| age > max_age)
    }
}

impl std::fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("state", &"[redacted]")
            .field("code_verifier", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("scopes", &self.scopes)
            .field("adapter_id", &self.adapter_id)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// The result of [`SmartClient::authorize_url`](crate::SmartClient::authorize_url): where to send the member,
/// and what to keep until the callback.
#[derive(Clone)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// The authorize URL, for the member's browser (a redirect or a link). It carries `state`: don't log it.
    pub url: Url,
    /// What to keep in the member's session until the callback.
    pub pending: PendingAuthorization,
    pub(crate) payer: String,
    pub(crate) browser_only: bool,
}

impl AuthorizationRequest {
    /// The URL to send the member's browser to.
    pub fn browser_url(&self) -> &Url {
        &self.url
    }

    /// The URL, for code that fetches it from the server (a headless test driver, a CLI that scripts the login).
    ///
    /// Fails with [`Error::BrowserOnlyAuthorize`] when the adapter says the flow must start in the member's own
    /// browser (Cigna's login checks a cookie that its authorize step sets there). Every server-side driver must
    /// use this instead of [`url`](AuthorizationRequest::url).
    pub fn server_fetchable_url(&self) -> Result<&Url> {
        if self.browser_only {
            return Err(Error::BrowserOnlyAuthorize {
                payer: self.payer.clone(),
            });
        }
        Ok(&self.url)
    }

    /// True when the authorize step must start in the member's browser.
    pub fn browser_only(&self) -> bool {
        self.browser_only
    }

    /// Splits into the URL and the pending authorization.
    pub fn into_parts(self) -> (Url, PendingAuthorization) {
        (self.url, self.pending)
    }
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("url", &redact_query_values(&self.url, &["state"]))
            .field("pending", &self.pending)
            .field("payer", &self.payer)
            .field("browser_only", &self.browser_only)
            .finish()
    }
}

/// `url` with the values of the named query parameters replaced by `[redacted]`.
pub(crate) fn redact_query_values(url: &Url, names: &[&str]) -> String {
    let mut u = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if names.contains(&k.as_ref()) {
                "[redacted]".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if pairs.is_empty() {
        return u.to_string();
    }
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

/// The pieces of an authorize request, before the adapter adds and removes parameters.
pub(crate) struct AuthorizeParams<'a> {
    pub endpoint: &'a Url,
    pub client_id: &'a str,
    pub redirect_uri: &'a Url,
    pub scopes: &'a [String],
    pub state: &'a SecretString,
    pub code_challenge: &'a str,
    pub aud: Option<&'a str>,
    pub extra: Vec<(String, String)>,
    pub removed: Vec<String>,
}

/// Builds the authorize URL. The standard parameters come first; the adapter's extras replace a standard
/// parameter of the same name; removed names are dropped (PKCE and `state` cannot be removed).
pub(crate) fn build_authorize_url(p: AuthorizeParams<'_>) -> Url {
    let scope = p.scopes.join(" ");
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), p.client_id.into()),
        ("redirect_uri".into(), p.redirect_uri.to_string()),
        ("scope".into(), scope),
        ("state".into(), p.state.expose_secret().to_owned()),
    ];
    if let Some(aud) = p.aud {
        params.push(("aud".into(), aud.into()));
    }
    params.push(("code_challenge".into(), p.code_challenge.into()));
    params.push(("code_challenge_method".into(), "S256".into()));
    const PROTECTED: &[&str] = &[
        "state",
        "code_challenge",
        "code_challenge_method",
        "response_type",
    ];
    for (k, v) in p.extra {
        if PROTECTED.contains(&k.as_str()) {
            tracing::warn!(param = %k, "adapter tried to replace a protected authorize parameter; ignored");
            continue;
        }
        match params.iter_mut().find(|(name, _)| *name == k) {
            Some(slot) => slot.1 = v,
            None => params.push((k, v)),
        }
    }
    params.retain(|(k, _)| PROTECTED.contains(&k.as_str()) || !p.removed.iter().any(|r| r == k));
    let mut url = p.endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in &params {
            q.append_pair(k, v);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn standard_parameters_then_adapter_changes() {
        let state = SecretString::from("S".repeat(43));
        let u = build_authorize_url(AuthorizeParams {
            endpoint: &url("https://auth.example/authorize?tenant=x"),
            client_id: "app",
            redirect_uri: &url("http://127.0.0.1:3000/cb"),
            scopes: &["openid".into(), "patient/*.read".into()],
            state: &state,
            code_challenge: "challenge",
            aud: Some("https://fhir.example/r4"),
            extra: vec![
                ("skin".into(), "skin13".into()),
                ("scope".into(), "openid".into()),
                ("state".into(), "evil".into()),
            ],
            removed: vec!["aud".into(), "code_challenge".into()],
        });
        let q: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("tenant"), Some("x"), "endpoint's own query kept");
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("scope"), Some("openid"), "adapter replaced scope");
        assert_eq!(
            get("state"),
            Some("S".repeat(43).as_str()),
            "state is protected"
        );
        assert_eq!(get("aud"), None, "aud removed");
        assert_eq!(
            get("code_challenge"),
            Some("challenge"),
            "PKCE is protected"
        );
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert_eq!(get("skin"), Some("skin13"));
        assert_eq!(q.iter().filter(|(n, _)| n == "state").count(), 1);
    }

    #[test]
    fn debug_of_request_hides_state() {
        let state = SecretString::from("STATE-SECRET-VALUE-1234567890");
        let pending = PendingAuthorization {
            state: state.clone(),
            code_verifier: SecretString::from("VERIFIER-SECRET"),
            redirect_uri: url("https://app.example/cb"),
            scopes: vec!["openid".into()],
            adapter_id: "standard".into(),
            created_at: SystemTime::now(),
        };
        let u = build_authorize_url(AuthorizeParams {
            endpoint: &url("https://auth.example/authorize"),
            client_id: "app",
            redirect_uri: &pending.redirect_uri,
            scopes: &pending.scopes,
            state: &state,
            code_challenge: "c",
            aud: None,
            extra: vec![],
            removed: vec![],
        });
        let req = AuthorizationRequest {
            url: u,
            pending,
            payer: "standard".into(),
            browser_only: true,
        };
        let d = format!("{req:?}");
        assert!(!d.contains("SECRET"), "{d}");
        assert!(matches!(
            req.server_fetchable_url(),
            Err(Error::BrowserOnlyAuthorize { .. })
        ));
    }

    #[test]
    fn pending_round_trips_through_serde() {
        let p = PendingAuthorization {
            state: SecretString::from("st"),
            code_verifier: SecretString::from("ver"),
            redirect_uri: url("https://app.example/cb"),
            scopes: vec!["openid".into()],
            adapter_id: "a".into(),
            created_at: serde_util::from_unix(1_700_000_000),
        };
        let s = serde_json::to_string(&p).unwrap();
        let back: PendingAuthorization = serde_json::from_str(&s).unwrap();
        assert_eq!(back.state.expose_secret(), "st");
        assert_eq!(back.code_verifier.expose_secret(), "ver");
        assert_eq!(back.created_at, p.created_at);
        assert_eq!(back.adapter_id, "a");
    }
}
