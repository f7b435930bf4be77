//! Connect one member at a real payer, then export everything they can share as NDJSON.
//!
//! ```text
//! export PATIENT_ACCESS_CLIENT_ID=...  PATIENT_ACCESS_CLIENT_SECRET=...   # from the payer's developer portal
//! cargo run --example connect -- --payer aetna-sandbox
//! cargo run --example connect -- --fhir-base https://fhir.example.org/r4 --client-id my-app   # any SMART server
//! cargo run --example connect -- --simulate aetna-sandbox   # no credentials: that payer's simulator, in-process
//! ```
//!
//! The first run prints the authorize URL (and opens it in a browser where it can), listens on the loopback
//! redirect URI for the payer's callback, exchanges the code, and keeps the tokens in a file only the user can
//! read. Every run then syncs the member's data into `<out>/<ResourceType>.ndjson`; later runs reuse (and refresh)
//! the saved tokens instead of asking the member again. `--help` lists the options.
//!
//! Built from the SDK's public API only: `patient_access::payers::by_id` or `Standard` for the adapter, `SmartClient` for
//! the SMART flow, a `Session` over a file-backed `TokenStore` (`token_file.rs`, sealed by the SDK's
//! `EncryptedStore` when a token key is given), and `FhirClient` for the data.

mod args;
mod callback;
mod export;
mod simulate;
mod token_file;

use std::error::Error as StdError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use args::{CLIENT_ID_ENV, CLIENT_SECRET_ENV, Command, Target};
use export::{Failure, Plan};
use patient_access::Url;
use patient_access::smart::fhir::FhirClient;
use patient_access::smart::store::encrypted::{EncryptedStore, KeyRing, SealKey};
use patient_access::smart::{
    PayerAdapter, SecretString, Session, SmartClient, Standard, TokenStore,
};
use token_file::TokenFile;

/// Everything a run needs, resolved from the command line and the environment.
struct Context {
    adapter: Arc<dyn PayerAdapter>,
    /// The payer's name for people (the FHIR server's host for `--fhir-base`).
    name: String,
    /// What the directory says the payer serves, when `--payer` named one.
    directory_resources: Option<&'static [&'static str]>,
    client: SmartClient,
    store: Arc<dyn TokenStore>,
    /// The token file, and whether its tokens are sealed.
    tokens_path: PathBuf,
    sealed: bool,
    key: String,
    out: PathBuf,
    open_browser: bool,
    login_timeout: Duration,
    reauthorize: bool,
    disconnect: bool,
    /// `--simulate`: the simulator this run talks to (it stops when the run ends).
    simulated: Option<simulate::Simulated>,
}

