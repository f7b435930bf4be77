//! A web backend on patient-access: a member clicks "Connect my insurer", signs in at the payer, comes back, and
//! sees their claims, with tokens kept in SQLite and refreshed across restarts.
//!
//! ```sh
//! cargo run --example web_app        # then open http://127.0.0.1:3000/
//! ```
//!
//! With no settings it starts the Aetna and Cigna simulators in-process (their login pages are real HTML forms;
//! the home page shows the test login), so it runs with no credentials. Settings, all optional:
//!
//! | Variable | Meaning | Default |
//! |---|---|---|
//! | `PATIENT_ACCESS_ADDR` | address to listen on | `127.0.0.1:3000` |
//! | `PATIENT_ACCESS_PUBLIC_URL` | URL the browser reaches the app at (redirect URIs are `{it}callback/{payer}`) | `http://{ADDR}/` |
//! | `PATIENT_ACCESS_DB` | the SQLite file (tokens and sessions) | `patient-access-web-app.sqlite3` in the working directory |
//! | `PATIENT_ACCESS_SIMULATORS` | `0` to leave the simulators out | on |
//! | `PATIENT_ACCESS_TOKEN_KEY` | base64 of 32 random bytes (`openssl rand -base64 32`): seal tokens at rest | clear, owner-only file |
//! | `PATIENT_ACCESS_TOKEN_KEY_ID` | that key's id, stored in each sealed row | `k1` |
//! | `PATIENT_ACCESS_OLD_TOKEN_KEY` | a previous key (with `…_OLD_TOKEN_KEY_ID`), still opened while rows are re-sealed | |
//! | `PATIENT_ACCESS_<ID>_CLIENT_ID` | offer the real payer with adapter id `<ID>` (`AETNA_SANDBOX` for `aetna-sandbox`) | |
//! | `PATIENT_ACCESS_<ID>_CLIENT_SECRET` | its client secret (omit for a public client) | |
//! | `PATIENT_ACCESS_BRANDS` | a SMART User Access Brands Bundle (JSON file) for the home page's "find your insurer" picker, merged with the payer directory | the directory alone |
//!
//! For a real payer, register `{PUBLIC_URL}callback/{adapter id}` as the redirect URI, e.g.
//! `http://127.0.0.1:3000/callback/aetna-sandbox`.

// `stop`, `addr` and `token_store` are for the test (tests/web_app_browser.rs), which runs the app in-process.
#[allow(dead_code)]
mod app;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use app::{Config, PayerConfig};
use patient_access::Url;
use patient_access::payers::simulator::{SimOptions, Simulator};
use patient_access::smart::SecretString;
use patient_access::smart::store::encrypted::{KeyRing, SealKey};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The SQLite file in the working directory, unless `PATIENT_ACCESS_DB` names one.
const DEFAULT_DATABASE: &str = "patient-access-web-app.sqlite3";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Display, with the causes it does not already say: what a developer needs to fix a setting.
            let mut message = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                let cause = s.to_string();
                if !message.contains(&cause) {
                    message.push_str(&format!(": {cause}"));
                }
                source = s.source();
            }
            eprintln!("web_app: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,web_app=debug".into()),
        )
        // Colours for a terminal only: a log file or a pipe gets plain text.
        .with_ansi(std::io::stdout().is_terminal())
        .init();

    let addr: SocketAddr = env("ADDR")
        .unwrap_or_else(|| "127.0.0.1:3000".into())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let public_url = match env("PUBLIC_URL") {
        Some(u) => Url::parse(&u)?,
        None => Url::parse(&format!("http://{}/", listener.local_addr()?))?,
    };
    // Where the app is started, not inside the SDK's build folder: the database is the app's own data.
    let database = match env("DB") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_dir()?.join(DEFAULT_DATABASE),
    };

    let mut payers = Vec::new();
    // Kept alive for as long as the app runs: a simulator stops when dropped.
    let mut simulators: Vec<Simulator> = Vec::new();
    if env("SIMULATORS").as_deref() != Some("0") {
        for (sim, config) in start_simulators(&public_url).await? {
            simulators.push(sim);
            payers.push(config);
        }
    }
    payers.extend(real_payers()?);
    if payers.is_empty() {
        return Err(
            "no payer configured: enable the simulators or set PATIENT_ACCESS_<ID>_CLIENT_ID"
                .into(),
        );
    }

    let brands = match env("BRANDS") {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
            patient_access::payers::brands::parse_bundle(&text)
                .map_err(|e| format!("{path}: {e}"))?
        }
        None => Vec::new(),
    };
    let running = app::serve(
        listener,
        Config {
            database: database.clone(),
            public_url: Some(public_url.clone()),
            payers,
            directory: patient_access::payers::brands::merge_with_directory(&brands),
            token_keys: token_keys()?,
        },
    )
    .await?;
    println!("\nOpen {} in your browser.", running.url());
    println!("Tokens and sessions are kept in {}.", database.display());
    for sim in &simulators {
        println!(
            "Simulator at {}: sign in as {} / {}",
            sim.base_url(),
            sim.member().username,
            sim.member().password
        );
    }
    running.wait().await?;
    drop(simulators);
    Ok(())
}

