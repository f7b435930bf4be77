//! A raw HTTP/1.1 server on 127.0.0.1 for what wiremock cannot do: drop a connection mid-body, send a header
//! line that is not valid HTTP, and count the requests in flight at once. Also the benchmark's slow payer.
//!
//! Each connection is served by its own task, keep-alive included; the handler decides every byte of the
//! answer and whether the connection closes after it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// One request as received (the body, if any, is not read: the SDK only sends GETs).
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// `GET`.
    pub method: String,
    /// The request target, path and query, e.g. `/fhir/ExplanationOfBenefit?patient=1`.
    pub target: String,
    /// Header lines in order, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl RawRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

/// What to write back.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The exact bytes, written in order: status line, headers, body. Shared parts are not copied per answer
    /// (the benchmark serves the same page body thousands of times and measures the client's memory).
    pub chunks: Vec<Arc<[u8]>>,
    /// Close the connection once written (a keep-alive answer leaves it open for the next request).
    pub close: bool,
    /// Write every chunk but the last, then wait until this is notified (or the time has passed) before
    /// writing the last: a page that is still arriving.
    pub hold_last: Option<(Arc<Notify>, Duration)>,
}

impl Reply {
    /// A complete response with `Content-Length`, kept alive.
    pub fn status_with_body(status: u16, content_type: &str, body: &[u8]) -> Self {
        Self::with_headers(status, &[("Content-Type", content_type)], body)
    }

    /// A complete FHIR JSON response, kept alive.
    pub fn json(status: u16, body: &[u8]) -> Self {
        Self::status_with_body(status, "application/fhir+json", body)
    }

    /// A complete response with these extra header lines (written verbatim, so they may be invalid).
    pub fn with_headers(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Self {
        Self::parts(status, headers, vec![Arc::from(body)])
    }

    /// A complete response whose body is the concatenation of `body`, kept alive.
    pub fn parts(status: u16, headers: &[(&str, &str)], body: Vec<Arc<[u8]>>) -> Self {
        let len: usize = body.iter().map(|p| p.len()).sum();
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {len}\r\n\r\n"));
        let mut chunks: Vec<Arc<[u8]>> = vec![Arc::from(head.into_bytes())];
        chunks.extend(body);
        Self {
            chunks,
            close: false,
            hold_last: None,
        }
    }

    /// Exactly these bytes, then the connection is closed.
    pub fn raw_then_close(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            chunks: vec![Arc::from(bytes.into())],
            close: true,
            hold_last: None,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Decides the answer to one request (it may sleep first: the time counts as "in flight").
pub type Handler = Arc<dyn Fn(RawRequest) -> BoxFuture<'static, Reply> + Send + Sync>;

/// A running raw server; stops when dropped.
pub struct RawServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<RawRequest>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    connections: AtomicUsize,
}

impl RawServer {
    /// Starts a server on an ephemeral loopback port.
    pub async fn start(handler: Handler) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State::default());
        let st = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                st.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket, handler.clone(), st.clone()));
            }
        });
        RawServer { addr, state, task }
    }

    /// Starts a server whose handler is an async closure.
    pub async fn with<F, Fut>(f: F) -> RawServer
    where
        F: Fn(RawRequest) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Reply> + Send + 'static,
    {
        let f = Arc::new(f);
        RawServer::start(Arc::new(move |req| {
            let f = f.clone();
            Box::pin(async move { f(req).await })
        }))
        .await
    }

    /// `http://127.0.0.1:{port}`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The most requests that were being answered at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut socket: TcpStream, handler: Handler, state: Arc<State>) {
    let _ = socket.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    loop {
        // Read one request head.
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end);
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or_default().split(' ');
        let request = RawRequest {
            method: first.next().unwrap_or_default().to_owned(),
            target: first.next().unwrap_or_default().to_owned(),
            headers: lines
                .filter(|l| !l.is_empty())
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect(),
        };
        state.requests.lock().unwrap().push(request.clone());
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let reply = handler(request).await;
        let mut written = Ok(());
        for (i, chunk) in reply.chunks.iter().enumerate() {
            if let Some((release, at_most)) = &reply.hold_last
                && i + 1 == reply.chunks.len()
            {
                let _ = socket.flush().await;
                let _ = tokio::time::timeout(*at_most, release.notified()).await;
            }
            written = socket.write_all(chunk).await;
            if written.is_err() {
                break;
            }
        }
        let _ = socket.flush().await;
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        if written.is_err() || reply.close {
            let _ = socket.shutdown().await;
            return;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