#[tokio::main]
async fn main() -> ExitCode {
    // RUST_LOG=smart_core=debug shows each request's method, URL without query, stage and status.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            // Colours for a terminal only: a log file or a pipe gets plain text.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let ctx = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Command::ListPayers) => {
            print!("{}", payer_list());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(args)) => {
            let simulated = match &args.target {
                Target::Simulate(id) => match simulate::Simulated::start(id).await {
                    Ok(s) => Some(s),
                    Err(message) => return usage_error(&message),
                },
                _ => None,
            };
            match resolve(*args, simulated) {
                Ok(ctx) => ctx,
                Err(message) => return usage_error(&message),
            }
        }
        Err(message) => return usage_error(&message),
    };
    match run(&ctx).await {
        Ok(Done::Complete) => ExitCode::SUCCESS,
        Ok(Done::Partial) => ExitCode::from(export::EXIT_PARTIAL),
        Err(e) => {
            report(e.as_ref());
            ExitCode::FAILURE
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!(
        "error: {}\n\nRun with --help for the options.",
        message.trim_end()
    );
    ExitCode::from(2)
}

/// `--payer` choices, from the SDK's directory, each payer with how to get credentials for it.
fn payer_list() -> String {
    let payers = patient_access::payers::directory();
    let width = payers
        .iter()
        .flat_map(|p| &p.environments)
        .map(|e| e.id.len())
        .max()
        .unwrap_or(0);
    let mut out = String::from("Payers (--payer <ID>):\n");
    for payer in &payers {
        out.push_str(&format!("\n{}\n", payer.name));
        for env in &payer.environments {
            out.push_str(&format!("  {:<width$}  {}\n", env.id, env.display_name));
        }
        out.push_str(&payer.registration.lines("    "));
    }
    out.push_str("\nOr --fhir-base <URL> for any standards-following SMART on FHIR server.\n");
    out
}

/// The adapter ids closest to what the user typed, best first: a different case, ids that start with it (a
/// payer's key names its deployments), then small typos.
fn closest_ids(typed: &str) -> Vec<String> {
    let typed = typed.trim().to_ascii_lowercase();
    let ids: Vec<String> = patient_access::payers::directory()
        .into_iter()
        .flat_map(|p| p.environments)
        .map(|e| e.id)
        .collect();
    if let Some(same) = ids.iter().find(|id| **id == typed) {
        return vec![same.clone()];
    }
    let prefixed: Vec<String> = ids
        .iter()
        .filter(|id| !typed.is_empty() && id.starts_with(&typed))
        .cloned()
        .collect();
    if !prefixed.is_empty() {
        return prefixed.into_iter().take(3).collect();
    }
    // A typo in the payer's key ("aetan-sandbox", "cigan") is a small edit of an id or of its key.
    let mut scored: Vec<(usize, &String)> = ids
        .iter()
        .map(|id| {
            let key = id.split('-').next().unwrap_or(id);
            (
                edit_distance(&typed, id).min(edit_distance(&typed, key) + 1),
                id,
            )
        })
        .filter(|(d, _)| *d <= 3)
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, id)| id.clone())
        .collect()
}

/// Levenshtein distance, on characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

pub(crate) fn unknown_payer(typed: &str) -> String {
    let count: usize = patient_access::payers::directory()
        .iter()
        .map(|p| p.environments.len())
        .sum();
    let suggestions = closest_ids(typed);
    let guess = match suggestions.as_slice() {
        [] => String::new(),
        [one] => format!(" Did you mean {one}?"),
        [init @ .., last] => format!(" Did you mean {} or {last}?", init.join(", ")),
    };
    format!(
        "unknown payer {typed:?}.{guess}\n--list-payers shows all {count}; --fhir-base <URL> takes any SMART on FHIR server."
    )
}

