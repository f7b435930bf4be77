//! `--simulate <ID>`: the payer's loopback simulator, started in this process, so the whole of `connect` (login,
//! callback, tokens, export) runs without credentials or network. The simulated member signs in by themselves.

use std::path::PathBuf;
use std::sync::Arc;

use patient_access::Url;
use patient_access::payers::simulator::{SimOptions, Simulator};
use patient_access::payers::{Environment, Found};

/// The client the simulator registers: connect plays an app registered at the simulated payer.
const CLIENT_ID: &str = "connect-simulated-app";
const CLIENT_SECRET: &str = "connect-simulated secret";

/// A started simulator and what the directory says about the payer it plays.
pub struct Simulated {
    pub sim: Arc<Simulator>,
    pub found: Found,
    /// A scratch folder for the token file, removed on drop: the tokens are good only while this process runs.
    scratch: PathBuf,
}

impl Simulated {
    /// Starts the simulator of the payer with adapter id `id`, redirecting to a free loopback port.
    pub async fn start(id: &str) -> Result<Self, String> {
        let found = patient_access::payers::by_id(id).ok_or_else(|| crate::unknown_payer(id))?;
        let redirect = Url::parse(&format!(
            "http://127.0.0.1:{}/api/auth/smart/callback",
            free_port().map_err(|e| format!("no free loopback port: {e}"))?
        ))
        .map_err(|e| e.to_string())?;
        let mut opts = SimOptions::default().client(CLIENT_ID, CLIENT_SECRET, redirect);
        if found.environment.environment == Environment::Production {
            opts = opts.production();
        }
        use patient_access::payers as p;
        let started = match found.payer.key {
            "aetna" => p::aetna::simulator::start(opts).await,
            "cigna" => p::cigna::simulator::start(opts).await,
            "unitedhealthcare" => p::unitedhealthcare::simulator::start(opts).await,
            "bluebutton" => p::bluebutton::simulator::start(opts).await,
            "humana" => p::humana::simulator::start(opts).await,
            "elevance" => p::elevance::simulator::start(opts).await,
            other => return Err(format!("no simulator for the payer {other:?}")),
        };
        let sim = started
            .map_err(|e| format!("could not start the {} simulator: {e}", found.payer.name))?;
        let scratch =
            std::env::temp_dir().join(format!("patient-access-simulate-{}", std::process::id()));
        Ok(Self {
            sim: Arc::new(sim),
            found,
            scratch,
        })
    }

    /// Where the tokens go unless `--tokens` says otherwise.
    pub fn token_file(&self) -> PathBuf {
        self.scratch.join("tokens.json")
    }

    /// Plays the member in their browser: signs in at the simulated payer, approves, and follows the redirect to
    /// connect's callback listener.
    pub fn sign_in(&self, authorize_url: &Url) {
        let sim = self.sim.clone();
        let url = authorize_url.clone();
        eprintln!(
            "(Simulated: the member {} signs in and approves by themselves.)",
            sim.member().username
        );
        tokio::spawn(async move {
            let delivered = match sim.login(&url).await {
                Ok(callback) => reqwest::get(callback)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(why) = delivered {
                eprintln!("The simulated member could not sign in: {why}");
            }
        });
    }
}

impl Drop for Simulated {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}
