//! End to end per payer, through the SDK against each payer's simulator: discovery, authorize URL, the member's
//! headless login, the callback, the token exchange, then the Patient, every Coverage and every EOB page, typed,
//! with counts asserted against what the simulator served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use payer_quirks::simulator::SimOptions;
use secrecy::ExposeSecret;
use smart_core::fhir::SearchItem;
use smart_core::{Error, MemoryTokenStore};
use support::{assert_complete, connect, eob_page_requests, fhir, sync};

fn query_value(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn aetna_sandbox_end_to_end_with_refresh() {
    let sim = payer_quirks::aetna::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let adapter = sim.adapter();
    let client = support::client(&sim, adapter.clone());
    let config = client.discover().await.unwrap();
    assert!(
        config
            .token_endpoint
            .path()
            .ends_with("/fhirserver_auth/oauth2/token")
    );

    let request = client.authorize_url().await.unwrap();
    assert_eq!(query_value(&request.url, "skin").as_deref(), Some("skin13"));
    let auth_root = format!("{}fhirdemo", sim.base_url());
    assert_eq!(query_value(&request.url, "aud"), Some(auth_root));
    assert_eq!(
        query_value(&request.url, "scope").as_deref(),
        Some("launch/patient patient/*.read")
    );

    let callback = sim.login(&request.url).await.unwrap();
    assert!(
        callback.as_str().starts_with(sim.redirect_uri().as_str()),
        "{callback}"
    );
    assert!(query_value(&callback, "code").is_some());
    let tokens = client
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    assert_eq!(tokens.patient(), Some(sim.member().patient_id.as_str()));
    assert!(tokens.refresh_token().is_some());

    let synced = sync(&fhir(adapter.clone(), tokens.clone()), None)
        .await
        .unwrap();
    assert_complete(&sim, &synced);
    assert_eq!(eob_page_requests(&sim), sim.member().eob_pages(None));
    assert!(sim.member().eob_pages(None) >= 3, "several pages");
    assert!(synced.warnings.is_empty());

    // Aetna's quirks as seen on the wire: Basic on the token endpoint, Accept: application/json on FHIR, EOB
    // paging by `page=`.
    let requests = sim.requests();
    let token_requests: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/oauth2/token"))
        .collect();
    assert!(!token_requests.is_empty());
    assert!(
        token_requests
            .iter()
            .all(|r| r.authorization_scheme.as_deref() == Some("Basic"))
    );
    let fhir_requests: Vec<_> = requests
        .iter()
        .filter(|r| r.path.contains("/v2/patientaccess/"))
        .collect();
    assert!(
        fhir_requests
            .iter()
            .all(|r| r.accept.as_deref() == Some("application/json"))
    );
    assert!(
        fhir_requests.iter().all(|r| r.status == 200),
        "{fhir_requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with("/ExplanationOfBenefit")
                && r.query.as_deref().is_some_and(|q| q.contains("page=2")))
    );

    // Refresh with the same Basic auth; the refresh token rotates and the new access token works.
    let refreshed = client.refresh(&tokens).await.unwrap();
    assert_ne!(
        refreshed.access_token().expose_secret(),
        tokens.access_token().expose_secret()
    );
    assert_ne!(
        refreshed.refresh_token().unwrap().expose_secret(),
        tokens.refresh_token().unwrap().expose_secret()
    );
    assert_eq!(sim.counts().token_refreshes, 1);
    let patient = fhir(adapter, refreshed).patient().await.unwrap();
    assert_eq!(
        patient.id.as_deref(),
        Some(sim.member().patient_id.as_str())
    );
    // The spent refresh token is refused, and the SDK says to authorize again.
    let err = client.refresh(&tokens).await.unwrap_err();
    assert!(err.requires_reauthorization(), "{err}");
}

