//! The one error type of the SDK, classified by the stage of the flow where it happened.
//!
//! Every variant says what happened and, through [`Error::hint`], what to do where a known fix exists.
//! No variant ever holds a client secret, token, authorization code or PKCE verifier, so `Display` and `Debug`
//! are safe to log.

use std::time::Duration;

/// Where in the flow an [`Error`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Building a client or adapter: a bad URL, a missing setting.
    Configuration,
    /// Finding the payer's endpoints (`.well-known/smart-configuration`, `metadata`, OpenID configuration).
    Discovery,
    /// Building or starting the authorization request.
    Authorization,
    /// Reading the redirect back from the payer.
    Callback,
    /// Exchanging the authorization code, refreshing or revoking tokens.
    Token,
    /// Loading or saving tokens in a [`TokenStore`](crate::TokenStore).
    Store,
    /// Reading FHIR resources.
    Fhir,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Configuration => "configuration",
            Stage::Discovery => "discovery",
            Stage::Authorization => "authorization",
            Stage::Callback => "callback",
            Stage::Token => "token",
            Stage::Store => "store",
            Stage::Fhir => "fhir",
        })
    }
}

/// A short, secret-free excerpt of an unexpected response body, for error messages.
///
/// Built by the HTTP layer from bodies that are *not* successful token responses; token-bearing bodies are never
/// kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyExcerpt(pub(crate) String);

impl BodyExcerpt {
    /// The excerpt text (at most a few hundred characters, whitespace collapsed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BodyExcerpt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything that can go wrong, by stage. See [`Error::stage`] and [`Error::hint`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- Configuration -------------------------------------------------------------------------------------
    /// A setting is missing or invalid.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// A URL uses plain HTTP on a non-loopback host. Tokens and codes must only travel over TLS.
    #[error("refusing insecure URL {url}: HTTPS is required except on loopback addresses")]
    InsecureUrl {
        /// The URL, without its query string.
        url: String,
    },

    // ---- Discovery ------------------------------------------------------------------------------------------
    /// No usable SMART configuration was found at any of the places tried.
    #[error("SMART discovery failed: {reason}")]
    Discovery {
        /// What went wrong, naming each place tried once: `"{url}: {why}"` joined with `"; "`, or `"{why}: {url},
        /// {url}"` when every place failed the same way.
        reason: String,
        /// Every URL tried, in order.
        tried: Vec<String>,
    },

