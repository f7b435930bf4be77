//! The web-app example (examples/web_app), run in-process against the Aetna and Cigna simulators.
//!
//! In a real headless Chromium, a member connects both payers through their HTML sign-in pages (Cigna's
//! cookie-bound authorize step happens in the browser), sees exactly the claims and totals the simulators
//! serve, and still sees them after the app restarts on the same SQLite file, with the access token refreshed
//! through the store. Without a browser: forged, replayed and declined callbacks exchange nothing, and another
//! browser sees nothing of the member's. The example's own module tests (the SQLite store's compare-and-swap
//! under two concurrent writers, HTML escaping, money formatting) are compiled into this binary too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../examples/web_app/app.rs"]
mod app;
#[path = "support/chromium.rs"]
mod chromium;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use app::views::format_money;
use app::{Config, PayerConfig, RunningApp};
use fantoccini::{Client, Locator};
use fhir_c4bb::money::ClaimsTable;
use futures::FutureExt as _;
use payer_quirks::simulator::{SimOptions, Simulator};
use reqwest::StatusCode;
use smart_core::fhir::{EobQuery, FhirClient};
use smart_core::store::encrypted::{KeyRing, SealKey};
use smart_core::{ExposeSecret as _, SmartClient, StaticTokens};
use tokio::net::TcpListener;
use url::Url;

const PAYERS: [&str; 2] = ["aetna", "cigna"];
/// How long the browser may take to reach a page (a login, a callback, a claims page of three EOB pages).
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Two simulators, the app on a fixed port (their registered redirect URIs name it), and its SQLite file.
struct Fixture {
    aetna: Simulator,
    cigna: Simulator,
    database: PathBuf,
    port: u16,
    app: Option<RunningApp>,
}

fn public_url(port: u16) -> Url {
    Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap()
}

