//! [`SmartClient`]: one app's registration at one payer, and every step of the SMART flow.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use crate::adapter::{AudPolicy, ClientAuth, PatientIdSource, PayerAdapter};
use crate::authorize::{
    AuthorizationRequest, AuthorizeParams, PendingAuthorization, build_authorize_url,
};
use crate::callback::check_callback;
use crate::claims::{patient_from_reference, scalar_string};
use crate::discovery::{self, SmartConfiguration};
use crate::error::{Error, Result, Stage};
use crate::http::{self, ContentKind};
use crate::jose::ClientKey;
use crate::pkce;
use crate::session::Session;
use crate::store::TokenStore;
use crate::token_endpoint::{ResolvedAuth, TokenCall, resolve_auth};
use crate::tokens::TokenSet;
use crate::url_policy::{is_loopback, redact_url, require_secure};

/// The default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default cap on a response body (10 MiB: enough for a large FHIR Bundle page).
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// The default margin before expiry at which a [`Session`] refreshes.
pub const DEFAULT_REFRESH_SKEW: Duration = Duration::from_secs(60);

/// One app's registration at one payer: client id, optional secret, redirect URI, scopes, and the payer's
/// [`PayerAdapter`]. Runs discovery (cached), builds authorize URLs, exchanges codes, refreshes and revokes.
///
/// Cheap to clone (an `Arc` inside); share one per payer across the whole app. `Debug` shows no secret.
#[derive(Clone)]
pub struct SmartClient {
    inner: Arc<Inner>,
}

struct Inner {
    adapter: Arc<dyn PayerAdapter>,
    client_id: String,
    client_secret: Option<SecretString>,
    client_key: Option<ClientKey>,
    redirect_uri: Url,
    scopes: Vec<String>,
    /// True when the app chose the scopes (they are then sent as given, whatever discovery says).
    scopes_chosen: bool,
    http: reqwest::Client,
    timeout: Duration,
    max_body_bytes: usize,
    refresh_skew: Duration,
    config: OnceCell<Arc<SmartConfiguration>>,
    jwks: crate::id_token::JwksCache,
}

impl std::fmt::Debug for SmartClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        f.debug_struct("SmartClient")
            .field("adapter", &i.adapter.id())
            .field("client_id", &i.client_id)
            .field(
                "client_secret",
                &i.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("client_key", &i.client_key.as_ref().map(ClientKey::kid))
            .field("redirect_uri", &i.redirect_uri.as_str())
            .field("scopes", &i.scopes)
            .field("timeout", &i.timeout)
            .field("max_body_bytes", &i.max_body_bytes)
            .field("discovered", &i.config.initialized())
            .finish_non_exhaustive()
    }
}

/// Builds a [`SmartClient`]. Start with [`SmartClient::builder`].
#[must_use]
pub struct SmartClientBuilder {
    adapter: Arc<dyn PayerAdapter>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    client_key: Option<ClientKey>,
    redirect_uri: Option<Url>,
    scopes: Option<Vec<String>>,
    http: Option<reqwest::Client>,
    timeout: Duration,
    max_body_bytes: usize,
    refresh_skew: Duration,
}

