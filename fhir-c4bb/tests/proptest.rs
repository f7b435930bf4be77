//! Generated resources round-trip exactly: arbitrary extensions (nested, repeated URLs,
//! every value kind), decimals with trailing zeros and exponents, unknown members,
//! nested contained resources, `resourceType` anywhere in the object.
#![allow(clippy::unwrap_used, clippy::panic)] // helpers outside #[test] fns

mod common;

use proptest::prelude::*;

/// A JSON number literal as payers write them.
fn decimal() -> impl Strategy<Value = String> {
    prop_oneof![
        (any::<i32>(), 0u32..6)
            .prop_map(|(m, zeros)| format!("{m}.{}", "0".repeat(zeros as usize + 1))),
        (any::<i64>(), 1u32..5).prop_map(|(m, s)| {
            let digits = m.unsigned_abs().to_string();
            let s = s as usize;
            let sign = if m < 0 { "-" } else { "" };
            if digits.len() > s {
                format!(
                    "{sign}{}.{}",
                    &digits[..digits.len() - s],
                    &digits[digits.len() - s..]
                )
            } else {
                format!("{sign}0.{}{digits}", "0".repeat(s - digits.len()))
            }
        }),
        any::<i64>().prop_map(|m| m.to_string()),
        Just("-0.00".to_owned()),
        Just("1.50E+3".to_owned()),
        Just("123456789012345678901234567890123456789012.0100".to_owned()),
        "[1-9][0-9]{0,3}e-[1-9]".prop_map(|s| s),
    ]
}

fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ]{0,12}",
        "\\PC{0,8}",
        Just(String::new()),
        Just("a\"b\\c\n".to_owned())
    ]
    .prop_map(|s| serde_json::to_string(&s).unwrap())
}

