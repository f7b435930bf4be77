//! Exact FHIR numbers: [`Decimal`] keeps the digits a payer wrote (`5.00` stays `5.00`) and
//! does exact arithmetic on them; [`Integer`] is the same for `integer`/`positiveInt`.
//!
//! serde_json would turn a number into an `f64` (losing `5.00` → `5.0` and digits beyond
//! 17) unless its `arbitrary_precision` feature is on, which would change serde_json for
//! every crate in a user's build. So numbers are captured as raw JSON text instead
//! (`Box<RawValue>`) and parsed here into an `i128` mantissa and a decimal scale.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserialize, Deserializer};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::element::Got;

/// An exact decimal number as written in FHIR JSON.
///
/// Plain numbers (`12`, `-3.50`) are held as an `i128` mantissa and a scale, and written
/// back with the same digits. Anything else that is still a valid JSON number (`1.5e3`,
/// `-0.0`, more than 38 digits), or a number a payer sent as a JSON string (`"12.50"`), is
/// kept as written and evaluated on demand.
///
/// Equality and ordering compare values (`5.00 == 5.0`); `to_string()` gives the text.
///
/// ```
/// use fhir_c4bb::Decimal;
/// let a: Decimal = "5.00".parse()?;
/// let b: Decimal = "0.125".parse()?;
/// let sum = a.checked_add(&b).unwrap();
/// assert_eq!(sum.to_string(), "5.125");
/// assert_eq!(a.to_string(), "5.00"); // precision is kept
/// assert!(a > b);
/// assert_eq!(a, "5".parse::<Decimal>()?);
/// # Ok::<(), fhir_c4bb::DecimalParseError>(())
/// ```
#[derive(Clone)]
pub struct Decimal {
    repr: Repr,
}

// 16 bytes: amounts are everywhere in an EOB, and a smaller Decimal makes every Money,
// Quantity and adjudication line smaller. Rare shapes pay an extra indirection instead.
#[derive(Clone)]
enum Repr {
    /// Plain notation that fits an `i64`; rendering gives the original text back.
    Exact { mantissa: i64, scale: u32 },
    /// Plain notation with 19 to 38 digits.
    Wide(Box<(i128, u32)>),
    /// Any other JSON (exponent, negative zero, too many digits, quoted): kept verbatim.
    Literal(Box<Box<RawValue>>),
}

/// The text given to [`Decimal::from_str`] is not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a decimal number: {0:?}")]
pub struct DecimalParseError(String);

impl Decimal {
    /// Zero, written `0`.
    pub const ZERO: Decimal = Decimal {
        repr: Repr::Exact {
            mantissa: 0,
            scale: 0,
        },
    };

    /// The largest scale (digits after the point) held as exact parts: far more than any
    /// amount or quantity needs, small enough that writing the digits out costs nothing.
    ///
    /// A value with a larger scale (`1e-4000000000`) is kept as written:
    /// [`to_parts`](Decimal::to_parts) gives `None`, arithmetic gives `None`, and
    /// formatting writes the lexeme, so no operation allocates by the exponent.
    pub const MAX_SCALE: u32 = 1000;

    /// `mantissa × 10^-scale`, written with exactly `scale` decimals.
    ///
    /// A scale above [`Decimal::MAX_SCALE`] is written in exponent form
    /// (`1e-5000`) instead of as thousands of zeros, and is not offered as exact parts.
    ///
    /// ```
    /// use fhir_c4bb::Decimal;
    /// assert_eq!(Decimal::new(-1250, 2).to_string(), "-12.50");
    /// let tiny = Decimal::new(1, 5000);
    /// assert_eq!(tiny.to_string(), "1e-5000");
    /// assert_eq!(tiny.to_parts(), None);
    /// ```
    pub fn new(mantissa: i128, scale: u32) -> Self {
        if scale > Self::MAX_SCALE {
            // Exponent notation is valid JSON number text, so RawValue accepts it.
            if let Ok(raw) = RawValue::from_string(format!("{mantissa}e-{scale}")) {
                return Decimal::literal(raw);
            }
        }
        match i64::try_from(mantissa) {
            Ok(mantissa) => Self {
                repr: Repr::Exact { mantissa, scale },
            },
            Err(_) => Self {
                repr: Repr::Wide(Box::new((mantissa, scale))),
            },
        }
    }

