//! FHIR `date`, `dateTime` and `instant` values: the text as sent, plus its precision.
//!
//! Payers send every precision (`"2018"`, `"2018-03"`, `"2018-03-01T10:00:00-05:00"`) and
//! sometimes text that is no date at all. Parsing never fails on the content: the text is
//! kept, and [`DateTime::parse`] / `validate()` say whether and how it can be read.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How much of a FHIR date/dateTime/instant was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Precision {
    /// `YYYY`
    Year,
    /// `YYYY-MM`
    Month,
    /// `YYYY-MM-DD`
    Day,
    /// `YYYY-MM-DDThh:mm:ss` with a zone, no fraction.
    Second,
    /// `YYYY-MM-DDThh:mm:ss.f…` with a zone.
    Fraction,
}

/// The parts of a valid FHIR date/dateTime/instant; fields past the precision are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DateParts {
    /// The year, 0001–9999.
    pub year: u16,
    /// The month, 1–12 (or 0 below [`Precision::Month`]).
    pub month: u8,
    /// The day of the month (or 0 below [`Precision::Day`]).
    pub day: u8,
    /// Hour, minute, second (zero below [`Precision::Second`]).
    pub time: (u8, u8, u8),
    /// The zone offset in minutes east of UTC, when a time was given.
    pub offset_minutes: Option<i16>,
    /// How much was given.
    pub precision: Precision,
}

/// A FHIR `date`, `dateTime` or `instant`, kept exactly as sent.
///
/// ```
/// use fhir_c4bb::{DateTime, Precision};
/// let year_only = DateTime::from("2018");
/// assert_eq!(year_only.precision(), Some(Precision::Year));
/// let full = DateTime::from("2019-02-28T10:30:00-05:00");
/// assert_eq!(full.parse().map(|p| (p.year, p.month, p.day)), Some((2019, 2, 28)));
/// let junk = DateTime::from("02/28/2019");
/// assert!(junk.parse().is_none());
/// assert_eq!(junk.as_str(), "02/28/2019"); // kept, reported by validate()
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTime(String);

impl DateTime {
    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Reads the text per the FHIR grammar; `None` if it is not a valid date/dateTime.
    pub fn parse(&self) -> Option<DateParts> {
        parse(&self.0)
    }

    /// The precision, when the text is valid.
    pub fn precision(&self) -> Option<Precision> {
        self.parse().map(|p| p.precision)
    }

    /// Whether the text is a valid FHIR date/dateTime/instant.
    pub fn is_valid(&self) -> bool {
        self.parse().is_some()
    }

    /// `YYYY-MM-DD` when the text has at least day precision (the date part, zone ignored).
    pub fn date(&self) -> Option<&str> {
        let p = self.parse()?;
        (p.precision >= Precision::Day).then(|| &self.0[..10])
    }
}

impl From<&str> for DateTime {
    fn from(s: &str) -> Self {
        DateTime(s.to_owned())
    }
}

impl From<String> for DateTime {
    fn from(s: String) -> Self {
        DateTime(s)
    }
}

impl fmt::Debug for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DateTime({:?})", self.0)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(DateTime)
    }
}

crate::element::leaf_element!(DateTime, String, crate::element::read_string);

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse(s: &str) -> Option<DateParts> {
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut it = date.split('-');
    let y = it.next().filter(|y| y.len() == 4).and_then(num)?;
    let m = match it.next() {
        Some(m) if m.len() == 2 => Some(num(m)?),
        Some(_) => return None,
        None => None,
    };
    let d = match it.next() {
        Some(d) if d.len() == 2 => Some(num(d)?),
        Some(_) => return None,
        None => None,
    };
    if it.next().is_some() || y == 0 {
        return None;
    }
    let mut out = DateParts {
        year: u16::try_from(y).ok()?,
        month: 0,
        day: 0,
        time: (0, 0, 0),
        offset_minutes: None,
        precision: Precision::Year,
    };
    if let Some(m) = m {
        if !(1..=12).contains(&m) {
            return None;
        }
        out.month = u8::try_from(m).ok()?;
        out.precision = Precision::Month;
    }
    if let Some(d) = d {
        if d == 0 || d > days_in_month(y, m?) {
            return None;
        }
        out.day = u8::try_from(d).ok()?;
        out.precision = Precision::Day;
    }
    let Some(time) = time else { return Some(out) };
    // A time needs a full date before it.
    d?;
    // hh:mm:ss(.f+)?(Z|±hh:mm); FHIR requires the zone when a time is given.
    let (clock, zone) = if let Some(c) = time.strip_suffix('Z') {
        (c, Some(0i16))
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, z) = time.split_at(i);
        let sign: i16 = if z.starts_with('-') { -1 } else { 1 };
        let (zh, zm) = z[1..].split_once(':')?;
        if zh.len() != 2 || zm.len() != 2 {
            return None;
        }
        let (zh, zm) = (num(zh)?, num(zm)?);
        if zh > 14 || zm > 59 {
            return None;
        }
        (c, Some(sign * i16::try_from(zh * 60 + zm).ok()?))
    } else {
        return None;
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((h, f)) => (h, Some(f)),
        None => (clock, None),
    };
    let mut parts = hms.split(':');
    let mut two = |max: u32| -> Option<u8> {
        let p = parts.next().filter(|p| p.len() == 2)?;
        let v = num(p)?;
        if v > max {
            return None;
        }
        u8::try_from(v).ok()
    };
    let (h, mi, se) = (two(23)?, two(59)?, two(60)?);
    if parts.next().is_some() {
        return None;
    }
    out.time = (h, mi, se);
    out.offset_minutes = zone;
    out.precision = match frac {
        None => Precision::Second,
        Some(f) if num(f).is_some() => Precision::Fraction,
        Some(_) => return None,
    };
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fhir_precision_parses() {
        let cases = [
            ("2018", Precision::Year),
            ("2018-03", Precision::Month),
            ("2018-03-31", Precision::Day),
            ("2018-03-31T23:59:59Z", Precision::Second),
            ("2018-03-31T23:59:59.123-05:00", Precision::Fraction),
            ("2020-02-29T00:00:00+14:00", Precision::Second),
        ];
        for (s, p) in cases {
            assert_eq!(DateTime::from(s).precision(), Some(p), "{s}");
        }
    }

    #[test]
    fn invalid_texts_are_not_dates() {
        for s in [
            "",
            "18",
            "2018-3",
            "2018-13",
            "2019-02-29",
            "2018-04-31",
            "2018-03-31T10:00",
            "2018-03-31T10:00:00",
            "2018-03-31T25:00:00Z",
            "02/28/2019",
            "2018-03T10:00:00Z",
            "0000",
        ] {
            assert!(DateTime::from(s).parse().is_none(), "{s:?} must be invalid");
        }
    }

    #[test]
    fn date_part_needs_day_precision() {
        assert_eq!(
            DateTime::from("2018-03-31T10:00:00Z").date(),
            Some("2018-03-31")
        );
        assert_eq!(DateTime::from("2018-03").date(), None);
    }
}