impl std::fmt::Debug for SmartClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmartClientBuilder")
            .field("adapter", &self.adapter.id())
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_uri", &self.redirect_uri.as_ref().map(Url::as_str))
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl SmartClientBuilder {
    /// The client id the payer issued to the app. Required.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The client secret, for a confidential client. Without one the client is public (PKCE only).
    pub fn client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// The app's private signing key, for `private_key_jwt` client authentication (SMART
    /// `client-confidential-asymmetric`). Used when the adapter says [`ClientAuth::PrivateKeyJwt`], or on
    /// [`ClientAuth::Auto`] when discovery advertises `private_key_jwt` (or nothing, or no secret is set).
    /// Publish its public half with [`SmartClient::jwks`].
    pub fn client_key(mut self, key: ClientKey) -> Self {
        self.client_key = Some(key);
        self
    }

    /// The redirect URI registered with the payer. Required.
    ///
    /// Must be `https://`, `http://` on a loopback address (`127.0.0.1`, `[::1]`, `localhost`), or a private-use
    /// scheme of a native app with a dot in it (`com.example.app:/callback`, RFC 8252 §7.1); no fragment.
    pub fn redirect_uri(mut self, redirect_uri: &str) -> Result<Self> {
        let url = Url::parse(redirect_uri)
            .map_err(|e| Error::Config(format!("invalid redirect URI: {e}")))?;
        if url.fragment().is_some() {
            return Err(Error::Config(
                "a redirect URI must not have a fragment".into(),
            ));
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                return Err(Error::InsecureUrl {
                    url: redact_url(&url),
                });
            }
            scheme if scheme.contains('.') => {}
            scheme => {
                return Err(Error::Config(format!(
                    "redirect URI scheme `{scheme}` is neither https, loopback http, nor a reverse-domain app scheme"
                )));
            }
        }
        self.redirect_uri = Some(url);
        Ok(self)
    }

    /// The scopes to request. Default: the adapter's [`default_scopes`](PayerAdapter::default_scopes).
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The HTTP client to use. Optional: the SDK builds one that never follows redirects.
    ///
    /// A client you supply **must not follow redirects** (`reqwest::redirect::Policy::none()`): the token
    /// endpoint's answer is refused when the final URL differs from the requested one, but by then a redirected
    /// request may already have carried the client secret elsewhere.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The timeout of each request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body accepted, in bytes (default 10 MiB).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// How long before expiry a [`Session`] refreshes the access token (default 60 s).
    pub fn refresh_skew(mut self, skew: Duration) -> Self {
        self.refresh_skew = skew;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<SmartClient> {
        let client_id = self
            .client_id
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| Error::Config("a client id is required".into()))?;
        let redirect_uri = self
            .redirect_uri
            .ok_or_else(|| Error::Config("a redirect URI is required".into()))?;
        require_secure(self.adapter.fhir_base())?;
        if self
            .client_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().is_empty())
        {
            return Err(Error::Config("the client secret is empty".into()));
        }
        match (self.adapter.client_auth(), &self.client_secret) {
            (ClientAuth::ClientSecretBasic | ClientAuth::ClientSecretPost, None) => {
                return Err(Error::Config(format!(
                    "{} requires a client secret (confidential client)",
                    self.adapter.display_name()
                )));
            }
            (ClientAuth::PrivateKeyJwt, _) if self.client_key.is_none() => {
                return Err(Error::Config(format!(
                    "{} uses private_key_jwt, which requires a client signing key (client_key)",
                    self.adapter.display_name()
                )));
            }
            (ClientAuth::None, Some(_)) => tracing::warn!(
                adapter = self.adapter.id(),
                "a client secret is configured but the adapter uses a public client; the secret is not sent"
            ),
            _ => {}
        }
        if self.max_body_bytes == 0 {
            return Err(Error::Config("max_body_bytes must be positive".into()));
        }
        let scopes_chosen = self.scopes.is_some();
        let scopes = self.scopes.unwrap_or_else(|| self.adapter.default_scopes());
        let http = match self.http {
            Some(h) => h,
            None => {
                let mut b = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(self.timeout.min(Duration::from_secs(10)))
                    .timeout(self.timeout)
                    .user_agent(concat!(
                        "patient-access-smart-core/",
                        env!("CARGO_PKG_VERSION")
                    ));
                if self.adapter.lenient_response_headers() {
                    b = b
                        .http1_only()
                        .http1_ignore_invalid_headers_in_responses(true);
                }
                b.build()
                    .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?
            }
        };
        Ok(SmartClient {
            inner: Arc::new(Inner {
                adapter: self.adapter,
                client_id,
                client_secret: self.client_secret,
                client_key: self.client_key,
                redirect_uri,
                scopes,
                scopes_chosen,
                http,
                timeout: self.timeout,
                max_body_bytes: self.max_body_bytes,
                refresh_skew: self.refresh_skew,
                config: OnceCell::new(),
                jwks: Default::default(),
            }),
        })
    }
}

/// What [`SmartClient::revoke`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation {
    /// The payer accepted the revocation requests (RFC 7009).
    Revoked {
        /// A refresh token was revoked.
        refresh_token: bool,
        /// The access token was revoked (false when the payer does not revoke access tokens:
        /// `unsupported_token_type`).
        access_token: bool,
    },
    /// The payer advertises no revocation endpoint (Aetna): nothing could be revoked there; the tokens stay valid
    /// until they expire, and the member can revoke the app in the payer's portal.
    NotSupported,
}