    // ---- Authorization --------------------------------------------------------------------------------------
    /// The payer's authorize step only works in the member's own browser (it sets a cookie that its login page
    /// checks), and something tried to fetch it from the server.
    #[error(
        "{payer}'s authorize URL must be opened in the member's browser, not fetched by the server"
    )]
    BrowserOnlyAuthorize {
        /// The adapter id.
        payer: String,
    },

    // ---- Callback -------------------------------------------------------------------------------------------
    /// The payer (or the member) refused the authorization: `error=...` on the redirect.
    #[error("authorization refused by the payer: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    AuthorizationDenied {
        /// The OAuth error code, e.g. `access_denied`.
        error: String,
        /// `error_description`, when sent.
        description: Option<String>,
        /// `error_uri`, when sent.
        uri: Option<String>,
        /// A payer-specific explanation, when the adapter recognises the failure.
        payer_hint: Option<String>,
    },

    /// The callback's `state` does not match the pending authorization: a stale tab, a second login, or forgery.
    #[error("the callback's state does not match the pending authorization")]
    StateMismatch,

    /// The callback is malformed: a missing or repeated parameter, or not a URL/query at all.
    #[error("malformed callback: {0}")]
    InvalidCallback(String),

    /// The callback's `iss` names a different authorization server than the one discovered.
    #[error("the callback's iss {received} is not the discovered issuer {expected}")]
    IssuerMismatch {
        /// The discovered issuer.
        expected: String,
        /// The `iss` on the callback.
        received: String,
    },

    /// The pending authorization was started for another payer (adapter id) than this client's: the app mixed
    /// up sessions or clients.
    #[error(
        "the pending authorization belongs to adapter {found:?}, not to this client's {expected:?}"
    )]
    PendingAuthorizationMismatch {
        /// This client's adapter id.
        expected: String,
        /// The adapter id stored in the pending authorization.
        found: String,
    },

    // ---- Token ----------------------------------------------------------------------------------------------
    /// The token endpoint answered with an OAuth error body (`invalid_grant`, `invalid_client`, ...).
    #[error("token endpoint refused the request (HTTP {status}): {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    OAuth {
        /// HTTP status.
        status: u16,
        /// The OAuth error code.
        error: String,
        /// `error_description`, when sent.
        description: Option<String>,
        /// A payer-specific explanation, when the adapter recognises the failure.
        payer_hint: Option<String>,
    },

    /// The tokens can no longer be refreshed (no refresh token, or it was refused): the member must authorize
    /// the app again.
    #[error("the member must authorize again: {reason}")]
    ReauthorizationRequired {
        /// Why.
        reason: String,
    },

    /// The id token failed verification (signature against the issuer's JWKS, `iss`, `aud`, `exp`/`iat`, or
    /// the `nonce` sent on the authorize request), or could not be verified. None of its claims is used.
    #[error("the id token is not valid: {reason}")]
    InvalidIdToken {
        /// Which check failed (never a token or key value).
        reason: String,
    },

    /// The payer granted fewer scopes than the app needs. Holds scope names only, never a token.
    #[error("the payer did not grant {}; granted: {}", missing.join(" "), if granted.is_empty() { "nothing".to_owned() } else { granted.join(" ") })]
    ScopesNotGranted {
        /// The required scopes that no granted scope covers.
        missing: Vec<String>,
        /// What was granted.
        granted: Vec<String>,
    },

    /// A token response was JSON but not a usable token response (no `access_token`, wrong types).
    #[error("invalid token response: {0}")]
    InvalidTokenResponse(String),

    // ---- Store ----------------------------------------------------------------------------------------------
    /// Someone else saved newer tokens first (compare-and-swap failed). Reload and retry.
    #[error("token store conflict: the stored tokens changed since they were loaded")]
    StoreConflict,

    /// The token store failed.
    #[error("token store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),

    // ---- Transport (any stage) ------------------------------------------------------------------------------
    /// The request did not complete: DNS, connect, TLS, a reset connection, or a timeout.
    #[error("{stage}: request to {url} failed: {kind}")]
    Transport {
        /// Where in the flow.
        stage: Stage,
        /// The URL, without its query string.
        url: String,
        /// What failed.
        kind: TransportKind,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// The server answered with something that is not what the protocol expects: an HTML or XML error page,
    /// a non-JSON body, an unexpected status.
    #[error(
        "{stage}: unexpected response from {url}: HTTP {status}, content-type {content_type:?}: {excerpt}"
    )]
    UnexpectedResponse {
        /// Where in the flow.
        stage: Stage,
        /// The URL, without its query string.
        url: String,
        /// HTTP status.
        status: u16,
        /// The `Content-Type` header, if any.
        content_type: Option<String>,
        /// A short excerpt of the body (never of a token response).
        excerpt: BodyExcerpt,
        /// A payer-specific explanation, when the adapter recognises the failure
        /// ([`PayerAdapter::explain_response`](crate::PayerAdapter::explain_response)).
        payer_hint: Option<String>,
    },

    /// The response body exceeded the configured size limit.
    #[error("{stage}: response from {url} exceeded the {limit}-byte limit")]
    BodyTooLarge {
        /// Where in the flow.
        stage: Stage,
        /// The URL, without its query string.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },

    /// A JSON body did not have the expected shape.
    #[error("{stage}: could not decode the response from {url} at `{path}`: {message}")]
    Decode {
        /// Where in the flow.
        stage: Stage,
        /// The URL, without its query string.
        url: String,
        /// The JSON path of the failing value, e.g. `entry[3].resource.item[0]`.
        path: String,
        /// What was wrong.
        message: String,
    },

    /// The server kept answering 429/503 beyond the retry budget.
    #[error("{stage}: rate limited by {url} after {attempts} attempts over {waited:?}")]
    RateLimited {
        /// Where in the flow.
        stage: Stage,
        /// The URL, without its query string.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// Total time spent waiting.
        waited: Duration,
        /// A payer-specific explanation, when the adapter recognises the failure.
        payer_hint: Option<String>,
    },
    // ---- FHIR -----------------------------------------------------------------------------------------------
    /// A URL (a `next` link, a page) points at an origin other than the FHIR base's, and the adapter does not
    /// trust it. Nothing was sent there: the bearer token only ever travels to the payer's FHIR origin.
    #[error(
        "refusing to send the member's token to {url}: its origin is neither the FHIR base's ({expected}) nor one the adapter trusts"
    )]
    ForeignOrigin {
        /// The refused URL, without its query string.
        url: String,
        /// The FHIR base's origin, e.g. `https://fhir.payer.example`.
        expected: String,
    },

    /// The payer's paging looped: a `next` link named a page this stream had already fetched. The stream ends
    /// here, so the data read so far may be incomplete.
    #[error(
        "the payer's paging looped after {pages} pages (next link {url} was already fetched); results may be incomplete"
    )]
    PagingLoop {
        /// The repeated `next` link, without its query string.
        url: String,
        /// Pages fetched before the loop was seen.
        pages: usize,
    },

    /// A search produced more pages than the configured cap. The stream ends here, so the data read so far may
    /// be incomplete.
    #[error("stopped after the {limit}-page limit at {url}; results may be incomplete")]
    PageLimit {
        /// The page cap.
        limit: usize,
        /// The `next` link that was not followed, without its query string.
        url: String,
    },

    /// The server answered an error status with a FHIR `OperationOutcome`.
    #[error("{url} answered HTTP {status}: {}", OutcomeIssue::summary(issues))]
    OperationOutcome {
        /// HTTP status.
        status: u16,
        /// The URL, without its query string.
        url: String,
        /// The outcome's issues, in order.
        issues: Vec<OutcomeIssue>,
        /// A payer-specific explanation, when the adapter recognises the failure.
        payer_hint: Option<String>,
    },

    /// The tokens name no patient, so there is nothing to read "for the member". The adapter's
    /// [`patient_id_source`](crate::PayerAdapter::patient_id_source) decides where the id comes from.
    #[error("the member's tokens name no FHIR Patient id")]
    MissingPatient,

    /// A resource type given by name ([`FhirClient::search_type`](crate::fhir::FhirClient::search_type),
    /// [`read_type`](crate::fhir::FhirClient::read_type)) cannot be used: not a FHIR type name
    /// (`[A-Z][A-Za-z]+`), or, for a member's search, a type with no patient search parameter.
    #[error("resource type {name:?} {reason}")]
    InvalidResourceType {
        /// The name as given (at most 64 characters of it).
        name: String,
        /// Why it cannot be used.
        reason: &'static str,
    },

    /// The payer does not support the operation (for example `Patient/$everything`).
    #[error("{payer} does not support {operation}")]
    Unsupported {
        /// The adapter id.
        payer: String,
        /// The operation, e.g. `Patient/$everything`.
        operation: String,
    },
}

