//! C4BB semantics on the IG examples: profiles, validation with elements removed, money.
#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] fns

mod common;

use fhir_c4bb::profile::{EobKind, ProfileSource};
use fhir_c4bb::validate::{IssueKind, ValidationIssue};
use fhir_c4bb::{ExplanationOfBenefit, Resource};
use serde_json::{Value, json};

fn eob_from(value: &Value) -> ExplanationOfBenefit {
    fhir_c4bb::from_str(&value.to_string()).unwrap()
}

fn fixture_value(rel: &str) -> Value {
    serde_json::from_str(&common::fixture(rel)).unwrap()
}

fn expected_kind(profile_id: &str) -> (EobKind, bool) {
    let financial = !(profile_id.ends_with("-Basis") || profile_id.ends_with("-NonFinancial"));
    let kind = if profile_id.contains("Inpatient") {
        EobKind::InpatientInstitutional
    } else if profile_id.contains("Outpatient") {
        EobKind::OutpatientInstitutional
    } else if profile_id.contains("Professional") {
        EobKind::ProfessionalNonClinician
    } else if profile_id.contains("Pharmacy") {
        EobKind::Pharmacy
    } else if profile_id.contains("Oral") {
        EobKind::Oral
    } else {
        panic!("unexpected profile id {profile_id}")
    };
    (kind, financial)
}

fn eob_fixtures() -> Vec<(String, Value)> {
    common::fixture_paths()
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            name.starts_with("ExplanationOfBenefit__").then(|| {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
                (name, v)
            })
        })
        .collect()
}

#[test]
fn profile_is_read_from_meta_profile_in_every_ig_version() {
    let eobs = eob_fixtures();
    assert_eq!(eobs.len(), 47);
    for (name, v) in &eobs {
        let profile_id = name.split("__").nth(1).unwrap();
        let (kind, financial) = expected_kind(profile_id);
        let p = eob_from(v).profile();
        assert_eq!(
            (p.kind, p.financial, p.source),
            (kind, financial, ProfileSource::MetaProfile),
            "{name}"
        );
    }
}

#[test]
fn profile_falls_back_to_claim_type_when_missing_or_foreign() {
    for (name, mut v) in eob_fixtures() {
        let profile_id = name.split("__").nth(1).unwrap().to_owned();
        let (kind, _) = expected_kind(&profile_id);
        for replacement in [
            json!([]),
            json!(["http://payer.example/fhir/StructureDefinition/our-eob|3"]),
        ] {
            v["meta"]["profile"] = replacement;
            let eob = eob_from(&v);
            let p = eob.profile();
            assert_eq!(
                (p.kind, p.source),
                (kind, ProfileSource::ClaimType),
                "{name}"
            );
            assert_eq!(p.financial, eob.has_amounts(), "{name}");
        }
    }
}

fn issues_after(
    rel: &str,
    edit: impl FnOnce(&mut Value),
) -> (Vec<ValidationIssue>, Vec<ValidationIssue>) {
    let mut v = fixture_value(rel);
    let before = fhir_c4bb::from_str::<Resource>(&v.to_string())
        .unwrap()
        .validate();
    edit(&mut v);
    let after = fhir_c4bb::from_str::<Resource>(&v.to_string())
        .unwrap()
        .validate();
    (before, after)
}

fn assert_new_issue(rel: &str, path: &str, kind: IssueKind, edit: impl FnOnce(&mut Value)) {
    let (before, after) = issues_after(rel, edit);
    assert!(
        !before.iter().any(|i| i.path == path),
        "{rel}: {path} already reported before the edit"
    );
    assert!(
        after.iter().any(|i| i.path == path && i.kind == kind),
        "{rel}: expected {kind:?} at {path}, got {after:#?}"
    );
}

const INPATIENT: &str = "ig-2.0.0/ExplanationOfBenefit__C4BB-ExplanationOfBenefit-Inpatient-Institutional__EOBInpatient1.json";
const PROFESSIONAL: &str = "ig-2.0.0/ExplanationOfBenefit__C4BB-ExplanationOfBenefit-Professional-NonClinician__EOBProfessional2.json";
const PHARMACY: &str =
    "ig-2.0.0/ExplanationOfBenefit__C4BB-ExplanationOfBenefit-Pharmacy__EOBPharmacy1.json";
