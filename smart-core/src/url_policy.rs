//! Where tokens may travel: HTTPS everywhere except loopback, and the bearer token only to trusted origins.

use url::{Host, Url};

use crate::{Error, Result};

/// True when `url` points at a loopback host (127.0.0.0/8, ::1 or `localhost`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Fails with [`Error::InsecureUrl`] for plain HTTP off loopback, and with [`Error::Config`] for a scheme other
/// than `https` or `http`.
pub fn require_secure(url: &Url) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Error::InsecureUrl {
            url: redact_url(url),
        }),
        // Not a weaker HTTP: a scheme this SDK does not speak at all.
        scheme => Err(Error::Config(format!(
            "unsupported URL scheme `{scheme}:` in {}: use https:// (or http:// on 127.0.0.1/localhost)",
            redact_url(url)
        ))),
    }
}

/// Parses `s` and checks it with [`require_secure`]. A trailing slash on the path is removed, so
/// `https://x/fhir/` and `https://x/fhir` name the same base.
pub fn parse_secure_url(s: &str) -> Result<Url> {
    let mut url = Url::parse(s).map_err(|e| Error::Config(format!("invalid URL {s:?}: {e}")))?;
    if url.cannot_be_a_base() {
        return Err(Error::Config(format!("{s:?} cannot be a base URL")));
    }
    require_secure(&url)?;
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

/// `url` without its query string and fragment (which may carry codes or tokens), for errors and logs.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheme_other_than_http_is_unsupported_not_insecure() {
        for other in [
            "ftp://127.0.0.1/",
            "ftp://fhir.example.org/r4",
            "file:///etc/fhir",
        ] {
            match parse_secure_url(other) {
                Err(Error::Config(message)) => {
                    assert!(message.contains("unsupported URL scheme"), "{message}");
                    assert!(!message.contains("insecure"), "{message}");
                }
                other_result => panic!("{other}: {other_result:?}"),
            }
        }
    }

    #[test]
    fn https_and_loopback_http_are_allowed_plain_http_elsewhere_is_not() {
        for ok in [
            "https://payer.example/fhir",
            "http://127.0.0.1:8080/fhir",
            "http://localhost/x",
            "http://[::1]:9/",
        ] {
            assert!(parse_secure_url(ok).is_ok(), "{ok}");
        }
        for bad in ["http://payer.example/fhir", "http://10.0.0.1/fhir"] {
            assert!(
                matches!(parse_secure_url(bad), Err(Error::InsecureUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn redaction_drops_query_fragment_and_password() {
        let u = Url::parse("https://u:pw@h.example/cb?code=SECRET#frag").unwrap();
        let r = redact_url(&u);
        assert!(
            !r.contains("SECRET") && !r.contains("pw") && !r.contains("frag"),
            "{r}"
        );
    }
}
