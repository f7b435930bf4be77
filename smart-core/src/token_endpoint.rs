//! Talking to the token endpoint: client authentication, the form request, and a lenient parser for answers.
//!
//! The `oauth2` crate's token request is not used: it always form-encodes and rejects `expires_in` sent as a
//! string, both of which real payers need. Redirects are never followed here (a 3xx is
//! [`TransportKind::Redirect`]), and the body of a successful token response never reaches an error message.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use url::Url;

use crate::adapter::{ClientAuth, PayerAdapter, TokenRequestFormat};
use crate::claims::scalar_string;
use crate::error::{Error, Result, Stage, TransportKind};
use crate::http::{self, ContentKind, Received};
use crate::serde_util;
use crate::tokens::TokenSet;
use crate::url_policy::redact_url;

/// The client authentication actually used for one request, after [`ClientAuth::Auto`] is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResolvedAuth {
    Basic,
    Post,
    Public,
}

/// Resolves the adapter's choice against discovery and whether a secret is configured.
pub(crate) fn resolve_auth(
    configured: ClientAuth,
    advertised: &[String],
    has_secret: bool,
) -> ResolvedAuth {
    match configured {
        ClientAuth::ClientSecretBasic if has_secret => ResolvedAuth::Basic,
        ClientAuth::ClientSecretPost if has_secret => ResolvedAuth::Post,
        ClientAuth::None => ResolvedAuth::Public,
        // The builder refuses Basic/Post without a secret; be safe anyway.
        ClientAuth::ClientSecretBasic | ClientAuth::ClientSecretPost => ResolvedAuth::Public,
        _ if !has_secret => ResolvedAuth::Public,
        _ => {
            let says = |m: &str| advertised.iter().any(|a| a == m);
            if advertised.is_empty() || says("client_secret_basic") {
                ResolvedAuth::Basic
            } else if says("client_secret_post") {
                ResolvedAuth::Post
            } else {
                // Only methods we cannot do (private_key_jwt...) are advertised: Basic is the RFC 6749 default
                // every server must support for secrets.
                ResolvedAuth::Basic
            }
        }
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` per RFC 6749 §2.3.1 (form-urlencoding, so a space is `+`).
pub(crate) fn basic_auth_header(client_id: &str, secret: &SecretString) -> Result<HeaderValue> {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", enc(client_id), enc(secret.expose_secret()));
    let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(credentials)))
        .map_err(|_| Error::Config("the client credentials cannot be sent in a header".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// What the token endpoint is asked for.
pub(crate) struct TokenCall<'a> {
    pub http: &'a reqwest::Client,
    pub adapter: &'a dyn PayerAdapter,
    pub endpoint: &'a Url,
    pub auth: ResolvedAuth,
    pub client_id: &'a str,
    pub client_secret: Option<&'a SecretString>,
    pub max_body: usize,
    pub timeout: std::time::Duration,
}

impl TokenCall<'_> {
    /// POSTs `params` (plus client authentication) to the token endpoint and returns the raw answer, or the
    /// transport, redirect or OAuth error.
    async fn post(
        &self,
        mut params: Vec<(&str, &str)>,
        format: TokenRequestFormat,
    ) -> Result<Received> {
        let mut request = self
            .http
            .post(self.endpoint.clone())
            .timeout(self.timeout)
            .header(ACCEPT, "application/json");
        match (self.auth, self.client_secret) {
            (ResolvedAuth::Basic, Some(secret)) => {
                request = request.header(AUTHORIZATION, basic_auth_header(self.client_id, secret)?);
            }
            (ResolvedAuth::Post, Some(secret)) => {
                params.push(("client_id", self.client_id));
                params.push(("client_secret", secret.expose_secret()));
            }
            _ => params.push(("client_id", self.client_id)),
        }
        let request = match format {
            TokenRequestFormat::Json => {
                let body: serde_json::Map<String, Value> = params
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
                    .collect();
                request.json(&body)
            }
            _ => request.form(&params),
        };
        let received = http::send(self.http, request, Stage::Token, self.max_body).await?;
        if received.status.is_redirection() {
            return Err(Error::Transport {
                stage: Stage::Token,
                url: redact_url(self.endpoint),
                kind: TransportKind::Redirect,
                source: None,
            });
        }
        Ok(received)
    }

    /// Sends a token request (code exchange or refresh) and parses the answer into a token set.
    /// `requested_scopes` stand in for a missing `scope`.
    pub(crate) async fn request_tokens(
        &self,
        params: Vec<(&str, &str)>,
        requested_scopes: &[String],
    ) -> Result<TokenSet> {
        let received = self
            .post(params, self.adapter.token_request_format())
            .await?;
        self.answer(&received, requested_scopes)
    }

    /// What a token endpoint's answer (any status) becomes: the tokens, an OAuth error, or an unexpected
    /// response. The fuzz target `token_response` drives this (see `crate::__fuzz`).
    pub(crate) fn answer(
        &self,
        received: &Received,
        requested_scopes: &[String],
    ) -> Result<TokenSet> {
        let doc = self.json_object(received)?;
        if !received.status.is_success()
            || (doc.get("error").is_some() && doc.get("access_token").is_none())
        {
            return Err(self.oauth_error(received, &doc));
        }
        parse_token_response(doc, requested_scopes)
    }

    /// Sends an RFC 7009 revocation request. Success is any 2xx (the server answers 200 for unknown tokens too).
    pub(crate) async fn revoke(&self, token: &SecretString, hint: &str) -> Result<()> {
        let received = self
            .post(
                vec![("token", token.expose_secret()), ("token_type_hint", hint)],
                TokenRequestFormat::Form,
            )
            .await?;
        if received.status.is_success() {
            return Ok(());
        }
        match self.json_object(&received) {
            Ok(doc) => Err(self.oauth_error(&received, &doc)),
            Err(e) => Err(e),
        }
    }

    /// The body as a JSON object, leniently: any JSON content type, or none/`text/plain` when the body parses.
    /// HTML and XML pages, and bodies that are not a JSON object, become [`Error::UnexpectedResponse`] (with the
    /// body withheld when the status was a success, since it might hold tokens).
    fn json_object(&self, r: &Received) -> Result<Map<String, Value>> {
        let unexpected = || {
            if r.status.is_success() {
                match r.kind() {
                    // A login or gateway page is useful to see, and holds no tokens worth the name.
                    ContentKind::Html | ContentKind::Xml => {
                        r.unexpected(Stage::Token, self.adapter)
                    }
                    _ => r.unexpected_withheld(Stage::Token, self.adapter),
                }
            } else {
                r.unexpected(Stage::Token, self.adapter)
            }
        };
        match r.kind() {
            ContentKind::Html | ContentKind::Xml => return Err(unexpected()),
            ContentKind::Json | ContentKind::Other => {}
        }
        match serde_json::from_slice::<Value>(&r.body) {
            Ok(Value::Object(map)) => {
                if r.kind() == ContentKind::Other {
                    tracing::debug!(
                        content_type = r.content_type().unwrap_or("none"),
                        "token endpoint sent JSON under a non-JSON content type; accepted"
                    );
                }
                Ok(map)
            }
            Ok(_) if r.status.is_success() => Err(Error::InvalidTokenResponse(
                "the token response is JSON but not an object".into(),
            )),
            Err(e) if r.status.is_success() && r.kind() == ContentKind::Json => {
                // Name the syntax problem, never the content.
                Err(Error::InvalidTokenResponse(format!(
                    "the token response is not valid JSON ({:?} error at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                )))
            }
            _ => Err(unexpected()),
        }
    }

    /// An OAuth error body (or an error status without one) as a typed error with the adapter's hint.
    fn oauth_error(&self, r: &Received, doc: &Map<String, Value>) -> Error {
        let Some(error) = doc.get("error").and_then(Value::as_str) else {
            return if r.status.is_success() {
                r.unexpected_withheld(Stage::Token, self.adapter)
            } else {
                r.unexpected(Stage::Token, self.adapter)
            };
        };
        let description = doc
            .get("error_description")
            .and_then(Value::as_str)
            .map(|d| truncate(&http::redact_secrets(d), 300));
        // The code is the server's text too: some echo the request in it.
        let error = truncate(&http::redact_secrets(error), 100);
        let payer_hint = self
            .adapter
            .explain_oauth_error(&error, description.as_deref());
        Error::OAuth {
            status: r.status.as_u16(),
            error,
            description,
            payer_hint,
        }
    }
}

/// At most `max` characters of `s`.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Parses a successful token response leniently into a [`TokenSet`]:
/// `expires_in` as a number or numeric string, `token_type` in any case, a missing `scope` meaning what was
/// requested, `access_grant_expiration` as an RFC 3339 date or unix seconds, and unknown fields kept.
pub(crate) fn parse_token_response(
    mut doc: Map<String, Value>,
    requested_scopes: &[String],
) -> Result<TokenSet> {
    let invalid = |m: &str| Error::InvalidTokenResponse(m.to_owned());
    let access_token = match doc.remove("access_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => SecretString::from(s),
        Some(_) => return Err(invalid("`access_token` is empty or not a string")),
        None => return Err(invalid("no `access_token` in the token response")),
    };
    let token_type = match doc.remove("token_type") {
        Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => "Bearer".to_owned(),
        // Missing: SMART requires it, but Bearer is the only type any payer uses.
        None | Some(Value::Null) => "Bearer".to_owned(),
        Some(Value::String(t)) => {
            return Err(Error::InvalidTokenResponse(format!(
                "unsupported token_type `{}` (only Bearer is supported)",
                truncate(&t, 40)
            )));
        }
        Some(_) => return Err(invalid("`token_type` is not a string")),
    };
    let issued_at = SystemTime::now();
    let expires_at = match doc.remove("expires_in") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let secs = match &v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| invalid("`expires_in` is not a non-negative number of seconds"))?;
            Some(serde_util::add_clamped(
                issued_at,
                Duration::from_secs(secs.min(u32::MAX as f64) as u64),
            ))
        }
    };
    let refresh_token = match doc.remove("refresh_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(SecretString::from(s)),
        None | Some(Value::Null) | Some(Value::String(_)) => None,
        Some(_) => return Err(invalid("`refresh_token` is not a string")),
    };
    let id_token = match doc.remove("id_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(SecretString::from(s)),
        _ => None,
    };
    let scopes = match doc.remove("scope") {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => requested_scopes.to_vec(),
    };
    let patient = doc.remove("patient").as_ref().and_then(scalar_string);
    let encounter = doc.remove("encounter").as_ref().and_then(scalar_string);
    let need_patient_banner = match doc.remove("need_patient_banner") {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    };
    let smart_style_url = match doc.remove("smart_style_url") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let consent_expires_at = match doc.remove("access_grant_expiration") {
        Some(Value::String(s)) => match serde_util::parse_datetime(&s) {
            Some(t) => Some(t),
            None => {
                tracing::warn!("unreadable access_grant_expiration; consent end unknown");
                None
            }
        },
        // Unix seconds, as an integer or (some gateways) a float such as 1767225600.0; a negative or
        // non-finite value means nothing usable, and is said so rather than dropped silently.
        Some(Value::Number(n)) => match n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f.min(serde_util::MAX_UNIX_SECS as f64) as u64)
        }) {
            Some(secs) => Some(serde_util::from_unix(secs)),
            None => {
                tracing::warn!("negative access_grant_expiration; consent end unknown");
                None
            }
        },
        _ => None,
    };
    let mut tokens = TokenSet {
        access_token,
        token_type,
        expires_at,
        refresh_token,
        scopes,
        patient,
        consent_expires_at,
        encounter,
        id_token,
        need_patient_banner,
        smart_style_url,
        issued_at,
        extra: doc,
    };
    if tokens.patient.is_none() {
        tokens.patient = tokens.patient_from_jwts();
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn basic_header_form_encodes_id_and_secret_first() {
        let h = basic_auth_header("my app", &SecretString::from("p@ss w+rd/=:%")).unwrap();
        let expected = format!(
            "Basic {}",
            STANDARD.encode("my+app:p%40ss+w%2Brd%2F%3D%3A%25")
        );
        assert_eq!(h.to_str().unwrap(), expected);
        assert!(h.is_sensitive());
    }

    #[test]
    fn auto_auth_follows_discovery_and_secret() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            resolve_auth(ClientAuth::Auto, &[], true),
            ResolvedAuth::Basic
        );
        assert_eq!(
            resolve_auth(ClientAuth::Auto, &[], false),
            ResolvedAuth::Public
        );
        assert_eq!(
            resolve_auth(ClientAuth::Auto, &s(&["client_secret_post"]), true),
            ResolvedAuth::Post
        );
        assert_eq!(
            resolve_auth(
                ClientAuth::Auto,
                &s(&["client_secret_post", "client_secret_basic"]),
                true
            ),
            ResolvedAuth::Basic
        );
        assert_eq!(
            resolve_auth(
                ClientAuth::ClientSecretPost,
                &s(&["client_secret_basic"]),
                true
            ),
            ResolvedAuth::Post
        );
        assert_eq!(
            resolve_auth(ClientAuth::None, &[], true),
            ResolvedAuth::Public
        );
    }

    #[test]
    fn consent_end_as_integer_or_float_unix_seconds() {
        for (value, want) in [
            (json!(1_893_456_000), Some(1_893_456_000)),
            (json!(1_893_456_000.0), Some(1_893_456_000)),
            (json!(1_893_456_000.75), Some(1_893_456_000)),
            (json!(-5), None),
            (json!(-5.5), None),
        ] {
            let t = parse_token_response(
                obj(json!({"access_token": "a", "access_grant_expiration": value})),
                &[],
            )
            .unwrap();
            assert_eq!(
                t.consent_expires_at(),
                want.map(serde_util::from_unix),
                "{value}"
            );
        }
    }

    #[test]
    fn lenient_token_response() {
        let t = parse_token_response(
            obj(json!({
                "access_token": "at", "token_type": "BEARER", "expires_in": "3600",
                "refresh_token": "rt", "patient": 123, "need_patient_banner": "true",
                "access_grant_expiration": "2030-01-01 00:00:00.5Z", "x_vendor": {"k": 1}
            })),
            &["openid".to_owned()],
        )
        .unwrap();
        assert_eq!(t.token_type(), "Bearer");
        let left = t
            .expires_at()
            .unwrap()
            .duration_since(SystemTime::now())
            .unwrap();
        assert!(left > Duration::from_secs(3590) && left <= Duration::from_secs(3600));
        assert_eq!(t.scopes(), ["openid"]);
        assert_eq!(t.patient(), Some("123"));
        assert_eq!(t.need_patient_banner(), Some(true));
        assert_eq!(
            t.consent_expires_at(),
            Some(serde_util::from_unix(1_893_456_000))
        );
        assert_eq!(t.extra()["x_vendor"]["k"], 1);
        assert!(!t.extra().contains_key("access_token"));
    }

    #[test]
    fn bad_token_responses_are_typed_errors() {
        for (doc, needle) in [
            (json!({"token_type": "Bearer"}), "no `access_token`"),
            (json!({"access_token": ""}), "empty"),
            (
                json!({"access_token": "a", "token_type": "mac"}),
                "unsupported token_type",
            ),
            (
                json!({"access_token": "a", "expires_in": "soon"}),
                "expires_in",
            ),
            (json!({"access_token": "a", "expires_in": -5}), "expires_in"),
        ] {
            let err = parse_token_response(obj(doc.clone()), &[]).unwrap_err();
            assert!(
                matches!(err, Error::InvalidTokenResponse(ref m) if m.contains(needle)),
                "{doc} -> {err}"
            );
        }
    }

    #[test]
    fn arbitrary_json_values_never_panic() {
        use rand::{Rng, SeedableRng};
        let values = [
            json!(null),
            json!(true),
            json!(-1),
            json!(1e300),
            json!(-0.5),
            json!("3600"),
            json!(" 60 "),
            json!(""),
            json!("NaN"),
            json!("inf"),
            json!([]),
            json!({}),
            json!(["a", 1]),
            json!(u64::MAX),
            json!("2030-02-30T00:00:00Z"),
            json!("Patient/1"),
        ];
        let keys = [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "id_token",
            "scope",
            "patient",
            "encounter",
            "need_patient_banner",
            "smart_style_url",
            "access_grant_expiration",
            "error",
            "other",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x70c3);
        for _ in 0..5_000 {
            let mut doc = Map::new();
            for _ in 0..rng.random_range(0..8) {
                doc.insert(
                    keys[rng.random_range(0..keys.len())].to_owned(),
                    values[rng.random_range(0..values.len())].clone(),
                );
            }
            if let Ok(t) = parse_token_response(doc.clone(), &[]) {
                assert!(
                    matches!(doc.get("access_token"), Some(Value::String(s)) if !s.trim().is_empty())
                );
                assert_eq!(t.token_type(), "Bearer");
            }
        }
    }
}
