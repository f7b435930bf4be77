//! `connect` end to end, as an unattended program would drive it: against a simulator through the `Standard`
//! adapter (`--fhir-base`), with the member's login done headless from the `AUTHORIZE_URL=` line and the callback
//! delivered to connect's own loopback listener. Then the NDJSON it wrote, the token file, a second run that
//! refreshes instead of asking the member, and what must never be printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod examples_support;
#[allow(dead_code)]
#[path = "../examples/connect/token_file.rs"]
mod token_file;

use std::collections::BTreeSet;
use std::path::Path;

use examples_support::{Output, Running, TempDir, free_port};
use payer_quirks::simulator::{SimOptions, Simulator};
use serde_json::Value;
use smart_core::store::encrypted::{EncryptedStore, KeyRing, SealKey};
use url::Url;

const CLIENT_ID: &str = "connect-test-app";
const SECRET: &str = "connect-test secret+/=&";
const SECRET_ENV: &str = "PATIENT_ACCESS_CLIENT_SECRET";

/// CMS Blue Button's simulator: its differences from the standard (PKCE required, long `state`, page size cap,
/// `startIndex` paging) are all ones a standards-following client handles, so the `Standard` adapter works.
/// Blue Button itself serves no prior authorizations (Medicare fee-for-service); here it serves the five, so the
/// export shows them counted apart from the claims.
async fn simulator(redirect: &Url) -> Simulator {
    simulator_with(SimOptions::default(), redirect).await
}

