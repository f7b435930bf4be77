//! Receiving the payer's redirect: a one-shot HTTP listener on the loopback redirect URI, or the URL pasted by
//! the user when the registered redirect URI is not one `connect` can listen on. Also: opening the browser.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use url::{Host, Url};

/// The most a request head may weigh (a callback URL carries a code and a state, well under this).
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request head. Browsers open speculative connections that send
/// nothing; each is served by its own task, so they never hold up the real callback.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the callback will arrive.
pub enum Receiver {
    /// Listening on the redirect URI's loopback port.
    Loopback {
        redirect: Url,
        listeners: Vec<TcpListener>,
    },
    /// The redirect URI is not a loopback `http` URL: the user pastes where their browser ended up.
    Paste { redirect: Url },
}

/// The callback, and the browser connection that is still waiting for a page.
pub struct Callback {
    pub url: String,
    browser: Option<TcpStream>,
}

impl Receiver {
    /// Starts listening before the authorize URL is shown, so that a busy port fails early.
    pub async fn bind(redirect: &Url) -> io::Result<Self> {
        let port = redirect.port_or_known_default().unwrap_or(80);
        let addresses: Vec<IpAddr> = match (redirect.scheme(), redirect.host()) {
            ("http", Some(Host::Ipv4(ip))) if ip.is_loopback() => vec![IpAddr::V4(ip)],
            ("http", Some(Host::Ipv6(ip))) if ip.is_loopback() => vec![IpAddr::V6(ip)],
            // Browsers resolve `localhost` to either family.
            ("http", Some(Host::Domain(d))) if d.eq_ignore_ascii_case("localhost") => vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ],
            _ => {
                return Ok(Receiver::Paste {
                    redirect: redirect.clone(),
                });
            }
        };
        let mut listeners = Vec::new();
        let mut last_error = None;
        for ip in addresses {
            match TcpListener::bind(SocketAddr::new(ip, port)).await {
                Ok(l) => listeners.push(l),
                Err(e) => last_error = Some(e),
            }
        }
        if listeners.is_empty() {
            let e = last_error.unwrap_or_else(|| io::Error::other("no address to listen on"));
            return Err(io::Error::new(
                e.kind(),
                format!("cannot listen on {redirect} for the callback: {e}"),
            ));
        }
        Ok(Receiver::Loopback {
            redirect: redirect.clone(),
            listeners,
        })
    }

    /// Waits up to `timeout` for the payer's redirect to the redirect URI, the one callback that `belongs`
    /// accepts (its state matches this sign-in). A request that fails that check (a stale tab, a forged link,
    /// an `error=` without this sign-in's state) gets a 400 page and the listener keeps waiting; a pasted URL
    /// that fails it is asked for again.
    pub async fn wait(self, timeout: Duration, belongs: &Belongs<'_>) -> io::Result<Callback> {
        let result = match self {
            Receiver::Loopback {
                redirect,
                listeners,
            } => tokio::time::timeout(timeout, listen(redirect, listeners, belongs)).await,
            Receiver::Paste { redirect } => {
                eprintln!(
                    "After you approve, the payer sends your browser to {redirect}?code=...; copy that whole \
                     address from the browser's address bar and paste it here:"
                );
                tokio::time::timeout(timeout, paste(belongs)).await
            }
        };
        result.map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no callback within {} s: sign in faster, or raise --timeout",
                    timeout.as_secs()
                ),
            )
        })?
    }
}

/// Says whether a callback URL answers this sign-in (`Err` with the reason when it does not).
pub type Belongs<'a> = dyn Fn(&str) -> Result<(), String> + Send + Sync + 'a;

impl Callback {
    /// Answers the browser that delivered the callback (nothing to answer for a pasted URL).
    pub async fn respond(self, ok: bool, message: &str) {
        if let Some(stream) = self.browser {
            answer(stream, ok, message).await;
        }
    }
}

/// Writes the result page to the browser and closes the connection.
async fn answer(mut stream: TcpStream, ok: bool, message: &str) {
    let (status, title) = if ok {
        ("200 OK", "Connected")
    } else {
        ("400 Bad Request", "Not connected")
    };
    let body = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>{title}</title>\
         <h1>{title}</h1><p>{}</p><p>You can close this tab and go back to the terminal.</p>",
        escape_html(message)
    );
    // no-store and no-referrer: this page's URL holds the authorization code.
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn listen(
    redirect: Url,
    listeners: Vec<TcpListener>,
    belongs: &Belongs<'_>,
) -> io::Result<Callback> {
    let (found, mut callbacks) = mpsc::channel::<(String, TcpStream)>(1);
    let accepting: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            let (found, redirect) = (found.clone(), redirect.clone());
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, redirect.clone(), found.clone()));
                }
            })
        })
        .collect();
    drop(found);
    let received = loop {
        let Some((url, browser)) = callbacks.recv().await else {
            break None;
        };
        match belongs(&url) {
            Ok(()) => break Some((url, browser)),
            Err(why) => {
                eprintln!(
                    "Refused a callback that does not belong to this sign-in ({why}); still waiting."
                );
                answer(
                    browser,
                    false,
                    &format!(
                        "This address does not belong to the sign-in connect is waiting for ({why}). \
                         Finish the sign-in that connect printed."
                    ),
                )
                .await;
            }
        }
    };
    // One callback per authorization: stop listening (and free the port) once it is in.
    accepting.iter().for_each(|task| task.abort());
    let (url, browser) =
        received.ok_or_else(|| io::Error::other("the callback listener stopped"))?;
    Ok(Callback {
        url,
        browser: Some(browser),
    })
}

/// Reads one request: the callback goes to `found`; anything else (a favicon, a probe) gets a 404.
async fn serve(mut stream: TcpStream, redirect: Url, found: mpsc::Sender<(String, TcpStream)>) {
    let Ok(Ok(head)) = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await else {
        return;
    };
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let (method, target) = (request_line.next(), request_line.next());
    if let (Some("GET"), Some(target)) = (method, target)
        && target.starts_with('/')
        && let Ok(url) = redirect.join(target)
        && url.path() == redirect.path()
    {
        let _ = found.send((url.to_string(), stream)).await;
        return;
    }
    let _ = stream
        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await;
}

async fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad request head",
            ));
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

async fn paste(belongs: &Belongs<'_>) -> io::Result<Callback> {
    loop {
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await
        .map_err(io::Error::other)??;
        let url = line.trim().to_owned();
        if url.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "no callback URL was pasted",
            ));
        }
        match belongs(&url) {
            Ok(()) => return Ok(Callback { url, browser: None }),
            Err(why) => eprintln!(
                "That address does not belong to this sign-in ({why}); paste the one this sign-in ended on:"
            ),
        }
    }
}

/// Tries to open `url` in the user's browser. Never fatal: false when there is no browser to open.
pub fn open_in_browser(url: &Url) -> bool {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else {
        // Without a display, xdg-open would fall back to a terminal browser on this very terminal.
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            return false;
        }
        std::process::Command::new("xdg-open")
    };
    let spawned = command
        .arg(url.as_str())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            // Reap it in the background; its exit status says nothing reliable about the browser.
            std::thread::spawn(move || child.wait());
            true
        }
        Err(_) => false,
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
