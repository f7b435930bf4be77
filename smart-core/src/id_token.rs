//! OpenID Connect id tokens, verified before any claim is used: the signature against the issuer's JWKS
//! (discovery's `jwks_uri`, cached per client, fetched again once when a token names an unknown `kid`), `iss`,
//! `aud` (and `azp` when there are several audiences), `exp` and `iat` within [`CLOCK_SKEW`], and the `nonce`
//! the SDK sent on the authorize request.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use url::Url;

use crate::error::{Error, Result, Stage};
use crate::http::{self, ContentKind};
use crate::jose;
use crate::url_policy::require_secure;

/// How far the payer's clock may be from ours for `exp` and `iat`.
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// What the SDK does with an id token it cannot verify because the payer publishes no `jwks_uri`.
///
/// A token that *can* be checked and fails is always an error, whatever the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdTokenPolicy {
    /// Fail with [`Error::InvalidIdToken`] (the default).
    #[default]
    Verify,
    /// Opt-out for a payer known to publish no JWKS: accept its id token unverified (a warning is logged), as
    /// the SDK did before it verified id tokens. The patient id read from it is then only as good as the TLS
    /// connection it came over. Document the reason next to the override.
    AllowUnverifiedWithoutJwks,
}

/// The keys of one JWKS document, as JSON objects.
type Keys = Arc<Vec<Map<String, Value>>>;

/// The issuer's keys, fetched on first use.
#[derive(Debug, Default)]
pub(crate) struct JwksCache {
    keys: Mutex<Option<Keys>>,
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidIdToken {
        reason: reason.into(),
    }
}

/// What a verified id token must say.
pub(crate) struct Expected<'a> {
    pub issuer: Option<&'a Url>,
    pub client_id: &'a str,
    pub nonce: Option<&'a SecretString>,
}

/// Where and how to fetch the JWKS.
pub(crate) struct Fetch<'a> {
    pub http: &'a reqwest::Client,
    pub jwks_uri: &'a Url,
    pub max_body: usize,
    pub timeout: Duration,
}

impl JwksCache {
    async fn fetch(&self, f: &Fetch<'_>) -> Result<Keys> {
        require_secure(f.jwks_uri)?;
        let request = f
            .http
            .get(f.jwks_uri.clone())
            .timeout(f.timeout)
            .header(reqwest::header::ACCEPT, "application/json");
        let r = http::send(f.http, request, Stage::Token, f.max_body).await?;
        if !r.status.is_success() || matches!(r.kind(), ContentKind::Html | ContentKind::Xml) {
            return Err(invalid(format!(
                "the issuer's JWKS could not be read (HTTP {})",
                r.status.as_u16()
            )));
        }
        let keys = match serde_json::from_slice::<Value>(&r.body) {
            Ok(Value::Object(mut doc)) => match doc.remove("keys") {
                Some(Value::Array(keys)) => keys
                    .into_iter()
                    .filter_map(|k| match k {
                        Value::Object(m) => Some(m),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
                _ => return Err(invalid("the issuer's JWKS has no `keys` array")),
            },
            _ => return Err(invalid("the issuer's JWKS is not a JSON object")),
        };
        tracing::debug!(keys = keys.len(), "issuer JWKS fetched");
        Ok(Arc::new(keys))
    }

    /// The key for a token with header `kid`/`alg`: from the cache, else from a fresh fetch (once).
    async fn key(&self, f: &Fetch<'_>, kid: Option<&str>, alg: &str) -> Result<Map<String, Value>> {
        let mut cached = self.keys.lock().await;
        let mut fetched = false;
        if cached.is_none() {
            *cached = Some(self.fetch(f).await?);
            fetched = true;
        }
        loop {
            let keys = cached.as_ref().map(Arc::clone).unwrap_or_default();
            match select_key(&keys, kid, alg) {
                Some(k) => return Ok(k.clone()),
                None if !fetched => {
                    // An unknown kid: the issuer may have rotated its keys since they were cached.
                    *cached = Some(self.fetch(f).await?);
                    fetched = true;
                }
                None => {
                    return Err(invalid(match kid {
                        Some(kid) => format!("no key with kid {kid:?} in the issuer's JWKS"),
                        None => {
                            "the token names no kid and the issuer's JWKS has no single key for it"
                                .into()
                        }
                    }));
                }
            }
        }
    }
}

/// The key named by `kid`, or without a kid the only signing key of the algorithm's type.
fn select_key<'k>(
    keys: &'k [Map<String, Value>],
    kid: Option<&str>,
    alg: &str,
) -> Option<&'k Map<String, Value>> {
    let str_of = |k: &'k Map<String, Value>, f: &str| k.get(f).and_then(Value::as_str);
    let signing = |k: &&'k Map<String, Value>| str_of(k, "use").is_none_or(|u| u == "sig");
    match kid {
        Some(kid) => keys
            .iter()
            .filter(signing)
            .find(|k| str_of(k, "kid") == Some(kid)),
        None => {
            let kty = if alg.starts_with("ES") { "EC" } else { "RSA" };
            let mut candidates = keys
                .iter()
                .filter(signing)
                .filter(|k| str_of(k, "kty") == Some(kty));
            let first = candidates.next()?;
            candidates.next().is_none().then_some(first)
        }
    }
}

