//! `Period`: a time range with optional ends.

use crate::DateTime;
use crate::datatypes::Extension;
use crate::macros::fhir_struct;

fhir_struct! {
    /// A time range; either end may be missing.
    ///
    /// ```
    /// let p: fhir_c4bb::datatypes::Period = fhir_c4bb::from_str(r#"{"start":"2019-01-01"}"#)?;
    /// assert_eq!(p.start.as_ref().map(|d| d.as_str()), Some("2019-01-01"));
    /// assert!(p.end.is_none());
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Period {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Start, inclusive.
        pub start: Option<DateTime> = "start",
        /// End, inclusive.
        pub end: Option<DateTime> = "end",
    }
}

impl Period {
    /// A period from `start` to `end`.
    pub fn new(start: impl Into<DateTime>, end: impl Into<DateTime>) -> Self {
        Period {
            start: Some(start.into()),
            end: Some(end.into()),
            ..Default::default()
        }
    }
}
