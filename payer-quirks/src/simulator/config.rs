//! A payer simulator's configuration: the quirk toggles a payer module sets on top of standard behaviour.
//!
//! The engine implements standard SMART App Launch + FHIR search; each field here switches one payer difference
//! on. A payer's `simulator.rs` builds one of these and nothing else.

use url::Url;

use crate::profile::PayerProfile;

/// How the authorize step treats `aud`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AudRule {
    /// Any value, or none.
    Ignored,
    /// Must be present and equal to this URL (compared as strings).
    Equals(String),
    /// Must be absent.
    Absent,
}

/// How the authorize step treats `redirect_uri`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedirectRule {
    /// Must equal the registered one exactly; otherwise an error page (never a redirect to an unknown URI).
    Exact,
    /// Must be present, but the registered one is used whatever it says (Aetna).
    RequiredButIgnored,
}

/// How the token endpoint authenticates the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuthRule {
    /// HTTP Basic only; credentials in the body are refused with 401 `invalid_client`.
    BasicOnly,
    /// Basic, body credentials, or a public client proving itself with PKCE.
    Any,
}

/// What the token endpoint does about refresh tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshRule {
    /// No refresh token is issued; every refresh request is `invalid_grant`.
    None,
    /// A refresh token is issued, single use: refreshing returns a new one; a spent one is `invalid_grant` and
    /// revokes what was issued from it.
    Rotate,
    /// A refresh token is issued but refreshing is refused with 403 `invalid_client` (CMS Blue Button one-time
    /// apps).
    Forbidden,
}

/// How a search result is paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paging {
    /// `page=N`, 1-based (Aetna EOB).
    PageNumber,
    /// An opaque token in the named parameter (`_page_token`, `ct`, `_getpages`).
    Token(&'static str),
    /// `startIndex=N`, 0-based (CMS Blue Button).
    StartIndex,
}

impl Paging {
    pub(crate) fn param(&self) -> &'static str {
        match self {
            Paging::PageNumber => "page",
            Paging::Token(name) => name,
            Paging::StartIndex => "startIndex",
        }
    }
}

/// How an OAuth error at the authorize step that cannot be redirected is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorPage {
    /// An HTML page.
    Html,
    /// IBM API Connect's XML `<status>` document (Aetna).
    Xml,
}

/// A login the simulator knows besides the member: the payer refuses it on the redirect.
#[derive(Debug, Clone)]
pub(crate) struct RefusedUser {
    pub username: String,
    pub password: String,
    pub error: String,
    pub description: String,
}

/// Everything one payer simulator does differently from the standard engine.
#[derive(Debug, Clone)]
pub(crate) struct SimConfig {
    /// Shown on pages.
    pub payer_name: String,
    /// The payer's adapter, built on the simulator's origin (the same code builds the real one).
    pub adapter: PayerProfile,
    /// Issuer (advertised, and sent as `iss` on the callback when `send_iss`).
    pub issuer: Url,
    pub authorize_path: String,
    pub token_path: String,
    pub revoke_path: String,
    /// The OAuth userinfo endpoint, if any.
    pub userinfo_path: Option<String>,
    /// Paths serving `.well-known/smart-configuration`.
    pub smart_config_paths: Vec<String>,
    /// Paths serving `.well-known/openid-configuration`.
    pub openid_config_paths: Vec<String>,
    /// The FHIR base path.
    pub fhir_path: String,
    /// `metadata` carries the `oauth-uris` extension.
    pub metadata_oauth_uris: bool,
    /// Serve `{fhir}/$userinfo`.
    pub fhir_userinfo: bool,
    /// Path prefixes (besides the FHIR base) where anything unknown gets the FHIR-style 404 (Aetna's auth root).
    pub not_found_prefixes: Vec<String>,
    /// The 404 diagnostics text.
    pub not_found_text: String,

    // ---- authorize ----
    pub aud: AudRule,
    /// A parameter the login page needs, else it renders blank (Aetna `skin=skin13`).
    pub login_needs_param: Option<(String, String)>,
    pub redirect: RedirectRule,
    pub reject_wildcard_scopes: bool,
    /// Scopes that must be requested (Humana `internal`).
    pub required_scopes: Vec<String>,
    pub pkce_required: bool,
    pub min_state_len: Option<usize>,
    pub forbid_secret_in_authorize: bool,
    /// `/authorize` sets a cookie that the login POST checks (Cigna).
    pub authorize_cookie: bool,
    pub error_page: ErrorPage,
    pub send_iss: bool,
    pub refused_users: Vec<RefusedUser>,
    /// Extra scopes the payer advertises.
    pub scopes_supported: Vec<String>,

    // ---- token ----
    pub client_auth: ClientAuthRule,
    pub advertised_auth_methods: Vec<String>,
    pub patient_in_token: bool,
    /// The payer's default refresh behaviour (SimOptions may switch refresh on/off for payers that vary).
    pub refresh: RefreshRule,
    /// Add `access_grant_expiration` (CMS Blue Button), seconds from now.
    pub grant_expiration_secs: Option<u64>,