const ORAL_BASIS: &str = "ig-2.1.0/ExplanationOfBenefit__C4BB-ExplanationOfBenefit-Oral-Basis__BB-EOBOral1-nonfinancial.json";

#[test]
fn current_examples_have_no_errors() {
    for rel in [
        INPATIENT,
        PROFESSIONAL,
        PHARMACY,
        ORAL_BASIS,
        "ig-2.0.0/Patient__C4BB-Patient__Patient1.json",
        "ig-2.0.0/Coverage__C4BB-Coverage__Coverage1.json",
        "ig-2.1.0/Organization__C4BB-Organization__Payer1.json",
        "ig-2.1.0/Practitioner__C4BB-Practitioner__Practitioner1.json",
    ] {
        let r: Resource = fhir_c4bb::from_str(&common::fixture(rel)).unwrap();
        let errors: Vec<_> = r
            .validate()
            .into_iter()
            .filter(ValidationIssue::is_error)
            .collect();
        assert!(errors.is_empty(), "{rel}: {errors:#?}");
    }
}

#[test]
fn eob_required_elements_removed_are_reported_with_their_path() {
    let rm = |key: &'static str| move |v: &mut Value| drop(v.as_object_mut().unwrap().remove(key));
    assert_new_issue(
        INPATIENT,
        "created",
        IssueKind::MissingRequired,
        rm("created"),
    );
    assert_new_issue(
        INPATIENT,
        "patient",
        IssueKind::MissingRequired,
        rm("patient"),
    );
    assert_new_issue(
        INPATIENT,
        "identifier",
        IssueKind::MissingRequired,
        rm("identifier"),
    );
    assert_new_issue(
        INPATIENT,
        "subType",
        IssueKind::MissingRequired,
        rm("subType"),
    );
    assert_new_issue(INPATIENT, "total", IssueKind::MissingRequired, rm("total"));
    assert_new_issue(
        INPATIENT,
        "meta.lastUpdated",
        IssueKind::MissingRequired,
        |v| {
            v["meta"].as_object_mut().unwrap().remove("lastUpdated");
        },
    );
    assert_new_issue(
        INPATIENT,
        "billablePeriod.start",
        IssueKind::MissingRequired,
        |v| {
            v["billablePeriod"].as_object_mut().unwrap().remove("start");
        },
    );
    assert_new_issue(
        INPATIENT,
        "item[0].revenue",
        IssueKind::MissingRequired,
        |v| {
            v["item"][0].as_object_mut().unwrap().remove("revenue");
        },
    );
    assert_new_issue(
        INPATIENT,
        "insurance[0].coverage",
        IssueKind::MissingRequired,
        |v| {
            v["insurance"][0]
                .as_object_mut()
                .unwrap()
                .remove("coverage");
        },
    );
    assert_new_issue(
        INPATIENT,
        "supportingInfo:admissionperiod",
        IssueKind::MissingRequired,
        |v| {
            let infos = v["supportingInfo"].as_array_mut().unwrap();
            infos.retain(|s| s["category"]["coding"][0]["code"] != "admissionperiod");
        },
    );
    assert_new_issue(
        INPATIENT,
        "adjudication:benefitpaymentstatus",
        IssueKind::MissingRequired,
        |v| {
            let adj = v["adjudication"].as_array_mut().unwrap();
            adj.retain(|a| a["category"]["coding"][0]["code"] != "benefitpaymentstatus");
        },
    );
    assert_new_issue(
        PROFESSIONAL,
        "careTeam[0].role",
        IssueKind::MissingRequired,
        |v| {
            v["careTeam"][0].as_object_mut().unwrap().remove("role");
        },
    );
    assert_new_issue(
        PHARMACY,
        "supportingInfo:dayssupply",
        IssueKind::MissingRequired,
        |v| {
            let infos = v["supportingInfo"].as_array_mut().unwrap();
            infos.retain(|s| s["category"]["coding"][0]["code"] != "dayssupply");
        },
    );
    assert_new_issue(
        PHARMACY,
        "item[0].serviced[x]",
        IssueKind::MissingRequired,
        |v| {
            v["item"][0].as_object_mut().unwrap().remove("servicedDate");
        },
    );
    assert_new_issue(
        PROFESSIONAL,
        "careTeam",
        IssueKind::MissingMustSupport,
        rm("careTeam"),
    );
    assert_new_issue(
        PROFESSIONAL,
        "item[0].location[x]",
        IssueKind::MissingRequired,
        |v| {
            v["item"][0]
                .as_object_mut()
                .unwrap()
                .remove("locationCodeableConcept");
        },
    );
}

