//! Lenient, never fragile: off-spec payer data parses and round-trips; wrong JSON types
//! fail with the JSON path of the value.
#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] fns

mod common;

use fhir_c4bb::datatypes::ExtensionValue;
use fhir_c4bb::{Bundle, ExplanationOfBenefit, Patient, Resource};

/// Parses as `Resource`, asserts the exact round trip, returns the resource.
fn round_trip(text: &str) -> Resource {
    let r: Resource = fhir_c4bb::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let out = serde_json::to_string(&r).unwrap();
    if let Some(d) = common::first_difference(text, &out) {
        panic!("round trip differs at {d}\n in: {text}\nout: {out}");
    }
    r
}

#[test]
fn missing_required_elements_and_unknown_codes_parse() {
    let r =
        round_trip(r#"{"resourceType":"ExplanationOfBenefit","status":"zombie","use":"whatever"}"#);
    let eob = r.as_eob().unwrap();
    assert_eq!(eob.status.as_deref(), Some("zombie"));
    assert!(eob.item.is_empty() && eob.patient.is_none());
    round_trip(r#"{"resourceType":"Patient"}"#);
    round_trip(
        r#"{"resourceType":"Coverage","relationship":{"coding":[{"system":"x","code":"??"}]}}"#,
    );
}

#[test]
fn repeated_extension_urls_with_different_value_types_are_all_kept() {
    let r = round_trip(
        r#"{"resourceType":"Patient","extension":[
            {"url":"http://x/e","valueString":"a"},
            {"url":"http://x/e","valueDecimal":1.10},
            {"url":"http://x/e","valueCodeableConcept":{"text":"c"}},
            {"url":"http://x/e","extension":[{"url":"inner","valueTiming":{"repeat":{"frequency":2}}}]}],
          "modifierExtension":[{"url":"http://x/m","valueBoolean":true}]}"#,
    );
    let p = r.as_patient().unwrap();
    assert_eq!(p.extension.len(), 4);
    assert!(matches!(p.extension[0].value, Some(ExtensionValue::String(ref s)) if s == "a"));
    assert!(
        matches!(&p.extension[1].value, Some(ExtensionValue::Decimal(d)) if d.to_string() == "1.10")
    );
    assert!(matches!(
        p.extension[3].extension[0].value,
        Some(ExtensionValue::Timing(_))
    ));
    assert_eq!(p.modifier_extension.len(), 1);
}

#[test]
fn every_extension_value_kind_round_trips() {
    let kinds = [
        r#""valueBase64Binary":"aGk=""#,
        r#""valueBoolean":false"#,
        r#""valueCanonical":"http://x""#,
        r#""valueCode":"c""#,
        r#""valueDate":"2020""#,
        r#""valueDateTime":"2020-01-01T00:00:00Z""#,
        r#""valueDecimal":0.10"#,
        r#""valueId":"i""#,
        r#""valueInstant":"2020-01-01T00:00:00.000Z""#,
        r#""valueInteger":-3"#,
        r#""valueMarkdown":"*m*""#,
        r#""valueOid":"urn:oid:1.2""#,
        r#""valuePositiveInt":1"#,
        r#""valueString":"""#,
        r#""valueTime":"10:00:00""#,
        r#""valueUnsignedInt":0"#,
        r#""valueUri":"u""#,
        r#""valueUrl":"http://u""#,
        r#""valueUuid":"urn:uuid:0""#,
        r#""valueAddress":{"city":"X"}"#,
        r#""valueAge":{"value":5}"#,
        r#""valueAnnotation":{"authorString":"me","text":"t"}"#,
        r#""valueAttachment":{"size":10}"#,
        r#""valueCodeableConcept":{"text":"t"}"#,
        r#""valueCoding":{"display":"d"}"#,
        r#""valueContactPoint":{"rank":2}"#,
        r#""valueCount":{"value":1}"#,
        r#""valueDistance":{"value":1.0}"#,
        r#""valueDuration":{"value":2}"#,
        r#""valueHumanName":{"given":["A"]}"#,
        r#""valueIdentifier":{"value":"v"}"#,
        r#""valueMoney":{"value":1.00,"currency":"USD"}"#,
        r#""valuePeriod":{"start":"2020"}"#,
        r#""valueQuantity":{"value":1e3}"#,
        r#""valueRange":{"low":{"value":1}}"#,
        r#""valueRatio":{"numerator":{"value":1}}"#,
        r#""valueReference":{"display":"x"}"#,
        r#""valueSampledData":{"origin":{"value":0}}"#,
        r#""valueSignature":{"who":{}}"#,
        r#""valueTiming":{"event":["2020"]}"#,
        r#""valueContactDetail":{"name":"n"}"#,
        r#""valueContributor":{"type":"author"}"#,
        r#""valueDataRequirement":{"type":"X"}"#,
        r#""valueExpression":{"language":"text/fhirpath"}"#,
        r#""valueParameterDefinition":{"use":"in"}"#,
        r#""valueRelatedArtifact":{"type":"citation"}"#,
        r#""valueTriggerDefinition":{"type":"named-event"}"#,
        r#""valueUsageContext":{"code":{}}"#,
        r#""valueDosage":{"text":"d"}"#,
        r#""valueMeta":{"versionId":"1"}"#,
    ];
    for k in kinds {
        let text = format!(r#"{{"resourceType":"Patient","extension":[{{"url":"u",{k}}}]}}"#);
        let r = round_trip(&text);
        let p = r.as_patient().unwrap();
        assert!(
            p.extension[0].value.is_some(),
            "{k} should be typed as a value"
        );
        assert!(
            p.extension[0].extra.is_empty(),
            "{k} should not fall into extra"
        );
    }
}

#[test]
fn empty_strings_dates_of_any_precision_and_invalid_dates_are_kept() {
    let r = round_trip(
        r#"{"resourceType":"ExplanationOfBenefit","id":"","created":"yesterday",
            "billablePeriod":{"start":"2018","end":"2018-03"},
            "item":[{"servicedDate":"31/12/2019"}]}"#,
    );
    let eob = r.as_eob().unwrap();
    assert_eq!(eob.id.as_deref(), Some(""));
    let created = eob.created.as_ref().unwrap();
    assert_eq!(created.as_str(), "yesterday");
    assert!(!created.is_valid());
    let bp = eob.billable_period.as_ref().unwrap();
    assert_eq!(
        bp.start.as_ref().unwrap().precision(),
        Some(fhir_c4bb::Precision::Year)
    );
}

