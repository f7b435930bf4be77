//! Entry points for the fuzz targets in `smart-core/fuzz` (feature `fuzzing`): the same code paths the SDK runs
//! on a token endpoint's answer and on a callback, without a network. Not part of the API; no stability promise.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use secrecy::SecretString;
use url::Url;

use crate::adapter::Standard;
use crate::authorize::PendingAuthorization;
use crate::error::{Error, Result};
use crate::http::Received;
use crate::token_endpoint::{ResolvedAuth, TokenCall};
use crate::tokens::TokenSet;

const TOKEN_URL: &str = "https://fuzz.invalid/token";
const FHIR_BASE: &str = "https://fuzz.invalid/fhir";

fn standard() -> Result<Standard> {
    Standard::new(FHIR_BASE)
}

fn http() -> Result<&'static reqwest::Client> {
    static CLIENT: OnceLock<std::result::Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Error::Config(e.clone()))
}

/// What the SDK makes of a token endpoint answer with this status, `Content-Type` and body (a code exchange or
/// a refresh that requested `requested_scopes`): exactly what `exchange_code` and refresh run once the answer is
/// in, with the `Standard` adapter.
pub fn token_response(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    requested_scopes: &[String],
) -> Result<TokenSet> {
    let adapter = standard()?;
    let endpoint = Url::parse(TOKEN_URL).map_err(|e| Error::Config(e.to_string()))?;
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(c).ok()) {
        headers.insert(CONTENT_TYPE, ct);
    }
    let received = Received {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        headers,
        body: body.to_vec(),
        url: endpoint.clone(),
    };
    let call = TokenCall {
        http: http()?,
        adapter: &adapter,
        endpoint: &endpoint,
        auth: ResolvedAuth::Post,
        client_id: "fuzz-client",
        client_secret: None,
        max_body: crate::DEFAULT_MAX_BODY_BYTES,
        timeout: Duration::from_secs(1),
    };
    call.answer(&received, requested_scopes)
}

/// A pending authorization for the `Standard` adapter whose `state` is `state`.
pub fn pending(state: &str) -> Result<PendingAuthorization> {
    Ok(PendingAuthorization {
        state: SecretString::from(state.to_owned()),
        code_verifier: SecretString::from("v".repeat(43)),
        redirect_uri: Url::parse("http://127.0.0.1:9/callback")
            .map_err(|e| Error::Config(e.to_string()))?,
        scopes: Vec::new(),
        adapter_id: crate::PayerAdapter::id(&standard()?).to_owned(),
        created_at: SystemTime::now(),
    })
}

/// The full callback check `exchange_code` runs before any request (adapter, repeated parameters, state,
/// `error=`, `iss` against `expected_issuer`, `code`): the code on success.
pub fn callback(
    pending: &PendingAuthorization,
    callback: &str,
    expected_issuer: Option<&Url>,
) -> Result<SecretString> {
    let adapter = standard()?;
    crate::callback::check_callback(&adapter, pending, callback, expected_issuer).map(|c| c.code)
}
