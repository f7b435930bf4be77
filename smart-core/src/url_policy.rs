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
///
/// Its errors name the URL as `scheme://host:port/path` only: a query, fragment or userinfo may hold a secret.
pub fn parse_secure_url(s: &str) -> Result<Url> {
    let mut url = Url::parse(s).map_err(|e| {
        Error::Config(format!(
            "invalid URL {}: {e}",
            crate::http::redact_unparsed_url(s)
        ))
    })?;
    if url.cannot_be_a_base() {
        return Err(Error::Config(format!(
            "{} cannot be a base URL",
            crate::http::redact_unparsed_url(s)
        )));
    }
    require_secure(&url)?;
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

/// `url` as `scheme://host:port/path`, without its userinfo, query string and fragment (which may carry codes,
/// tokens or passwords), for errors and logs.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
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
        assert_eq!(r, "https://h.example/cb");
    }

    #[test]
    fn config_errors_from_parse_secure_url_keep_scheme_host_port_and_path_only() {
        for bad in [
            // Not a URL at all (a bad port), with a secret in the userinfo, the query and the fragment.
            "https://user:PASSWORD1@payer.example:99999/fhir?access_token=SECRET1#frag-SECRET2",
            // Cannot be a base.
            "mailto:PASSWORD1@x?subject=SECRET1#SECRET2",
            // A space in the host.
            "https://user:PASSWORD1@pay er.example/fhir?code=SECRET1",
        ] {
            let err = parse_secure_url(bad).unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err:?}");
            for shown in [err.to_string(), format!("{err:?}")] {
                for secret in ["PASSWORD1", "SECRET1", "SECRET2", "user"] {
                    assert!(!shown.contains(secret), "{secret} in {shown}");
                }
            }
        }
        let err =
            parse_secure_url("https://u:PASSWORD1@payer.example:99999/fhir?x=SECRET1").unwrap_err();
        assert!(
            err.to_string().contains("https://payer.example:99999/fhir"),
            "{err}"
        );
    }
}
