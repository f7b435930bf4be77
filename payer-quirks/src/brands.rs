//! SMART App Launch 2.2 User Access Brands: the Bundles in which payers and vendors publish their brands (names,
//! aliases, logos, portals) and the FHIR endpoints behind them, so that an app can offer "find your insurer".
//!
//! [`parse_bundle`] reads such a Bundle into [`Brand`]s; [`merge_with_directory`] turns brands into
//! [`DirectoryEntry`]s, one per brand and FHIR endpoint, each with an adapter: the payer module's own when this
//! crate has one for that FHIR base (compared normalized: scheme and host in lower case, default port and
//! trailing `/` dropped), else [`Standard`]. Payers of [`directory()`](crate::directory)
//! that no brand names are listed too, so the result is the whole picker; [`search`] filters it.
//!
//! ```
//! let bundle = r#"{"resourceType": "Bundle", "type": "collection", "entry": [
//!   {"resource": {"resourceType": "Organization", "id": "acme", "name": "Acme Health Plan",
//!     "alias": ["Acme"], "endpoint": [{"reference": "Endpoint/acme-r4"}]}},
//!   {"resource": {"resourceType": "Endpoint", "id": "acme-r4", "status": "active",
//!     "address": "https://fhir.acme.example/r4"}}]}"#;
//! let brands = payer_quirks::brands::parse_bundle(bundle)?;
//! assert_eq!(brands[0].name, "Acme Health Plan");
//! let entries = payer_quirks::brands::merge_with_directory(&brands);
//! let acme = payer_quirks::brands::search(&entries, "acme");
//! assert_eq!(acme.len(), 1);
//! assert!(acme[0].adapter_id.is_none(), "no payer module: the Standard adapter");
//! # Ok::<(), payer_quirks::brands::BrandsError>(())
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use smart_core::{PayerAdapter, Standard};
use url::Url;

const BRAND_EXT: &str = "http://hl7.org/fhir/StructureDefinition/organization-brand";
const PORTAL_EXT: &str = "http://hl7.org/fhir/StructureDefinition/organization-portal";
const FHIR_VERSION_EXT: &str = "http://hl7.org/fhir/StructureDefinition/endpoint-fhir-version";

/// Why a brands Bundle could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrandsError {
    /// Not JSON.
    #[error("the brands bundle is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not a FHIR Bundle.
    #[error("not a FHIR Bundle (resourceType {0:?})")]
    NotABundle(String),
}

/// One FHIR endpoint of a brand.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrandEndpoint {
    /// The FHIR base URL (`Endpoint.address`).
    pub fhir_base: Url,
    /// `Endpoint.name`.
    pub name: Option<String>,
    /// The FHIR version (`endpoint-fhir-version`, e.g. `4.0.1`), when stated.
    pub fhir_version: Option<String>,
}

/// One brand (an `Organization` of the Bundle).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Brand {
    /// `Organization.id`.
    pub id: String,
    /// `Organization.name`.
    pub name: String,
    /// `Organization.alias`: other names members know it by.
    pub aliases: Vec<String>,
    /// The brand logo (`organization-brand` `brandLogo`).
    pub logo: Option<Url>,
    /// The patient portal's name, when published.
    pub portal_name: Option<String>,
    /// The patient portal's URL.
    pub portal_url: Option<Url>,
    /// The brand's website (`telecom` of system `url`).
    pub website: Option<Url>,
    /// The id of the brand this one is part of (`partOf`), if any.
    pub part_of: Option<String>,
    /// Its active FHIR endpoints (its own, its portals', else its parent brand's).
    pub endpoints: Vec<BrandEndpoint>,
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn ref_id(reference: &Value, kind: &str) -> Option<String> {
    let r = str_at(reference, "reference")?;
    let tail = r.rsplit_once(&format!("{kind}/")).map(|(_, t)| t)?;
    Some(tail.split('/').next().unwrap_or(tail).to_owned())
}

fn sub_extensions<'a>(ext: &'a Value, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    ext.get("extension")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |e| str_at(e, "url") == Some(name))
}

fn url_value(v: &Value) -> Option<Url> {
    str_at(v, "valueUrl")
        .or_else(|| str_at(v, "valueUri"))
        .and_then(|s| Url::parse(s).ok())
}

