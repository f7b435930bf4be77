//! HTTP plumbing shared by every stage: bounded body reads, content-type classification, secret-free excerpts of
//! unexpected answers, and the mapping of `reqwest` errors onto [`Error::Transport`].
//!
//! Every request the SDK sends goes through [`send`], which opens a `tracing` span with the method and the URL
//! *without its query*, and records the status. Headers and bodies are never logged.

use std::time::Instant;

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use tracing::Instrument;
use url::Url;

use crate::adapter::PayerAdapter;
use crate::error::{BodyExcerpt, Error, Result, Stage, TransportKind};
use crate::url_policy::redact_url;

/// How long an excerpt of an unexpected body may get, in characters.
pub(crate) const EXCERPT_CHARS: usize = 200;

/// What kind of document a response claims to be, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentKind {
    /// `application/json`, `application/fhir+json`, any `+json` or `/json` type.
    Json,
    /// `text/html`, `application/xhtml+xml`.
    Html,
    /// `application/xml`, `text/xml`, any `+xml` type (gateway error pages, SOAP faults).
    Xml,
    /// Anything else, or no `Content-Type` at all.
    Other,
}

/// Classifies a `Content-Type` header value (parameters such as `charset` are ignored).
pub(crate) fn classify_content_type(content_type: Option<&str>) -> ContentKind {
    let Some(ct) = content_type else {
        return ContentKind::Other;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "text/html" || essence == "application/xhtml+xml" {
        ContentKind::Html
    } else if essence.ends_with("/json") || essence.ends_with("+json") {
        ContentKind::Json
    } else if essence.ends_with("/xml") || essence.ends_with("+xml") {
        ContentKind::Xml
    } else {
        ContentKind::Other
    }
}

/// Sniffs a body whose `Content-Type` says nothing useful: does it look like HTML, XML or JSON?
pub(crate) fn sniff_body(body: &[u8]) -> ContentKind {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| &body[i..])
        .unwrap_or_default();
    let head: Vec<u8> = start
        .iter()
        .take(64)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    if head.starts_with(b"<!doctype html") || head.starts_with(b"<html") {
        ContentKind::Html
    } else if head.starts_with(b"<") {
        ContentKind::Xml
    } else if head.starts_with(b"{") || head.starts_with(b"[") {
        ContentKind::Json
    } else {
        ContentKind::Other
    }
}

/// A response whose body has been read completely, within the size cap.
#[derive(Debug)]
pub(crate) struct Received {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body (decompressed), at most the cap.
    pub body: Vec<u8>,
    /// The URL that was requested, for errors (never print it with its query: use [`Received::safe_url`]).
    pub url: Url,
}

impl Received {
    /// The `Content-Type` header, if present and readable.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
    }

    /// What the body claims to be; a missing or generic content type is resolved by sniffing the body.
    pub fn kind(&self) -> ContentKind {
        match classify_content_type(self.content_type()) {
            ContentKind::Other => match sniff_body(&self.body) {
                // Without a JSON content type we only trust the sniff for markup; JSON stays "Other" so that
                // callers decide whether to be lenient.
                ContentKind::Html => ContentKind::Html,
                ContentKind::Xml => ContentKind::Xml,
                _ => ContentKind::Other,
            },
            kind => kind,
        }
    }

    /// The requested URL without query or fragment.
    pub fn safe_url(&self) -> String {
        redact_url(&self.url)
    }

    /// An [`Error::UnexpectedResponse`] for this response, with a secret-free excerpt of the body and the
    /// adapter's explanation of it, where the adapter recognises the failure (an Elevance gateway envelope, an
    /// Aetna XML fault).
    pub fn unexpected(&self, stage: Stage, adapter: &dyn PayerAdapter) -> Error {
        let excerpt = excerpt(&self.body);
        let status = self.status.as_u16();
        Error::UnexpectedResponse {
            stage,
            url: self.safe_url(),
            status,
            content_type: self.content_type().map(str::to_owned),
            payer_hint: adapter.explain_response(status, excerpt.as_str()),
            excerpt,
        }
    }

    /// Like [`Received::unexpected`], but with the body withheld: for bodies that may carry tokens (a 2xx from a
    /// token endpoint that is not a usable token response).
    /// The adapter sees the status only, never the withheld body.
    pub fn unexpected_withheld(&self, stage: Stage, adapter: &dyn PayerAdapter) -> Error {
        let status = self.status.as_u16();
        Error::UnexpectedResponse {
            stage,
            url: self.safe_url(),
            status,
            content_type: self.content_type().map(str::to_owned),
            payer_hint: adapter.explain_response(status, ""),
            excerpt: BodyExcerpt(format!(
                "[{} bytes withheld: a successful token endpoint response may hold tokens]",
                self.body.len()
            )),
        }
    }
}

