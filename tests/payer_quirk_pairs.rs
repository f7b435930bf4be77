//! A pair of tests for every payer quirk: the quirk-blind adapter (the standard `Standard` adapter, or the
//! payer's own profile with exactly that one quirk switched off) fails against the payer's simulator the way the
//! real payer fails, and the payer's own adapter succeeds. Each pair proves both the simulator and the adapter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use payer_quirks::simulator::{SimError, SimOptions};
use smart_core::{AudPolicy, ClientAuth, Error, PatientIdSource, PayerAdapter, RatePolicy};
use support::{browser_error, connect, fhir, sdk_error, standard, try_connect};

fn hint(err: &Error) -> String {
    err.hint().unwrap_or_default().to_owned()
}

// ---- Aetna ---------------------------------------------------------------------------------------------------

async fn aetna(opts: SimOptions) -> payer_quirks::simulator::Simulator {
    payer_quirks::aetna::simulator::start(opts).await.unwrap()
}

#[tokio::test]
async fn aetna_discovery_lives_at_the_auth_root() {
    let sim = aetna(SimOptions::default()).await;
    // Standard looks under the FHIR base (404) and in metadata (no OAuth URIs there).
    let err = support::client(&sim, standard(&sim))
        .discover()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Discovery { .. }), "{err}");
    let mut blind = sim.profile();
    blind.smart_configuration_urls.clear();
    let err = support::client(&sim, Arc::new(blind))
        .discover()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Discovery { .. }), "{err}");
    // Aetna's adapter looks at the auth root first.
    let config = support::client(&sim, sim.adapter())
        .discover()
        .await
        .unwrap();
    assert!(
        config
            .authorization_endpoint
            .path()
            .ends_with("/oauth2/authorize")
    );
}

#[tokio::test]
async fn aetna_aud_must_be_the_auth_root_not_the_fhir_base() {
    let sim = aetna(SimOptions::default()).await;
    let mut blind = sim.profile();
    blind.aud = AudPolicy::FhirBase;
    let err = sdk_error(try_connect(&sim, Arc::new(blind)).await);
    match &err {
        Error::AuthorizationDenied { error, .. } => assert_eq!(error, "invalid_request"),
        other => panic!("{other}"),
    }
    assert!(hint(&err).contains("auth root"), "{err:?}");
    assert_eq!(sim.counts().codes_issued, 0);
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    assert!(tokens.patient().is_some());
}

#[tokio::test]
async fn aetna_login_page_is_blank_without_skin13() {
    let sim = aetna(SimOptions::default()).await;
    let mut blind = sim.profile();
    blind.extra_authorize_params.clear();
    let err = browser_error(try_connect(&sim, Arc::new(blind)).await);
    assert!(matches!(err, SimError::BlankPage { .. }), "{err}");
    assert_eq!(sim.counts().logins, 0);
    connect(&sim, sim.adapter()).await;
    assert_eq!(sim.counts().logins, 1);
}

#[tokio::test]
async fn aetna_token_endpoint_wants_basic_auth_not_credentials_in_the_body() {
    let sim = aetna(SimOptions::default()).await;
    let mut blind = sim.profile();
    blind.client_auth = ClientAuth::ClientSecretPost;
    let err = sdk_error(try_connect(&sim, Arc::new(blind)).await);
    match &err {
        Error::OAuth { status, error, .. } => {
            assert_eq!((*status, error.as_str()), (401, "invalid_client"));
        }
        other => panic!("{other}"),
    }
    assert!(hint(&err).contains("HTTP Basic"), "{err:?}");
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    assert!(tokens.refresh_token().is_some());
}

#[tokio::test]
async fn aetna_resources_live_under_v2_patientaccess_not_the_auth_root() {
    let sim = aetna(SimOptions::default()).await;
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    let mut blind = sim.profile();
    blind.fhir_base = sim.base_url().join("fhirdemo").unwrap();
    let err = fhir(Arc::new(blind), tokens.clone())
        .patient()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    assert!(hint(&err).contains("/v2/patientaccess"), "{err:?}");
    let patient = fhir(sim.adapter(), tokens).patient().await.unwrap();
    assert_eq!(
        patient.id.as_deref(),
        Some(sim.member().patient_id.as_str())
    );
}

