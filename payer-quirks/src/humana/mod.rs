//! Humana.
//!
//! | Quirk | Without the adapter | What the adapter does |
//! |---|---|---|
//! | token endpoint requires HTTP Basic | `401 invalid_client` | `ClientAuth::ClientSecretBasic` |
//! | the non-standard `internal` scope is required | `invalid_scope` | requests it |
//! | no `.well-known/smart-configuration` (2022: "use /metadata") | first discovery URL 404s | the SDK falls back to `metadata` |
//! | `$everything`: one Bundle, no `total`, a `self` link naming another patient id | paging code that trusts `self` | `next` links only are followed |
//! | Akamai bot-manager cookies; automation may get `403` | blocked syncs | a hint |
//!
//! Sources: `shared/PAYERS.md` §5.

use smart_core::ClientAuth;

use crate::environment::{Environment, Place};
use crate::profile::{OAuthHint, PayerProfile, ResponseHint, strings};

#[cfg(feature = "simulator")]
pub mod simulator;

/// The stable key of this payer in the [`directory`](crate::directory()).
pub const KEY: &str = "humana";

/// Published URLs of one Humana environment. Defaults only: discovery at run time wins.
// The endpoint URLs are read by the payer's simulator (feature `simulator`) only; discovery decides at run time.
#[cfg_attr(not(feature = "simulator"), allow(dead_code))]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Urls {
    pub fhir_base: &'static str,
    pub authorize: &'static str,
    pub token: &'static str,
}

pub(crate) const SANDBOX: Urls = Urls {
    fhir_base: "https://sandbox-fhir.humana.com/api",
    authorize: "https://sandbox-fhir.humana.com/auth/authorize",
    token: "https://sandbox-fhir.humana.com/auth/token",
};

pub(crate) const PRODUCTION: Urls = Urls {
    fhir_base: "https://fhir.humana.com/api",
    authorize: "https://fhir.humana.com/auth/authorize",
    token: "https://fhir.humana.com/auth/token",
};

pub(crate) fn urls(env: Environment) -> Urls {
    match env {
        Environment::Production => PRODUCTION,
        _ => SANDBOX,
    }
}

/// Resource types Humana serves.
pub const RESOURCES: &[&str] = &[
    "Patient",
    "Coverage",
    "ExplanationOfBenefit",
    "AllergyIntolerance",
    "CarePlan",
    "CareTeam",
    "Condition",
    "DocumentReference",
    "Goal",
    "Immunization",
    "List",
    "MedicationRequest",
    "Observation",
    "Procedure",
];

/// One line per quirk, for the directory and the README.
pub const QUIRKS: &[&str] = &[
    "token: HTTP Basic required",
    "non-standard `internal` scope",
    "no smart-configuration (metadata)",
    "`$everything` in one page, no `total`, odd `self` link",
    "Akamai bot-manager cookies",
];

/// The Humana sandbox.
///
/// ```
/// use smart_core::PayerAdapter;
/// assert!(payer_quirks::humana::sandbox().default_scopes().contains(&"internal".to_owned()));
/// ```
pub fn sandbox() -> PayerProfile {
    profile(Environment::Sandbox, Place::REAL)
}

/// Humana production.
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
        Environment::Production => "Humana",
        _ => "Humana (sandbox)",
    };
    let mut p = PayerProfile::standard_at(format!("{KEY}-{env}"), name, place.url(u.fhir_base));
    p.client_auth = ClientAuth::ClientSecretBasic;
    let mut scopes = strings(&["internal", "launch/patient", "offline_access", "openid"]);
    scopes.extend(
        [
            "AllergyIntolerance",
            "CarePlan",
            "CareTeam",
            "Condition",
            "Coverage",
            "DocumentReference",
            "ExplanationOfBenefit",
            "Goal",
            "Immunization",
            "List",
            "MedicationRequest",
            "Observation",
            "Patient",
            "Procedure",
        ]
        .iter()
        .map(|r| format!("patient/{r}.read")),
    );
    p.default_scopes = scopes;
    p.supports_everything = true;
    p.oauth_hints = vec![
        OAuthHint::new(
            "invalid_client",
            "Humana requires HTTP Basic client authentication (base64 of client_id:client_secret) at its token \
             endpoint; authorization codes are single use.",
        ),
        OAuthHint::new(
            "invalid_scope",
            "Humana requires its non-standard `internal` scope besides the SMART scopes.",
        ),
    ];
    p.response_hints = vec![ResponseHint::status(
        403,
        "Humana's CDN bot manager (Akamai) may block automated clients: keep cookies between requests, send a \
         stable User-Agent, and slow down.",
    )];
    p
}