fn resolve(args: args::Args, simulated: Option<simulate::Simulated>) -> Result<Context, String> {
    if let Some(s) = &simulated {
        // A simulated member's tokens are throwaway: they stay in clear in their own file.
        let tokens = args.tokens.clone().unwrap_or_else(|| s.token_file());
        return Ok(Context {
            key: format!("simulated {}", s.found.environment.id),
            adapter: s.sim.adapter(),
            name: format!("{} (simulated)", s.found.payer.name),
            directory_resources: Some(s.found.payer.resources),
            client: SmartClient::builder(s.sim.adapter())
                .client_id(s.sim.client_id())
                .client_secret(s.sim.client_secret())
                .redirect_uri(s.sim.redirect_uri().as_str())
                .map_err(|e| with_hint(&e))?
                .build()
                .map_err(|e| with_hint(&e))?,
            store: Arc::new(TokenFile::new(&tokens)),
            tokens_path: tokens,
            sealed: false,
            out: args.out.unwrap_or_else(|| {
                Path::new("patient-access-export")
                    .join(format!("simulated-{}", s.found.environment.id))
            }),
            open_browser: false,
            login_timeout: args.login_timeout,
            reauthorize: args.reauthorize,
            disconnect: args.disconnect,
            simulated,
        });
    }
    let (adapter, directory_entry): (Arc<dyn PayerAdapter>, _) = match &args.target {
        Target::Payer(id) | Target::Simulate(id) => {
            let found = patient_access::payers::by_id(id).ok_or_else(|| unknown_payer(id))?;
            (found.adapter, Some(found.payer))
        }
        Target::FhirBase(url) => {
            let standard = Standard::new(url).map_err(|e| with_hint(&e))?;
            (Arc::new(standard), None)
        }
    };
    let client_id = args
        .client_id
        .or_else(|| std::env::var(CLIENT_ID_ENV).ok())
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            let mut message = format!(
                "no client id: pass --client-id or set ${CLIENT_ID_ENV} (from {}'s developer portal)",
                adapter.display_name()
            );
            if let Some(payer) = &directory_entry {
                message.push_str(&format!(
                    "\n\nGetting credentials for {}:\n{}",
                    payer.name,
                    payer.registration.lines("  ")
                ));
            }
            message.push_str(&format!(
                "\nNo client id yet? `--simulate {}` runs the whole flow against a simulated payer.",
                directory_entry
                    .as_ref()
                    .and_then(|p| p.environments.first())
                    .map_or("aetna-sandbox", |e| e.id.as_str())
            ));
            message
        })?;
    let mut builder = SmartClient::builder(adapter.clone())
        .client_id(&client_id)
        .redirect_uri(&args.redirect_uri)
        .map_err(|e| with_hint(&e))?;
    // Without a secret the app is a public client: PKCE is the proof, as SMART allows.
    if let Some(secret) = std::env::var(CLIENT_SECRET_ENV)
        .ok()
        .filter(|s| !s.is_empty())
    {
        builder = builder.client_secret(SecretString::from(secret));
    }
    if let Some(scopes) = args.scopes {
        builder = builder.scopes(scopes);
    }
    let client = builder.build().map_err(|e| with_hint(&e))?;
    let out = args.out.unwrap_or_else(|| default_out(adapter.as_ref()));
    let name = match &args.target {
        Target::FhirBase(_) => adapter
            .fhir_base()
            .host_str()
            .unwrap_or("the FHIR server")
            .to_owned(),
        Target::Payer(_) | Target::Simulate(_) => adapter.display_name().to_owned(),
    };
    let tokens = args.tokens.unwrap_or_else(default_token_file);
    let token_key = token_key(args.token_key_file.as_deref(), &tokens)?;
    let sealed = token_key.is_some();
    let file = TokenFile::new(&tokens);
    let store: Arc<dyn TokenStore> = match token_key {
        Some(key) => Arc::new(EncryptedStore::new(file, KeyRing::new(key))),
        None => Arc::new(file),
    };
    Ok(Context {
        // One authorization per payer deployment and app registration.
        key: format!("{} {} {}", adapter.id(), adapter.fhir_base(), client_id),
        adapter,
        name,
        directory_resources: directory_entry.map(|p| p.resources),
        client,
        store,
        tokens_path: tokens,
        sealed,
        out,
        open_browser: args.open_browser,
        login_timeout: args.login_timeout,
        reauthorize: args.reauthorize,
        disconnect: args.disconnect,
        simulated: None,
    })
}

fn with_hint(e: &patient_access::smart::Error) -> String {
    match e.hint() {
        Some(h) => format!("{e}\nhint: {h}"),
        None => e.to_string(),
    }
}

fn default_out(adapter: &dyn PayerAdapter) -> PathBuf {
    let name = match adapter.id() {
        "standard" => adapter
            .fhir_base()
            .host_str()
            .unwrap_or("standard")
            .to_owned(),
        id => id.to_owned(),
    };
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Path::new("patient-access-export").join(safe)
}

/// The key that seals the token file: `--token-key-file`, else `$PATIENT_ACCESS_TOKEN_KEY`, else `token.key`
/// next to the token file (the OS user's config folder by default) when it exists. Each holds base64 of 32 bytes.
fn token_key(flag: Option<&Path>, tokens: &Path) -> Result<Option<SealKey>, String> {
    const KID: &str = "connect";
    let from_file = |path: &Path| -> Result<Option<SealKey>, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("token key file {}: {e}", path.display()))?;
        SealKey::from_base64(KID, &SecretString::from(text))
            .map(Some)
            .map_err(|e| format!("token key file {}: {e}", path.display()))
    };
    if let Some(path) = flag {
        return from_file(path);
    }
    if std::env::var_os(TOKEN_KEY_ENV).is_some_and(|v| !v.is_empty()) {
        return SealKey::from_env(KID, TOKEN_KEY_ENV)
            .map(Some)
            .map_err(|e| format!("${TOKEN_KEY_ENV}: {e}"));
    }
    let beside = tokens.with_file_name("token.key");
    if beside.exists() {
        return from_file(&beside);
    }
    Ok(None)
}

