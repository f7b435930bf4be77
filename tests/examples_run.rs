//! The examples that need no network run as CI runs them, and print what the simulated payer serves: the
//! quickstart's member, one claims-table row per EOB and the exact totals; custom_payer's quirk pair.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod examples_support;
mod support;

use fhir_c4bb::Decimal;
use fhir_c4bb::money::ClaimsTable;
use payer_quirks::simulator::SimOptions;

/// The three numbers of a `Totals` line (billed, plan paid, member owes), as exact decimals.
fn totals(line: &str) -> Vec<Decimal> {
    line.split_whitespace()
        .filter_map(|w| w.parse::<Decimal>().ok())
        .collect()
}

#[tokio::test]
async fn quickstart_prints_the_member_every_claim_and_the_exact_totals() {
    // What the simulated Aetna serves, read through the SDK here, independently of the example.
    let sim = payer_quirks::aetna::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let (_, tokens) = support::connect(&sim, sim.adapter()).await;
    let served = support::sync(&support::fhir(sim.adapter(), tokens), None)
        .await
        .unwrap();
    let table = ClaimsTable::from_eobs(&served.eobs);
    let name = served.patient.display_name().unwrap();

    let output = examples_support::run("quickstart", &[], &[]).await;
    output.assert_success();
    let stdout = &output.stdout;

    assert!(
        stdout.contains(&format!("Name           {name}")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("FHIR id        {}", sim.member().patient_id)));
    assert!(stdout.contains(&format!("Coverage ({})", sim.member().coverage_count())));
    // Claims and prior authorizations apart: 30 claim rows, 5 prior authorizations.
    assert!(stdout.contains(&format!("Claims ({})", sim.member().claim_count())));
    assert_eq!(sim.member().claim_count(), 30);

    // The coverage table has column headers, one row per Coverage under them.
    let lines: Vec<&str> = stdout.lines().collect();
    let coverage_at = lines
        .iter()
        .position(|l| l.starts_with("Coverage ("))
        .unwrap();
    let columns: Vec<&str> = lines[coverage_at + 1].split_whitespace().collect();
    assert_eq!(
        columns,
        ["Status", "Plan", "Group", "Payer", "Period"],
        "{stdout}"
    );
    let rows = lines[coverage_at + 2..]
        .iter()
        .take_while(|l| !l.trim().is_empty())
        .count();
    assert_eq!(rows, sim.member().coverage_count(), "{stdout}");

    // "Next" points at what works without credentials first: the web app and a program to copy.
    let next = stdout.split("Next:").nth(1).expect("a Next section");
    assert!(next.contains("cargo run --example web_app"), "{next}");
    assert!(next.contains("README.md"), "{next}");
    assert!(next.contains("--simulate aetna-sandbox"), "{next}");

    // One row per claim served, between the header and the totals.
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.trim_start().starts_with("Service date"))
        .expect("a claims header");
    let totals_at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("Totals"))
        .expect("a totals line");
    assert_eq!(
        totals_at - header - 1,
        sim.member().claim_count(),
        "{stdout}"
    );
    for row in &lines[header + 1..totals_at] {
        let date = row.split_whitespace().next().unwrap();
        assert!(
            date == "-" || date.len() == 10,
            "a service date column: {row}"
        );
    }

    // The totals are the exact sums (no floating point on the way).
    let printed = totals(lines[totals_at]);
    let expected: Vec<Decimal> = [
        &table.billed_total,
        &table.plan_paid_total,
        &table.member_owes_total,
    ]
    .iter()
    .map(|m| m.as_ref().and_then(|m| m.value.clone()).unwrap())
    .collect();
    assert_eq!(printed, expected, "{}", lines[totals_at]);
    assert!(lines[totals_at].contains("(USD)"));

    // The walkthrough shows the authorize and callback URLs, but never a code or state value.
    for line in stdout
        .lines()
        .filter(|l| l.contains("code=") || l.contains("state="))
    {
        for part in line.split(['?', '&', ' ']) {
            if let Some((k, v)) = part.split_once('=')
                && (k.ends_with("code") || k.ends_with("state") || k.ends_with("code_challenge"))
            {
                assert_eq!(v, "[hidden]", "{line}");
            }
        }
    }
    assert!(stdout.contains("code_challenge_method=S256"));
    assert!(stdout.contains("skin=skin13"), "Aetna's quirk is visible");

    // Prior authorizations in their own section: one line each, with the number, service and status read
    // here from what the simulator serves.
    let pas_at = lines
        .iter()
        .position(|l| l.starts_with("Prior authorizations (5)"))
        .expect("a prior authorizations section");
    let rows: Vec<&str> = lines[pas_at + 2..]
        .iter()
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.trim_start().starts_with("why:"))
        .copied()
        .collect();
    let served_pas: Vec<_> = served
        .eobs
        .iter()
        .filter_map(|e| e.prior_authorization())
        .collect();
    assert_eq!(rows.len(), served_pas.len(), "{stdout}");
    assert_eq!(rows.len(), sim.member().prior_auth_count());
    for (row, pa) in rows.iter().zip(&served_pas) {
        assert!(row.contains(pa.authorization_number().unwrap()), "{row}");
        assert!(row.contains(pa.status().label()), "{row}");
        assert!(
            row.contains(pa.requested().and_then(|d| d.date()).unwrap()),
            "{row}"
        );
    }
    assert!(
        stdout.contains("why: Not medically necessary"),
        "the denial reason is shown"
    );
    // None of them is a claim row.
    for row in &lines[header + 1..totals_at] {
        assert!(!row.contains("AUTH-2026"), "{row}");
    }
}