impl Fixture {
    async fn start(name: &str) -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let public = public_url(port);
        let options = |key: &str| {
            SimOptions::default().client(
                "web-app-test",
                "web-app test secret+/=",
                app::callback_url(&public, key).unwrap(),
            )
        };
        let aetna = payer_quirks::aetna::simulator::start(options("aetna"))
            .await
            .unwrap();
        let cigna = payer_quirks::cigna::simulator::start(options("cigna"))
            .await
            .unwrap();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web_app_browser");
        std::fs::create_dir_all(&dir).unwrap();
        let database = dir.join(format!("{name}-{:016x}.sqlite3", rand::random::<u64>()));
        let mut fixture = Fixture {
            aetna,
            cigna,
            database,
            port,
            app: None,
        };
        fixture.app = Some(app::serve(listener, fixture.config()).await.unwrap());
        fixture
    }

    fn sim(&self, key: &str) -> &Simulator {
        match key {
            "aetna" => &self.aetna,
            "cigna" => &self.cigna,
            other => panic!("no simulator {other}"),
        }
    }

    fn name(key: &str) -> &'static str {
        match key {
            "aetna" => "Aetna (simulator)",
            _ => "Cigna (simulator)",
        }
    }

    fn config(&self) -> Config {
        Config {
            database: self.database.clone(),
            public_url: None,
            // Sealed at rest, as a production deployment with PATIENT_ACCESS_TOKEN_KEY runs.
            token_keys: Some(KeyRing::new(
                SealKey::from_bytes("browser-test", &[9; 32]).unwrap(),
            )),
            payers: PAYERS
                .iter()
                .map(|key| {
                    let sim = self.sim(key);
                    PayerConfig::new(*key, sim.adapter(), sim.client_id())
                        .name(Self::name(key))
                        .client_secret(sim.client_secret())
                        .login_hint(format!(
                            "Simulated payer: sign in as {} with password {}",
                            sim.member().username,
                            sim.member().password
                        ))
                })
                .collect(),
            directory: self.directory(),
        }
    }

    /// The picker's directory: the HL7 brands example 2, one brand served by the Aetna simulator's FHIR base,
    /// and the payer directory.
    fn directory(&self) -> Vec<payer_quirks::brands::DirectoryEntry> {
        let hl7 = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("payer-quirks/tests/fixtures/brands/Bundle-example2.json"),
        )
        .unwrap();
        let mut brands = payer_quirks::brands::parse_bundle(&hl7).unwrap();
        let acme = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Organization", "id": "acme", "name": "Acme Health",
                "alias": ["Acme Medicare Advantage"], "endpoint": [{"reference": "Endpoint/acme"}]}},
            {"resource": {"resourceType": "Endpoint", "id": "acme", "status": "active",
                "address": format!("{}/", self.aetna.adapter().fhir_base())}}]});
        brands.extend(payer_quirks::brands::parse_bundle(&acme.to_string()).unwrap());
        payer_quirks::brands::merge_with_directory(&brands)
    }

    fn url(&self, path: &str) -> Url {
        public_url(self.port).join(path).unwrap()
    }

    /// Stops the app and starts a new one on the same port and the same SQLite file.
    async fn restart(&mut self) {
        let stopping = std::time::Instant::now();
        self.app.take().unwrap().stop().await.unwrap();
        eprintln!("the app stopped in {:?}", stopping.elapsed());
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if attempts < 50 => {
                    attempts += 1;
                    eprintln!("port {} not free yet: {e}", self.port);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("could not bind port {} again: {e}", self.port),
            }
        };
        self.app = Some(app::serve(listener, self.config()).await.unwrap());
    }

    /// Every stored token row, as the SQLite file holds it (the JSON the SDK's store wrote).
    fn raw_token_rows(&self) -> Vec<String> {
        let db = self.read_db();
        let mut stmt = db.prepare("SELECT tokens FROM tokens").unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// `key → version` of every stored token row, read from the SQLite file itself.
    fn token_versions(&self) -> BTreeMap<String, i64> {
        let db = self.read_db();
        let mut stmt = db.prepare("SELECT key, version FROM tokens").unwrap();
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn read_db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            &self.database,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // The database and its WAL files (the app that held them is stopped or about to be dropped).
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.database.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// What a simulator serves its member, read independently of the app: the test's own SMART connection
/// (the simulator's scripted browser signs in), every EOB page, and fhir-c4bb's table over them.
struct Served {
    /// The claims' ids (prior authorizations are not claims).
    ids: BTreeSet<String>,
    table: ClaimsTable,
    /// `(id, authorization number, status slug, status label)` of every prior authorization served.
    prior_auths: Vec<(String, String, String, String)>,
    /// Every Observation served, typed.
    observations: Vec<patient_access::fhir::clinical::Observation>,
}

async fn served(sim: &Simulator) -> Served {
    let client = SmartClient::builder(sim.adapter())
        .client_id(sim.client_id())
        .client_secret(sim.client_secret())
        .redirect_uri(sim.redirect_uri().as_str())
        .unwrap()
        .build()
        .unwrap();
    let request = client.authorize_url().await.unwrap();
    let callback = sim.login(&request.url).await.unwrap();
    let tokens = client
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    let fhir = FhirClient::builder(sim.adapter())
        .token_source(Arc::new(StaticTokens::new(tokens)))
        .build()
        .unwrap();
    let eobs = fhir
        .explanation_of_benefits(EobQuery::new())
        .collect_all()
        .await
        .unwrap()
        .matches;
    let observations = fhir
        .search_type(
            "Observation",
            patient_access::smart::fhir::SearchParams::new(),
        )
        .collect_all()
        .await
        .unwrap()
        .matches
        .into_iter()
        .filter_map(|r| r.into_observation().ok())
        .collect();
    let served = Served {
        observations,
        ids: eobs
            .iter()
            .filter(|e| !e.is_prior_authorization())
            .map(|e| e.id.clone().unwrap())
            .collect(),
        table: ClaimsTable::from_eobs(&eobs),
        prior_auths: eobs
            .iter()
            .filter_map(|e| e.prior_authorization())
            .map(|p| {
                (
                    p.id().unwrap().to_owned(),
                    p.authorization_number().unwrap().to_owned(),
                    p.status().slug().to_owned(),
                    p.status().label().to_owned(),
                )
            })
            .collect(),
    };
    // Exact: 30 claims and 5 prior authorizations at both payers.
    assert_eq!(served.ids.len(), sim.member().claim_count());
    assert_eq!(served.ids.len(), 30);
    assert_eq!(served.prior_auths.len(), sim.member().prior_auth_count());
    assert_eq!(served.prior_auths.len(), 5);
    let all: BTreeSet<String> = served
        .ids
        .iter()
        .cloned()
        .chain(served.prior_auths.iter().map(|p| p.0.clone()))
        .collect();
    assert_eq!(
        all,
        sim.member()
            .eob_ids
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
    );
    let billed = served.table.billed_total.as_ref().unwrap();
    assert!(
        !billed.value.as_ref().unwrap().is_zero(),
        "the simulator's claims have amounts"
    );
    served
}

// ---- In Chromium ----------------------------------------------------------------------------------------------

/// Runs `body` with a browser, and closes the browser whether or not `body` panics.
async fn with_browser<F, Fut>(test: &str, body: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(browser) = chromium::start(test).await else {
        return;
    };
    let result = AssertUnwindSafe(body(browser.client.clone()))
        .catch_unwind()
        .await;
    browser.close().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

fn screenshot_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `<target>/tmp`: the screenshots go to `<target>/web_app_screenshots`, where CI
    // collects them.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("web_app_screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

async fn find(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c
        .wait()
        .at_most(PAGE_TIMEOUT)
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            let url = c.current_url().await;
            let source = c.source().await.unwrap_or_default();
            panic!("no {css} on {url:?}: {e}\n{source}")
        }
    }
}

/// From the home page: "Connect my insurer", the payer's sign-in and consent pages, back to the claims.
async fn connect_in_browser(c: &Client, f: &Fixture, key: &str) {
    let sim = f.sim(key);
    c.goto(f.url("/").as_str()).await.unwrap();
    find(c, &format!("a[data-connect='{key}']"))
        .await
        .click()
        .await
        .unwrap();
    // The browser followed the app's redirect to the payer's /authorize, and from there to its sign-in page.
    let username = find(c, "input[name='username']").await;
    let here = c.current_url().await.unwrap();
    assert_eq!(
        here.origin(),
        sim.base_url().origin(),
        "at the payer: {here}"
    );
    if key == "cigna" {
        // Cigna's /authorize set its cookie in this browser; the sign-in below succeeds only with it.
        let cookie = c.get_named_cookie("sim_authz").await.unwrap();
        assert!(!cookie.value().is_empty());
    }
    username.send_keys(&sim.member().username).await.unwrap();
    find(c, "input[name='password']")
        .await
        .send_keys(&sim.member().password)
        .await
        .unwrap();
    find(c, "input[type='submit']").await.click().await.unwrap();
    find(c, "input[name='terms']").await.click().await.unwrap();
    find(c, "input[name='decision'][value='allow']")
        .await
        .click()
        .await
        .unwrap();
    // The payer redirected to the app's callback, which exchanged the code and redirected to the claims.
    find(c, "table.claims").await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        format!("/claims/{key}")
    );
}