    fn literal(raw: Box<RawValue>) -> Self {
        Self {
            repr: Repr::Literal(Box::new(raw)),
        }
    }

    /// The value as `(mantissa, scale)`, or `None` when it does not fit an `i128`
    /// (more than 38 significant digits, or a huge exponent) or when its scale is above
    /// [`Decimal::MAX_SCALE`] (`1e-4000000000`): the parts are always safe to format.
    ///
    /// ```
    /// let d: fhir_c4bb::Decimal = "1.5e2".parse()?;
    /// assert_eq!(d.to_parts(), Some((150, 0)));
    /// assert_eq!(d.to_string(), "1.5e2");
    /// # Ok::<(), fhir_c4bb::DecimalParseError>(())
    /// ```
    pub fn to_parts(&self) -> Option<(i128, u32)> {
        match &self.repr {
            Repr::Exact { mantissa, scale } => Some((i128::from(*mantissa), *scale)),
            Repr::Wide(parts) => Some(**parts),
            Repr::Literal(raw) => parse_any(unquote(raw.get())),
        }
    }

    /// The value as an `i64` when it is a whole number that fits (any scale: `3.00` → 3).
    pub fn to_i64(&self) -> Option<i64> {
        let (m, s) = self.to_parts()?;
        let p = pow10(s)?;
        if m % p != 0 {
            return None;
        }
        i64::try_from(m / p).ok()
    }

    /// Whether the value is zero (`0`, `0.00`, `-0.0`).
    pub fn is_zero(&self) -> bool {
        self.to_parts().is_some_and(|(m, _)| m == 0)
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.to_parts().is_some_and(|(m, _)| m < 0)
    }

    /// Whether the payer sent this number as a JSON string (`"12.50"`), which FHIR does
    /// not allow; it is accepted and written back the same way.
    pub fn was_quoted(&self) -> bool {
        matches!(&self.repr, Repr::Literal(raw) if raw.get().starts_with('"'))
    }

    /// Exact sum, keeping the larger scale (`5.00 + 1.5 = 6.50`); `None` on overflow.
    pub fn checked_add(&self, other: &Decimal) -> Option<Decimal> {
        let ((a, b), scale) = align(self.to_parts()?, other.to_parts()?)?;
        Some(Decimal::new(a.checked_add(b)?, scale))
    }

    /// Exact difference, keeping the larger scale; `None` on overflow.
    pub fn checked_sub(&self, other: &Decimal) -> Option<Decimal> {
        let ((a, b), scale) = align(self.to_parts()?, other.to_parts()?)?;
        Some(Decimal::new(a.checked_sub(b)?, scale))
    }

    /// Exact product (scales add up); `None` on overflow.
    pub fn checked_mul(&self, other: &Decimal) -> Option<Decimal> {
        let (a, sa) = self.to_parts()?;
        let (b, sb) = other.to_parts()?;
        Some(Decimal::new(a.checked_mul(b)?, sa.checked_add(sb)?))
    }

    /// The negated value (`None` only for `i128::MIN`).
    pub fn checked_neg(&self) -> Option<Decimal> {
        let (m, s) = self.to_parts()?;
        Some(Decimal::new(m.checked_neg()?, s))
    }

    /// Reads a number (or a number in a string); any other JSON is handed back.
    fn from_raw(raw: Box<RawValue>) -> Result<Self, Box<RawValue>> {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'-' | b'0'..=b'9') => Ok(match parse_plain(text) {
                Some((mantissa, scale)) => Decimal::new(mantissa, scale),
                None => Decimal::literal(raw),
            }),
            Some(b'"') if is_number_text(unquote(text)) => Ok(Decimal::literal(raw)),
            _ => Err(raw),
        }
    }
}

impl Default for Decimal {
    fn default() -> Self {
        Decimal::ZERO
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Exact { mantissa, scale } => render(i128::from(*mantissa), *scale, f),
            Repr::Wide(parts) => render(parts.0, parts.1, f),
            Repr::Literal(raw) => f.write_str(unquote(raw.get())),
        }
    }
}