#[tokio::test]
async fn custom_payer_shows_the_quirk_pair() {
    let sim = payer_quirks::elevance::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let output = examples_support::run("custom_payer", &[], &[]).await;
    output.assert_success();
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", output.stdout);
    // The quirk-blind adapter is refused at the first FHIR read...
    assert!(
        lines[0].starts_with("standard: failed:") && lines[0].contains("HTTP 406"),
        "{}",
        lines[0]
    );
    // ...the downstream adapter reads every claim the simulator serves.
    assert_eq!(
        lines[1],
        format!("Acme Health: {} claims read", sim.member().claim_count())
    );
}

/// Started from any folder, the web app keeps its database there (not in the SDK's `target/`), unless
/// `PATIENT_ACCESS_DB` says where; and its log, read through a pipe, carries no terminal colour codes.
#[tokio::test]
async fn the_web_app_keeps_its_database_where_it_is_started_and_logs_plain_text_to_a_pipe() {
    let dir = examples_support::TempDir::new("web-app-cwd");
    let env = [("PATIENT_ACCESS_ADDR", "127.0.0.1:0"), ("RUST_LOG", "info")];
    let mut app = examples_support::Running::start_in("web_app", &[], &env, dir.path());
    let kept_in = app
        .line_starting_with("Tokens and sessions are kept in ")
        .await;
    let output = app.stop();
    let expected = dir.path().join("patient-access-web-app.sqlite3");
    assert_eq!(
        kept_in.trim_end_matches('.'),
        expected.to_str().unwrap(),
        "{output:#?}"
    );
    assert!(expected.is_file(), "{output:#?}");
    assert!(
        output.stdout.contains("web app listening"),
        "a log line: {output:#?}"
    );
    assert!(
        !output.all().contains('\u{1b}'),
        "ANSI escape codes in a pipe: {output:#?}"
    );

    let elsewhere = dir.path().join("data").join("app.sqlite3");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    let env = [
        ("PATIENT_ACCESS_ADDR", "127.0.0.1:0"),
        ("PATIENT_ACCESS_DB", elsewhere.to_str().unwrap()),
    ];
    let mut app = examples_support::Running::start_in("web_app", &[], &env, dir.path());
    let kept_in = app
        .line_starting_with("Tokens and sessions are kept in ")
        .await;
    app.stop();
    assert_eq!(kept_in.trim_end_matches('.'), elsewhere.to_str().unwrap());
    assert!(elsewhere.is_file());
}

/// The quickstart's clinical summary counts exactly what the simulated Aetna serves of each kind, shows a lab
/// with its unit and the blood pressure's two parts, and names the type Aetna does not list.
#[tokio::test]
async fn quickstart_prints_a_clinical_summary_with_units() {
    let sim = payer_quirks::aetna::simulator::start(SimOptions::default())
        .await
        .unwrap();
    let clinical = &sim.member().clinical;
    let output = examples_support::run("quickstart", &[], &[]).await;
    output.assert_success();
    let stdout = &output.stdout;
    let record = stdout
        .split("Health record")
        .nth(1)
        .expect("a Health record section");
    for (title, ty) in [
        ("Conditions", "Condition"),
        ("Medications", "MedicationRequest"),
        ("Immunizations", "Immunization"),
    ] {
        let n = clinical.get(ty).map_or(0, Vec::len);
        assert!(n > 0, "{ty} served");
        assert!(record.contains(&format!("{title} ({n})")), "{record}");
    }
    assert!(
        record.contains("Hemoglobin") && record.contains("g/dL"),
        "{record}"
    );
    assert!(record.contains("mmHg / "), "systolic / diastolic: {record}");
    // A medication given by reference (Medication/uscore-med2) is named by the reference.
    assert!(
        record.contains("Nizatidine 15 MG/ML Oral Solution [Axid]"),
        "{record}"
    );
    assert!(!payer_quirks::aetna::RESOURCES.contains(&"AllergyIntolerance"));
    assert!(
        record.contains("Not served by this payer: AllergyIntolerance"),
        "{record}"
    );
}