#[tokio::test]
async fn aetna_without_refresh_tokens_the_sdk_says_to_reauthorize_before_expiry() {
    let sim = payer_quirks::aetna::simulator::start(
        SimOptions::default()
            .refresh_tokens(false)
            .access_token_ttl(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert!(!sim.issues_refresh_tokens());
    let (client, tokens) = connect(&sim, sim.adapter()).await;
    assert!(tokens.refresh_token().is_none());
    // The token is still valid: the data can be read now...
    let synced = sync(&fhir(sim.adapter(), tokens.clone()), Some(25))
        .await
        .unwrap();
    assert_complete(&sim, &synced);
    // ...but it ends within the refresh skew and cannot be refreshed: the session says so before it expires.
    assert!(!tokens.is_expired());
    let session = client.session(Arc::new(MemoryTokenStore::default()), "member-1");
    session.save_new(tokens).await.unwrap();
    assert!(session.needs_reauthorization().await.unwrap());
    let err = session.current().await.unwrap_err();
    assert!(
        matches!(err, Error::ReauthorizationRequired { .. }),
        "{err}"
    );
    assert_eq!(sim.counts().token_refreshes, 0);
}

#[tokio::test]
async fn aetna_production_end_to_end_through_the_cdn_header() {
    let sim = payer_quirks::aetna::simulator::start(SimOptions::default().production())
        .await
        .unwrap();
    let adapter = sim.adapter();
    assert!(adapter.lenient_response_headers());
    assert!(
        adapter
            .fhir_base()
            .path()
            .starts_with("/fhir/v2/patientaccess")
    );
    let (_client, tokens) = connect(&sim, adapter.clone()).await;
    let synced = sync(&fhir(adapter, tokens), Some(7)).await.unwrap();
    assert_complete(&sim, &synced);
    assert_eq!(eob_page_requests(&sim), sim.member().eob_pages(Some(7)));
}

#[tokio::test]
async fn cigna_end_to_end_in_the_members_browser() {
    let sim = payer_quirks::cigna::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let adapter = sim.adapter();
    let client = support::client(&sim, adapter.clone());
    let request = client.authorize_url().await.unwrap();
    assert!(query_value(&request.url, "aud").is_none());
    // The SDK will not hand the URL to server-side code...
    assert!(matches!(
        request.server_fetchable_url(),
        Err(Error::BrowserOnlyAuthorize { .. })
    ));
    // ...the member's browser opens it, carrying the cookie from /authorize through the login.
    let callback = sim.login(&request.url).await.unwrap();
    let tokens = client
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    // The token response has no patient; the SDK read it from $userinfo.
    assert_eq!(tokens.patient(), Some(sim.member().patient_id.as_str()));
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.path.ends_with("/$userinfo"))
    );

    let fhir = fhir(adapter, tokens);
    let synced = sync(&fhir, None).await.unwrap();
    assert_complete(&sim, &synced);
    assert_eq!(eob_page_requests(&sim), sim.member().eob_pages(None));
    // The fatal OperationOutcome inside a 200 searchset is surfaced, not dropped.
    assert_eq!(synced.warnings.len(), 1);
    let warning = serde_json::to_string(&synced.warnings[0]).unwrap();
    assert!(
        warning.contains("CLCOM-006") && warning.contains("fatal"),
        "{warning}"
    );

    // $everything works here: one page with the member, their coverages and their claims.
    let everything = fhir.everything().unwrap().collect_all().await.unwrap();
    assert_eq!(
        everything.matches.len(),
        1 + sim.member().coverage_count() + sim.member().eob_count()
    );
}

#[tokio::test]
async fn unitedhealthcare_end_to_end_with_per_resource_scopes() {
    let sim = payer_quirks::unitedhealthcare::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let adapter = sim.adapter();
    let client = support::client(&sim, adapter.clone());
    let request = client.authorize_url().await.unwrap();
    let scope = query_value(&request.url, "scope").unwrap();
    assert!(!scope.contains('*'), "{scope}");
    assert!(scope.contains("patient/ExplanationOfBenefit.read"));
    assert_eq!(
        query_value(&request.url, "aud").as_deref(),
        Some(adapter.fhir_base().as_str())
    );
    let callback = sim
        .login(request.server_fetchable_url().unwrap())
        .await
        .unwrap();
    let tokens = client
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    let fhir = fhir(adapter, tokens);
    let synced = sync(&fhir, Some(12)).await.unwrap();
    assert_complete(&sim, &synced);
    assert_eq!(eob_page_requests(&sim), sim.member().eob_pages(Some(12)));

    // No $everything at UnitedHealthcare: the SDK says so without asking the payer.
    let before = sim.counts().fhir_requests;
    assert!(matches!(fhir.everything(), Err(Error::Unsupported { .. })));
    assert_eq!(sim.counts().fhir_requests, before);
    assert!(
        !sim.counts()
            .per_resource
            .contains_key("Patient/$everything")
    );
}

