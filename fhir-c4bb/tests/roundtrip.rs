//! Lossless: every fixture parses as a `Resource` and serialises back to the same JSON,
//! numbers compared by their literal digits.
#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] fns

mod common;

use fhir_c4bb::Resource;

#[test]
fn every_fixture_round_trips_exactly() {
    let paths = common::fixture_paths();
    assert!(
        paths.len() >= 100,
        "expected the fixture corpus, found {}",
        paths.len()
    );
    let mut failures = Vec::new();
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap();
        let r: Resource = match fhir_c4bb::from_str(&text) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: parse: {e}", p.display()));
                continue;
            }
        };
        assert!(
            !matches!(r, Resource::Other(_)),
            "{} should be typed",
            p.display()
        );
        let out = serde_json::to_string(&r).unwrap();
        if let Some(d) = common::first_difference(&text, &out) {
            failures.push(format!("{}: {d}", p.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn comparison_sees_lost_digits_and_missing_members() {
    // The checker itself must catch what serde_json::Value would hide.
    assert!(common::first_difference(r#"{"v":5.00}"#, r#"{"v":5.0}"#).is_some());
    assert!(common::first_difference(r#"{"v":3.000}"#, r#"{"v":3}"#).is_some());
    assert!(common::first_difference(r#"{"a":1,"b":2}"#, r#"{"a":1}"#).is_some());
    assert!(common::first_difference(r#"{"a":[1,2]}"#, r#"{"a":[2,1]}"#).is_some());
    assert!(common::first_difference(r#"{"a":1,"b":"x"}"#, r#"{"b":"x","a":1}"#).is_none());
}

#[test]
fn trailing_zero_decimals_from_a_fixture_survive() {
    let text = common::fixture(
        "ig-1.1.0/ExplanationOfBenefit__C4BB-ExplanationOfBenefit-Professional-NonClinician__ProfessionalEOBExample1.json",
    );
    let r: Resource = fhir_c4bb::from_str(&text).unwrap();
    let out = serde_json::to_string(&r).unwrap();
    for needle in [r#""value":820.0"#, r#""value":0.0"#] {
        assert!(text.contains(needle), "fixture should contain {needle}");
        assert_eq!(
            text.matches(needle).count(),
            out.matches(needle).count(),
            "{needle}"
        );
    }
}

#[test]
fn decimals_keep_their_digits_where_value_would_not() {
    let text = r#"{"resourceType":"ExplanationOfBenefit","total":[{"amount":{"value":5.00,"currency":"USD"}},
        {"amount":{"value":3.000}},{"amount":{"value":12345678901234567890.123456789}}],
        "item":[{"quantity":{"value":1.50},"factor":1E+2}]}"#;
    let r: Resource = fhir_c4bb::from_str(text).unwrap();
    let out = serde_json::to_string(&r).unwrap();
    assert_eq!(common::first_difference(text, &out), None);
    let via_value =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(text).unwrap()).unwrap();
    assert!(
        common::first_difference(text, &via_value).is_some(),
        "Value should lose digits here"
    );
}
