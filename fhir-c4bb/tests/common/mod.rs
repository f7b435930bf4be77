//! Test support: the fixture corpus and a JSON comparison that sees every digit.
// Test support: a panic here is a test failure, which is the point.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::value::RawValue;

/// A JSON tree whose numbers are their literal text, so `5.00` and `5.0` differ.
#[derive(Debug, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Lit>),
    /// Keys sorted: member order does not matter in JSON.
    Object(BTreeMap<String, Vec<Lit>>),
}

/// Parses JSON text into a [`Lit`] tree, keeping number literals as written.
pub fn lit(text: &str) -> Lit {
    let raw: Box<RawValue> = serde_json::from_str(text).expect("valid JSON");
    lit_raw(&raw)
}

fn lit_raw(raw: &RawValue) -> Lit {
    let t = raw.get();
    match t.as_bytes()[0] {
        b'{' => {
            // Deserialize as (key, raw) pairs; repeated keys are all kept.
            let pairs: RawPairs = serde_json::from_str(t).expect("object");
            let mut m: BTreeMap<String, Vec<Lit>> = BTreeMap::new();
            for (k, v) in pairs.0 {
                m.entry(k).or_default().push(lit_raw(&v));
            }
            Lit::Object(m)
        }
        b'[' => {
            let items: Vec<Box<RawValue>> = serde_json::from_str(t).expect("array");
            Lit::Array(items.iter().map(|v| lit_raw(v)).collect())
        }
        b'"' => Lit::String(serde_json::from_str(t).expect("string")),
        b't' => Lit::Bool(true),
        b'f' => Lit::Bool(false),
        b'n' => Lit::Null,
        _ => Lit::Number(t.to_owned()),
    }
}

struct RawPairs(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for RawPairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawPairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawPairs, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push((k, v));
                }
                Ok(RawPairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Finds the first difference between two JSON texts, comparing numbers by their text.
pub fn first_difference(expected: &str, actual: &str) -> Option<String> {
    diff(&lit(expected), &lit(actual), "$")
}

fn diff(a: &Lit, b: &Lit, path: &str) -> Option<String> {
    match (a, b) {
        (Lit::Object(x), Lit::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                match (x.get(k), y.get(k)) {
                    (Some(va), Some(vb)) if va.len() == vb.len() => {
                        for (i, (ea, eb)) in va.iter().zip(vb).enumerate() {
                            let p = if va.len() > 1 {
                                format!("{path}.{k}#{i}")
                            } else {
                                format!("{path}.{k}")
                            };
                            if let Some(d) = diff(ea, eb, &p) {
                                return Some(d);
                            }
                        }
                    }
                    (va, vb) => return Some(format!("{path}.{k}: {va:?} vs {vb:?}")),
                }
            }
            None
        }
        (Lit::Array(x), Lit::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (ea, eb))| diff(ea, eb, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{path}: {a:?} vs {b:?}")),
    }
}

/// Every example resource under `tests/fixtures/`, sorted.
pub fn fixture_paths() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).expect("fixtures dir") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("version dir") {
            let f = f.expect("entry").path();
            if f.extension().is_some_and(|e| e == "json") {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

/// A fixture by its path under `tests/fixtures/`.
pub fn fixture(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