/// The environment variable that may hold the token key.
const TOKEN_KEY_ENV: &str = "PATIENT_ACCESS_TOKEN_KEY";

fn default_token_file() -> PathBuf {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("APPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    config.join("patient-access").join("tokens.json")
}

/// How a run that did not fail ended.
enum Done {
    /// Everything was exported (exit code 0).
    Complete,
    /// Some types are incomplete; their previous files were kept (exit code [`export::EXIT_PARTIAL`]).
    Partial,
}

async fn run(ctx: &Context) -> Result<Done, Failure> {
    let session = ctx.client.session(ctx.store.clone(), ctx.key.clone());
    if ctx.disconnect {
        disconnect(ctx, &session).await?;
        return Ok(Done::Complete);
    }
    let mut authorized_now = false;
    if ctx.reauthorize || session.needs_reauthorization().await? {
        authorize(ctx, &session).await?;
        authorized_now = true;
    } else {
        eprintln!(
            "Using the saved authorization for {} (from {}).",
            ctx.name,
            ctx.tokens_path.display()
        );
    }
    let saved_version = stored_version(ctx).await?;

    let fhir = FhirClient::builder(ctx.adapter.clone())
        .token_source(Arc::new(session.clone()))
        .build()?;
    let plan = Plan::from_listed(&listed_types(ctx, &fhir).await);
    let report = match export::export(&fhir, &plan, &ctx.out).await {
        // The payer stopped honouring the saved tokens (revoked, consent ended): ask the member once more.
        Err(e) if !authorized_now && needs_member(e.as_ref()) => {
            eprintln!(
                "\nThe payer no longer accepts the saved authorization ({e}); asking the member again."
            );
            authorize(ctx, &session).await?;
            authorized_now = true;
            export::export(&fhir, &plan, &ctx.out).await?
        }
        other => other?,
    };
    if !authorized_now && stored_version(ctx).await? != saved_version {
        eprintln!(
            "The access token was refreshed; the new tokens are saved in {}.",
            ctx.tokens_path.display()
        );
    }

    println!(
        "Exported Patient/{} to {}:",
        report.patient_id,
        ctx.out.display()
    );
    for (ty, lines) in &report.files {
        println!("  {:<32} {lines:>6}", format!("{ty}.ndjson"));
    }
    // Prior authorizations are EOBs (same file), but they are no claims: count them apart.
    if let Some(eobs) = report.files.get("ExplanationOfBenefit") {
        println!(
            "  ExplanationOfBenefit: {} claims, {} prior authorizations",
            eobs.saturating_sub(report.prior_authorizations),
            report.prior_authorizations
        );
    }
    if report.warnings > 0 {
        println!(
            "  ({} warnings from the payer are in OperationOutcome.ndjson)",
            report.warnings
        );
    }
    if !plan.skipped.is_empty() {
        println!(
            "  not exported (not the member's own data): {}",
            plan.skipped.join(", ")
        );
    }
    if let Some(mode) = report.tightened {
        eprintln!(
            "The export folder {} was readable by others (mode {mode:o}); it is now 0700 (yours only).",
            ctx.out.display()
        );
    }
    for failure in &report.failures {
        eprintln!("could not read {failure}");
    }
    if report.incomplete.is_empty() {
        return Ok(Done::Complete);
    }
    let names: Vec<&str> = report.incomplete.iter().map(String::as_str).collect();
    eprintln!(
        "INCOMPLETE: {} could not be read completely; the previous export of {} was kept unchanged. \
         Run connect again later (exit code {}).",
        names.join(", "),
        if names.len() == 1 { "it" } else { "each" },
        export::EXIT_PARTIAL
    );
    Ok(Done::Partial)
}

fn needs_member(e: &(dyn StdError + Send + Sync + 'static)) -> bool {
    e.downcast_ref::<patient_access::smart::Error>()
        .is_some_and(patient_access::smart::Error::requires_reauthorization)
}

async fn stored_version(ctx: &Context) -> Result<Option<u64>, Failure> {
    Ok(ctx.store.load(&ctx.key).await?.map(|s| s.version))
}

/// The resource types to read: what the payer's CapabilityStatement lists, else what the directory says.
async fn listed_types(ctx: &Context, fhir: &FhirClient) -> Vec<String> {
    match export::listed_types(fhir).await {
        Ok(types) => types,
        Err(why) => {
            let fallback: Vec<String> = match ctx.directory_resources {
                Some(list) => list.iter().map(|s| (*s).to_owned()).collect(),
                None => Vec::new(),
            };
            eprintln!(
                "Could not read the payer's CapabilityStatement ({why}); exporting {}.",
                if fallback.is_empty() {
                    "Patient, Coverage and ExplanationOfBenefit".to_owned()
                } else {
                    fallback.join(", ")
                }
            );
            fallback
        }
    }
}

/// The member signs in at the payer; the callback's code becomes tokens in the token file.
async fn authorize(ctx: &Context, session: &Session) -> Result<(), Failure> {
    let receiver = callback::Receiver::bind(ctx.client.redirect_uri()).await?;
    let request = ctx.client.authorize_url().await?;
    eprintln!(
        "Sign in at {} and approve sharing, in a browser, at this URL:",
        ctx.name
    );
    // Alone on its line and on stdout, so a program driving the login can pick it up.
    println!("AUTHORIZE_URL={}", request.url);
    std::io::stdout().flush()?;
    if request.browser_only() {
        eprintln!(
            "({} only accepts this URL in the member's own browser: open it there, not with a script.)",
            ctx.name
        );
    }
    if let Some(s) = &ctx.simulated {
        s.sign_in(&request.url);
    } else if ctx.open_browser && callback::open_in_browser(&request.url) {
        eprintln!("(Opened in your browser.)");
    }
    eprintln!(
        "Waiting for the payer to redirect to {} ...",
        redact(ctx.client.redirect_uri())
    );

    // Only this sign-in's callback is taken: a stale tab's or a forged one (no or another state, `error=`
    // included) is answered with a 400 page, and connect keeps waiting for the payer's redirect.
    let belongs = |url: &str| request.pending.check_state(url).map_err(|e| e.to_string());
    let callback = receiver.wait(ctx.login_timeout, &belongs).await?;
    let exchanged = ctx
        .client
        .exchange_code(&request.pending, &callback.url)
        .await;
    let page = match &exchanged {
        Ok(_) => format!("{} is connected.", ctx.name),
        Err(e) => format!("The connection failed: {e}"),
    };
    callback.respond(exchanged.is_ok(), &page).await;
    session.save_new(exchanged?).await?;
    eprintln!(
        "Connected; tokens saved in {} (readable only by you{}).",
        ctx.tokens_path.display(),
        if ctx.sealed {
            ", sealed with the token key"
        } else {
            ""
        }
    );
    Ok(())
}

async fn disconnect(ctx: &Context, session: &Session) -> Result<(), Failure> {
    let outcome = session.disconnect().await?;
    if !outcome.had_tokens {
        println!("No saved authorization for {}.", ctx.name);
    } else if outcome.revoked_at_payer {
        println!("Revoked at {} and deleted here.", ctx.name);
    } else {
        let why = outcome.revocation_error.map_or_else(
            || "it has no revocation endpoint".to_owned(),
            |e| e.to_string(),
        );
        println!(
            "Deleted here; not revoked at {} ({why}): the member can revoke the app in the payer's portal.",
            ctx.name
        );
    }
    Ok(())
}

fn redact(url: &Url) -> String {
    patient_access::smart::url_policy::redact_url(url)
}

/// The error, its causes, and the SDK's hint (which carries the payer adapter's explanation where it has one).
fn report(e: &(dyn StdError + Send + Sync + 'static)) {
    eprintln!("\nerror: {e}");
    let mut cause = e.source();
    while let Some(c) = cause {
        eprintln!("  caused by: {c}");
        cause = c.source();
    }
    let Some(sdk) = e.downcast_ref::<patient_access::smart::Error>() else {
        return;
    };
    // Payer-specific explanations (an odd gateway page, a known refusal) come through the same hint.
    if let Some(hint) = sdk.hint() {
        eprintln!("hint: {hint}");
    }
}
