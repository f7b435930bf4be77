//! Reading the patient id out of a JWT (an id token, or an access token that happens to be a JWT).
//!
//! This module only decodes. An id token's signature and claims are verified by [`crate::id_token`] before the
//! token exchange returns (an invalid one fails it), so a patient id read here from an id token is from a
//! verified token, unless the adapter opted out for a payer without a JWKS. A JWT access token is read
//! unverified, as the last fallback only; nothing else in the SDK trusts these claims.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The payload claims of `jwt`, or `None` when it is not a JWT with a JSON object payload.
pub(crate) fn unverified_claims(jwt: &str) -> Option<Map<String, Value>> {
    let mut parts = jwt.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    parts.next()?; // a signature segment (possibly empty) must exist
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The patient id in `claims`: `patient`, else a `fhirUser` that names a Patient.
pub(crate) fn patient_from_claims(claims: &Map<String, Value>) -> Option<String> {
    if let Some(p) = claims.get("patient").and_then(scalar_string) {
        return Some(p);
    }
    claims
        .get("fhirUser")
        .and_then(Value::as_str)
        .and_then(patient_from_reference)
}

/// `Patient/123` or `https://fhir.example/r4/Patient/123` (optionally with `/_history/n`) → `123`.
pub(crate) fn patient_from_reference(reference: &str) -> Option<String> {
    let without_query = reference.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = without_query.trim_end_matches('/').split('/').collect();
    let history = segments.iter().rposition(|s| *s == "_history");
    let end = history.unwrap_or(segments.len());
    if end < 2 || segments[end - 2] != "Patient" || segments[end - 1].is_empty() {
        return None;
    }
    Some(segments[end - 1].to_owned())
}

/// A string, or a number written as a string (some servers send numeric patient ids).
pub(crate) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{header}.{payload}.c2ln")
    }

    #[test]
    fn patient_claim_wins_over_fhir_user() {
        let c =
            unverified_claims(&jwt(json!({"patient": "p1", "fhirUser": "Patient/p2"}))).unwrap();
        assert_eq!(patient_from_claims(&c).as_deref(), Some("p1"));
    }

    #[test]
    fn fhir_user_relative_absolute_and_versioned() {
        for (r, want) in [
            ("Patient/123", Some("123")),
            ("https://fhir.example/r4/Patient/abc-9", Some("abc-9")),
            (
                "https://fhir.example/r4/Patient/abc/_history/2",
                Some("abc"),
            ),
            ("Practitioner/7", None),
            ("Patient/", None),
            ("123", None),
        ] {
            assert_eq!(patient_from_reference(r).as_deref(), want, "{r}");
        }
    }

    #[test]
    fn non_jwts_are_ignored() {
        for t in [
            "opaque-token",
            "a.b",
            "a.!!!.c",
            &format!("x.{}.y", URL_SAFE_NO_PAD.encode("[1]")),
        ] {
            assert!(unverified_claims(t).is_none(), "{t}");
        }
    }

    #[test]
    fn numeric_patient_claims_are_accepted() {
        let c = unverified_claims(&jwt(json!({"patient": 42}))).unwrap();
        assert_eq!(patient_from_claims(&c).as_deref(), Some("42"));
    }
}