/// One issue of a FHIR `OperationOutcome`, as carried by [`Error::OperationOutcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutcomeIssue {
    /// `fatal`, `error`, `warning` or `information`.
    pub severity: String,
    /// The FHIR issue type code, e.g. `not-found`, `forbidden`, `throttled`.
    pub code: String,
    /// `diagnostics`, else `details.text`, when sent.
    pub diagnostics: Option<String>,
}

impl OutcomeIssue {
    /// An issue with these parts.
    pub fn new(
        severity: impl Into<String>,
        code: impl Into<String>,
        diagnostics: Option<String>,
    ) -> Self {
        Self {
            severity: severity.into(),
            code: code.into(),
            diagnostics,
        }
    }

    /// `"error not-found: Patient/1 is gone; warning ..."`, or `"no issues"`.
    pub fn summary(issues: &[OutcomeIssue]) -> String {
        if issues.is_empty() {
            return "an OperationOutcome with no issues".to_owned();
        }
        issues
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl std::fmt::Display for OutcomeIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.severity, self.code)?;
        if let Some(d) = &self.diagnostics {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// What kind of transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// Connecting failed (DNS, refused, TLS).
    Connect,
    /// The request or the connection timed out.
    Timeout,
    /// The connection dropped before the whole response arrived.
    Interrupted,
    /// The server redirected where the SDK does not follow (e.g. on the token endpoint).
    Redirect,
    /// Another HTTP-level failure.
    Other,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "timed out",
            TransportKind::Interrupted => "connection dropped before the response was complete",
            TransportKind::Redirect => {
                "the server answered with a redirect, which is not followed here"
            }
            TransportKind::Other => "HTTP error",
        })
    }
}