#[tokio::test]
async fn a_member_synced_twice_gets_the_same_claims_and_streams_stop_after_the_last_page() {
    let sim = payer_quirks::aetna::simulator::start(SimOptions::default().page_size(4))
        .await
        .unwrap();
    let (_client, tokens) = connect(&sim, sim.adapter()).await;
    let fhir = fhir(sim.adapter(), tokens);
    let mut first = Vec::new();
    let mut stream = fhir.explanation_of_benefits(smart_core::fhir::EobQuery::new());
    while let Some(item) = stream.try_next().await.unwrap() {
        if let SearchItem::Match(e) = item {
            first.push(e.id.unwrap());
        }
    }
    let second = sync(&fhir, None).await.unwrap();
    let second: Vec<String> = second.eobs.into_iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(first, second);
    assert_eq!(first, sim.member().eob_ids);
    assert_eq!(eob_page_requests(&sim), 2 * sim.member().eob_pages(Some(4)));
}

#[tokio::test]
async fn bluebutton_end_to_end_with_page_size_clamped_to_50() {
    let sim = payer_quirks::bluebutton::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let adapter = sim.adapter();
    let client = support::client(&sim, adapter.clone());
    let request = client.authorize_url().await.unwrap();
    assert!(query_value(&request.url, "state").unwrap().len() >= 16);
    assert_eq!(
        query_value(&request.url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(query_value(&request.url, "client_secret").is_none());
    let callback = sim
        .login(request.server_fetchable_url().unwrap())
        .await
        .unwrap();
    let tokens = client
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    assert_eq!(tokens.patient(), Some(sim.member().patient_id.as_str()));
    // access_grant_expiration became the consent end (13 months).
    let consent_end = tokens.consent_expires_at().unwrap();
    let left = consent_end
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(left > Duration::from_secs(390 * 86400), "{left:?}");

    let fhir = fhir(adapter, tokens.clone());
    let synced = sync(&fhir, Some(100)).await.unwrap();
    assert_complete(&sim, &synced);
    // 100 was clamped to Blue Button's 50: all 30 claims on one page.
    let eob_queries: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/ExplanationOfBenefit"))
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(eob_queries.len(), 1);
    assert!(eob_queries[0].contains("_count=50"), "{eob_queries:?}");
    // Default page size: 10, paged by startIndex.
    let synced = sync(&fhir, None).await.unwrap();
    assert_eq!(synced.eobs.len(), sim.member().eob_count());
    assert!(sim.requests().iter().any(|r| {
        r.query
            .as_deref()
            .is_some_and(|q| q.contains("startIndex=20"))
    }));
    // A 13-month app refreshes.
    client.refresh(&tokens).await.unwrap();
}

#[tokio::test]
async fn humana_end_to_end_discovered_from_metadata() {
    let sim = payer_quirks::humana::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let adapter = sim.adapter();
    let client = support::client(&sim, adapter.clone());
    let config = client.discover().await.unwrap();
    assert!(config.token_endpoint.path().ends_with("/auth/token"));
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.path.ends_with("/.well-known/smart-configuration") && r.status == 404)
    );
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.path.ends_with("/api/metadata") && r.status == 200)
    );
    let request = client.authorize_url().await.unwrap();
    assert!(
        query_value(&request.url, "scope")
            .unwrap()
            .split(' ')
            .any(|s| s == "internal")
    );
    let callback = sim.login(&request.url).await.unwrap();
    let tokens = client
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    assert!(
        sim.requests()
            .iter()
            .filter(|r| r.path.ends_with("/auth/token"))
            .all(|r| r.authorization_scheme.as_deref() == Some("Basic"))
    );
    let fhir = fhir(adapter, tokens);
    let synced = sync(&fhir, None).await.unwrap();
    assert_complete(&sim, &synced);
    assert_eq!(eob_page_requests(&sim), sim.member().eob_pages(None));
    // $everything: one Bundle without total whose self link names another id; every resource still arrives.
    let everything = fhir.everything().unwrap().collect_all().await.unwrap();
    assert_eq!(
        everything.matches.len(),
        1 + sim.member().coverage_count() + sim.member().eob_count()
    );
}

