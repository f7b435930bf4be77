//! A raw-socket HTTP/1.1 front for simulators whose payer sends bytes no HTTP library will produce.
//!
//! Aetna production's CDN adds a response header whose *name* contains a space. `http::HeaderName` refuses such a
//! name, so axum/hyper cannot send it. This front accepts each connection itself, parses the request head with
//! `httparse`, hands the request to the simulator's router in-process (no second socket), and writes the response
//! bytes by hand, adding the malformed header line on the configured paths. One request per connection
//! (`connection: close`), which every HTTP client handles.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use super::engine::Engine;

/// The malformed header line (the name contains a space), as an Imperva-style CDN sends it.
pub(crate) const BAD_HEADER_LINE: &str = "X-CDN Info: cache-miss; pop=sim\r\n";

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 1 << 20;

/// Accepts connections on `listener` until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, router: Router, engine: Arc<Engine>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let router = router.clone();
        let engine = engine.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, router, &engine).await {
                tracing::debug!(error = %e, "simulator raw front: connection ended with an error");
            }
        });
    }
}

async fn connection(mut stream: TcpStream, router: Router, engine: &Engine) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let head_len = loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return write_plain(&mut stream, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    if !matches!(
        parsed.parse(&buf[..head_len]),
        Ok(httparse::Status::Complete(_))
    ) {
        return write_plain(&mut stream, StatusCode::BAD_REQUEST).await;
    }
    let method = parsed.method.unwrap_or("GET").to_owned();
    let target = parsed.path.unwrap_or("/").to_owned();
    let mut builder = Request::builder()
        .method(method.as_str())
        .uri(target.as_str());
    let mut content_length = 0usize;
    for h in parsed.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            content_length = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
        }
        builder = builder.header(h.name, h.value);
    }
    if content_length > MAX_BODY {
        return write_plain(&mut stream, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let mut body = buf[head_len..].to_vec();
    while body.len() < content_length {
        let mut chunk = vec![0u8; content_length - body.len()];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(content_length);
    let Ok(request) = builder.body(Body::from(body)) else {
        return write_plain(&mut stream, StatusCode::BAD_REQUEST).await;
    };
    let path = request.uri().path().to_owned();
    let Ok(response) = router.oneshot(request).await;
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY * 8)
        .await
        .unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or("")
    );
    for (name, value) in &parts.headers {
        if matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            continue;
        }
        out.push_str(name.as_str());
        out.push_str(": ");
        out.push_str(&String::from_utf8_lossy(value.as_bytes()));
        out.push_str("\r\n");
    }
    if engine
        .cfg
        .bad_header_paths
        .iter()
        .any(|p| path.starts_with(p.as_str()))
    {
        out.push_str(BAD_HEADER_LINE);
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(out.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.shutdown().await
}

async fn write_plain(stream: &mut TcpStream, status: StatusCode) -> std::io::Result<()> {
    let msg = format!(
        "HTTP/1.1 {} {}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    stream.write_all(msg.as_bytes()).await?;
    stream.shutdown().await
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
