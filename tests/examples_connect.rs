//! `connect` end to end, as an unattended program would drive it: against a simulator through the `Standard`
//! adapter (`--fhir-base`), with the member's login done headless from the `AUTHORIZE_URL=` line and the callback
//! delivered to connect's own loopback listener. Then the NDJSON it wrote, the token file, a second run that
//! refreshes instead of asking the member, and what must never be printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod examples_support;

use std::collections::BTreeSet;
use std::path::Path;

use examples_support::{Output, Running, TempDir, free_port};
use payer_quirks::simulator::{SimOptions, Simulator};
use serde_json::Value;
use url::Url;

const CLIENT_ID: &str = "connect-test-app";
const SECRET: &str = "connect-test secret+/=&";
const SECRET_ENV: &str = "PATIENT_ACCESS_CLIENT_SECRET";

/// CMS Blue Button's simulator: its differences from the standard (PKCE required, long `state`, page size cap,
/// `startIndex` paging) are all ones a standards-following client handles, so the `Standard` adapter works.
async fn simulator(redirect: &Url) -> Simulator {
    let opts = SimOptions::default().client(CLIENT_ID, SECRET, redirect.clone());
    payer_quirks::bluebutton::simulator::start(opts)
        .await
        .unwrap()
}

struct Setup {
    sim: Simulator,
    redirect: Url,
    dir: TempDir,
}

impl Setup {
    async fn new(tag: &str) -> Self {
        let redirect = Url::parse(&format!(
            "http://127.0.0.1:{}/api/auth/smart/callback",
            free_port()
        ))
        .unwrap();
        Self {
            sim: simulator(&redirect).await,
            redirect,
            dir: TempDir::new(tag),
        }
    }

    fn out(&self) -> std::path::PathBuf {
        self.dir.path().join("export")
    }

    fn tokens(&self) -> std::path::PathBuf {
        self.dir.path().join("config").join("tokens.json")
    }

    /// `--fhir-base`, `--client-id`, `--redirect-uri`, `--out` and `--tokens` for this setup, then `extra`.
    fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "--fhir-base",
            self.sim.fhir_base().as_str(),
            "--client-id",
            CLIENT_ID,
            "--redirect-uri",
            self.redirect.as_str(),
            "--out",
            self.out().to_str().unwrap(),
            "--tokens",
            self.tokens().to_str().unwrap(),
            "--timeout",
            "120",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    fn start_with(&self, extra: &[&str]) -> Running {
        let args = self.args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // Everything the SDK and connect record, at the most verbose level: still no secret (see
        // `assert_never_printed`).
        Running::start(
            "connect",
            &args,
            &[(SECRET_ENV, SECRET), ("RUST_LOG", "trace")],
        )
    }

    fn start(&self) -> Running {
        self.start_with(&[])
    }
}

/// Every line of `<out>/<ty>.ndjson`, each parsed as a FHIR resource of that type.
fn ndjson(out: &Path, ty: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(out.join(format!("{ty}.ndjson")))
        .unwrap_or_else(|e| panic!("{ty}.ndjson: {e}"));
    text.lines()
        .map(|line| {
            let typed: fhir_c4bb::Resource = fhir_c4bb::from_str(line).unwrap();
            assert_eq!(typed.resource_type(), ty, "{line}");
            serde_json::from_str(line).unwrap()
        })
        .collect()
}

