//! Cigna: IBM Security Verify Access for OAuth (`r-hi2.cigna.com`), AWS API Gateway in front of HAPI FHIR.
//!
//! | Quirk | Without the adapter | What the adapter does |
//! |---|---|---|
//! | `/authorize` sets a cookie that the login step checks | a server-side fetch of the authorize URL breaks the member's login | `authorize_in_browser_only`: the SDK refuses to fetch it server-side (`Error::BrowserOnlyAuthorize`) |
//! | `aud` must be omitted | the authorize step fails | `AudPolicy::Omit` |
//! | no `patient` in the token response | the app has no Patient id | reads it from `{fhir_base}/$userinfo` |
//! | `redirect_uri` must match the registered one exactly | an error page, no redirect | a hint |
//! | a 200 searchset can hold a fatal `OperationOutcome` | data silently missing | the fetch layer surfaces it as a warning |
//! | several Patient records per member (`ifp-`, `c16-`, `esi-` prefixes) | duplicates | read `Patient/{id}` for the token's id |
//! | unknown references answer `500` (HAPI-2001) instead of `404` | looks like an outage, and is retried | a hint: treat as not found; not retried |
//!
//! `Patient/$everything` works (one page). Sources: [`PAYERS.md`](crate::sources) §2 (the cookie is from an integration
//! report; no public source corroborates it).
//!
//! Getting credentials (portal, registration, redirect URIs, test members, how long access lasts):
//! [`REGISTRATION`].

use smart_core::{AudPolicy, PatientIdSource};

use crate::directory::Registration;
use crate::environment::{Environment, Place};
use crate::profile::{OAuthHint, PayerProfile, ResponseHint, join, strings};

#[cfg(feature = "simulator")]
pub mod simulator;

/// The stable key of this payer in the [`directory`](crate::directory()).
pub const KEY: &str = "cigna";

/// Published URLs of one Cigna environment. Defaults only: discovery at run time wins.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Urls {
    /// The OAuth server's root, where `.well-known/smart-configuration` is served (sandbox).
    pub oauth_root: Option<&'static str>,
    /// The FHIR base (a different host from OAuth).
    pub fhir_base: &'static str,
}

pub(crate) const SANDBOX: Urls = Urls {
    oauth_root: Some("https://r-hi2.cigna.com"),
    // Recorded working in Nov 2024; `ConsumerAccess/v1-devportal` and `fhir.cigna.com` variants also circulate.
    fhir_base: "https://p-hi2.digitaledge.cigna.com/PatientAccess/v1-devportal",
};

// The production OAuth host is not documented: discovery (the FHIR base's metadata) finds it.
pub(crate) const PRODUCTION: Urls = Urls {
    oauth_root: None,
    fhir_base: "https://fhir.cigna.com/PatientAccess/v1",
};

pub(crate) fn urls(env: Environment) -> Urls {
    match env {
        Environment::Production => PRODUCTION,
        _ => SANDBOX,
    }
}

/// Resource types Cigna's Patient Access API serves.
pub const RESOURCES: &[&str] = &[
    "Patient",
    "Coverage",
    "ExplanationOfBenefit",
    "Condition",
    "Encounter",
    "Immunization",
    "Observation",
    "Procedure",
    "MedicationRequest",
    "Organization",
    "Practitioner",
    "Location",
];

/// The Cigna sandbox.
///
/// ```
/// use smart_core::{AudPolicy, PayerAdapter};
/// let cigna = payer_quirks::cigna::sandbox();
/// assert_eq!(cigna.aud(), AudPolicy::Omit);
/// assert!(cigna.authorize_in_browser_only());
/// ```
pub fn sandbox() -> PayerProfile {
    profile(Environment::Sandbox, Place::REAL)
}

/// Cigna production.
pub fn production() -> PayerProfile {
    profile(Environment::Production, Place::REAL)
}

/// How a developer gets credentials for this payer (sources: [`sources`](crate::sources)).
pub const REGISTRATION: Registration = Registration {
    portal: "not documented publicly (the sandbox is Cigna's `v1-devportal` deployment) (code)",
    process: "questionnaire, approval time and production review: not documented publicly",
    redirect_uris: "must match the registered one exactly (unv); HTTPS-only or localhost: not documented publicly",
    test_members: "syntheticuser01 to syntheticuser10; the consent page needs its terms checkbox ticked (code)",
    refresh: "offline_access is requested, so refresh is expected; lifetimes not documented publicly (inf)",
};

/// One line per quirk, for the directory and the README.
pub const QUIRKS: &[&str] = &[
    "authorize must start in the member's browser (cookie)",
    "no `aud`",
    "patient id from `$userinfo`",
    "exact `redirect_uri`",
    "fatal OperationOutcome inside a 200 searchset",
    "several Patient records per member",
    "unknown references → 500 (final, not retried)",
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

pub(crate) fn profile(env: Environment, place: Place<'_>) -> PayerProfile {
    let u = urls(env);
    let fhir_base = place.url(u.fhir_base);
    let name = match env {
        Environment::Production => "Cigna",
        _ => "Cigna (sandbox)",
    };
    let mut p = PayerProfile::standard_at(format!("{KEY}-{env}"), name, fhir_base.clone());
    let mut discovery = Vec::new();
    if let Some(root) = u.oauth_root {
        discovery.push(join(&place.url(root), ".well-known/smart-configuration"));
    }
    discovery.push(join(&fhir_base, ".well-known/smart-configuration"));
    p.smart_configuration_urls = discovery;
    // Cigna's login checks a cookie that its /authorize sets in the browser that opened it.
    p.authorize_in_browser_only = true;
    p.aud = AudPolicy::Omit;
    p.default_scopes = strings(&[
        "launch/patient",
        "openid",
        "fhirUser",
        "offline_access",
        "patient/*.read",
    ]);
    // The token response has no `patient`; `$userinfo` on the FHIR base names the member.
    p.patient_id_source = PatientIdSource::Userinfo(Some(join(&fhir_base, "$userinfo")));
    p.supports_everything = true;
    p.oauth_hints = vec![
        OAuthHint::new(
            "invalid_request",
            "Cigna refuses an `aud` parameter on the authorize URL: omit it.",
        )
        .when_description_contains("aud"),
        OAuthHint::new(
            "invalid_request",
            "Cigna's redirect_uri must match the one registered for the app exactly (scheme, host, port, path, \
             trailing slash).",
        )
        .when_description_contains("redirect"),
        OAuthHint::new(
            "invalid_request",
            "Cigna's login checks a cookie that its /authorize step sets: open the authorize URL in the member's own \
             browser and keep that browser through login (never fetch it from the server).",
        )
        .when_description_contains("cookie"),
    ];
    p.response_hints = vec![
        ResponseHint::status(
            500,
            "Cigna answers HTTP 500 (HAPI-2001/HAPI-1996 \"is not known\") for a reference it does not hold: treat \
             it as not found; retrying will not help.",
        )
        .when_body_contains("is not known")
        .permanent(),
        ResponseHint::body(
            "cookie",
            "Cigna's login checks a cookie that its /authorize step sets: open the authorize URL in the member's own \
             browser and keep that browser through login (never fetch it from the server).",
        ),
        ResponseHint::body(
            "redirect_uri",
            "Cigna's redirect_uri must match the one registered for the app exactly.",
        ),
        ResponseHint::body(
            "CLCOM-",
            "Cigna reported a partial failure inside a successful search (a fatal OperationOutcome entry, e.g. \
             CLCOM-006): some records may be missing; retry the sync later.",
        ),
    ];
    p
}
