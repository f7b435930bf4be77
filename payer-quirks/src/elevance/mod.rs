//! Elevance Health (Anthem, Wellpoint, Amerigroup, Healthy Blue, Simply, Unicare, ...) on "TotalView".
//!
//! | Quirk | Without the adapter | What the adapter does |
//! |---|---|---|
//! | one OAuth server, **one FHIR base per brand**, no routing endpoint | the wrong brand's base is refused | the app picks a [`Brand`]; each has its adapter |
//! | authorize and token on different path prefixes (`oauth2.code/…` vs `client.oauth2/…`) | guessed URLs fail | discovery at the brand base |
//! | `Accept: application/json+fhir` (legacy) | `406` | sends it |
//! | PKCE required since 2025-11-21 | `400` | the SDK always sends S256 |
//! | `aud` = the brand base, no trailing slash | refused | the SDK trims it |
//! | gateway errors as non-FHIR JSON (`{"status_code", "status": "failed", ...}`) | unreadable errors | hints for them |
//! | consent lasts 90 days | access ends | a hint |
//!
//! Sources: `shared/PAYERS.md` §6.

use smart_core::AudPolicy;

use crate::environment::{Environment, Place};
use crate::profile::{OAuthHint, PayerProfile, ResponseHint, strings};

#[cfg(feature = "simulator")]
pub mod simulator;

/// The stable key of this payer in the [`directory`](crate::directory()).
pub const KEY: &str = "elevance";

/// An Elevance brand: each has its own FHIR base on the shared TotalView gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Brand {
    /// Amerigroup.
    Amerigroup,
    /// Anthem Blue Cross (California).
    AnthemBlueCross,
    /// Anthem Blue Cross and Blue Shield.
    AnthemBlueCrossBlueShield,
    /// Blue Medicare Advantage.
    BlueMedicareAdvantage,
    /// Clear Health Alliance.
    ClearHealthAlliance,
    /// Dell Children's Health Plan.
    DellChildrenHealthPlan,
    /// Healthy Blue.
    HealthyBlue,
    /// Healthy Blue (BlueChoice).
    HealthyBlueBlueChoice,
    /// Healthy Blue (North Carolina).
    HealthyBlueNC,
    /// Simply Healthcare.
    SimplyHealthCare,
    /// Summit.
    Summit,
    /// Unicare.
    Unicare,
    /// Wellpoint.
    Wellpoint,
}

impl Brand {
    /// Every brand.
    pub const ALL: &'static [Brand] = &[
        Brand::Amerigroup,
        Brand::AnthemBlueCross,
        Brand::AnthemBlueCrossBlueShield,
        Brand::BlueMedicareAdvantage,
        Brand::ClearHealthAlliance,
        Brand::DellChildrenHealthPlan,
        Brand::HealthyBlue,
        Brand::HealthyBlueBlueChoice,
        Brand::HealthyBlueNC,
        Brand::SimplyHealthCare,
        Brand::Summit,
        Brand::Unicare,
        Brand::Wellpoint,
    ];

    /// The path segment of the brand's FHIR base (`AnthemBlueCross`).
    pub fn segment(self) -> &'static str {
        match self {
            Brand::Amerigroup => "Amerigroup",
            Brand::AnthemBlueCross => "AnthemBlueCross",
            Brand::AnthemBlueCrossBlueShield => "AnthemBlueCrossBlueShield",
            Brand::BlueMedicareAdvantage => "BlueMedicareAdvantage",
            Brand::ClearHealthAlliance => "ClearHealthAlliance",
            Brand::DellChildrenHealthPlan => "DellChildrenHealthPlan",
            Brand::HealthyBlue => "HealthyBlue",
            Brand::HealthyBlueBlueChoice => "HealthyBlueBlueChoice",
            Brand::HealthyBlueNC => "HealthyBlueNC",
            Brand::SimplyHealthCare => "SimplyHealthCare",
            Brand::Summit => "Summit",
            Brand::Unicare => "Unicare",
            Brand::Wellpoint => "Wellpoint",
        }
    }

    /// The adapter id (`elevance-anthembluecross`).
    pub fn id(self) -> String {
        format!("{KEY}-{}", self.segment().to_ascii_lowercase())
    }
}