/// The claims page shows one row per EOB served, each with that EOB's amounts, and the served totals.
async fn assert_claims_page(c: &Client, key: &str, served: &Served) {
    find(c, "table.claims").await;
    let rows = c
        .execute(
            "return Array.from(document.querySelectorAll('table.claims tbody tr')).map(tr => \
             ({id: tr.dataset.eobId, cells: Array.from(tr.cells).map(td => td.textContent.trim())}));",
            vec![],
        )
        .await
        .unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), served.ids.len(), "one row per EOB served");
    let shown: BTreeSet<String> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(shown, served.ids, "every EOB once");
    for row in rows {
        let id = row["id"].as_str().unwrap();
        let expected = served
            .table
            .rows
            .iter()
            .find(|r| r.id.as_deref() == Some(id))
            .unwrap();
        let cells: Vec<&str> = row["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(
            cells[3..6],
            [
                format_money(expected.billed.as_ref()),
                format_money(expected.plan_paid.as_ref()),
                format_money(expected.member_owes.as_ref()),
            ],
            "row {id}"
        );
    }
    for (total, expected) in [
        ("billed", &served.table.billed_total),
        ("plan-paid", &served.table.plan_paid_total),
        ("member-owes", &served.table.member_owes_total),
    ] {
        let shown = find(c, &format!("td[data-total='{total}']"))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(shown, format_money(expected.as_ref()), "{total} total");
    }
    let payer = find(c, "[data-payer-name]").await.text().await.unwrap();
    assert_eq!(payer, Fixture::name(key));
    let heading = find(c, "h1").await.text().await.unwrap();
    assert!(heading.starts_with("Claims for "), "{heading}");
}

