//! SMART discovery: `.well-known/smart-configuration`, the CapabilityStatement's `oauth-uris`, OpenID configuration.
//!
//! The sources are tried in order until one yields an authorization and a token endpoint (after the adapter's
//! [`EndpointOverrides`] are applied):
//!
//! 1. every URL from [`PayerAdapter::smart_configuration_urls`]
//!    (default `{fhir_base}/.well-known/smart-configuration`);
//! 2. `{fhir_base}/metadata`, reading the `oauth-uris` extension on `rest[].security`;
//! 3. `{issuer}/.well-known/openid-configuration` when the adapter names an
//!    [`oauth_issuer`](crate::PayerAdapter::oauth_issuer) (some payers publish only that).
//!
//! When all fail but the overrides name both endpoints, the overrides alone are used.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::adapter::{EndpointOverrides, PayerAdapter};
use crate::error::{Error, Result, Stage};
use crate::http::{self, ContentKind};
use crate::url_policy::{redact_url, require_secure};

/// The `oauth-uris` extension URL on a CapabilityStatement's `rest[].security`.
pub const OAUTH_URIS_EXTENSION: &str =
    "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

/// Where a [`SmartConfiguration`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscoverySource {
    /// A `.well-known/smart-configuration` document at this URL.
    SmartConfiguration(Url),
    /// The `oauth-uris` extension of the CapabilityStatement at this URL.
    CapabilityStatement(Url),
    /// An OpenID Connect discovery document at this URL.
    OpenIdConfiguration(Url),
    /// The adapter's endpoint overrides alone (nothing could be discovered).
    Overrides,
}

/// A payer's SMART configuration: the endpoints and capabilities the SDK needs, plus every other field the
/// payer sent (in [`extra`](SmartConfiguration::extra)).
///
/// Parsing is lenient: a field of an unexpected type is kept in `extra` rather than failing discovery, and
/// space-separated strings are accepted where arrays are expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SmartConfiguration {
    /// The OAuth issuer (`issuer`), used to check the callback's `iss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Url>,
    /// The authorization endpoint.
    pub authorization_endpoint: Url,
    /// The token endpoint.
    pub token_endpoint: Url,
    /// The RFC 7009 revocation endpoint, when the payer has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<Url>,
    /// The OpenID Connect userinfo endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<Url>,
    /// The introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<Url>,
    /// The dynamic registration endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<Url>,
    /// Where members manage the apps they authorized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_endpoint: Option<Url>,
    /// The JWK set of the authorization server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<Url>,
    /// Client authentication methods the token endpoint accepts (empty: not advertised).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Scopes the server advertises.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// Response types the server advertises.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_types_supported: Vec<String>,
    /// Grant types the server advertises.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types_supported: Vec<String>,
    /// PKCE methods the server advertises (SMART servers must list `S256`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
    /// SMART capabilities such as `launch-standalone`, `client-public`, `permission-offline`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Where this configuration came from (not serialized).
    #[serde(skip, default = "overrides_source")]
    pub source: DiscoverySource,
}

impl std::fmt::Display for DiscoverySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiscoverySource::SmartConfiguration(u) => {
                write!(f, "smart-configuration at {}", redact_url(u))
            }
            DiscoverySource::CapabilityStatement(u) => {
                write!(f, "CapabilityStatement oauth-uris at {}", redact_url(u))
            }
            DiscoverySource::OpenIdConfiguration(u) => {
                write!(f, "openid-configuration at {}", redact_url(u))
            }
            DiscoverySource::Overrides => f.write_str("the adapter's endpoint overrides"),
        }
    }
}

fn overrides_source() -> DiscoverySource {
    DiscoverySource::Overrides
}

/// A configuration under construction: every field optional, so that overrides can fill gaps.
#[derive(Debug, Default)]
struct Partial {
    issuer: Option<Url>,
    authorization_endpoint: Option<Url>,
    token_endpoint: Option<Url>,
    revocation_endpoint: Option<Url>,
    userinfo_endpoint: Option<Url>,
    introspection_endpoint: Option<Url>,
    registration_endpoint: Option<Url>,
    management_endpoint: Option<Url>,
    jwks_uri: Option<Url>,
    token_endpoint_auth_methods_supported: Vec<String>,
    scopes_supported: Vec<String>,
    response_types_supported: Vec<String>,
    grant_types_supported: Vec<String>,
    code_challenge_methods_supported: Vec<String>,
    capabilities: Vec<String>,
    extra: Map<String, Value>,
}

