//! Shared helpers for the payer tests: a `SmartClient` for a simulator, the whole member login, a FHIR client,
//! and a full sync of the member's data.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::TryStreamExt;
use payer_quirks::simulator::Simulator;
use smart_core::fhir::{EobQuery, FhirClient, SearchItem};
use smart_core::{PayerAdapter, SmartClient, StaticTokens, TokenSet};

/// A client registered with the simulator (id, secret, redirect URI), for `adapter`.
pub fn client(sim: &Simulator, adapter: Arc<dyn PayerAdapter>) -> SmartClient {
    SmartClient::builder(adapter)
        .client_id(sim.client_id())
        .client_secret(sim.client_secret())
        .redirect_uri(sim.redirect_uri().as_str())
        .unwrap()
        .build()
        .unwrap()
}

/// Discovery, authorize URL, the member's headless login, the callback, the token exchange.
pub async fn connect(sim: &Simulator, adapter: Arc<dyn PayerAdapter>) -> (SmartClient, TokenSet) {
    let client = client(sim, adapter);
    let request = client.authorize_url().await.unwrap();
    let callback = sim.login(&request.url).await.unwrap();
    let tokens = client
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    (client, tokens)
}

/// A FHIR client for `adapter` with fixed tokens.
pub fn fhir(adapter: Arc<dyn PayerAdapter>, tokens: TokenSet) -> FhirClient {
    FhirClient::builder(adapter)
        .token_source(Arc::new(StaticTokens::new(tokens)))
        .build()
        .unwrap()
}

/// What a full sync read.
#[derive(Debug)]
pub struct Synced {
    pub patient: fhir_c4bb::Patient,
    pub coverages: Vec<fhir_c4bb::Coverage>,
    pub eobs: Vec<fhir_c4bb::ExplanationOfBenefit>,
    pub warnings: Vec<fhir_c4bb::OperationOutcome>,
}

/// Reads the Patient, every Coverage and every EOB page.
pub async fn sync(fhir: &FhirClient, page_size: Option<u32>) -> smart_core::Result<Synced> {
    let patient = fhir.patient().await?;
    let coverages = fhir.coverage().collect_all().await?;
    let mut query = EobQuery::new();
    if let Some(n) = page_size {
        query = query.count(n);
    }
    let mut eobs = Vec::new();
    let mut warnings = coverages.warnings.clone();
    let mut stream = fhir.explanation_of_benefits(query);
    while let Some(item) = stream.try_next().await? {
        match item {
            SearchItem::Match(eob) => eobs.push(eob),
            SearchItem::Warning(w) => warnings.push(*w),
            _ => {}
        }
    }
    Ok(Synced {
        patient,
        coverages: coverages.matches,
        eobs,
        warnings,
    })
}

/// Asserts that `synced` is exactly what `sim` serves: the member, every Coverage, every EOB once, every profile.
pub fn assert_complete(sim: &Simulator, synced: &Synced) {
    let member = sim.member();
    assert_eq!(
        synced.patient.id.as_deref(),
        Some(member.patient_id.as_str())
    );
    assert_eq!(synced.coverages.len(), member.coverage_count());
    let eob_ids: Vec<String> = synced.eobs.iter().map(|e| e.id.clone().unwrap()).collect();
    let unique: BTreeSet<&String> = eob_ids.iter().collect();
    assert_eq!(unique.len(), eob_ids.len(), "no EOB twice");
    assert_eq!(
        unique,
        member.eob_ids.iter().collect::<BTreeSet<_>>(),
        "every EOB served was read"
    );
    let kinds: BTreeSet<String> = synced
        .eobs
        .iter()
        .map(|e| format!("{:?}/{}", e.profile().kind, e.profile().financial))
        .collect();
    for kind in [
        "InpatientInstitutional",
        "OutpatientInstitutional",
        "ProfessionalNonClinician",
        "Pharmacy",
        "Oral",
    ] {
        assert!(
            kinds.contains(&format!("{kind}/true")),
            "{kind} financial in {kinds:?}"
        );
        assert!(
            kinds.contains(&format!("{kind}/false")),
            "{kind} basis in {kinds:?}"
        );
    }
    for eob in &synced.eobs {
        let patient = eob.patient.as_ref().and_then(|r| r.reference.as_deref());
        assert_eq!(
            patient,
            Some(format!("Patient/{}", member.patient_id).as_str())
        );
    }
}

/// How many EOB search requests (first page and `next` pages) the simulator saw.
pub fn eob_page_requests(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.ends_with("/ExplanationOfBenefit"))
        .count()
}

/// Where a flow stopped.
#[derive(Debug)]
pub enum FlowError {
    /// The SDK refused or failed.
    Sdk(smart_core::Error),
    /// The member's browser did not get through the payer's pages.
    Browser(payer_quirks::simulator::SimError),
}

/// Like [`connect`], but returns where it failed.
pub async fn try_connect(
    sim: &Simulator,
    adapter: Arc<dyn PayerAdapter>,
) -> Result<(SmartClient, TokenSet), FlowError> {
    let client = client(sim, adapter);
    let request = client.authorize_url().await.map_err(FlowError::Sdk)?;
    let callback = sim.login(&request.url).await.map_err(FlowError::Browser)?;
    let tokens = client
        .exchange_code(&request.pending, callback.as_str())
        .await
        .map_err(FlowError::Sdk)?;
    Ok((client, tokens))
}

/// The SDK error of a failed flow.
pub fn sdk_error<T: std::fmt::Debug>(r: Result<T, FlowError>) -> smart_core::Error {
    match r {
        Err(FlowError::Sdk(e)) => e,
        other => panic!("expected an SDK error, got {other:?}"),
    }
}

/// The browser error of a failed flow.
pub fn browser_error<T: std::fmt::Debug>(
    r: Result<T, FlowError>,
) -> payer_quirks::simulator::SimError {
    match r {
        Err(FlowError::Browser(e)) => e,
        other => panic!("expected a browser error, got {other:?}"),
    }
}

/// The quirk-blind adapter: standard SMART, from the simulator's FHIR base alone.
pub fn standard(sim: &Simulator) -> Arc<dyn PayerAdapter> {
    Arc::new(smart_core::Standard::new(sim.fhir_base().as_str()).unwrap())
}