/// From the claims page, the prior authorizations page: one row per prior authorization served, each with its
/// number and a badge naming its status; pending and denied ones first; the denial's reason shown.
async fn assert_prior_auths_page(c: &Client, key: &str, served: &Served) {
    find(c, "a[data-prior-auths-link]")
        .await
        .click()
        .await
        .unwrap();
    find(c, "table.prior-auths").await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        format!("/prior-authorizations/{key}")
    );
    let rows = c
        .execute(
            "return Array.from(document.querySelectorAll('table.prior-auths tbody tr')).map(tr => \
             ({id: tr.dataset.priorAuthId, status: tr.dataset.status, number: tr.cells[0].textContent.trim(), \
               badge: tr.querySelector('.badge').textContent.trim(), \
               badgeClass: tr.querySelector('.badge').className, \
               badgeColor: getComputedStyle(tr.querySelector('.badge')).backgroundColor, \
               reasons: Array.from(tr.querySelectorAll('[data-reason]')).map(p => p.textContent.trim())}));",
            vec![],
        )
        .await
        .unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(
        rows.len(),
        served.prior_auths.len(),
        "one row per prior authorization"
    );
    for (id, number, slug, label) in &served.prior_auths {
        let row = rows
            .iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} not shown"));
        assert_eq!(row["number"], number.as_str(), "{id}");
        assert_eq!(row["status"], slug.as_str(), "{id}");
        assert_eq!(row["badge"], label.as_str(), "{id}");
        assert_eq!(
            row["badgeClass"],
            format!("badge status-{slug}").as_str(),
            "{id}"
        );
    }
    // The stylesheet gives each status its own colour (not the default badge's).
    let colors: BTreeSet<&str> = rows
        .iter()
        .map(|r| r["badgeColor"].as_str().unwrap())
        .collect();
    assert!(colors.len() >= 4, "{colors:?}");
    // What the member is waiting for first, then what was refused, and why.
    let order: Vec<&str> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        [
            "pending",
            "pending",
            "denied",
            "partially-approved",
            "approved"
        ]
    );
    let denied = rows.iter().find(|r| r["status"] == "denied").unwrap();
    assert!(
        denied["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("Not medically necessary")),
        "{denied}"
    );
    assert_eq!(
        find(c, "[data-count='pending']")
            .await
            .text()
            .await
            .unwrap(),
        "2"
    );
    let heading = find(c, "h1").await.text().await.unwrap();
    assert!(
        heading.starts_with("Prior authorizations for "),
        "{heading}"
    );
}