impl Partial {
    /// Reads a SMART or OpenID configuration document, keeping unknown or ill-typed fields in `extra`.
    fn from_document(doc: Map<String, Value>) -> Self {
        let mut p = Partial::default();
        for (key, value) in doc {
            let slot_url = match key.as_str() {
                "issuer" => Some(&mut p.issuer),
                "authorization_endpoint" => Some(&mut p.authorization_endpoint),
                "token_endpoint" => Some(&mut p.token_endpoint),
                "revocation_endpoint" => Some(&mut p.revocation_endpoint),
                "userinfo_endpoint" => Some(&mut p.userinfo_endpoint),
                "introspection_endpoint" => Some(&mut p.introspection_endpoint),
                "registration_endpoint" => Some(&mut p.registration_endpoint),
                "management_endpoint" => Some(&mut p.management_endpoint),
                "jwks_uri" => Some(&mut p.jwks_uri),
                _ => None,
            };
            if let Some(slot) = slot_url {
                match value.as_str().and_then(|s| Url::parse(s.trim()).ok()) {
                    Some(u) => *slot = Some(u),
                    None => {
                        tracing::debug!(field = %key, "discovery field is not a URL; kept in extra");
                        p.extra.insert(key, value);
                    }
                }
                continue;
            }
            let slot_list = match key.as_str() {
                "token_endpoint_auth_methods_supported" => {
                    Some(&mut p.token_endpoint_auth_methods_supported)
                }
                "scopes_supported" => Some(&mut p.scopes_supported),
                "response_types_supported" => Some(&mut p.response_types_supported),
                "grant_types_supported" => Some(&mut p.grant_types_supported),
                "code_challenge_methods_supported" => Some(&mut p.code_challenge_methods_supported),
                "capabilities" => Some(&mut p.capabilities),
                _ => None,
            };
            match (slot_list, string_list(&value)) {
                (Some(slot), Some(list)) => *slot = list,
                _ => {
                    p.extra.insert(key, value);
                }
            }
        }
        p
    }

    /// Reads the `oauth-uris` extension from a CapabilityStatement. `None` when it has none.
    fn from_capability_statement(cs: &Value) -> Option<Self> {
        let rests = cs.get("rest")?.as_array()?;
        for rest in rests {
            let Some(exts) = rest
                .get("security")
                .and_then(|s| s.get("extension"))
                .and_then(Value::as_array)
            else {
                continue;
            };
            for ext in exts {
                if ext.get("url").and_then(Value::as_str) != Some(OAUTH_URIS_EXTENSION) {
                    continue;
                }
                let mut p = Partial::default();
                for sub in ext
                    .get("extension")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let (Some(name), Some(uri)) = (
                        sub.get("url").and_then(Value::as_str),
                        sub.get("valueUri")
                            .or_else(|| sub.get("valueUrl"))
                            .and_then(Value::as_str)
                            .and_then(|s| Url::parse(s.trim()).ok()),
                    ) else {
                        continue;
                    };
                    match name {
                        "authorize" => p.authorization_endpoint = Some(uri),
                        "token" => p.token_endpoint = Some(uri),
                        "revoke" => p.revocation_endpoint = Some(uri),
                        "register" => p.registration_endpoint = Some(uri),
                        "manage" => p.management_endpoint = Some(uri),
                        "introspect" => p.introspection_endpoint = Some(uri),
                        other => {
                            p.extra
                                .insert(other.to_owned(), Value::String(uri.to_string()));
                        }
                    }
                }
                return Some(p);
            }
        }
        None
    }

    fn apply(&mut self, o: &EndpointOverrides) {
        let set = |slot: &mut Option<Url>, v: &Option<Url>| {
            if let Some(v) = v {
                *slot = Some(v.clone());
            }
        };
        set(&mut self.authorization_endpoint, &o.authorize);
        set(&mut self.token_endpoint, &o.token);
        set(&mut self.revocation_endpoint, &o.revocation);
        set(&mut self.userinfo_endpoint, &o.userinfo);
        set(&mut self.issuer, &o.issuer);
    }

    /// Checks the endpoints that carry secrets and builds the final configuration.
    fn finish(self, source: DiscoverySource) -> std::result::Result<SmartConfiguration, String> {
        let authorization_endpoint = self
            .authorization_endpoint
            .ok_or("no authorization_endpoint")?;
        let token_endpoint = self.token_endpoint.ok_or("no token_endpoint")?;
        for (name, url) in [
            ("authorization_endpoint", Some(&authorization_endpoint)),
            ("token_endpoint", Some(&token_endpoint)),
            ("revocation_endpoint", self.revocation_endpoint.as_ref()),
            ("userinfo_endpoint", self.userinfo_endpoint.as_ref()),
        ] {
            if let Some(url) = url
                && require_secure(url).is_err()
            {
                return Err(format!(
                    "{name} {} is not HTTPS (plain HTTP is allowed only on loopback)",
                    redact_url(url)
                ));
            }
        }
        Ok(SmartConfiguration {
            issuer: self.issuer,
            authorization_endpoint,
            token_endpoint,
            revocation_endpoint: self.revocation_endpoint,
            userinfo_endpoint: self.userinfo_endpoint,
            introspection_endpoint: self.introspection_endpoint,
            registration_endpoint: self.registration_endpoint,
            management_endpoint: self.management_endpoint,
            jwks_uri: self.jwks_uri,
            token_endpoint_auth_methods_supported: self.token_endpoint_auth_methods_supported,
            scopes_supported: self.scopes_supported,
            response_types_supported: self.response_types_supported,
            grant_types_supported: self.grant_types_supported,
            code_challenge_methods_supported: self.code_challenge_methods_supported,
            capabilities: self.capabilities,
            extra: self.extra,
            source,
        })
    }
}

