//! The `PayerAdapter` trait: everything that differs between payers, with standard SMART behaviour as defaults.
//!
//! Most quirks are data (endpoints, `aud` policy, extra authorize parameters, client authentication, scopes,
//! resource base, accept header, paging limits, lenient HTTP). A standards-following payer needs only
//! [`Standard`]; a quirky one implements this trait and overrides just what differs.

use std::time::Duration;

use url::Url;

/// What to send as the SMART `aud` parameter on the authorize request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AudPolicy {
    /// The FHIR base URL (the SMART App Launch default).
    FhirBase,
    /// A specific URL (Aetna wants its auth root, not the FHIR base).
    Url(Url),
    /// Send no `aud` at all (Cigna rejects it).
    Omit,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// Decide from discovery's `token_endpoint_auth_methods_supported` and the credentials configured: with a
    /// [`ClientKey`](crate::ClientKey), `private_key_jwt` when advertised (or nothing is advertised, or no secret
    /// exists); with a secret, Basic when supported (or nothing is advertised), else `client_secret_post`; else
    /// public.
    Auto,
    /// `Authorization: Basic` with the id and secret form-urlencoded first (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A public client: `client_id` in the body, no secret; PKCE is the proof.
    None,
    /// `private_key_jwt` (RFC 7523, SMART `client-confidential-asymmetric`): a client assertion signed with the
    /// app's [`ClientKey`](crate::ClientKey) (RS384 or ES384) on every token, refresh and revocation request.
    PrivateKeyJwt,
}

/// How the body of a token request (code exchange, refresh) is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenRequestFormat {
    /// `application/x-www-form-urlencoded`, as RFC 6749 requires.
    Form,
    /// `application/json` with the same parameters as string fields (Centene and Acentra document this).
    Json,
}

/// Where the SDK finds the member's FHIR Patient id after the token exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatientIdSource {
    /// The token response's `patient`, else the id token's `patient`/`fhirUser` claim, else a JWT access
    /// token's claims (read, never trusted for anything else). The SMART default.
    TokenResponse,
    /// A userinfo-style endpoint called with the new access token, reading `patient`, else `fhirUser`, else `sub`
    /// (Cigna puts the id only at `{fhir_base}/$userinfo`). `None` uses discovery's `userinfo_endpoint`.
    Userinfo(Option<Url>),
}

/// Which search parameter links a Coverage to the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoverageSearch {
    /// `beneficiary=Patient/{id}` (the C4BB search parameter).
    Beneficiary,
    /// `patient={id}`.
    Patient,
}

/// How the payer's server finds a member's prior authorizations among their ExplanationOfBenefits.
///
/// Da Vinci PDex identifies a prior authorization by `ExplanationOfBenefit.use = preauthorization`, but neither
/// FHIR R4 nor PDex nor C4BB defines a `use` search parameter for ExplanationOfBenefit (their EOB parameters are
/// `_id`, `_lastUpdated`, `identifier`, `patient`, `type`, `service-date`), so the standard default is a
/// patient EOB search filtered on `use` by the SDK as the pages stream in. A payer whose CapabilityStatement
/// offers a way to ask the server says so with another variant; the SDK filters on `use` whatever the server
/// did, so a server that ignores the parameter still gives the right answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PriorAuthSearch {
    /// `patient={id}` only; prior authorizations and claims are told apart by `use` in the SDK (the default).
    #[default]
    FilterClientSide,
    /// The server supports a `use` token search parameter: `use=preauthorization` (and `use=claim` for claims
    /// only).
    UseParameter,
    /// The server selects prior authorizations by `_profile=…/pdex-priorauthorization`; claims-only searches
    /// are filtered in the SDK.
    Profile,
}

/// How hard the fetch layer may push a payer, and how long it keeps trying.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RatePolicy {
    /// At most this many requests in flight to this payer through one client, across every member.
    pub max_concurrency: usize,
    /// At most this many attempts per request (the first one included).
    pub max_attempts: u32,
    /// At most this much time per request, waits included.
    pub request_budget: Duration,
    /// The first backoff step when a 429/503 carries no `Retry-After`; doubles each attempt, with full jitter.
    pub base_backoff: Duration,
    /// The longest single wait, whatever the server asks for.
    pub max_backoff: Duration,
}

