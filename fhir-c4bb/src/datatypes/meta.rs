//! `Meta` (profiles, last update) and `Narrative` (the human-readable XHTML).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::DateTime;
use crate::datatypes::{Coding, Extension};
use crate::macros::fhir_struct;

fhir_struct! {
    /// Resource metadata: C4BB requires `lastUpdated` and the claimed `profile`s.
    pub struct Meta {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Version id on the server.
        pub version_id: Option<String> = "versionId",
        /// When the resource last changed (an instant).
        pub last_updated: Option<DateTime> = "lastUpdated",
        /// Where the resource came from.
        pub source: Option<String> = "source",
        /// Profiles claimed, canonical URLs, maybe with a `|version` suffix.
        pub profile: Vec<String> = "profile",
        /// Security labels.
        pub security: Vec<Coding> = "security",
        /// Tags.
        pub tag: Vec<Coding> = "tag",
    }
}

fhir_struct! {
    /// The human-readable summary of a resource (XHTML).
    pub struct Narrative {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// `generated`, `extensions`, `additional`, `empty`.
        pub status: Option<String> = "status",
        /// The XHTML `div`, kept as sent (see [`Xhtml`]).
        pub div: Option<Xhtml> = "div",
    }
}

/// The XHTML of a narrative, kept as its JSON string literal and decoded on demand.
///
/// Narratives are most of the bytes of a typical C4BB resource (over 60% of the IG
/// examples) and apps rarely read them, so they are not unescaped while parsing.
///
/// ```
/// let n: fhir_c4bb::datatypes::Narrative =
///     fhir_c4bb::from_str(r#"{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Hi</div>"}"#)?;
/// let div = n.div.unwrap();
/// assert_eq!(div.text(), r#"<div xmlns="http://www.w3.org/1999/xhtml">Hi</div>"#);
/// # Ok::<(), fhir_c4bb::ParseError>(())
/// ```
#[derive(Clone)]
pub struct Xhtml(Box<RawValue>);

impl Xhtml {
    /// Wraps XHTML text.
    pub fn new(xhtml: &str) -> Self {
        // Serializing a str to JSON cannot fail, and yields a valid JSON string literal.
        let literal = serde_json::to_string(xhtml).unwrap_or_else(|_| "\"\"".to_owned());
        Xhtml(RawValue::from_string(literal).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// The XHTML text (unescaped; borrowed when the JSON had no escapes).
    pub fn text(&self) -> Cow<'_, str> {
        let lit = self.0.get();
        let inner = &lit[1..lit.len().saturating_sub(1).max(1)];
        if !inner.contains('\\') {
            return Cow::Borrowed(inner);
        }
        Cow::Owned(serde_json::from_str::<String>(lit).unwrap_or_default())
    }

    /// The JSON string literal as sent, quotes and escapes included.
    pub fn as_json(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Xhtml {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl fmt::Debug for Xhtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Xhtml({})", self.0.get())
    }
}

impl fmt::Display for Xhtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl Serialize for Xhtml {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Xhtml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        if raw.get().starts_with('"') {
            Ok(Xhtml(raw))
        } else {
            Err(serde::de::Error::custom("expected a string (XHTML)"))
        }
    }
}

/// A JSON string, kept raw; any other shape is a mismatch.
fn read_xhtml<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<crate::element::Got<Xhtml>, D::Error> {
    Ok(crate::element::read_raw(d, |raw| {
        Ok(if raw.get().starts_with('"') {
            crate::element::Got::Value(raw)
        } else {
            crate::element::Got::Mismatch(raw)
        })
    })?
    .map_value(Xhtml))
}

crate::element::leaf_element!(Xhtml, String, read_xhtml);
