//! SMART discovery: `.well-known/smart-configuration`, the CapabilityStatement's `oauth-uris`, OpenID configuration.

use url::Url;

/// `{fhir_base}/.well-known/smart-configuration`.
pub(crate) fn default_smart_configuration_urls(fhir_base: &Url) -> Vec<Url> {
    let mut u = fhir_base.clone();
    let path = format!(
        "{}/.well-known/smart-configuration",
        fhir_base.path().trim_end_matches('/')
    );
    u.set_path(&path);
    u.set_query(None);
    vec![u]
}