impl FromStr for Decimal {
    type Err = DecimalParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some((mantissa, scale)) = parse_plain(s) {
            return Ok(Decimal::new(mantissa, scale));
        }
        if is_number_text(s) {
            // Valid JSON number syntax (checked above), so RawValue accepts it.
            if let Ok(raw) = RawValue::from_string(s.to_owned()) {
                return Ok(Decimal::literal(raw));
            }
        }
        Err(DecimalParseError(s.to_owned()))
    }
}

impl From<i64> for Decimal {
    fn from(v: i64) -> Self {
        Decimal::new(i128::from(v), 0)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        match (self.to_parts(), other.to_parts()) {
            (Some(a), Some(b)) => cmp_parts(a, b) == Some(Ordering::Equal),
            _ => self.to_string() == other.to_string(),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        cmp_parts(self.to_parts()?, other.to_parts()?)
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.repr {
            Repr::Literal(raw) => raw.serialize(s),
            Repr::Exact { .. } | Repr::Wide(_) => match RawValue::from_string(self.to_string()) {
                Ok(raw) => raw.serialize(s),
                Err(e) => Err(serde::ser::Error::custom(e)),
            },
        }
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Decimal::from_raw(raw).map_err(|raw| {
            de::Error::custom(format_args!(
                "expected a decimal number, found {}",
                truncate(raw.get())
            ))
        })
    }
}

/// A number as a field value: anything that is no number is a mismatch, kept exactly.
fn read_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Got<Decimal>, D::Error> {
    let mut out = None;
    let got = crate::element::read_raw(d, |raw| match Decimal::from_raw(raw) {
        Ok(v) => {
            out = Some(v);
            Ok(Got::Value(RawValue::NULL.to_owned()))
        }
        Err(raw) => Ok(Got::Mismatch(raw)),
    })?;
    Ok(match (got, out) {
        (Got::Value(_), Some(v)) => Got::Value(v),
        (Got::Mismatch(raw), _) => Got::Mismatch(raw),
        _ => Got::Null,
    })
}

fn read_integer<'de, D: Deserializer<'de>>(d: D) -> Result<Got<Integer>, D::Error> {
    Ok(read_decimal(d)?.map_value(Integer))
}

crate::element::leaf_element!(Decimal, Number, read_decimal);

/// A FHIR `integer`, `positiveInt` or `unsignedInt`, kept exactly as written.
///
/// A payer may send `1.0` or `"2"` where an integer belongs; that still parses and
/// round-trips, and [`Integer::get`] says whether it is a usable whole number.
///
/// ```
/// let n: fhir_c4bb::Integer = serde_json::from_str("3")?;
/// assert_eq!(n.get(), Some(3));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, PartialOrd)]
pub struct Integer(Decimal);

impl Integer {
    /// The value when it is a whole number that fits an `i64`.
    pub fn get(&self) -> Option<i64> {
        match self.0.to_parts()? {
            (m, 0) => i64::try_from(m).ok(),
            _ => None,
        }
    }

    /// The number as a [`Decimal`].
    pub fn as_decimal(&self) -> &Decimal {
        &self.0
    }
}

impl From<i64> for Integer {
    fn from(v: i64) -> Self {
        Integer(Decimal::from(v))
    }
}

impl fmt::Debug for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Integer({})", self.0)
    }
}

impl fmt::Display for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Serialize for Integer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Integer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Decimal::deserialize(d).map(Integer)
    }
}

crate::element::leaf_element!(Integer, Number, read_integer);

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// `10^exp`, or `None` past `i128`.
fn pow10(exp: u32) -> Option<i128> {
    10i128.checked_pow(exp)
}

/// Scales two values to a common scale.
fn align((a, sa): (i128, u32), (b, sb): (i128, u32)) -> Option<((i128, i128), u32)> {
    let scale = sa.max(sb);
    let a = a.checked_mul(pow10(scale - sa)?)?;
    let b = b.checked_mul(pow10(scale - sb)?)?;
    Some(((a, b), scale))
}