fn ids(resources: &[Value]) -> BTreeSet<String> {
    resources
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Distinct ids of `ty` the simulator answered 200 to, read one by one.
fn served_reads(sim: &Simulator, ty: &str) -> BTreeSet<String> {
    let prefix = format!("{}/{ty}/", sim.fhir_base().path());
    sim.requests()
        .iter()
        .filter(|r| r.status == 200)
        .filter_map(|r| r.path.strip_prefix(&prefix).map(str::to_owned))
        .collect()
}

/// The export holds exactly what the simulator served: one file per type, one line per resource.
fn assert_export(setup: &Setup) {
    let (sim, out) = (&setup.sim, setup.out());
    let member = sim.member();
    let files: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let expected: BTreeSet<String> = [
        "Patient",
        "Coverage",
        "ExplanationOfBenefit",
        "Organization",
        "Practitioner",
    ]
    .iter()
    .map(|t| format!("{t}.ndjson"))
    .collect();
    assert_eq!(files, expected, "no partial or extra files");

    let patient = ndjson(&out, "Patient");
    assert_eq!(patient.len(), 1);
    assert_eq!(patient[0]["id"], member.patient_id.as_str());
    let coverage = ndjson(&out, "Coverage");
    assert_eq!(coverage.len(), member.coverage_count());
    assert_eq!(
        ids(&coverage),
        member.coverage_ids.iter().cloned().collect()
    );
    let eobs = ndjson(&out, "ExplanationOfBenefit");
    assert_eq!(eobs.len(), member.eob_count());
    assert_eq!(ids(&eobs), member.eob_ids.iter().cloned().collect());
    // The organizations and practitioners the claims reference (the CapabilityStatement lists both types).
    for ty in ["Organization", "Practitioner"] {
        let lines = ndjson(&out, ty);
        assert!(!lines.is_empty(), "{ty}");
        assert_eq!(ids(&lines), served_reads(sim, ty), "{ty}");
        assert_eq!(lines.len(), ids(&lines).len(), "{ty}: no duplicates");
    }
}

fn token_values(path: &Path) -> Vec<String> {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let entries = file["entries"].as_object().unwrap();
    assert_eq!(entries.len(), 1, "one authorization");
    let tokens = &entries.values().next().unwrap()["tokens"];
    ["access_token", "refresh_token"]
        .iter()
        .map(|k| tokens[k].as_str().unwrap().to_owned())
        .collect()
}

fn assert_never_printed(output: &Output, secrets: &[String]) {
    let all = output.all();
    for secret in secrets {
        assert!(!all.contains(secret.as_str()), "printed a secret:\n{all}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_exports_everything_then_refreshes_instead_of_asking_the_member_again() {
    let setup = Setup::new("connect").await;
    let sim = &setup.sim;

    // First run: no tokens yet, so connect prints the authorize URL alone on a line and waits.
    let mut first = setup.start();
    let authorize = Url::parse(&first.line_starting_with("AUTHORIZE_URL=").await).unwrap();
    assert_eq!(authorize.origin(), sim.base_url().origin());
    // The member signs in (headless); the payer redirects their browser to connect's loopback listener.
    let callback = sim.login(&authorize).await.unwrap();
    assert!(
        callback.as_str().starts_with(setup.redirect.as_str()),
        "{callback}"
    );
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let page = reqwest::get(callback.clone()).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()["referrer-policy"],
        "no-referrer",
        "the page's URL holds the code"
    );
    assert!(page.text().await.unwrap().contains("is connected"));
    let first = first.finish().await;
    first.assert_success();
    assert_eq!(sim.counts().token_code_exchanges, 1);
    assert_export(&setup);
    // Health data: the folder 0700, every file 0600.
    #[cfg(unix)]
    assert_private(&setup.out());

    // The tokens are in a file only the user can read.
    let tokens_path = setup.tokens();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&tokens_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "token file mode {mode:o}");
        let dir_mode = std::fs::metadata(tokens_path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o077, 0, "token folder mode {dir_mode:o}");
    }
    let first_tokens = token_values(&tokens_path);

    // The bearer token went to the FHIR server only: metadata (public) was read without it, every FHIR read with it.
    let requests = sim.requests();
    let fhir_path = sim.fhir_base().path();
    for r in requests.iter().filter(|r| r.path.starts_with(fhir_path)) {
        let expected = if r.path.ends_with("/metadata") || r.path.contains("/.well-known/") {
            None
        } else {
            Some("Bearer")
        };
        assert_eq!(r.authorization_scheme.as_deref(), expected, "{r:?}");
    }

    // Second run: the payer has expired the access token; connect refreshes instead of asking the member.
    sim.expire_access_tokens();
    let before = sim.counts();
    let second = setup.start().finish().await;
    second.assert_success();
    assert!(
        !second.stdout.contains("AUTHORIZE_URL="),
        "{}",
        second.stdout
    );
    let after = sim.counts();
    assert_eq!(after.authorize, before.authorize, "no new authorization");
    assert_eq!(after.codes_issued, before.codes_issued);
    assert_eq!(
        after.token_refreshes,
        before.token_refreshes + 1,
        "one refresh_token grant"
    );
    assert!(second.stderr.contains("refreshed"), "{}", second.stderr);
    assert_export(&setup);
    let second_tokens = token_values(&tokens_path);
    assert_ne!(first_tokens, second_tokens, "the rotated tokens were saved");

    // Nothing secret ever reached the terminal.
    let mut secrets = vec![SECRET.to_owned(), code];
    secrets.extend(first_tokens);
    secrets.extend(second_tokens);
    assert_never_printed(&first, &secrets);
    assert_never_printed(&second, &secrets);

    // --disconnect: revoked at the payer (RFC 7009) and forgotten here; the next run would ask the member again.
    let revocations = sim.counts().revocations;
    let third = setup.start_with(&["--disconnect"]).finish().await;
    third.assert_success();
    assert!(third.stdout.contains("Revoked at"), "{}", third.stdout);
    assert!(sim.counts().revocations > revocations);
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&tokens_path).unwrap()).unwrap();
    assert_eq!(file["entries"], serde_json::json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_redirect_uri_it_cannot_listen_on_connect_takes_the_pasted_callback() {
    // An https redirect URI, as most payers require in production: connect cannot receive it, the user pastes it.
    let redirect = Url::parse("https://app.example/patient-access/callback").unwrap();
    let setup = Setup {
        sim: simulator(&redirect).await,
        redirect,
        dir: TempDir::new("connect-paste"),
    };
    let args = setup.args(&[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut run = Running::start_interactive("connect", &args, &[(SECRET_ENV, SECRET)]);
    let authorize = Url::parse(&run.line_starting_with("AUTHORIZE_URL=").await).unwrap();
    // The member's browser ends up on the app's https page; they copy the address bar into the terminal.
    let callback = setup.sim.login(&authorize).await.unwrap();
    assert_eq!(callback.host_str(), Some("app.example"));
    run.type_line(callback.as_str());
    let output = run.finish().await;
    output.assert_success();
    assert!(output.stderr.contains("paste it here"), "{}", output.stderr);
    assert_eq!(setup.sim.counts().token_code_exchanges, 1);
    assert_export(&setup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_callbacks_get_a_400_and_connect_keeps_waiting_for_the_real_one() {
    let setup = Setup::new("connect-forged").await;
    let mut run = setup.start();
    let authorize = Url::parse(&run.line_starting_with("AUTHORIZE_URL=").await).unwrap();
    // Another site sends the browser to the callback with its own code and a state it made up, or with an
    // `error=` and no state at all (RFC 6749 §4.1.2.1: a real error response carries the state).
    for query in [
        "code=attacker-code&state=not-the-state",
        "error=access_denied&error_description=forged",
        "code=attacker-code",
    ] {
        let mut forged = setup.redirect.clone();
        forged.set_query(Some(query));
        let page = reqwest::get(forged).await.unwrap();
        assert_eq!(page.status(), 400, "{query}");
        assert!(
            page.text().await.unwrap().contains("does not belong"),
            "{query}"
        );
        assert_eq!(
            setup.sim.counts().token_code_exchanges,
            0,
            "the forged code was never sent"
        );
        assert!(!setup.tokens().exists(), "nothing saved after {query}");
    }
    // connect is still listening: the member's real sign-in completes the run.
    let callback = setup.sim.login(&authorize).await.unwrap();
    let page = reqwest::get(callback).await.unwrap();
    assert_eq!(page.status(), 200);
    let output = run.finish().await;
    output.assert_success();
    assert_eq!(
        output
            .stderr
            .matches("does not belong to this sign-in")
            .count(),
        3,
        "{}",
        output.stderr
    );
    assert_eq!(setup.sim.counts().token_code_exchanges, 1);
    assert_export(&setup);
}

/// The modes of the export folder and of every file in it.
#[cfg(unix)]
fn assert_private(out: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(out), 0o700, "export folder mode");
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

/// A FHIR server (wiremock) for `--fhir-base`, for the member `pat-1`: `metadata`, the patient, one Coverage
/// page and two ExplanationOfBenefit pages, each from the `coverage` and `eobs` ids given. `eob_page_2` answers
/// the second EOB page.
async fn mount_fhir(
    server: &wiremock::MockServer,
    coverage: &[&str],
    eobs: (&[&str], &[&str]),
    eob_page_2: wiremock::ResponseTemplate,
) {
    use wiremock::matchers::{method, path, query_param, query_param_is_missing};
    use wiremock::{Mock, ResponseTemplate};
    server.reset().await;
    let fhir = |body: Value| {
        ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/fhir+json")
    };
    let bundle = |ty: &str, ids: &[&str], next: Option<String>| {
        let entries: Vec<Value> = ids
            .iter()
            .map(|id| serde_json::json!({"resource": {"resourceType": ty, "id": id}, "search": {"mode": "match"}}))
            .collect();
        let mut b =
            serde_json::json!({"resourceType": "Bundle", "type": "searchset", "entry": entries});
        if let Some(next) = next {
            b["link"] = serde_json::json!([{"relation": "next", "url": next}]);
        }
        b
    };
    let types: Vec<Value> = ["Patient", "Coverage", "ExplanationOfBenefit"]
        .iter()
        .map(|t| serde_json::json!({"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}]}))
        .collect();
    Mock::given(method("GET"))
        .and(path("/fhir/metadata"))
        .respond_with(fhir(serde_json::json!({
            "resourceType": "CapabilityStatement", "rest": [{"mode": "server", "resource": types}]
        })))
        .mount(server)
        .await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(fhir(
            serde_json::json!({"resourceType": "Patient", "id": "pat-1"}),
        ))
        .mount(server)
        .await;
    Mock::given(path("/fhir/Coverage"))
        .respond_with(fhir(bundle("Coverage", coverage, None)))
        .mount(server)
        .await;
    let page_2 = format!(
        "{}/fhir/ExplanationOfBenefit?patient=pat-1&page=2",
        server.uri()
    );
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param_is_missing("page"))
        .respond_with(fhir(bundle("ExplanationOfBenefit", eobs.0, Some(page_2))))
        .mount(server)
        .await;
    Mock::given(path("/fhir/ExplanationOfBenefit"))
        .and(query_param("page", "2"))
        .respond_with(eob_page_2)
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_that_fails_part_way_keeps_its_previous_file_and_the_run_exits_partial() {
    let server = wiremock::MockServer::start().await;
    let dir = TempDir::new("connect-partial");
    let (out, tokens) = (dir.path().join("export"), dir.path().join("tokens.json"));
    let base = format!("{}/fhir", server.uri());
    // Saved, unexpired tokens: no sign-in, the runs go straight to the export.
    let set = smart_core::TokenSet::bearer(
        smart_core::SecretString::from("partial-test-access-token"),
        Some(std::time::Duration::from_secs(3600)),
    )
    .with_patient("pat-1");
    let key = format!("standard {base} {CLIENT_ID}");
    let file = serde_json::json!({"entries": {key: {"version": 1, "tokens": set}}});
    std::fs::write(&tokens, file.to_string()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o600)).unwrap();
        // An export folder from an older connect, readable by everyone.
        std::fs::create_dir(&out).unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let args = [
        "--fhir-base",
        &base,
        "--client-id",
        CLIENT_ID,
        "--out",
        out.to_str().unwrap(),
        "--tokens",
        tokens.to_str().unwrap(),
        "--no-browser",
    ];
    let page = |ty: &str, ids: &[&str]| {
        let entries: Vec<Value> = ids
            .iter()
            .map(|id| serde_json::json!({"resource": {"resourceType": ty, "id": id}}))
            .collect();
        wiremock::ResponseTemplate::new(200).set_body_raw(
            serde_json::json!({"resourceType": "Bundle", "type": "searchset", "entry": entries})
                .to_string(),
            "application/fhir+json",
        )
    };

    // First run: everything reads; a complete export, private.
    mount_fhir(
        &server,
        &["cov-1"],
        (&["eob-1"], &["eob-2"]),
        page("ExplanationOfBenefit", &["eob-2"]),
    )
    .await;
    let first = examples_support::run("connect", &args, &[("RUST_LOG", "trace")]).await;
    first.assert_success();
    assert!(
        first.stderr.contains("now 0700"),
        "says it tightened the folder: {}",
        first.stderr
    );
    assert_eq!(
        ids(&ndjson(&out, "ExplanationOfBenefit")),
        ["eob-1", "eob-2"].map(String::from).into()
    );
    #[cfg(unix)]
    assert_private(&out);
    let eobs_before = std::fs::read(out.join("ExplanationOfBenefit.ndjson")).unwrap();

    // Second run: the payer has a new Coverage and a new claim on page 1, then throttles page 2 past the retries.
    mount_fhir(
        &server,
        &["cov-1", "cov-2"],
        (&["eob-1", "eob-3"], &[]),
        wiremock::ResponseTemplate::new(503).insert_header("retry-after", "0"),
    )
    .await;
    let second = examples_support::run("connect", &args, &[("RUST_LOG", "trace")]).await;
    assert_eq!(
        second.status.code(),
        Some(3),
        "partial has its own exit code: {second:#?}"
    );
    assert!(
        second.stderr.contains("INCOMPLETE: ExplanationOfBenefit"),
        "{}",
        second.stderr
    );
    assert_eq!(
        std::fs::read(out.join("ExplanationOfBenefit.ndjson")).unwrap(),
        eobs_before,
        "the previous complete file, byte for byte"
    );
    // The types that did complete were updated, and nothing half-written was left behind.
    assert_eq!(
        ids(&ndjson(&out, "Coverage")),
        ["cov-1", "cov-2"].map(String::from).into()
    );
    let files: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "Coverage.ndjson",
            "ExplanationOfBenefit.ndjson",
            "Patient.ndjson"
        ]
        .map(String::from)
        .into()
    );
    #[cfg(unix)]
    assert_private(&out);
    for run in [&first, &second] {
        assert!(
            run.stderr.contains("TRACE") || run.stderr.contains("DEBUG"),
            "RUST_LOG=trace took effect"
        );
        assert!(!run.all().contains("partial-test-access-token"));
    }

    // Third run: the payer is back; the type completes and the run exits 0.
    mount_fhir(
        &server,
        &["cov-1", "cov-2"],
        (&["eob-1", "eob-3"], &["eob-2"]),
        page("ExplanationOfBenefit", &["eob-2"]),
    )
    .await;
    let third = examples_support::run("connect", &args, &[("RUST_LOG", "trace")]).await;
    third.assert_success();
    assert_eq!(
        ids(&ndjson(&out, "ExplanationOfBenefit")),
        ["eob-1", "eob-2", "eob-3"].map(String::from).into()
    );
}

#[tokio::test]
async fn a_wrong_payer_lists_the_choices_and_secrets_stay_off_the_command_line() {
    let output = examples_support::run("connect", &["--payer", "not-a-payer"], &[]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        output.stderr.contains("unknown payer \"not-a-payer\""),
        "{}",
        output.stderr
    );
    for env in payer_quirks::directory()
        .iter()
        .flat_map(|p| &p.environments)
    {
        assert!(output.stderr.contains(&env.id), "{} listed", env.id);
    }
    assert!(output.stderr.contains("--fhir-base"));

    let output = examples_support::run(
        "connect",
        &["--payer", "aetna-sandbox", "--client-secret", "s3cret"],
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stderr.contains(SECRET_ENV), "{}", output.stderr);
    assert!(!output.all().contains("s3cret"));

    let output = examples_support::run(
        "connect",
        &[
            "--fhir-base",
            "http://fhir.example.org/r4",
            "--client-id",
            "x",
        ],
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "plain http off loopback");
    assert!(output.stderr.contains("https"), "{}", output.stderr);
}
