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
    // Exact: 30 claims everywhere; 5 prior authorizations at every payer under CMS-0057-F, none at CMS Blue
    // Button (Medicare fee-for-service).
    let expected_pas = if sim.profile().id.starts_with(payer_quirks::bluebutton::KEY) {
        0
    } else {
        5
    };
    assert_eq!(member.claim_count(), 30);
    assert_eq!(member.prior_auth_count(), expected_pas);
    assert_eq!(member.eob_count(), 30 + expected_pas);
    let read_pas = synced
        .eobs
        .iter()
        .filter(|e| e.is_prior_authorization())
        .count();
    assert_eq!(read_pas, expected_pas, "prior authorizations read");
    let table = fhir_c4bb::money::ClaimsTable::from_eobs(&synced.eobs);
    assert_eq!(
        table.rows.len(),
        30,
        "one claims row per claim, none per PA"
    );
}

/// The member's prior authorizations through [`FhirClient::prior_authorizations`], with their statuses, and a
/// check that they are exactly the ones the simulator serves, each read with the status it was built with.
pub async fn assert_prior_authorizations(sim: &Simulator, fhir: &FhirClient) {
    use fhir_c4bb::prior_auth::PriorAuthStatus as S;
    let stream = fhir.prior_authorizations();
    assert!(stream.includes_prior_authorizations());
    let eobs: Vec<fhir_c4bb::ExplanationOfBenefit> = stream.matches().try_collect().await.unwrap();
    let ids: Vec<String> = eobs.iter().map(|e| e.id.clone().unwrap()).collect();
    assert_eq!(ids, sim.member().prior_auth_ids);
    let statuses: Vec<S> = eobs
        .iter()
        .map(|e| e.prior_authorization().unwrap().status())
        .collect();
    let pended_until_day_one = if sim.day() == 0 {
        S::Pending
    } else {
        S::Approved
    };
    assert_eq!(
        statuses,
        [
            S::Pending,
            S::Approved,
            S::PartiallyApproved,
            S::Denied,
            pended_until_day_one
        ]
    );
    let denied = eobs[3].prior_authorization().unwrap();
    assert!(
        denied
            .reasons()
            .filter_map(|r| r.display())
            .any(|r| r.contains("Not medically necessary")),
        "the denial says why"
    );
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
