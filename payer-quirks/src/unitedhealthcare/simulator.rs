//! A UnitedHealthcare (Optum FLEX) simulator (feature `simulator`): FLEX's path-based layout on 127.0.0.1.
//!
//! Layout (sandbox): OAuth at `/authz/sandbox/oauth/{authorize,token,revoke}` with
//! `/authz/sandbox/.well-known/openid-configuration`; FHIR at `/fhir/sandbox/R4`.
//!
//! Quirks on: wildcard scopes are refused (`invalid_scope` on the redirect); `redirect_uri` must match exactly;
//! `aud` must be the FHIR base; a commercial member (see [`COMMERCIAL_MEMBER`]) is refused with
//! `access_denied` "Member eligibility failed - no eligible membership found."; no `Patient/$everything`; no
//! refresh tokens unless [`SimOptions::refresh_tokens`] turns them on (FLEX documents none).

use crate::environment::Place;
use crate::simulator::config::{AudRule, RefreshRule, RefusedUser, SimConfig};
use crate::simulator::{SimError, SimOptions, Simulator};

/// Login and password of a member whose employer plan is not covered by the CMS rule.
pub const COMMERCIAL_MEMBER: (&str, &str) = ("commercialmember1", "sim-uhc-commercial");

/// Starts a UnitedHealthcare simulator.
///
/// ```no_run
/// # async fn demo() -> Result<(), payer_quirks::simulator::SimError> {
/// use payer_quirks::simulator::SimOptions;
/// let sim = payer_quirks::unitedhealthcare::simulator::start(SimOptions::default()).await?;
/// let (user, password) = payer_quirks::unitedhealthcare::simulator::COMMERCIAL_MEMBER;
/// let refused = sim.browser().credentials(user, password);
/// # let _ = refused; Ok(()) }
/// ```
pub async fn start(opts: SimOptions) -> Result<Simulator, SimError> {
    crate::simulator::start(opts, config).await
}

fn config(origin: &url::Url, opts: &SimOptions) -> SimConfig {
    let env = opts.environment;
    let place = Place::at(origin);
    let u = super::urls(env);
    let adapter = super::profile(env, place);
    let issuer = place.url(u.issuer);
    let root = issuer.path().trim_end_matches('/').to_owned();
    let fhir_base = adapter.fhir_base.as_str().trim_end_matches('/').to_owned();
    let mut c = SimConfig::standard(
        "UnitedHealthcare",
        adapter,
        issuer,
        &format!("{root}/oauth/authorize"),
        &format!("{root}/oauth/token"),
    );
    // What the payer's module lists is what it serves, its members' US Core clinical records included.
    c.serve(super::RESOURCES);
    c.revoke_path = format!("{root}/oauth/revoke");
    c.userinfo_path = Some(format!("{root}/userinfo"));
    c.openid_config_paths = vec![format!("{root}/.well-known/openid-configuration")];
    c.smart_config_paths = Vec::new();
    c.metadata_oauth_uris = true;
    c.aud = AudRule::Equals(fhir_base);
    c.reject_wildcard_scopes = true;
    c.refused_users = vec![RefusedUser {
        username: COMMERCIAL_MEMBER.0.into(),
        password: COMMERCIAL_MEMBER.1.into(),
        error: "access_denied".into(),
        description: "Member eligibility failed - no eligible membership found.".into(),
    }];
    c.refresh = RefreshRule::None;
    c.everything = false;
    c.patient_id = "uhc-98765432".into();
    c.username = "flexmember1".into();
    c.password = "sim-uhc-password".into();
    c
}
