//! Aetna (CVS Health): Patient Access API on IBM API Connect, in front of a GCP Healthcare FHIR store.
//!
//! What differs from standard SMART, each handled by [`sandbox`]/[`production`]:
//!
//! | Quirk | Without the adapter | What the adapter does |
//! |---|---|---|
//! | `aud` must be the auth root (`…/fhirdemo`), not the FHIR base | the authorize step fails | `AudPolicy::Url(auth root)` |
//! | `skin=skin13` required on the authorize URL | the login page renders blank | adds it |
//! | `.well-known/smart-configuration` lives at the auth root | discovery fails | looks there first |
//! | token endpoint wants HTTP Basic + the PKCE verifier | `401 invalid_client` | `ClientAuth::ClientSecretBasic` |
//! | resources live under `/v2/patientaccess`, not the auth root | `404 No resources match requested URI` | FHIR base set apart from the auth root |
//! | `produces: application/json` only | `406` is possible | `Accept: application/json` |
//! | production CDN adds a response header whose name contains a space | strict HTTP parsing fails | tolerant header parsing (production only) |
//! | 429 "Assembly Rate Limit exceeded" per IP, no `Retry-After` | bursts fail | low concurrency, slower backoff, a hint |
//! | unknown query parameters get `400` | searches fail | only standard parameters are sent; a hint names it |
//! | refresh tokens are reported both ways | access ends after minutes | works either way; without one the SDK says to re-authorize |
//! | login page shows a literal `null` | no login | a hint: the app has no active product subscription |
//!
//! `redirect_uri` is required on the authorize URL but ignored: Aetna redirects to the callback registered in its
//! developer portal. Narrow scopes work (`launch/patient patient/*.read`); `openid` is accepted but no id token
//! comes back, so the member's id is the token response's `patient`.
//!
//! Sources and confidence: [`PAYERS.md`](crate::sources) §1 (`skin=skin13`, the header with a space and the
//! `null` page come from an integration report that no public source corroborates).
//!
//! Getting credentials (portal, registration, redirect URIs, test members, how long access lasts):
//! [`REGISTRATION`].

use std::time::Duration;

use smart_core::{AudPolicy, ClientAuth, PriorAuthSearch, RatePolicy};
use url::Url;

use crate::directory::Registration;
use crate::environment::{Environment, Place};
use crate::profile::{OAuthHint, PayerProfile, ResponseHint, join, strings};

#[cfg(feature = "simulator")]
pub mod simulator;

/// The stable key of this payer in the [`directory`](crate::directory()).
pub const KEY: &str = "aetna";

/// Published URLs of one Aetna environment. Defaults only: discovery at run time wins.
#[cfg_attr(
    not(feature = "simulator"),
    allow(dead_code, reason = "the endpoints are served by the simulators")
)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Urls {
    /// The auth root: `aud`, and where `.well-known/smart-configuration` is served.
    pub auth_root: &'static str,
    /// The FHIR base (`/v2/patientaccess`; sandbox v1 was decommissioned 2023-09-29).
    pub fhir_base: &'static str,
    /// Authorize endpoint (what discovery said when captured).
    pub authorize: &'static str,
    /// Token endpoint.
    pub token: &'static str,
}

pub(crate) const SANDBOX: Urls = Urls {
    auth_root: "https://vteapif1.aetna.com/fhirdemo",
    fhir_base: "https://vteapif1.aetna.com/fhirdemo/v2/patientaccess",
    authorize: "https://vteapif1.aetna.com/fhirdemo/v1/fhirserver_auth/oauth2/authorize",
    token: "https://vteapif1.aetna.com/fhirdemo/v1/fhirserver_auth/oauth2/token",
};

// The live smart-configuration says `/fhir/prod/v1/...`; Aetna's PDF says `/fhir/v1/...`. Discovery decides.
pub(crate) const PRODUCTION: Urls = Urls {
    auth_root: "https://apif1.aetna.com/fhir",
    fhir_base: "https://apif1.aetna.com/fhir/v2/patientaccess",
    authorize: "https://apif1.aetna.com/fhir/prod/v1/fhirserver_auth/oauth2/authorize",
    token: "https://apif1.aetna.com/fhir/prod/v1/fhirserver_auth/oauth2/token",
};