#[test]
fn codings_without_code_and_partial_references_parse() {
    let r = round_trip(
        r##"{"resourceType":"ExplanationOfBenefit",
            "type":{"coding":[{"display":"Professional"}]},
            "patient":{"identifier":{"system":"urn:member","value":"M1"}},
            "insurer":{"display":"Acme"},
            "provider":{"id":"p"},
            "careTeam":[{"provider":{"reference":"#missing"}}]}"##,
    );
    let eob = r.as_eob().unwrap();
    assert_eq!(eob.type_.as_ref().unwrap().coding[0].code, None);
    assert_eq!(eob.patient.as_ref().unwrap().label(), Some("M1"));
    assert_eq!(eob.insurer.as_ref().unwrap().label(), Some("Acme"));
    assert!(
        eob.resolve_contained(eob.care_team[0].provider.as_ref().unwrap())
            .is_none()
    );
}

#[test]
fn operation_outcome_and_unknown_types_in_a_searchset() {
    let r = round_trip(
        r#"{"resourceType":"Bundle","type":"searchset","total":1,
            "link":[{"relation":"self","url":"s"},{"relation":"next","url":"n"}],
            "entry":[
              {"fullUrl":"f1","resource":{"resourceType":"ExplanationOfBenefit","id":"e"},"search":{"mode":"match"}},
              {"resource":{"resourceType":"RelatedPerson","id":"rp","patient":{"reference":"Patient/1"}},"search":{"mode":"include"}},
              {"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"informational"}]},
               "search":{"mode":"outcome"}}]}"#,
    );
    let b = r.as_bundle().unwrap();
    assert_eq!(b.link("next"), Some("n"));
    assert_eq!(b.link("previous"), None);
    let types: Vec<_> = b.entries().map(Resource::resource_type).collect();
    assert_eq!(
        types,
        ["ExplanationOfBenefit", "RelatedPerson", "OperationOutcome"]
    );
    assert_eq!(b.entries().nth(1).and_then(Resource::id), Some("rp"));
    assert_eq!(
        b.outcomes().next().unwrap().issues()[0].severity.as_deref(),
        Some("warning")
    );
    assert_eq!(b.entry[2].search_mode(), Some("outcome"));
}

