//! The directory of supported payers: find an adapter by id (`aetna-sandbox`), list payers for a picker, render
//! the README table.

use std::sync::Arc;

use smart_core::PayerAdapter;
use url::Url;

use crate::environment::Environment;
use crate::profile::PayerProfile;

/// One deployment of a payer (sandbox, production, or one brand's production base).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvironmentInfo {
    /// The adapter id, e.g. `aetna-sandbox`; pass it to [`by_id`].
    pub id: String,
    /// Sandbox or production.
    pub environment: Environment,
    /// Human name, e.g. `Aetna (sandbox)`.
    pub display_name: String,
    /// The default FHIR base.
    pub fhir_base: Url,
}

/// How a developer gets credentials for a payer, from the public record: each answer ends with its confidence
/// mark (`doc`: the payer said it; `code`: seen in working client code; `inf`: inferred; `unv`: unverified), and
/// says "not documented publicly" where the record is silent. Sources: [`sources`](crate::sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Registration {
    /// Where the payer's developer portal is.
    pub portal: &'static str,
    /// What registering an app involves: questionnaire, approval, production review.
    pub process: &'static str,
    /// Which redirect URIs it accepts.
    pub redirect_uris: &'static str,
    /// The test members its sandbox documents.
    pub test_members: &'static str,
    /// How long access lasts: token lifetimes, refresh, consent.
    pub refresh: &'static str,
}

impl Registration {
    /// The answers as labelled lines, each indented by `indent`, for a terminal or an error message.
    ///
    /// ```
    /// let aetna = payer_quirks::by_id("aetna-sandbox").unwrap();
    /// let text = aetna.payer.registration.lines("  ");
    /// assert!(text.contains("developerportal.aetna.com"));
    /// assert!(text.lines().all(|l| l.starts_with("  ")));
    /// ```
    pub fn lines(&self, indent: &str) -> String {
        [
            ("Portal", self.portal),
            ("Registration", self.process),
            ("Redirect URIs", self.redirect_uris),
            ("Test members", self.test_members),
            ("Access lasts", self.refresh),
        ]
        .iter()
        .map(|(label, text)| format!("{indent}{label:<14} {text}\n"))
        .collect()
    }
}

/// A payer this crate knows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PayerInfo {
    /// Stable key, e.g. `aetna`.
    pub key: &'static str,
    /// Human name, e.g. `Aetna`.
    pub name: &'static str,
    /// Its deployments.
    pub environments: Vec<EnvironmentInfo>,
    /// FHIR resource types it serves.
    pub resources: &'static [&'static str],
    /// Its quirks, one line each.
    pub quirks: &'static [&'static str],
    /// How a developer gets credentials for it.
    pub registration: Registration,
}

/// What [`by_id`] found: the adapter and what the directory knows about it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Found {
    /// The adapter, ready for `SmartClient::builder`.
    pub adapter: Arc<dyn PayerAdapter>,
    /// The same adapter as data, for adjusting a knob before use.
    pub profile: PayerProfile,
    /// The payer.
    pub payer: PayerInfo,
    /// The deployment.
    pub environment: EnvironmentInfo,
}

struct Source {
    key: &'static str,
    name: &'static str,
    resources: &'static [&'static str],
    quirks: &'static [&'static str],
    registration: Registration,
    environments: fn() -> Vec<(Environment, PayerProfile)>,
}

const SOURCES: &[Source] = &[
    Source {
        key: crate::aetna::KEY,
        name: "Aetna",
        resources: crate::aetna::RESOURCES,
        quirks: crate::aetna::QUIRKS,
        registration: crate::aetna::REGISTRATION,
        environments: crate::aetna::environments,
    },
    Source {
        key: crate::cigna::KEY,
        name: "Cigna",
        resources: crate::cigna::RESOURCES,
        quirks: crate::cigna::QUIRKS,
        registration: crate::cigna::REGISTRATION,
        environments: crate::cigna::environments,
    },
    Source {
        key: crate::unitedhealthcare::KEY,
        name: "UnitedHealthcare (Optum FLEX)",
        resources: crate::unitedhealthcare::RESOURCES,
        quirks: crate::unitedhealthcare::QUIRKS,
        registration: crate::unitedhealthcare::REGISTRATION,
        environments: crate::unitedhealthcare::environments,
    },
    Source {
        key: crate::bluebutton::KEY,
        name: "CMS Blue Button 2.0 (Medicare)",
        resources: crate::bluebutton::RESOURCES,
        quirks: crate::bluebutton::QUIRKS,
        registration: crate::bluebutton::REGISTRATION,
        environments: crate::bluebutton::environments,
    },
    Source {
        key: crate::humana::KEY,
        name: "Humana",
        resources: crate::humana::RESOURCES,
        quirks: crate::humana::QUIRKS,
        registration: crate::humana::REGISTRATION,
        environments: crate::humana::environments,
    },
    Source {
        key: crate::elevance::KEY,
        name: "Elevance Health (Anthem, Wellpoint, ...)",
        resources: crate::elevance::RESOURCES,
        quirks: crate::elevance::QUIRKS,
        registration: crate::elevance::REGISTRATION,
        environments: crate::elevance::environments,
    },
];

