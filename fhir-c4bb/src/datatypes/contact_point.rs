//! `ContactPoint`: a phone number, email or other telecom address.

use crate::Integer;
use crate::datatypes::{Extension, Period};
use crate::macros::fhir_struct;

fhir_struct! {
    /// A phone number, email address, fax...
    ///
    /// ```
    /// let c: fhir_c4bb::datatypes::ContactPoint =
    ///     fhir_c4bb::from_str(r#"{"system":"phone","value":"555-0100","rank":1}"#)?;
    /// assert_eq!(c.rank.and_then(|r| r.get()), Some(1));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct ContactPoint {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// `phone`, `fax`, `email`, `pager`, `url`, `sms`, `other`.
        pub system: Option<String> = "system",
        /// The address or number.
        pub value: Option<String> = "value",
        /// `home`, `work`, `mobile`...
        pub use_: Option<String> = "use",
        /// Preference order (1 = highest).
        pub rank: Option<Integer> = "rank",
        /// When it was in use.
        pub period: Option<Period> = "period",
    }
}
