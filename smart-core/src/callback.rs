//! Reading the redirect back from the payer: `state` (constant time), `code`, `iss`, or `error`.

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use url::Url;

use crate::adapter::PayerAdapter;
use crate::authorize::PendingAuthorization;
use crate::error::{Error, Result};
use crate::token_endpoint::truncate;

/// A callback that passed every check: the code to exchange.
pub(crate) struct CallbackCode {
    pub code: SecretString,
}

/// The parameters the callback may carry; anything else is ignored.
const KNOWN: &[&str] = &[
    "code",
    "state",
    "iss",
    "error",
    "error_description",
    "error_uri",
];

/// The known parameters of a callback, each at most once.
type Params = [Option<String>; 6];

/// Parses a callback (a full URL, or its query with or without `?`) into its known parameters.
fn callback_params(callback: &str) -> Result<Params> {
    let query = callback_query(callback)?;
    let mut found: Params = Default::default();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if let Some(i) = KNOWN.iter().position(|n| *n == k) {
            if found[i].is_some() {
                return Err(Error::InvalidCallback(format!(
                    "the `{}` parameter appears more than once",
                    KNOWN[i]
                )));
            }
            found[i] = Some(v.into_owned());
        }
    }
    Ok(found)
}

/// The state check, for a code callback and an `error=` callback alike (RFC 6749 §4.1.2.1: the error response
/// carries the `state` too): a missing `state` is [`Error::InvalidCallback`], a different one
/// [`Error::StateMismatch`], compared in constant time.
fn check_state(pending: &PendingAuthorization, state: Option<&str>) -> Result<()> {
    let Some(state) = state else {
        return Err(Error::InvalidCallback(
            "no `state` parameter; the callback cannot be matched to this authorization".into(),
        ));
    };
    let same: bool = state
        .as_bytes()
        .ct_eq(pending.state.expose_secret().as_bytes())
        .into();
    if same {
        Ok(())
    } else {
        Err(Error::StateMismatch)
    }
}

/// Parses `callback` and checks only its `state` against `pending` (see [`PendingAuthorization::check_state`]).
pub(crate) fn check_callback_state(pending: &PendingAuthorization, callback: &str) -> Result<()> {
    let [_, state, ..] = callback_params(callback)?;
    check_state(pending, state.as_deref())
}

/// Parses and checks a callback (a full URL, or its query with or without `?`) against `pending`.
///
/// Order: the pending authorization must belong to this adapter; a repeated parameter is refused; `state` must
/// be present and match, for an error callback as for a code callback (so a forged or stale error cannot pass
/// as the payer's answer to this authorization); an `error` becomes [`Error::AuthorizationDenied`]; then
/// `iss` is checked against `expected_issuer` when both are known, and `code` is required.
pub(crate) fn check_callback(
    adapter: &dyn PayerAdapter,
    pending: &PendingAuthorization,
    callback: &str,
    expected_issuer: Option<&Url>,
) -> Result<CallbackCode> {
    if pending.adapter_id != adapter.id() {
        return Err(Error::PendingAuthorizationMismatch {
            expected: adapter.id().to_owned(),
            found: pending.adapter_id.clone(),
        });
    }
    let [code, state, iss, error, error_description, error_uri] = callback_params(callback)?;
    check_state(pending, state.as_deref())?;
    if let Some(error) = error {
        // Redacted like every other text that ends up in an error: a payer may echo the request in it.
        let error = truncate(&crate::http::redact_secrets(&error), 100);
        let description =
            error_description.map(|d| truncate(&crate::http::redact_secrets(&d), 500));
        let payer_hint = adapter.explain_oauth_error(&error, description.as_deref());
        return Err(Error::AuthorizationDenied {
            error,
            description,
            uri: error_uri.map(|u| truncate(&crate::http::redact_secrets(&u), 500)),
            payer_hint,
        });
    }
    if let (Some(iss), Some(expected)) = (iss.as_deref(), expected_issuer)
        && !same_issuer(iss, expected)
    {
        return Err(Error::IssuerMismatch {
            expected: expected.to_string(),
            received: truncate(iss, 300),
        });
    }
    match code {
        Some(c) if !c.is_empty() => Ok(CallbackCode {
            code: SecretString::from(c),
        }),
        _ => Err(Error::InvalidCallback("no `code` parameter".into())),
    }
}

/// The query part of a callback given as a URL, a query with `?`, or a bare query.
fn callback_query(callback: &str) -> Result<String> {
    let callback = callback.trim();
    if callback.is_empty() {
        return Err(Error::InvalidCallback("the callback is empty".into()));
    }
    let looks_like_url = callback.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    });
    if looks_like_url {
        let url = Url::parse(callback)
            .map_err(|e| Error::InvalidCallback(format!("not a valid URL: {e}")))?;
        return url
            .query()
            .map(str::to_owned)
            .ok_or_else(|| Error::InvalidCallback("the callback URL has no query".into()));
    }
    let query = callback.strip_prefix('?').unwrap_or(callback);
    // A relative path such as `/callback?code=...` is accepted too.
    let query = match query.split_once('?') {
        Some((path, q)) if !path.contains('=') => q,
        _ => query,
    };
    let query = query.split('#').next().unwrap_or_default();
    if !query.contains('=') {
        return Err(Error::InvalidCallback(
            "neither a URL nor a query string".into(),
        ));
    }
    Ok(query.to_owned())
}