/// An array of strings, or one space-separated string.
fn string_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
        _ => None,
    }
}

impl SmartConfiguration {
    /// A configuration with just the two required endpoints (for tests and for payers configured by hand).
    pub fn new(authorization_endpoint: Url, token_endpoint: Url) -> Self {
        Self {
            issuer: None,
            authorization_endpoint,
            token_endpoint,
            revocation_endpoint: None,
            userinfo_endpoint: None,
            introspection_endpoint: None,
            registration_endpoint: None,
            management_endpoint: None,
            jwks_uri: None,
            token_endpoint_auth_methods_supported: Vec::new(),
            scopes_supported: Vec::new(),
            response_types_supported: Vec::new(),
            grant_types_supported: Vec::new(),
            code_challenge_methods_supported: Vec::new(),
            capabilities: Vec::new(),
            extra: Map::new(),
            source: DiscoverySource::Overrides,
        }
    }

    /// Reads a `.well-known/smart-configuration` or OpenID configuration document leniently.
    ///
    /// ```
    /// let doc = serde_json::json!({
    ///     "authorization_endpoint": "https://auth.example/authorize",
    ///     "token_endpoint": "https://auth.example/token",
    ///     "capabilities": ["launch-standalone", "client-public"],
    ///     "x-payer-note": "kept"
    /// });
    /// let cfg = smart_core::SmartConfiguration::from_json(doc).unwrap();
    /// assert!(cfg.has_capability("client-public"));
    /// assert_eq!(cfg.extra["x-payer-note"], "kept");
    /// ```
    pub fn from_json(doc: Value) -> Result<Self> {
        let Value::Object(map) = doc else {
            return Err(Error::Config(
                "a SMART configuration must be a JSON object".into(),
            ));
        };
        Partial::from_document(map)
            .finish(DiscoverySource::Overrides)
            .map_err(|reason| Error::Discovery {
                reason,
                tried: Vec::new(),
            })
    }

