//! A token endpoint's answer, as smart-core reads it after a code exchange or a refresh: any status (first
//! byte), content type (second byte) and body. It must not panic, a success must be a usable Bearer token set,
//! a 2xx body that is not a usable token response must be withheld from the error, and no token value of the
//! body may appear in an error's or the token set's `Display`/`Debug`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use smart_core::{Error, ExposeSecret};

const STATUSES: &[u16] = &[200, 201, 204, 400, 401, 403, 429, 500, 502, 503];
const CONTENT_TYPES: &[Option<&str>] = &[
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
    None,
    Some("text/html"),
    Some("application/xml"),
    Some("application/x-www-form-urlencoded"),
];
const SECRET_FIELDS: &[&str] = &["access_token", "refresh_token", "id_token"];

/// Every string in `v` (keys too) and every number's text, except the value at top-level `skip`.
fn texts<'a>(v: &'a Value, skip: Option<&str>, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|i| texts(i, None, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                if Some(k.as_str()) != skip {
                    texts(v, None, out);
                }
            }
        }
        _ => {}
    }
}

/// The token values of the body that appear nowhere else in it: those must never be shown.
fn unique_secrets(body: &[u8]) -> Vec<String> {
    let Ok(doc @ Value::Object(_)) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let raw = String::from_utf8_lossy(body);
    let mut out = Vec::new();
    for field in SECRET_FIELDS {
        let Some(Value::String(v)) = doc.get(*field) else {
            continue;
        };
        if v.len() < 8 || v.chars().any(|c| c.is_whitespace() || !c.is_ascii()) {
            continue;
        }
        let mut others = Vec::new();
        texts(&doc, Some(field), &mut others);
        if raw.matches(v.as_str()).count() <= 1 && !others.iter().any(|o| o.contains(v.as_str())) {
            out.push(v.clone());
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let [status, content_type, body @ ..] = data else {
        return;
    };
    let status = STATUSES[usize::from(*status) % STATUSES.len()];
    let content_type = CONTENT_TYPES[usize::from(*content_type) % CONTENT_TYPES.len()];
    let scopes = vec!["patient/*.read".to_owned()];
    let secrets = unique_secrets(body);
    let shown = match smart_core::__fuzz::token_response(status, content_type, body, &scopes) {
        Ok(tokens) => {
            assert!((200..300).contains(&status), "tokens from HTTP {status}");
            assert!(!tokens.access_token().expose_secret().trim().is_empty());
            assert_eq!(tokens.token_type(), "Bearer");
            format!("{tokens:?}")
        }
        Err(e) => {
            if let Error::UnexpectedResponse { excerpt, .. } = &e
                && (200..300).contains(&status)
                && !matches!(content_type, Some("text/html" | "application/xml"))
                && !body.trim_ascii_start().starts_with(b"<")
            {
                assert!(
                    excerpt.as_str().contains("withheld"),
                    "a 2xx token body was shown: {excerpt}"
                );
            }
            format!("{e} {e:?}")
        }
    };
    for secret in &secrets {
        assert!(!shown.contains(secret.as_str()), "token value {secret:?} shown: {shown}");
    }
});
