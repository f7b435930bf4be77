//! An Aetna simulator (feature `simulator`): Aetna's URL layout on 127.0.0.1, and its quirks.
//!
//! Sandbox layout: `/fhirdemo` (auth root: discovery, `aud`), `/fhirdemo/v1/fhirserver_auth/oauth2/{authorize,token}`,
//! `/fhirdemo/v2/patientaccess` (FHIR). Production mode uses `/fhir/...` and sends its CDN's header whose name
//! contains a space on the authorize and FHIR responses (written on a raw socket).
//!
//! Quirks on: `aud` must be the auth root (else an error redirect); the login page is blank without
//! `skin=skin13` and says `null` for an unsubscribed app; `redirect_uri` required but the registered one is used;
//! authorize errors as XML; token endpoint Basic-only; refresh tokens on or off ([`SimOptions::refresh_tokens`],
//! default on); `Accept` must allow `application/json` (else 406); unknown query parameters get 400; EOB pages
//! by `page=`, other searches by `_page_token`; EOB `_profile` honoured (prior authorizations by the PDex
//! profile), `use` refused like any unlisted parameter; 429 "Assembly Rate Limit exceeded" without `Retry-After` past
//! [`SimOptions::rate_limit`]; anything else under the auth root is `404 No resources match requested URI`.

use crate::environment::{Environment, Place};
use crate::simulator::config::{
    AudRule, ClientAuthRule, ErrorPage, Paging, RedirectRule, RefreshRule, SimConfig,
};
use crate::simulator::{SimError, SimOptions, Simulator};

/// The query parameters Aetna's CapabilityStatement lists (others get 400).
const ALLOWED_PARAMS: &[&str] = &[
    "_id",
    "_count",
    "_lastUpdated",
    "_profile",
    "_revinclude",
    "_include",
    "patient",
    "beneficiary",
    "type",
    "service-date",
    "page",
    "_page_token",
];

/// Starts an Aetna simulator.
///
/// ```no_run
/// # async fn demo() -> Result<(), payer_quirks::simulator::SimError> {
/// use payer_quirks::simulator::SimOptions;
/// let sim = payer_quirks::aetna::simulator::start(SimOptions::default().refresh_tokens(false)).await?;
/// assert!(sim.fhir_base().path().ends_with("/fhirdemo/v2/patientaccess"));
/// # Ok(()) }
/// ```
pub async fn start(opts: SimOptions) -> Result<Simulator, SimError> {
    crate::simulator::start(opts, config).await
}

fn config(origin: &url::Url, opts: &SimOptions) -> SimConfig {
    let env = opts.environment;
    let place = Place::at(origin);
    let u = super::urls(env);
    let adapter = super::profile(env, place);
    let auth_root = place.url(u.auth_root);
    let authorize = place.url(u.authorize);
    let token = place.url(u.token);
    let mut c = SimConfig::standard(
        "Aetna",
        adapter,
        auth_root.clone(),
        authorize.path(),
        token.path(),
    );
    let root_path = auth_root.path().trim_end_matches('/').to_owned();
    // What the payer's module lists is what it serves, its members' US Core clinical records included.
    c.serve(super::RESOURCES);
    c.smart_config_paths = vec![format!("{root_path}/.well-known/smart-configuration")];
    // Aetna's CapabilityStatement does not point at its OAuth endpoints: discovery is at the auth root only.
    c.metadata_oauth_uris = false;
    c.not_found_prefixes = vec![root_path];
    c.not_found_text = "No resources match requested URI".into();
    c.aud = AudRule::Equals(auth_root.as_str().trim_end_matches('/').to_owned());
    c.login_needs_param = Some(("skin".into(), "skin13".into()));
    c.redirect = RedirectRule::RequiredButIgnored;
    c.error_page = ErrorPage::Xml;
    c.client_auth = ClientAuthRule::BasicOnly;
    c.advertised_auth_methods = vec!["client_secret_basic".into()];
    c.scopes_supported = vec!["profile".into(), "patient/*.read".into()];
    c.refresh = RefreshRule::Rotate;
    c.fhir_content_type = "application/json".into();
    c.accept_only = vec!["application/json".into(), "*/*".into()];
    c.allowed_params = ALLOWED_PARAMS.iter().map(|s| (*s).to_owned()).collect();
    c.paging = Paging::Token("_page_token");
    c.eob_paging = Some(Paging::PageNumber);
    c.eob_profile_search = true;
    c.rate_limit_text =
        "Assembly Rate Limit exceeded: detected excessive traffic coming from this IP".into();
    if env == Environment::Production {
        c.bad_header_paths = vec![authorize.path().to_owned(), c.fhir_path.clone()];
    }
    c.patient_id = "aetna-0001234567".into();
    c.username = "aetnaTestUser3".into();
    c.password = "sim-aetna-password".into();
    c
}
