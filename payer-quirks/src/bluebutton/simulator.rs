//! A CMS Blue Button 2.0 simulator (feature `simulator`): `/v2/o/{authorize,token,revoke_token}/`,
//! `/v2/connect/userinfo`, `/v2/fhir` on 127.0.0.1.
//!
//! Quirks on: PKCE required (S256 only), `state` of 16+ characters, `client_secret` in the authorize URL
//! refused, `_count` at most 50 (default 10) with `startIndex` paging, `_lastUpdated` must carry a prefix,
//! `patient` and `access_grant_expiration` in the token response. Refresh: a 13-month app by default (rotating
//! refresh tokens); [`SimOptions::refresh_tokens`]`(false)` makes it a one-time app whose refresh gets
//! `403 invalid_client`.

use crate::environment::Place;
use crate::simulator::config::{Paging, RefreshRule, SimConfig};
use crate::simulator::{SimError, SimOptions, Simulator};

/// Starts a Blue Button simulator.
///
/// ```no_run
/// # async fn demo() -> Result<(), payer_quirks::simulator::SimError> {
/// use payer_quirks::simulator::SimOptions;
/// let one_time_app = payer_quirks::bluebutton::simulator::start(SimOptions::default().refresh_tokens(false)).await?;
/// # let _ = one_time_app; Ok(()) }
/// ```
pub async fn start(opts: SimOptions) -> Result<Simulator, SimError> {
    crate::simulator::start(opts, config).await
}

fn config(origin: &url::Url, opts: &SimOptions) -> SimConfig {
    let env = opts.environment;
    let place = Place::at(origin);
    let u = super::urls(env);
    let adapter = super::profile(env, place);
    let mut issuer = origin.clone();
    issuer.set_path("/");
    let mut c = SimConfig::standard(
        "Medicare.gov",
        adapter,
        issuer,
        place.url(u.authorize).path(),
        place.url(u.token).path(),
    );
    // Medicare fee-for-service is not an impacted payer of CMS-0057-F (Medicare Advantage, Medicaid, CHIP and
    // Marketplace plans are): Blue Button serves claims only, no prior authorizations.
    // What the payer's module lists is what it serves, its members' US Core clinical records included.
    c.serve(super::RESOURCES);
    c.prior_authorizations = false;
    c.revoke_path = place.url(u.revoke).path().to_owned();
    c.userinfo_path = Some(place.url(u.userinfo).path().to_owned());
    c.pkce_required = true;
    c.min_state_len = Some(16);
    c.forbid_secret_in_authorize = true;
    c.refresh = if opts.refresh_tokens == Some(false) {
        RefreshRule::Forbidden
    } else {
        RefreshRule::Rotate
    };
    c.grant_expiration_secs = Some(395 * 24 * 3600);
    c.scopes_supported = [
        "profile",
        "patient/Patient.read",
        "patient/Coverage.read",
        "patient/ExplanationOfBenefit.read",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    c.max_count = Some(50);
    c.default_count = 10;
    c.paging = Paging::StartIndex;
    c.last_updated_needs_prefix = true;
    c.patient_id = "-19990000000001".into();
    c.username = "BBUser00001".into();
    c.password = "PW00001!".into();
    c
}