#[tokio::test]
async fn aetna_produces_application_json_only() {
    let sim = aetna(SimOptions::default()).await;
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    let mut blind = sim.profile();
    blind.fhir_accept = "application/fhir+json".into();
    let err = fhir(Arc::new(blind), tokens.clone())
        .patient()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("406"), "{err}");
    assert!(hint(&err).contains("application/json"), "{err:?}");
    fhir(sim.adapter(), tokens).patient().await.unwrap();
}

#[tokio::test]
async fn aetna_production_cdn_header_with_a_space_needs_tolerant_parsing() {
    let sim = aetna(SimOptions::default().production()).await;
    let adapter = sim.adapter();
    // A strict HTTP client cannot even load the authorize step...
    let request = support::client(&sim, adapter.clone())
        .authorize_url()
        .await
        .unwrap();
    let err = sim
        .browser()
        .strict_headers()
        .login(&request.url)
        .await
        .unwrap_err();
    assert!(matches!(err, SimError::Http { .. }), "{err}");
    // ...and an adapter without the leniency fails on every FHIR response.
    let (_, tokens) = connect(&sim, adapter.clone()).await;
    let mut blind = sim.profile();
    blind.lenient_response_headers = false;
    let err = fhir(Arc::new(blind), tokens.clone())
        .patient()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    // Aetna's production adapter reads through it, and nothing else got weaker: the token still only goes to
    // the FHIR origin, over the same checks.
    let patient = fhir(adapter, tokens).patient().await.unwrap();
    assert_eq!(
        patient.id.as_deref(),
        Some(sim.member().patient_id.as_str())
    );
    // The sandbox sends no such header: a strict client is fine there.
    let sandbox = aetna(SimOptions::default()).await;
    let request = support::client(&sandbox, sandbox.adapter())
        .authorize_url()
        .await
        .unwrap();
    sandbox
        .browser()
        .strict_headers()
        .login(&request.url)
        .await
        .unwrap();
}

#[tokio::test]
async fn aetna_rate_limit_without_retry_after() {
    let sim = aetna(SimOptions::default().rate_limit(3, Duration::from_millis(800))).await;
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    // Without a retry budget, the burst fails with Aetna's 429, and the hint explains it.
    let mut blind = sim.profile();
    let mut no_retry = RatePolicy::default();
    no_retry.max_attempts = 1;
    blind.rate_policy = no_retry;
    let blind: Arc<dyn PayerAdapter> = Arc::new(blind);
    let mut last = None;
    for _ in 0..5 {
        if let Err(e) = fhir(blind.clone(), tokens.clone()).patient().await {
            last = Some(e);
        }
    }
    let err = last.expect("the burst was limited");
    assert!(hint(&err).contains("per IP"), "{err:?}");
    assert!(sim.requests().iter().any(|r| r.status == 429));
    // Aetna's adapter (low concurrency, longer backoff) syncs everything through the same limit.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let limited_before = sim.counts().rate_limited;
    let synced = support::sync(&fhir(sim.adapter(), tokens), None)
        .await
        .unwrap();
    support::assert_complete(&sim, &synced);
    assert!(
        sim.counts().rate_limited > limited_before,
        "the limit was hit and retried"
    );
}

#[tokio::test]
async fn aetna_rejects_unknown_query_parameters() {
    let sim = aetna(SimOptions::default()).await;
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    use secrecy::ExposeSecret;
    let url = format!(
        "{}/ExplanationOfBenefit?patient={}&_format=json",
        sim.fhir_base(),
        sim.member().patient_id
    );
    let resp = reqwest::Client::new()
        .get(&url)
        .bearer_auth(tokens.access_token().expose_secret())
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body = resp.text().await.unwrap();
    assert!(body.contains("MSG_RESOURCE_ID_MISSING"), "{body}");
    assert!(
        sim.adapter()
            .explain_response(400, &body)
            .unwrap()
            .contains("_format")
    );
    // The SDK's own searches send only listed parameters: a whole sync sees no 400.
    support::sync(&fhir(sim.adapter(), tokens), Some(9))
        .await
        .unwrap();
    assert!(sim.requests().iter().filter(|r| r.status == 400).count() == 1);
}

