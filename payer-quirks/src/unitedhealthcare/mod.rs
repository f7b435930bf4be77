//! UnitedHealthcare, on Optum FLEX.
//!
//! | Quirk | Without the adapter | What the adapter does |
//! |---|---|---|
//! | wildcard scopes (`patient/*.read`) are rejected | `invalid_scope` on the redirect | requests per-resource scopes |
//! | `redirect_uri` must match exactly | an error page, no redirect | a hint |
//! | commercial members are refused: `access_denied` "Member eligibility failed" | looks like an app bug | a hint: it is the member's plan |
//! | no `Patient/$everything` | `404` | `supports_everything() == false`: the SDK says so without a request |
//!
//! Optum announced moving from per-payer subdomains (`sandbox.authz.flex.optum.com`) to path-based URLs
//! (`flex.optum.com/authz/{payer}`); the defaults here are the path-based ones, discovery decides.
//! Sources: [`PAYERS.md`](crate::sources) §3.
//!
//! Getting credentials (portal, registration, redirect URIs, test members, how long access lasts):
//! [`REGISTRATION`].

use smart_core::AudPolicy;

use crate::directory::Registration;
use crate::environment::{Environment, Place};
use crate::profile::{OAuthHint, PayerProfile, ResponseHint, strings};

#[cfg(feature = "simulator")]
pub mod simulator;

/// The stable key of this payer in the [`directory`](crate::directory()).
pub const KEY: &str = "unitedhealthcare";

/// Published URLs of one Optum FLEX environment. Defaults only: discovery at run time wins.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Urls {
    /// The OAuth issuer (`.well-known/openid-configuration` below it).
    pub issuer: &'static str,
    /// The FHIR base.
    pub fhir_base: &'static str,
}

pub(crate) const SANDBOX: Urls = Urls {
    issuer: "https://flex.optum.com/authz/sandbox",
    fhir_base: "https://flex.optum.com/fhir/sandbox/R4",
};

pub(crate) const PRODUCTION: Urls = Urls {
    issuer: "https://flex.optum.com/authz/hsid",
    fhir_base: "https://flex.optum.com/fhir/hsid/R4",
};

pub(crate) fn urls(env: Environment) -> Urls {
    match env {
        Environment::Production => PRODUCTION,
        _ => SANDBOX,
    }
}

/// Resource types UnitedHealthcare serves (and the adapter asks scopes for).
pub const RESOURCES: &[&str] = &[
    "Patient",
    "Coverage",
    "ExplanationOfBenefit",
    "Condition",
    "Encounter",
    "Immunization",
    "MedicationDispense",
    "MedicationRequest",
    "Observation",
    "Procedure",
];

/// The UnitedHealthcare (Optum FLEX) sandbox.
///
/// ```
/// use smart_core::PayerAdapter;
/// let uhc = payer_quirks::unitedhealthcare::sandbox();
/// assert!(uhc.default_scopes().iter().all(|s| !s.contains('*')));
/// assert!(!uhc.supports_everything());
/// ```
pub fn sandbox() -> PayerProfile {
    profile(Environment::Sandbox, Place::REAL)
}

/// UnitedHealthcare production.
pub fn production() -> PayerProfile {
    profile(Environment::Production, Place::REAL)
}

/// How a developer gets credentials for this payer (sources: [`sources`](crate::sources)).
pub const REGISTRATION: Registration = Registration {
    portal: "Optum FLEX vendor portal, https://flex.optum.com/portal (doc)",
    process: "a One Healthcare ID, an App Owner organisation attestation, then Register New App; sandbox and \
              production are separate apps with a client id and a server-side secret (doc); approval time and \
              production review: not documented publicly",
    redirect_uris: "must match the registered one exactly (unv); HTTPS-only or localhost: not documented publicly",
    test_members: "not documented publicly",
    refresh: "no offline_access in its scope list; lifetimes not documented publicly",
};

/// One line per quirk, for the directory and the README.
pub const QUIRKS: &[&str] = &[
    "no wildcard scopes (per-resource scopes)",
    "exact `redirect_uri`",
    "commercial members refused: `access_denied` \"Member eligibility failed\"",
    "no `Patient/$everything`",
];

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

/// The per-resource read scopes UnitedHealthcare wants instead of `patient/*.read`.
pub fn resource_scopes() -> Vec<String> {
    RESOURCES
        .iter()
        .map(|r| format!("patient/{r}.read"))
        .collect()
}

pub(crate) fn profile(env: Environment, place: Place<'_>) -> PayerProfile {
    let u = urls(env);
    let fhir_base = place.url(u.fhir_base);
    let name = match env {
        Environment::Production => "UnitedHealthcare",
        _ => "UnitedHealthcare (sandbox)",
    };
    let mut p = PayerProfile::standard_at(format!("{KEY}-{env}"), name, fhir_base);
    p.oauth_issuer = Some(place.url(u.issuer));
    p.aud = AudPolicy::FhirBase;
    // "Scopes must be explicitly declared; wildcards are not supported."
    let mut scopes = strings(&["launch/patient", "openid", "fhirUser", "profile"]);
    scopes.extend(resource_scopes());
    p.default_scopes = scopes;
    p.supports_everything = false;
    p.oauth_hints = vec![
        OAuthHint::new(
            "access_denied",
            "UnitedHealthcare refused because the member's plan is not covered by the CMS Patient Access rule \
             (typically an employer or individual commercial plan): this is the member's plan, not a bug in the \
             app. Only Medicare Advantage, Medicaid and Exchange members can share data.",
        )
        .when_description_contains("eligibility"),
        OAuthHint::new(
            "invalid_scope",
            "UnitedHealthcare rejects wildcard scopes such as patient/*.read: request one scope per resource \
             (patient/ExplanationOfBenefit.read, patient/Coverage.read, ...).",
        )
        .when_description_contains("wildcard"),
        OAuthHint::new(
            "invalid_request",
            "UnitedHealthcare's redirect_uri must match the one registered in the Optum FLEX portal exactly.",
        )
        .when_description_contains("redirect"),
    ];
    p.response_hints = vec![
        ResponseHint::body(
            "redirect_uri",
            "UnitedHealthcare's redirect_uri must match the one registered in the Optum FLEX portal exactly.",
        ),
        ResponseHint::body(
            "$everything",
            "UnitedHealthcare has no Patient/$everything: read each resource type instead.",
        ),
    ];
    p
}
