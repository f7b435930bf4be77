//! The simulators driven with plain reqwest (no SDK): the OAuth flow by hand with PKCE S256, token rules,
//! refresh rotation and reuse, revocation, FHIR paging and `next` links, and each payer's raw quirks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use payer_quirks::simulator::{SimOptions, Simulator};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

const VERIFIER: &str = "a-pkce-verifier-that-is-long-enough-0123456789-abcdefghij";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn basic(sim: &Simulator) -> String {
    use secrecy::ExposeSecret;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let creds = format!(
        "{}:{}",
        enc(sim.client_id()),
        enc(sim.client_secret().expose_secret())
    );
    format!("Basic {}", STANDARD.encode(creds))
}

fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

async fn discovery(url: Url) -> Value {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Builds an authorize URL by hand.
fn authorize_url(sim: &Simulator, endpoint: &str, extra: &[(&str, &str)], scope: &str) -> Url {
    let mut url = Url::parse(endpoint).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", sim.client_id())
        .append_pair("redirect_uri", sim.redirect_uri().as_str())
        .append_pair("scope", scope)
        .append_pair("state", "state-0123456789abcdef")
        .append_pair("code_challenge", &challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url
}

fn code_of(callback: &Url) -> String {
    callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

async fn token(
    sim: &Simulator,
    endpoint: &str,
    auth: Option<String>,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = reqwest::Client::new().post(endpoint).form(form);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.unwrap();
    let _ = sim;
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn aetna_by_hand_pkce_basic_auth_rotation_paging() {
    let sim = payer_quirks::aetna::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let root = sim
        .base_url()
        .join("fhirdemo/.well-known/smart-configuration")
        .unwrap();
    let config = discovery(root).await;
    assert_eq!(
        config["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic"])
    );
    let authorize = config["authorization_endpoint"].as_str().unwrap();
    let token_url = config["token_endpoint"].as_str().unwrap();
    let aud = sim.base_url().join("fhirdemo").unwrap();
    let url = authorize_url(
        &sim,
        authorize,
        &[("aud", aud.as_str()), ("skin", "skin13")],
        "launch/patient patient/*.read",
    );
    let callback = sim.login(&url).await.unwrap();
    let code = code_of(&callback);
    let form = |code: &str, verifier: &str| {
        vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.to_owned()),
            ("redirect_uri".to_owned(), sim.redirect_uri().to_string()),
            ("code_verifier".to_owned(), verifier.to_owned()),
        ]
    };
    // A wrong verifier is refused, and the code is spent with it.
    let wrong = form(&code, "not-the-verifier-not-the-verifier-not-the-verifier");
    let (status, body) = token(&sim, token_url, Some(basic(&sim)), &as_refs(&wrong)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let good = form(&code, VERIFIER);
    let (status, _) = token(&sim, token_url, Some(basic(&sim)), &as_refs(&good)).await;
    assert_eq!(status, 400, "single-use code");

    // A fresh login; credentials in the body get 401 invalid_client; Basic works.
    let code = code_of(&sim.login(&url).await.unwrap());
    let mut body_creds = form(&code, VERIFIER);
    body_creds.push(("client_id".into(), sim.client_id().into()));
    body_creds.push(("client_secret".into(), sim.options().client_secret.clone()));
    let (status, body) = token(&sim, token_url, None, &as_refs(&body_creds)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let code = code_of(&sim.login(&url).await.unwrap());
    let (status, tokens) = token(
        &sim,
        token_url,
        Some(basic(&sim)),
        &as_refs(&form(&code, VERIFIER)),
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["patient"], sim.member().patient_id.as_str());
    assert!(tokens.get("id_token").is_none());
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Paging: EOB by `page=`, every EOB once, `next` links followed verbatim.
    let http = reqwest::Client::new();
    let mut next = Some(format!(
        "{}/ExplanationOfBenefit?patient={}&_count=8",
        sim.fhir_base(),
        sim.member().patient_id
    ));
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(url) = next.take() {
        let page: Value = http
            .get(&url)
            .bearer_auth(&access)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pages += 1;
        assert_eq!(page["total"], sim.member().eob_count());
        for e in page["entry"].as_array().unwrap() {
            seen.push(e["resource"]["id"].as_str().unwrap().to_owned());
        }
        next = page["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
            .map(|l| l["url"].as_str().unwrap().to_owned());
        if let Some(n) = &next {
            assert!(n.contains("page="), "{n}");
        }
    }
    assert_eq!(pages, sim.member().eob_pages(Some(8)));
    assert_eq!(seen, sim.member().eob_ids);

    // Prior authorizations by the PDex profile (Aetna honours `_profile`): the five, typed by the SDK's model,
    // each with the status it was built with; the fifth changes on day 1, with a later lastUpdated.
    let read_pas = || async {
        let text = http
            .get(format!(
                "{}/ExplanationOfBenefit?patient={}&_profile={}",
                sim.fhir_base(),
                sim.member().patient_id,
                "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/pdex-priorauthorization"
            ))
            .bearer_auth(&access)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let bundle: fhir_c4bb::Bundle = fhir_c4bb::from_str(&text).unwrap();
        assert_eq!(bundle.eobs().count(), 5, "only prior authorizations");
        bundle
            .prior_authorizations()
            .map(|p| {
                (
                    p.status().slug().to_owned(),
                    p.last_updated().map(|d| d.as_str().to_owned()),
                )
            })
            .collect::<Vec<_>>()
    };
    let day0 = read_pas().await;
    let slugs =
        |v: &[(String, Option<String>)]| v.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>();
    assert_eq!(
        slugs(&day0),
        [
            "pending",
            "approved",
            "partially-approved",
            "denied",
            "pending"
        ]
    );
    assert_eq!(sim.advance_day(), 1);
    let day1 = read_pas().await;
    assert_eq!(
        slugs(&day1),
        [
            "pending",
            "approved",
            "partially-approved",
            "denied",
            "approved"
        ]
    );
    assert!(day1[4].1 > day0[4].1, "{day0:?} {day1:?}");
    assert_eq!(day0[..4], day1[..4]);
    // `use` is not a parameter Aetna lists: 400.
    let resp = http
        .get(format!(
            "{}/ExplanationOfBenefit?patient={}&use=preauthorization",
            sim.fhir_base(),
            sim.member().patient_id
        ))
        .bearer_auth(&access)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // No bearer token, no data.
    let resp = http
        .get(format!(
            "{}/Patient/{}",
            sim.fhir_base(),
            sim.member().patient_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // Someone else's claims are refused.
    let resp = http
        .get(format!(
            "{}/ExplanationOfBenefit?patient=someone-else",
            sim.fhir_base()
        ))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // Refresh rotates; reusing the spent refresh token revokes the grant.
    let (status, rotated) = token(
        &sim,
        token_url,
        Some(basic(&sim)),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(rotated["refresh_token"].as_str().unwrap(), refresh);
    let (status, body) = token(
        &sim,
        token_url,
        Some(basic(&sim)),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let new_access = rotated["access_token"].as_str().unwrap();
    let resp = http
        .get(format!(
            "{}/Patient/{}",
            sim.fhir_base(),
            sim.member().patient_id
        ))
        .bearer_auth(new_access)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "reuse revoked the whole grant");
    assert_eq!(sim.counts().token_refreshes, 1);
}

#[tokio::test]
async fn aetna_production_writes_a_header_name_with_a_space_on_the_wire() {
    let sim = payer_quirks::aetna::simulator::start(SimOptions::default().production())
        .await
        .unwrap();
    let addr = (
        sim.base_url().host_str().unwrap().to_owned(),
        sim.base_url().port().unwrap(),
    );
    let path = format!("{}/metadata", sim.fhir_base().path());
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("\r\nX-CDN Info: "), "{raw}");
    // Strict clients fail on it; tolerant ones read the body.
    assert!(
        reqwest::get(format!(
            "{}{}",
            sim.base_url().as_str().trim_end_matches('/'),
            path
        ))
        .await
        .is_err()
    );
    let lenient = reqwest::Client::builder()
        .http1_only()
        .http1_ignore_invalid_headers_in_responses(true)
        .build()
        .unwrap();
    let cs: Value = lenient
        .get(format!(
            "{}{}",
            sim.base_url().as_str().trim_end_matches('/'),
            path
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cs["resourceType"], "CapabilityStatement");
}

#[tokio::test]
async fn cigna_login_checks_the_authorize_cookie_and_userinfo_names_the_patient() {
    let sim = payer_quirks::cigna::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let config = discovery(
        sim.base_url()
            .join(".well-known/smart-configuration")
            .unwrap(),
    )
    .await;
    let authorize = config["authorization_endpoint"].as_str().unwrap();
    let url = authorize_url(&sim, authorize, &[], "openid patient/*.read");
    let err = sim
        .browser()
        .without_cookies()
        .login(&url)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cookie"), "{err}");
    let callback = sim.login(&url).await.unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code_of(&callback)),
        ("redirect_uri", sim.redirect_uri().as_str()),
        ("code_verifier", VERIFIER),
        ("client_id", sim.client_id()),
    ];
    // A public client with PKCE.
    let (status, tokens) = token(
        &sim,
        config["token_endpoint"].as_str().unwrap(),
        None,
        &form,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens.get("patient").is_none());
    let access = tokens["access_token"].as_str().unwrap();
    let info: Value = reqwest::Client::new()
        .get(format!("{}/$userinfo", sim.fhir_base()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["patient"], sim.member().patient_id.as_str());
    // aud is refused on the redirect.
    let with_aud = authorize_url(
        &sim,
        authorize,
        &[("aud", sim.fhir_base().as_str())],
        "openid",
    );
    let callback = sim.login(&with_aud).await.unwrap();
    assert!(
        callback.query().unwrap().contains("error=invalid_request"),
        "{callback}"
    );
    // Unknown references: 500.
    let resp = reqwest::Client::new()
        .get(format!("{}/Practitioner/ifp-9", sim.fhir_base()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert!(resp.text().await.unwrap().contains("HAPI-2001"));
}

#[tokio::test]
async fn unitedhealthcare_refuses_wildcards_and_commercial_members_on_the_redirect() {
    let sim = payer_quirks::unitedhealthcare::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let issuer_config = sim
        .base_url()
        .join("authz/sandbox/.well-known/openid-configuration")
        .unwrap();
    let config = discovery(issuer_config).await;
    let authorize = config["authorization_endpoint"].as_str().unwrap();
    let aud = sim.fhir_base().as_str();
    let wildcard = authorize_url(
        &sim,
        authorize,
        &[("aud", aud)],
        "launch/patient patient/*.read",
    );
    let callback = sim.login(&wildcard).await.unwrap();
    assert!(
        callback.query().unwrap().contains("error=invalid_scope"),
        "{callback}"
    );
    let url = authorize_url(
        &sim,
        authorize,
        &[("aud", aud)],
        "launch/patient patient/Patient.read",
    );
    let (user, password) = payer_quirks::unitedhealthcare::simulator::COMMERCIAL_MEMBER;
    let callback = sim
        .browser()
        .credentials(user, password)
        .login(&url)
        .await
        .unwrap();
    let pairs: Vec<(String, String)> = callback.query_pairs().into_owned().collect();
    assert!(pairs.contains(&("error".into(), "access_denied".into())));
    assert!(
        pairs
            .iter()
            .any(|(k, v)| k == "error_description" && v.starts_with("Member eligibility failed"))
    );
    assert!(pairs.contains(&("state".into(), "state-0123456789abcdef".into())));
    // The member who denies consent is also sent back with access_denied.
    let callback = sim.browser().deny_consent().login(&url).await.unwrap();
    assert!(callback.query().unwrap().contains("error=access_denied"));
    // No refresh token by default.
    let callback = sim.login(&url).await.unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code_of(&callback)),
        ("redirect_uri", sim.redirect_uri().as_str()),
        ("code_verifier", VERIFIER),
    ];
    let (status, tokens) = token(
        &sim,
        config["token_endpoint"].as_str().unwrap(),
        Some(basic(&sim)),
        &form,
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens.get("refresh_token").is_none());
    assert_eq!(sim.counts().codes_issued, 1);
}

#[tokio::test]
async fn the_simulator_stops_when_dropped() {
    let sim = payer_quirks::unitedhealthcare::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let metadata = format!("{}/metadata", sim.fhir_base());
    assert_eq!(reqwest::get(&metadata).await.unwrap().status(), 200);
    drop(sim);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(client.get(&metadata).send().await.is_err());
}

/// The value of `attr="..."` in the first tag of `html` that contains `marker`, with `&amp;` decoded.
fn attr_near(html: &str, marker: &str, attr: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {html}"));
    let tag_start = html[..=at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
    let needle = format!("{attr}=\"");
    let v = &tag[tag.find(&needle).unwrap() + needle.len()..];
    v[..v.find('"').unwrap()].replace("&amp;", "&")
}

/// A member who mistypes their password gets the form again (with what went wrong, their username kept, and a
/// way back to the app), can retry, or can cancel and land back at the app with `access_denied`.
#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_a_way_back_to_the_app() {
    let sim = payer_quirks::bluebutton::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let config = discovery(
        sim.fhir_base()
            .join("fhir/.well-known/smart-configuration")
            .unwrap(),
    )
    .await;
    let authorize = config["authorization_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let member = sim.member().clone();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Follows same-origin redirects; returns the last response's status, URL and body, or the redirect away.
    let follow = |mut url: Url| {
        let client = client.clone();
        let origin = sim.base_url().origin();
        async move {
            loop {
                let resp = client.get(url.clone()).send().await.unwrap();
                if resp.status().is_redirection() {
                    let next = url
                        .join(resp.headers()["location"].to_str().unwrap())
                        .unwrap();
                    if next.origin() != origin {
                        return (resp.status().as_u16(), next, String::new());
                    }
                    url = next;
                    continue;
                }
                return (resp.status().as_u16(), url, resp.text().await.unwrap());
            }
        }
    };
    let start = || authorize_url(&sim, &authorize, &[], "launch/patient patient/*.read");

    let (status, page_url, page) = follow(start()).await;
    assert_eq!(status, 200, "{page}");
    let session = attr_near(&page, "name=\"session\"", "value");
    let action = page_url.join(&attr_near(&page, "<form", "action")).unwrap();
    let wrong = client
        .post(action.clone())
        .form(&[
            ("session", session.as_str()),
            ("username", member.username.as_str()),
            ("password", "not-the-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let again = wrong.text().await.unwrap();
    assert!(again.contains("data-login-error"), "{again}");
    assert!(again.contains("did not match"), "{again}");
    assert!(again.contains("<form"), "the form again: {again}");
    assert_eq!(
        attr_near(&again, "name=\"username\"", "value"),
        member.username
    );
    assert!(
        !again.contains("not-the-password"),
        "the password is not echoed"
    );
    let cancel = attr_near(&again, "data-cancel", "href");

    // The retry with the right password goes on to consent, in the same sign-in session.
    let retry = client
        .post(action.clone())
        .form(&[
            ("session", session.as_str()),
            ("username", member.username.as_str()),
            ("password", member.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(retry.status().is_redirection(), "{}", retry.status());
    assert!(
        retry.headers()["location"]
            .to_str()
            .unwrap()
            .contains("session="),
        "to the consent page"
    );

    // A new sign-in, cancelled from the form after the wrong password: back at the app, with the state.
    let (_, page_url, page) = follow(start()).await;
    let session = attr_near(&page, "name=\"session\"", "value");
    let again = client
        .post(action)
        .form(&[
            ("session", session.as_str()),
            ("username", member.username.as_str()),
            ("password", "still-wrong"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cancel_here = attr_near(&again, "data-cancel", "href");
    assert_ne!(cancel, cancel_here, "each sign-in session has its own link");
    let (status, back, _) = follow(page_url.join(&cancel_here).unwrap()).await;
    assert!((300..400).contains(&status), "{status}");
    assert!(
        back.as_str().starts_with(sim.redirect_uri().as_str()),
        "{back}"
    );
    let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert!(
        pairs.contains(&("error".into(), "access_denied".into())),
        "{back}"
    );
    assert!(
        pairs.contains(&("state".into(), "state-0123456789abcdef".into())),
        "{back}"
    );
    assert_eq!(sim.counts().codes_issued, 0);
}
