//! One GET to the payer's FHIR server, done right: origin and HTTPS checks, the bearer token, the per-payer
//! concurrency permit, retries on 429/5xx/dropped connections with the server's or a jittered wait, one token
//! refresh on 401, bounded bodies, and a `tracing` span that never sees a token or a query.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::ExposeSecret;
use tokio::sync::Semaphore;
use tracing::Instrument;
use url::{Origin, Url};

use super::model::outcome_issues;
use super::retry::{jittered_backoff, server_wait};
use crate::adapter::{PayerAdapter, RatePolicy};
use crate::error::{Error, Result, Stage, TransportKind};
use crate::http::{self, BodyObserver, ContentKind, Received};
use crate::token_source::TokenSource;
use crate::tokens::TokenSet;
use crate::url_policy::{redact_url, require_secure};

/// The shared state of one payer connection: everything but the member.
#[derive(Debug)]
pub(crate) struct Transport {
    pub adapter: Arc<dyn PayerAdapter>,
    pub http: reqwest::Client,
    pub permits: Semaphore,
    /// The FHIR base, without a trailing slash.
    pub base: Url,
    /// The base's origin first, then the adapter's trusted origins.
    pub origins: Vec<Origin>,
    pub accept: HeaderValue,
    pub policy: RatePolicy,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    pub max_pages: usize,
    /// Fetch the next page of a search while the current one is drained.
    pub read_ahead: bool,
}

/// How one attempt ended.
enum Attempt {
    Done(Received),
    /// 401: refresh once and try again.
    Unauthorized(Error),
    /// Worth another attempt after `wait` (the server's) or a backoff. `throttled` marks 429/503.
    Retry {
        error: Error,
        wait: Option<Duration>,
        throttled: Option<(u16, String)>,
    },
    Fatal(Error),
}

