//! Interim HTTP helpers (bounded body reads, content-type classification, excerpts, reqwest error mapping) until
//! the crate-wide `http` module lands from the `smart` branch; the names and signatures match it, so that the
//! merge deletes this file and changes one `use`.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use url::Url;

use crate::error::{BodyExcerpt, Error, Result, Stage, TransportKind};
use crate::url_policy::redact_url;

const EXCERPT_CHARS: usize = 200;

/// What kind of document a response claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentKind {
    Json,
    Html,
    Xml,
    Other,
}

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

/// A response read completely, within the size cap.
#[derive(Debug)]
pub(crate) struct Received {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: Url,
}

impl Received {
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
    }

    pub fn kind(&self) -> ContentKind {
        match classify_content_type(self.content_type()) {
            ContentKind::Other => match sniff_body(&self.body) {
                ContentKind::Html => ContentKind::Html,
                ContentKind::Xml => ContentKind::Xml,
                _ => ContentKind::Other,
            },
            kind => kind,
        }
    }

    pub fn safe_url(&self) -> String {
        redact_url(&self.url)
    }

    pub fn unexpected(&self, stage: Stage) -> Error {
        Error::UnexpectedResponse {
            stage,
            url: self.safe_url(),
            status: self.status.as_u16(),
            content_type: self.content_type().map(str::to_owned),
            excerpt: excerpt(&self.body),
        }
    }
}

pub(crate) async fn send(
    client: &reqwest::Client,
    request: reqwest::RequestBuilder,
    stage: Stage,
    limit: usize,
) -> Result<Received> {
    let request = request.build().map_err(|e| {
        Error::Config(format!(
            "could not build an HTTP request: {}",
            e.without_url()
        ))
    })?;
    let url = request.url().clone();
    let response = client
        .execute(request)
        .await
        .map_err(|e| map_reqwest_error(e, stage, &url))?;
    if response.url() != &url {
        return Err(Error::Transport {
            stage,
            url: redact_url(&url),
            kind: TransportKind::Redirect,
            source: None,
        });
    }
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_body_capped(response, limit, stage, &url).await?;
    Ok(Received {
        status,
        headers,
        body,
        url,
    })
}

pub(crate) async fn read_body_capped(
    mut response: reqwest::Response,
    limit: usize,
    stage: Stage,
    url: &Url,
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
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| map_reqwest_error(e, stage, url))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

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

pub(crate) fn excerpt(body: &[u8]) -> BodyExcerpt {
    let text = String::from_utf8_lossy(body);
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = collapsed.chars().take(EXCERPT_CHARS).collect();
    if collapsed.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    BodyExcerpt(out)
}