/// From the claims page, the health record: each list has one row per record the payer serves (the most recent
/// labs and vitals, up to the page's limit), a lab shows its value with its unit, the blood pressure both
/// parts, and the types the payer does not list are named.
async fn assert_health_record_page(c: &Client, f: &Fixture, key: &str, served: &Served) {
    c.goto(f.url(&format!("/claims/{key}")).as_str())
        .await
        .unwrap();
    find(c, "a[data-health-record-link]")
        .await
        .click()
        .await
        .unwrap();
    find(c, "[data-section='conditions']").await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        format!("/health-record/{key}")
    );
    let rows = c
        .execute(
            "const out = {}; for (const el of document.querySelectorAll('[data-section]')) { \
             out[el.dataset.section] = Array.from(el.querySelectorAll('tr[data-row]')).map(tr => \
             [tr.querySelector('[data-text]').textContent.trim(), tr.querySelector('[data-detail]').textContent.trim()]); } \
             return out;",
            vec![],
        )
        .await
        .unwrap();
    let clinical = &f.sim(key).member().clinical;
    let count = |ty: &str| clinical.get(ty).map_or(0, Vec::len);
    for (section, ty) in [
        ("conditions", "Condition"),
        ("medications", "MedicationRequest"),
        ("immunizations", "Immunization"),
        ("allergies", "AllergyIntolerance"),
    ] {
        assert_eq!(
            rows[section].as_array().unwrap().len(),
            count(ty),
            "{key}: {section}"
        );
    }
    assert!(count("Condition") > 0 && count("Immunization") > 0, "{key}");
    let labs: Vec<_> = served
        .observations
        .iter()
        .filter(|o| o.is_laboratory())
        .collect();
    let vitals = served
        .observations
        .iter()
        .filter(|o| o.is_vital_sign())
        .count();
    assert_eq!(
        rows["recent-labs"].as_array().unwrap().len(),
        labs.len().min(8),
        "{key}"
    );
    assert_eq!(
        rows["recent-vital-signs"].as_array().unwrap().len(),
        vitals.min(8),
        "{key}"
    );
    // A lab as the SDK's helpers show it: the concept's text and the value with its unit.
    let hemoglobin = labs
        .iter()
        .find(|o| o.code.as_ref().and_then(|c| c.display_text()) == Some("Hemoglobin"))
        .expect("the served labs include a hemoglobin");
    let want = serde_json::json!(["Hemoglobin", hemoglobin.value_text().unwrap()]);
    assert!(
        rows["recent-labs"].as_array().unwrap().contains(&want),
        "{key}: {want} in {}",
        rows["recent-labs"]
    );
    assert!(want[1].as_str().unwrap().ends_with("g/dL"));
    let bp = rows["recent-vital-signs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0].as_str().unwrap().starts_with("Blood pressure"))
        .expect("a blood pressure");
    assert!(bp[1].as_str().unwrap().contains("mmHg / "), "{bp}");
    let unavailable = find(c, "[data-unavailable]").await.text().await.unwrap();
    assert!(unavailable.contains("AllergyIntolerance"), "{unavailable}");
    let heading = find(c, "h1").await.text().await.unwrap();
    assert!(heading.starts_with("Health record for "), "{heading}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_connects_aetna_and_cigna_in_chromium_and_the_claims_survive_a_restart() {
    with_browser("web_app_browser", |c| async move {
        let f = &mut Fixture::start("browser").await;
        let served_aetna = served(&f.aetna).await;
        let served_cigna = served(&f.cigna).await;
        let served = |key: &str| {
            if key == "aetna" {
                &served_aetna
            } else {
                &served_cigna
            }
        };

        // Home: both payers, neither connected; a session cookie the page's scripts cannot read.
        c.goto(f.url("/").as_str()).await.unwrap();
        for key in PAYERS {
            let item = find(&c, &format!("li[data-payer='{key}']"))
                .await
                .text()
                .await
                .unwrap();
            assert!(
                item.contains(Fixture::name(key)) && item.contains("Not connected"),
                "{item}"
            );
        }
        screenshot(&c, "home").await;
        let cookie = c.get_named_cookie(app::SESSION_COOKIE).await.unwrap();
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.value().len(), 43);
        let cookie_value = cookie.value().to_owned();

        for key in PAYERS {
            let sim = f.sim(key);
            let before = sim.counts();
            connect_in_browser(&c, f, key).await;
            assert_claims_page(&c, key, served(key)).await;
            screenshot(&c, &format!("{key}_claims")).await;
            assert_prior_auths_page(&c, key, served(key)).await;
            screenshot(&c, &format!("{key}_prior_authorizations")).await;
            assert_health_record_page(&c, f, key, served(key)).await;
            screenshot(&c, &format!("{key}_health_record")).await;
            let after = sim.counts();
            assert_eq!(
                after.authorize,
                before.authorize + 1,
                "{key}: one /authorize, by the browser"
            );
            assert_eq!(after.logins, before.logins + 1, "{key}");
            assert_eq!(
                after.token_code_exchanges,
                before.token_code_exchanges + 1,
                "{key}"
            );
        }
        // Cigna's fatal OperationOutcome inside a 200 searchset is shown, with what it means.
        c.goto(f.url("/claims/cigna").as_str()).await.unwrap();
        let warning = find(&c, "[data-warning]").await.text().await.unwrap();
        assert!(warning.contains("CLCOM-006"), "{warning}");

        // The database: one token row per payer for this member, nothing pending, no session cookie in clear.
        let versions = f.token_versions();
        assert_eq!(versions.len(), 2, "{versions:?}");
        let user = versions
            .keys()
            .next()
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_owned();
        for key in PAYERS {
            assert_eq!(
                versions.get(&format!("{user}:{key}")),
                Some(&1),
                "{versions:?}"
            );
        }
        // Sealed at rest: each row is an envelope under the configured key id; no refresh token, patient or
        // expiry in clear.
        for row in f.raw_token_rows() {
            assert!(row.contains("pa-sealed.v1.browser-test."), "{row}");
            assert!(
                !row.contains("refresh_token") && !row.contains("patient"),
                "{row}"
            );
        }
        {
            let db = f.read_db();
            let count =
                |sql: &str, arg: &str| -> i64 { db.query_row(sql, [arg], |r| r.get(0)).unwrap() };
            assert_eq!(
                count(
                    "SELECT count(*) FROM web_sessions WHERE id_hash = ?1",
                    &cookie_value
                ),
                0
            );
            assert_eq!(
                count(
                    "SELECT count(*) FROM web_sessions WHERE id_hash = ?1",
                    &app::store::hash_session_id(&cookie_value)
                ),
                1
            );
            let pending: i64 = db
                .query_row("SELECT count(*) FROM pending_authorizations", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(pending, 0, "the callback took the pending authorization");
        }

        // Restart the app on the same SQLite file while the payers expire every access token: the claims
        // still load, after one refresh grant per payer whose result is saved (version 2).
        f.restart().await;
        f.aetna.expire_access_tokens();
        f.cigna.expire_access_tokens();
        for key in PAYERS {
            let sim = f.sim(key);
            let before = sim.counts();
            c.goto(f.url(&format!("/claims/{key}")).as_str())
                .await
                .unwrap();
            assert_claims_page(&c, key, served(key)).await;
            let after = sim.counts();
            assert_eq!(
                after.token_refreshes,
                before.token_refreshes + 1,
                "{key}: one refresh grant"
            );
            assert!(
                after.unauthorized > before.unauthorized,
                "{key}: the expired token was refused first"
            );
            assert_eq!(after.logins, before.logins, "{key}: no new sign-in");
            assert_eq!(
                f.token_versions().get(&format!("{user}:{key}")),
                Some(&2),
                "{key}"
            );
            screenshot(&c, &format!("{key}_claims_after_restart")).await;
        }

        // Disconnect Aetna: revoked at the payer, gone from the database; Cigna stays connected.
        c.goto(f.url("/").as_str()).await.unwrap();
        let revocations = f.aetna.counts().revocations;
        find(&c, "button[data-disconnect='aetna']")
            .await
            .click()
            .await
            .unwrap();
        find(&c, "a[data-connect='aetna']").await;
        assert!(f.aetna.counts().revocations > revocations);
        let versions = f.token_versions();
        assert!(
            !versions.contains_key(&format!("{user}:aetna")),
            "{versions:?}"
        );
        assert!(
            versions.contains_key(&format!("{user}:cigna")),
            "{versions:?}"
        );

        // Another browser (no session cookie) sees none of this member's claims, and asks nothing of Cigna.
        c.delete_all_cookies().await.unwrap();
        let fhir_before = f.cigna.counts().fhir_requests;
        c.goto(f.url("/claims/cigna").as_str()).await.unwrap();
        find(&c, "[data-not-connected]").await;
        assert!(c.find(Locator::Css("table.claims")).await.is_err());
        assert_eq!(f.cigna.counts().fhir_requests, fhir_before);
        f.app.take().unwrap().stop().await.unwrap();
    })
    .await;
}

// ---- Without a browser ----------------------------------------------------------------------------------------

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response) -> Url {
    let l = r.headers()[reqwest::header::LOCATION].to_str().unwrap();
    Url::parse(l)
        .or_else(|_| Url::parse("http://placeholder/").unwrap().join(l))
        .unwrap()
}