#[test]
fn eob_wrong_values_are_reported_and_do_not_block_parsing() {
    assert_new_issue(INPATIENT, "created", IssueKind::Invalid, |v| {
        v["created"] = json!("2019-02-30T00:00:00Z")
    });
    assert_new_issue(INPATIENT, "billablePeriod.start", IssueKind::Invalid, |v| {
        v["billablePeriod"]["start"] = json!("11/02/2019")
    });
    assert_new_issue(
        INPATIENT,
        "total[0].amount.value",
        IssueKind::Invalid,
        |v| v["total"][0]["amount"]["value"] = json!("620.00"),
    );
    assert_new_issue(ORAL_BASIS, "total", IssueKind::NotAllowed, |v| {
        v["total"] =
            json!([{"category": {"coding": [{"code": "submitted"}]}, "amount": {"value": 1}}]);
    });
    assert_new_issue(
        ORAL_BASIS,
        "item[0].adjudication[0].amount",
        IssueKind::NotAllowed,
        |v| {
            v["item"][0]["adjudication"][0]["amount"] = json!({"value": 1.00, "currency": "USD"});
        },
    );
}

#[test]
fn other_resources_report_missing_elements() {
    let patient = "ig-2.0.0/Patient__C4BB-Patient__Patient1.json";
    assert_new_issue(patient, "identifier", IssueKind::MissingRequired, |v| {
        v.as_object_mut().unwrap().remove("identifier");
    });
    assert_new_issue(patient, "birthDate", IssueKind::Invalid, |v| {
        v["birthDate"] = json!("1986-13-01")
    });
    assert_new_issue(patient, "meta.profile", IssueKind::MissingRequired, |v| {
        v["meta"].as_object_mut().unwrap().remove("profile");
    });
    let coverage = "ig-2.0.0/Coverage__C4BB-Coverage__Coverage1.json";
    assert_new_issue(coverage, "subscriberId", IssueKind::MissingRequired, |v| {
        v.as_object_mut().unwrap().remove("subscriberId");
    });
    assert_new_issue(coverage, "relationship", IssueKind::MissingRequired, |v| {
        v.as_object_mut().unwrap().remove("relationship");
    });
    let org = "ig-2.0.0/Organization__C4BB-Organization__Payer1.json";
    assert_new_issue(org, "name", IssueKind::MissingRequired, |v| {
        drop(v.as_object_mut().unwrap().remove("name"))
    });
    let prac = "ig-2.0.0/Practitioner__C4BB-Practitioner__Practitioner1.json";
    assert_new_issue(prac, "name", IssueKind::MissingRequired, |v| {
        drop(v.as_object_mut().unwrap().remove("name"))
    });
}

#[test]
fn bundle_validation_prefixes_entry_paths() {
    let mut eob = fixture_value(INPATIENT);
    eob.as_object_mut().unwrap().remove("created");
    let bundle = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": fixture_value("ig-2.0.0/Patient__C4BB-Patient__Patient1.json")},
        {"resource": eob},
        {"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "warning"}]}}]});
    let issues = fhir_c4bb::from_str::<Resource>(&bundle.to_string())
        .unwrap()
        .validate();
    let paths: Vec<&str> = issues
        .iter()
        .filter(|i| i.is_error())
        .map(|i| i.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "entry[1].resource.created",
            "entry[2].resource.issue[0].code"
        ]
    );
}