impl Revocation {
    /// True when anything was revoked at the payer.
    pub fn revoked_at_payer(&self) -> bool {
        matches!(self, Revocation::Revoked { .. })
    }
}

impl SmartClient {
    /// Starts building a client for the payer behind `adapter`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use smart_core::{SmartClient, Standard};
    /// let client = SmartClient::builder(Arc::new(Standard::new("https://fhir.example/r4")?))
    ///     .client_id("my-app")
    ///     .redirect_uri("http://127.0.0.1:3000/callback")?
    ///     .build()?;
    /// assert_eq!(client.client_id(), "my-app");
    /// # Ok::<(), smart_core::Error>(())
    /// ```
    pub fn builder(adapter: Arc<dyn PayerAdapter>) -> SmartClientBuilder {
        SmartClientBuilder {
            adapter,
            client_id: None,
            client_secret: None,
            client_key: None,
            redirect_uri: None,
            scopes: None,
            http: None,
            timeout: DEFAULT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            refresh_skew: DEFAULT_REFRESH_SKEW,
        }
    }

    /// The payer's adapter.
    pub fn adapter(&self) -> &Arc<dyn PayerAdapter> {
        &self.inner.adapter
    }

    /// The HTTP client (shared with the FHIR fetch layer).
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// The JWKS document of the app's public signing key (`{"keys": [...]}`), for the app to serve at the JWKS URL
    /// registered with the payer; `None` without a [`client_key`](SmartClientBuilder::client_key).
    pub fn jwks(&self) -> Option<Value> {
        self.inner
            .client_key
            .as_ref()
            .map(|k| crate::jose::jwks_document(&[k]))
    }

    /// The redirect URI.
    pub fn redirect_uri(&self) -> &Url {
        &self.inner.redirect_uri
    }

    /// The scopes the app chose, else the adapter's defaults as written (v1). What is actually requested may be
    /// their v2 form: see [`PendingAuthorization::scopes`] and [`PayerAdapter::scope_form`].
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The largest response body accepted, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// How long before expiry sessions refresh.
    pub fn refresh_skew(&self) -> Duration {
        self.inner.refresh_skew
    }

    /// The payer's SMART configuration, discovered on first use and cached for the life of this client;
    /// concurrent first callers share one discovery. A failed discovery is not cached.
    pub async fn discover(&self) -> Result<Arc<SmartConfiguration>> {
        self.inner
            .config
            .get_or_try_init(|| async {
                let cfg = discovery::discover(
                    &self.inner.http,
                    self.inner.adapter.as_ref(),
                    self.inner.max_body_bytes,
                    self.inner.timeout,
                )
                .await?;
                tracing::debug!(source = %cfg.source(), "SMART configuration discovered");
                Ok(Arc::new(cfg))
            })
            .await
            .cloned()
    }

    /// Builds the authorize URL for a new authorization, with fresh `state` and PKCE verifier.
    ///
    /// Send the member's browser to [`AuthorizationRequest::url`] and keep
    /// [`AuthorizationRequest::pending`] in their session until the callback.
    pub async fn authorize_url(&self) -> Result<AuthorizationRequest> {
        let cfg = self.discover().await?;
        let adapter = &self.inner.adapter;
        let (code_verifier, code_challenge) = pkce::new_pkce();
        let state = pkce::new_state();
        let aud = match adapter.aud() {
            AudPolicy::FhirBase => Some(adapter.fhir_base().to_string()),
            AudPolicy::Url(u) => Some(u.to_string()),
            _ => None,
        };
        if !cfg.code_challenge_methods_supported.is_empty()
            && !cfg
                .code_challenge_methods_supported
                .iter()
                .any(|m| m == "S256")
        {
            tracing::warn!(
                "the payer does not advertise PKCE S256; sending it anyway (SMART requires it)"
            );
        }
        let scopes = if self.inner.scopes_chosen {
            self.inner.scopes.clone()
        } else {
            crate::scopes::in_form(&self.inner.scopes, adapter.scope_form().resolve(&cfg))
        };
        let nonce = scopes.iter().any(|s| s == "openid").then(pkce::new_state);
        let url = build_authorize_url(AuthorizeParams {
            endpoint: &cfg.authorization_endpoint,
            client_id: &self.inner.client_id,
            redirect_uri: &self.inner.redirect_uri,
            scopes: &scopes,
            state: &state,
            code_challenge: &code_challenge,
            nonce: nonce.as_ref(),
            aud: aud.as_deref(),
            extra: adapter.extra_authorize_params(),
            removed: adapter.removed_authorize_params(),
        });
        Ok(AuthorizationRequest {
            url,
            pending: PendingAuthorization {
                state,
                code_verifier,
                redirect_uri: self.inner.redirect_uri.clone(),
                scopes,
                adapter_id: adapter.id().to_owned(),
                created_at: SystemTime::now(),
                nonce,
            },
            payer: adapter.id().to_owned(),
            browser_only: adapter.authorize_in_browser_only(),
        })
    }