/// Reads a User Access Brands Bundle: every `Organization` with a name becomes a [`Brand`], with the active
/// `Endpoint`s it (or one of its portals, or else the brand it is part of) references. Lenient: entries of
/// other types, unparsable URLs and dangling references are skipped.
pub fn parse_bundle(json: &str) -> Result<Vec<Brand>, BrandsError> {
    let doc: Value = serde_json::from_str(json)?;
    let kind = str_at(&doc, "resourceType").unwrap_or_default();
    if kind != "Bundle" {
        return Err(BrandsError::NotABundle(kind.to_owned()));
    }
    let resources: Vec<&Value> = doc
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("resource"))
        .collect();
    let mut endpoints: HashMap<String, BrandEndpoint> = HashMap::new();
    for r in resources
        .iter()
        .filter(|r| str_at(r, "resourceType") == Some("Endpoint"))
    {
        let active = str_at(r, "status").is_none_or(|s| s == "active");
        let (Some(id), Some(base), true) = (
            str_at(r, "id"),
            str_at(r, "address").and_then(|a| Url::parse(a).ok()),
            active,
        ) else {
            continue;
        };
        let fhir_version = r
            .get("extension")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|e| str_at(e, "url") == Some(FHIR_VERSION_EXT))
            .and_then(|e| str_at(e, "valueCode"))
            .map(str::to_owned);
        endpoints.insert(
            id.to_owned(),
            BrandEndpoint {
                fhir_base: base,
                name: str_at(r, "name").map(str::to_owned),
                fhir_version,
            },
        );
    }
    let mut brands = Vec::new();
    for r in resources
        .iter()
        .filter(|r| str_at(r, "resourceType") == Some("Organization"))
    {
        let (Some(id), Some(name)) = (str_at(r, "id"), str_at(r, "name")) else {
            continue;
        };
        let extensions: Vec<&Value> = r
            .get("extension")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        let brand_ext = extensions
            .iter()
            .find(|e| str_at(e, "url") == Some(BRAND_EXT));
        let portal = extensions
            .iter()
            .find(|e| str_at(e, "url") == Some(PORTAL_EXT));
        let mut refs: Vec<String> = r
            .get("endpoint")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| ref_id(e, "Endpoint"))
            .collect();
        for p in extensions
            .iter()
            .filter(|e| str_at(e, "url") == Some(PORTAL_EXT))
        {
            refs.extend(
                sub_extensions(p, "portalEndpoint")
                    .filter_map(|e| e.get("valueReference"))
                    .filter_map(|e| ref_id(e, "Endpoint")),
            );
        }
        let mut own: Vec<BrandEndpoint> = Vec::new();
        for id in refs {
            if let Some(ep) = endpoints.get(&id)
                && !own.contains(ep)
            {
                own.push(ep.clone());
            }
        }
        brands.push(Brand {
            id: id.to_owned(),
            name: name.to_owned(),
            aliases: r
                .get("alias")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            logo: brand_ext
                .and_then(|b| sub_extensions(b, "brandLogo").next())
                .and_then(url_value),
            portal_name: portal
                .and_then(|p| sub_extensions(p, "portalName").next())
                .and_then(|e| str_at(e, "valueString"))
                .map(str::to_owned),
            portal_url: portal
                .and_then(|p| sub_extensions(p, "portalUrl").next())
                .and_then(url_value),
            website: r
                .get("telecom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|t| str_at(t, "system") == Some("url"))
                .and_then(|t| str_at(t, "value"))
                .and_then(|s| Url::parse(s).ok()),
            part_of: r.get("partOf").and_then(|p| ref_id(p, "Organization")),
            endpoints: own,
        });
    }
    // A brand without endpoints of its own is served by the brand it is part of.
    let by_id: HashMap<String, Vec<BrandEndpoint>> = brands
        .iter()
        .map(|b| (b.id.clone(), b.endpoints.clone()))
        .collect();
    for b in &mut brands {
        if b.endpoints.is_empty()
            && let Some(parent) = b.part_of.as_ref().and_then(|p| by_id.get(p))
        {
            b.endpoints = parent.clone();
        }
    }
    Ok(brands)
}