async fn simulator_with(opts: SimOptions, redirect: &Url) -> Simulator {
    let opts = opts
        .client(CLIENT_ID, SECRET, redirect.clone())
        .prior_authorizations(true);
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
    /// The simulator of [`simulator`], serving the five prior authorizations [`assert_export`] expects.
    async fn new(tag: &str) -> Self {
        Self::with(tag, SimOptions::default().prior_authorizations(true)).await
    }

    async fn with(tag: &str, opts: SimOptions) -> Self {
        let redirect = Url::parse(&format!(
            "http://127.0.0.1:{}/api/auth/smart/callback",
            free_port()
        ))
        .unwrap();
        Self {
            sim: simulator_with(opts, &redirect).await,
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
        self.args_to(&self.out(), extra)
    }

    /// [`args`](Self::args), exporting to `out`.
    fn args_to(&self, out: &Path, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "--fhir-base",
            self.sim.fhir_base().as_str(),
            "--client-id",
            CLIENT_ID,
            "--redirect-uri",
            self.redirect.as_str(),
            "--out",
            out.to_str().unwrap(),
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

    /// A run exporting to `out` (two runs at once must not share an export folder).
    /// Nobody signs in during these runs: a run that asks the member gives up after 10 s instead of 120.
    fn start_to(&self, out: &Path) -> Running {
        let mut args = self.args_to(out, &[]);
        if let Some(i) = args.iter().position(|a| a == "--timeout") {
            args[i + 1] = "10".to_owned();
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Running::start("connect", &args, &[(SECRET_ENV, SECRET)])
    }

    /// The first run: connect prints the authorize URL, the member signs in (headless), the callback reaches
    /// connect's listener, and the tokens are saved. Returns the run's output.
    async fn authorize_first(&self) -> Output {
        let mut first = self.start();
        let authorize = Url::parse(&first.line_starting_with("AUTHORIZE_URL=").await).unwrap();
        let callback = self.sim.login(&authorize).await.unwrap();
        assert_eq!(reqwest::get(callback).await.unwrap().status(), 200);
        let first = first.finish().await;
        first.assert_success();
        first
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
    // Exact: 30 claims and the 5 prior authorizations, all in the EOB file.
    assert_eq!((member.claim_count(), member.prior_auth_count()), (30, 5));
    let pas = eobs
        .iter()
        .filter(|e| e["use"] == "preauthorization")
        .count();
    assert_eq!(pas, member.prior_auth_count());
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
    // The summary counts prior authorizations apart from claims.
    assert!(
        first.stdout.contains(&format!(
            "ExplanationOfBenefit: {} claims, {} prior authorizations",
            sim.member().claim_count(),
            sim.member().prior_auth_count()
        )),
        "{}",
        first.stdout
    );
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

/// With a token key (here `token.key` beside the token file, as in the OS user's config folder) the file holds
/// only sealed envelopes; the next run opens them and refreshes, re-sealing the rotated tokens; a different key
/// cannot open them, and says so without printing anything secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_key_seals_the_token_file_and_a_wrong_key_cannot_open_it() {
    let setup = Setup::new("connect-sealed").await;
    let sim = &setup.sim;
    let tokens_path = setup.tokens();
    std::fs::create_dir_all(tokens_path.parent().unwrap()).unwrap();
    std::fs::write(
        tokens_path.with_file_name("token.key"),
        "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
    )
    .unwrap();
    let first = setup.authorize_first().await;
    assert!(
        first.stderr.contains("sealed with the token key"),
        "{}",
        first.stderr
    );
    let sealed = |path: &Path| -> String {
        let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let entries = file["entries"].as_object().unwrap();
        assert_eq!(entries.len(), 1);
        let tokens = &entries.values().next().unwrap()["tokens"];
        assert!(tokens.get("refresh_token").is_none(), "{tokens}");
        assert!(tokens.get("patient").is_none(), "{tokens}");
        let envelope = tokens["access_token"].as_str().unwrap().to_owned();
        assert!(envelope.starts_with("pa-sealed.v1.connect."), "{envelope}");
        envelope
    };
    let first_envelope = sealed(&tokens_path);

    sim.expire_access_tokens();
    let before = sim.counts();
    let second = setup.start().finish().await;
    second.assert_success();
    assert!(
        !second.stdout.contains("AUTHORIZE_URL="),
        "{}",
        second.stdout
    );
    assert_eq!(sim.counts().token_refreshes, before.token_refreshes + 1);
    let second_envelope = sealed(&tokens_path);
    assert_ne!(
        first_envelope, second_envelope,
        "the rotated tokens were sealed and saved"
    );

    // Another key: the run fails on the sealed row instead of asking the member or overwriting it.
    let other_key = setup.dir.path().join("other.key");
    std::fs::write(&other_key, "CAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAg=").unwrap();
    let third = setup
        .start_with(&["--token-key-file", other_key.to_str().unwrap()])
        .finish()
        .await;
    assert!(!third.status.success(), "{}", third.all());
    assert!(
        third.all().contains("failed authentication"),
        "{}",
        third.all()
    );
    assert!(
        !third.all().contains(&second_envelope[30..]),
        "{}",
        third.all()
    );
    assert_eq!(sealed(&tokens_path), second_envelope, "left as it was");
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
async fn a_wrong_payer_suggests_the_closest_ids_and_secrets_stay_off_the_command_line() {
    // A payer's key, a wrong case, a typo: the closest ids, not a list of all of them.
    for (typed, suggested, not_suggested) in [
        ("aetna", &["aetna-sandbox", "aetna-production"][..], "cigna"),
        ("Aetna-Sandbox", &["aetna-sandbox"][..], "aetna-production"),
        ("cigan-sandbox", &["cigna-sandbox"][..], "aetna"),
    ] {
        let output = examples_support::run("connect", &["--payer", typed], &[]).await;
        assert_eq!(output.status.code(), Some(2));
        assert!(
            output
                .stderr
                .contains(&format!("unknown payer {typed:?}. Did you mean")),
            "{}",
            output.stderr
        );
        for id in suggested {
            assert!(output.stderr.contains(id), "{typed}: {}", output.stderr);
        }
        assert!(
            !output.stderr.contains(not_suggested),
            "{typed}: {}",
            output.stderr
        );
        assert!(output.stderr.contains("--list-payers"));
    }
    let output = examples_support::run("connect", &["--payer", "not-a-payer"], &[]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(!output.stderr.contains("Did you mean"), "{}", output.stderr);
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

/// The issue's reproduction: two `connect` processes started together after the access token expired, against
/// a payer that rotates refresh tokens and revokes the grant when a spent one comes back (the token endpoint
/// is slowed down so that the two runs overlap for sure). The token file's lease lets one of them refresh; the
/// other waits for the saved tokens. One refresh reaches the payer, both exports succeed, nobody is asked to
/// sign in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_connect_runs_after_expiry_send_one_refresh_and_both_succeed() {
    let setup = Setup::with(
        "connect-race",
        SimOptions::default().token_latency(std::time::Duration::from_millis(400)),
    )
    .await;
    let sim = &setup.sim;
    setup.authorize_first().await;
    let first_tokens = token_values(&setup.tokens());

    sim.expire_access_tokens();
    let before = sim.counts();
    let (out_a, out_b) = (
        setup.dir.path().join("out-a"),
        setup.dir.path().join("out-b"),
    );
    let (run_a, run_b) = (setup.start_to(&out_a), setup.start_to(&out_b));
    let (a, b) = tokio::join!(run_a.finish(), run_b.finish());
    let after = sim.counts();
    // Every token request in this phase is a refresh: the ones granted, and the ones refused (a spent token).
    let refused = after.token_rejections - before.token_rejections;
    let refreshes = after.token_refreshes - before.token_refreshes + refused;
    let reauthorizations = [&a, &b]
        .iter()
        .filter(|o| o.stdout.contains("AUTHORIZE_URL=") || o.stderr.contains("asking the member"))
        .count();
    eprintln!(
        "refresh race (connect's token file, Blue Button simulator): 2 processes, {refreshes} refresh request(s) \
         at the payer ({refused} refused), {} new authorization(s) asked, exits {:?} and {:?}",
        reauthorizations,
        a.status.code(),
        b.status.code()
    );
    a.assert_success();
    b.assert_success();
    assert_eq!(refreshes, 1, "refresh_token grants that reached the payer");
    assert_eq!(refused, 0, "no spent refresh token was sent");
    assert_eq!(reauthorizations, 0);
    assert_eq!(after.authorize, before.authorize, "no new authorization");
    assert_eq!(after.codes_issued, before.codes_issued);
    for out in [&out_a, &out_b] {
        let patients = std::fs::read_to_string(out.join("Patient.ndjson")).unwrap();
        assert_eq!(patients.lines().count(), 1, "{}", out.display());
    }
    let second_tokens = token_values(&setup.tokens());
    assert_ne!(first_tokens, second_tokens, "the rotated tokens were saved");
    // No lease is left behind, and the lock file stays private.
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(setup.tokens()).unwrap()).unwrap();
    assert!(file.get("leases").is_none(), "{file}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let lock = setup.dir.path().join("config").join("tokens.json.lock");
        let mode = std::fs::metadata(&lock).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "lock file mode {mode:o}");
    }
}

/// connect's token file meets the whole `TokenStore` contract (the checks every store runs), plain and sealed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_file_meets_the_token_store_contract() {
    let dir = TempDir::new("token-file-conformance");
    let path = dir.path().join("nested").join("tokens.json");
    let store = token_file::TokenFile::new(&path);
    smart_core::store::conformance::check_all(&store)
        .await
        .unwrap();
    // And sealed, as connect runs it with a token key.
    let keys = KeyRing::new(SealKey::from_bytes("connect", &[7; 32]).unwrap());
    smart_core::store::conformance::check_all(&EncryptedStore::new(
        token_file::TokenFile::new(&path),
        keys,
    ))
    .await
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "token file mode {mode:o}");
    }
}

/// Two stores over one file (as two processes would open it): a lease claimed through one is held for the
/// other, and a file written before leases existed (no `leases` field) still loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_files_lease_is_shared_by_every_opener_and_old_files_load() {
    use smart_core::{LeaseClaim, TokenStore};
    let dir = TempDir::new("token-file-lease");
    let path = dir.path().join("tokens.json");
    std::fs::write(
        &path,
        r#"{"entries":{"k":{"version":3,"tokens":{"access_token":"at","token_type":"Bearer"}}}}"#,
    )
    .unwrap();
    let (a, b) = (
        token_file::TokenFile::new(&path),
        token_file::TokenFile::new(&path),
    );
    assert_eq!(a.load("k").await.unwrap().unwrap().version, 3);
    let ttl = std::time::Duration::from_secs(60);
    for round in 0..10 {
        let key = format!("k-{round}");
        let (ra, rb) = tokio::join!(
            a.try_claim_refresh(&key, "process-a", ttl),
            b.try_claim_refresh(&key, "process-b", ttl)
        );
        let claims = [ra.unwrap(), rb.unwrap()];
        assert_eq!(
            claims.iter().filter(|c| **c == LeaseClaim::Claimed).count(),
            1,
            "round {round}: {claims:?}"
        );
    }
    assert_eq!(
        b.load("k").await.unwrap().unwrap().version,
        3,
        "leases leave the tokens alone"
    );
}

