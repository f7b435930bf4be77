//! PKCE (RFC 7636, S256 only) and the `state` value, both from the operating system's CSPRNG.
//!
//! The `oauth2` crate generates both well (32 random bytes → a 43-character base64url verifier; `CsrfToken`
//! from `rand`'s thread-local CSPRNG), so we use it here and keep its secret types at the edge.

use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use secrecy::{ExposeSecret, SecretString};

/// Bytes of randomness in `state`: 256 bits, 43 base64url characters (some payers require 16+ characters).
const STATE_BYTES: u32 = 32;

/// A fresh PKCE verifier and its S256 challenge.
pub(crate) fn new_pkce() -> (SecretString, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    (
        SecretString::from(verifier.into_secret()),
        challenge.as_str().to_owned(),
    )
}

/// The S256 challenge of `verifier`, or `None` when the verifier is not 43–128 unreserved characters
/// (RFC 7636 §4.1; the `oauth2` crate would panic on a wrong length, so it is checked first).
pub(crate) fn s256_challenge(verifier: &SecretString) -> Option<String> {
    let v = verifier.expose_secret();
    let valid = (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !valid {
        return None;
    }
    let challenge =
        PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(v.to_owned()));
    Some(challenge.as_str().to_owned())
}

/// A fresh `state` value.
pub(crate) fn new_state() -> SecretString {
    SecretString::from(CsrfToken::new_random_len(STATE_BYTES).into_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = SecretString::from("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            s256_challenge(&verifier).as_deref(),
            Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        );
    }

    #[test]
    fn generated_verifiers_follow_rfc7636() {
        let (verifier, challenge) = new_pkce();
        let v = verifier.expose_secret();
        assert!((43..=128).contains(&v.len()), "{}", v.len());
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        );
        // Unpadded base64url of a SHA-256 digest: 43 characters, no '='.
        assert_eq!(challenge.len(), 43);
        assert!(!challenge.contains('=') && !challenge.contains('+') && !challenge.contains('/'));
        assert_eq!(
            s256_challenge(&verifier).as_deref(),
            Some(challenge.as_str())
        );
        let (other, _) = new_pkce();
        assert_ne!(v, other.expose_secret());
    }

    #[test]
    fn invalid_verifiers_are_rejected_without_panicking() {
        for bad in ["short", &"a".repeat(129), &format!("{}!", "a".repeat(50))] {
            assert_eq!(
                s256_challenge(&SecretString::from(bad.to_owned())),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn state_has_at_least_128_bits() {
        let a = new_state();
        let b = new_state();
        // 32 bytes base64url-encoded without padding: 43 characters.
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
