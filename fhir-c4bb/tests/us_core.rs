//! US Core on the official examples (6.1.0 and 9.0.0): every example of a type this crate
//! models parses typed, writes back exactly, and validates clean; off-spec input parses,
//! round-trips and `validate()` names the path.
#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] fns

mod common;

use std::path::{Path, PathBuf};

use fhir_c4bb::Resource;
use fhir_c4bb::validate::IssueKind;

/// The clinical types issue 12 asks for; each must be typed.
const CLINICAL: &[&str] = &[
    "AllergyIntolerance",
    "Condition",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "Immunization",
    "Device",
    "Observation",
    "Location",
    "Medication",
    "MedicationDispense",
    "MedicationRequest",
    "MedicationStatement",
    "PractitionerRole",
    "Procedure",
    "CarePlan",
    "CareTeam",
    "Goal",
    "Provenance",
    "RelatedPerson",
    "ServiceRequest",
    "Specimen",
    "Media",
    "FamilyMemberHistory",
    "QuestionnaireResponse",
    "Endpoint",
];

/// Types whose `validate()` checks another profile than US Core (C4BB), or the Bundle
/// around resources: not held to "reports nothing" on US Core examples.
const NOT_US_CORE_RULES: &[&str] = &[
    "Patient",
    "Coverage",
    "Organization",
    "Practitioner",
    "Bundle",
];