/// Sends `request` and reads the whole body, at most `limit` bytes, inside a tracing span.
///
/// A 3xx is returned as a normal [`Received`]: the SDK's own client never follows redirects, and callers decide
/// what a redirect means at their stage. When a caller-supplied client followed one anyway, the final URL differs
/// from the requested one and this fails with [`TransportKind::Redirect`].
pub(crate) async fn send(
    client: &reqwest::Client,
    request: reqwest::RequestBuilder,
    stage: Stage,
    limit: usize,
) -> Result<Received> {
    send_observed(client, request, stage, limit, None).await
}

/// Sees a successful (2xx) response's body as it arrives: called with an empty slice when a body starts (a
/// retried request's body starts over), then with the whole body received so far after each chunk.
pub(crate) type BodyObserver<'a> = &'a mut (dyn FnMut(&[u8]) + Send + 'static);

/// [`send`], showing a 2xx body to `observer` as it arrives (the FHIR fetch layer reads a page's `next` link
/// from it before the rest of the page is in).
pub(crate) async fn send_observed(
    client: &reqwest::Client,
    request: reqwest::RequestBuilder,
    stage: Stage,
    limit: usize,
    observer: Option<BodyObserver<'_>>,
) -> Result<Received> {
    let request = request.build().map_err(|e| {
        Error::Config(format!(
            "could not build an HTTP request: {}",
            e.without_url()
        ))
    })?;
    let method: Method = request.method().clone();
    let url = request.url().clone();
    let safe = redact_url(&url);
    let span = tracing::debug_span!(
        "smart_core.http",
        %method,
        url = %safe,
        %stage,
        status = tracing::field::Empty,
    );
    async move {
        let started = Instant::now();
        let response = client
            .execute(request)
            .await
            .map_err(|e| map_reqwest_error(e, stage, &url))?;
        let status = response.status();
        tracing::Span::current().record("status", status.as_u16());
        tracing::debug!(
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "response received"
        );
        if response.url() != &url {
            // A caller-supplied client followed a redirect. Tokens, codes and secrets may not travel on.
            tracing::warn!("the HTTP client followed a redirect; refusing the answer");
            return Err(Error::Transport {
                stage,
                url: safe,
                kind: TransportKind::Redirect,
                source: None,
            });
        }
        let headers = response.headers().clone();
        let observer = observer.filter(|_| status.is_success());
        let body = read_body_capped(response, limit, stage, &url, observer).await?;
        Ok(Received {
            status,
            headers,
            body,
            url,
        })
    }
    .instrument(span)
    .await
}

/// Reads `response`'s body chunk by chunk, showing it to `observer` as it grows, and stops with
/// [`Error::BodyTooLarge`] as soon as it passes `limit` (or at once when `Content-Length` already says it will).
async fn read_body_capped(
    mut response: reqwest::Response,
    limit: usize,
    stage: Stage,
    url: &Url,
    mut observer: Option<BodyObserver<'_>>,
) -> Result<Vec<u8>> {
    let too_large = || Error::BodyTooLarge {
        stage,
        url: redact_url(url),
        limit,
    };
    if let Some(len) = response.content_length()
        && len > limit as u64
    {
        return Err(too_large());
    }
    // Sized once from Content-Length (already checked against the cap) rather than grown by doubling, which
    // for a 700 KB page means some twenty reallocations and copying the body about twice over.
    let expected = response.content_length().map_or(0, |len| len as usize);
    let mut body = Vec::with_capacity(expected);
    if let Some(observe) = observer.as_mut() {
        observe(&body);
    }
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| map_reqwest_error(e, stage, url))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
        if let Some(observe) = observer.as_mut() {
            observe(&body);
        }
    }
    Ok(body)
}

/// Maps a `reqwest` error onto [`Error::Transport`], with the URL's query stripped from the error and its source.
pub(crate) fn map_reqwest_error(err: reqwest::Error, stage: Stage, url: &Url) -> Error {
    let kind = transport_kind(&err);
    Error::Transport {
        stage,
        url: redact_url(url),
        kind,
        source: Some(Box::new(err.without_url())),
    }
}