    // ---- FHIR ----
    pub fhir_content_type: String,
    /// Accept values that are served; others get 406. Empty: anything.
    pub accept_only: Vec<String>,
    /// Query parameters allowed; others get 400. Empty: anything.
    pub allowed_params: Vec<String>,
    pub max_count: Option<u32>,
    pub default_count: u32,
    /// The 429 OperationOutcome text (when `SimOptions::rate_limit` is set).
    pub rate_limit_text: String,
    pub paging: Paging,
    /// EOB searches page differently (Aetna `page=`).
    pub eob_paging: Option<Paging>,
    /// Status for a read of an unknown id (Cigna: 500).
    pub unknown_reference_status: u16,
    pub everything: bool,
    /// `$everything` omits `total` and names another patient in its `self` link (Humana).
    pub everything_odd_links: bool,
    /// Put a fatal OperationOutcome entry in the second EOB page (Cigna).
    pub searchset_warning: bool,
    /// The Patient search returns several records for the member (Cigna).
    pub extra_patient_records: bool,
    /// The member has prior authorizations (payers under CMS-0057-F: Medicare Advantage, Medicaid, CHIP,
    /// Marketplace plans; not Medicare fee-for-service).
    pub prior_authorizations: bool,
    /// EOB searches honour `_profile` (Aetna's CapabilityStatement lists it), and `metadata` says so.
    pub eob_profile_search: bool,
    /// `_lastUpdated` must carry a comparison prefix (CMS Blue Button).
    pub last_updated_needs_prefix: bool,
    /// Paths that get a response header whose name contains a space (Aetna production CDN).
    pub bad_header_paths: Vec<String>,
    /// Every response sets bot-manager cookies (Humana's Akamai).
    pub bot_cookies: bool,
    /// Errors the API gateway handles before FHIR (401, 406, 429, unknown base) come as a non-FHIR JSON
    /// envelope `{"status_code", "status": "failed", "error", "error_description"}` (Elevance).
    pub gateway_envelope: bool,
    /// Other FHIR bases on the same gateway (other brands): anything under them gets a gateway 403.
    pub foreign_fhir_paths: Vec<String>,
    /// The resource types the payer serves (its module's `RESOURCES`); the member's US Core clinical records
    /// are served for those in the list, and `metadata` lists them besides the core five.
    pub resources: Vec<String>,
    /// The member's Patient id.
    pub patient_id: String,
    /// The member's login.
    pub username: String,
    pub password: String,
}

/// What every simulator serves and lists in `metadata`: the member, their coverage and claims, and the
/// organizations and practitioners the claims reference.
pub(crate) const CORE_RESOURCES: &[&str] = &[
    "Patient",
    "Coverage",
    "ExplanationOfBenefit",
    "Organization",
    "Practitioner",
];

impl SimConfig {
    /// Serves the types in `listed` (a payer module's `RESOURCES`) besides the core ones.
    pub(crate) fn serve(&mut self, listed: &[&str]) {
        for ty in listed {
            if !self.resources.iter().any(|r| r == ty) {
                self.resources.push((*ty).to_owned());
            }
        }
    }

    /// Standard behaviour for `adapter`, with OAuth endpoints at the given paths.
    pub(crate) fn standard(
        payer_name: &str,
        adapter: PayerProfile,
        issuer: Url,
        authorize_path: &str,
        token_path: &str,
    ) -> Self {
        let fhir_path = adapter.fhir_base.path().trim_end_matches('/').to_owned();
        let revoke_path = format!("{}/revoke", parent(token_path));
        Self {
            payer_name: payer_name.to_owned(),
            smart_config_paths: vec![format!("{fhir_path}/.well-known/smart-configuration")],
            openid_config_paths: Vec::new(),
            adapter,
            issuer,
            authorize_path: authorize_path.to_owned(),
            token_path: token_path.to_owned(),
            revoke_path,
            userinfo_path: None,
            fhir_path,
            metadata_oauth_uris: true,
            fhir_userinfo: false,
            not_found_prefixes: Vec::new(),
            not_found_text: "Not found".to_owned(),
            aud: AudRule::Ignored,
            login_needs_param: None,
            redirect: RedirectRule::Exact,
            reject_wildcard_scopes: false,
            required_scopes: Vec::new(),
            pkce_required: false,
            min_state_len: None,
            forbid_secret_in_authorize: false,
            authorize_cookie: false,
            error_page: ErrorPage::Html,
            send_iss: false,
            refused_users: Vec::new(),
            scopes_supported: Vec::new(),
            client_auth: ClientAuthRule::Any,
            advertised_auth_methods: vec![
                "client_secret_basic".into(),
                "client_secret_post".into(),
                "none".into(),
            ],
            patient_in_token: true,
            refresh: RefreshRule::Rotate,
            grant_expiration_secs: None,
            fhir_content_type: "application/fhir+json".to_owned(),
            accept_only: Vec::new(),
            allowed_params: Vec::new(),
            max_count: None,
            default_count: 10,
            rate_limit_text: "Too many requests".to_owned(),
            paging: Paging::Token("_page_token"),
            eob_paging: None,
            unknown_reference_status: 404,
            everything: false,
            everything_odd_links: false,
            searchset_warning: false,
            extra_patient_records: false,
            prior_authorizations: true,
            eob_profile_search: false,
            last_updated_needs_prefix: false,
            bad_header_paths: Vec::new(),
            bot_cookies: false,
            gateway_envelope: false,
            foreign_fhir_paths: Vec::new(),
            resources: CORE_RESOURCES.iter().map(|s| (*s).to_owned()).collect(),
            patient_id: "member-1".to_owned(),
            username: "member1".to_owned(),
            password: "member1-password".to_owned(),
        }
    }

    /// The login page path (next to the authorize endpoint).
    pub(crate) fn login_path(&self) -> String {
        format!("{}/login", self.authorize_path.trim_end_matches('/'))
    }

    /// The consent page path.
    pub(crate) fn consent_path(&self) -> String {
        format!("{}/consent", self.authorize_path.trim_end_matches('/'))
    }
}

/// The path without its last segment.
pub(crate) fn parent(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(i) => &trimmed[..i],
        None => "",
    }
}