pub(crate) fn urls(env: Environment) -> Urls {
    match env {
        Environment::Production => PRODUCTION,
        _ => SANDBOX,
    }
}

/// The resource types Aetna's sandbox CapabilityStatement lists for search.
///
/// Clinical types included: this list follows the sandbox CapabilityStatement (PAYERS.md §1 "Resources",
/// source: the api-evangelist/aetna capture of it, (doc)), which lists US Core Condition, Observation,
/// Procedure, ... beside the claims. An integration guide that calls the API claims-only is not among our
/// sources and was not followed. The simulator serves the member's US Core records for every type listed here
/// that the fixtures cover; if production turns out claims-only, those searches come back empty (or 403), and
/// `connect` notes it per type without failing the export.
pub const RESOURCES: &[&str] = &[
    "Patient",
    "Coverage",
    "ExplanationOfBenefit",
    "Condition",
    "Encounter",
    "Procedure",
    "Observation",
    "MedicationRequest",
    "Immunization",
    "CareTeam",
    "DiagnosticReport",
    "Organization",
    "Practitioner",
    "PractitionerRole",
];

/// The Aetna sandbox (`https://vteapif1.aetna.com/fhirdemo`).
///
/// ```
/// use smart_core::PayerAdapter;
/// let aetna = payer_quirks::aetna::sandbox();
/// assert_eq!(aetna.id(), "aetna-sandbox");
/// assert_eq!(aetna.fhir_base().as_str(), "https://vteapif1.aetna.com/fhirdemo/v2/patientaccess");
/// assert!(aetna.extra_authorize_params().contains(&("skin".into(), "skin13".into())));
/// ```
pub fn sandbox() -> PayerProfile {
    profile(Environment::Sandbox, Place::REAL)
}

/// Aetna production (`https://apif1.aetna.com/fhir`), with tolerant header parsing for its CDN.
///
/// ```
/// use smart_core::PayerAdapter;
/// assert!(payer_quirks::aetna::production().lenient_response_headers());
/// assert!(!payer_quirks::aetna::sandbox().lenient_response_headers());
/// ```
pub fn production() -> PayerProfile {
    profile(Environment::Production, Place::REAL)
}

/// How a developer gets credentials for this payer (sources: [`sources`](crate::sources)).
pub const REGISTRATION: Registration = Registration {
    portal: "https://developerportal.aetna.com (doc)",
    process: "register the app and subscribe it to the Patient Access API product (without it: 401, or a login \
              page saying `null`); questionnaire, approval time and production review: not documented publicly",
    redirect_uris: "registered per app in the portal; Aetna redirects to the registered callback (doc); \
                    HTTPS-only or localhost: not documented publicly",
    test_members: "listed, with passwords, in https://developerportal.aetna.com/Aetna_TestMember_Data_V6.xls \
                   (e.g. aetnaTestUser3) (code)",
    refresh: "no refresh advertised (no offline_access); token lifetimes not documented publicly (inf)",
};

