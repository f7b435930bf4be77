//! Connect one member at a real payer, then export everything they can share as NDJSON.
//!
//! ```text
//! export PATIENT_ACCESS_CLIENT_ID=...  PATIENT_ACCESS_CLIENT_SECRET=...   # from the payer's developer portal
//! cargo run --example connect -- --payer aetna-sandbox
//! cargo run --example connect -- --fhir-base https://fhir.example.org/r4 --client-id my-app   # any SMART server
//! ```
//!
//! The first run prints the authorize URL (and opens it in a browser where it can), listens on the loopback
//! redirect URI for the payer's callback, exchanges the code, and keeps the tokens in a file only the user can
//! read. Every run then syncs the member's data into `<out>/<ResourceType>.ndjson`; later runs reuse (and refresh)
//! the saved tokens instead of asking the member again. `--help` lists the options.
//!
//! Built from the SDK's public API only: `payer_quirks::by_id` or `Standard` for the adapter, `SmartClient` for
//! the SMART flow, a `Session` over a file-backed `TokenStore` (`token_file.rs`, sealed by the SDK's
//! `EncryptedStore` when a token key is given), and `FhirClient` for the data.

mod args;
mod callback;
mod export;
mod resource_types;
mod token_file;

use std::error::Error as StdError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use args::{CLIENT_ID_ENV, CLIENT_SECRET_ENV, Command, Target};
use export::{Failure, Plan};
use smart_core::fhir::FhirClient;
use smart_core::store::encrypted::{EncryptedStore, KeyRing, SealKey};
use smart_core::{PayerAdapter, SecretString, Session, SmartClient, Standard, TokenStore};
use token_file::TokenFile;
use url::Url;

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
}

#[tokio::main]
async fn main() -> ExitCode {
    // RUST_LOG=smart_core=debug shows each request's method, URL without query, stage and status.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
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
        Ok(Command::Run(args)) => match resolve(*args) {
            Ok(ctx) => ctx,
            Err(message) => return usage_error(&message),
        },
        Err(message) => return usage_error(&message),
    };
    match run(&ctx).await {
        Ok(()) => ExitCode::SUCCESS,
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

/// `--payer` choices, from the SDK's directory.
fn payer_list() -> String {
    let environments: Vec<_> = payer_quirks::directory()
        .into_iter()
        .flat_map(|p| p.environments)
        .collect();
    let width = environments.iter().map(|e| e.id.len()).max().unwrap_or(0);
    let mut out = String::from("Payers (--payer <ID>):\n");
    for env in &environments {
        out.push_str(&format!("  {:<width$}  {}\n", env.id, env.display_name));
    }
    out.push_str("Or --fhir-base <URL> for any standards-following SMART on FHIR server.\n");
    out
}

fn resolve(args: args::Args) -> Result<Context, String> {
    let (adapter, directory_resources): (Arc<dyn PayerAdapter>, _) = match &args.target {
        Target::Payer(id) => {
            let found = payer_quirks::by_id(id)
                .ok_or_else(|| format!("unknown payer {id:?}.\n{}", payer_list()))?;
            (found.adapter, Some(found.payer.resources))
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
            format!(
                "no client id: pass --client-id or set ${CLIENT_ID_ENV} (from {}'s developer portal)",
                adapter.display_name()
            )
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
        Target::Payer(_) => adapter.display_name().to_owned(),
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
        directory_resources,
        client,
        store,
        tokens_path: tokens,
        sealed,
        out,
        open_browser: args.open_browser,
        login_timeout: args.login_timeout,
        reauthorize: args.reauthorize,
        disconnect: args.disconnect,
    })
}

fn with_hint(e: &smart_core::Error) -> String {
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

async fn run(ctx: &Context) -> Result<(), Failure> {
    let session = ctx.client.session(ctx.store.clone(), ctx.key.clone());
    if ctx.disconnect {
        return disconnect(ctx, &session).await;
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

    let plan = Plan::from_listed(&listed_types(ctx).await);
    let fhir = FhirClient::builder(ctx.adapter.clone())
        .token_source(Arc::new(session.clone()))
        .build()?;
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
    for failure in &report.failures {
        eprintln!("could not read {failure}");
    }
    Ok(())
}

fn needs_member(e: &(dyn StdError + Send + Sync + 'static)) -> bool {
    e.downcast_ref::<smart_core::Error>()
        .is_some_and(smart_core::Error::requires_reauthorization)
}

async fn stored_version(ctx: &Context) -> Result<Option<u64>, Failure> {
    Ok(ctx.store.load(&ctx.key).await?.map(|s| s.version))
}

/// The resource types to read: what the payer's CapabilityStatement lists, else what the directory says.
async fn listed_types(ctx: &Context) -> Vec<String> {
    match export::listed_types(ctx.client.http(), ctx.adapter.as_ref()).await {
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
    if ctx.open_browser && callback::open_in_browser(&request.url) {
        eprintln!("(Opened in your browser.)");
    }
    eprintln!(
        "Waiting for the payer to redirect to {} ...",
        redact(ctx.client.redirect_uri())
    );

    let callback = receiver.wait(ctx.login_timeout).await?;
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
    smart_core::url_policy::redact_url(url)
}

/// The error, its causes, and the SDK's hint (which carries the payer adapter's explanation where it has one).
fn report(e: &(dyn StdError + Send + Sync + 'static)) {
    eprintln!("\nerror: {e}");
    let mut cause = e.source();
    while let Some(c) = cause {
        eprintln!("  caused by: {c}");
        cause = c.source();
    }
    let Some(sdk) = e.downcast_ref::<smart_core::Error>() else {
        return;
    };
    // Payer-specific explanations (an odd gateway page, a known refusal) come through the same hint.
    if let Some(hint) = sdk.hint() {
        eprintln!("hint: {hint}");
    }
}
