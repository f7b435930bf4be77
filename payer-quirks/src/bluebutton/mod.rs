//! CMS Blue Button 2.0: Medicare fee-for-service claims (Parts A, B and D), on django-oauth-toolkit.
//!
//! | Quirk | Without the adapter | What the adapter does |
//! |---|---|---|
//! | PKCE required, S256 only | `400` | the SDK always sends S256 |
//! | `state` required, 16+ characters | `400` | the SDK's state is longer |
//! | `client_secret` in the authorize URL | `400` | never sent there |
//! | `_count` at most 50 | `400` | `max_page_size() == Some(50)`: the SDK clamps |
//! | refresh allowed only for some app tiers (one-time apps get `403 invalid_client`) | looks like bad credentials | a hint: the member must authorize again |
//! | `patient` and `access_grant_expiration` in the token response | consent end unknown | the SDK keeps it as the consent end |
//! | `_lastUpdated` needs a comparison prefix (`ge`, `lt`, ...) | `400` | a hint |
//! | scopes per resource (`patient/ExplanationOfBenefit.read`) | no wildcard advertised | per-resource default scopes |
//!
//! Sources: `shared/PAYERS.md` §4 (`CMSgov/bluebutton-web-server`).

use smart_core::AudPolicy;

use crate::environment::{Environment, Place};
use crate::profile::{OAuthHint, PayerProfile, ResponseHint, strings};

#[cfg(feature = "simulator")]
pub mod simulator;

/// The stable key of this payer in the [`directory`](crate::directory()).
pub const KEY: &str = "bluebutton";

/// Published URLs of one Blue Button environment. Defaults only: discovery at run time wins.
// The endpoint URLs are read by the payer's simulator (feature `simulator`) only; discovery decides at run time.
#[cfg_attr(not(feature = "simulator"), allow(dead_code))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Urls {
    pub fhir_base: &'static str,
    pub authorize: &'static str,
    pub token: &'static str,
    pub revoke: &'static str,
    pub userinfo: &'static str,
}

pub(crate) const SANDBOX: Urls = Urls {
    fhir_base: "https://sandbox.bluebutton.cms.gov/v2/fhir",
    authorize: "https://sandbox.bluebutton.cms.gov/v2/o/authorize/",
    token: "https://sandbox.bluebutton.cms.gov/v2/o/token/",
    revoke: "https://sandbox.bluebutton.cms.gov/v2/o/revoke_token/",
    userinfo: "https://sandbox.bluebutton.cms.gov/v2/connect/userinfo",
};

pub(crate) const PRODUCTION: Urls = Urls {
    fhir_base: "https://api.bluebutton.cms.gov/v2/fhir",
    authorize: "https://api.bluebutton.cms.gov/v2/o/authorize/",
    token: "https://api.bluebutton.cms.gov/v2/o/token/",
    revoke: "https://api.bluebutton.cms.gov/v2/o/revoke_token/",
    userinfo: "https://api.bluebutton.cms.gov/v2/connect/userinfo",
};

pub(crate) fn urls(env: Environment) -> Urls {
    match env {
        Environment::Production => PRODUCTION,
        _ => SANDBOX,
    }
}

/// Resource types Blue Button serves.
pub const RESOURCES: &[&str] = &["Patient", "Coverage", "ExplanationOfBenefit"];

/// One line per quirk, for the directory and the README.
pub const QUIRKS: &[&str] = &[
    "PKCE S256 required",
    "`state` of 16+ characters",
    "no `client_secret` in the authorize URL",
    "`_count` at most 50",
    "refresh only for some app tiers (one-time apps: 403)",
    "`patient` and `access_grant_expiration` in the token response",
    "`_lastUpdated` needs a prefix",
];

/// The Blue Button sandbox.
///
/// ```
/// use smart_core::PayerAdapter;
/// assert_eq!(payer_quirks::bluebutton::sandbox().max_page_size(), Some(50));
/// ```
pub fn sandbox() -> PayerProfile {
    profile(Environment::Sandbox, Place::REAL)
}

/// Blue Button production.
pub fn production() -> PayerProfile {
    profile(Environment::Production, Place::REAL)
}

pub(crate) fn environments() -> Vec<(Environment, PayerProfile)> {
    vec![
        (Environment::Sandbox, sandbox()),
        (Environment::Production, production()),
    ]
}

/// The adapter for `env`.
pub fn adapter(env: Environment) -> PayerProfile {
    profile(env, Place::REAL)
}

pub(crate) fn profile(env: Environment, place: Place<'_>) -> PayerProfile {
    let u = urls(env);
    let name = match env {
        Environment::Production => "CMS Blue Button 2.0",
        _ => "CMS Blue Button 2.0 (sandbox)",
    };
    let mut p = PayerProfile::standard_at(format!("{KEY}-{env}"), name, place.url(u.fhir_base));
    // Not checked by the server; the FHIR base does no harm.
    p.aud = AudPolicy::FhirBase;
    p.default_scopes = strings(&[
        "openid",
        "profile",
        "launch/patient",
        "patient/Patient.read",
        "patient/Coverage.read",
        "patient/ExplanationOfBenefit.read",
    ]);
    p.max_page_size = Some(50);
    p.oauth_hints = vec![
        OAuthHint::new(
            "invalid_client",
            "Blue Button lets only some apps refresh tokens (13-month and research apps); a one-time-access app \
             must send the member through authorization again.",
        )
        .when_description_contains("not allowed to refresh"),
        OAuthHint::new(
            "invalid_grant",
            "The member's Blue Button data-access grant has ended (13 months at most, or revoked on \
             Medicare.gov): the member must authorize again.",
        )
        .when_description_contains("timed out"),
    ];
    p.response_hints = vec![
        ResponseHint::status(400, "Blue Button accepts `_count` up to 50.")
            .when_body_contains("_count"),
        ResponseHint::status(
            400,
            "Blue Button wants `_lastUpdated` with a comparison prefix, e.g. `ge2024-01-01`.",
        )
        .when_body_contains("_lastUpdated"),
        ResponseHint::body(
            "state",
            "Blue Button requires `state` of at least 16 characters and PKCE S256 on the authorize URL.",
        ),
        ResponseHint::body(
            "client_secret",
            "Blue Button refuses an authorize URL that carries `client_secret`: it belongs only in the token \
             request.",
        ),
    ];
    p
}
