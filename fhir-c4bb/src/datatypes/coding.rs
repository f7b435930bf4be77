//! `Coding` and `CodeableConcept`: codes from a code system, as payers send them.

use crate::datatypes::Extension;
use crate::macros::fhir_struct;

fhir_struct! {
    /// A code from a code system. Every element is optional: payers send codings without
    /// a `code` (display only), and that still parses.
    ///
    /// ```
    /// let c: fhir_c4bb::datatypes::Coding = fhir_c4bb::from_str(
    ///     r#"{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"pharmacy"}"#,
    /// )?;
    /// assert!(c.is("http://terminology.hl7.org/CodeSystem/claim-type", "pharmacy"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Coding {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// The code system URI.
        pub system: Option<String> = "system",
        /// The code system version.
        pub version: Option<String> = "version",
        /// The code.
        pub code: Option<String> = "code",
        /// Human-readable text for the code.
        pub display: Option<String> = "display",
        /// Whether the user picked this coding.
        pub user_selected: Option<bool> = "userSelected",
    }
}

impl Coding {
    /// A coding with a system and a code.
    pub fn new(system: impl Into<String>, code: impl Into<String>) -> Self {
        Coding {
            system: Some(system.into()),
            code: Some(code.into()),
            ..Default::default()
        }
    }

    /// Whether this coding has exactly this system and code.
    pub fn is(&self, system: &str, code: &str) -> bool {
        self.system.as_deref() == Some(system) && self.code.as_deref() == Some(code)
    }
}

fhir_struct! {
    /// A concept given as codings and/or text.
    ///
    /// ```
    /// let cc: fhir_c4bb::datatypes::CodeableConcept = fhir_c4bb::from_str(
    ///     r#"{"coding":[{"system":"urn:x","code":"a","display":"Alpha"}],"text":"A"}"#,
    /// )?;
    /// assert_eq!(cc.code_in("urn:x"), Some("a"));
    /// assert_eq!(cc.display(), Some("A"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct CodeableConcept {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// The codings.
        pub coding: Vec<Coding> = "coding",
        /// Plain-text representation.
        pub text: Option<String> = "text",
    }
}

impl CodeableConcept {
    /// The first code whose system is `system`.
    pub fn code_in(&self, system: &str) -> Option<&str> {
        self.coding
            .iter()
            .find(|c| c.system.as_deref() == Some(system))
            .and_then(|c| c.code.as_deref())
    }

    /// Whether any coding has this system and code.
    pub fn has(&self, system: &str, code: &str) -> bool {
        self.coding.iter().any(|c| c.is(system, code))
    }

    /// Whether any coding has this code, whatever its system.
    pub fn has_code(&self, code: &str) -> bool {
        self.coding.iter().any(|c| c.code.as_deref() == Some(code))
    }

    /// The display text of the concept: `text`, else the first coding's `display`, else
    /// the first coding's `code`. The same as [`display`](Self::display).
    ///
    /// ```
    /// let cc: fhir_c4bb::datatypes::CodeableConcept = fhir_c4bb::from_str(
    ///     r#"{"coding":[{"code":"x"},{"system":"urn:s","code":"y","display":"Why"}]}"#)?;
    /// assert_eq!(cc.display_text(), Some("Why"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub fn display_text(&self) -> Option<&str> {
        self.display()
    }

    /// Text for people: `text`, else the first coding display, else the first code.
    pub fn display(&self) -> Option<&str> {
        self.text
            .as_deref()
            .or_else(|| self.coding.iter().find_map(|c| c.display.as_deref()))
            .or_else(|| self.coding.iter().find_map(|c| c.code.as_deref()))
    }
}

impl From<Coding> for CodeableConcept {
    fn from(c: Coding) -> Self {
        CodeableConcept {
            coding: vec![c],
            ..Default::default()
        }
    }
}