/// One line per quirk, for the directory and the README.
pub const QUIRKS: &[&str] = &[
    "`aud` = auth root, not the FHIR base",
    "`skin=skin13` on authorize (blank login without)",
    "discovery at the auth root",
    "token: HTTP Basic + PKCE only",
    "resources under `/v2/patientaccess`",
    "`Accept: application/json`",
    "production CDN header name with a space (tolerant parsing)",
    "429 per IP without `Retry-After`",
    "unknown query parameters → 400",
    "refresh token reported both ways",
    "`redirect_uri` required but ignored",
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

/// Aetna's 429 body says "Assembly Rate Limit exceeded" or "Detected excessive traffic coming from this IP".
const AETNA_RATE_LIMIT: &str = "Aetna rate-limits per IP address (\"Assembly Rate Limit exceeded\") and sends no \
     Retry-After: lower the concurrency, spread members over time, and retry later.";

pub(crate) fn profile(env: Environment, place: Place<'_>) -> PayerProfile {
    let u = urls(env);
    let auth_root: Url = place.url(u.auth_root);
    let fhir_base = place.url(u.fhir_base);
    let name = match env {
        Environment::Production => "Aetna",
        _ => "Aetna (sandbox)",
    };
    let mut p = PayerProfile::standard_at(format!("{KEY}-{env}"), name, fhir_base.clone());
    // Discovery is served at the auth root; the FHIR base answers 404 there.
    p.smart_configuration_urls = vec![
        join(&auth_root, ".well-known/smart-configuration"),
        join(&fhir_base, ".well-known/smart-configuration"),
    ];
    p.aud = AudPolicy::Url(auth_root);
    // Without it the login page renders blank.
    p.extra_authorize_params = vec![("skin".into(), "skin13".into())];
    // Credentials in the body get 401 invalid_client.
    p.client_auth = ClientAuth::ClientSecretBasic;
    // Aetna advertises no offline_access; `openid` is accepted but yields no id token.
    p.default_scopes = strings(&["launch/patient", "patient/*.read"]);
    p.fhir_accept = "application/json".into();
    p.supports_everything = false; // dropped 2024-06
    // Aetna's CapabilityStatement lists `_profile` for EOB (it selects the C4BB sub-profiles) and refuses any
    // parameter it does not list with 400, so `use=` would fail: ask by the PDex profile (the SDK still
    // filters on `use`). That `_profile` also selects the PDex profile is inferred, not checked live.
    p.prior_auth_search = PriorAuthSearch::Profile;
    p.lenient_response_headers = env == Environment::Production;
    // Limits are per IP and come without Retry-After: go gently and back off for longer.
    let mut rate = RatePolicy::default();
    rate.max_concurrency = 2;
    rate.base_backoff = Duration::from_secs(1);
    p.rate_policy = rate;
    p.oauth_hints = vec![
        OAuthHint::new(
            "invalid_client",
            "Aetna authenticates the app with HTTP Basic (client_secret_basic) plus the PKCE verifier; client \
             credentials in the form body are refused.",
        )
        .when_description_contains("basic"),
        OAuthHint::new(
            "invalid_client",
            "Aetna did not accept the client id and secret: check that they are this environment's (sandbox \
             credentials do not work in production) and that the app is subscribed to the Patient Access product \
             in Aetna's developer portal.",
        )
        .when_description_contains("authentication failed"),
        // Aetna's wording for an ineligible member is not documented publicly: the hint fires only when the
        // description speaks of eligibility, never for a member who clicked Deny (also `access_denied`).
        OAuthHint::new(
            "access_denied",
            "Aetna only lets members of government-program plans (Medicare Advantage, Medicaid, Exchange) and of \
             some fully insured commercial plans (CA, TN) share data; other members are refused. Not an app bug.",
        )
        .when_description_contains("eligib"),
        OAuthHint::new(
            "invalid_request",
            "Aetna wants `aud` to be its auth root (e.g. https://vteapif1.aetna.com/fhirdemo), not the FHIR base, \
             and a redirect_uri on the authorize URL (it then uses the callback registered in its portal).",
        )
        .when_description_contains("aud"),
    ];
    p.response_hints = vec![
        ResponseHint::status(
            200,
            "Aetna's login page shows a literal `null` when the app has no active subscription to the Patient \
             Access API product: subscribe the app in Aetna's developer portal.",
        )
        .when_body_is("null"),
        ResponseHint::status(
            404,
            "Aetna serves FHIR resources under /v2/patientaccess, not under its auth root: use the adapter's FHIR \
             base.",
        )
        .when_body_contains("No resources match requested URI"),
        ResponseHint::status(429, AETNA_RATE_LIMIT).when_body_contains("rate limit"),
        ResponseHint::status(429, AETNA_RATE_LIMIT).when_body_contains("excessive traffic"),
        ResponseHint::status(
            400,
            "Aetna rejects query parameters it does not list (for example `_format`, or `_count` together with \
             `_id`): send only the search parameters of its CapabilityStatement.",
        )
        .when_body_contains("MSG_RESOURCE_ID_MISSING"),
        ResponseHint::status(
            406,
            "Aetna's API produces `application/json`, not `application/fhir+json`: send `Accept: \
             application/json`.",
        )
        .when_body_contains("acceptable"),
        ResponseHint::status(
            401,
            "Aetna answers 401 when the app has no active subscription to the Patient Access product (or the \
             token is from the other environment): subscribe the app in Aetna's developer portal.",
        )
        .when_body_contains("subscri"),
        ResponseHint::body(
            "<status>",
            "Aetna's API gateway reports authorize-step errors as XML: usually a missing or unknown client_id or \
             redirect_uri.",
        ),
    ];
    p
}
