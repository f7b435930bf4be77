//! [`ParseError`]: why a JSON document could not be read, and where in it.

use std::fmt;

/// A JSON document could not be read as the requested type.
///
/// Parsing is lenient (a value of the wrong JSON shape is kept, not an error), so this
/// means: not JSON, a document of the wrong type, or a body over the memory budget
/// ([`ParseError::is_memory_budget`]). Carries the JSON path of the offending value,
/// found by re-reading the input with `serde_path_to_error` once the fast parse failed.
///
/// ```
/// let err = fhir_c4bb::from_str::<fhir_c4bb::Bundle>(
///     r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","name":[}}]}"#,
/// ).unwrap_err();
/// assert!(err.is_syntax());
/// assert_eq!(err.path(), "entry[0].resource.name[0]");
/// let err = fhir_c4bb::from_str::<fhir_c4bb::Patient>(r#"{"resourceType":"Coverage"}"#).unwrap_err();
/// assert!(err.to_string().contains(r#"expected "Patient""#));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub struct ParseError {
    path: String,
    budget: bool,
    #[source]
    source: serde_json::Error,
}

impl ParseError {
    pub(crate) fn new(path: String, source: serde_json::Error) -> Self {
        ParseError {
            path,
            budget: false,
            source,
        }
    }

    pub(crate) fn budget(mut self) -> Self {
        self.budget = true;
        self
    }

    /// Whether the body would have cost more memory than the parse's budget (see
    /// [`crate::from_slice`]): an input built to exhaust memory, such as millions of
    /// empty array elements, rather than a real payer page.
    ///
    /// ```
    /// let body = format!(r#"{{"resourceType":"Bundle","entry":[{}{{}}]}}"#, "{},".repeat(3_000_000));
    /// let err = fhir_c4bb::from_str::<fhir_c4bb::Bundle>(&body).unwrap_err();
    /// assert!(err.is_memory_budget());
    /// assert!(err.to_string().contains("memory budget exceeded"));
    /// ```
    pub fn is_memory_budget(&self) -> bool {
        self.budget
    }

    /// The JSON path of the value that failed (`.` for the document itself).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The line of the input where it failed (1-based; 0 if unknown).
    pub fn line(&self) -> usize {
        self.source.line()
    }

    /// The column of the input where it failed (1-based; 0 if unknown).
    pub fn column(&self) -> usize {
        self.source.column()
    }

    /// Whether the input is not JSON at all (or ends early), rather than JSON of the
    /// wrong shape.
    pub fn is_syntax(&self) -> bool {
        matches!(
            self.source.classify(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof
        )
    }

    /// The underlying serde_json error.
    pub fn json_error(&self) -> &serde_json::Error {
        &self.source
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.source)
    }
}
