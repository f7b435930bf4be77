//! Which of a payer's deployments an adapter talks to, and how a payer's published URLs are turned into `Url`s
//! (optionally moved onto a simulator's loopback origin, keeping their paths).

use url::Url;

/// A payer deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Environment {
    /// The payer's developer sandbox with synthetic members. Credentials do not cross over to production.
    Sandbox,
    /// The payer's production API with real members.
    Production,
}

impl Environment {
    /// `sandbox` or `production`, as used in adapter ids (`aetna-sandbox`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::Production => "production",
        }
    }
}

impl std::fmt::Display for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Turns a payer's published URLs into `Url`s, on the real host or moved onto a simulator's origin.
///
/// Moving keeps the path and query, so a simulator serves each payer at the same paths as the real one, and the
/// same profile code (one place for each piece of knowledge) builds both the real and the simulated adapter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place<'a> {
    origin: Option<&'a Url>,
}

impl<'a> Place<'a> {
    /// The payer's real hosts.
    pub(crate) const REAL: Place<'static> = Place { origin: None };

    /// Every URL moved onto `origin` (scheme, host and port), paths kept.
    #[cfg(feature = "simulator")]
    pub(crate) fn at(origin: &'a Url) -> Self {
        Place {
            origin: Some(origin),
        }
    }

    /// `published` as a `Url` in this place.
    pub(crate) fn url(&self, published: &str) -> Url {
        let real = known_url(published);
        match self.origin {
            None => real,
            Some(origin) => {
                let mut moved = origin.clone();
                moved.set_path(real.path());
                moved.set_query(real.query());
                moved.set_fragment(None);
                moved
            }
        }
    }
}

/// Parses one of this crate's published-URL constants.
///
/// Every constant passed here is a literal in this crate, and `every_published_url_parses` (in the directory
/// tests) builds every adapter of every environment, so a typo fails the test suite, never a user.
#[allow(clippy::expect_used)]
pub(crate) fn known_url(published: &str) -> Url {
    Url::parse(published).expect("payer-quirks URL constants are valid (covered by tests)")
}
