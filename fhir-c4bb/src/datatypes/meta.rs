//! `Meta` (profiles, last update) and `Narrative` (the human-readable XHTML).

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
        /// The XHTML `div`.
        pub div: Option<String> = "div",
    }
}
