//! An Elevance simulator (feature `simulator`): the TotalView gateway on 127.0.0.1, authorize at
//! `/oauth2.code/registered/api/v1/authorize`, token at `/client.oauth2/registered/api/v1/token`, FHIR per brand
//! at `/resources/registered/{Brand}/api/v1/fhir`.
//!
//! Quirks on: the member's brand (the `Sandbox` brand, or the one given to [`start_brand`]) is the only base that
//! answers; every other brand's base gets the gateway's 403 `invalid_brand`; PKCE required; `aud` must be the
//! brand base exactly; `Accept` must be `application/json+fhir` (else 406); errors the gateway answers itself
//! come in its non-FHIR JSON envelope; `Patient/$everything` works.

use super::Brand;
use crate::environment::{Environment, Place};
use crate::simulator::config::{AudRule, RefreshRule, SimConfig};
use crate::simulator::{SimError, SimOptions, Simulator};

/// Starts an Elevance simulator for the sandbox (or, with `SimOptions::production()`, for Anthem Blue Cross).
///
/// ```no_run
/// # async fn demo() -> Result<(), payer_quirks::simulator::SimError> {
/// let sim = payer_quirks::elevance::simulator::start(Default::default()).await?;
/// # let _ = sim; Ok(()) }
/// ```
pub async fn start(opts: SimOptions) -> Result<Simulator, SimError> {
    let brand = match opts.environment {
        Environment::Production => Some(Brand::AnthemBlueCross),
        _ => None,
    };
    crate::simulator::start(opts, move |o, opts| config(o, opts, brand)).await
}

/// Starts an Elevance production simulator whose member belongs to `brand`.
pub async fn start_brand(opts: SimOptions, brand: Brand) -> Result<Simulator, SimError> {
    let opts = opts.environment(Environment::Production);
    crate::simulator::start(opts, move |o, opts| config(o, opts, Some(brand))).await
}

/// The simulator's adapter for another brand (on the same gateway), to show what a wrong brand choice does.
pub fn adapter_for(sim: &Simulator, brand: Brand) -> crate::PayerProfile {
    super::profile(
        Environment::Production,
        brand.segment(),
        Place::at(sim.base_url()),
    )
}

fn config(origin: &url::Url, opts: &SimOptions, brand: Option<Brand>) -> SimConfig {
    let place = Place::at(origin);
    let (env, segment) = match brand {
        Some(b) => (Environment::Production, b.segment()),
        None => (opts.environment, "Sandbox"),
    };
    let adapter = super::profile(env, segment, place);
    let mut issuer = origin.clone();
    issuer.set_path("/oauth2.code/registered/api/v1");
    let aud = adapter.fhir_base.as_str().trim_end_matches('/').to_owned();
    let mut c = SimConfig::standard(
        "Elevance Health",
        adapter,
        issuer,
        super::AUTHORIZE_PATH,
        super::TOKEN_PATH,
    );
    // What the payer's module lists is what it serves, its members' US Core clinical records included.
    c.serve(super::RESOURCES);
    c.revoke_path = "/client.oauth2/registered/api/v1/revoke".into();
    c.foreign_fhir_paths = Brand::ALL
        .iter()
        .map(|b| b.segment())
        .chain(["Sandbox"])
        .filter(|s| *s != segment)
        .map(super::base_path)
        .collect();
    c.aud = AudRule::Equals(aud);
    c.pkce_required = true;
    c.refresh = RefreshRule::Rotate;
    c.advertised_auth_methods = vec![
        "client_secret_post".into(),
        "client_secret_basic".into(),
        "private_key_jwt".into(),
    ];
    c.fhir_content_type = "application/json+fhir".into();
    c.accept_only = vec!["application/json+fhir".into()];
    c.gateway_envelope = true;
    c.everything = true;
    c.patient_id = "elv-7c1d2e3f".into();
    c.username = "sandboxmember1".into();
    c.password = "sim-elevance-password".into();
    c
}