#[tokio::test]
async fn aetna_prior_authorizations_by_profile_since_use_is_an_unknown_parameter() {
    use futures::TryStreamExt;
    use smart_core::PriorAuthSearch;
    let sim = aetna(SimOptions::default()).await;
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    let read = |adapter: Arc<dyn PayerAdapter>| {
        let fhir = fhir(adapter, tokens.clone());
        async move {
            fhir.prior_authorizations()
                .matches()
                .try_collect::<Vec<fhir_c4bb::ExplanationOfBenefit>>()
                .await
        }
    };
    // Blind: asking the server with `use=` gets Aetna's 400 for a parameter its CapabilityStatement does not list.
    let mut blind = sim.profile();
    blind.prior_auth_search = PriorAuthSearch::UseParameter;
    let err = read(Arc::new(blind)).await.unwrap_err();
    assert!(err.to_string().contains("MSG_RESOURCE_ID_MISSING"), "{err}");
    // Aetna's adapter asks by the PDex profile: the server sends only the five, on one page.
    let before = support::eob_page_requests(&sim);
    let pas = read(sim.adapter()).await.unwrap();
    let ids: Vec<_> = pas.iter().filter_map(|e| e.id.clone()).collect();
    assert_eq!(ids, sim.member().prior_auth_ids);
    let requests = sim.requests();
    let asked: Vec<_> = requests
        .iter()
        .filter(|r| r.path.ends_with("/ExplanationOfBenefit"))
        .skip(before)
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        asked[0]
            .query
            .as_deref()
            .is_some_and(|q| q.contains("_profile=") && !q.contains("use=")),
        "{asked:?}"
    );
    // The standard way (filter in the SDK) works here too, at the cost of reading the whole history.
    let before = support::eob_page_requests(&sim);
    let mut standard_way = sim.profile();
    standard_way.prior_auth_search = PriorAuthSearch::FilterClientSide;
    let pas = read(Arc::new(standard_way)).await.unwrap();
    assert_eq!(pas.len(), 5);
    assert_eq!(
        support::eob_page_requests(&sim) - before,
        sim.member().eob_pages(None)
    );
}

#[tokio::test]
async fn aetna_login_page_says_null_without_a_product_subscription() {
    let sim = aetna(SimOptions::default().unsubscribed()).await;
    let err = browser_error(try_connect(&sim, sim.adapter()).await);
    let (status, excerpt) = err.page_excerpt().unwrap();
    assert_eq!((status, excerpt), (200, "null"));
    let explained = sim.adapter().explain_response(status, excerpt).unwrap();
    assert!(explained.contains("subscription"), "{explained}");
    assert_eq!(standard(&sim).explain_response(status, excerpt), None);
}

#[tokio::test]
async fn aetna_uses_the_registered_callback_whatever_redirect_uri_says() {
    let sim = aetna(SimOptions::default()).await;
    let client = smart_core::SmartClient::builder(sim.adapter())
        .client_id(sim.client_id())
        .client_secret(sim.client_secret())
        .redirect_uri("http://127.0.0.1:4999/somewhere-else")
        .unwrap()
        .build()
        .unwrap();
    let request = client.authorize_url().await.unwrap();
    let callback = sim.login(&request.url).await.unwrap();
    assert!(
        callback.as_str().starts_with(sim.redirect_uri().as_str()),
        "{callback}"
    );
}