/// `PATIENT_ACCESS_{name}`, when set and not empty.
fn env(name: &str) -> Option<String> {
    std::env::var(format!("PATIENT_ACCESS_{name}"))
        .ok()
        .filter(|v| !v.is_empty())
}

/// The token key ring from `PATIENT_ACCESS_TOKEN_KEY` (and an old key to rotate from), if one is set.
fn token_keys() -> Result<Option<KeyRing>, BoxError> {
    let key = |var: &str, id_var: &str| -> Result<Option<SealKey>, BoxError> {
        let Some(b64) = env(var) else {
            return Ok(None);
        };
        let kid = env(id_var).unwrap_or_else(|| "k1".into());
        Ok(Some(SealKey::from_base64(kid, &SecretString::from(b64))?))
    };
    let Some(current) = key("TOKEN_KEY", "TOKEN_KEY_ID")? else {
        return Ok(None);
    };
    let mut ring = KeyRing::new(current);
    if let Some(old) = key("OLD_TOKEN_KEY", "OLD_TOKEN_KEY_ID")? {
        ring = ring.with_old_key(old);
    }
    Ok(Some(ring))
}

/// The Aetna and Cigna simulators, registered with this app's client id and redirect URIs.
async fn start_simulators(public_url: &Url) -> Result<Vec<(Simulator, PayerConfig)>, BoxError> {
    let mut started = Vec::new();
    for (key, name) in [
        ("aetna", "Aetna (simulator)"),
        ("cigna", "Cigna (simulator)"),
    ] {
        let options = SimOptions::default().client(
            "web-app-example",
            "web-app-example-secret",
            app::callback_url(public_url, key)?,
        );
        let sim = match key {
            "aetna" => patient_access::payers::aetna::simulator::start(options).await?,
            _ => patient_access::payers::cigna::simulator::start(options).await?,
        };
        let config = PayerConfig::new(key, sim.adapter(), sim.client_id())
            .name(name)
            .client_secret(sim.client_secret())
            .login_hint(format!(
                "Simulated payer: sign in as {} with password {}",
                sim.member().username,
                sim.member().password
            ));
        started.push((sim, config));
    }
    Ok(started)
}

/// Every payer of the directory whose `PATIENT_ACCESS_<ID>_CLIENT_ID` is set.
fn real_payers() -> Result<Vec<PayerConfig>, BoxError> {
    let mut payers = Vec::new();
    for payer in patient_access::payers::directory() {
        for environment in &payer.environments {
            let var = environment.id.to_ascii_uppercase().replace('-', "_");
            let Some(client_id) = env(&format!("{var}_CLIENT_ID")) else {
                continue;
            };
            let found = patient_access::payers::by_id(&environment.id)
                .ok_or_else(|| format!("no adapter {}", environment.id))?;
            let mut config = PayerConfig::new(&environment.id, found.adapter, client_id);
            if let Some(secret) = env(&format!("{var}_CLIENT_SECRET")) {
                config = config.client_secret(SecretString::from(secret));
            }
            payers.push(config);
        }
    }
    Ok(payers)
}