async fn get(http: &reqwest::Client, url: &Url) -> (StatusCode, String) {
    let r = http.get(url.clone()).send().await.unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

/// `GET /connect/aetna`: the authorize URL the app redirects to.
async fn start_connect(http: &reqwest::Client, f: &Fixture) -> Url {
    let r = http.get(f.url("/connect/aetna")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    location(&r)
}

#[tokio::test]
async fn forged_replayed_and_declined_callbacks_exchange_nothing_and_other_browsers_see_nothing() {
    let mut f = Fixture::start("callbacks").await;
    let sim = &f.aetna;
    let exchanges = || sim.counts().token_code_exchanges;
    let http = http_client();
    let mut pages = Vec::new();

    // A callback in a browser that never started a sign-in.
    let (status, body) = get(&http, &f.url("/callback/aetna?code=abc&state=xyz")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("expired"), "{body}");

    // "Connect": a session cookie, and a 303 to the payer's authorize URL with PKCE S256 and a state; the
    // pending authorization stays on the server.
    let r = http.get(f.url("/connect/aetna")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let set_cookie = r.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.starts_with(&format!("{}=", app::SESSION_COOKIE)),
        "{set_cookie}"
    );
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let authorize = location(&r);
    assert_eq!(authorize.origin(), sim.base_url().origin());
    let query: BTreeMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(
        query["redirect_uri"],
        app::callback_url(&public_url(f.port), "aetna")
            .unwrap()
            .as_str()
    );
    assert!(!query.contains_key("client_secret"));
    assert!(
        !set_cookie.contains(&query["state"]),
        "the state stays server-side"
    );

    // A forged callback (wrong state) is refused, and spends the pending authorization: the real code that
    // arrives afterwards is refused too, and nothing is exchanged at the payer.
    let (status, body) = get(&http, &f.url("/callback/aetna?code=forged&state=forged")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("could not be verified"), "{body}");
    // A sentence for the member, not the SDK's message for developers (that goes to the log).
    assert!(body.contains("nothing was shared"), "{body}");
    assert!(!body.contains("state does not match"), "{body}");
    let callback = sim.login(&authorize).await.unwrap();
    let (status, _) = get(&http, &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(exchanges(), 0);

    // Start again: the member signs in, the callback exchanges the code once and sends them to the claims.
    let authorize = start_connect(&http, &f).await;
    let callback = sim.login(&authorize).await.unwrap();
    let r = http.get(callback.clone()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r).path(), "/claims/aetna");
    assert_eq!(exchanges(), 1);
    let (status, claims) = get(&http, &f.url("/claims/aetna")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        claims.matches("<tr data-eob-id=").count(),
        sim.member().claim_count()
    );
    pages.push(claims);

    // The same callback again (back button, a leaked link): refused, not exchanged twice.
    let (status, body) = get(&http, &callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    pages.push(body);
    assert_eq!(exchanges(), 1);

    // The member declines at the payer: a page that says so; the earlier connection is untouched.
    let authorize = start_connect(&http, &f).await;
    let declined = sim
        .browser()
        .deny_consent()
        .login(&authorize)
        .await
        .unwrap();
    assert!(
        declined.query().unwrap().contains("error=access_denied"),
        "{declined}"
    );
    let (status, body) = get(&http, &declined).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("did not share your data"), "{body}");
    assert!(body.contains("To try again"), "{body}");
    for raw in [
        "access_denied",
        "The member declined to share their data",
        "authoriz",
    ] {
        assert!(
            !body.contains(raw),
            "SDK text {raw:?} shown to the member: {body}"
        );
    }
    assert_eq!(exchanges(), 1);
    let (status, claims) = get(&http, &f.url("/claims/aetna")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(claims.contains("<tr data-eob-id="));
    pages.push(claims);

    // Another browser: no session, so no claims, and no request to the payer.
    let fhir_before = sim.counts().fhir_requests;
    let (status, other) = get(&http_client(), &f.url("/claims/aetna")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        other.contains("data-not-connected") && !other.contains("data-eob-id"),
        "{other}"
    );
    assert_eq!(sim.counts().fhir_requests, fhir_before);
    // A cookie that names no session is no better.
    let (_, forged) = get(&reqwest::Client::new(), &f.url("/claims/aetna")).await;
    assert!(forged.contains("data-not-connected"));
    let forged_cookie = http_client();
    let r = forged_cookie
        .get(f.url("/claims/aetna"))
        .header(
            reqwest::header::COOKIE,
            format!("{}={}", app::SESSION_COOKIE, "A".repeat(43)),
        )
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("data-not-connected"));

    // No token ever reaches a page: the stored ones (opened through the app's sealed store) appear in none of
    // the HTML served.
    let key: String = f
        .read_db()
        .query_row("SELECT key FROM tokens", [], |r| r.get(0))
        .unwrap();
    let stored = f
        .app
        .as_ref()
        .unwrap()
        .token_store()
        .load(&key)
        .await
        .unwrap()
        .unwrap()
        .tokens;
    let access = stored.access_token().expose_secret().to_owned();
    let refresh = stored.refresh_token().unwrap().expose_secret().to_owned();
    for (name, token) in [("access_token", access), ("refresh_token", refresh)] {
        let token = token.as_str();
        assert!(token.len() >= 20);
        assert!(
            pages.iter().all(|p| !p.contains(token)),
            "{name} leaked into a page"
        );
    }
    f.app.take().unwrap().stop().await.unwrap();
}

#[tokio::test]
async fn a_cross_site_disconnect_is_refused_with_403_and_changes_nothing() {
    let mut f = Fixture::start("csrf").await;
    let sim = &f.aetna;
    let http = http_client();
    // A connected member.
    let authorize = start_connect(&http, &f).await;
    let callback = sim.login(&authorize).await.unwrap();
    let r = http.get(callback).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let connected = |f: &Fixture| f.token_versions().keys().any(|k| k.ends_with(":aetna"));
    assert!(connected(&f));
    let revocations = sim.counts().revocations;

    // Another site makes the member's browser POST (the session cookie goes along): refused, nothing changes.
    let app_origin = f.url("/").origin().ascii_serialization();
    for headers in [
        vec![
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        vec![("origin", "https://evil.example")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "null")],
        vec![
            ("origin", app_origin.as_str()),
            ("sec-fetch-site", "cross-site"),
        ],
        vec![],
    ] {
        let mut request = http.post(f.url("/disconnect/aetna"));
        for (k, v) in &headers {
            request = request.header(*k, *v);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(r.text().await.unwrap().contains("nothing was changed"));
        assert!(connected(&f), "{headers:?}: the tokens are still there");
        assert_eq!(
            sim.counts().revocations,
            revocations,
            "{headers:?}: nothing revoked"
        );
    }

    // The app's own form (as a browser sends it): disconnected.
    let r = http
        .post(f.url("/disconnect/aetna"))
        .header("origin", app_origin.as_str())
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!connected(&f));
    assert!(sim.counts().revocations > revocations);
    f.app.take().unwrap().stop().await.unwrap();
}

#[tokio::test]
async fn unknown_pages_and_payers_are_404_and_pages_carry_security_headers() {
    let mut f = Fixture::start("headers").await;
    let http = http_client();
    for path in ["/nope", "/connect/unknown-payer", "/claims/unknown-payer"] {
        let r = http.get(f.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = http.get(f.url("/")).send().await.unwrap();
    let h = r.headers().clone();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let body = r.text().await.unwrap();
    for key in PAYERS {
        assert!(body.contains(&format!("href=\"/connect/{key}\"")), "{body}");
    }
    let css = http.get(f.url("/style.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // Disconnect is a POST only.
    let r = http.get(f.url("/disconnect/aetna")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    f.app.take().unwrap().stop().await.unwrap();

    // Served as https://: the session cookie is Secure and __Host- prefixed.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = f.config();
    config.public_url = Some(Url::parse("https://app.example/").unwrap());
    let https = app::serve(listener, config).await.unwrap();
    assert_eq!(https.url().as_str(), "https://app.example/");
    let r = http.get(format!("http://{addr}/")).send().await.unwrap();
    let cookie = r.headers()[reqwest::header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("{}=", app::SECURE_SESSION_COOKIE))
            && cookie.ends_with("; Secure"),
        "{cookie}"
    );
    https.stop().await.unwrap();
}

// ---- The insurer picker ---------------------------------------------------------------------------------------

/// The `data-brand` names of the picker's lines on the current page.
async fn picker_names(c: &Client) -> Vec<String> {
    find(c, "[data-brand-count]").await;
    let mut names = Vec::new();
    for e in c.find_all(Locator::Css("li[data-brand]")).await.unwrap() {
        names.push(e.attr("data-brand").await.unwrap().unwrap_or_default());
    }
    names
}

#[tokio::test]
async fn the_home_page_picker_searches_brands_and_connects_through_the_payer_serving_them() {
    let f = Fixture::start("picker").await;
    with_browser("picker", |c| async move {
        c.goto(f.url("/").as_str()).await.unwrap();
        let all = find(&c, "[data-brand-count]")
            .await
            .attr("data-brand-count")
            .await
            .unwrap();
        let all: usize = all.unwrap().parse().unwrap();
        assert_eq!(all, f.directory().len(), "an empty search lists everything");

        // Typed in the search box: one brand, served by the Aetna simulator, so Connect goes to Aetna.
        find(&c, "input[data-brand-search]")
            .await
            .send_keys("acme MEDICARE")
            .await
            .unwrap();
        find(&c, "button[data-brand-find]")
            .await
            .click()
            .await
            .unwrap();
        find(&c, "li[data-brand='Acme Health']").await;
        assert_eq!(picker_names(&c).await, ["Acme Health"]);
        screenshot(&c, "picker-acme").await;
        find(&c, "a[data-brand-connect='aetna']")
            .await
            .click()
            .await
            .unwrap();
        find(&c, "input[name='username']").await;
        let here = c.current_url().await.unwrap();
        assert_eq!(
            here.origin(),
            f.sim("aetna").base_url().origin(),
            "at Aetna's sign-in: {here}"
        );

        // A brand of the HL7 example, on a FHIR base nobody configured: listed, with the standard adapter, and
        // no Connect (this app has no client there).
        c.goto(f.url("/?q=goodhealth+mental").as_str())
            .await
            .unwrap();
        assert_eq!(picker_names(&c).await, ["ExampleHealth"]);
        let line = find(&c, "li[data-brand='ExampleHealth']")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            line.contains("standard SMART on FHIR") && line.contains("Not offered"),
            "{line}"
        );
        assert!(c.find(Locator::Css("a[data-brand-connect]")).await.is_err());

        // Elevance's 13 brands and its sandbox, each with the Elevance module's adapter.
        c.goto(f.url("/?q=elevance").as_str()).await.unwrap();
        let names = picker_names(&c).await;
        assert_eq!(names.len(), 14, "{names:?}");
        let page = c.source().await.unwrap();
        assert_eq!(page.matches("payer module <code>elevance-").count(), 14);

        c.goto(f.url("/?q=no+such+insurer").as_str()).await.unwrap();
        find(&c, "[data-brand-none]").await;
    })
    .await;
}