#[tokio::test]
async fn aetna_authorize_errors_are_xml_from_the_gateway() {
    let sim = aetna(SimOptions::default()).await;
    let authorize = support::client(&sim, sim.adapter())
        .discover()
        .await
        .unwrap()
        .authorization_endpoint
        .clone();
    let resp = reqwest::get(authorize).await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/xml");
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("<status>") && body.contains("Missing client_id"),
        "{body}"
    );
    assert!(sim.adapter().explain_response(400, &body).is_some());
}

// ---- Cigna ---------------------------------------------------------------------------------------------------

async fn cigna() -> payer_quirks::simulator::Simulator {
    payer_quirks::cigna::simulator::start(SimOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn cigna_authorize_must_start_in_the_members_browser() {
    let sim = cigna().await;
    // Quirk-blind: the SDK lets the server fetch the authorize URL; the cookie lands in the server's jar, and the
    // member's browser, sent on to the login page, is refused.
    let mut blind = sim.profile();
    blind.authorize_in_browser_only = false;
    let request = support::client(&sim, Arc::new(blind))
        .authorize_url()
        .await
        .unwrap();
    let server_url = request.server_fetchable_url().unwrap().clone();
    let server = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = server.get(server_url.clone()).send().await.unwrap();
    assert!(resp.headers().contains_key("set-cookie"));
    let login = server_url
        .join(resp.headers()["location"].to_str().unwrap())
        .unwrap();
    let err = sim
        .browser()
        .without_cookies()
        .login(&login)
        .await
        .unwrap_err();
    let (status, excerpt) = err.page_excerpt().unwrap();
    assert_eq!(status, 400);
    let explained = sim.adapter().explain_response(status, excerpt).unwrap();
    assert!(explained.contains("member's own browser"), "{explained}");
    assert_eq!(sim.counts().logins, 0);
    // Cigna's adapter: the SDK refuses server-side fetching, and the member's own browser gets through.
    let client = support::client(&sim, sim.adapter());
    let request = client.authorize_url().await.unwrap();
    let err = request.server_fetchable_url().unwrap_err();
    assert!(matches!(err, Error::BrowserOnlyAuthorize { .. }));
    assert!(err.to_string().contains("browser"), "{err}");
    let callback = sim.login(&request.url).await.unwrap();
    client
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
}

#[tokio::test]
async fn cigna_refuses_aud() {
    let sim = cigna().await;
    // The Standard adapter sends aud = the FHIR base.
    let err = sdk_error(try_connect(&sim, standard(&sim)).await);
    assert!(
        matches!(&err, Error::AuthorizationDenied { error, .. } if error == "invalid_request"),
        "{err}"
    );
    let mut blind = sim.profile();
    blind.aud = AudPolicy::FhirBase;
    let err = sdk_error(try_connect(&sim, Arc::new(blind)).await);
    assert!(hint(&err).contains("omit"), "{err:?}");
    connect(&sim, sim.adapter()).await;
}

#[tokio::test]
async fn cigna_patient_id_comes_from_userinfo() {
    let sim = cigna().await;
    let mut blind = sim.profile();
    blind.patient_id_source = PatientIdSource::TokenResponse;
    let blind: Arc<dyn PayerAdapter> = Arc::new(blind);
    let (_, tokens) = connect(&sim, blind.clone()).await;
    assert_eq!(tokens.patient(), None);
    let err = fhir(blind, tokens).patient().await.unwrap_err();
    assert!(matches!(err, Error::MissingPatient), "{err}");
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    assert_eq!(tokens.patient(), Some(sim.member().patient_id.as_str()));
}

#[tokio::test]
async fn cigna_redirect_uri_must_match_exactly() {
    let sim = cigna().await;
    let client = smart_core::SmartClient::builder(sim.adapter())
        .client_id(sim.client_id())
        .redirect_uri(&format!("{}/", sim.redirect_uri()))
        .unwrap()
        .build()
        .unwrap();
    let request = client.authorize_url().await.unwrap();
    let err = sim.login(&request.url).await.unwrap_err();
    let (status, excerpt) = err.page_excerpt().unwrap();
    assert_eq!(status, 400);
    assert!(
        sim.adapter()
            .explain_response(status, excerpt)
            .unwrap()
            .contains("exactly")
    );
    assert_eq!(sim.counts().codes_issued, 0);
}

#[tokio::test]
async fn cigna_unknown_references_answer_500_which_is_not_retried_and_the_hint_says_not_found() {
    let sim = cigna().await;
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    let fast = |adapter: Arc<dyn PayerAdapter>| {
        let mut policy = RatePolicy::default();
        policy.base_backoff = Duration::from_millis(5);
        policy.max_backoff = Duration::from_millis(20);
        smart_core::fhir::FhirClient::builder(adapter)
            .token_source(Arc::new(smart_core::StaticTokens::new(tokens.clone())))
            .rate_policy(policy)
            .build()
            .unwrap()
    };
    // A reference the member's claims do carry resolves.
    let org: fhir_c4bb::Organization = fast(sim.adapter()).read("Payer1").await.unwrap();
    assert_eq!(org.id.as_deref(), Some("Payer1"));
    // Without the profile's knowledge the 500 looks like an outage: retried, then reported without a hint.
    let mut blind = sim.profile();
    blind.response_hints.clear();
    let before = sim.counts().fhir_requests;
    let err = fast(Arc::new(blind))
        .read::<fhir_c4bb::Organization>("ifp-123")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("500"), "{err}");
    assert_eq!(err.hint().filter(|h| h.contains("not found")), None);
    assert_eq!(
        sim.counts().fhir_requests - before,
        u64::from(RatePolicy::default().max_attempts),
        "retried"
    );
    // With it: one request, and a hint that says what it means.
    let before = sim.counts().fhir_requests;
    let err = fast(sim.adapter())
        .read::<fhir_c4bb::Organization>("ifp-123")
        .await
        .unwrap_err();
    assert!(hint(&err).contains("treat it as not found"), "{err:?}");
    assert_eq!(sim.counts().fhir_requests - before, 1, "not retried");
}

#[tokio::test]
async fn cigna_has_several_patient_records_and_the_sdk_reads_the_tokens_one() {
    let sim = cigna().await;
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    let client = fhir(sim.adapter(), tokens);
    let all = client
        .search::<fhir_c4bb::Patient>(smart_core::fhir::SearchParams::new())
        .collect_all()
        .await
        .unwrap();
    assert_eq!(all.matches.len(), 4);
    let patient = client.patient().await.unwrap();
    assert_eq!(
        patient.id.as_deref(),
        Some(sim.member().patient_id.as_str())
    );
}

// ---- UnitedHealthcare ----------------------------------------------------------------------------------------

async fn uhc() -> payer_quirks::simulator::Simulator {
    payer_quirks::unitedhealthcare::simulator::start(SimOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn unitedhealthcare_rejects_wildcard_scopes() {
    let sim = uhc().await;
    let err = sdk_error(try_connect(&sim, standard(&sim)).await);
    assert!(
        matches!(&err, Error::AuthorizationDenied { error, .. } if error == "invalid_scope"),
        "{err}"
    );
    let mut blind = sim.profile();
    blind.default_scopes = vec![
        "launch/patient".into(),
        "openid".into(),
        "patient/*.read".into(),
    ];
    let err = sdk_error(try_connect(&sim, Arc::new(blind)).await);
    assert!(hint(&err).contains("wildcard"), "{err:?}");
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    assert!(tokens.scopes().iter().any(|s| s == "patient/Coverage.read"));
}

#[tokio::test]
async fn unitedhealthcare_commercial_member_is_refused_and_the_hint_says_it_is_the_plan() {
    let sim = uhc().await;
    let (user, password) = payer_quirks::unitedhealthcare::simulator::COMMERCIAL_MEMBER;
    for (adapter, expect_plan_hint) in [(standard_for_uhc(&sim), false), (sim.adapter(), true)] {
        let client = support::client(&sim, adapter);
        let request = client.authorize_url().await.unwrap();
        let callback = sim
            .browser()
            .credentials(user, password)
            .login(&request.url)
            .await
            .unwrap();
        let err = client
            .exchange_code(&request.pending, callback.as_str())
            .await
            .unwrap_err();
        match &err {
            Error::AuthorizationDenied {
                error, description, ..
            } => {
                assert_eq!(error, "access_denied");
                assert!(
                    description
                        .as_deref()
                        .unwrap()
                        .contains("Member eligibility failed")
                );
            }
            other => panic!("{other}"),
        }
        assert_eq!(
            hint(&err).contains("not a bug"),
            expect_plan_hint,
            "{err:?}"
        );
    }
    assert_eq!(sim.counts().codes_issued, 0);
}

/// The Standard adapter with UHC's per-resource scopes (so it gets as far as the eligibility check).
fn standard_for_uhc(sim: &payer_quirks::simulator::Simulator) -> Arc<dyn PayerAdapter> {
    let mut p =
        payer_quirks::PayerProfile::standard("standard", "Standard", sim.fhir_base().as_str())
            .unwrap();
    p.default_scopes = sim.adapter().default_scopes();
    Arc::new(p)
}

#[tokio::test]
async fn unitedhealthcare_redirect_uri_must_match_exactly() {
    let sim = uhc().await;
    let client = smart_core::SmartClient::builder(sim.adapter())
        .client_id(sim.client_id())
        .client_secret(sim.client_secret())
        .redirect_uri("http://127.0.0.1:3000/callback/other")
        .unwrap()
        .build()
        .unwrap();
    let request = client.authorize_url().await.unwrap();
    let err = sim.login(&request.url).await.unwrap_err();
    let (status, excerpt) = err.page_excerpt().unwrap();
    assert_eq!(status, 400);
    assert!(
        sim.adapter()
            .explain_response(status, excerpt)
            .unwrap()
            .contains("exactly")
    );
}

#[tokio::test]
async fn unitedhealthcare_has_no_everything() {
    let sim = uhc().await;
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    let mut blind = sim.profile();
    blind.supports_everything = true;
    let err = fhir(Arc::new(blind), tokens.clone())
        .everything()
        .unwrap()
        .collect_all()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    assert_eq!(
        sim.counts().per_resource.get("Patient/$everything"),
        Some(&1)
    );
    let err = fhir(sim.adapter(), tokens).everything().unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    assert_eq!(
        sim.counts().per_resource.get("Patient/$everything"),
        Some(&1)
    );
}

// ---- CMS Blue Button 2.0 --------------------------------------------------------------------------------------

async fn bluebutton(opts: SimOptions) -> payer_quirks::simulator::Simulator {
    payer_quirks::bluebutton::simulator::start(opts)
        .await
        .unwrap()
}

#[tokio::test]
async fn bluebutton_count_is_capped_at_50() {
    let sim = bluebutton(SimOptions::default()).await;
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    let mut blind = sim.profile();
    blind.max_page_size = None;
    let err = support::sync(&fhir(Arc::new(blind), tokens.clone()), Some(100))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    assert!(hint(&err).contains("up to 50"), "{err:?}");
    support::sync(&fhir(sim.adapter(), tokens), Some(100))
        .await
        .unwrap();
}

#[tokio::test]
async fn bluebutton_one_time_apps_cannot_refresh() {
    let sim = bluebutton(SimOptions::default().refresh_tokens(false)).await;
    for (adapter, tier_hint) in [(standard(&sim), false), (sim.adapter(), true)] {
        let (client, tokens) = connect(&sim, adapter).await;
        let err = client.refresh(&tokens).await.unwrap_err();
        match &err {
            Error::OAuth { status, error, .. } => {
                assert_eq!((*status, error.as_str()), (403, "invalid_client"))
            }
            other => panic!("{other}"),
        }
        assert_eq!(
            hint(&err).contains("authorization again"),
            tier_hint,
            "{err:?}"
        );
    }
    assert_eq!(sim.counts().token_refreshes, 0);
}

#[tokio::test]
async fn bluebutton_refuses_client_secret_short_state_and_missing_pkce_in_the_authorize_url() {
    let sim = bluebutton(SimOptions::default()).await;
    use secrecy::ExposeSecret;
    let mut blind = sim.profile();
    blind.extra_authorize_params.push((
        "client_secret".into(),
        sim.client_secret().expose_secret().to_owned(),
    ));
    let err = browser_error(try_connect(&sim, Arc::new(blind)).await);
    let (status, excerpt) = err.page_excerpt().unwrap();
    assert_eq!(status, 400);
    assert!(
        sim.adapter()
            .explain_response(status, excerpt)
            .unwrap()
            .contains("client_secret")
    );
    // The SDK's own authorize URL passes; the same URL with PKCE removed, or a short state, does not.
    let request = support::client(&sim, sim.adapter())
        .authorize_url()
        .await
        .unwrap();
    let edit = |drop: &[&str], state: Option<&str>| {
        let mut u = request.url.clone();
        let pairs: Vec<(String, String)> = request
            .url
            .query_pairs()
            .into_owned()
            .filter(|(k, _)| !drop.contains(&k.as_str()))
            .map(|(k, v)| {
                if k == "state" {
                    (k, state.map(str::to_owned).unwrap_or(v))
                } else {
                    (k, v)
                }
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
        u
    };
    for bad in [
        edit(&["code_challenge", "code_challenge_method"], None),
        edit(&[], Some("short-state")),
    ] {
        let err = sim.login(&bad).await.unwrap_err();
        assert_eq!(err.page_excerpt().unwrap().0, 400, "{err}");
    }
    let mut plain = edit(&[], None);
    let pairs: Vec<(String, String)> = plain
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "code_challenge_method" {
                (k, "plain".to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    plain.query_pairs_mut().clear().extend_pairs(pairs);
    assert!(
        sim.login(&plain)
            .await
            .unwrap_err()
            .to_string()
            .contains("S256")
    );
    assert!(sim.login(&request.url).await.is_ok());
}

#[tokio::test]
async fn bluebutton_last_updated_needs_a_prefix() {
    let sim = bluebutton(SimOptions::default()).await;
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    let client = fhir(sim.adapter(), tokens);
    let query = smart_core::fhir::EobQuery::new().last_updated("2000-01-01");
    let err = client
        .explanation_of_benefits(query)
        .collect_all()
        .await
        .unwrap_err();
    assert!(hint(&err).contains("prefix"), "{err:?}");
    let query = smart_core::fhir::EobQuery::new().last_updated("ge2000-01-01");
    let all = client
        .explanation_of_benefits(query)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(all.matches.len(), sim.member().eob_count());
}

// ---- Humana --------------------------------------------------------------------------------------------------

async fn humana() -> payer_quirks::simulator::Simulator {
    payer_quirks::humana::simulator::start(SimOptions::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn humana_requires_the_internal_scope() {
    let sim = humana().await;
    let err = sdk_error(try_connect(&sim, standard(&sim)).await);
    assert!(
        matches!(&err, Error::AuthorizationDenied { error, .. } if error == "invalid_scope"),
        "{err}"
    );
    let mut blind = sim.profile();
    blind.default_scopes.retain(|s| s != "internal");
    let err = sdk_error(try_connect(&sim, Arc::new(blind)).await);
    assert!(hint(&err).contains("internal"), "{err:?}");
    connect(&sim, sim.adapter()).await;
}

#[tokio::test]
async fn humana_token_endpoint_requires_basic() {
    let sim = humana().await;
    let mut blind = sim.profile();
    blind.client_auth = ClientAuth::ClientSecretPost;
    let err = sdk_error(try_connect(&sim, Arc::new(blind)).await);
    assert!(
        matches!(&err, Error::OAuth { status: 401, error, .. } if error == "invalid_client"),
        "{err}"
    );
    assert!(hint(&err).contains("Basic"), "{err:?}");
    connect(&sim, sim.adapter()).await;
}

// ---- Elevance ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn elevance_wants_accept_application_json_fhir() {
    let sim = payer_quirks::elevance::simulator::start(SimOptions::default())
        .await
        .unwrap();
    // Standard gets through the OAuth flow (PKCE, aud = base) and is refused at the first FHIR read.
    let (_, tokens) = connect(&sim, standard(&sim)).await;
    let err = fhir(standard(&sim), tokens.clone())
        .patient()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("406"), "{err}");
    assert_eq!(standard(&sim).explain_response(406, "x"), None);
    let mut blind = sim.profile();
    blind.fhir_accept = "application/fhir+json".into();
    let err = fhir(Arc::new(blind.clone()), tokens.clone())
        .patient()
        .await
        .unwrap_err();
    assert!(hint(&err).contains("application/json+fhir"), "{err:?}");
    fhir(sim.adapter(), tokens).patient().await.unwrap();
}

/// The Accept quirk applies to searches by name too: a clinical search with `application/fhir+json` is
/// refused with 406 before anything arrives; Elevance's adapter reads every Condition, page by page.
#[tokio::test]
async fn elevance_clinical_searches_by_name_want_accept_application_json_fhir_too() {
    use smart_core::fhir::SearchParams;
    let sim = payer_quirks::elevance::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    let mut blind = sim.profile();
    blind.fhir_accept = "application/fhir+json".into();
    let err = fhir(Arc::new(blind), tokens.clone())
        .search_type("Condition", SearchParams::new())
        .collect_all()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("406"), "{err}");
    assert!(hint(&err).contains("application/json+fhir"), "{err:?}");
    let conditions = fhir(sim.adapter(), tokens)
        .search_type("Condition", SearchParams::new().count(2))
        .collect_all()
        .await
        .unwrap();
    let ids: Vec<&str> = conditions.matches.iter().filter_map(|r| r.id()).collect();
    assert_eq!(ids, sim.member().clinical["Condition"]);
    assert!(ids.len() > 2, "more than one page");
}

/// Aetna's gateway limits every search, clinical ones included: a burst of searches by name without retries
/// fails with the 429; Aetna's adapter rides it out and reads every Observation.
#[tokio::test]
async fn aetna_rate_limit_applies_to_clinical_searches_and_the_adapter_rides_it_out() {
    use smart_core::fhir::SearchParams;
    let sim = aetna(SimOptions::default().rate_limit(2, Duration::from_millis(800))).await;
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    let mut blind = sim.profile();
    let mut no_retry = RatePolicy::default();
    no_retry.max_attempts = 1;
    blind.rate_policy = no_retry;
    let err = fhir(Arc::new(blind), tokens.clone())
        .search_type("Observation", SearchParams::new().count(2))
        .collect_all()
        .await
        .unwrap_err();
    assert!(hint(&err).contains("per IP"), "{err:?}");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let limited_before = sim.counts().rate_limited;
    let observations = fhir(sim.adapter(), tokens)
        .search_type("Observation", SearchParams::new().count(2))
        .collect_all()
        .await
        .unwrap();
    let ids: Vec<&str> = observations.matches.iter().filter_map(|r| r.id()).collect();
    assert_eq!(ids, sim.member().clinical["Observation"]);
    assert!(
        sim.counts().rate_limited > limited_before,
        "retried through the limit"
    );
}

#[tokio::test]
async fn elevance_serves_each_member_at_their_brands_base_only() {
    use payer_quirks::elevance::{Brand, simulator};
    let sim = simulator::start_brand(SimOptions::default(), Brand::AnthemBlueCross)
        .await
        .unwrap();
    let wrong: Arc<dyn PayerAdapter> = Arc::new(simulator::adapter_for(&sim, Brand::Wellpoint));
    let err = support::client(&sim, wrong.clone())
        .discover()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Discovery { .. }), "{err}");
    let (_, tokens) = connect(&sim, sim.adapter()).await;
    let err = fhir(wrong.clone(), tokens.clone())
        .patient()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    assert!(hint(&err).contains("member's brand"), "{err:?}");
    fhir(sim.adapter(), tokens).patient().await.unwrap();
}
