//! A Humana simulator (feature `simulator`): `/auth/{authorize,token}` and `/api` on 127.0.0.1.
//!
//! Quirks on: HTTP Basic required at the token endpoint; the `internal` scope is required; no
//! `.well-known/smart-configuration` (only `metadata` with the OAuth URIs); `Patient/$everything` in one Bundle
//! without `total` whose `self` link names another id; Akamai/Dynatrace cookies on every response; opaque
//! hex patient ids; `ct=` continuation tokens.

use crate::environment::Place;
use crate::simulator::config::{ClientAuthRule, Paging, RefreshRule, SimConfig};
use crate::simulator::{SimError, SimOptions, Simulator};

/// Starts a Humana simulator.
///
/// ```no_run
/// # async fn demo() -> Result<(), payer_quirks::simulator::SimError> {
/// let sim = payer_quirks::humana::simulator::start(Default::default()).await?;
/// # let _ = sim; Ok(()) }
/// ```
pub async fn start(opts: SimOptions) -> Result<Simulator, SimError> {
    crate::simulator::start(opts, config).await
}

fn config(origin: &url::Url, opts: &SimOptions) -> SimConfig {
    let env = opts.environment;
    let place = Place::at(origin);
    let u = super::urls(env);
    let adapter = super::profile(env, place);
    let authorize = place.url(u.authorize);
    let token = place.url(u.token);
    let mut issuer = origin.clone();
    issuer.set_path("/auth");
    let mut c = SimConfig::standard("Humana", adapter, issuer, authorize.path(), token.path());
    // What the payer's module lists is what it serves, its members' US Core clinical records included.
    c.serve(super::RESOURCES);
    c.revoke_path = "/auth/revoke".into();
    c.smart_config_paths = Vec::new();
    c.metadata_oauth_uris = true;
    c.client_auth = ClientAuthRule::BasicOnly;
    c.advertised_auth_methods = vec!["client_secret_basic".into()];
    c.required_scopes = vec!["internal".into()];
    c.scopes_supported = vec!["internal".into()];
    c.refresh = RefreshRule::Rotate;
    c.everything = true;
    c.everything_odd_links = true;
    c.bot_cookies = true;
    c.paging = Paging::Token("ct");
    c.patient_id = "5a35713246537a4a5a3d3d".into();
    c.username = "HUser00001".into();
    c.password = "PW00001!".into();
    c
}
