//! Runs the test-only OAuth 2.0 server (`tests/oidc/server.mjs`, the npm package oidc-provider) for the
//! interoperability tests, and walks its login and consent pages headlessly, as a member's browser would.
//!
//! One server process per test binary, started by the first test that asks for it. It is stopped when the
//! test process ends however it ends (all tests done, a panic, Ctrl-C, SIGKILL): the harness holds the write
//! end of the server's stdin, the operating system closes it when this process goes away, and the script
//! exits on stdin EOF. A `static` is never dropped, so a kill-on-drop guard alone would not be enough; the
//! guard still kills the child when a start fails or a dedicated instance is dropped.
//!
//! When Node.js or `tests/oidc/node_modules` is missing, the tests fail with a clear message if `CI` is set,
//! and otherwise print a skip notice and return early.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, LOCATION};
use tokio::sync::OnceCell;
use url::Url;

/// How long the server may take to print its address (Node startup plus an RSA key generation).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// More redirects than oidc-provider's login + consent round trips take (five); a loop fails fast.
const MAX_LOGIN_HOPS: usize = 12;
/// How much of the server's output is kept for failure messages.
const LOG_LIMIT: usize = 32 * 1024;

/// A running test server, and what it told the harness about itself.
#[derive(Debug)]
pub struct OidcServer {
    /// The OAuth issuer, `http://127.0.0.1:{port}`.
    pub issuer: Url,
    /// The FHIR base whose `.well-known/smart-configuration` the server serves: `{issuer}/fhir`.
    pub fhir_base: Url,
    /// The test member's FHIR Patient id, put in token responses by the server.
    pub patient: String,
    /// The redirect URI registered for every client (nothing listens there; the login stops at it).
    pub redirect_uri: Url,
    log: ServerLog,
    process: Mutex<ServerProcess>,
}

/// The clients registered in `server.mjs`, with their secrets and the one authentication method each may use.
pub mod clients {
    /// `client_secret_basic` only.
    pub const BASIC: (&str, &str) = ("basic-client", "basic-client-secret");
    /// `client_secret_post` only.
    pub const POST: (&str, &str) = ("post-client", "post-client-secret");
    /// A public client (`token_endpoint_auth_method: none`); PKCE is its only proof.
    pub const PUBLIC: &str = "public-client";
    /// A secret made of characters that RFC 6749 §2.3.1 form-encoding must escape.
    pub const SPECIAL_SECRET: &str = "p@ss w+rd/=:%";
    /// `client_secret_basic` with [`SPECIAL_SECRET`].
    pub const SPECIAL_BASIC: &str = "special-basic-client";
    /// `client_secret_post` with [`SPECIAL_SECRET`].
    pub const SPECIAL_POST: &str = "special-post-client";
    /// `client_secret_basic`; its token responses have no `patient`, only the id token's `fhirUser` names it.
    pub const FHIRUSER: (&str, &str) = ("fhiruser-client", "fhiruser-client-secret");
    /// `private_key_jwt` with RS384, registered with the public half of `tests/fixtures/rs384-test-key.*`
    /// (kid `test-rs384`).
    #[allow(dead_code)] // in smart-core's interop tests only
    pub const JWT_RS384: &str = "jwt-rs384-client";
    /// `private_key_jwt` with ES384, registered with the public half of `tests/fixtures/es384-test-key.*`
    /// (kid `test-es384`).
    #[allow(dead_code)] // in smart-core's interop tests only
    pub const JWT_ES384: &str = "jwt-es384-client";
    /// `client_secret_basic`; used only by the refresh race over a `MemoryTokenStore` (its refresh count).
    pub const RACE_MEMORY: (&str, &str) = ("race-memory-client", "race-memory-client-secret");
    /// `client_secret_basic`; used only by the refresh race over the web app's SQLite store.
    #[allow(dead_code)] // in the root package's tests/refresh_race_sqlite.rs, not in smart-core's
    pub const RACE_SQLITE: (&str, &str) = ("race-sqlite-client", "race-sqlite-client-secret");
    /// `client_secret_basic`; the many-process refresh race over the SDK's PostgreSQL store.
    #[allow(dead_code)] // in smart-core's tests/store_processes.rs only
    pub const PROCS_POSTGRES: (&str, &str) =
        ("procs-postgres-client", "procs-postgres-client-secret");
    /// `client_secret_basic`; the many-process refresh race over the SDK's SQLite store.
    #[allow(dead_code)] // in smart-core's tests/store_processes.rs only
    pub const PROCS_SQLITE: (&str, &str) = ("procs-sqlite-client", "procs-sqlite-client-secret");
}

