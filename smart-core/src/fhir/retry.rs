//! How long to wait before retrying: what the server asks for (`Retry-After`, `X-RateLimit-Reset`), bounded, or
//! exponential backoff with full jitter when it asks for nothing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Values of `X-RateLimit-Reset` above this are Unix timestamps; below, seconds from now. Payers use both
/// conventions; no delta is ever 30 years long and no timestamp is before 2001.
const EPOCH_THRESHOLD_SECS: f64 = 1e9;

/// The wait the server asked for, read from `Retry-After` (delta-seconds or an HTTP-date) and, failing that,
/// `X-RateLimit-Reset` (Unix seconds or delta-seconds, told apart by size). A time in the past means "now".
/// `None` when neither header is present and readable.
pub(crate) fn server_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(v) = header_str(headers, RETRY_AFTER.as_str()) {
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(at) = httpdate::parse_http_date(v) {
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    let reset = header_str(headers, "x-ratelimit-reset")?;
    let secs: f64 = reset
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)?;
    if secs > EPOCH_THRESHOLD_SECS {
        let at = UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)?;
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    } else {
        Duration::try_from_secs_f64(secs).ok()
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Exponential backoff with full jitter: a uniform draw from `[0, min(max, base * 2^(retry-1))]`, where `retry`
/// counts from 1. Full jitter spreads many clients that were throttled together (the 200 members of one batch).
pub(crate) fn jittered_backoff(
    retry: u32,
    base: Duration,
    max: Duration,
    rng: &mut impl Rng,
) -> Duration {
    let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(31));
    let ceiling = base.saturating_mul(factor).min(max);
    let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rng.random_range(0..=micros))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn retry_after_delta_seconds() {
        let now = SystemTime::now();
        assert_eq!(
            server_wait(&headers(&[("retry-after", " 7 ")]), now),
            Some(Duration::from_secs(7))
        );
    }

    #[test]
    fn retry_after_http_date_future_and_past() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            server_wait(&headers(&[("retry-after", &later)]), now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(
            server_wait(&headers(&[("retry-after", &earlier)]), now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn rate_limit_reset_epoch_or_delta() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            server_wait(&headers(&[("x-ratelimit-reset", "1700000012")]), now),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            server_wait(&headers(&[("x-ratelimit-reset", "12")]), now),
            Some(Duration::from_secs(12))
        );
        assert_eq!(
            server_wait(&headers(&[("x-ratelimit-reset", "1.5")]), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            server_wait(&headers(&[("x-ratelimit-reset", "1600000000")]), now),
            Some(Duration::ZERO),
            "a reset time in the past means retry now"
        );
    }

    #[test]
    fn retry_after_wins_and_garbage_is_ignored() {
        let now = SystemTime::now();
        assert_eq!(
            server_wait(
                &headers(&[("retry-after", "2"), ("x-ratelimit-reset", "60")]),
                now
            ),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            server_wait(
                &headers(&[("retry-after", "soon"), ("x-ratelimit-reset", "3")]),
                now
            ),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            server_wait(&headers(&[("x-ratelimit-reset", "-4")]), now),
            None
        );
        assert_eq!(
            server_wait(&headers(&[("x-ratelimit-reset", "NaN")]), now),
            None
        );
        assert_eq!(server_wait(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_doubles_its_ceiling_is_capped_and_is_jittered() {
        let mut rng = StdRng::seed_from_u64(7);
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(1000);
        for retry in 1..=40 {
            let ceiling = (base * 2u32.pow((retry - 1).min(20))).min(max);
            let draws: Vec<_> = (0..200)
                .map(|_| jittered_backoff(retry, base, max, &mut rng))
                .collect();
            assert!(draws.iter().all(|d| *d <= ceiling), "retry {retry}");
            // Full jitter: the draws spread over the whole range, not bunched at the ceiling.
            assert!(draws.iter().any(|d| *d < ceiling / 4), "retry {retry}");
            assert!(draws.iter().any(|d| *d > ceiling * 3 / 4), "retry {retry}");
        }
    }
}
