//! The command line of `connect`, parsed by hand: a dozen `--flag value` options do not need a parser crate.

use std::path::PathBuf;
use std::time::Duration;

/// The redirect URI used when none is given: a loopback address `connect` can listen on.
pub const DEFAULT_REDIRECT_URI: &str = "http://localhost:3000/api/auth/smart/callback";
/// The client id, when `--client-id` is not given.
pub const CLIENT_ID_ENV: &str = "PATIENT_ACCESS_CLIENT_ID";
/// The client secret. Only from the environment: a secret on the command line ends up in `ps` and shell history.
pub const CLIENT_SECRET_ENV: &str = "PATIENT_ACCESS_CLIENT_SECRET";

pub const USAGE: &str = "\
Connect one member at a real payer and export their data as NDJSON.

USAGE:
    cargo run --example connect -- --payer <ID> [OPTIONS]
    cargo run --example connect -- --fhir-base <URL> [OPTIONS]
    cargo run --example connect -- --simulate <ID> [OPTIONS]

PAYER (one of):
    --payer <ID>            a payer this SDK knows (aetna-sandbox, cigna-sandbox, ...; --list-payers)
    --fhir-base <URL>       any standards-following SMART on FHIR server (the `Standard` adapter)
    --simulate <ID>         that payer's simulator, started in-process on 127.0.0.1: the whole flow with no
                            credentials and no network; the simulated member signs in by themselves

OPTIONS:
    --client-id <ID>        the app's client id (default: $PATIENT_ACCESS_CLIENT_ID)
                            the secret is read from $PATIENT_ACCESS_CLIENT_SECRET only; without it the
                            app is a public client (PKCE)
    --redirect-uri <URI>    as registered at the payer (default: http://localhost:3000/api/auth/smart/callback);
                            on http://localhost or 127.0.0.1 connect listens for the callback itself,
                            otherwise it asks you to paste the URL your browser was sent to
    --scope <SCOPES>        scopes to request, space- or comma-separated (default: the payer's)
    --out <DIR>             where to write <ResourceType>.ndjson (default: patient-access-export/<payer>)
    --tokens <FILE>         where to keep the member's tokens, mode 0600
                            (default: $XDG_CONFIG_HOME or ~/.config, then patient-access/tokens.json)
    --no-browser            do not try to open a browser (the URL is printed either way)
    --timeout <SECONDS>     how long to wait for the member to sign in (default: 600)
    --reauthorize           ask the member again even if saved tokens still work
    --disconnect            revoke the saved tokens at the payer (where it can) and forget them
    --list-payers           list the payers this SDK knows
    -h, --help              this text

The authorize URL is printed on stdout on a line of its own, `AUTHORIZE_URL=<url>`, so that another program can
drive the login when nobody is at a keyboard; connect then waits for the callback. A second run uses the saved
tokens (refreshing them when they expire) instead of asking the member again.
Set RUST_LOG=smart_core=debug to see every request the SDK makes (never with tokens).

The export folder is made 0700 and its files 0600. A type whose reading fails part-way (rate limits or server
errors after the retries, a paging loop) keeps its previous file unchanged and is listed as incomplete.

EXIT CODES:
    0  everything was exported
    1  the run failed (nothing new was written)
    2  usage error
    3  partial: the export was written, but the types listed as INCOMPLETE kept their previous files";

/// Which server to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A payer from `patient_access::payers::directory()`, by adapter id.
    Payer(String),
    /// Any SMART server, by FHIR base URL.
    FhirBase(String),
    /// The simulator of a payer from the directory, by adapter id.
    Simulate(String),
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub target: Target,
    pub client_id: Option<String>,
    pub redirect_uri: String,
    pub scopes: Option<Vec<String>>,
    pub out: Option<PathBuf>,
    pub tokens: Option<PathBuf>,
    pub open_browser: bool,
    pub login_timeout: Duration,
    pub reauthorize: bool,
    pub disconnect: bool,
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Box<Args>),
    Help,
    ListPayers,
}

/// Parses the arguments after the program name. `Err` carries a message for the user.
pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut target = None;
    let mut client_id = None;
    let mut redirect_uri = None;
    let mut scopes: Option<Vec<String>> = None;
    let mut out = None;
    let mut tokens = None;
    let mut open_browser = true;
    let mut login_timeout = Duration::from_secs(600);
    let mut reauthorize = false;
    let mut disconnect = false;

    while let Some(arg) = args.next() {
        // Both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--list-payers" => return Ok(Command::ListPayers),
            "--payer" | "--fhir-base" | "--simulate" => {
                let v = value(&flag)?;
                let t = match flag.as_str() {
                    "--payer" => Target::Payer(v),
                    "--fhir-base" => Target::FhirBase(v),
                    _ => Target::Simulate(v),
                };
                if target.replace(t).is_some() {
                    return Err("give one of --payer, --fhir-base or --simulate, once".into());
                }
            }
            "--client-id" => client_id = Some(value(&flag)?),
            "--redirect-uri" => redirect_uri = Some(value(&flag)?),
            "--scope" | "--scopes" => {
                let v = value(&flag)?;
                scopes.get_or_insert_with(Vec::new).extend(
                    v.split([' ', ','])
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
            }
            "--out" => out = Some(PathBuf::from(value(&flag)?)),
            "--tokens" => tokens = Some(PathBuf::from(value(&flag)?)),
            "--timeout" => {
                let v = value(&flag)?;
                let secs: u64 = v
                    .parse()
                    .map_err(|_| format!("--timeout wants seconds, not {v:?}"))?;
                login_timeout = Duration::from_secs(secs.max(1));
            }
            "--no-browser" => open_browser = false,
            "--reauthorize" => reauthorize = true,
            "--disconnect" => disconnect = true,
            "--client-secret" => {
                return Err(format!(
                    "pass the client secret in ${CLIENT_SECRET_ENV}, not on the command line \
                     (where `ps` and the shell history would keep it)"
                ));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let target = target.ok_or(
        "which payer? give --payer <ID> (see --list-payers), --fhir-base <URL>, or --simulate <ID> to try it \
         against a simulated payer",
    )?;
    Ok(Command::Run(Box::new(Args {
        target,
        client_id,
        redirect_uri: redirect_uri.unwrap_or_else(|| DEFAULT_REDIRECT_URI.to_owned()),
        scopes,
        out,
        tokens,
        open_browser,
        login_timeout,
        reauthorize,
        disconnect,
    })))
}
