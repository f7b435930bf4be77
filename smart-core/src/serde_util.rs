//! Serde helpers: secrets written out deliberately (for stores and sessions), times as unix seconds, and a small
//! RFC 3339 parser for the dates payers put in token responses.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serializer};

/// A [`SecretString`] serialized as its plain value. Only for types whose whole purpose is to be persisted
/// (a token store record, a pending authorization kept in the member's session).
pub(crate) mod secret {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &SecretString, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.expose_secret())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        Ok(SecretString::from(String::deserialize(d)?))
    }
}

/// An optional [`SecretString`], serialized as its plain value or `null`.
pub(crate) mod secret_opt {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<SecretString>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_some(v.expose_secret()),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SecretString>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(SecretString::from))
    }
}

/// A [`SystemTime`] as whole unix seconds.
pub(crate) mod unix_secs {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(to_unix(*value))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        Ok(from_unix(u64::deserialize(d)?))
    }
}

/// An optional [`SystemTime`] as whole unix seconds or `null`.
pub(crate) mod unix_secs_opt {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        value: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_some(&to_unix(*v)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(from_unix))
    }
}

/// Whole seconds since the unix epoch (0 for earlier times).
pub(crate) fn to_unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The latest time the SDK represents: 9999-12-31T23:59:59Z. Larger values (a payer's `u64::MAX`, a corrupted
/// store record) are clamped to it rather than overflowing `SystemTime`, which would panic.
pub(crate) const MAX_UNIX_SECS: u64 = 253_402_300_799;

/// The time `secs` seconds after the unix epoch (clamped to [`MAX_UNIX_SECS`]).
pub(crate) fn from_unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.min(MAX_UNIX_SECS))
}

/// `base + d`, clamped instead of panicking on overflow.
pub(crate) fn add_clamped(base: SystemTime, d: Duration) -> SystemTime {
    base.checked_add(d)
        .filter(|t| to_unix(*t) <= MAX_UNIX_SECS)
        .unwrap_or_else(|| from_unix(MAX_UNIX_SECS))
}

/// Parses an RFC 3339 / ISO 8601 date-time such as `2026-05-01T12:00:00Z`, `2026-05-01 12:00:00.123456Z` (CMS
/// Blue Button's `access_grant_expiration`) or `2026-05-01T12:00:00-05:00`; a bare date means its midnight UTC.
/// Returns `None` for anything else, and for times before 1970.
pub(crate) fn parse_datetime(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (mut secs_of_day, mut offset) = (0i64, 0i64);
    if b.len() > 10 {
        if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (h, m, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        if h > 23 || m > 59 || sec > 60 {
            return None;
        }
        secs_of_day = h * 3600 + m * 60 + sec;
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        match b.get(i) {
            None => {}
            Some(b'Z' | b'z') if i + 1 == b.len() => {}
            Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
                let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
                offset = (oh * 3600 + om * 60) * if *sign == b'+' { 1 } else { -1 };
            }
            _ => return None,
        }
    }
    let days = days_from_civil(year, month, day);
    let total = days * 86_400 + secs_of_day - offset;
    u64::try_from(total).ok().map(from_unix)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_in_the_shapes_payers_send() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00Z"), Some(from_unix(0)));
        assert_eq!(
            parse_datetime("2024-02-29T12:34:56Z"),
            Some(from_unix(1_709_210_096))
        );
        assert_eq!(
            parse_datetime("2024-02-29 12:34:56.592386Z"),
            Some(from_unix(1_709_210_096))
        );
        assert_eq!(
            parse_datetime("2024-02-29T07:34:56-05:00"),
            Some(from_unix(1_709_210_096))
        );
        assert_eq!(parse_datetime("2024-03-01"), Some(from_unix(1_709_251_200)));
        for bad in [
            "",
            "tomorrow",
            "2024-13-01",
            "2024-02-29T25:00:00Z",
            "2024-02-29T12:34:56Q",
            "1969-12-31",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }
}
