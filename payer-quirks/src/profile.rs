//! `PayerProfile`: a payer's quirks written down as data, implementing [`PayerAdapter`].
//!
//! Every payer module of this crate builds one. Each field is one quirk knob whose default is the standard SMART
//! behaviour, so a profile reads as the list of ways a payer differs. The fields are public so that an app (or a
//! test) can adjust one knob, e.g. when a payer moves an endpoint before this crate learns about it.

use std::borrow::Cow;

use smart_core::{
    AudPolicy, ClientAuth, CoverageSearch, EndpointOverrides, PatientIdSource, PayerAdapter,
    PriorAuthSearch, RatePolicy,
};
use url::{Origin, Url};

/// A diagnostic for an OAuth error (on the callback or from the token endpoint) that a payer is known to send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthHint {
    /// The OAuth `error` code to match (`access_denied`, ...); `None` matches any.
    pub error: Option<Cow<'static, str>>,
    /// Text the `error_description` must contain (case-insensitive); `None` matches any description, even none.
    pub description_contains: Option<Cow<'static, str>>,
    /// What it means and what to do.
    pub hint: Cow<'static, str>,
}

impl OAuthHint {
    /// A hint for `error` (any description).
    pub fn new(error: &'static str, hint: &'static str) -> Self {
        Self {
            error: Some(Cow::Borrowed(error)),
            description_contains: None,
            hint: Cow::Borrowed(hint),
        }
    }

    /// Only when the description contains `text` (case-insensitive).
    pub fn when_description_contains(mut self, text: &'static str) -> Self {
        self.description_contains = Some(Cow::Borrowed(text));
        self
    }

    /// Matches any error code.
    pub fn any_error(mut self) -> Self {
        self.error = None;
        self
    }

    fn matches(&self, error: &str, description: Option<&str>) -> bool {
        let error_ok = self.error.as_deref().is_none_or(|e| e == error);
        let desc_ok = match &self.description_contains {
            None => true,
            Some(needle) => description.is_some_and(|d| contains_ci(d, needle)),
        };
        error_ok && desc_ok
    }
}

/// A diagnostic for an unexpected HTTP response (status and a short body excerpt) a payer is known to send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseHint {
    /// The HTTP status to match; `None` matches any.
    pub status: Option<u16>,
    /// Text the body excerpt must contain (case-insensitive); `None` matches any body.
    pub body_contains: Option<Cow<'static, str>>,
    /// The body excerpt must be exactly this, after trimming whitespace (Aetna's login page that says `null`).
    pub body_equals: Option<Cow<'static, str>>,
    /// What it means and what to do.
    pub hint: Cow<'static, str>,
    /// The answer is final: a 5xx that retrying will not cure (see [`PayerAdapter::is_permanent_failure`]).
    pub permanent: bool,
}

impl ResponseHint {
    /// A hint for HTTP `status` (any body).
    pub fn status(status: u16, hint: &'static str) -> Self {
        Self {
            status: Some(status),
            body_contains: None,
            body_equals: None,
            hint: Cow::Borrowed(hint),
            permanent: false,
        }
    }

    /// A hint for any status whose body contains `text`.
    pub fn body(text: &'static str, hint: &'static str) -> Self {
        Self {
            status: None,
            body_contains: Some(Cow::Borrowed(text)),
            body_equals: None,
            hint: Cow::Borrowed(hint),
            permanent: false,
        }
    }

    /// Only when the body contains `text` (case-insensitive).
    pub fn when_body_contains(mut self, text: &'static str) -> Self {
        self.body_contains = Some(Cow::Borrowed(text));
        self
    }

    /// Marks the answer as final: the fetch layer does not retry it although its status is a 5xx.
    pub fn permanent(mut self) -> Self {
        self.permanent = true;
        self
    }

    /// Only when the trimmed body is exactly `text`.
    pub fn when_body_is(mut self, text: &'static str) -> Self {
        self.body_equals = Some(Cow::Borrowed(text));
        self
    }

