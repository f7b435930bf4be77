//! The callback check: `<state>\n<callback>` (the pending authorization's state, then the redirect URL or query
//! as it arrived). It must not panic; a code is returned only with a non-empty code; the state-only
//! check (`PendingAuthorization::check_state`, which connect's listener uses) agrees with the full check; and
//! a state or code value is never shown by a state or malformed-callback error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smart_core::{Error, ExposeSecret};

/// Looks like a secret no fixed error text can contain: 8+ characters, two of them digits.
fn secret_looking(s: &str) -> bool {
    s.len() >= 8 && s.bytes().filter(u8::is_ascii_digit).count() >= 2
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (state, callback) = text.split_once('\n').unwrap_or(("S7ate-fuzz-42", &text));
    let Ok(pending) = smart_core::__fuzz::pending(state) else {
        return;
    };
    let issuer = url::Url::parse("https://auth.fuzz.invalid/").ok();
    let full = smart_core::__fuzz::callback(&pending, callback, issuer.as_ref());
    let state_only = pending.check_state(callback);

    // Roughly the parameters (only to find values that must not be shown: over-inclusion is harmless).
    let query = callback.split_once('?').map_or(callback, |(_, q)| q);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();

    match (&full, &state_only) {
        (Ok(code), Ok(())) => assert!(!code.expose_secret().is_empty()),
        (Ok(_), Err(e)) => panic!("the full check passed, the state check refused: {e}"),
        (Err(full), Err(only)) => {
            assert_eq!(full.to_string(), only.to_string(), "the two checks disagree");
        }
        (Err(e), Ok(())) => assert!(
            !matches!(e, Error::StateMismatch),
            "state mismatch from the full check only: {e}"
        ),
    }

    if let Err(e @ (Error::StateMismatch | Error::InvalidCallback(_))) = &full {
        let shown = format!("{e} {e:?}");
        if secret_looking(state) {
            assert!(!shown.contains(state), "the state is shown: {shown}");
        }
        for (_, v) in &pairs {
            if secret_looking(v) {
                assert!(!shown.contains(v.as_str()), "{v:?} is shown: {shown}");
            }
        }
    }
});
