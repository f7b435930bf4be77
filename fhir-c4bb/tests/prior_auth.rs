//! Prior authorizations (Da Vinci PDex) on the guide's example and variations of it.
#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] fns

mod common;

use fhir_c4bb::money::ClaimsTable;
use fhir_c4bb::prior_auth::PriorAuthStatus;
use fhir_c4bb::validate::IssueKind;
use fhir_c4bb::{Bundle, ExplanationOfBenefit, Resource};
use serde_json::{Value, json};

const PDEX_EXAMPLE: &str = "pdex-2.2.0/ExplanationOfBenefit-PDexPriorAuth1.json";
const CLAIM: &str =
    "ig-2.0.0/ExplanationOfBenefit__C4BB-ExplanationOfBenefit-Pharmacy__EOBPharmacy1.json";

fn example() -> Value {
    serde_json::from_str(&common::fixture(PDEX_EXAMPLE)).unwrap()
}

fn eob(v: &Value) -> ExplanationOfBenefit {
    fhir_c4bb::from_str(&v.to_string()).unwrap()
}

fn set_item_code(v: &mut Value, item: usize, code: &str) {
    v["item"][item]["adjudication"][0]["extension"][0]["extension"][1]["valueCodeableConcept"]["coding"]
        [0]["code"] = json!(code);
}

#[test]
fn the_pdex_example_reads_as_an_approved_prior_authorization() {
    let e = eob(&example());
    let pa = e.prior_authorization().expect("use = preauthorization");
    assert!(pa.claims_pdex_profile());
    assert_eq!(pa.status(), PriorAuthStatus::Approved);
    // No header review action and no preAuthRef: the item's review number.
    assert_eq!(pa.authorization_number(), Some("AUTH0001"));
    let period = pa.authorized_period().unwrap();
    assert_eq!(
        period.start.as_ref().map(|d| d.as_str()),
        Some("2021-10-01")
    );
    assert_eq!(period.end.as_ref().map(|d| d.as_str()), Some("2021-10-31"));
    assert_eq!(
        pa.decision_date().map(|d| d.as_str()),
        Some("2024-07-23T17:26:23.217+00:00")
    );
    assert_eq!(
        pa.level_of_service().and_then(|l| l.display()),
        Some("Urgent")
    );
    assert_eq!(
        pa.last_updated().map(|d| d.as_str()),
        Some("2024-02-06T09:14:11+00:00")
    );
    let items: Vec<_> = pa.items().collect();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].decision(), Some(PriorAuthStatus::Approved));
    assert_eq!(
        items[0]
            .service()
            .and_then(|s| s.coding.first()?.code.as_deref()),
        Some("BB201")
    );
    assert_eq!(
        items[0].service_type().and_then(|s| s.display()),
        Some("Consultation")
    );
    assert_eq!(items[0].submitted().unwrap().to_string(), "300.99 USD");
    assert_eq!(items[0].eligible(), None);
    let totals: Vec<_> = pa.totals().collect();
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].category(), Some("eligible"));
    assert_eq!(totals[0].amount().unwrap().to_string(), "100 USD");
    assert_eq!(
        totals[0]
            .utilization()
            .and_then(|q| q.value.as_ref())
            .map(|d| d.to_string()),
        Some("1".to_owned())
    );
    assert_eq!(pa.reasons().count(), 0);
}

