//! `HumanName`: a person's name in parts.

use crate::datatypes::{Extension, Period};
use crate::macros::fhir_struct;

fhir_struct! {
    /// A person's name.
    ///
    /// ```
    /// let n: fhir_c4bb::datatypes::HumanName =
    ///     fhir_c4bb::from_str(r#"{"family":"Example","given":["Johnny","Q"]}"#)?;
    /// assert_eq!(n.display(), "Johnny Q Example");
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct HumanName {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// `usual`, `official`, `nickname`...
        pub use_: Option<String> = "use",
        /// The full name as text.
        pub text: Option<String> = "text",
        /// Family name.
        pub family: Option<String> = "family",
        /// Given names, in order.
        pub given: Vec<String> = "given",
        /// Prefixes (`Dr.`).
        pub prefix: Vec<String> = "prefix",
        /// Suffixes (`Jr.`).
        pub suffix: Vec<String> = "suffix",
        /// When the name was in use.
        pub period: Option<Period> = "period",
    }
}

impl HumanName {
    /// `text` if given, else prefix, given, family and suffix joined by spaces.
    pub fn display(&self) -> String {
        if let Some(t) = self.text.as_deref().filter(|t| !t.is_empty()) {
            return t.to_owned();
        }
        let parts = self
            .prefix
            .iter()
            .chain(&self.given)
            .chain(self.family.as_ref())
            .chain(&self.suffix)
            .map(String::as_str)
            .filter(|p| !p.is_empty());
        parts.collect::<Vec<_>>().join(" ")
    }
}