impl Transport {
    /// The resource base joined with `segments` (each percent-encoded as one path segment).
    pub fn url_for(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| Error::Config("the FHIR base cannot be a base URL".into()))?;
            path.pop_if_empty();
            for s in segments {
                if s.is_empty() || *s == "." || *s == ".." {
                    return Err(Error::Config(format!(
                        "{s:?} is not a valid FHIR id or path segment"
                    )));
                }
                path.push(s);
            }
        }
        Ok(url)
    }

    /// Fails unless the bearer token may be sent to `url`: HTTPS (or loopback HTTP), and the FHIR base's
    /// origin or one the adapter trusts.
    pub fn check_url(&self, url: &Url) -> Result<()> {
        require_secure(url)?;
        if self.origins.contains(&url.origin()) {
            Ok(())
        } else {
            Err(Error::ForeignOrigin {
                url: redact_url(url),
                expected: self.base.origin().ascii_serialization(),
            })
        }
    }

    /// GETs `url` for the member behind `tokens` and returns the successful (2xx) JSON answer.
    pub async fn get(&self, url: &Url, tokens: &dyn TokenSource) -> Result<Received> {
        self.get_observed(url, tokens, None).await
    }

    /// [`get`](Self::get) without a bearer token (the CapabilityStatement at `metadata`, which servers
    /// serve unauthenticated): same checks, retries and limits; a 401 is final.
    pub async fn get_anonymous(&self, url: &Url) -> Result<Received> {
        self.check_url(url)?;
        let span = tracing::info_span!(
            "fhir.request",
            method = "GET",
            path = url.path(),
            status = tracing::field::Empty,
            attempt = tracing::field::Empty,
            wait_ms = tracing::field::Empty,
        );
        self.get_with_retries(url, None, None)
            .instrument(span)
            .await
    }

    /// [`get`](Self::get), showing the successful answer's body to `observer` as it arrives (on every attempt
    /// that gets a 2xx answer: a dropped connection's partial body included).
    pub async fn get_observed(
        &self,
        url: &Url,
        tokens: &dyn TokenSource,
        observer: Option<BodyObserver<'_>>,
    ) -> Result<Received> {
        self.check_url(url)?;
        let span = tracing::info_span!(
            "fhir.request",
            method = "GET",
            path = url.path(),
            status = tracing::field::Empty,
            attempt = tracing::field::Empty,
            wait_ms = tracing::field::Empty,
        );
        self.get_with_retries(url, Some(tokens), observer)
            .instrument(span)
            .await
    }

    async fn get_with_retries(
        &self,
        url: &Url,
        tokens: Option<&dyn TokenSource>,
        mut observer: Option<BodyObserver<'_>>,
    ) -> Result<Received> {
        let policy = &self.policy;
        let max_attempts = policy.max_attempts.max(1);
        let mut token = match tokens {
            Some(tokens) => Some(tokens.current().await?),
            None => None,
        };
        let mut started: Option<Instant> = None;
        let mut attempts = 0u32;
        let mut sent = 0u32;
        let mut refreshed = false;
        let mut waited = Duration::ZERO;
        loop {
            attempts += 1;
            sent += 1;
            let span = tracing::Span::current();
            span.record("attempt", sent);
            let outcome = {
                // The permit covers the request and its body, never a wait: a throttled member must not hold
                // back the others.
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| Error::Config("the FHIR connection pool was closed".into()))?;
                let start = *started.get_or_insert_with(Instant::now);
                let remaining = policy.request_budget.saturating_sub(start.elapsed());
                if remaining.is_zero() {
                    return Err(budget_spent(url, attempts - 1, waited));
                }
                let observer = observer.as_deref_mut();
                self.attempt(
                    url,
                    token.as_deref(),
                    remaining.min(self.request_timeout),
                    observer,
                )
                .await
            };
            match outcome {
                Attempt::Done(received) => {
                    span.record("status", received.status.as_u16());
                    return Ok(received);
                }
                Attempt::Unauthorized(error) => {
                    span.record("status", 401);
                    let (Some(tokens), Some(rejected)) = (tokens, token.as_ref()) else {
                        return Err(error);
                    };
                    if refreshed {
                        return Err(error);
                    }
                    refreshed = true;
                    // The retry after a refresh is owed to the token, not to the server: it does not count.
                    attempts -= 1;
                    tracing::debug!("401: refreshing the access token once");
                    token = Some(tokens.refresh_after_rejection(rejected).await?);
                }
                Attempt::Fatal(error) => {
                    if let Some(status) = http_status(&error) {
                        span.record("status", status);
                    }
                    return Err(error);
                }
                Attempt::Retry {
                    error,
                    wait,
                    throttled,
                } => {
                    if let Some(status) = throttled.as_ref().map(|t| t.0).or(http_status(&error)) {
                        span.record("status", status);
                    }
                    let exhausted = || match &throttled {
                        Some((status, excerpt)) => Error::RateLimited {
                            stage: Stage::Fhir,
                            url: redact_url(url),
                            attempts,
                            waited,
                            payer_hint: self.adapter.explain_response(*status, excerpt),
                        },
                        None => error,
                    };
                    if attempts >= max_attempts {
                        return Err(exhausted());
                    }
                    let wait = match wait {
                        Some(asked) => asked.min(policy.max_backoff),
                        None => jittered_backoff(
                            attempts,
                            policy.base_backoff,
                            policy.max_backoff,
                            &mut rand::rng(),
                        ),
                    };
                    let elapsed = started.map_or(Duration::ZERO, |s| s.elapsed());
                    if !fits_budget(elapsed, wait, policy.request_budget) {
                        return Err(exhausted());
                    }
                    span.record(
                        "wait_ms",
                        u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    );
                    tracing::debug!(
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "retrying after a transient failure"
                    );
                    tokio::time::sleep(wait).await;
                    waited = waited.saturating_add(wait);
                    // The wait may have outlived the access token.
                    if let Some(tokens) = tokens {
                        token = Some(tokens.current().await?);
                    }
                }
            }
        }
    }

    async fn attempt(
        &self,
        url: &Url,
        token: Option<&TokenSet>,
        timeout: Duration,
        observer: Option<BodyObserver<'_>>,
    ) -> Attempt {
        let mut request = self
            .http
            .get(url.clone())
            .header(ACCEPT, self.accept.clone())
            .timeout(timeout);
        if let Some(token) = token {
            let mut auth = match HeaderValue::from_str(&format!(
                "Bearer {}",
                token.access_token().expose_secret()
            )) {
                Ok(v) => v,
                Err(_) => {
                    return Attempt::Fatal(Error::Config(
                        "the access token has characters that cannot be sent in an HTTP header"
                            .into(),
                    ));
                }
            };
            auth.set_sensitive(true);
            request = request.header(AUTHORIZATION, auth);
        }
        let sent = http::send_observed(
            &self.http,
            request,
            Stage::Fhir,
            self.max_body_bytes,
            observer,
        );
        let received = match sent.await {
            Ok(r) => r,
            Err(
                e @ Error::Transport {
                    kind:
                        TransportKind::Timeout | TransportKind::Interrupted | TransportKind::Connect,
                    ..
                },
            ) => {
                return Attempt::Retry {
                    error: e,
                    wait: None,
                    throttled: None,
                };
            }
            Err(e) => return Attempt::Fatal(e),
        };
        let status = received.status;
        if status.is_success() {
            return match received.kind() {
                ContentKind::Html | ContentKind::Xml => {
                    Attempt::Fatal(received.unexpected(Stage::Fhir, self.adapter.as_ref()))
                }
                _ => Attempt::Done(received),
            };
        }
        let error = self.error_for(&received);
        if status == StatusCode::UNAUTHORIZED {
            return Attempt::Unauthorized(error);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            let excerpt = http::excerpt(&received.body).to_string();
            return Attempt::Retry {
                error,
                wait: server_wait(&received.headers, SystemTime::now()),
                throttled: Some((status.as_u16(), excerpt)),
            };
        }
        if status.is_server_error()
            && !self
                .adapter
                .is_permanent_failure(status.as_u16(), http::excerpt(&received.body).as_str())
        {
            return Attempt::Retry {
                error,
                wait: server_wait(&received.headers, SystemTime::now()),
                throttled: None,
            };
        }
        Attempt::Fatal(error)
    }

    /// The typed error for a non-2xx answer: the server's `OperationOutcome` when it sent one, else an
    /// unexpected-response error with a short excerpt.
    fn error_for(&self, received: &Received) -> Error {
        if matches!(received.kind(), ContentKind::Json | ContentKind::Other)
            && let Some(issues) = outcome_issues(&received.body)
        {
            let status = received.status.as_u16();
            let excerpt = http::excerpt(&received.body);
            return Error::OperationOutcome {
                status,
                url: received.safe_url(),
                issues,
                payer_hint: self.adapter.explain_response(status, excerpt.as_str()),
            };
        }
        received.unexpected(Stage::Fhir, self.adapter.as_ref())
    }
}