    fn matches(&self, status: u16, body: &str) -> bool {
        self.status.is_none_or(|s| s == status)
            && self
                .body_contains
                .as_deref()
                .is_none_or(|needle| contains_ci(body, needle))
            && self
                .body_equals
                .as_deref()
                .is_none_or(|exact| body.trim() == exact)
    }
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack
        .to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

/// A payer's quirks as data. Implements [`PayerAdapter`]; every field defaults to standard SMART behaviour.
///
/// ```
/// use payer_quirks::PayerProfile;
/// use smart_core::{AudPolicy, PayerAdapter};
///
/// // Start from a payer this crate knows and adjust one knob...
/// let mut aetna = payer_quirks::aetna::sandbox();
/// aetna.fhir_accept = "application/fhir+json".into();
/// assert!(matches!(aetna.aud(), AudPolicy::Url(_)));
///
/// // ...or describe a payer this crate does not cover.
/// let mut acme = PayerProfile::standard("acme", "Acme Health", "https://fhir.acme.example/r4").unwrap();
/// acme.aud = AudPolicy::Omit;
/// assert_eq!(acme.id(), "acme");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PayerProfile {
    /// Stable id such as `aetna-sandbox` (see [`PayerAdapter::id`]).
    pub id: String,
    /// Human name such as `Aetna (sandbox)`.
    pub display_name: String,
    /// Where FHIR resources are read.
    pub fhir_base: Url,
    /// Where `.well-known/smart-configuration` is looked for, in order; empty means under the FHIR base.
    pub smart_configuration_urls: Vec<Url>,
    /// An issuer whose OpenID configuration is a last discovery resort.
    pub oauth_issuer: Option<Url>,
    /// Endpoints that replace what discovery says. Left empty where the payer's discovery works, because a URL
    /// written here would win over what the payer publishes at run time.
    pub endpoint_overrides: EndpointOverrides,
    /// The `aud` policy.
    pub aud: AudPolicy,
    /// Extra authorize parameters.
    pub extra_authorize_params: Vec<(String, String)>,
    /// Standard authorize parameters that must not be sent.
    pub removed_authorize_params: Vec<String>,
    /// The authorize step must start in the member's own browser.
    pub authorize_in_browser_only: bool,
    /// Token-endpoint client authentication.
    pub client_auth: ClientAuth,
    /// Scopes requested by default.
    pub default_scopes: Vec<String>,
    /// Which scope syntax (SMART v1/v2) the default scopes are sent in; `Auto` follows discovery.
    pub scope_form: smart_core::ScopeForm,
    /// What to do with an id token when the payer publishes no `jwks_uri` (default: refuse it). Opting out
    /// needs the reason next to it in the payer's module.
    pub id_token_policy: smart_core::IdTokenPolicy,
    /// Where the member's Patient id comes from.
    pub patient_id_source: PatientIdSource,
    /// `Accept` for FHIR reads.
    pub fhir_accept: String,
    /// How Coverage is searched.
    pub coverage_search: CoverageSearch,
    /// How prior authorizations are searched (default: a patient EOB search filtered on `use` by the SDK).
    pub prior_auth_search: PriorAuthSearch,
    /// `Patient/$everything` works.
    pub supports_everything: bool,
    /// Largest `_count` accepted.
    pub max_page_size: Option<u32>,
    /// Extra origins trusted with the bearer token.
    pub trusted_origins: Vec<Origin>,
    /// Tolerate invalid response header lines.
    pub lenient_response_headers: bool,
    /// Retry, backoff and concurrency limits.
    pub rate_policy: RatePolicy,
    /// Known OAuth error signatures, first match wins.
    pub oauth_hints: Vec<OAuthHint>,
    /// Known HTTP response signatures, first match wins.
    pub response_hints: Vec<ResponseHint>,
}

