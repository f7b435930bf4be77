//! `Reference`: a link to another resource by URL, contained `#id`, identifier or display.

use crate::datatypes::{Extension, Identifier};
use crate::macros::fhir_struct;

fhir_struct! {
    /// A link to another resource. Payers send any subset of `reference`, `identifier`
    /// and `display` (or only an `id`); all parse.
    ///
    /// ```
    /// let r: fhir_c4bb::Reference = fhir_c4bb::from_str(r##"{"reference":"#provider-1"}"##)?;
    /// assert_eq!(r.contained_id(), Some("provider-1"));
    /// let r: fhir_c4bb::Reference = fhir_c4bb::from_str(r#"{"reference":"Organization/Payer1"}"#)?;
    /// assert_eq!(r.target(), Some(("Organization", "Payer1")));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Reference {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Literal reference: relative (`Patient/1`), absolute URL, or `#id` (contained).
        pub reference: Option<String> = "reference",
        /// The target's resource type.
        pub type_: Option<String> = "type",
        /// Logical reference by business identifier (boxed: rarely sent, and it would
        /// triple the size of every reference).
        pub identifier: Option<Box<Identifier>> = "identifier",
        /// Text for people.
        pub display: Option<String> = "display",
    }
}

impl Reference {
    /// A literal reference such as `"Patient/123"` or `"#contained-1"`.
    pub fn to(reference: impl Into<String>) -> Self {
        Reference {
            reference: Some(reference.into()),
            ..Default::default()
        }
    }

    /// The id of a contained resource this points to (`"#abc"` → `"abc"`).
    pub fn contained_id(&self) -> Option<&str> {
        self.reference.as_deref()?.strip_prefix('#')
    }

    /// `(type, id)` of a relative or absolute RESTful reference (`.../Patient/1/_history/2`
    /// gives `("Patient", "1")`).
    pub fn target(&self) -> Option<(&str, &str)> {
        let r = self.reference.as_deref()?;
        if r.starts_with('#') || r.starts_with("urn:") {
            return None;
        }
        let r = match r.find("/_history/") {
            Some(i) => &r[..i],
            None => r,
        };
        let mut parts = r.rsplit('/');
        let id = parts.next().filter(|s| !s.is_empty())?;
        let ty = parts
            .next()
            .filter(|s| s.starts_with(|c: char| c.is_ascii_uppercase()))?;
        Some((ty, id))
    }

    /// Something to show: `display`, else the identifier value, else the reference.
    pub fn label(&self) -> Option<&str> {
        self.display
            .as_deref()
            .or_else(|| self.identifier.as_ref().and_then(|i| i.value.as_deref()))
            .or(self.reference.as_deref())
    }
}