/// The HTTP status an error carries, for the request span.
fn http_status(error: &Error) -> Option<u16> {
    match error {
        Error::UnexpectedResponse { status, .. } | Error::OperationOutcome { status, .. } => {
            Some(*status)
        }
        _ => None,
    }
}

/// True when waiting `wait` more after `elapsed` still ends inside `budget`. Saturates: a server may ask for
/// `Retry-After: 18446744073709551615` and an adapter may set `max_backoff` to `Duration::MAX`.
fn fits_budget(elapsed: Duration, wait: Duration, budget: Duration) -> bool {
    elapsed.saturating_add(wait) < budget
}

fn budget_spent(url: &Url, attempts: u32, waited: Duration) -> Error {
    Error::Transport {
        stage: Stage::Fhir,
        url: redact_url(url),
        kind: TransportKind::Timeout,
        source: Some(
            format!(
                "the request budget was spent after {attempts} attempts and {waited:?} of waits"
            )
            .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_that_would_overflow_does_not_fit_any_budget() {
        let huge = Duration::from_secs(u64::MAX);
        assert!(!fits_budget(Duration::from_secs(1), huge, Duration::MAX));
        assert!(!fits_budget(Duration::MAX, Duration::MAX, Duration::MAX));
        assert!(fits_budget(
            Duration::from_secs(1),
            Duration::from_secs(1),
            Duration::from_secs(3)
        ));
        assert!(!fits_budget(
            Duration::from_secs(1),
            Duration::from_secs(2),
            Duration::from_secs(3)
        ));
    }
}