/// What `GET /_test/refreshes/{client_id}` reports: refresh_token grants that reached the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct RefreshCounts {
    /// Requests with `grant_type=refresh_token`.
    pub requests: u64,
    /// Of those, how many the server refused with `invalid_grant`.
    pub invalid_grant: u64,
}

/// The server shared by every test in this binary, started on first use.
///
/// `None` means "skip this test": Node.js or the npm packages are missing and `CI` is not set (a notice has
/// been printed). Panics when `CI` is set and they are missing, or when the server does not start.
pub async fn shared() -> Option<&'static OidcServer> {
    static SERVER: OnceCell<Result<OidcServer, String>> = OnceCell::const_new();
    let setup = match Setup::find() {
        Ok(setup) => setup,
        Err(missing) => return skip_or_fail(&missing),
    };
    let server = SERVER
        .get_or_init(|| async move {
            tokio::task::spawn_blocking(move || OidcServer::start(&setup))
                .await
                .unwrap_or_else(|e| Err(format!("the start task failed: {e}")))
        })
        .await;
    match server {
        Ok(server) => Some(server),
        Err(e) => panic!("the oidc-provider test server did not start: {e}"),
    }
}

/// A server of its own, for tests of the harness itself. `None` as for [`shared`].
pub async fn dedicated() -> Option<OidcServer> {
    let setup = match Setup::find() {
        Ok(setup) => setup,
        Err(missing) => return skip_or_fail(&missing),
    };
    let started = tokio::task::spawn_blocking(move || OidcServer::start(&setup))
        .await
        .unwrap_or_else(|e| Err(format!("the start task failed: {e}")));
    Some(started.unwrap_or_else(|e| panic!("the oidc-provider test server did not start: {e}")))
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn skip_or_fail<T>(missing: &str) -> Option<T> {
    if ci() {
        panic!(
            "CI is set, and the interoperability tests cannot run: {missing}. \
             Install Node.js and run `npm ci --prefix smart-core/tests/oidc` (.ci/run does)."
        );
    }
    // Written to the real stderr, past libtest's output capture, so a local `cargo test` shows it even for
    // the tests that "pass" by returning early. Once per binary.
    static NOTICE: Once = Once::new();
    NOTICE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\n\
             ************************************************************************************\n\
             *  SKIPPING the oidc-provider interoperability tests: {missing}\n\
             *  To run them: npm ci --prefix smart-core/tests/oidc   (needs Node.js >= 20.19)\n\
             *  With CI set, these tests fail instead of skipping.\n\
             ************************************************************************************\n"
        );
    });
    None
}

/// Where the server script is, and the Node.js to run it with.
struct Setup {
    node: PathBuf,
    dir: PathBuf,
}

