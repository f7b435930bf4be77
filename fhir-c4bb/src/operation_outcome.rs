//! `OperationOutcome`: errors, warnings and information from a server, sometimes found
//! as an entry of a search Bundle.

use crate::Resource;
use crate::datatypes::{CodeableConcept, Extension, Meta, Narrative};
use crate::macros::fhir_struct;

fhir_struct! {
    /// One issue of an [`OperationOutcome`].
    pub struct OperationOutcomeIssue {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// `fatal`, `error`, `warning`, `information` (any code is accepted).
        pub severity: Option<String> = "severity",
        /// Issue type code (`not-found`, `too-costly`, `processing`...).
        pub code: Option<String> = "code",
        /// Coded details.
        pub details: Option<CodeableConcept> = "details",
        /// Free-text diagnostics.
        pub diagnostics: Option<String> = "diagnostics",
        /// Deprecated XPath locations.
        pub location: Vec<String> = "location",
        /// FHIRPath expressions of where the issue is.
        pub expression: Vec<String> = "expression",
    }
}

impl OperationOutcomeIssue {
    /// Whether the severity is `fatal` or `error`.
    pub fn is_error(&self) -> bool {
        matches!(self.severity.as_deref(), Some("fatal" | "error"))
    }

    /// Text for people: diagnostics, else details text/display, else the code.
    pub fn message(&self) -> Option<&str> {
        self.diagnostics
            .as_deref()
            .or_else(|| self.details.as_ref().and_then(|d| d.display()))
            .or(self.code.as_deref())
    }
}

fhir_struct! {
    /// Errors and warnings from a server.
    ///
    /// ```
    /// let oo: fhir_c4bb::OperationOutcome = fhir_c4bb::from_str(r#"{"resourceType":"OperationOutcome",
    ///   "issue":[{"severity":"warning","code":"incomplete","diagnostics":"Claims before 2016 omitted"}]}"#)?;
    /// let issue = &oo.issue[0];
    /// assert_eq!(issue.severity.as_deref(), Some("warning"));
    /// assert_eq!(issue.message(), Some("Claims before 2016 omitted"));
    /// assert!(!oo.has_errors());
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct OperationOutcome: resource "OperationOutcome" {
        /// Logical id.
        pub id: Option<String> = "id",
        /// Metadata.
        pub meta: Option<Meta> = "meta",
        /// Rules the content was created under.
        pub implicit_rules: Option<String> = "implicitRules",
        /// Language of the resource.
        pub language: Option<String> = "language",
        /// Human-readable summary.
        pub text: Option<Narrative> = "text",
        /// Contained resources.
        pub contained: Vec<Resource> = "contained",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// The issues.
        pub issue: Vec<OperationOutcomeIssue> = "issue",
    }
}

impl OperationOutcome {
    /// The issues.
    pub fn issues(&self) -> &[OperationOutcomeIssue] {
        &self.issue
    }

    /// Whether any issue is `fatal` or `error`.
    pub fn has_errors(&self) -> bool {
        self.issue.iter().any(OperationOutcomeIssue::is_error)
    }
}