fn info(source: &Source, profiles: &[(Environment, PayerProfile)]) -> PayerInfo {
    PayerInfo {
        key: source.key,
        name: source.name,
        environments: profiles
            .iter()
            .map(|(env, p)| EnvironmentInfo {
                id: p.id.clone(),
                environment: *env,
                display_name: p.display_name.clone(),
                fhir_base: p.fhir_base.clone(),
            })
            .collect(),
        resources: source.resources,
        quirks: source.quirks,
        registration: source.registration,
    }
}

/// Every payer this crate has an adapter for.
///
/// ```
/// let payers = payer_quirks::directory();
/// assert!(payers.iter().any(|p| p.key == "aetna"));
/// for payer in &payers {
///     for env in &payer.environments {
///         assert!(payer_quirks::by_id(&env.id).is_some());
///     }
/// }
/// ```
pub fn directory() -> Vec<PayerInfo> {
    SOURCES
        .iter()
        .map(|s| info(s, &(s.environments)()))
        .collect()
}

/// The adapter with this id (`aetna-sandbox`, `cigna-production`, ...), with its directory entry.
///
/// ```
/// use smart_core::PayerAdapter;
/// let found = payer_quirks::by_id("aetna-sandbox").unwrap();
/// assert_eq!(found.adapter.id(), "aetna-sandbox");
/// assert_eq!(found.payer.name, "Aetna");
/// assert!(payer_quirks::by_id("nope").is_none());
/// ```
pub fn by_id(id: &str) -> Option<Found> {
    SOURCES.iter().find_map(|s| {
        let profiles = (s.environments)();
        let (env, profile) = profiles.iter().find(|(_, p)| p.id == id)?;
        let payer = info(s, &profiles);
        let environment = payer.environments.iter().find(|e| e.id == id)?.clone();
        let _ = env;
        Some(Found {
            adapter: Arc::new(profile.clone()),
            profile: profile.clone(),
            payer,
            environment,
        })
    })
}

/// The table of supported payers and their quirks, as Markdown (for a README or a web page).
pub fn markdown_table() -> String {
    let mut out =
        String::from("| Payer | Adapter ids | Resources | Quirks handled |\n|---|---|---|---|\n");
    for p in directory() {
        let ids: Vec<String> = p
            .environments
            .iter()
            .map(|e| format!("`{}`", e.id))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            p.name,
            ids.join(", "),
            p.resources.join(", "),
            p.quirks.join("; ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_published_url_parses_and_every_id_is_unique_and_found() {
        let mut seen = std::collections::HashSet::new();
        for payer in directory() {
            assert!(!payer.environments.is_empty(), "{}", payer.key);
            assert!(!payer.quirks.is_empty() && !payer.resources.is_empty());
            for env in &payer.environments {
                assert!(seen.insert(env.id.clone()), "duplicate id {}", env.id);
                let r = payer.registration;
                for answer in [
                    r.portal,
                    r.process,
                    r.redirect_uris,
                    r.test_members,
                    r.refresh,
                ] {
                    // Every answer carries its confidence mark, or says the record is silent.
                    assert!(
                        [
                            "(doc)", "(code)", "(inf)", "(unv)", "doc)", "code)", "inf)", "unv)"
                        ]
                        .iter()
                        .any(|m| answer.ends_with(m))
                            || answer.contains("not documented publicly"),
                        "{}: {answer}",
                        payer.key
                    );
                }
                assert!(env.id.starts_with(payer.key), "{}", env.id);
                assert_eq!(env.fhir_base.scheme(), "https", "{}", env.id);
                let found = by_id(&env.id).unwrap();
                assert_eq!(found.adapter.id(), env.id);
                assert_eq!(found.adapter.fhir_base(), &env.fhir_base);
                for u in found.adapter.smart_configuration_urls() {
                    assert_eq!(u.scheme(), "https");
                }
            }
        }
        assert!(seen.contains("aetna-sandbox") && seen.contains("cigna-production"));
    }

    #[test]
    fn the_markdown_table_has_one_row_per_payer() {
        let t = markdown_table();
        assert_eq!(t.lines().count(), 2 + directory().len());
        assert!(t.contains("`unitedhealthcare-sandbox`"));
    }
}