fn cmp_parts(a: (i128, u32), b: (i128, u32)) -> Option<Ordering> {
    if let Some(((x, y), _)) = align(a, b) {
        return Some(x.cmp(&y));
    }
    // Too far apart in scale to align in i128: signs or magnitudes decide.
    let sign = |m: i128| m.signum();
    if sign(a.0) != sign(b.0) {
        return Some(sign(a.0).cmp(&sign(b.0)));
    }
    None
}

/// Parses the canonical plain form: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most 38 digits,
/// not negative zero. Exactly the texts that [`render`] reproduces.
fn parse_plain(s: &str) -> Option<(i128, u32)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let int_ok = int == "0" || (!int.is_empty() && !int.starts_with('0'));
    if !int_ok || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = frac.unwrap_or("");
    if body.contains('.') && frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if int.len() + frac.len() > 38 {
        return None;
    }
    let mut m: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        m = m * 10 + i128::from(b - b'0');
    }
    if neg {
        if m == 0 {
            return None;
        }
        m = -m;
    }
    let scale = u32::try_from(frac.len()).ok()?;
    Some((m, scale))
}

/// Whether `s` is a JSON number (`-?int(.frac)?([eE][+-]?digits)?`).
fn is_number_text(s: &str) -> bool {
    split_number(s).is_some()
}

/// Splits JSON number text into (negative, integer digits, fraction digits, exponent).
fn split_number(s: &str) -> Option<(bool, &str, &str, i64)> {
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (mant, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int, frac) = match mant.split_once('.') {
        Some((i, f)) if !f.is_empty() => (i, f),
        Some(_) => return None,
        None => (mant, ""),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    let exp = match exp {
        None => 0,
        Some(e) => {
            let body = e.strip_prefix(['+', '-']).unwrap_or(e);
            if body.is_empty() || !digits(body) {
                return None;
            }
            // Saturate: absurd exponents just fail to evaluate later.
            e.parse::<i64>().unwrap_or(if e.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            })
        }
    };
    Some((neg, int, frac, exp))
}

/// Evaluates any JSON number text exactly, or `None` if it does not fit.
fn parse_any(s: &str) -> Option<(i128, u32)> {
    let (neg, int, frac, exp) = split_number(s)?;
    let mut m: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        m = m.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    if neg {
        m = -m;
    }
    let scale = i64::try_from(frac.len()).ok()?.checked_sub(exp)?;
    if scale > i64::from(Decimal::MAX_SCALE) {
        // `1e-4000000000` fits an i128 mantissa, but nothing may be sized by that scale.
        return None;
    }
    if scale < 0 {
        let up = pow10(u32::try_from(-scale).ok()?)?;
        Some((m.checked_mul(up)?, 0))
    } else {
        Some((m, u32::try_from(scale).ok()?))
    }
}