/// Issuers compare as URLs, ignoring one trailing slash.
fn same_issuer(received: &str, expected: &Url) -> bool {
    received.trim_end_matches('/') == expected.as_str().trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Standard;
    use std::time::SystemTime;

    fn pending(state: &str) -> PendingAuthorization {
        PendingAuthorization {
            state: SecretString::from(state.to_owned()),
            code_verifier: SecretString::from("v".repeat(43)),
            redirect_uri: Url::parse("https://app.example/cb").unwrap(),
            scopes: vec![],
            adapter_id: "standard".into(),
            created_at: SystemTime::now(),
        }
    }

    fn adapter() -> Standard {
        Standard::new("https://fhir.example/r4").unwrap()
    }

    #[test]
    fn accepts_url_query_with_and_without_question_mark_and_path() {
        let p = pending("abc");
        for cb in [
            "https://app.example/cb?code=C1&state=abc",
            "?code=C1&state=abc",
            "code=C1&state=abc",
            "/cb?code=C1&state=abc#frag",
        ] {
            let got = check_callback(&adapter(), &p, cb, None).unwrap();
            assert_eq!(got.code.expose_secret(), "C1", "{cb}");
        }
    }

    #[test]
    fn typed_errors_for_bad_callbacks() {
        let p = pending("abc");
        let a = adapter();
        let check = |cb: &str| check_callback(&a, &p, cb, None).err().unwrap();
        assert!(matches!(check("code=C&state=zzz"), Error::StateMismatch));
        assert!(matches!(check("code=C"), Error::InvalidCallback(_)));
        assert!(matches!(check("state=abc"), Error::InvalidCallback(m) if m.contains("code")));
        assert!(matches!(
            check("state=abc&code="),
            Error::InvalidCallback(_)
        ));
        assert!(
            matches!(check("code=C&state=abc&state=abc"), Error::InvalidCallback(m) if m.contains("more than once"))
        );
        assert!(matches!(check(""), Error::InvalidCallback(_)));
        assert!(matches!(check("garbage"), Error::InvalidCallback(_)));
        assert!(matches!(
            check("error=access_denied&error_description=Member+eligibility+failed&state=abc"),
            Error::AuthorizationDenied { error, description: Some(d), .. } if error == "access_denied" && d == "Member eligibility failed"
        ));
        // An error callback with a wrong state is a state mismatch, not the payer's word.
        assert!(matches!(
            check("error=access_denied&state=nope"),
            Error::StateMismatch
        ));
    }

    #[test]
    fn an_error_callback_without_state_is_refused_like_a_code_callback_without_it() {
        let p = pending("abc");
        let a = adapter();
        let check = |cb: &str| check_callback(&a, &p, cb, None).err().unwrap();
        let missing =
            |e: &Error| matches!(e, Error::InvalidCallback(m) if m.contains("no `state`"));
        // RFC 6749 §4.1.2.1: the error response carries the request's state; without it, it is anyone's.
        let code = check("code=C");
        let error = check("error=access_denied&error_description=forged");
        assert!(missing(&code), "{code:?}");
        assert!(missing(&error), "{error:?}");
        assert_eq!(code.to_string(), error.to_string());
        // The state-only check says the same.
        for cb in ["code=C", "error=access_denied"] {
            assert!(missing(&check_callback_state(&p, cb).unwrap_err()), "{cb}");
        }
        assert!(matches!(
            check_callback_state(&p, "error=access_denied&state=nope"),
            Err(Error::StateMismatch)
        ));
        assert!(check_callback_state(&p, "error=access_denied&state=abc").is_ok());
        assert!(check_callback_state(&p, "/cb?code=C&state=abc").is_ok());
    }

    #[test]
    fn issuer_is_checked_when_known() {
        let p = pending("abc");
        let iss = Url::parse("https://auth.example/").unwrap();
        assert!(
            check_callback(
                &adapter(),
                &p,
                "code=C&state=abc&iss=https%3A%2F%2Fauth.example",
                Some(&iss)
            )
            .is_ok()
        );
        assert!(matches!(
            check_callback(
                &adapter(),
                &p,
                "code=C&state=abc&iss=https%3A%2F%2Fevil.example",
                Some(&iss)
            ),
            Err(Error::IssuerMismatch { .. })
        ));
        assert!(
            check_callback(
                &adapter(),
                &p,
                "code=C&state=abc&iss=https%3A%2F%2Fany.example",
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn pending_from_another_adapter_is_refused() {
        let mut p = pending("abc");
        p.adapter_id = "other".into();
        assert!(matches!(
            check_callback(&adapter(), &p, "code=C&state=abc", None),
            Err(Error::PendingAuthorizationMismatch { .. })
        ));
    }

    #[test]
    fn arbitrary_callbacks_never_panic_and_only_the_right_state_passes() {
        use rand::{Rng, SeedableRng};
        const PIECES: &[&str] = &[
            "code",
            "state",
            "iss",
            "error",
            "=",
            "&",
            "?",
            "#",
            "/",
            "://",
            "https",
            "abc",
            "%",
            "%2",
            "%zz",
            "+",
            "é",
            " ",
            "\u{0}",
            "[",
            "]",
            ":",
            "@",
            "error_description",
            "C1",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(0xca11);
        let p = pending("abc");
        let a = adapter();
        for _ in 0..5_000 {
            let mut cb = String::new();
            for _ in 0..rng.random_range(0..24) {
                cb.push_str(PIECES[rng.random_range(0..PIECES.len())]);
            }
            if let Ok(got) = check_callback(&a, &p, &cb, None) {
                // Success needs the exact state, once.
                let q = callback_query(&cb).unwrap();
                let states: Vec<_> = url::form_urlencoded::parse(q.as_bytes())
                    .filter(|(k, _)| k == "state")
                    .map(|(_, v)| v.into_owned())
                    .collect();
                assert_eq!(states, ["abc"], "{cb:?}");
                assert!(!got.code.expose_secret().is_empty());
            }
        }
    }
}