#[test]
fn the_total_categories_are_the_pdex_code_systems() {
    // The example's total category comes from the copied CodeSystem: keep them in step.
    let cs: Value = serde_json::from_str(&common::fixture(
        "pdex-2.2.0/definitions/CodeSystem-PriorAuthorizationValueCodes.json",
    ))
    .unwrap();
    let codes: Vec<&str> = cs["concept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["submitted", "eligible", "utilized"]);
    let e = eob(&example());
    let pa = e.prior_authorization().unwrap();
    for t in pa.totals() {
        assert!(codes.contains(&t.category().unwrap()));
    }
}

#[test]
fn detection_is_by_use_whatever_the_profile_says() {
    let mut v = example();
    v["meta"]["profile"] = json!([]);
    assert!(eob(&v).prior_authorization().is_some());
    v["use"] = json!("PreAuthorization");
    assert!(eob(&v).prior_authorization().is_some());
    let mut v = example();
    v["use"] = json!("claim");
    assert!(eob(&v).prior_authorization().is_none());
    let claim: ExplanationOfBenefit = fhir_c4bb::from_str(&common::fixture(CLAIM)).unwrap();
    assert!(claim.prior_authorization().is_none());
}

#[test]
fn each_x12_decision_gives_its_status() {
    for (code, status) in [
        ("A1", PriorAuthStatus::Approved),
        ("A2", PriorAuthStatus::PartiallyApproved),
        ("A3", PriorAuthStatus::Denied),
        ("A4", PriorAuthStatus::Pending),
        ("A6", PriorAuthStatus::Modified),
        ("C", PriorAuthStatus::Cancelled),
        ("CT", PriorAuthStatus::Other("CT".to_owned())),
    ] {
        let mut v = example();
        set_item_code(&mut v, 0, code);
        assert_eq!(
            eob(&v).prior_authorization().unwrap().status(),
            status,
            "{code}"
        );
    }
}

#[test]
fn no_decision_is_pending_not_an_error() {
    let mut v = example();
    v["item"][0]["adjudication"][0]["extension"] = json!([]);
    let e = eob(&v);
    let pa = e.prior_authorization().unwrap();
    assert_eq!(pa.status(), PriorAuthStatus::Pending);
    assert_eq!(pa.decision_date(), None);
    // The EOB identifier is the number of last resort.
    assert_eq!(
        pa.authorization_number(),
        Some("PA123412341234123412341234")
    );
    let errors: Vec<_> = e.validate().into_iter().filter(|i| i.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    v["outcome"] = json!("error");
    assert_eq!(
        eob(&v).prior_authorization().unwrap().status(),
        PriorAuthStatus::Other("error".to_owned())
    );
}

#[test]
fn header_decision_and_cancelled_status_win_over_items() {
    let mut v = example();
    v["adjudication"] = json!([{
        "category": {"coding": [{"code": "submitted"}]},
        "extension": [{"url": "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewAction",
            "extension": [
                {"url": "number", "valueString": "HDR-9"},
                {"url": "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewActionCode",
                 "valueCodeableConcept": {"coding": [{"system": "https://codesystem.x12.org/005010/306", "code": "A3"}]}},
                {"url": "reasonCode", "valueCodeableConcept": {"text": "Out of network"}}]}]
    }]);
    let e = eob(&v);
    let pa = e.prior_authorization().unwrap();
    assert_eq!(pa.status(), PriorAuthStatus::Denied);
    assert_eq!(pa.authorization_number(), Some("HDR-9"));
    assert_eq!(
        pa.reasons().filter_map(|r| r.display()).collect::<Vec<_>>(),
        ["Out of network"]
    );
    v["status"] = json!("cancelled");
    assert_eq!(
        eob(&v).prior_authorization().unwrap().status(),
        PriorAuthStatus::Cancelled
    );
}

#[test]
fn items_with_different_decisions_combine() {
    let mut v = example();
    let second = v["item"][0].clone();
    v["item"].as_array_mut().unwrap().push(second);
    v["item"][1]["sequence"] = json!(2);
    set_item_code(&mut v, 1, "A3");
    v["item"][1]["adjudication"].as_array_mut().unwrap().push(json!({
        "category": {"coding": [{"system": "http://hl7.org/fhir/us/davinci-pdex/CodeSystem/PDexAdjudicationDiscriminator", "code": "denialreason"}]},
        "reason": {"coding": [{"code": "N386"}], "text": "Not covered by policy"}
    }));
    v["item"][1]["adjudication"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "category": {"coding": [{"code": "allowedunits"}]}, "value": 0
        }));
    let e = eob(&v);
    let pa = e.prior_authorization().unwrap();
    assert_eq!(pa.status(), PriorAuthStatus::PartiallyApproved);
    let denied = pa.items().nth(1).unwrap();
    assert_eq!(denied.decision(), Some(PriorAuthStatus::Denied));
    assert_eq!(denied.reasons().len(), 1);
    assert_eq!(
        denied.allowed_units().map(|d| d.to_string()),
        Some("0".to_owned())
    );
    set_item_code(&mut v, 1, "A4");
    assert_eq!(
        eob(&v).prior_authorization().unwrap().status(),
        PriorAuthStatus::Pending
    );
}

#[test]
fn a_prior_authorization_round_trips_and_validates_against_pdex_not_c4bb() {
    let text = common::fixture(PDEX_EXAMPLE);
    let r: Resource = fhir_c4bb::from_str(&text).unwrap();
    assert_eq!(
        common::first_difference(&text, &serde_json::to_string(&r).unwrap()),
        None
    );
    // The guide's own example conforms (no C4BB identifier/careTeam.role/payment rules).
    let errors: Vec<_> = r.validate().into_iter().filter(|i| i.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let mut v = example();
    v["item"][0]["adjudication"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "category": {"coding": [{"code": "denialreason"}]}
        }));
    v["preAuthRefPeriod"]
        .as_array_mut()
        .unwrap()
        .push(json!({"start": "2022-01-01"}));
    v["meta"]["profile"] = json!([]);
    let issues = eob(&v).validate();
    let has = |path: &str, kind: IssueKind| issues.iter().any(|i| i.path == path && i.kind == kind);
    assert!(
        has("item[0].adjudication[1].reason", IssueKind::MissingRequired),
        "{issues:#?}"
    );
    assert!(has("preAuthRefPeriod", IssueKind::Invalid), "{issues:#?}");
    assert!(
        has("meta.profile", IssueKind::MissingMustSupport),
        "{issues:#?}"
    );
}

#[test]
fn a_claims_table_has_exactly_one_row_per_claim() {
    // 5 claims and 3 prior authorizations (the measured case of the issue): 5 rows.
    let claim: Value = serde_json::from_str(&common::fixture(CLAIM)).unwrap();
    let mut entries = Vec::new();
    for i in 0..5 {
        let mut c = claim.clone();
        c["id"] = json!(format!("claim-{i}"));
        entries.push(json!({"resource": c}));
    }
    for (i, code) in ["A1", "A3", "A4"].into_iter().enumerate() {
        let mut p = example();
        p["id"] = json!(format!("pa-{i}"));
        set_item_code(&mut p, 0, code);
        entries.push(json!({"resource": p}));
    }
    let bundle: Bundle = fhir_c4bb::from_str(
        &json!({"resourceType": "Bundle", "type": "searchset", "entry": entries}).to_string(),
    )
    .unwrap();
    assert_eq!(bundle.eobs().count(), 8);
    let table = ClaimsTable::from_eobs(bundle.eobs());
    assert_eq!(table.rows.len(), 5);
    assert!(
        table
            .rows
            .iter()
            .all(|r| r.id.as_deref().is_some_and(|id| id.starts_with("claim-")))
    );
    let claims_only = ClaimsTable::from_eobs(bundle.claims());
    assert_eq!(
        table, claims_only,
        "totals exclude prior authorizations too"
    );
    let statuses: Vec<_> = bundle.prior_authorizations().map(|p| p.status()).collect();
    assert_eq!(
        statuses,
        [
            PriorAuthStatus::Approved,
            PriorAuthStatus::Denied,
            PriorAuthStatus::Pending
        ]
    );
}
