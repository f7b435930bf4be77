//! Headless Chromium for browser tests: Debian's `chromium`, driven through its `chromedriver` (W3C WebDriver)
//! with fantoccini. In CI a missing browser fails the test; on a developer's machine it is a loud skip.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};

/// How long chromedriver may take to answer `/status`.
const DRIVER_START: Duration = Duration::from_secs(30);

/// A headless Chromium session. Call [`Chromium::close`] at the end; dropping it only kills chromedriver.
pub struct Chromium {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

/// Where a program is: `/usr/bin/{name}` (Debian's packages), else the first `{name}` on `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    let debian = Path::new("/usr/bin").join(name);
    if debian.is_file() {
        return Some(debian);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Starts chromedriver and a headless Chromium with a fresh profile, or, when either is missing, fails under
/// `CI` and returns `None` (after a loud notice) elsewhere.
pub async fn start(test: &str) -> Option<Chromium> {
    let (browser, driver) = match (find_program("chromium"), find_program("chromedriver")) {
        (Some(b), Some(d)) => (b, d),
        (b, d) => {
            let missing: Vec<&str> = [("chromium", b.is_none()), ("chromedriver", d.is_none())]
                .iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| *n)
                .collect();
            let message = format!(
                "{} not found (looked in /usr/bin and PATH). Install Debian's packages: \
                 apt-get update && apt-get install -y chromium chromium-driver (.ci/run does this).",
                missing.join(" and ")
            );
            if std::env::var_os("CI").is_some() {
                panic!("CI is set and the browser test cannot run: {message}");
            }
            let bar = "!".repeat(100);
            // Straight to the stderr handle: libtest captures eprintln! of a passing test, and this must show.
            let _ = writeln!(
                std::io::stderr(),
                "\n{bar}\n!! SKIPPED {test}: {message}\n!! The web app's browser test did NOT run.\n{bar}\n"
            );
            return None;
        }
    };
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web_app_chromium");
    std::fs::create_dir_all(&tmp).unwrap();
    let profile = tmp.join(format!(
        "{test}-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&profile).unwrap();
    let port = free_port();
    let log = std::fs::File::create(profile.join("chromedriver.log")).unwrap();
    let mut child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {}: {e}", driver.display()));
    let url = format!("http://127.0.0.1:{port}");
    wait_until_ready(&url, &mut child).await;

    let mut capabilities = fantoccini::wd::Capabilities::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": browser,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
                "--window-size=1280,1800",
                format!("--user-data-dir={}", profile.join("user-data").display()),
            ],
        }),
    );
    let client = match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&url)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(profile.join("chromedriver.log")).unwrap_or_default();
            panic!("chromedriver could not start Chromium: {e}\n{log}");
        }
    };
    Some(Chromium {
        client,
        driver: child,
        profile,
    })
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn wait_until_ready(url: &str, child: &mut Child) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + DRIVER_START;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("chromedriver exited at start: {status}");
        }
        if let Ok(r) = http.get(format!("{url}/status")).send().await
            && let Ok(body) = r.json::<serde_json::Value>().await
            && body["value"]["ready"] == true
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not become ready at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Chromium {
    /// Ends the WebDriver session (Chromium exits), stops chromedriver, removes the profile.
    pub async fn close(mut self) {
        let client = self.client.clone();
        if let Err(e) = client.close().await {
            eprintln!("closing the WebDriver session: {e}");
        }
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // Only chromedriver is ours to kill (by its handle); `close` is what ends Chromium cleanly.
        if matches!(self.driver.try_wait(), Ok(None)) {
            self.stop_driver();
        }
    }
}