#[tokio::test]
async fn elevance_end_to_end_sandbox_and_a_production_brand() {
    for sim in [
        payer_quirks::elevance::simulator::start(SimOptions::default())
            .await
            .unwrap(),
        payer_quirks::elevance::simulator::start_brand(
            SimOptions::default(),
            payer_quirks::elevance::Brand::Wellpoint,
        )
        .await
        .unwrap(),
    ] {
        let adapter = sim.adapter();
        let client = support::client(&sim, adapter.clone());
        let config = client.discover().await.unwrap();
        // Authorize and token live under different path prefixes; discovery at the brand base names both.
        assert!(
            config
                .authorization_endpoint
                .path()
                .starts_with("/oauth2.code/")
        );
        assert!(config.token_endpoint.path().starts_with("/client.oauth2/"));
        let request = client.authorize_url().await.unwrap();
        assert_eq!(
            query_value(&request.url, "aud").as_deref(),
            Some(adapter.fhir_base().as_str())
        );
        let callback = sim.login(&request.url).await.unwrap();
        let tokens = client
            .exchange_code(&request.pending, callback.as_str())
            .await
            .unwrap();
        let synced = sync(&fhir(adapter, tokens), Some(16)).await.unwrap();
        assert_complete(&sim, &synced);
        let fhir_requests: Vec<_> = sim
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/resources/") && !r.path.contains(".well-known"))
            .collect();
        assert!(
            fhir_requests
                .iter()
                .all(|r| r.accept.as_deref() == Some("application/json+fhir"))
        );
    }
}

#[tokio::test]
async fn prior_authorizations_at_every_payer_under_cms_0057_f_and_a_decision_between_two_syncs() {
    use fhir_c4bb::prior_auth::PriorAuthStatus;
    use smart_core::fhir::EobQuery;
    let sims = [
        payer_quirks::aetna::simulator::start(SimOptions::default())
            .await
            .unwrap(),
        payer_quirks::cigna::simulator::start(SimOptions::default())
            .await
            .unwrap(),
        payer_quirks::unitedhealthcare::simulator::start(SimOptions::default())
            .await
            .unwrap(),
        payer_quirks::humana::simulator::start(SimOptions::default())
            .await
            .unwrap(),
        payer_quirks::elevance::simulator::start(SimOptions::default())
            .await
            .unwrap(),
    ];
    for sim in &sims {
        let name = sim.profile().id;
        let (_client, tokens) = connect(sim, sim.adapter()).await;
        let fhir = fhir(sim.adapter(), tokens);
        // First sync: five prior authorizations, the last one still pended.
        support::assert_prior_authorizations(sim, &fhir).await;
        // The payer decides the pended one; the next sync asks for what changed since the first.
        assert_eq!(sim.advance_day(), 1);
        let changed: Vec<fhir_c4bb::ExplanationOfBenefit> = fhir
            .explanation_of_benefits(EobQuery::new().last_updated("gt2026-11-30T00:00:00Z"))
            .matches()
            .try_collect()
            .await
            .unwrap();
        let ids: Vec<_> = changed.iter().filter_map(|e| e.id.as_deref()).collect();
        assert_eq!(ids, ["prior-auth-5"], "{name}");
        let pa = changed[0].prior_authorization().unwrap();
        assert_eq!(pa.status(), PriorAuthStatus::Approved, "{name}");
        assert_eq!(
            pa.last_updated().map(|d| d.as_str()),
            Some("2026-12-01T08:15:00+00:00")
        );
        support::assert_prior_authorizations(sim, &fhir).await;
        // Claims only: the same history without them.
        let claims: Vec<fhir_c4bb::ExplanationOfBenefit> = fhir
            .explanation_of_benefits(EobQuery::new().claims_only())
            .matches()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(claims.len(), sim.member().claim_count(), "{name}");
        assert!(claims.iter().all(|e| !e.is_prior_authorization()));
    }
}