/// `url` as a comparison key: scheme and host lower case, no default port, no query or fragment, no trailing `/`.
pub fn normalize_fhir_base(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    // `Url` already lower-cases the scheme and host and drops a default port when it parses.
    u.as_str().trim_end_matches('/').to_owned()
}

/// One line of the picker: a brand (or a payer of the directory) at one FHIR base, with the adapter to use.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DirectoryEntry {
    /// What the member sees: the brand name (or the adapter's display name).
    pub name: String,
    /// Other names to match a search against (aliases, portal name).
    pub aliases: Vec<String>,
    /// The brand logo, when published.
    pub logo: Option<Url>,
    /// The patient portal, when published.
    pub portal_url: Option<Url>,
    /// The FHIR base.
    pub fhir_base: Url,
    /// The payer module's adapter id (for [`by_id`](crate::by_id)) when this crate has an adapter for this FHIR
    /// base; `None` when [`adapter`](Self::adapter) is a [`Standard`] one.
    pub adapter_id: Option<String>,
    /// The adapter for this FHIR base.
    pub adapter: Arc<dyn PayerAdapter>,
}

/// The picker's entries: every brand at each of its R4 (or unversioned) FHIR endpoints, with the adapter of the
/// payer module serving that base or else [`Standard`], followed by every deployment of
/// [`directory()`](crate::directory) that no brand named. Brands at insecure (`http` off loopback) bases are left
/// out.
pub fn merge_with_directory(brands: &[Brand]) -> Vec<DirectoryEntry> {
    let known: Vec<(String, crate::directory::EnvironmentInfo)> = crate::directory()
        .into_iter()
        .flat_map(|p| p.environments)
        .map(|e| (normalize_fhir_base(&e.fhir_base), e))
        .collect();
    let mut used = std::collections::HashSet::new();
    let mut out = Vec::new();
    for brand in brands {
        for ep in &brand.endpoints {
            if ep
                .fhir_version
                .as_deref()
                .is_some_and(|v| !v.starts_with("4."))
            {
                continue;
            }
            let key = normalize_fhir_base(&ep.fhir_base);
            let (adapter_id, adapter): (Option<String>, Arc<dyn PayerAdapter>) =
                match known.iter().find(|(k, _)| *k == key) {
                    Some((_, env)) => match crate::by_id(&env.id) {
                        Some(found) => {
                            used.insert(env.id.clone());
                            (Some(env.id.clone()), found.adapter)
                        }
                        None => continue,
                    },
                    None => match Standard::new(ep.fhir_base.as_str()) {
                        Ok(s) => (None, Arc::new(s.with_id(format!("brand-{}", brand.id)))),
                        Err(e) => {
                            tracing::warn!(brand = %brand.id, error = %e, "brand endpoint skipped");
                            continue;
                        }
                    },
                };
            let mut aliases = brand.aliases.clone();
            aliases.extend(brand.portal_name.clone());
            out.push(DirectoryEntry {
                name: brand.name.clone(),
                aliases,
                logo: brand.logo.clone(),
                portal_url: brand.portal_url.clone(),
                fhir_base: ep.fhir_base.clone(),
                adapter_id,
                adapter,
            });
        }
    }
    for (_, env) in known {
        if used.contains(&env.id) {
            continue;
        }
        if let Some(found) = crate::by_id(&env.id) {
            out.push(DirectoryEntry {
                name: env.display_name.clone(),
                aliases: vec![found.payer.name.to_owned()],
                logo: None,
                portal_url: None,
                fhir_base: env.fhir_base.clone(),
                adapter_id: Some(env.id.clone()),
                adapter: found.adapter,
            });
        }
    }
    out
}

