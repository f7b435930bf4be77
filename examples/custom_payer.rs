//! A payer the SDK does not know, added downstream: implement `PayerAdapter`, override only what differs.
//! "Acme Health" is standard SMART, except that its gateway answers `406` to `Accept: application/fhir+json`.
//! payer-quirks cannot simulate an unknown payer yet, so this borrows the Elevance simulator, whose gateway has
//! exactly that quirk (and is otherwise standard). `cargo run --example custom_payer`
use std::{error::Error, sync::Arc};

use patient_access::Url;
use patient_access::payers::simulator::{SimOptions, Simulator};
use patient_access::smart::fhir::{EobQuery, FhirClient};
use patient_access::smart::{PayerAdapter, SmartClient, Standard, StaticTokens};

#[derive(Debug)]
struct AcmeHealth(Url);

impl PayerAdapter for AcmeHealth {
    fn id(&self) -> &str {
        "acme-health"
    }
    fn display_name(&self) -> &str {
        "Acme Health"
    }
    fn fhir_base(&self) -> &Url {
        &self.0
    }
    // The quirk: its gateway predates R4's media type.
    fn fhir_accept(&self) -> &str {
        "application/json+fhir"
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let sim = patient_access::payers::elevance::simulator::start(SimOptions::default()).await?;
    let standard: Arc<dyn PayerAdapter> = Arc::new(Standard::new(sim.fhir_base().as_str())?);
    for adapter in [standard, Arc::new(AcmeHealth(sim.fhir_base().clone()))] {
        match claims(&sim, adapter.clone()).await {
            Ok(n) => println!("{}: {n} claims read", adapter.display_name()),
            Err(e) => println!("{}: failed: {e}", adapter.display_name()),
        }
    }
    Ok(())
}

/// The whole flow with `adapter`: authorize URL, the member's login, tokens, then every claim.
async fn claims(sim: &Simulator, adapter: Arc<dyn PayerAdapter>) -> Result<usize, Box<dyn Error>> {
    let client = SmartClient::builder(adapter.clone())
        .client_id(sim.client_id())
        .client_secret(sim.client_secret())
        .redirect_uri(sim.redirect_uri().as_str())?
        .build()?;
    let request = client.authorize_url().await?;
    let callback = sim.login(request.server_fetchable_url()?).await?; // the member's browser, scripted
    let tokens = client.exchange_code(&request.pending, callback.as_str());
    let tokens = Arc::new(StaticTokens::new(tokens.await?));
    let fhir = FhirClient::builder(adapter).token_source(tokens).build()?;
    let claims = fhir
        .explanation_of_benefits(EobQuery::new().claims_only())
        .collect_all();
    Ok(claims.await?.matches.len())
}