fn transport_kind(err: &reqwest::Error) -> TransportKind {
    if err.is_timeout() {
        return TransportKind::Timeout;
    }
    if err.is_redirect() {
        return TransportKind::Redirect;
    }
    if err.is_connect() {
        return TransportKind::Connect;
    }
    // A connection that dropped mid-way surfaces as an I/O error somewhere in the source chain, or as hyper's
    // "connection closed before message completed".
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                TimedOut => return TransportKind::Timeout,
                ConnectionRefused => return TransportKind::Connect,
                ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe => {
                    return TransportKind::Interrupted;
                }
                _ => {}
            }
        }
        let text = e.to_string();
        if text.contains("connection closed before message completed")
            || text.contains("IncompleteMessage")
            || text.contains("end of file before message length reached")
        {
            return TransportKind::Interrupted;
        }
        source = e.source();
    }
    if err.is_body() || err.is_decode() {
        return TransportKind::Interrupted;
    }
    TransportKind::Other
}

/// Words after which a value is a secret, in JSON (`"access_token": "..."`), forms and queries
/// (`code=...`), or prose (`client_secret: ...`).
/// Compared in lower case, so `accessToken` is caught by `accesstoken`.
const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code_verifier",
    "client_assertion",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "clientsecret",
    "codeverifier",
    "clientassertion",
    "assertion",
    "password",
    "code",
    "token",
    "state",
];

/// HTTP authorization schemes whose credential follows after a space (`Authorization: Bearer x`).
const AUTH_SCHEMES: &[&str] = &["bearer", "basic"];

/// A short, whitespace-collapsed, secret-free excerpt of a body for error messages.
///
/// Values after secret-looking keys (`access_token`, `refresh_token`, `code=`, ...) and anything shaped like a JWT
/// are replaced by `[redacted]`. The result is at most [`EXCERPT_CHARS`] characters (plus an ellipsis).
pub(crate) fn excerpt(body: &[u8]) -> BodyExcerpt {
    let text = String::from_utf8_lossy(body);
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let redacted = redact_secrets(&collapsed);
    let mut out: String = redacted.chars().take(EXCERPT_CHARS).collect();
    if redacted.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    BodyExcerpt(out)
}

/// A URL (or something meant to be one, which may not parse) as `scheme://host:port/path` for an error
/// message: no userinfo, query or fragment, and at most [`EXCERPT_CHARS`] characters. A URL that cannot be a
/// base (`mailto:...`) keeps only its scheme.
pub(crate) fn redact_unparsed_url(s: &str) -> String {
    let s = s.trim();
    if let Ok(url) = Url::parse(s)
        && !url.cannot_be_a_base()
    {
        return crate::url_policy::redact_url(&url);
    }
    let cut = s.find(['?', '#']).map_or(s, |i| &s[..i]);
    let shown = match cut.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find(['/', '\\']).unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => match cut.split_once(':') {
            Some((scheme, _))
                if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                format!("{scheme}:[redacted]")
            }
            _ => "[redacted]".to_owned(),
        },
    };
    let redacted = redact_secrets(&shown);
    let mut out: String = redacted.chars().take(EXCERPT_CHARS).collect();
    if redacted.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    format!("{out:?}")
}