#[test]
fn resource_type_need_not_come_first() {
    let r = round_trip(
        r#"{"id":"late","meta":{"profile":["p"]},"item":[{"sequence":1,"net":{"value":1.50}}],
            "resourceType":"ExplanationOfBenefit","status":"active"}"#,
    );
    let eob = r.as_eob().unwrap();
    assert_eq!(eob.id.as_deref(), Some("late"));
    assert_eq!(
        eob.item[0]
            .net
            .as_ref()
            .unwrap()
            .value
            .as_ref()
            .unwrap()
            .to_string(),
        "1.50"
    );
    assert_eq!(eob.status.as_deref(), Some("active"));
    // Unknown type, resourceType last.
    let r = round_trip(r#"{"id":"x","code":{"text":"bp"},"resourceType":"Observation"}"#);
    assert_eq!((r.resource_type(), r.id()), ("Observation", Some("x")));
    // No resourceType at all: kept as an untyped resource rather than rejected.
    let r = round_trip(r#"{"id":"anon","value":1.0}"#);
    assert_eq!(r.resource_type(), "");
}

#[test]
fn nulls_empty_arrays_duplicates_and_primitive_extensions_round_trip() {
    let r = round_trip(
        r#"{"resourceType":"Patient","gender":null,"address":[],"active":true,"active":false,
            "name":[{"given":[null,"Ann"],"_given":[{"extension":[{"url":"u","valueCode":"x"}]},null],"family":"Ex"}],
            "birthDate":"1970","_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1970-01-01T10:00:00Z"}]},
            "futureElement":{"nested":[1.10,2]}}"#,
    );
    let p = r.as_patient().unwrap();
    assert_eq!(p.gender, None);
    assert_eq!(p.active, Some(true));
    assert_eq!(p.name[0].family.as_deref(), Some("Ex"));
    assert!(p.extra.get("_birthDate").is_some());
    assert_eq!(
        p.extra.get("futureElement").unwrap().get(),
        r#"{"nested":[1.10,2]}"#
    );
}

#[test]
fn contained_resources_resolve_and_nest() {
    let r = round_trip(
        r##"{"resourceType":"ExplanationOfBenefit","contained":[
              {"resourceType":"Organization","id":"org","name":"Clinic"},
              {"resourceType":"Practitioner","id":"doc","name":[{"family":"Who"}]},
              {"resourceType":"Bundle","id":"b","entry":[{"resource":{"resourceType":"Patient","id":"deep"}}]},
              {"resourceType":"Device","id":"dev","udiCarrier":[{"deviceIdentifier":"1.0"}]}],
            "provider":{"reference":"#org"},"careTeam":[{"provider":{"reference":"#doc"}}]}"##,
    );
    let eob = r.as_eob().unwrap();
    let org = eob
        .resolve_contained(eob.provider.as_ref().unwrap())
        .unwrap();
    assert_eq!(
        org.as_organization().unwrap().name.as_deref(),
        Some("Clinic")
    );
    let doc = eob
        .resolve_contained(eob.care_team[0].provider.as_ref().unwrap())
        .unwrap();
    assert_eq!(
        doc.as_practitioner().unwrap().display_name().as_deref(),
        Some("Who")
    );
    assert_eq!(eob.contained[3].resource_type(), "Device");
}

#[test]
fn wrong_json_types_name_their_path() {
    let bundle = r#"{"resourceType":"Bundle","type":"searchset","entry":[
        {"resource":{"resourceType":"Patient"}},
        {"resource":{"resourceType":"Coverage"}},
        {"resource":{"resourceType":"Organization"}},
        {"resource":{"resourceType":"ExplanationOfBenefit","item":[{"sequence":1,"adjudication":"paid"}]}}]}"#;
    let err = fhir_c4bb::from_str::<Resource>(bundle).unwrap_err();
    assert_eq!(err.path(), "entry[3].resource.item[0].adjudication");
    assert!(!err.is_syntax());
    let err = fhir_c4bb::from_str::<Bundle>(bundle).unwrap_err();
    assert_eq!(err.path(), "entry[3].resource.item[0].adjudication");

    let err = fhir_c4bb::from_str::<Patient>(r#"{"resourceType":"Patient","birthDate":19700101}"#)
        .unwrap_err();
    assert_eq!(err.path(), "birthDate");
    let err = fhir_c4bb::from_str::<ExplanationOfBenefit>(
        r#"{"resourceType":"ExplanationOfBenefit","total":[{"amount":{"value":"lots"}}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.path(), "total[0].amount.value");
    let err = fhir_c4bb::from_slice::<Resource>(b"{\"resourceType\":\"Patient\",").unwrap_err();
    assert!(err.is_syntax());
    let err = fhir_c4bb::from_str::<Resource>(r#""just a string""#).unwrap_err();
    assert_eq!(err.path(), ".");
}

#[test]
fn wrong_type_inside_a_late_resource_type_still_names_the_member() {
    let err = fhir_c4bb::from_str::<Resource>(
        r#"{"item":[{"adjudication":"paid"}],"resourceType":"ExplanationOfBenefit"}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("item[0].adjudication: invalid type"),
        "{err}"
    );
}

#[test]
fn a_typed_resource_rejects_another_resource_type() {
    let err = fhir_c4bb::from_str::<Patient>(r#"{"resourceType":"Coverage"}"#).unwrap_err();
    assert!(err.to_string().contains("expected \"Patient\""), "{err}");
}