/// A `value[x]` member of an extension.
fn extension_value() -> impl Strategy<Value = String> {
    prop_oneof![
        json_string().prop_map(|s| format!(r#""valueString":{s}"#)),
        decimal().prop_map(|d| format!(r#""valueDecimal":{d}"#)),
        any::<bool>().prop_map(|b| format!(r#""valueBoolean":{b}"#)),
        any::<i32>().prop_map(|i| format!(r#""valueInteger":{i}"#)),
        decimal().prop_map(|d| format!(r#""valueMoney":{{"value":{d},"currency":"USD"}}"#)),
        decimal().prop_map(|d| format!(r#""valueQuantity":{{"value":{d},"unit":"mg"}}"#)),
        json_string()
            .prop_map(|s| format!(r#""valueCodeableConcept":{{"coding":[{{"code":{s}}}]}}"#)),
        json_string().prop_map(|s| format!(r#""valueReference":{{"display":{s}}}"#)),
        Just(r#""valueDate":"2018""#.to_owned()),
        Just(r#""valueDateTime":"not a date""#.to_owned()),
        decimal().prop_map(|d| format!(r#""valueTiming":{{"repeat":{{"period":{d}}}}}"#)),
        decimal().prop_map(|d| format!(r#""valueSomethingNew":{d}"#)),
    ]
}

/// An extension, possibly with nested extensions.
fn extension() -> impl Strategy<Value = String> {
    let url = prop_oneof![Just("http://x/a"), Just("http://x/b")];
    let leaf =
        (url.clone(), extension_value()).prop_map(|(u, v)| format!(r#"{{"url":"{u}",{v}}}"#));
    leaf.prop_recursive(3, 12, 4, move |inner| {
        (url.clone(), prop::collection::vec(inner, 1..4)).prop_map(|(u, nested)| {
            format!(r#"{{"url":"{u}","extension":[{}]}}"#, nested.join(","))
        })
    })
}

fn extensions(key: &'static str) -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        prop::collection::vec(extension(), 1..4)
            .prop_map(move |e| format!(r#""{key}":[{}]"#, e.join(","))),
    )
}

/// Members of an EOB-ish resource body (without resourceType).
fn eob_members() -> impl Strategy<Value = Vec<String>> {
    let money = (decimal(), prop::option::of(Just("USD")))
        .prop_map(|(d, c)| match c {
            Some(c) => format!(r#"{{"value":{d},"currency":"{c}"}}"#),
            None => format!(r#"{{"value":{d}}}"#),
        })
        .boxed();
    let adjudication = (json_string(), money.clone(), prop::option::of(decimal()))
        .prop_map(|(code, m, v)| match v {
            Some(v) => format!(
                r#"{{"category":{{"coding":[{{"code":{code}}}]}},"amount":{m},"value":{v}}}"#
            ),
            None => format!(r#"{{"category":{{"coding":[{{"code":{code}}}]}},"amount":{m}}}"#),
        })
        .boxed();
    let item = (
        1u32..20,
        prop::collection::vec(adjudication.clone(), 0..3),
        prop::option::of(decimal()),
        extensions("modifierExtension"),
    )
        .prop_map(|(seq, adj, factor, mx)| {
            let mut m = vec![
                format!(r#""sequence":{seq}"#),
                format!(r#""adjudication":[{}]"#, adj.join(",")),
            ];
            if let Some(f) = factor {
                m.push(format!(r#""factor":{f}"#));
            }
            m.extend(mx);
            format!("{{{}}}", m.join(","))
        });
    (
        extensions("extension"),
        extensions("modifierExtension"),
        prop::collection::vec(item, 0..3),
        prop::collection::vec(money, 0..3),
        prop::option::of(decimal()),
        prop::option::of(json_string()),
    )
        .prop_map(|(ext, mext, items, totals, unknown, id)| {
            let mut m = Vec::new();
            m.extend(ext);
            m.extend(mext);
            if let Some(id) = id {
                m.push(format!(r#""id":{id}"#));
                m.push(r#""_id":{"extension":[{"url":"u","valueCode":"x"}]}"#.to_owned());
            }
            if !items.is_empty() {
                m.push(format!(r#""item":[{}]"#, items.join(",")));
            }
            if !totals.is_empty() {
                let t: Vec<String> = totals
                    .iter()
                    .map(|a| format!(r#"{{"amount":{a}}}"#))
                    .collect();
                m.push(format!(r#""total":[{}]"#, t.join(",")));
            }
            if let Some(u) = unknown {
                m.push(format!(r#""someFutureElement":{{"deep":[{u},null,{{}}]}}"#));
            }
            m
        })
}

/// A resource of any type, with contained resources nested up to three levels, and
/// `resourceType` at any position.
fn resource() -> impl Strategy<Value = String> {
    let types = prop_oneof![
        Just("ExplanationOfBenefit"),
        Just("Patient"),
        Just("Coverage"),
        Just("Organization"),
        Just("Observation"),
        Just("Bundle"),
    ];
    let leaf = (types.clone(), eob_members(), any::<prop::sample::Index>())
        .prop_map(|(t, members, at)| with_type(t, members, at));
    leaf.prop_recursive(3, 10, 3, move |inner| {
        (
            types.clone(),
            eob_members(),
            prop::collection::vec(inner, 1..3),
            any::<prop::sample::Index>(),
        )
            .prop_map(|(t, mut members, contained, at)| {
                if t == "Bundle" {
                    let entries: Vec<String> = contained
                        .iter()
                        .map(|r| format!(r#"{{"resource":{r},"search":{{"mode":"match"}}}}"#))
                        .collect();
                    members.push(format!(r#""entry":[{}]"#, entries.join(",")));
                } else {
                    members.push(format!(r#""contained":[{}]"#, contained.join(",")));
                }
                with_type(t, members, at)
            })
    })
}

fn with_type(t: &str, mut members: Vec<String>, at: prop::sample::Index) -> String {
    if t == "Bundle" {
        // Bundle.total is a number; the EOB-shaped one stays as an unknown member.
        for m in &mut members {
            if let Some(rest) = m.strip_prefix(r#""total":"#) {
                *m = format!(r#""totals":{rest}"#);
            }
        }
    }
    let pos = at.index(members.len() + 1);
    members.insert(pos, format!(r#""resourceType":"{t}""#));
    format!("{{{}}}", members.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn generated_resources_round_trip_exactly(text in resource()) {
        let r: fhir_c4bb::Resource = fhir_c4bb::from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let out = serde_json::to_string(&r).unwrap();
        prop_assert_eq!(common::first_difference(&text, &out), None, "\n in: {}\nout: {}", text, out);
        // And again from our own output: serialisation is a fixed point.
        let again = serde_json::to_string(&fhir_c4bb::from_str::<fhir_c4bb::Resource>(&out).unwrap()).unwrap();
        prop_assert_eq!(common::first_difference(&out, &again), None);
    }

    #[test]
    fn decimals_keep_their_text_and_value(text in decimal()) {
        let d: fhir_c4bb::Decimal = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(serde_json::to_string(&d).unwrap(), text.clone());
        prop_assert_eq!(d.to_string(), text.clone());
        // Exact: x + 0 == x, and x - x == 0, whenever the value fits.
        if d.to_parts().is_some() {
            prop_assert!(d.checked_add(&fhir_c4bb::Decimal::ZERO).is_some_and(|s| s == d));
            prop_assert!(d.checked_sub(&d).is_some_and(|z| z.is_zero()));
        }
    }
}