impl Setup {
    /// Checks that Node.js runs and that `npm ci` installed the pinned oidc-provider; says what is missing.
    fn find() -> Result<Self, String> {
        // `cargo test` sets CARGO_MANIFEST_DIR when it runs the binary too; prefer that over the compile-time
        // value, which goes stale when a target directory is shared between checkouts.
        let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
        // smart-core's tests, or the root package's (which include this file by path).
        let dir = [
            manifest_dir.join("tests/oidc"),
            manifest_dir.join("smart-core/tests/oidc"),
        ]
        .into_iter()
        .find(|d| d.join("server.mjs").is_file())
        .unwrap_or_else(|| manifest_dir.join("tests/oidc"));
        let node = PathBuf::from(std::env::var_os("NODE").unwrap_or_else(|| "node".into()));
        match Command::new(&node).arg("--version").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                return Err(format!(
                    "`{} --version` failed: {}",
                    node.display(),
                    out.status
                ));
            }
            Err(e) => {
                return Err(format!(
                    "Node.js (`{}`) is not installed: {e}",
                    node.display()
                ));
            }
        }
        let pinned = read_json(&dir.join("package.json"))?
            .pointer("/dependencies/oidc-provider")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or("tests/oidc/package.json does not name oidc-provider")?;
        let installed_manifest = dir.join("node_modules/oidc-provider/package.json");
        if !installed_manifest.exists() {
            return Err("tests/oidc/node_modules/oidc-provider is not installed".to_owned());
        }
        let installed = read_json(&installed_manifest)?
            .get("version")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .unwrap_or_default();
        if installed != pinned {
            return Err(format!(
                "tests/oidc/node_modules has oidc-provider {installed}, but {pinned} is pinned (stale install)"
            ));
        }
        Ok(Self { node, dir })
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

/// The child process and the write end of its stdin. Dropping it kills the child.
#[derive(Debug)]
struct ServerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's stdout (after the first line) and stderr, the last [`LOG_LIMIT`] bytes of it.
#[derive(Debug, Clone, Default)]
struct ServerLog(Arc<Mutex<String>>);

impl ServerLog {
    fn push(&self, line: &str) {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        log.push_str(line);
        log.push('\n');
        if log.len() > LOG_LIMIT {
            let mut cut = log.len() - LOG_LIMIT;
            while !log.is_char_boundary(cut) {
                cut += 1;
            }
            log.drain(..cut);
        }
    }

    fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Copies `from` into the log, line by line, on its own thread, until EOF. Threads rather than tasks:
    /// each `#[tokio::test]` has its own runtime, and a task would die with the test that started the server.
    fn drain(&self, from: impl Read + Send + 'static, name: &str) -> std::thread::JoinHandle<()> {
        let log = self.clone();
        std::thread::Builder::new()
            .name(format!("oidc-server-{name}"))
            .spawn(move || {
                for line in BufReader::new(from).lines().map_while(Result::ok) {
                    log.push(&line);
                }
            })
            .expect("spawn a log thread")
    }
}