fn us_core_paths() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/us-core");
    let mut out = Vec::new();
    for v in ["ig-6.1.0", "ig-9.0.0"] {
        for f in std::fs::read_dir(root.join(v)).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn resource_type_of(text: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    v["resourceType"].as_str().unwrap_or("").to_owned()
}

#[test]
fn every_clinical_type_of_the_issue_is_in_the_registry() {
    for t in CLINICAL {
        assert!(Resource::is_typed(t), "{t} is not typed");
    }
}

#[test]
fn every_example_of_a_modelled_type_parses_typed_and_writes_back_exactly() {
    let paths = us_core_paths();
    assert_eq!(paths.len(), 183 + 230);
    let (mut typed, mut failures) = (0, Vec::new());
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap();
        let rt = resource_type_of(&text);
        let r: Resource = match fhir_c4bb::from_str(&text) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: parse: {e}", p.display()));
                continue;
            }
        };
        assert_eq!(r.resource_type(), rt);
        if Resource::is_typed(&rt) {
            assert!(
                !matches!(r, Resource::Other(_)),
                "{} should be typed",
                p.display()
            );
            typed += 1;
        }
        let out = serde_json::to_string(&r).unwrap();
        if let Some(d) = common::first_difference(&text, &out) {
            failures.push(format!("{}: {d}", p.display()));
        }
        // Canonical form is a fixed point: the bytes written are the bytes re-written.
        let again: Resource = fhir_c4bb::from_str(&out).unwrap();
        if serde_json::to_string(&again).unwrap() != out {
            failures.push(format!("{}: second write differs", p.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nearly all of the corpus is of a modelled type (Questionnaire, Library are not).
    assert!(typed >= 390, "only {typed} typed");
}

#[test]
fn clinical_examples_keep_nothing_in_extra_at_the_top() {
    // Typed means typed: the official examples use no top-level element the models
    // lack (a missing field would silently fall into `extra`).
    let mut failures = Vec::new();
    for p in us_core_paths() {
        let text = std::fs::read_to_string(&p).unwrap();
        let rt = resource_type_of(&text);
        if !CLINICAL.contains(&rt.as_str()) {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let r: Resource = fhir_c4bb::from_str(&text).unwrap();
        let keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        let extra = top_extra(&r);
        for k in extra {
            if keys.contains(&k) && !k.starts_with('_') {
                failures.push(format!("{}: `{k}` not modelled", p.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn top_extra(r: &Resource) -> Vec<String> {
    macro_rules! extra_keys {
        ($($variant:ident => $ty:ty, $as_fn:ident, $into_fn:ident, $doc:literal;)*) => {
            match r {
                $( Resource::$variant(x) => x.extra.iter().map(|(k, _)| k.to_owned()).collect(), )*
                _ => Vec::new(),
            }
        };
    }
    fhir_c4bb::with_resource_types!(extra_keys)
}

#[test]
fn official_examples_of_clinical_types_validate_clean() {
    let mut failures = Vec::new();
    for p in us_core_paths() {
        let text = std::fs::read_to_string(&p).unwrap();
        let r: Resource = fhir_c4bb::from_str(&text).unwrap();
        if !Resource::is_typed(r.resource_type()) || NOT_US_CORE_RULES.contains(&r.resource_type())
        {
            continue;
        }
        for issue in r.validate() {
            failures.push(format!("{}: {issue}", p.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Parses, checks the round trip, and returns the issues as `(path, kind)`.
fn issues_of(text: &str) -> Vec<(String, IssueKind)> {
    let r: Resource = fhir_c4bb::from_str(text).unwrap();
    assert!(!matches!(r, Resource::Other(_)));
    let out = serde_json::to_string(&r).unwrap();
    assert_eq!(common::first_difference(text, &out), None, "{out}");
    r.validate().into_iter().map(|i| (i.path, i.kind)).collect()
}

#[test]
fn a_missing_required_element_parses_and_is_named() {
    let issues = issues_of(
        r#"{"resourceType":"Observation","code":{"text":"Heart rate"},"subject":{"reference":"Patient/1"},"valueQuantity":{"value":60}}"#,
    );
    assert_eq!(issues, [("status".to_owned(), IssueKind::MissingRequired)]);
    let issues = issues_of(
        r#"{"resourceType":"Condition","category":[{"text":"Problem"}],"code":{"text":"Asthma"}}"#,
    );
    assert_eq!(issues, [("subject".to_owned(), IssueKind::MissingRequired)]);
}

#[test]
fn a_code_outside_its_value_set_parses_and_is_named() {
    let issues = issues_of(
        r#"{"resourceType":"Condition","category":[{"text":"Problem"}],"code":{"text":"Asthma"},"subject":{"reference":"Patient/1"},
           "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"better"}]}}"#,
    );
    assert_eq!(
        issues,
        [(
            "clinicalStatus.coding[0].code".to_owned(),
            IssueKind::Invalid
        )]
    );
    let c: fhir_c4bb::clinical::Condition = fhir_c4bb::from_str(
        r#"{"resourceType":"Condition","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"better"}]}}"#,
    )
    .unwrap();
    assert_eq!(
        c.clinical_status(),
        Some(fhir_c4bb::clinical::ClinicalStatus::Other("better".into()))
    );
    let issues = issues_of(
        r#"{"resourceType":"MedicationRequest","status":"taking","intent":"order","subject":{"reference":"Patient/1"},"medicationCodeableConcept":{"text":"x"}}"#,
    );
    assert_eq!(issues, [("status".to_owned(), IssueKind::Invalid)]);
}

#[test]
fn a_choice_with_two_keys_keeps_both_and_is_named() {
    let text = r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/1"},"valueQuantity":{"value":1.50,"unit":"mg"},"valueString":"1.5 mg","component":[{"code":{"text":"y"},"valueInteger":2,"valueBoolean":true}]}"#;
    let issues = issues_of(text);
    assert_eq!(
        issues,
        [
            ("valueString".to_owned(), IssueKind::ChoiceConflict),
            (
                "component[0].valueBoolean".to_owned(),
                IssueKind::ChoiceConflict
            ),
        ]
    );
    let o: fhir_c4bb::clinical::Observation = fhir_c4bb::from_str(text).unwrap();
    assert_eq!(
        o.value_text().as_deref(),
        Some("1.50 mg"),
        "the first value is the typed one"
    );
}

#[test]
fn a_value_of_the_wrong_json_shape_parses_and_is_named() {
    let issues = issues_of(
        r#"{"resourceType":"AllergyIntolerance","code":[{"text":"Peanut"}],"patient":{"reference":"Patient/1"}}"#,
    );
    assert_eq!(
        issues,
        [
            ("code".to_owned(), IssueKind::MissingRequired),
            ("code".to_owned(), IssueKind::WrongJsonType),
        ]
    );
}

#[test]
fn only_invalid_json_or_a_wrong_top_level_type_fails_with_a_path() {
    let err =
        fhir_c4bb::from_str::<fhir_c4bb::clinical::Condition>(r#"{"resourceType":"Observation"}"#)
            .unwrap_err();
    assert!(
        err.to_string().contains("resourceType is \"Observation\""),
        "{err}"
    );
    let err = fhir_c4bb::from_str::<Resource>(
        r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","code":{"text":}}}]}"#,
    )
    .unwrap_err();
    assert!(err.is_syntax());
    assert_eq!(err.path(), "entry[0].resource.code.text");
}

fn example(rel: &str) -> Resource {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/us-core")
        .join(rel);
    fhir_c4bb::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn vital_signs_read_with_their_units() {
    let bp = example("ig-6.1.0/blood-pressure.json")
        .into_observation()
        .unwrap();
    assert!(bp.is_vital_sign());
    assert!(!bp.is_laboratory());
    let parts: Vec<(Option<&str>, Option<String>)> = bp
        .component
        .iter()
        .map(|c| {
            (
                c.code.as_ref().and_then(|c| c.display_text()),
                c.value_text(),
            )
        })
        .collect();
    assert_eq!(
        parts,
        [
            (Some("Systolic blood pressure"), Some("109 mmHg".to_owned())),
            (Some("Diastolic blood pressure"), Some("44 mmHg".to_owned())),
        ]
    );
    let weight = example("ig-6.1.0/weight.json").into_observation().unwrap();
    let text = weight.value_text().unwrap();
    let q = weight.value.as_ref().and_then(|v| v.as_quantity()).unwrap();
    assert_eq!(
        text,
        format!(
            "{} {}",
            q.value.as_ref().unwrap(),
            q.unit.as_deref().unwrap()
        )
    );
}

#[test]
fn laboratory_results_and_clinical_statuses_are_recognised() {
    let mut labs = 0;
    for p in us_core_paths() {
        let r: Resource = fhir_c4bb::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        if let Some(o) = r.as_observation()
            && o.is_laboratory()
        {
            labs += 1;
            assert!(
                o.code.as_ref().and_then(|c| c.display_text()).is_some(),
                "{}",
                p.display()
            );
        }
        if let Some(c) = r.as_condition() {
            assert!(
                !matches!(
                    c.clinical_status(),
                    Some(fhir_c4bb::clinical::ClinicalStatus::Other(_))
                ),
                "{}",
                p.display()
            );
        }
    }
    assert!(labs >= 20, "{labs} laboratory observations");
}

#[test]
fn references_resolve_within_a_bundle_and_to_contained_resources() {
    let b = example("ig-6.1.0/PractitionerRole_Practitioner_Endpoint_Bundle_Example.json")
        .into_bundle()
        .unwrap();
    let role = b
        .entries()
        .find_map(Resource::as_practitioner_role)
        .unwrap();
    let who = b.resolve(role.practitioner.as_ref().unwrap()).unwrap();
    assert_eq!(who.resource_type(), "Practitioner");
    assert_eq!(who.id(), Some("Practitioner-1011"));
    assert!(
        b.resolve(&fhir_c4bb::Reference::to("Practitioner/someone-else"))
            .is_none()
    );

    let mr = example("ig-6.1.0/medicationrequest-contained-oral-axid.json")
        .into_medication_request()
        .unwrap();
    let Some(fhir_c4bb::clinical::MedicationChoice::Reference(r)) = &mr.medication else {
        panic!("medicationReference expected")
    };
    let med = mr
        .resolve_contained(r)
        .and_then(Resource::as_medication)
        .unwrap();
    assert_eq!(
        med.code
            .as_ref()
            .and_then(|c| c.code_in("http://www.nlm.nih.gov/research/umls/rxnorm")),
        Some("582620")
    );
    assert_eq!(
        mr.medication_text(),
        Some("Nizatidine 15 MG/ML Oral Solution [Axid]")
    );
}