#[test]
fn money_totals_from_a_financial_example_are_exact() {
    let v = fixture_value(
        "ig-1.1.0/ExplanationOfBenefit__C4BB-ExplanationOfBenefit-Inpatient-Institutional__InpatientEOBExample1.json",
    );
    let eob = eob_from(&v);
    let t = eob.totals();
    let s = |m: Option<fhir_c4bb::Money>| m.map(|m| m.to_string());
    assert_eq!(s(t.submitted()), Some("7147.2 USD".into()));
    assert_eq!(s(t.allowed()), Some("1542.01 USD".into()));
    assert_eq!(s(t.copay()), Some("120.0 USD".into()));
    assert_eq!(s(t.deductible()), Some("0.0 USD".into()));
    assert_eq!(s(t.plan_paid()), Some("1393.57 USD".into()));
    assert_eq!(s(t.member_owes()), Some("0.0 USD".into()));
    assert_eq!(t.currency.as_deref(), Some("USD"));
}

#[test]
fn item_amounts_and_claims_table() {
    let eob = eob_from(&fixture_value(PHARMACY));
    let item = eob.item[0].amounts();
    let s = |m: Option<fhir_c4bb::Money>| m.map(|m| m.to_string());
    assert_eq!(s(item.submitted()), Some("1000 USD".into()));
    assert_eq!(s(item.discount()), Some("900 USD".into()));
    assert_eq!(s(item.member_liability()), Some("80 USD".into()));
    assert_eq!(s(item.plan_paid()), Some("20 USD".into()));
    // Claim level: total list only (paid to provider 620), never mixed with item amounts.
    let totals = eob.totals();
    assert_eq!(s(totals.plan_paid()), Some("620 USD".into()));
    assert_eq!(s(totals.member_owes()), Some("0 USD".into()));

    let row = eob.claim_row();
    assert_eq!(row.claim_type, "Pharmacy");
    assert_eq!(
        row.service_date.as_ref().map(|d| d.as_str()),
        Some("2019-07-02")
    );
    assert!(row.provider.is_some());

    let inpatient = eob_from(&fixture_value(INPATIENT));
    let table = fhir_c4bb::money::ClaimsTable::from_eobs([&eob, &inpatient]);
    assert_eq!(table.rows.len(), 2);
    assert_eq!(s(table.billed_total.clone()), Some("5300 USD".into()));
}

#[test]
fn items_sum_when_no_totals_exist_and_decimals_add_exactly() {
    let eob: ExplanationOfBenefit = fhir_c4bb::from_str(
        r#"{"resourceType":"ExplanationOfBenefit","item":[
          {"servicedDate":"2024-03-02","adjudication":[{"category":{"coding":[{"code":"submitted"}]},"amount":{"value":0.10,"currency":"USD"}},
                           {"category":{"coding":[{"code":"https://bluebutton.cms.gov/resources/variables/line_coinsrnc_amt"}]},"amount":{"value":0.05,"currency":"USD"}}]},
          {"servicedPeriod":{"start":"2024-03-01","end":"2024-03-04"},"adjudication":[{"category":{"coding":[{"code":"submitted"}]},"amount":{"value":0.20,"currency":"USD"}},
                           {"category":{"coding":[{"code":"submitted"}]},"amount":{"value":9.99,"currency":"EUR"}}]}]}"#,
    )
    .unwrap();
    let t = eob.totals();
    assert_eq!(t.submitted().unwrap().to_string(), "0.30 USD");
    assert_eq!(t.coinsurance().unwrap().to_string(), "0.05 USD");
    assert_eq!(t.member_owes().unwrap().to_string(), "0.05 USD");
    assert_eq!(t.skipped_other_currency, 1);
    let period = eob.service_period().unwrap();
    assert_eq!(period.start.unwrap().as_str(), "2024-03-01");
    assert_eq!(period.end.unwrap().as_str(), "2024-03-04");
}
