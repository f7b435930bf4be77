//! The first five minutes: a member's claims on screen, with no credentials and no network.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! It starts the Aetna simulator from `payer-quirks` (a real HTTP server on 127.0.0.1 that behaves like Aetna's
//! sandbox, quirks included) and runs the whole flow exactly as an app would against the real payer: discovery,
//! the authorize URL, the member's login (here the simulator's headless browser plays the member), the callback,
//! the token exchange, a token session, then the member's Patient, Coverage and every ExplanationOfBenefit page.
//! Only the first two lines of `run` are about the simulator; everything after them is the app's code.
//!
//! Then: `cargo run --example web_app` (the same flow in a web app, clicked through in a browser), the README's
//! first program (a complete one to copy, against the same simulator), and with a payer's credentials
//! `cargo run --example connect -- --payer aetna-sandbox`.

#[path = "common/health_record.rs"]
mod health_record;

use std::collections::{BTreeSet, HashMap};
use std::error::Error as StdError;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use health_record::HealthRecord;
use patient_access::Url;
use patient_access::fhir::money::{ClaimRow, ClaimsTable};
use patient_access::fhir::prior_auth::PriorAuthorization;
use patient_access::fhir::{
    Coverage, ExplanationOfBenefit, Money, Organization, Patient, Practitioner, Reference,
};
use patient_access::payers::simulator::SimOptions;
use patient_access::smart::fhir::{EobQuery, FhirClient};
use patient_access::smart::{MemoryTokenStore, SmartClient};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart failed: {e}");
            // The SDK's errors say what to do where a fix is known.
            if let Some(hint) = e
                .downcast_ref::<patient_access::smart::Error>()
                .and_then(|e| e.hint())
            {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn StdError>> {
    let started = Instant::now();
    // The simulated payer. A real app starts from `patient_access::payers::aetna::sandbox()` (or `payers::by_id`)
    // and its own client id, secret and redirect URI, registered in the payer's developer portal.
    let sim = patient_access::payers::aetna::simulator::start(SimOptions::default()).await?;
    let adapter = sim.adapter();

    println!(
        "patient-access quickstart: a simulated {} on {}",
        adapter.display_name(),
        sim.base_url()
    );
    println!();

    // One client per payer registration; cheap to clone and share between request handlers.
    let client = SmartClient::builder(adapter.clone())
        .client_id(sim.client_id())
        .client_secret(sim.client_secret())
        .redirect_uri(sim.redirect_uri().as_str())?
        .build()?;

    // 1. Discovery (cached) and the authorize URL: state, PKCE S256, and Aetna's own `aud` and `skin=skin13`.
    let config = client.discover().await?;
    step("Discovery", config.source.to_string());
    let request = client.authorize_url().await?;
    let (endpoint, params) = show_url(&request.url, &["state", "code_challenge"]);
    step("Authorize URL", endpoint);
    for param in params {
        step("", param);
    }

    // 2. The member signs in at the payer and approves sharing. In an app, the member's browser does this; a
    //    server-side driver (like this headless one) must go through `server_fetchable_url`, which refuses for
    //    payers whose login only works in the member's own browser (Cigna).
    let callback = sim.login(request.server_fetchable_url()?).await?;
    step(
        "Member login",
        format!("{} signed in and approved", sim.member().username),
    );
    let (redirect, params) = show_url(&callback, &["code", "state"]);
    step("Callback", format!("{redirect}?{}", params.join("&")));

    // 3. The callback: state checked in constant time, then the code exchanged for tokens.
    let tokens = client
        .exchange_code(&request.pending, callback.as_str())
        .await?;
    step(
        "Tokens",
        format!(
            "access token for patient {}, refresh token: {}, scopes: {}",
            tokens.patient().unwrap_or("?"),
            if tokens.refresh_token().is_some() {
                "yes"
            } else {
                "no"
            },
            tokens.scopes().join(" "),
        ),
    );

    // 4. A session keeps the tokens in a store (a database in production) and refreshes them when they expire;
    //    the FHIR client asks it for a valid token before every request.
    let session = client.session(Arc::new(MemoryTokenStore::new()), "quickstart-member");
    session.save_new(tokens).await?;
    let fhir = FhirClient::builder(adapter)
        .token_source(Arc::new(session))
        .build()?;

    // 5. The member's data, typed by fhir-c4bb; every page of every search is followed.
    let patient = fhir.patient().await?;
    let coverage = fhir.coverage().collect_all().await?;
    let claims = fhir
        .explanation_of_benefits(EobQuery::new().claims_only())
        .collect_all()
        .await?;
    // Prior authorizations are EOBs too (`use = preauthorization`); the SDK asks for them the way the payer
    // supports (Aetna: by the PDex profile) and keeps only those.
    let prior_auths = fhir.prior_authorizations().collect_all().await?;
    step(
        "FHIR",
        format!(
            "Patient, {} Coverage, {} claims, {} prior authorizations, {} warnings",
            coverage.matches.len(),
            claims.matches.len(),
            prior_auths.matches.len(),
            coverage.warnings.len() + claims.warnings.len() + prior_auths.warnings.len()
        ),
    );

    // 6. Claims and coverage name providers and payers by reference: read each one once, for their names.
    let names = read_names(&fhir, &coverage.matches, &claims.matches).await;
    step(
        "References",
        format!("{} organizations and practitioners read", names.len()),
    );
    println!();

    print_member(&patient);
    print_coverage(&coverage.matches, &names);
    print_claims(&ClaimsTable::from_eobs(&claims.matches), &names);
    println!();
    print_prior_authorizations(
        prior_auths
            .matches
            .iter()
            .filter_map(ExplanationOfBenefit::prior_authorization),
    );

    // 7. Clinical data (US Core), by type name: the types this payer lists, typed by fhir-c4bb.
    let record = HealthRecord::read(&fhir).await?;
    println!();
    print_health_record(&record);

    println!();
    println!("Done in {:.2} s. Next:", started.elapsed().as_secs_f64());
    for (what, how) in NEXT {
        println!("  {what:<42} {how}");
    }
    Ok(())
}

/// Where to go from here: nothing on this list needs credentials but the last line.
const NEXT: &[(&str, &str)] = &[
    (
        "the same flow in a web app, in a browser",
        "cargo run --example web_app   (then open http://127.0.0.1:3000/)",
    ),
    (
        "a complete program to copy",
        "README.md, \"A member's claims in a few lines\"",
    ),
    (
        "connect and export, simulated",
        "cargo run --example connect -- --simulate aetna-sandbox",
    ),
    (
        "a real sandbox (the payer's credentials)",
        "cargo run --example connect -- --list-payers",
    ),
];

/// A short clinical summary: a count and the first few lines of each list.
fn print_health_record(record: &HealthRecord) {
    println!("Health record");
    for (title, lines) in record.sections() {
        println!("  {title} ({})", lines.len());
        for line in lines.iter().take(3) {
            println!("    {:<44} {:<22} {}", line.text, line.detail, line.date);
        }
    }
    if !record.unavailable.is_empty() {
        println!(
            "  Not served by this payer: {}",
            record.unavailable.join(", ")
        );
    }
}

fn step(name: &str, detail: impl std::fmt::Display) {
    println!("  {name:<14} {detail}");
}

/// The URL without its query, then its query parameters decoded, with the values of `secret` ones hidden:
/// codes and state are not for terminals or logs.
fn show_url(url: &Url, secret: &[&str]) -> (String, Vec<String>) {
    let mut base = url.clone();
    base.set_query(None);
    let params = url
        .query_pairs()
        .map(|(k, v)| match secret.contains(&k.as_ref()) {
            true => format!("{k}=[hidden]"),
            false => format!("{k}={v}"),
        })
        .collect();
    (base.to_string(), params)
}

/// `"Organization/x"` → the organization's name, for every provider and payer referenced.
async fn read_names(
    fhir: &FhirClient,
    coverages: &[Coverage],
    eobs: &[ExplanationOfBenefit],
) -> HashMap<String, String> {
    let references: BTreeSet<&str> = eobs
        .iter()
        .filter_map(|e| e.provider.as_ref())
        .chain(coverages.iter().flat_map(|c| &c.payor))
        .filter_map(|r| r.reference.as_deref())
        .collect();
    let mut names = HashMap::new();
    for text in references {
        // Contained (`#id`) and logical references name nothing to read.
        let reference = Reference::to(text);
        let Some((kind, id)) = reference.target() else {
            continue;
        };
        let name = match kind {
            "Organization" => fhir.read::<Organization>(id).await.map(|o| o.name),
            "Practitioner" => fhir
                .read::<Practitioner>(id)
                .await
                .map(|p| p.display_name()),
            _ => continue,
        };
        match name {
            Ok(Some(name)) => {
                names.insert(text.to_owned(), name);
            }
            Ok(None) => {}
            // A dangling reference is common in payer data: show the reference instead of failing.
            Err(e) => eprintln!("could not read {text}: {e}"),
        }
    }
    names
}

fn print_member(patient: &Patient) {
    println!("Member");
    println!(
        "  Name           {}",
        patient.display_name().unwrap_or_else(|| "(no name)".into())
    );
    println!("  Member id      {}", patient.member_id().unwrap_or("-"));
    println!(
        "  Born           {}",
        patient.birth_date.as_ref().map_or("-", |d| d.as_str())
    );
    println!("  FHIR id        {}", patient.id.as_deref().unwrap_or("-"));
    println!();
}

fn print_coverage(coverages: &[Coverage], names: &HashMap<String, String>) {
    println!("Coverage ({})", coverages.len());
    println!(
        "  {:<8} {:<30} {:<30} {:<24} Period",
        "Status", "Plan", "Group", "Payer"
    );
    for c in coverages {
        let class_name = |kind: &str| {
            c.class
                .iter()
                .find(|k| k.type_.as_ref().is_some_and(|t| t.has_code(kind)))
                .and_then(|k| k.name.as_deref().or(k.value.as_deref()))
                .unwrap_or("-")
        };
        let payer = c.payor.first().and_then(|r| r.label()).unwrap_or("-");
        let payer = names.get(payer).map_or(payer, String::as_str);
        let period = c.period.as_ref().map_or_else(String::new, |p| {
            let date = |d: Option<&patient_access::fhir::DateTime>| {
                d.map_or("…", |d| d.as_str()).to_owned()
            };
            format!("{} to {}", date(p.start.as_ref()), date(p.end.as_ref()))
        });
        println!(
            "  {:<8} {:<30} {:<30} {:<24} {}",
            c.status.as_deref().unwrap_or("-"),
            truncate(class_name("plan"), 30),
            truncate(class_name("group"), 30),
            truncate(payer, 24),
            period
        );
    }
    println!();
}

fn print_claims(table: &ClaimsTable, names: &HashMap<String, String>) {
    let mut rows: Vec<&ClaimRow> = table.rows.iter().collect();
    // Most recent first; claims without a service date last.
    rows.sort_by(|a, b| b.service_date.cmp(&a.service_date));
    let currency = table
        .billed_total
        .as_ref()
        .and_then(|m| m.currency.as_deref())
        .unwrap_or("");
    println!("Claims ({})", rows.len());
    println!(
        "  {:<12} {:<13} {:<34} {:>12} {:>12} {:>12}",
        "Service date", "Type", "Provider", "Billed", "Plan paid", "Member owes"
    );
    for row in rows {
        let provider = row.provider.as_deref().unwrap_or("-");
        let provider = names.get(provider).map_or(provider, String::as_str);
        println!(
            "  {:<12} {:<13} {:<34} {:>12} {:>12} {:>12}",
            row.service_date
                .as_ref()
                .and_then(|d| d.date())
                .unwrap_or("-"),
            row.claim_type,
            truncate(provider, 34),
            amount(row.billed.as_ref()),
            amount(row.plan_paid.as_ref()),
            amount(row.member_owes.as_ref()),
        );
    }
    // Column sums in exact decimal arithmetic (FHIR decimals keep their digits; no floating point).
    println!(
        "  {:<61} {:>12} {:>12} {:>12}",
        format!("Totals ({currency})"),
        amount(table.billed_total.as_ref()),
        amount(table.plan_paid_total.as_ref()),
        amount(table.member_owes_total.as_ref()),
    );
    println!("  (- : not sent; non-financial \"Basis\" claims carry no amounts)");
}

fn print_prior_authorizations<'a>(auths: impl Iterator<Item = PriorAuthorization<'a>>) {
    let auths: Vec<PriorAuthorization<'a>> = auths.collect();
    println!("Prior authorizations ({})", auths.len());
    println!(
        "  {:<16} {:<38} {:<19} {:<11} {:<11} Authorized",
        "Number", "Service", "Status", "Requested", "Reviewed"
    );
    let date = |d: Option<&fhir_c4bb::DateTime>| {
        d.and_then(|d| d.date())
            .map_or_else(|| "-".to_owned(), str::to_owned)
    };
    for pa in &auths {
        let period = pa.authorized_period().map_or_else(
            || "-".to_owned(),
            |p| format!("{} to {}", date(p.start.as_ref()), date(p.end.as_ref())),
        );
        println!(
            "  {:<16} {:<38} {:<19} {:<11} {:<11} {}",
            pa.authorization_number().unwrap_or("-"),
            truncate(pa.service().and_then(|s| s.display()).unwrap_or("-"), 38),
            pa.status().label(),
            date(pa.requested()),
            date(pa.decision_date()),
            period,
        );
        // Why a request is pending or was denied is what a member most needs to see.
        for reason in pa.reasons().filter_map(|r| r.display()) {
            println!("  {:<16} {}", "", truncate(&format!("why: {reason}"), 90));
        }
    }
}

/// An amount with at least two decimals (`150` → `150.00`), never rounded: FHIR decimals keep the digits the
/// payer sent, and a claims table must not invent or lose a cent.
fn amount(money: Option<&Money>) -> String {
    let Some(value) = money.and_then(|m| m.value.as_ref()) else {
        return "-".to_owned();
    };
    let text = value.to_string();
    match text.split_once('.') {
        None => format!("{text}.00"),
        Some((_, decimals)) if decimals.len() < 2 => {
            format!("{text}{}", "0".repeat(2 - decimals.len()))
        }
        Some(_) => text,
    }
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}