/// Shorthand for `Result<T, smart_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stage of the flow where this error happened.
    pub fn stage(&self) -> Stage {
        match self {
            Error::Config(_) | Error::InsecureUrl { .. } => Stage::Configuration,
            Error::Discovery { .. } => Stage::Discovery,
            Error::BrowserOnlyAuthorize { .. } => Stage::Authorization,
            Error::AuthorizationDenied { .. }
            | Error::StateMismatch
            | Error::InvalidCallback(_)
            | Error::IssuerMismatch { .. }
            | Error::PendingAuthorizationMismatch { .. } => Stage::Callback,
            Error::OAuth { .. }
            | Error::ReauthorizationRequired { .. }
            | Error::InvalidTokenResponse(_)
            | Error::ScopesNotGranted { .. }
            | Error::InvalidIdToken { .. } => Stage::Token,
            Error::StoreConflict | Error::Store(_) => Stage::Store,
            Error::Transport { stage, .. }
            | Error::UnexpectedResponse { stage, .. }
            | Error::BodyTooLarge { stage, .. }
            | Error::Decode { stage, .. }
            | Error::RateLimited { stage, .. } => *stage,
            Error::ForeignOrigin { .. }
            | Error::PagingLoop { .. }
            | Error::PageLimit { .. }
            | Error::OperationOutcome { .. }
            | Error::MissingPatient
            | Error::InvalidResourceType { .. }
            | Error::Unsupported { .. } => Stage::Fhir,
        }
    }

    /// What to do about it, where a known fix exists. Payer-specific hints come from the adapter.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::AuthorizationDenied {
                payer_hint: Some(h),
                ..
            }
            | Error::OAuth {
                payer_hint: Some(h),
                ..
            }
            | Error::RateLimited {
                payer_hint: Some(h),
                ..
            }
            | Error::OperationOutcome {
                payer_hint: Some(h),
                ..
            }
            | Error::UnexpectedResponse {
                payer_hint: Some(h),
                ..
            } => Some(h),
            Error::AuthorizationDenied { error, .. } if error == "access_denied" => Some(
                "the member declined, or is not eligible to share data from this plan; ask them to try again",
            ),
            Error::OAuth { error, .. } if error == "invalid_grant" => Some(
                "the code or refresh token was already used, expired or revoked: send the member through authorization again",
            ),
            Error::OAuth { error, .. } if error == "invalid_client" => Some(
                "check the client id and secret, and the client authentication method the payer expects (Basic or in the body)",
            ),
            Error::StateMismatch => Some(
                "start a new authorization; keep the PendingAuthorization in the member's session until the callback",
            ),
            Error::ReauthorizationRequired { .. } => Some(
                "send the member through authorization again (authorize_url), then exchange the new code",
            ),
            Error::StoreConflict => {
                Some("another worker refreshed first: reload the tokens from the store and retry")
            }
            Error::Discovery { .. } => Some(
                "check that the URL is the FHIR base (the address whose /metadata answers with a CapabilityStatement), \
                 that the server is up, and that this machine can reach it",
            ),
            Error::InsecureUrl { .. } => {
                Some("use an https:// URL; plain http is allowed only on 127.0.0.1/localhost")
            }
            Error::BodyTooLarge { .. } => Some(
                "raise the response size limit on the client if this payer's pages are legitimately large",
            ),
            Error::RateLimited { .. } => {
                Some("lower the concurrency or raise the retry budget; the payer is throttling")
            }
            Error::ForeignOrigin { .. } => Some(
                "if this payer legitimately serves pages from another host, name that origin in the adapter's trusted_origins()",
            ),
            Error::PagingLoop { .. } => Some(
                "the payer's next links are broken; keep what was read, mark the sync incomplete, and retry later or narrow the search (_lastUpdated)",
            ),
            Error::PageLimit { .. } => Some(
                "raise the page limit on the FHIR client if this member legitimately has that many pages, or narrow the search",
            ),
            Error::OperationOutcome { status: 401, .. } => Some(
                "the payer rejected the token even after a refresh: check the granted scopes, or authorize the member again",
            ),
            Error::OperationOutcome { status: 403, .. } => Some(
                "the token does not grant this read: check the granted scopes (patient/*.read) and the patient id",
            ),
            Error::MissingPatient => Some(
                "the token response carried no patient: check the adapter's patient_id_source(), or request the launch/patient scope",
            ),
            Error::InvalidResourceType { .. } => Some(
                "name a FHIR resource type as in URLs (Observation, MedicationRequest); search types outside the Patient compartment (Organization, Location, Medication) with search_type",
            ),
            Error::Unsupported { .. } => {
                Some("use coverage() and explanation_of_benefits() (and other searches) instead")
            }
            Error::UnexpectedResponse {
                stage: Stage::Fhir,
                status,
                ..
            } => Some(match status {
                401 => {
                    "the payer rejected the token even after a refresh: check the granted scopes, or authorize the member again"
                }
                429 | 500.. => {
                    "the payer's FHIR server or its gateway failed and sent an error page; this is usually transient: retry later"
                }
                200..=299 => {
                    "the payer sent a web page instead of FHIR JSON (a login, consent or maintenance page?): check the FHIR base URL and the adapter's Accept header"
                }
                _ => {
                    "the payer answered with something other than FHIR JSON: check the FHIR base URL and the resource path"
                }
            }),
            _ => None,
        }
    }

    /// True when retrying the same request later may succeed (timeouts, dropped connections, rate limits, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { kind, .. } => {
                matches!(
                    kind,
                    TransportKind::Timeout | TransportKind::Interrupted | TransportKind::Connect
                )
            }
            Error::RateLimited { .. } => true,
            Error::UnexpectedResponse { status, .. } | Error::OperationOutcome { status, .. } => {
                *status >= 500 || *status == 429
            }
            _ => false,
        }
    }

    /// True when the member has to go through authorization again for the app to regain access.
    pub fn requires_reauthorization(&self) -> bool {
        matches!(self, Error::ReauthorizationRequired { .. })
            || matches!(self, Error::OAuth { error, .. } if error == "invalid_grant")
    }
}