/// Verifies `id_token` and returns its claims.
pub(crate) async fn verify(
    cache: &JwksCache,
    fetch: &Fetch<'_>,
    id_token: &SecretString,
    expected: &Expected<'_>,
) -> Result<Map<String, Value>> {
    let jws = jose::parse_jws(id_token.expose_secret())
        .ok_or_else(|| invalid("not a signed JWT (JWS compact serialization)"))?;
    let alg = jws
        .header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the header names no alg"))?;
    if alg == "none" || alg.starts_with("HS") {
        return Err(invalid(format!(
            "alg {alg} is not accepted (an id token must be signed with the issuer's key)"
        )));
    }
    let kid = jws.header.get("kid").and_then(Value::as_str);
    let key = cache.key(fetch, kid, alg).await?;
    jose::verify_signature(&key, alg, jws.signing_input.as_bytes(), &jws.signature)
        .map_err(invalid)?;
    check_claims(&jws.claims, expected, SystemTime::now())?;
    Ok(jws.claims)
}

fn unix(claims: &Map<String, Value>, name: &str) -> Result<u64> {
    match claims.get(name) {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .ok_or_else(|| invalid(format!("`{name}` is not a time"))),
        _ => Err(invalid(format!("no `{name}`"))),
    }
}

/// The claim checks of OpenID Connect Core §3.1.3.7 that apply to a code-flow id token.
pub(crate) fn check_claims(
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
    now: SystemTime,
) -> Result<()> {
    let issuer = expected.issuer.ok_or_else(|| {
        invalid("the issuer is unknown (discovery named none), so `iss` cannot be checked")
    })?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("no `iss`"))?;
    if iss.trim_end_matches('/') != issuer.as_str().trim_end_matches('/') {
        return Err(invalid(format!(
            "iss {iss:?} is not the discovered issuer {:?}",
            issuer.as_str()
        )));
    }
    let auds: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Err(invalid("no `aud`")),
    };
    if !auds.contains(&expected.client_id) {
        return Err(invalid("`aud` does not name this client"));
    }
    if auds.len() > 1 && claims.get("azp").and_then(Value::as_str) != Some(expected.client_id) {
        return Err(invalid("several audiences and `azp` is not this client"));
    }
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let skew = CLOCK_SKEW.as_secs();
    if unix(claims, "exp")?.saturating_add(skew) <= now {
        return Err(invalid("expired (`exp`)"));
    }
    if unix(claims, "iat")? > now.saturating_add(skew) {
        return Err(invalid("issued in the future (`iat`)"));
    }
    if let Some(nonce) = expected.nonce {
        use subtle::ConstantTimeEq;
        let got = claims
            .get("nonce")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let same: bool = got
            .as_bytes()
            .ct_eq(nonce.expose_secret().as_bytes())
            .into();
        if !same {
            return Err(invalid(
                "`nonce` is not the one sent on the authorize request",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn claim_checks() {
        let issuer = Url::parse("https://auth.example/").unwrap();
        let nonce = SecretString::from("n-1");
        let expected = Expected {
            issuer: Some(&issuer),
            client_id: "app",
            nonce: Some(&nonce),
        };
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let good = json!({"iss": "https://auth.example", "aud": "app", "exp": 1_000_100, "iat": 999_990, "nonce": "n-1"});
        check_claims(&claims(good.clone()), &expected, now).unwrap();
        for (field, value, needle) in [
            ("iss", json!("https://evil.example"), "iss"),
            ("aud", json!("other"), "aud"),
            ("aud", json!(["app", "other"]), "azp"),
            ("exp", json!(999_900), "expired"),
            ("iat", json!(1_000_500), "future"),
            ("nonce", json!("n-2"), "nonce"),
            ("exp", json!("soon"), "exp"),
        ] {
            let mut c = claims(good.clone());
            c.insert(field.into(), value.clone());
            let err = check_claims(&c, &expected, now).unwrap_err();
            assert!(err.to_string().contains(needle), "{field}={value}: {err}");
        }
        // Within the skew: accepted.
        let mut c = claims(good.clone());
        c.insert("exp".into(), json!(999_950));
        check_claims(&c, &expected, now).unwrap();
        // A missing nonce when one was sent.
        let mut c = claims(good);
        c.remove("nonce");
        assert!(check_claims(&c, &expected, now).is_err());
    }

    #[test]
    fn key_selection_by_kid_or_single_key() {
        let keys = vec![
            claims(json!({"kty": "RSA", "kid": "a", "use": "sig"})),
            claims(json!({"kty": "RSA", "kid": "b", "use": "enc"})),
            claims(json!({"kty": "EC", "kid": "c"})),
        ];
        assert_eq!(select_key(&keys, Some("a"), "RS256").unwrap()["kid"], "a");
        assert!(
            select_key(&keys, Some("b"), "RS256").is_none(),
            "encryption key"
        );
        assert_eq!(select_key(&keys, None, "ES384").unwrap()["kid"], "c");
        assert_eq!(select_key(&keys, None, "RS256").unwrap()["kid"], "a");
        assert!(select_key(&keys, Some("z"), "RS256").is_none());
    }
}