/// The entries whose name or an alias contains every word of `query` (case-insensitive); all of them for an
/// empty query.
pub fn search<'a>(entries: &'a [DirectoryEntry], query: &str) -> Vec<&'a DirectoryEntry> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    entries
        .iter()
        .filter(|e| {
            let haystack = std::iter::once(&e.name)
                .chain(&e.aliases)
                .map(|s| s.to_lowercase())
                .collect::<Vec<_>>()
                .join(" | ");
            words.iter().all(|w| haystack.contains(w.as_str()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(n: u8) -> String {
        let path = format!(
            "{}/tests/fixtures/brands/Bundle-example{n}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_hl7_examples_parse_into_brands_with_endpoints() {
        let b = parse_bundle(&example(2)).unwrap();
        let eh = b.iter().find(|b| b.id == "examplehealth").unwrap();
        assert_eq!(eh.name, "ExampleHealth");
        assert_eq!(
            eh.aliases,
            ["GoodHealth Hospital", "GoodHealth Mental Health"]
        );
        assert_eq!(eh.portal_name.as_deref(), Some("My ExampleHealth Portal"));
        assert!(eh.logo.is_some() && eh.portal_url.is_some());
        let versions: Vec<_> = eh
            .endpoints
            .iter()
            .map(|e| e.fhir_version.as_deref())
            .collect();
        assert!(versions.contains(&Some("4.0.1")) && versions.contains(&Some("1.0.2")));
        // Affiliated brands without their own endpoints are served by the parent's.
        let child = b.iter().find(|b| b.id == "ehchospital").unwrap();
        assert_eq!(child.part_of.as_deref(), Some("examplehealth"));
        assert_eq!(child.endpoints, eh.endpoints);
        for n in 1..=4 {
            let brands = parse_bundle(&example(n)).unwrap();
            assert!(!brands.is_empty(), "example{n}");
            assert!(brands.iter().any(|b| !b.endpoints.is_empty()), "example{n}");
        }
        assert!(matches!(
            parse_bundle(r#"{"resourceType": "Patient"}"#),
            Err(BrandsError::NotABundle(_))
        ));
    }

    #[test]
    fn only_r4_endpoints_become_entries_and_unknown_bases_get_standard() {
        let entries = merge_with_directory(&parse_bundle(&example(2)).unwrap());
        let eh: Vec<_> = entries
            .iter()
            .filter(|e| e.name == "ExampleHealth")
            .collect();
        assert_eq!(eh.len(), 1, "the DSTU2 endpoint is left out");
        assert!(eh[0].fhir_base.as_str().ends_with("/R4"));
        assert!(eh[0].adapter_id.is_none());
        assert_eq!(eh[0].adapter.id(), "brand-examplehealth");
        // The directory's own payers are all there too.
        assert!(
            entries
                .iter()
                .any(|e| e.adapter_id.as_deref() == Some("aetna-sandbox"))
        );
        assert_eq!(search(&entries, "goodhealth mental").len(), 1);
        assert!(search(&entries, "no such insurer").is_empty());
        assert_eq!(search(&entries, "").len(), entries.len());
    }

    /// Elevance's 13 production brands, published as a brands Bundle (the real case): each brand's endpoint is
    /// a base the Elevance module serves, so each gets that module's adapter and none is listed twice.
    #[test]
    fn elevance_brands_get_the_elevance_adapter() {
        let elevance: Vec<_> = crate::directory()
            .into_iter()
            .find(|p| p.key == crate::elevance::KEY)
            .unwrap()
            .environments
            .into_iter()
            .filter(|e| e.environment == crate::Environment::Production)
            .collect();
        assert_eq!(elevance.len(), 13);
        let mut entry = Vec::new();
        for (i, env) in elevance.iter().enumerate() {
            // Written the way a publisher might: upper-case host, explicit default port, trailing slash.
            let base = env
                .fhir_base
                .as_str()
                .replacen("https://totalview", "https://TOTALVIEW", 1);
            let base = base.replacen(".com/", ".com:443/", 1);
            entry.push(serde_json::json!({"resource": {"resourceType": "Organization", "id": format!("b{i}"),
                "name": env.display_name, "endpoint": [{"reference": format!("Endpoint/e{i}")}]}}));
            entry.push(
                serde_json::json!({"resource": {"resourceType": "Endpoint", "id": format!("e{i}"),
                "status": "active", "address": format!("{base}/")}}),
            );
        }
        let bundle =
            serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": entry});
        let entries = merge_with_directory(&parse_bundle(&bundle.to_string()).unwrap());
        for env in &elevance {
            let matching: Vec<_> = entries
                .iter()
                .filter(|e| e.adapter_id.as_deref() == Some(env.id.as_str()))
                .collect();
            assert_eq!(matching.len(), 1, "{}", env.id);
            assert_eq!(matching[0].adapter.id(), env.id);
        }
    }
}
