//! Lenient, never fragile: off-spec payer data parses and round-trips; wrong JSON types
//! fail with the JSON path of the value.
#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] fns

mod common;

use fhir_c4bb::datatypes::ExtensionValue;
use fhir_c4bb::validate::IssueKind;
use fhir_c4bb::{ExplanationOfBenefit, Patient, Resource};

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
fn wrong_json_shapes_are_kept_and_validate_names_their_path() {
    // Changed deliberately (issue 11, part 3): these used to fail the whole parse.
    let bundle = r#"{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient"}},{"resource":{"resourceType":"ExplanationOfBenefit","item":[{"sequence":1,"adjudication":"paid"}]}}]}"#;
    let r = round_trip(bundle);
    let eob = r.as_bundle().unwrap().eobs().next().unwrap();
    assert!(eob.item[0].adjudication.is_empty());
    assert_eq!(
        eob.item[0].extra.get("adjudication").unwrap().get(),
        r#""paid""#
    );
    let issue = r
        .validate()
        .into_iter()
        .find(|i| i.kind == IssueKind::WrongJsonType)
        .unwrap();
    assert_eq!(issue.path, "entry[1].resource.item[0].adjudication");
    assert_eq!(
        issue.to_string(),
        "entry[1].resource.item[0].adjudication: expected array, found string; kept as sent in `extra`"
    );

    let p: Patient =
        fhir_c4bb::from_str(r#"{"resourceType":"Patient","birthDate":19700101}"#).unwrap();
    assert_eq!(p.birth_date, None);
    assert_eq!(p.extra.get("birthDate").unwrap().get(), "19700101");
    let eob: ExplanationOfBenefit = fhir_c4bb::from_str(
        r#"{"resourceType":"ExplanationOfBenefit","total":[{"amount":{"value":"lots"}}]}"#,
    )
    .unwrap();
    let issues = eob.validate();
    assert!(
        issues
            .iter()
            .any(|i| i.path == "total[0].amount.value" && i.kind == IssueKind::WrongJsonType),
        "{issues:?}"
    );
    // What stays an error: not JSON, and the wrong type at the top.
    let err = fhir_c4bb::from_slice::<Resource>(b"{\"resourceType\":\"Patient\",").unwrap_err();
    assert!(err.is_syntax());
    let err = fhir_c4bb::from_str::<Resource>(r#""just a string""#).unwrap_err();
    assert_eq!(err.path(), ".");
    let err = fhir_c4bb::from_str::<Patient>(r#"[{"resourceType":"Patient"}]"#).unwrap_err();
    assert!(!err.is_syntax());
}

#[test]
fn wrong_shape_inside_a_late_resource_type_is_kept_too() {
    let r = round_trip_value(
        r#"{"item":[{"adjudication":"paid"}],"resourceType":"ExplanationOfBenefit"}"#,
    );
    let paths: Vec<String> = r.validate().into_iter().map(|i| i.path).collect();
    assert!(
        paths.contains(&"item[0].adjudication".to_owned()),
        "{paths:?}"
    );
}

/// Parses, asserts the round trip as JSON values (member order and number spelling
/// aside), returns the resource.
fn round_trip_value(text: &str) -> Resource {
    let r: Resource = fhir_c4bb::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let out = serde_json::to_string(&r).unwrap();
    let a: serde_json::Value = serde_json::from_str(text).unwrap();
    let b: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(a, b, "\n in: {text}\nout: {out}");
    r
}

/// The JSON shape a field of the matrix is modelled as.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A 0..1 complex datatype (or a resource).
    Object,
    /// A 0..* element.
    Array,
    /// decimal / integer.
    Number,
    /// string, code, uri, date, dateTime, xhtml...
    Str,
    /// boolean.
    Bool,
}

/// Wrong values for a field of this kind: (JSON, whether its text survives exactly).
/// A fraction where no number belongs is only seen decoded, so it comes back by value.
fn wrong_values(kind: Kind) -> Vec<(&'static str, bool)> {
    match kind {
        // array-for-object first: what real payers send (`"period": [{...}]`).
        Kind::Object => vec![
            (
                r#"[{"id":"a","extension":[{"url":"u","valueDecimal":1.50}]}]"#,
                true,
            ),
            (r#""text""#, true),
            ("1.50", false),
            ("7", true),
            ("true", true),
            ("null", true),
        ],
        // object-for-array first: a 0..* element sent as one object.
        Kind::Array => vec![
            (
                r#"{"id":"a","extension":[{"url":"u","valueDecimal":1.50}]}"#,
                true,
            ),
            (r#""a""#, true),
            ("null", true),
            ("false", true),
        ],
        // string-for-number first (a string that is no number: "12.50" is accepted).
        Kind::Number => vec![
            (r#""lots""#, true),
            (r#"[1.50]"#, true),
            (r#"{"value":1.50}"#, true),
            ("true", true),
            ("null", true),
        ],
        // number-for-string first.
        Kind::Str => vec![
            ("1950", true),
            ("1.50", false),
            (r#"["a","b"]"#, true),
            (r#"{"a":"b"}"#, true),
            ("false", true),
            ("null", true),
        ],
        Kind::Bool => vec![
            (r#""true""#, true),
            ("1", true),
            ("[true]", true),
            ("null", true),
        ],
    }
}

#[test]
fn every_datatype_keeps_a_wrong_shape_round_trips_and_validate_names_it() {
    // (document with `@` where the wrong value goes, JSON path of that member, kind)
    let eob = |inner: &str| format!(r#"{{"resourceType":"ExplanationOfBenefit",{inner}}}"#);
    let pat = |inner: &str| format!(r#"{{"resourceType":"Patient",{inner}}}"#);
    let ext = |v: &str| pat(&format!(r#""extension":[{{"url":"u",{v}}}]"#));
    let cases: Vec<(String, &str, Kind)> = vec![
        // Complex datatypes, 0..1.
        (eob(r#""billablePeriod":@"#), "billablePeriod", Kind::Object),
        (eob(r#""type":@"#), "type", Kind::Object),
        (eob(r#""patient":@"#), "patient", Kind::Object),
        (eob(r#""meta":@"#), "meta", Kind::Object),
        (eob(r#""text":@"#), "text", Kind::Object),
        (
            eob(r#""payment":{"amount":@}"#),
            "payment.amount",
            Kind::Object,
        ),
        (
            eob(r#""item":[{"quantity":@}]"#),
            "item[0].quantity",
            Kind::Object,
        ),
        (
            eob(r#""item":[{"servicedPeriod":@}]"#),
            "item[0].servicedPeriod",
            Kind::Object,
        ),
        (
            eob(r#""identifier":[{"assigner":@}]"#),
            "identifier[0].assigner",
            Kind::Object,
        ),
        (
            pat(r#""contact":[{"address":@}]"#),
            "contact[0].address",
            Kind::Object,
        ),
        (
            pat(r#""contact":[{"name":@}]"#),
            "contact[0].name",
            Kind::Object,
        ),
        (
            ext(r#""valueAttachment":@"#),
            "extension[0].valueAttachment",
            Kind::Object,
        ),
        (
            ext(r#""valueAnnotation":@"#),
            "extension[0].valueAnnotation",
            Kind::Object,
        ),
        (
            ext(r#""valueCoding":@"#),
            "extension[0].valueCoding",
            Kind::Object,
        ),
        (
            ext(r#""valueContactPoint":@"#),
            "extension[0].valueContactPoint",
            Kind::Object,
        ),
        (
            ext(r#""valueRange":{"low":@}"#),
            "extension[0].valueRange.low",
            Kind::Object,
        ),
        (
            ext(r#""valueRatio":@"#),
            "extension[0].valueRatio",
            Kind::Object,
        ),
        (
            ext(r#""valueIdentifier":@"#),
            "extension[0].valueIdentifier",
            Kind::Object,
        ),
        (
            r#"{"resourceType":"Bundle","entry":[{"resource":@}]}"#.to_owned(),
            "entry[0].resource",
            Kind::Object,
        ),
        (
            r#"{"resourceType":"Bundle","entry":[{"search":@}]}"#.to_owned(),
            "entry[0].search",
            Kind::Object,
        ),
        (
            r#"{"resourceType":"Coverage","class":[{"type":@}]}"#.to_owned(),
            "class[0].type",
            Kind::Object,
        ),
        // 0..* elements.
        (eob(r#""identifier":@"#), "identifier", Kind::Array),
        (eob(r#""item":@"#), "item", Kind::Array),
        (eob(r#""contained":@"#), "contained", Kind::Array),
        (eob(r#""type":{"coding":@}"#), "type.coding", Kind::Array),
        (pat(r#""name":@"#), "name", Kind::Array),
        (pat(r#""name":[{"given":@}]"#), "name[0].given", Kind::Array),
        (pat(r#""address":@"#), "address", Kind::Array),
        (pat(r#""telecom":@"#), "telecom", Kind::Array),
        (pat(r#""extension":@"#), "extension", Kind::Array),
        (pat(r#""meta":{"profile":@}"#), "meta.profile", Kind::Array),
        (
            r#"{"resourceType":"Bundle","link":@}"#.to_owned(),
            "link",
            Kind::Array,
        ),
        (
            r#"{"resourceType":"Organization","contact":@}"#.to_owned(),
            "contact",
            Kind::Array,
        ),
        (
            r#"{"resourceType":"OperationOutcome","issue":@}"#.to_owned(),
            "issue",
            Kind::Array,
        ),
        // decimal and integer.
        (
            eob(r#""total":[{"amount":{"value":@}}]"#),
            "total[0].amount.value",
            Kind::Number,
        ),
        (
            eob(r#""item":[{"factor":@}]"#),
            "item[0].factor",
            Kind::Number,
        ),
        (eob(r#""precedence":@"#), "precedence", Kind::Number),
        (
            ext(r#""valueDecimal":@"#),
            "extension[0].valueDecimal",
            Kind::Number,
        ),
        (
            ext(r#""valueInteger":@"#),
            "extension[0].valueInteger",
            Kind::Number,
        ),
        (
            r#"{"resourceType":"Bundle","total":@}"#.to_owned(),
            "total",
            Kind::Number,
        ),
        // string-like primitives.
        (eob(r#""status":@"#), "status", Kind::Str),
        (eob(r#""created":@"#), "created", Kind::Str),
        (
            eob(r#""item":[{"servicedDate":@}]"#),
            "item[0].servicedDate",
            Kind::Str,
        ),
        (eob(r#""text":{"div":@}"#), "text.div", Kind::Str),
        (pat(r#""birthDate":@"#), "birthDate", Kind::Str),
        (pat(r#""name":[{"family":@}]"#), "name[0].family", Kind::Str),
        (
            ext(r#""valueString":@"#),
            "extension[0].valueString",
            Kind::Str,
        ),
        (
            eob(r#""type":{"coding":[{"code":@}]}"#),
            "type.coding[0].code",
            Kind::Str,
        ),
        // boolean.
        (pat(r#""active":@"#), "active", Kind::Bool),
        (
            ext(r#""valueBoolean":@"#),
            "extension[0].valueBoolean",
            Kind::Bool,
        ),
        (
            eob(r#""insurance":[{"focal":@}]"#),
            "insurance[0].focal",
            Kind::Bool,
        ),
        (
            eob(r#""type":{"coding":[{"userSelected":@}]}"#),
            "type.coding[0].userSelected",
            Kind::Bool,
        ),
    ];
    let mut checked = 0;
    for (doc, path, kind) in &cases {
        for (bad, exact) in wrong_values(*kind) {
            let text = doc.replace('@', bad);
            let r = if exact {
                round_trip(&text)
            } else {
                round_trip_value(&text)
            };
            let issues = r.validate();
            assert!(
                issues
                    .iter()
                    .any(|i| i.path == *path && i.kind == IssueKind::WrongJsonType),
                "no issue at {path} for {text}: {issues:?}"
            );
            // Our output parses to the same thing (a fixed point).
            let again: Resource = fhir_c4bb::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(again, r, "{text}");
            checked += 1;
        }
    }
    assert!(checked > 250, "{checked}");
}

#[test]
fn an_array_element_of_the_wrong_shape_keeps_the_array_and_names_the_element() {
    let text = r#"{"resourceType":"Patient","name":[{"family":"A"},"B",{"family":"C"}],"identifier":[{"value":"1"},null,7]}"#;
    let r = round_trip(text);
    let p = r.as_patient().unwrap();
    assert!(p.name.is_empty() && p.identifier.is_empty());
    let paths: Vec<String> = r
        .validate()
        .into_iter()
        .filter(|i| i.kind == IssueKind::WrongJsonType)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "name[1]: expected object, found string; kept as sent in `extra`",
            "identifier[2]: expected object, found number; kept as sent in `extra`"
        ]
    );
    // `null` holes in primitive arrays are FHIR (aligned with `_given`): no issue.
    let r = round_trip(
        r#"{"resourceType":"Patient","name":[{"given":[null,"Ann"],"_given":[{"id":"x"},null]}]}"#,
    );
    assert!(
        r.validate()
            .iter()
            .all(|i| i.kind != IssueKind::WrongJsonType)
    );
}

#[test]
fn a_typed_resource_rejects_another_resource_type() {
    let err = fhir_c4bb::from_str::<Patient>(r#"{"resourceType":"Coverage"}"#).unwrap_err();
    assert!(err.to_string().contains("expected \"Patient\""), "{err}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    // serde_json stops at 128 levels; our frames must fit a default 2 MiB test thread
    // up to there, through contained resources, extensions and the replay path.
    let mut contained = String::from(r#"{"resourceType":"Patient"}"#);
    for i in 0..70 {
        contained = if i % 2 == 0 {
            format!(r#"{{"resourceType":"ExplanationOfBenefit","contained":[{contained}]}}"#)
        } else {
            format!(r#"{{"id":"late","contained":[{contained}],"resourceType":"Bundle"}}"#)
        };
    }
    let mut ext = String::from(r#"{"url":"u","valueString":"x"}"#);
    for _ in 0..200 {
        ext = format!(r#"{{"url":"u","extension":[{ext}]}}"#);
    }
    let ext = format!(r#"{{"resourceType":"Patient","extension":[{ext}]}}"#);
    // resourceType last at every level: each level is replayed from raw text.
    let mut late = String::from(r#"{"resourceType":"Patient"}"#);
    for _ in 0..3000 {
        late = format!(r#"{{"contained":[{late}],"resourceType":"Organization"}}"#);
    }
    // Worst case for the stack: each replay uses most of serde_json's 128 levels.
    let mut worst = String::from(r#"{"resourceType":"Patient"}"#);
    for _ in 0..10 {
        for _ in 0..40 {
            worst = format!(r#"{{"resourceType":"ExplanationOfBenefit","contained":[{worst}]}}"#);
        }
        worst = format!(r#"{{"contained":[{worst}],"resourceType":"Organization"}}"#);
    }
    let arrays = format!(
        r#"{{"resourceType":"Patient","x":{}1{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    for text in [contained, ext, late, worst, arrays] {
        let text = std::sync::Arc::new(text);
        let t = text.clone();
        let result = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                fhir_c4bb::from_str::<Resource>(&t)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .unwrap()
            .join();
        let outcome = result.expect("no panic or stack overflow");
        if let Err(e) = outcome {
            assert!(
                e.contains("recursion limit") || e.contains("nested too deeply"),
                "{e}"
            );
        }
    }
}

#[test]
fn a_resource_type_that_is_no_string_leaves_an_untyped_resource() {
    let r = round_trip(r#"{"resourceType":5,"id":"x","resourceType":"Patient"}"#);
    assert_eq!(r.resource_type(), "");
    let r = round_trip(
        r#"{"resourceType":"ExplanationOfBenefit","contained":[{"resourceType":["Organization"],"name":"Clinic"}],"status":"active"}"#,
    );
    let eob = r.as_eob().unwrap();
    assert_eq!(eob.status.as_deref(), Some("active"));
    assert_eq!(eob.contained[0].resource_type(), "");
}

#[test]
fn a_number_where_no_number_belongs_is_kept_as_the_value_serde_json_read() {
    // Found by fuzzing parse_bundle: `6e+27` (the shortest spelling of what serde_json read
    // here) reads back as 6.000000000000001e27, so the kept text must be one that reads back.
    for n in [
        "6000000000000000000000000006",
        "1.50",
        "-0.0",
        "1e300",
        "123456789.123456789e-300",
    ] {
        for doc in [
            format!(r#"{{"resourceType":"Bundle","entry":[{n}]}}"#),
            format!(r#"{{"resourceType":"Patient","gender":{n},"name":{n}}}"#),
        ] {
            let r = round_trip_value(&doc);
            let once = serde_json::to_string(&r).unwrap();
            let again: Resource = fhir_c4bb::from_str(&once).unwrap();
            assert_eq!(serde_json::to_string(&again).unwrap(), once, "{doc}");
        }
    }
}
