//! `Identifier`: a business identifier (member id, claim number, NPI, tax id).

use crate::datatypes::{CodeableConcept, Extension, Period, Reference};
use crate::macros::fhir_struct;

fhir_struct! {
    /// An identifier for something, with the system it comes from.
    ///
    /// ```
    /// let id: fhir_c4bb::datatypes::Identifier =
    ///     fhir_c4bb::from_str(r#"{"system":"http://hl7.org/fhir/sid/us-npi","value":"9941339108"}"#)?;
    /// assert_eq!(id.value.as_deref(), Some("9941339108"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Identifier {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// `usual`, `official`, `temp`, `secondary`, `old` (any code is accepted).
        pub use_: Option<String> = "use",
        /// What kind of identifier (C4BB: member id `MB`, unique claim id `uc`, `npi`, `tax`...).
        pub type_: Option<CodeableConcept> = "type",
        /// The namespace of the value.
        pub system: Option<String> = "system",
        /// The identifier itself.
        pub value: Option<String> = "value",
        /// When it was valid (boxed: rarely sent).
        pub period: Option<Box<Period>> = "period",
        /// Who issued it.
        pub assigner: Option<Box<Reference>> = "assigner",
    }
}

impl Identifier {
    /// An identifier with a system and a value.
    pub fn new(system: impl Into<String>, value: impl Into<String>) -> Self {
        Identifier {
            system: Some(system.into()),
            value: Some(value.into()),
            ..Default::default()
        }
    }

    /// Whether `type` has a coding with this code (any system).
    pub fn has_type_code(&self, code: &str) -> bool {
        self.type_.as_ref().is_some_and(|t| t.has_code(code))
    }
}