const SANDBOX_HOST: &str = "https://sbx.totalview.healthos.elevancehealth.com";
const PRODUCTION_HOST: &str = "https://totalview.healthos.elevancehealth.com";
#[cfg(feature = "simulator")]
pub(crate) const AUTHORIZE_PATH: &str = "/oauth2.code/registered/api/v1/authorize";
#[cfg(feature = "simulator")]
pub(crate) const TOKEN_PATH: &str = "/client.oauth2/registered/api/v1/token";

/// The FHIR base path of a brand (`Sandbox` for the sandbox).
pub(crate) fn base_path(segment: &str) -> String {
    format!("/resources/registered/{segment}/api/v1/fhir")
}

/// Resource types Elevance serves.
pub const RESOURCES: &[&str] = &[
    "Patient",
    "Coverage",
    "ExplanationOfBenefit",
    "AllergyIntolerance",
    "Condition",
    "Encounter",
    "Immunization",
    "MedicationRequest",
    "Observation",
    "Procedure",
];

/// One line per quirk, for the directory and the README.
pub const QUIRKS: &[&str] = &[
    "one FHIR base per brand (13 brands)",
    "authorize and token on different path prefixes",
    "`Accept: application/json+fhir`",
    "PKCE required",
    "`aud` = brand base without trailing slash",
    "gateway errors as non-FHIR JSON",
    "90-day consent",
];

/// The Elevance sandbox (its `Sandbox` brand base).
///
/// ```
/// use smart_core::PayerAdapter;
/// let e = payer_quirks::elevance::sandbox();
/// assert_eq!(e.fhir_accept(), "application/json+fhir");
/// ```
pub fn sandbox() -> PayerProfile {
    profile(Environment::Sandbox, "Sandbox", Place::REAL)
}

/// Elevance production for one brand.
///
/// ```
/// use payer_quirks::elevance::{self, Brand};
/// use smart_core::PayerAdapter;
/// let anthem = elevance::production(Brand::AnthemBlueCross);
/// assert_eq!(anthem.id(), "elevance-anthembluecross");
/// assert!(anthem.fhir_base().path().contains("/AnthemBlueCross/"));
/// ```
pub fn production(brand: Brand) -> PayerProfile {
    profile(Environment::Production, brand.segment(), Place::REAL)
}

pub(crate) fn environments() -> Vec<(Environment, PayerProfile)> {
    let mut all = vec![(Environment::Sandbox, sandbox())];
    all.extend(
        Brand::ALL
            .iter()
            .map(|b| (Environment::Production, production(*b))),
    );
    all
}

pub(crate) fn profile(env: Environment, segment: &str, place: Place<'_>) -> PayerProfile {
    let host = match env {
        Environment::Production => PRODUCTION_HOST,
        _ => SANDBOX_HOST,
    };
    let (id, name) = match env {
        Environment::Production => (
            format!("{KEY}-{}", segment.to_ascii_lowercase()),
            format!("Elevance Health: {segment}"),
        ),
        _ => (
            format!("{KEY}-sandbox"),
            "Elevance Health (sandbox)".to_owned(),
        ),
    };
    let fhir_base = place.url(&format!("{host}{}", base_path(segment)));
    let mut p = PayerProfile::standard_at(id, name, fhir_base);
    // The brand base, without a trailing slash (the SDK's URL policy trims it).
    p.aud = AudPolicy::FhirBase;
    p.fhir_accept = "application/json+fhir".into();
    p.default_scopes = strings(&[
        "openid",
        "fhirUser",
        "profile",
        "offline_access",
        "launch/patient",
        "patient/*.read",
    ]);
    p.supports_everything = true;
    p.oauth_hints = vec![
        OAuthHint::new(
            "invalid_request",
            "Elevance requires PKCE (S256) and `aud` equal to the brand's FHIR base without a trailing slash.",
        ),
        OAuthHint::new(
            "invalid_grant",
            "Elevance consents last 90 days: after that the member must authorize again.",
        ),
    ];
    p.response_hints = vec![
        ResponseHint::status(
            406,
            "Elevance wants `Accept: application/json+fhir` (the legacy FHIR JSON type).",
        ),
        ResponseHint::body(
            "invalid_brand",
            "Elevance serves each brand at its own FHIR base and the member's consent covers only their brand's: \
             pick the member's brand (payer_quirks::elevance::Brand).",
        ),
        ResponseHint::body(
            "\"status\":\"failed\"",
            "Elevance's API gateway refused the request before it reached FHIR (its non-FHIR error envelope): \
             check the token, the Accept header and the brand base.",
        ),
    ];
    p
}