#[tokio::test]
async fn blue_button_serves_no_prior_authorizations() {
    let sim = payer_quirks::bluebutton::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let (_client, tokens) = connect(&sim, sim.adapter()).await;
    let fhir = fhir(sim.adapter(), tokens);
    let pas: Vec<fhir_c4bb::ExplanationOfBenefit> = fhir
        .prior_authorizations()
        .matches()
        .try_collect()
        .await
        .unwrap();
    assert!(pas.is_empty());
    assert_eq!(sim.member().prior_auth_count(), 0);
    // It still read the whole claims history to find that out (no server-side filter for `use`).
    assert_eq!(eob_page_requests(&sim), sim.member().eob_pages(None));
}

/// Every payer whose module lists US Core types serves the member's clinical records: the CapabilityStatement
/// (fetched without the token) lists them as searchable, `search_type` reads every record of each type across
/// pages (3 a page, through each payer's paging style, Accept header and parameter rules), `read_type` reads
/// one back, and a record's referenced Medication resolves. Blue Button (claims only) serves none.
#[tokio::test]
async fn clinical_records_at_every_payer_that_lists_them_by_name_across_pages() {
    use smart_core::fhir::SearchParams;
    let sims = [
        payer_quirks::aetna::simulator::start(SimOptions::default())
            .await
            .unwrap(),
        payer_quirks::cigna::simulator::start(SimOptions::default())
            .await
            .unwrap(),
        payer_quirks::unitedhealthcare::simulator::start(SimOptions::default())
            .await
            .unwrap(),
        payer_quirks::humana::simulator::start(SimOptions::default())
            .await
            .unwrap(),
        payer_quirks::elevance::simulator::start(SimOptions::default())
            .await
            .unwrap(),
        payer_quirks::bluebutton::simulator::start(SimOptions::default())
            .await
            .unwrap(),
    ];
    let listed: [&[&str]; 6] = [
        payer_quirks::aetna::RESOURCES,
        payer_quirks::cigna::RESOURCES,
        payer_quirks::unitedhealthcare::RESOURCES,
        payer_quirks::humana::RESOURCES,
        payer_quirks::elevance::RESOURCES,
        payer_quirks::bluebutton::RESOURCES,
    ];
    for (sim, listed) in sims.iter().zip(listed) {
        let name = sim.profile().id;
        let clinical = &sim.member().clinical;
        let (_client, tokens) = connect(sim, sim.adapter()).await;
        let fhir = fhir(sim.adapter(), tokens);
        let capabilities = fhir.capabilities().await.unwrap();
        let searchable: Vec<&str> = capabilities.searchable_types().collect();
        for ty in listed {
            assert!(searchable.contains(ty), "{name}: {ty} not in metadata");
        }
        if name.starts_with("bluebutton") {
            assert!(clinical.is_empty(), "Blue Button is claims only");
            let found = fhir
                .search_type("Condition", SearchParams::new())
                .collect_all()
                .await
                .unwrap();
            assert!(found.matches.is_empty());
            continue;
        }
        // Every US Core type the module lists and the fixtures cover is served.
        for ty in ["Condition", "Observation", "Immunization", "Procedure"] {
            assert!(
                listed.contains(&ty) && clinical.contains_key(ty),
                "{name}: {ty}"
            );
        }
        for (ty, ids) in clinical {
            assert!(
                listed.contains(&ty.as_str()),
                "{name}: {ty} served unlisted"
            );
            let results = fhir
                .search_type(ty, SearchParams::new().count(3))
                .collect_all()
                .await
                .unwrap_or_else(|e| panic!("{name} {ty}: {e}"));
            let got: Vec<&str> = results.matches.iter().filter_map(|r| r.id()).collect();
            assert_eq!(got, *ids, "{name} {ty}");
            assert!(results.matches.iter().all(|r| r.resource_type() == ty));
            let one = fhir.read_type(ty, &ids[0]).await.unwrap();
            assert_eq!(one.id(), Some(ids[0].as_str()), "{name} {ty}");
            let text = serde_json::to_string(&one).unwrap();
            assert!(
                !text.contains("\"Patient/example\""),
                "{name} {ty}: the records are the member's"
            );
        }
        let pages = sim
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/Observation") && r.status == 200)
            .count();
        assert!(
            pages >= clinical["Observation"].len().div_ceil(3),
            "{name}: {pages} Observation pages"
        );
        if clinical.contains_key("MedicationRequest") {
            let medication = fhir.read_type("Medication", "uscore-med2").await.unwrap();
            assert_eq!(medication.resource_type(), "Medication");
        }
    }
}