fn render(mantissa: i128, scale: u32, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let digits = mantissa.unsigned_abs().to_string();
    if mantissa < 0 {
        f.write_str("-")?;
    }
    let scale = scale as usize;
    if scale == 0 {
        return f.write_str(&digits);
    }
    if digits.len() > scale {
        let (i, d) = digits.split_at(digits.len() - scale);
        write!(f, "{i}.{d}")
    } else {
        f.write_str("0.")?;
        for _ in digits.len()..scale {
            f.write_str("0")?;
        }
        f.write_str(&digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn plain_texts_round_trip_through_parts() {
        for s in [
            "0",
            "5.00",
            "-12.50",
            "0.05",
            "3.000",
            "123456789012345678901234567890.12345678",
        ] {
            let v = d(s);
            assert!(
                !matches!(v.repr, Repr::Literal(_)),
                "{s} should be held as parts"
            );
            assert_eq!(v.to_string(), s);
        }
    }

    #[test]
    fn other_json_numbers_are_kept_verbatim_and_evaluated() {
        assert_eq!(d("1.5E+2").to_parts(), Some((150, 0)));
        assert_eq!(d("1.5E+2").to_string(), "1.5E+2");
        assert_eq!(d("-0.00").to_string(), "-0.00");
        assert!(d("-0.00").is_zero());
        assert_eq!(d("25e-3").to_parts(), Some((25, 3)));
        let big = "1234567890123456789012345678901234567890.5";
        assert_eq!(d(big).to_string(), big);
        assert_eq!(d(big).to_parts(), None);
    }

    #[test]
    fn hostile_exponents_are_kept_as_written_and_never_expanded() {
        for s in [
            "1e-4000000000",
            "1e4000000000",
            "-7E-99999999999999999999",
            "1e-1001",
        ] {
            let v = d(s);
            assert_eq!(v.to_parts(), None, "{s}");
            assert_eq!(v.to_string(), s);
            assert_eq!(serde_json::to_string(&v).unwrap(), s);
            assert!(v.checked_add(&d("1")).is_none());
            assert!(v.checked_mul(&d("1")).is_none());
            assert_eq!(v.to_i64(), None);
        }
        // At the limit it is still exact.
        assert_eq!(d("1e-1000").to_parts(), Some((1, 1000)));
        // A product that would pass the limit leaves exact parts too.
        let p = d("1e-1000").checked_mul(&d("1e-1000")).unwrap();
        assert_eq!(p.to_parts(), None);
        assert_eq!(p.to_string(), "1e-2000");
        assert_eq!(
            Decimal::new(-3, u32::MAX).to_string(),
            format!("-3e-{}", u32::MAX)
        );
    }

    #[test]
    fn huge_digit_strings_are_kept_and_cost_their_length_only() {
        let long = "9".repeat(200_000);
        let v = d(&long);
        assert_eq!(v.to_parts(), None);
        assert_eq!(v.to_string(), long);
        let tiny = format!("0.{}1", "0".repeat(200_000));
        let v = d(&tiny);
        assert_eq!(v.to_parts(), None);
        assert_eq!(v.to_string().len(), tiny.len());
        let zeros = format!("1{}", "0".repeat(100_000));
        assert_eq!(d(&zeros).to_parts(), None);
    }

    #[test]
    fn rejects_non_numbers() {
        for s in ["", "-", "1.", ".5", "01", "1e", "abc", "1.2.3", "0x10"] {
            assert!(s.parse::<Decimal>().is_err(), "{s:?} must not parse");
        }
    }

    #[test]
    fn is_small() {
        assert_eq!(std::mem::size_of::<Decimal>(), 16);
        assert_eq!(std::mem::size_of::<Option<Decimal>>(), 16);
    }

    #[test]
    fn arithmetic_is_exact_and_keeps_scale() {
        assert_eq!(d("0.1").checked_add(&d("0.2")).unwrap().to_string(), "0.3");
        assert_eq!(
            d("5.00").checked_add(&d("1.5")).unwrap().to_string(),
            "6.50"
        );
        assert_eq!(d("10").checked_sub(&d("0.01")).unwrap().to_string(), "9.99");
        assert_eq!(d("1.5").checked_mul(&d("1.5")).unwrap().to_string(), "2.25");
        assert!(Decimal::new(i128::MAX, 0).checked_add(&d("1")).is_none());
    }

    #[test]
    fn compares_by_value() {
        assert_eq!(d("5.00"), d("5"));
        assert!(d("-1") < d("0.001"));
        assert_eq!(d("1e2").partial_cmp(&d("100.0")), Some(Ordering::Equal));
    }

    #[test]
    fn integer_get_requires_a_whole_number() {
        let one_point_oh: Integer = serde_json::from_str("1.0").unwrap();
        assert_eq!(one_point_oh.get(), None);
        assert_eq!(one_point_oh.as_decimal().to_i64(), Some(1));
        let n: Integer = serde_json::from_str("42").unwrap();
        assert_eq!(n.get(), Some(42));
    }

    #[test]
    fn quoted_numbers_are_accepted_and_written_back_quoted() {
        let v: Decimal = serde_json::from_str("\"12.50\"").unwrap();
        assert!(v.was_quoted());
        assert_eq!(v.to_parts(), Some((1250, 2)));
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"12.50\"");
        assert!(serde_json::from_str::<Decimal>("\"twelve\"").is_err());
        assert!(serde_json::from_str::<Decimal>("true").is_err());
    }
}
