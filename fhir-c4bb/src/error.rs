//! [`ParseError`]: why a JSON document could not be read, and where in it.

use std::fmt;

/// A JSON document could not be read as the requested type.
///
/// Carries the JSON path of the offending value (`entry[3].resource.item[0].adjudication`),
/// found by re-reading the input with `serde_path_to_error` once the fast parse failed.
///
/// ```
/// let err = fhir_c4bb::from_str::<fhir_c4bb::Bundle>(
///     r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","name":"Ann"}}]}"#,
/// ).unwrap_err();
/// assert_eq!(err.path(), "entry[0].resource.name");
/// assert!(err.to_string().starts_with("entry[0].resource.name: invalid type"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub struct ParseError {
    path: String,
    #[source]
    source: serde_json::Error,
}

impl ParseError {
    pub(crate) fn new(path: String, source: serde_json::Error) -> Self {
        ParseError { path, source }
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