#[tokio::test]
async fn an_other_scheme_is_unsupported_and_an_unreachable_base_is_named_once_with_a_hint() {
    let output = examples_support::run(
        "connect",
        &[
            "--fhir-base",
            "ftp://fhir.example.org/r4",
            "--client-id",
            "x",
        ],
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        output.stderr.contains("unsupported URL scheme `ftp:`"),
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains("insecure"), "{}", output.stderr);

    // Nobody listens there.
    let base = format!("http://127.0.0.1:{}/fhir", free_port());
    let dir = TempDir::new("connect-unreachable");
    let tokens = dir.path().join("tokens.json");
    let output = examples_support::run(
        "connect",
        &[
            "--fhir-base",
            &base,
            "--client-id",
            "x",
            "--no-browser",
            "--tokens",
            tokens.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{output:#?}");
    let error_line = output
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap();
    assert!(
        error_line.contains("could not connect"),
        "{}",
        output.stderr
    );
    let smart = format!("{base}/.well-known/smart-configuration");
    assert_eq!(
        output.stderr.matches(&smart).count(),
        1,
        "{}",
        output.stderr
    );
    assert!(error_line.len() < 200, "{error_line}");
    assert!(output.stderr.contains("hint: "), "{}", output.stderr);
    assert!(output.stderr.contains("FHIR base"), "{}", output.stderr);
}

#[tokio::test]
async fn list_payers_and_a_missing_client_id_say_how_to_get_credentials() {
    let output = examples_support::run("connect", &["--list-payers"], &[]).await;
    output.assert_success();
    for payer in payer_quirks::directory() {
        for env in &payer.environments {
            assert!(output.stdout.contains(&env.id), "{} listed", env.id);
        }
        assert!(
            output.stdout.contains(payer.registration.portal),
            "{}: {}",
            payer.key,
            output.stdout
        );
        assert!(output.stdout.contains(payer.registration.test_members));
    }

    let output = examples_support::run(
        "connect",
        &["--payer", "humana-sandbox"],
        &[("PATIENT_ACCESS_CLIENT_ID", "")],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stderr.contains("no client id"), "{}", output.stderr);
    assert!(
        output.stderr.contains("https://developers.humana.com"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("HUser00001"), "{}", output.stderr);
}

/// `--simulate <payer>`: the whole of connect against that payer's simulator, started inside connect, with no
/// credentials: the scripted member signs in, the callback reaches connect's listener, and the member's records
/// are exported. The token file lives only as long as the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_runs_the_whole_flow_against_an_in_process_simulator() {
    for (id, start) in [
        ("aetna-sandbox", "aetna"),
        // Cigna's login only works in the member's browser: the scripted member plays that browser.
        ("cigna-sandbox", "cigna"),
    ] {
        // The same synthetic member the simulator inside connect serves.
        let reference = match start {
            "aetna" => payer_quirks::aetna::simulator::start(SimOptions::default()).await,
            _ => payer_quirks::cigna::simulator::start(SimOptions::default()).await,
        }
        .unwrap();
        let member = reference.member();
        let dir = TempDir::new("connect-simulate");
        let out = dir.path().join("export");
        let output = examples_support::run(
            "connect",
            &["--simulate", id, "--out", out.to_str().unwrap()],
            // Whatever the developer's shell holds is not used.
            &[("PATIENT_ACCESS_CLIENT_ID", "not-this-one")],
        )
        .await;
        output.assert_success();
        assert!(
            output.stdout.contains("AUTHORIZE_URL=http://127.0.0.1:"),
            "{}",
            output.stdout
        );
        assert!(
            output
                .stderr
                .contains("signs in and approves by themselves"),
            "{}",
            output.stderr
        );
        let patient = ndjson(&out, "Patient");
        assert_eq!(patient.len(), 1, "{id}");
        assert_eq!(patient[0]["id"], member.patient_id.as_str(), "{id}");
        assert_eq!(
            ndjson(&out, "ExplanationOfBenefit").len(),
            member.eob_count(),
            "{id}"
        );
        assert_eq!(
            ndjson(&out, "Coverage").len(),
            member.coverage_count(),
            "{id}"
        );
        assert!(!output.all().contains("not-this-one"));
        assert_clinical_export(&out, member, id);
        // The tokens were for a simulator that is gone: their file went with it.
        let saved = output
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("Connected; tokens saved in "))
            .and_then(|rest| rest.split(" (").next())
            .unwrap();
        assert!(!Path::new(saved).exists(), "{saved} left behind");
    }
}

/// Every scalar of a JSON text with its path, as the exact bytes it was written with (`1.50` stays `1.50`),
/// whatever the member order; array items keep their index.
fn lexemes(raw: &str, path: &str, out: &mut Vec<(String, String)>) {
    use serde_json::value::RawValue;
    let text = raw.trim();
    if text.starts_with('{') {
        let map: std::collections::BTreeMap<String, Box<RawValue>> =
            serde_json::from_str(text).unwrap();
        for (k, v) in map {
            lexemes(v.get(), &format!("{path}.{k}"), out);
        }
    } else if text.starts_with('[') {
        let items: Vec<Box<RawValue>> = serde_json::from_str(text).unwrap();
        for (i, v) in items.iter().enumerate() {
            lexemes(v.get(), &format!("{path}[{i}]"), out);
        }
    } else {
        out.push((path.to_owned(), text.to_owned()));
    }
}

/// The clinical types the payer's module lists were exported, one file each with every record the simulator
/// serves, and each line holds the US Core example it came from value for value, lexeme for lexeme (the
/// member's id in place of `Patient/example`), on one line.
fn assert_clinical_export(out: &Path, member: &payer_quirks::simulator::Member, id: &str) {
    assert!(
        member.clinical.contains_key("Observation"),
        "{id} serves clinical records"
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("payer-quirks/fixtures/us-core");
    let mut originals = std::collections::HashMap::new();
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            let key = format!(
                "{}/{}",
                v["resourceType"].as_str().unwrap(),
                v["id"].as_str().unwrap()
            );
            originals.insert(key, text);
        }
    }
    let member_ref = format!("\"Patient/{}\"", member.patient_id);
    for (ty, served) in &member.clinical {
        let text = std::fs::read_to_string(out.join(format!("{ty}.ndjson"))).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut got_ids: Vec<String> = Vec::new();
        for line in &lines {
            let v: Value = serde_json::from_str(line).unwrap();
            let rid = v["id"].as_str().unwrap().to_owned();
            let original = &originals[&format!("{ty}/{rid}")];
            let mut want = Vec::new();
            lexemes(original, "", &mut want);
            for (_, lexeme) in &mut want {
                if lexeme == "\"Patient/example\"" {
                    lexeme.clone_from(&member_ref);
                }
            }
            let mut got = Vec::new();
            lexemes(line, "", &mut got);
            want.sort();
            got.sort();
            assert_eq!(got, want, "{id}: {ty}/{rid} is what the payer sent");
            got_ids.push(rid);
        }
        let mut want_ids = served.clone();
        want_ids.sort();
        got_ids.sort();
        assert_eq!(got_ids, want_ids, "{id}: {ty}");
    }
}

/// A clinical type the payer lists is searched by name for the member, and its lines keep what the payer sent
/// exactly: `1.50` and `1e2` as written (not `1.5` and `100.0`), a primitive extension, an unknown member, each
/// resource on one line although the page was pretty-printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clinical_lines_keep_the_payers_decimals_and_members_exactly_on_one_line() {
    use wiremock::matchers::{path, query_param};
    use wiremock::{Mock, ResponseTemplate};
    let server = wiremock::MockServer::start().await;
    let dir = TempDir::new("connect-exact");
    let (out, tokens) = (dir.path().join("export"), dir.path().join("tokens.json"));
    let base = format!("{}/fhir", server.uri());
    let set = smart_core::TokenSet::bearer(
        smart_core::SecretString::from("exact-test-access-token"),
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
    }
    let fhir = |body: &str| {
        ResponseTemplate::new(200).set_body_raw(body.to_owned(), "application/fhir+json")
    };
    let empty = r#"{"resourceType":"Bundle","type":"searchset"}"#;
    let metadata = r#"{"resourceType":"CapabilityStatement","rest":[{"mode":"server","resource":[
        {"type":"Patient","interaction":[{"code":"read"}]},
        {"type":"Observation","interaction":[{"code":"search-type"}]}]}]}"#;
    Mock::given(path("/fhir/metadata"))
        .respond_with(fhir(metadata))
        .mount(&server)
        .await;
    Mock::given(path("/fhir/Patient/pat-1"))
        .respond_with(fhir(r#"{"resourceType":"Patient","id":"pat-1"}"#))
        .mount(&server)
        .await;
    for ty in ["Coverage", "ExplanationOfBenefit"] {
        Mock::given(path(format!("/fhir/{ty}")))
            .respond_with(fhir(empty))
            .mount(&server)
            .await;
    }
    let observation = r#"{
      "resourceType" : "Observation",
      "id" : "lab-1",
      "status" : "final",
      "code" : { "text" : "Potassium" },
      "subject" : { "reference" : "Patient/pat-1" },
      "valueQuantity" : { "value" : 1.50, "unit" : "mmol/L" },
      "referenceRange" : [ { "high" : { "value" : 1e2 } } ],
      "_status" : { "extension" : [ { "url" : "http://example.org/x", "valueString" : "a b" } ] },
      "vendorNote" : "kept"
    }"#;
    let page = format!(
        "{{\n  \"resourceType\": \"Bundle\",\n  \"type\": \"searchset\",\n  \"entry\": [ {{ \"resource\": {observation} }} ]\n}}"
    );
    Mock::given(path("/fhir/Observation"))
        .and(query_param("patient", "pat-1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "application/fhir+json"))
        .expect(1)
        .mount(&server)
        .await;
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
    let run = examples_support::run("connect", &args, &[]).await;
    run.assert_success();
    let text = std::fs::read_to_string(out.join("Observation.ndjson")).unwrap();
    assert_eq!(text.lines().count(), 1, "one resource, one line: {text}");
    let line = text.lines().next().unwrap();
    let mut got = Vec::new();
    lexemes(line, "", &mut got);
    let mut want = Vec::new();
    lexemes(observation, "", &mut want);
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(
        line.contains("\"value\":1.50") && line.contains("\"value\":1e2"),
        "{line}"
    );
    assert!(
        line.contains("\"valueString\":\"a b\""),
        "spaces inside strings kept: {line}"
    );
}