/// Replaces secret values in `text` (see [`excerpt`]): values after secret keys in snake or camel case, in
/// JSON (also escaped, `{\"refresh_token\":\"…\"}`), forms, queries and prose; the credential after
/// `Bearer`/`Basic`; the userinfo of URLs; and anything shaped like a JWT.
///
/// This is the one redactor for every error that can carry a body excerpt or a URL.
pub(crate) fn redact_secrets(text: &str) -> String {
    let bytes = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let lower = lower.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < bytes.len() {
        // JWTs (three base64url segments starting with "eyJ") are tokens wherever they appear.
        if bytes[i..].starts_with(b"eyJ") && (i == 0 || !is_token_char(bytes[i - 1])) {
            let end = scan_token(bytes, i);
            if bytes[i..end].iter().filter(|&&b| b == b'.').count() >= 1 && end - i > 20 {
                out.push_str("[redacted]");
                i = end;
                continue;
            }
        }
        // `scheme://user:password@host`: the userinfo goes.
        if bytes[i..].starts_with(b"://") {
            let authority_end = bytes[i + 3..]
                .iter()
                .position(|&b| {
                    b.is_ascii_whitespace()
                        || matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'\\')
                })
                .map_or(bytes.len(), |p| i + 3 + p);
            if let Some(at) = bytes[i + 3..authority_end].iter().rposition(|&b| b == b'@') {
                out.push_str("://[redacted]@");
                i = i + 3 + at + 1;
                continue;
            }
        }
        let boundary_before = i == 0 || !(lower[i - 1].is_ascii_alphanumeric());
        // `Bearer <token>`, `Basic <credentials>`, as in an echoed Authorization header.
        if boundary_before {
            for scheme in AUTH_SCHEMES {
                let mut j = i + scheme.len();
                if !lower[i..].starts_with(scheme.as_bytes())
                    || j >= bytes.len()
                    || bytes[j] != b' '
                {
                    continue;
                }
                while j < bytes.len() && bytes[j] == b' ' {
                    j += 1;
                }
                let end = scan_token(bytes, j);
                if end > j {
                    out.push_str(&text[i..j]);
                    out.push_str("[redacted]");
                    i = end;
                    continue 'outer;
                }
            }
        }
        for key in SECRET_KEYS {
            let k = key.as_bytes();
            if boundary_before && lower[i..].starts_with(k) {
                let mut j = i + k.len();
                // The key must end here (so `codec` or `tokenizer` are left alone).
                if j < bytes.len() && (lower[j].is_ascii_alphanumeric() || lower[j] == b'_') {
                    continue;
                }
                // Optional closing quote (escaped too, `\"`), separator, optional opening quote.
                while j < bytes.len() && bytes[j] == b'\\' {
                    j += 1;
                }
                if j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'') {
                    j += 1;
                }
                while j < bytes.len() && bytes[j] == b' ' {
                    j += 1;
                }
                if j < bytes.len() && (bytes[j] == b'=' || bytes[j] == b':') {
                    j += 1;
                } else {
                    continue;
                }
                while j < bytes.len() && bytes[j] == b' ' {
                    j += 1;
                }
                let mut escaped = false;
                while j < bytes.len() && bytes[j] == b'\\' {
                    escaped = true;
                    j += 1;
                }
                let quoted = j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'');
                if quoted {
                    j += 1;
                }
                let value_end = if quoted {
                    let q = bytes[j - 1];
                    // In escaped JSON the value ends at the backslash of its closing `\"`.
                    bytes[j..]
                        .iter()
                        .position(|&b| b == q || (escaped && b == b'\\'))
                        .map_or(bytes.len(), |p| j + p)
                } else {
                    scan_value(bytes, j)
                };
                if value_end == j {
                    continue;
                }
                out.push_str(&text[i..j]);
                out.push_str("[redacted]");
                i = value_end;
                continue 'outer;
            }
        }
        // Copy one whole character.
        let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=' | b'%')
}

fn scan_token(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| !is_token_char(b))
        .map_or(bytes.len(), |p| from + p)
}