impl OidcServer {
    /// Spawns `node server.mjs` and waits for its JSON line. Blocking: call it from `spawn_blocking`.
    fn start(setup: &Setup) -> Result<Self, String> {
        let mut child = Command::new(&setup.node)
            .arg("server.mjs")
            .current_dir(&setup.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", setup.node.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let stdin = child.stdin.take();
        let mut process = ServerProcess { child, stdin };
        let log = ServerLog::default();
        let stderr_thread = log.drain(stderr, "stderr");

        // The first stdout line is the handshake; the rest (there should be none) is kept in the log, and
        // always read, so that the server can never block on a full pipe.
        let (first_tx, first_rx) = mpsc::channel::<String>();
        let stdout_log = log.clone();
        std::thread::Builder::new()
            .name("oidc-server-stdout".to_owned())
            .spawn(move || {
                let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
                if let Some(first) = lines.next() {
                    let _ = first_tx.send(first);
                }
                for line in lines {
                    stdout_log.push(&line);
                }
            })
            .map_err(|e| format!("cannot spawn a thread: {e}"))?;

        let fail = |process: ServerProcess, what: String| {
            drop(process); // kills it, so stderr reaches EOF and the log is complete
            let _ = stderr_thread.join();
            format!("{what}\n--- server output ---\n{}", log.text())
        };
        let line = match first_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(fail(
                    process,
                    format!("no address within {STARTUP_TIMEOUT:?}"),
                ));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = process.child.wait().map(|s| s.to_string());
                return Err(fail(
                    process,
                    format!("it exited before listening ({status:?})"),
                ));
            }
        };
        let hello: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                return Err(fail(
                    process,
                    format!("its first line {line:?} is not JSON: {e}"),
                ));
            }
        };
        let url = |key: &str| -> Result<Url, String> {
            hello
                .get(key)
                .and_then(|v| v.as_str())
                .and_then(|s| Url::parse(s).ok())
                .ok_or_else(|| format!("its first line {line:?} has no URL `{key}`"))
        };
        let parsed = (|| {
            let patient = hello
                .get("patient")
                .and_then(|v| v.as_str())
                .ok_or("no `patient`")?;
            Ok::<_, String>((
                url("issuer")?,
                url("fhir_base")?,
                url("redirect_uri")?,
                patient.to_owned(),
            ))
        })();
        let (issuer, fhir_base, redirect_uri, patient) = match parsed {
            Ok(p) => p,
            Err(e) => return Err(fail(process, e)),
        };
        Ok(Self {
            issuer,
            fhir_base,
            patient,
            redirect_uri,
            log,
            process: Mutex::new(process),
        })
    }

    /// `{issuer}{path}`, e.g. `url("/nofhir")`.
    pub fn url(&self, path: &str) -> Url {
        self.issuer
            .join(path)
            .expect("a path joins onto the issuer")
    }

    /// The last lines the server wrote, for failure messages.
    pub fn log(&self) -> String {
        self.log.text()
    }

    /// Closes the server's stdin, as the end of the test process does, and waits up to `timeout` for it to
    /// exit by itself. `None` if it is still running (it is then killed when this server is dropped).
    pub fn close_stdin_and_wait(&self, timeout: Duration) -> Option<ExitStatus> {
        let mut process = self.lock_process();
        process.stdin.take();
        let deadline = Instant::now() + timeout;
        loop {
            match process.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return None,
            }
        }
    }

    fn lock_process(&self) -> std::sync::MutexGuard<'_, ServerProcess> {
        self.process.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Plays the member's browser: a fresh cookie jar, then GET `authorize_url` and follow every redirect by
    /// hand (login, consent, back to the authorize endpoint) until one points at [`redirect_uri`]. Returns that
    /// callback URL, `code`/`error`, `state` and `iss` included. Panics with the server's answer otherwise.
    ///
    /// Never goes through the SDK, and never requests the redirect URI itself.
    ///
    /// [`redirect_uri`]: OidcServer::redirect_uri
    pub async fn login(&self, authorize_url: &Url) -> Url {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a reqwest client");
        let mut url = authorize_url.clone();
        for _ in 0..MAX_LOGIN_HOPS {
            assert_eq!(
                url.origin(),
                self.issuer.origin(),
                "the login wandered off the authorization server to {url}"
            );
            let response = browser
                .get(url.clone())
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {url} failed: {e}\n{}", self.log()));
            let status = response.status();
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let Some(location) = location.filter(|_| status.is_redirection()) else {
                let body = response.text().await.unwrap_or_default();
                panic!(
                    "the login stopped at {url}: HTTP {status}: {}\n--- server output ---\n{}",
                    body.chars().take(500).collect::<String>(),
                    self.log()
                );
            };
            let next = url
                .join(&location)
                .unwrap_or_else(|e| panic!("bad Location {location:?} from {url}: {e}"));
            if next.origin() == self.redirect_uri.origin()
                && next.path() == self.redirect_uri.path()
            {
                return next;
            }
            url = next;
        }
        panic!("no redirect to the app after {MAX_LOGIN_HOPS} hops; last at {url}");
    }

    /// How many refresh_token grants `client_id` has sent this server so far, counted by the server.
    pub async fn refresh_counts(&self, client_id: &str) -> RefreshCounts {
        let url = self.url(&format!("/_test/refreshes/{client_id}"));
        reqwest::get(url.clone())
            .await
            .unwrap_or_else(|e| panic!("GET {url} failed: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: not the counts: {e}"))
    }

    /// The HTTP status of `GET {fhir_base}/Patient/{patient}` with `access_token`: 200 while the token is live,
    /// 401 once it is revoked (or was never issued).
    pub async fn read_patient_status(&self, access_token: &str) -> u16 {
        let url = self.url(&format!("/fhir/Patient/{}", self.patient));
        reqwest::Client::new()
            .get(url.clone())
            .header(AUTHORIZATION, format!("Bearer {access_token}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url} failed: {e}"))
            .status()
            .as_u16()
    }
}
