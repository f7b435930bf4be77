//! Measured amounts: `Money`, `Quantity` (also Age, Count, Distance, Duration,
//! SimpleQuantity), `Range` and `Ratio`, all with exact [`Decimal`] values.

use std::fmt;

use crate::Decimal;
use crate::datatypes::Extension;
use crate::macros::fhir_struct;

fhir_struct! {
    /// An amount of money: an exact decimal and an ISO 4217 currency.
    ///
    /// ```
    /// let m: fhir_c4bb::Money = fhir_c4bb::from_str(r#"{"value":120.00,"currency":"USD"}"#)?;
    /// assert_eq!(m.to_string(), "120.00 USD");
    /// assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"value":120.00,"currency":"USD"}"#);
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Money {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// The amount, with the digits as sent.
        pub value: Option<Decimal> = "value",
        /// ISO 4217 currency code (`USD`).
        pub currency: Option<String> = "currency",
    }
}

impl Money {
    /// An amount in a currency.
    pub fn new(value: Decimal, currency: impl Into<String>) -> Self {
        Money {
            value: Some(value),
            currency: Some(currency.into()),
            ..Default::default()
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.value, &self.currency) {
            (Some(v), Some(c)) => write!(f, "{v} {c}"),
            (Some(v), None) => write!(f, "{v}"),
            (None, Some(c)) => write!(f, "? {c}"),
            (None, None) => f.write_str("?"),
        }
    }
}

fhir_struct! {
    /// A measured amount (also used for Age, Count, Distance, Duration and SimpleQuantity).
    ///
    /// ```
    /// let q: fhir_c4bb::datatypes::Quantity = fhir_c4bb::from_str(r#"{"value":30,"unit":"days"}"#)?;
    /// assert_eq!(q.value.map(|v| v.to_string()), Some("30".to_owned()));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Quantity {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// The value, with the digits as sent.
        pub value: Option<Decimal> = "value",
        /// `<`, `<=`, `>=`, `>`.
        pub comparator: Option<String> = "comparator",
        /// Unit for people.
        pub unit: Option<String> = "unit",
        /// Unit system (UCUM).
        pub system: Option<String> = "system",
        /// Coded unit.
        pub code: Option<String> = "code",
    }
}

fhir_struct! {
    /// A range of quantities.
    pub struct Range {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Low bound.
        pub low: Option<Quantity> = "low",
        /// High bound.
        pub high: Option<Quantity> = "high",
    }
}

fhir_struct! {
    /// A ratio of two quantities.
    pub struct Ratio {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Numerator.
        pub numerator: Option<Quantity> = "numerator",
        /// Denominator.
        pub denominator: Option<Quantity> = "denominator",
    }
}
