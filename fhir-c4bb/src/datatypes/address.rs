//! `Address`: a postal address.

use crate::datatypes::{Extension, Period};
use crate::macros::fhir_struct;

fhir_struct! {
    /// A postal address.
    ///
    /// ```
    /// let a: fhir_c4bb::datatypes::Address =
    ///     fhir_c4bb::from_str(r#"{"line":["123 Main St"],"city":"Boston","state":"MA","country":"US"}"#)?;
    /// assert_eq!(a.state.as_deref(), Some("MA"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Address {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// `home`, `work`, `billing`...
        pub use_: Option<String> = "use",
        /// `postal`, `physical`, `both`.
        pub type_: Option<String> = "type",
        /// The whole address as text.
        pub text: Option<String> = "text",
        /// Street lines.
        pub line: Vec<String> = "line",
        /// City.
        pub city: Option<String> = "city",
        /// District or county.
        pub district: Option<String> = "district",
        /// State (US: two-letter code).
        pub state: Option<String> = "state",
        /// Postal code.
        pub postal_code: Option<String> = "postalCode",
        /// Country (C4BB Patient: must support).
        pub country: Option<String> = "country",
        /// When it was in use.
        pub period: Option<Period> = "period",
    }
}