    /// Checks the callback (the full redirect URL, or its query with or without `?`) against `pending`, then
    /// exchanges the code for tokens.
    ///
    /// Fails with [`Error::AuthorizationDenied`] when the payer redirected with `error=...`,
    /// [`Error::StateMismatch`], [`Error::InvalidCallback`] (missing code, repeated parameter),
    /// [`Error::IssuerMismatch`], [`Error::OAuth`] when the token endpoint refuses, and the HTTP-level errors.
    pub async fn exchange_code(
        &self,
        pending: &PendingAuthorization,
        callback: &str,
    ) -> Result<TokenSet> {
        let cfg = self.discover().await?;
        let adapter = self.inner.adapter.as_ref();
        let checked = check_callback(adapter, pending, callback, cfg.issuer.as_ref())?;
        if pkce::s256_challenge(&pending.code_verifier).is_none() {
            return Err(Error::InvalidCallback(
                "the pending authorization's PKCE verifier is malformed".into(),
            ));
        }
        let redirect_uri = pending.redirect_uri.to_string();
        let call = self.token_call(&cfg, &cfg.token_endpoint);
        let mut tokens = call
            .request_tokens(
                vec![
                    ("grant_type", "authorization_code"),
                    ("code", checked.code.expose_secret()),
                    ("redirect_uri", &redirect_uri),
                    ("code_verifier", pending.code_verifier.expose_secret()),
                ],
                &pending.scopes,
            )
            .await?;
        if let Some(id_token) = tokens.id_token.as_ref() {
            self.check_id_token(&cfg, id_token, pending.nonce.as_ref())
                .await?;
        }
        tokens.not_granted = tokens.granted_scopes().missing(&pending.scopes);
        if !tokens.not_granted.is_empty() {
            tracing::warn!(
                not_granted = %tokens.not_granted.join(" "),
                "the payer granted fewer scopes than requested"
            );
        }
        if tokens.patient.is_none()
            && let PatientIdSource::Userinfo(url) = adapter.patient_id_source()
        {
            // The code is spent: losing these tokens over a userinfo hiccup would force the member through the
            // login again, so a failure here is logged and the patient left unknown (see `patient_from_userinfo`).
            match self.userinfo_patient(&cfg, url.as_ref(), &tokens).await {
                Ok(p) => tokens.patient = p,
                Err(e) => tracing::warn!(error = %e, "could not read the patient id from userinfo"),
            }
        }
        tracing::debug!(
            patient_known = tokens.patient.is_some(),
            refreshable = tokens.refresh_token.is_some(),
            "authorization code exchanged"
        );
        Ok(tokens)
    }