impl Default for RatePolicy {
    fn default() -> Self {
        Self {
            max_concurrency: 8,
            max_attempts: 5,
            request_budget: Duration::from_secs(120),
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Endpoints an adapter pins instead of (or when) discovery does not provide them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointOverrides {
    /// The authorization endpoint.
    pub authorize: Option<Url>,
    /// The token endpoint.
    pub token: Option<Url>,
    /// The RFC 7009 revocation endpoint.
    pub revocation: Option<Url>,
    /// The userinfo endpoint.
    pub userinfo: Option<Url>,
    /// The issuer, for checking the callback's `iss`.
    pub issuer: Option<Url>,
}

impl EndpointOverrides {
    /// Pins the authorization endpoint (builder style; the struct is `#[non_exhaustive]`).
    pub fn with_authorize(mut self, url: Url) -> Self {
        self.authorize = Some(url);
        self
    }

    /// Pins the token endpoint.
    pub fn with_token(mut self, url: Url) -> Self {
        self.token = Some(url);
        self
    }

    /// Pins the RFC 7009 revocation endpoint.
    pub fn with_revocation(mut self, url: Url) -> Self {
        self.revocation = Some(url);
        self
    }

    /// Pins the userinfo endpoint.
    pub fn with_userinfo(mut self, url: Url) -> Self {
        self.userinfo = Some(url);
        self
    }

    /// Pins the issuer checked against the callback's `iss`.
    pub fn with_issuer(mut self, url: Url) -> Self {
        self.issuer = Some(url);
        self
    }
}

/// Everything a payer may do differently from standard SMART App Launch.
///
/// Every method except [`id`](PayerAdapter::id) and [`fhir_base`](PayerAdapter::fhir_base) has a default that is
/// the standard behaviour. Implement this trait for a new payer and override only what differs; keep the
/// reason next to each override.
pub trait PayerAdapter: Send + Sync + std::fmt::Debug {
    /// A stable identifier such as `"aetna-sandbox"`, stored in a `PendingAuthorization`.
    fn id(&self) -> &str;

    /// A human name such as `"Aetna (sandbox)"`.
    fn display_name(&self) -> &str {
        self.id()
    }

    /// Where FHIR resources are read (may differ from the auth root: Aetna serves `/v2/patientaccess`).
    fn fhir_base(&self) -> &Url;

    /// Where to look for `.well-known/smart-configuration`, in order. Default: under the FHIR base.
    /// The SDK falls back to `{fhir_base}/metadata` and then to the issuer's OpenID configuration.
    fn smart_configuration_urls(&self) -> Vec<Url> {
        crate::discovery::default_smart_configuration_urls(self.fhir_base())
    }

    /// An OAuth issuer to try (`{issuer}/.well-known/openid-configuration`) when the SMART documents are missing.
    fn oauth_issuer(&self) -> Option<Url> {
        None
    }

    /// Endpoints that replace what discovery says (or fill in what it lacks).
    fn endpoint_overrides(&self) -> EndpointOverrides {
        EndpointOverrides::default()
    }

    /// What to send as `aud`.
    fn aud(&self) -> AudPolicy {
        AudPolicy::FhirBase
    }

    /// Extra query parameters for the authorize URL (Aetna: `skin=skin13`).
    fn extra_authorize_params(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Standard authorize parameters this payer rejects and that must not be sent.
    fn removed_authorize_params(&self) -> Vec<String> {
        Vec::new()
    }

    /// True when the authorize step must start in the member's own browser (Cigna sets a cookie there that its
    /// login checks). The SDK then refuses to fetch the authorize URL server-side.
    fn authorize_in_browser_only(&self) -> bool {
        false
    }

    /// Client authentication at the token endpoint.
    fn client_auth(&self) -> ClientAuth {
        ClientAuth::Auto
    }

    /// How token requests are encoded (default: form, per RFC 6749). Revocation requests are always form-encoded
    /// (RFC 7009).
    fn token_request_format(&self) -> TokenRequestFormat {
        TokenRequestFormat::Form
    }

    /// Scopes requested when the app does not choose its own.
    fn default_scopes(&self) -> Vec<String> {
        [
            "launch/patient",
            "openid",
            "fhirUser",
            "offline_access",
            "patient/*.read",
        ]
        .into_iter()
        .map(String::from)
        .collect()
    }

    /// Which scope syntax the SDK requests when the app did not choose its own scopes:
    /// [`ScopeForm::Auto`](crate::ScopeForm::Auto) (the default) picks v2 when discovery advertises
    /// `permission-v2` or a v2 scope, else v1, and rewrites [`default_scopes`](Self::default_scopes) in that form.
    /// Pin [`ScopeForm::V1`](crate::ScopeForm::V1) for a payer that advertises v2 but refuses it.
    fn scope_form(&self) -> crate::ScopeForm {
        crate::ScopeForm::Auto
    }

    /// What to do with an id token that cannot be verified because the payer publishes no `jwks_uri`
    /// (default: fail with [`Error::InvalidIdToken`](crate::Error::InvalidIdToken)). An id token that can be
    /// checked and fails is refused whatever this says.
    fn id_token_policy(&self) -> crate::IdTokenPolicy {
        crate::IdTokenPolicy::Verify
    }

    /// Where to find the member's Patient id.
    fn patient_id_source(&self) -> PatientIdSource {
        PatientIdSource::TokenResponse
    }

    /// A payer-specific explanation of an OAuth error (on the callback or at the token endpoint), if known.
    fn explain_oauth_error(&self, error: &str, description: Option<&str>) -> Option<String> {
        let _ = (error, description);
        None
    }

    /// A payer-specific explanation of an unexpected HTTP response (status and a short body excerpt), if known.
    fn explain_response(&self, status: u16, body_excerpt: &str) -> Option<String> {
        let _ = (status, body_excerpt);
        None
    }

    /// True when a failed FHIR answer is final although its status says the server might recover: a 5xx the
    /// payer sends for a permanent condition (Cigna answers 500 for a reference it does not hold). The fetch
    /// layer then fails at once instead of retrying. `body_excerpt` is the start of the body, as for
    /// [`explain_response`](Self::explain_response). Default: never (every 5xx is retried).
    ///
    /// ```
    /// # use smart_core::PayerAdapter;
    /// # #[derive(Debug)] struct MyPayer(url::Url);
    /// impl PayerAdapter for MyPayer {
    ///     # fn id(&self) -> &str { "my-payer" }
    ///     # fn fhir_base(&self) -> &url::Url { &self.0 }
    ///     fn is_permanent_failure(&self, status: u16, body_excerpt: &str) -> bool {
    ///         status == 500 && body_excerpt.contains("is not known")
    ///     }
    /// }
    /// ```
    fn is_permanent_failure(&self, status: u16, body_excerpt: &str) -> bool {
        let _ = (status, body_excerpt);
        false
    }

    /// The `Accept` header for FHIR reads.
    fn fhir_accept(&self) -> &str {
        "application/fhir+json"
    }

    /// How Coverage is searched for the member.
    fn coverage_search(&self) -> CoverageSearch {
        CoverageSearch::Beneficiary
    }

    /// How prior authorizations are searched for ([`PriorAuthSearch::FilterClientSide`] unless the payer's
    /// CapabilityStatement offers a server-side way).
    fn prior_auth_search(&self) -> PriorAuthSearch {
        PriorAuthSearch::FilterClientSide
    }

    /// True when `Patient/{id}/$everything` works on this payer.
    fn supports_everything(&self) -> bool {
        false
    }

    /// The largest `_count` the payer accepts, if it has a limit (CMS Blue Button: 50).
    fn max_page_size(&self) -> Option<u32> {
        None
    }

    /// Origins other than the FHIR base's to which the bearer token may be sent (for `next` links).
    fn trusted_origins(&self) -> Vec<url::Origin> {
        Vec::new()
    }

    /// True when responses may carry invalid header lines that must be skipped rather than fail the request
    /// (Aetna production's CDN sends a header name containing a space). Implies HTTP/1.1 only.
    fn lenient_response_headers(&self) -> bool {
        false
    }

    /// Retry, backoff and concurrency limits for this payer.
    fn rate_policy(&self) -> RatePolicy {
        RatePolicy::default()
    }
}

/// The quirk-free adapter: standard SMART App Launch against any compliant FHIR server, from its base URL alone.
///
/// ```
/// use smart_core::{PayerAdapter, Standard};
/// let adapter = Standard::new("https://fhir.example.org/r4").unwrap();
/// assert_eq!(adapter.fhir_base().as_str(), "https://fhir.example.org/r4");
/// ```
///
/// A payer whose documentation lists only "API endpoint, OAuth issuer, client id, OIDC aud" is covered too:
///
/// ```
/// use smart_core::{AudPolicy, PayerAdapter, Standard};
/// let issuer = url::Url::parse("https://login.payer.example/oauth2/default")?;
/// let adapter = Standard::new("https://api.payer.example/fhir/r4")?
///     .with_id("payer-prod")
///     .with_oauth_issuer(issuer.clone()) // discovery falls back to {issuer}/.well-known/openid-configuration
///     .with_aud(AudPolicy::Url(url::Url::parse("api://patient-access")?));
/// assert_eq!(adapter.oauth_issuer(), Some(issuer));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Standard {
    id: String,
    fhir_base: Url,
    oauth_issuer: Option<Url>,
    aud: AudPolicy,
}

impl Standard {
    /// An adapter for the FHIR server at `fhir_base`. Fails on an unparsable URL, or plain HTTP off loopback.
    pub fn new(fhir_base: &str) -> crate::Result<Self> {
        let fhir_base = crate::url_policy::parse_secure_url(fhir_base)?;
        Ok(Self {
            id: "standard".to_owned(),
            fhir_base,
            oauth_issuer: None,
            aud: AudPolicy::FhirBase,
        })
    }

    /// The OAuth issuer whose OpenID configuration discovery falls back to when the FHIR server publishes no
    /// SMART configuration (builder style).
    pub fn with_oauth_issuer(mut self, issuer: Url) -> Self {
        self.oauth_issuer = Some(issuer);
        self
    }

    /// What to send as `aud` (default: the FHIR base).
    pub fn with_aud(mut self, aud: AudPolicy) -> Self {
        self.aud = aud;
        self
    }

    /// Set the id stored in pending authorizations (default `"standard"`).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }
}

impl PayerAdapter for Standard {
    fn id(&self) -> &str {
        &self.id
    }

    fn fhir_base(&self) -> &Url {
        &self.fhir_base
    }

    fn oauth_issuer(&self) -> Option<Url> {
        self.oauth_issuer.clone()
    }

    fn aud(&self) -> AudPolicy {
        self.aud.clone()
    }
}