    /// True when `capabilities` lists `capability`.
    pub fn has_capability(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// Where this configuration came from.
    pub fn source(&self) -> &DiscoverySource {
        &self.source
    }
}

/// `{fhir_base}/.well-known/smart-configuration`.
pub(crate) fn default_smart_configuration_urls(fhir_base: &Url) -> Vec<Url> {
    vec![join_path(fhir_base, ".well-known/smart-configuration")]
}

/// `base` with `segment` appended to its path (one `/` between), no query or fragment.
pub(crate) fn join_path(base: &Url, segment: &str) -> Url {
    let mut u = base.clone();
    let path = format!("{}/{}", base.path().trim_end_matches('/'), segment);
    u.set_path(&path);
    u.set_query(None);
    u.set_fragment(None);
    u
}

/// Runs discovery for `adapter` (see the module docs for the order).
pub(crate) async fn discover(
    http: &reqwest::Client,
    adapter: &dyn PayerAdapter,
    max_body: usize,
    timeout: std::time::Duration,
) -> Result<SmartConfiguration> {
    let overrides = adapter.endpoint_overrides();
    let mut tried = Vec::new();
    // (URL, why) per place tried; joined into one short reason at the end.
    let mut reasons: Vec<(String, String)> = Vec::new();

    let mut attempt = |url: &Url, outcome: std::result::Result<Partial, String>, source| {
        tried.push(redact_url(url));
        let result = outcome.and_then(|mut p| {
            p.apply(&overrides);
            p.finish(source)
        });
        match result {
            Ok(cfg) => Some(cfg),
            Err(reason) => {
                tracing::debug!(url = %redact_url(url), %reason, "discovery source unusable");
                reasons.push((redact_url(url), reason));
                None
            }
        }
    };

    for url in adapter.smart_configuration_urls() {
        let outcome = fetch_json(http, &url, "application/json", max_body, timeout)
            .await
            .and_then(|v| match v {
                Value::Object(map) => Ok(Partial::from_document(map)),
                _ => Err("not a JSON object".to_owned()),
            });
        if let Some(cfg) = attempt(
            &url,
            outcome,
            DiscoverySource::SmartConfiguration(url.clone()),
        ) {
            return Ok(cfg);
        }
    }

    let metadata = join_path(adapter.fhir_base(), "metadata");
    let outcome = fetch_json(http, &metadata, "application/fhir+json", max_body, timeout)
        .await
        .and_then(|cs| {
            Partial::from_capability_statement(&cs)
                .ok_or_else(|| "the CapabilityStatement has no oauth-uris extension".to_owned())
        });
    if let Some(cfg) = attempt(
        &metadata,
        outcome,
        DiscoverySource::CapabilityStatement(metadata.clone()),
    ) {
        return Ok(cfg);
    }

    if let Some(issuer) = adapter.oauth_issuer() {
        let url = join_path(&issuer, ".well-known/openid-configuration");
        let outcome = fetch_json(http, &url, "application/json", max_body, timeout)
            .await
            .and_then(|v| match v {
                Value::Object(map) => Ok(Partial::from_document(map)),
                _ => Err("not a JSON object".to_owned()),
            });
        if let Some(cfg) = attempt(
            &url,
            outcome,
            DiscoverySource::OpenIdConfiguration(url.clone()),
        ) {
            return Ok(cfg);
        }
    }

    if overrides.authorize.is_some() && overrides.token.is_some() {
        let mut p = Partial::default();
        p.apply(&overrides);
        match p.finish(DiscoverySource::Overrides) {
            Ok(cfg) => {
                tracing::warn!(
                    tried = ?tried,
                    "nothing could be discovered; using the adapter's endpoint overrides alone"
                );
                return Ok(cfg);
            }
            Err(reason) => reasons.push(("endpoint overrides".into(), reason)),
        }
    }

    Err(Error::Discovery {
        reason: summarize(&reasons),
        tried,
    })
}

/// One line naming each place once: `could not connect: URL, URL` when every place failed the same way,
/// else `URL: why; URL: why`.
fn summarize(reasons: &[(String, String)]) -> String {
    match reasons {
        [] => "the adapter names no place to look".into(),
        [(_, first), rest @ ..] if !rest.is_empty() && rest.iter().all(|(_, why)| why == first) => {
            let places: Vec<&str> = reasons.iter().map(|(url, _)| url.as_str()).collect();
            format!("{first}: {}", places.join(", "))
        }
        _ => reasons
            .iter()
            .map(|(url, why)| format!("{url}: {why}"))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// GETs `url` and returns its JSON body, or why it is unusable (a short reason for [`Error::Discovery`]).
async fn fetch_json(
    http: &reqwest::Client,
    url: &Url,
    accept: &str,
    max_body: usize,
    timeout: std::time::Duration,
) -> std::result::Result<Value, String> {
    // Discovery documents carry no secret, so a few redirects are followed here by hand (the SDK's client
    // follows none), each checked for HTTPS: some servers redirect `.well-known` paths or `metadata`.
    const MAX_REDIRECTS: usize = 3;
    let mut current = url.clone();
    let mut hops = 0;
    let received = loop {
        let request = http
            .get(current.clone())
            .timeout(timeout)
            .header(reqwest::header::ACCEPT, accept);
        // The reason is shown next to the URL: a transport failure says what happened, not the URL again.
        let received = http::send(http, request, Stage::Discovery, max_body)
            .await
            .map_err(|e| match e {
                Error::Transport { kind, .. } => kind.to_string(),
                other => other.to_string(),
            })?;
        if !received.status.is_redirection() {
            break received;
        }
        let location = received
            .headers
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| current.join(l).ok());
        match location {
            Some(next) if hops < MAX_REDIRECTS => {
                require_secure(&next).map_err(|e| format!("redirected to an insecure URL: {e}"))?;
                tracing::debug!(to = %redact_url(&next), "discovery document redirected");
                current = next;
                hops += 1;
            }
            Some(_) => return Err(format!("more than {MAX_REDIRECTS} redirects")),
            None => {
                return Err(format!(
                    "HTTP {} without a usable Location",
                    received.status.as_u16()
                ));
            }
        }
    };
    if !received.status.is_success() {
        return Err(format!("HTTP {}", received.status.as_u16()));
    }
    match received.kind() {
        ContentKind::Html | ContentKind::Xml => {
            return Err(format!(
                "not JSON (content-type {:?}): {}",
                received.content_type().unwrap_or("none"),
                http::excerpt(&received.body)
            ));
        }
        ContentKind::Json | ContentKind::Other => {}
    }
    serde_json::from_slice(&received.body).map_err(|e| {
        format!(
            "malformed JSON ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn smart_configuration_keeps_unknown_and_ill_typed_fields() {
        let cfg = SmartConfiguration::from_json(json!({
            "issuer": "https://auth.example",
            "authorization_endpoint": "https://auth.example/authorize",
            "token_endpoint": "https://auth.example/token",
            "scopes_supported": "openid launch/patient",
            "capabilities": 42,
            "custom": {"a": 1}
        }))
        .unwrap();
        assert_eq!(cfg.scopes_supported, ["openid", "launch/patient"]);
        assert!(cfg.capabilities.is_empty());
        assert_eq!(cfg.extra["capabilities"], 42);
        assert_eq!(cfg.extra["custom"]["a"], 1);
        let round = serde_json::to_value(&cfg).unwrap();
        assert_eq!(round["custom"]["a"], 1);
    }

    #[test]
    fn missing_token_endpoint_is_a_discovery_error() {
        let err = SmartConfiguration::from_json(json!({
            "authorization_endpoint": "https://auth.example/authorize"
        }))
        .unwrap_err();
        assert!(err.to_string().contains("no token_endpoint"), "{err}");
    }

    #[test]
    fn insecure_token_endpoint_is_refused() {
        let err = SmartConfiguration::from_json(json!({
            "authorization_endpoint": "https://auth.example/authorize",
            "token_endpoint": "http://auth.example/token"
        }))
        .unwrap_err();
        assert!(err.to_string().contains("not HTTPS"), "{err}");
    }

    #[test]
    fn oauth_uris_are_read_from_any_rest_entry() {
        let cs = json!({
            "resourceType": "CapabilityStatement",
            "rest": [
                {"mode": "client"},
                {"mode": "server", "security": {"extension": [
                    {"url": "http://example.org/other"},
                    {"url": OAUTH_URIS_EXTENSION, "extension": [
                        {"url": "authorize", "valueUri": "https://a.example/auth"},
                        {"url": "token", "valueUri": "https://a.example/token"},
                        {"url": "revoke", "valueUri": "https://a.example/revoke"}
                    ]}
                ]}}
            ]
        });
        let p = Partial::from_capability_statement(&cs).unwrap();
        let cfg = p.finish(DiscoverySource::Overrides).unwrap();
        assert_eq!(cfg.token_endpoint.as_str(), "https://a.example/token");
        assert_eq!(
            cfg.revocation_endpoint.unwrap().as_str(),
            "https://a.example/revoke"
        );
    }

    #[test]
    fn join_path_handles_trailing_slashes() {
        let base = Url::parse("https://x.example/fhir/").unwrap();
        assert_eq!(
            join_path(&base, "metadata").as_str(),
            "https://x.example/fhir/metadata"
        );
        let root = Url::parse("https://x.example").unwrap();
        assert_eq!(
            join_path(&root, ".well-known/openid-configuration").as_str(),
            "https://x.example/.well-known/openid-configuration"
        );
    }
}