/// The end of an unquoted value: up to `&`, whitespace, a quote, a backslash, `<`, `,`, `;` or a closing bracket.
fn scan_value(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| {
            b.is_ascii_whitespace()
                || matches!(
                    b,
                    b'&' | b'"' | b'\'' | b'\\' | b'<' | b',' | b';' | b'}' | b')'
                )
        })
        .map_or(bytes.len(), |p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_classified_ignoring_parameters_and_case() {
        assert_eq!(
            classify_content_type(Some("application/json; charset=utf-8")),
            ContentKind::Json
        );
        assert_eq!(
            classify_content_type(Some("application/fhir+json")),
            ContentKind::Json
        );
        assert_eq!(classify_content_type(Some("Text/HTML")), ContentKind::Html);
        assert_eq!(classify_content_type(Some("text/xml")), ContentKind::Xml);
        assert_eq!(
            classify_content_type(Some("application/soap+xml")),
            ContentKind::Xml
        );
        assert_eq!(
            classify_content_type(Some("text/plain")),
            ContentKind::Other
        );
        assert_eq!(classify_content_type(None), ContentKind::Other);
    }

    #[test]
    fn bodies_are_sniffed() {
        assert_eq!(sniff_body(b"  <!DOCTYPE html><html>"), ContentKind::Html);
        assert_eq!(
            sniff_body(b"<?xml version=\"1.0\"?><fault/>"),
            ContentKind::Xml
        );
        assert_eq!(sniff_body(b"\n{\"a\":1}"), ContentKind::Json);
        assert_eq!(sniff_body(b"Bad Gateway"), ContentKind::Other);
        assert_eq!(sniff_body(b""), ContentKind::Other);
    }

    #[test]
    fn excerpts_collapse_whitespace_and_are_bounded() {
        let body = format!("<html>\n  <body>\n\n{}</body></html>", "x ".repeat(500));
        let e = excerpt(body.as_bytes());
        assert!(e.as_str().starts_with("<html> <body> x x"), "{e}");
        assert!(e.as_str().chars().count() <= EXCERPT_CHARS + 1);
        assert!(e.as_str().ends_with('…'));
    }

    #[test]
    fn excerpts_strip_secret_values_in_json_forms_and_prose() {
        let cases = [
            r#"{"access_token":"AT-SECRET-1","token_type":"Bearer"}"#,
            r#"{"refresh_token" : "RT-SECRET-1"}"#,
            "redirect to /cb?code=CODE-SECRET-1&state=STATE-SECRET-1",
            "client_secret: CS-SECRET-1 was rejected",
            "token=TOK-SECRET-1",
            "bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl in header",
            r#"{"accessToken":"AT-SECRET-2","refreshToken":"RT-SECRET-2"}"#,
            r#"{"idToken": "IT-SECRET-2", "clientSecret": "CS-SECRET-2"}"#,
            r#"{"error":"x","detail":"{\"refresh_token\":\"RT-SECRET-3\"}"}"#,
            r#"{\"accessToken\": \"AT-SECRET-3\"}"#,
            "Authorization: Bearer opaque-SECRET-4 was rejected",
            "authorization: Basic SECRET-5base64==",
            "see https://app:SECRET-6@payer.example/fhir",
            "client_assertion=CA-SECRET-7&code_verifier=CV-SECRET-7",
        ];
        for case in cases {
            let e = excerpt(case.as_bytes());
            assert!(
                !e.as_str().contains("SECRET") && !e.as_str().contains("eyJ"),
                "{case} -> {e}"
            );
            assert!(e.as_str().contains("[redacted]"), "{case} -> {e}");
        }
    }

    #[test]
    fn excerpts_keep_harmless_words() {
        let e = excerpt(b"<h1>Service Unavailable</h1> error code 503; codec tokenizer");
        assert_eq!(
            e.as_str(),
            "<h1>Service Unavailable</h1> error code 503; codec tokenizer"
        );
        // Multi-byte characters survive.
        assert_eq!(
            excerpt("réessayez plus tard".as_bytes()).as_str(),
            "réessayez plus tard"
        );
    }

    /// Pieces that stress the redactor: keys, separators, quotes, JWT starts, multi-byte characters.
    const PIECES: &[&str] = &[
        "access_token",
        "refresh_token",
        "code",
        "token",
        "state",
        "=",
        ":",
        "\"",
        "'",
        " ",
        "&",
        "eyJ",
        ".",
        "é",
        "𝄞",
        "<",
        ">",
        "{",
        "}",
        "[",
        "]",
        ",",
        ";",
        "abc",
        "XYZ",
        "\n",
        "_",
        "-",
        "password",
    ];

    #[test]
    fn redaction_never_panics_and_always_hides_planted_secrets() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        for _ in 0..5_000 {
            let mut text = String::new();
            for _ in 0..rng.random_range(0..40) {
                text.push_str(PIECES[rng.random_range(0..PIECES.len())]);
            }
            let _ = excerpt(text.as_bytes());
            // A secret planted behind a key survives nothing around it.
            let planted = format!("{text} access_token=PLANTEDSECRET{text}");
            let e = excerpt(planted.as_bytes());
            assert!(!e.as_str().contains("PLANTEDSECRET"), "{planted:?} -> {e}");
            let planted = format!("{text}{{\"refresh_token\": \"PLANTEDSECRET\"}}");
            assert!(
                !redact_secrets(&planted).contains("PLANTEDSECRET"),
                "{planted:?}"
            );
        }
        // Invalid UTF-8 is replaced, not a panic.
        let _ = excerpt(&[0xff, 0xfe, b'a', 0xc3]);
    }
}