/// The standard SMART scopes a profile requests unless it says otherwise.
pub(crate) fn standard_scopes() -> Vec<String> {
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

pub(crate) fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

impl PayerProfile {
    /// A profile with only standard behaviour, for the FHIR server at `fhir_base` (HTTPS, or HTTP on loopback).
    pub fn standard(
        id: impl Into<String>,
        display_name: impl Into<String>,
        fhir_base: &str,
    ) -> smart_core::Result<Self> {
        let fhir_base = smart_core::url_policy::parse_secure_url(fhir_base)?;
        Ok(Self::standard_at(id, display_name, fhir_base))
    }

    /// Like [`standard`](Self::standard) with an already parsed and checked URL.
    pub(crate) fn standard_at(
        id: impl Into<String>,
        display_name: impl Into<String>,
        fhir_base: Url,
    ) -> Self {
        Self {
            id: id.into(),
            display_name: display_name.into(),
            fhir_base,
            smart_configuration_urls: Vec::new(),
            oauth_issuer: None,
            endpoint_overrides: EndpointOverrides::default(),
            aud: AudPolicy::FhirBase,
            extra_authorize_params: Vec::new(),
            removed_authorize_params: Vec::new(),
            authorize_in_browser_only: false,
            client_auth: ClientAuth::Auto,
            default_scopes: standard_scopes(),
            scope_form: smart_core::ScopeForm::Auto,
            id_token_policy: smart_core::IdTokenPolicy::Verify,
            patient_id_source: PatientIdSource::TokenResponse,
            fhir_accept: "application/fhir+json".to_owned(),
            coverage_search: CoverageSearch::Beneficiary,
            prior_auth_search: PriorAuthSearch::FilterClientSide,
            supports_everything: false,
            max_page_size: None,
            trusted_origins: Vec::new(),
            lenient_response_headers: false,
            rate_policy: RatePolicy::default(),
            oauth_hints: Vec::new(),
            response_hints: Vec::new(),
        }
    }
}

impl PayerAdapter for PayerProfile {
    fn id(&self) -> &str {
        &self.id
    }

    fn display_name(&self) -> &str {
        &self.display_name
    }

    fn fhir_base(&self) -> &Url {
        &self.fhir_base
    }

    fn smart_configuration_urls(&self) -> Vec<Url> {
        if self.smart_configuration_urls.is_empty() {
            vec![join(&self.fhir_base, ".well-known/smart-configuration")]
        } else {
            self.smart_configuration_urls.clone()
        }
    }

    fn oauth_issuer(&self) -> Option<Url> {
        self.oauth_issuer.clone()
    }

    fn endpoint_overrides(&self) -> EndpointOverrides {
        self.endpoint_overrides.clone()
    }

    fn aud(&self) -> AudPolicy {
        self.aud.clone()
    }

    fn extra_authorize_params(&self) -> Vec<(String, String)> {
        self.extra_authorize_params.clone()
    }

    fn removed_authorize_params(&self) -> Vec<String> {
        self.removed_authorize_params.clone()
    }

    fn authorize_in_browser_only(&self) -> bool {
        self.authorize_in_browser_only
    }

    fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }

    fn default_scopes(&self) -> Vec<String> {
        self.default_scopes.clone()
    }

    fn scope_form(&self) -> smart_core::ScopeForm {
        self.scope_form
    }

    fn id_token_policy(&self) -> smart_core::IdTokenPolicy {
        self.id_token_policy
    }

    fn patient_id_source(&self) -> PatientIdSource {
        self.patient_id_source.clone()
    }

    fn explain_oauth_error(&self, error: &str, description: Option<&str>) -> Option<String> {
        self.oauth_hints
            .iter()
            .find(|h| h.matches(error, description))
            .map(|h| h.hint.clone().into_owned())
    }

    fn explain_response(&self, status: u16, body_excerpt: &str) -> Option<String> {
        self.response_hints
            .iter()
            .find(|h| h.matches(status, body_excerpt))
            .map(|h| h.hint.clone().into_owned())
    }

    fn is_permanent_failure(&self, status: u16, body_excerpt: &str) -> bool {
        self.response_hints
            .iter()
            .any(|h| h.permanent && h.matches(status, body_excerpt))
    }

    fn fhir_accept(&self) -> &str {
        &self.fhir_accept
    }

    fn coverage_search(&self) -> CoverageSearch {
        self.coverage_search
    }

    fn prior_auth_search(&self) -> PriorAuthSearch {
        self.prior_auth_search
    }

    fn supports_everything(&self) -> bool {
        self.supports_everything
    }

    fn max_page_size(&self) -> Option<u32> {
        self.max_page_size
    }

    fn trusted_origins(&self) -> Vec<Origin> {
        self.trusted_origins.clone()
    }

    fn lenient_response_headers(&self) -> bool {
        self.lenient_response_headers
    }

    fn rate_policy(&self) -> RatePolicy {
        self.rate_policy.clone()
    }
}

/// `base` with `path` appended to its path (no double slashes; query dropped).
pub(crate) fn join(base: &Url, path: &str) -> Url {
    let mut u = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    u.set_path(&joined);
    u.set_query(None);
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_match_on_error_and_description_case_insensitively() {
        let mut p = PayerProfile::standard("x", "X", "https://x.example/fhir").unwrap();
        p.oauth_hints
            .push(OAuthHint::new("access_denied", "plan").when_description_contains("ELIGIBILITY"));
        p.response_hints
            .push(ResponseHint::status(404, "wrong base").when_body_contains("no resources"));
        p.response_hints
            .push(ResponseHint::status(200, "subscription").when_body_is("null"));
        assert_eq!(
            p.explain_oauth_error("access_denied", Some("Member eligibility failed"))
                .as_deref(),
            Some("plan")
        );
        assert_eq!(p.explain_oauth_error("access_denied", None), None);
        assert_eq!(
            p.explain_oauth_error("invalid_grant", Some("eligibility")),
            None
        );
        assert_eq!(
            p.explain_response(404, "No resources match requested URI")
                .as_deref(),
            Some("wrong base")
        );
        assert_eq!(p.explain_response(500, "No resources match"), None);
        assert_eq!(
            p.explain_response(200, " null\n").as_deref(),
            Some("subscription")
        );
        assert_eq!(p.explain_response(200, "not null"), None);
    }

    #[test]
    fn standard_profile_behaves_like_the_standard_adapter() {
        let p = PayerProfile::standard("x", "X", "https://x.example/fhir/").unwrap();
        let s = smart_core::Standard::new("https://x.example/fhir/").unwrap();
        assert_eq!(p.fhir_base(), s.fhir_base());
        assert_eq!(p.smart_configuration_urls(), s.smart_configuration_urls());
        assert_eq!(p.aud(), s.aud());
        assert_eq!(p.default_scopes(), s.default_scopes());
        assert_eq!(p.client_auth(), s.client_auth());
        assert_eq!(p.fhir_accept(), s.fhir_accept());
        assert!(PayerProfile::standard("x", "X", "http://x.example/fhir").is_err());
    }
}