    /// Refreshes `tokens` with their refresh token and the same client authentication.
    ///
    /// The new token set keeps the old refresh token when the payer sends none (no rotation), and the old
    /// patient id, scopes and consent end when the response omits them. Fails with
    /// [`Error::ReauthorizationRequired`] when there is no refresh token, the consent has ended, or the payer
    /// answers `invalid_grant`.
    pub async fn refresh(&self, tokens: &TokenSet) -> Result<TokenSet> {
        let Some(refresh_token) = tokens.refresh_token.as_ref() else {
            return Err(Error::ReauthorizationRequired {
                reason: "the payer issued no refresh token".into(),
            });
        };
        if tokens.consent_expired() {
            return Err(Error::ReauthorizationRequired {
                reason: "the member's consent has ended (access_grant_expiration)".into(),
            });
        }
        let cfg = self.discover().await?;
        let call = self.token_call(&cfg, &cfg.token_endpoint);
        let result = call
            .request_tokens(
                vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose_secret()),
                ],
                &tokens.scopes,
            )
            .await;
        let mut new = match result {
            Ok(t) => {
                // A refreshed id token carries no nonce (OpenID Connect Core §12.2); the rest is checked.
                if let Some(id_token) = t.id_token.as_ref() {
                    self.check_id_token(&cfg, id_token, None).await?;
                }
                t
            }
            Err(Error::OAuth {
                error,
                description,
                payer_hint,
                ..
            }) if error == "invalid_grant" => {
                let mut reason = String::from("the payer refused the refresh token (invalid_grant");
                if let Some(d) = description {
                    reason.push_str(": ");
                    reason.push_str(&d);
                }
                reason.push(')');
                if let Some(h) = payer_hint {
                    reason.push_str("; ");
                    reason.push_str(&h);
                }
                return Err(Error::ReauthorizationRequired { reason });
            }
            Err(e) => return Err(e),
        };
        if new.refresh_token.is_none() {
            new.refresh_token = tokens.refresh_token.clone();
        }
        if new.patient.is_none() {
            new.patient = tokens.patient.clone();
        }
        if new.consent_expires_at.is_none() {
            new.consent_expires_at = tokens.consent_expires_at;
        }
        if new.id_token.is_none() {
            new.id_token = tokens.id_token.clone();
        }
        if new.encounter.is_none() {
            new.encounter = tokens.encounter.clone();
        }
        let mut not_granted = tokens.not_granted.clone();
        for s in new.granted_scopes().missing(&tokens.scopes) {
            if !not_granted.contains(&s) {
                not_granted.push(s);
            }
        }
        new.not_granted = not_granted;
        tracing::debug!(
            rotated = tokens
                .refresh_token
                .as_ref()
                .zip(new.refresh_token.as_ref())
                .is_some_and(|(a, b)| a.expose_secret() != b.expose_secret()),
            "tokens refreshed"
        );
        Ok(new)
    }

    /// Revokes `tokens` at the payer (RFC 7009: the refresh token first, then the access token, with client
    /// authentication) where discovery advertises a revocation endpoint.
    pub async fn revoke(&self, tokens: &TokenSet) -> Result<Revocation> {
        let cfg = self.discover().await?;
        let Some(endpoint) = cfg.revocation_endpoint.as_ref() else {
            return Ok(Revocation::NotSupported);
        };
        let call = self.token_call(&cfg, endpoint);
        let mut refresh_token = false;
        if let Some(rt) = tokens.refresh_token.as_ref() {
            call.revoke(rt, "refresh_token").await?;
            refresh_token = true;
        }
        let access_token = match call.revoke(&tokens.access_token, "access_token").await {
            Ok(()) => true,
            Err(Error::OAuth { error, .. }) if error == "unsupported_token_type" => false,
            Err(e) => return Err(e),
        };
        Ok(Revocation::Revoked {
            refresh_token,
            access_token,
        })
    }

    /// Verifies an id token issued to this client and returns its claims: the signature against the issuer's
    /// JWKS (discovery's `jwks_uri`, cached; fetched again once for an unknown `kid`), `iss` = the discovered
    /// issuer, `aud` naming this client, `exp`/`iat` within [`CLOCK_SKEW`](crate::id_token::CLOCK_SKEW), and,
    /// when given, the `nonce` of [`PendingAuthorization::nonce`]. [`exchange_code`](Self::exchange_code) and
    /// [`refresh`](Self::refresh) already do this for every id token they receive.
    ///
    /// Fails with [`Error::InvalidIdToken`] naming the failed check.
    pub async fn verify_id_token(
        &self,
        id_token: &SecretString,
        nonce: Option<&SecretString>,
    ) -> Result<serde_json::Map<String, Value>> {
        let cfg = self.discover().await?;
        let Some(jwks_uri) = cfg.jwks_uri.as_ref() else {
            return Err(Error::InvalidIdToken {
                reason: "the payer publishes no jwks_uri, so its id tokens cannot be verified"
                    .into(),
            });
        };
        let fetch = crate::id_token::Fetch {
            http: &self.inner.http,
            jwks_uri,
            max_body: self.inner.max_body_bytes,
            timeout: self.inner.timeout,
        };
        let issuer = self
            .inner
            .adapter
            .endpoint_overrides()
            .issuer
            .or_else(|| cfg.issuer.clone());
        let expected = crate::id_token::Expected {
            issuer: issuer.as_ref(),
            client_id: &self.inner.client_id,
            nonce,
        };
        crate::id_token::verify(&self.inner.jwks, &fetch, id_token, &expected).await
    }

    /// [`verify_id_token`](Self::verify_id_token) under the adapter's [`IdTokenPolicy`](crate::IdTokenPolicy).
    async fn check_id_token(
        &self,
        cfg: &SmartConfiguration,
        id_token: &SecretString,
        nonce: Option<&SecretString>,
    ) -> Result<()> {
        if cfg.jwks_uri.is_none()
            && self.inner.adapter.id_token_policy()
                == crate::IdTokenPolicy::AllowUnverifiedWithoutJwks
        {
            tracing::warn!(
                adapter = self.inner.adapter.id(),
                "the payer publishes no jwks_uri; its id token is accepted unverified (adapter opt-out)"
            );
            return Ok(());
        }
        self.verify_id_token(id_token, nonce).await.map(|_| ())
    }

    /// Reads the member's patient id from the userinfo endpoint (the adapter's, else discovery's) with the
    /// access token: `patient`, else a `fhirUser` naming a Patient, else `sub`.
    pub async fn patient_from_userinfo(&self, tokens: &TokenSet) -> Result<Option<String>> {
        let cfg = self.discover().await?;
        let url = match self.inner.adapter.patient_id_source() {
            PatientIdSource::Userinfo(u) => u,
            _ => None,
        };
        self.userinfo_patient(&cfg, url.as_ref(), tokens).await
    }

    async fn userinfo_patient(
        &self,
        cfg: &SmartConfiguration,
        url: Option<&Url>,
        tokens: &TokenSet,
    ) -> Result<Option<String>> {
        let url = url.or(cfg.userinfo_endpoint.as_ref()).ok_or_else(|| {
            Error::Config(
                "the adapter reads the patient id from userinfo, but no userinfo endpoint is known"
                    .into(),
            )
        })?;
        require_secure(url)?;
        let request = self
            .inner
            .http
            .get(url.clone())
            .timeout(self.inner.timeout)
            .bearer_auth(tokens.access_token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json");
        let r = http::send(
            &self.inner.http,
            request,
            Stage::Token,
            self.inner.max_body_bytes,
        )
        .await?;
        if !r.status.is_success() || matches!(r.kind(), ContentKind::Html | ContentKind::Xml) {
            return Err(r.unexpected(Stage::Token, self.inner.adapter.as_ref()));
        }
        let doc: Value = serde_json::from_slice(&r.body).map_err(|e| Error::Decode {
            stage: Stage::Token,
            url: r.safe_url(),
            path: String::from("."),
            message: format!("userinfo is not valid JSON ({:?} error)", e.classify()),
        })?;
        let patient = doc
            .get("patient")
            .and_then(scalar_string)
            .or_else(|| {
                doc.get("fhirUser")
                    .and_then(Value::as_str)
                    .and_then(patient_from_reference)
            })
            .or_else(|| doc.get("sub").and_then(scalar_string));
        Ok(patient)
    }

    /// A [`Session`]: tokens for one member kept in `store` under `key`, refreshed single-flight.
    pub fn session(&self, store: Arc<dyn TokenStore>, key: impl Into<String>) -> Session {
        Session::new(self.clone(), store, key.into())
    }

    fn token_call<'a>(&'a self, cfg: &'a SmartConfiguration, endpoint: &'a Url) -> TokenCall<'a> {
        let auth = resolve_auth(
            self.inner.adapter.client_auth(),
            &cfg.token_endpoint_auth_methods_supported,
            self.inner.client_secret.is_some(),
            self.inner.client_key.is_some(),
        );
        TokenCall {
            http: &self.inner.http,
            adapter: self.inner.adapter.as_ref(),
            endpoint,
            token_endpoint: &cfg.token_endpoint,
            auth,
            client_id: &self.inner.client_id,
            client_secret: match auth {
                ResolvedAuth::Basic | ResolvedAuth::Post => self.inner.client_secret.as_ref(),
                _ => None,
            },
            client_key: match auth {
                ResolvedAuth::PrivateKeyJwt => self.inner.client_key.as_ref(),
                _ => None,
            },
            max_body: self.inner.max_body_bytes,
            timeout: self.inner.timeout,
        }
    }
}
