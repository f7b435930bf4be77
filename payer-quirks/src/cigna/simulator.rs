//! A Cigna simulator (feature `simulator`): Cigna's URL layout on 127.0.0.1, and its quirks.
//!
//! Layout (sandbox): OAuth at `/mga/sps/oauth/oauth20/{authorize,token,userinfo,revoke}` with discovery at
//! `/.well-known/smart-configuration`; FHIR at `/PatientAccess/v1-devportal`.
//!
//! Quirks on: `/authorize` sets a cookie that the login checks (a browser without it is refused); `aud` must be
//! absent; `redirect_uri` must match exactly; no `patient` in the token response (`{fhir}/$userinfo` names
//! it); the second EOB page holds a fatal OperationOutcome entry inside its 200 searchset; a Patient search
//! returns four records for the member (`ifp-`, `c16-`, `esi-` prefixed copies); unknown references answer 500
//! HAPI-2001; `Patient/$everything` works in one page.

use crate::environment::{Environment, Place};
use crate::profile::join;
use crate::simulator::config::{AudRule, Paging, RefreshRule, SimConfig};
use crate::simulator::{SimError, SimOptions, Simulator};

/// The OAuth server's paths (IBM Security Verify Access "mga" endpoint).
const OAUTH: &str = "/mga/sps/oauth/oauth20";

/// Starts a Cigna simulator.
///
/// ```no_run
/// # async fn demo() -> Result<(), payer_quirks::simulator::SimError> {
/// use payer_quirks::simulator::SimOptions;
/// use smart_core::PayerAdapter;
/// let sim = payer_quirks::cigna::simulator::start(SimOptions::default()).await?;
/// assert!(sim.adapter().authorize_in_browser_only());
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
    let issuer = match u.oauth_root {
        Some(root) => place.url(root),
        None => join(origin, "mga/sps"),
    };
    let mut c = SimConfig::standard(
        "Cigna",
        adapter,
        issuer,
        &format!("{OAUTH}/authorize"),
        &format!("{OAUTH}/token"),
    );
    // What the payer's module lists is what it serves, its members' US Core clinical records included.
    c.serve(super::RESOURCES);
    c.revoke_path = format!("{OAUTH}/revoke");
    c.userinfo_path = Some(format!("{OAUTH}/userinfo"));
    c.smart_config_paths = match (env, u.oauth_root) {
        (Environment::Sandbox, Some(_)) => vec!["/.well-known/smart-configuration".into()],
        _ => Vec::new(),
    };
    c.metadata_oauth_uris = true;
    c.fhir_userinfo = true;
    c.aud = AudRule::Absent;
    c.authorize_cookie = true;
    c.patient_in_token = false;
    c.refresh = RefreshRule::Rotate;
    c.scopes_supported = vec!["patient/*.read".into()];
    // AWS API Gateway in front of HAPI FHIR.
    c.fhir_content_type = "application/json".into();
    c.paging = Paging::Token("_getpages");
    c.unknown_reference_status = 500;
    c.everything = true;
    c.searchset_warning = true;
    c.extra_patient_records = true;
    c.patient_id = "A000012345".into();
    c.username = "syntheticuser05".into();
    c.password = "sim-cigna-password".into();
    c
}
