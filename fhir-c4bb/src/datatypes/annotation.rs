//! `Annotation`: a note with an author and a time.

use crate::DateTime;
use crate::datatypes::{Extension, Reference};
use crate::macros::{fhir_choice, fhir_struct};

fhir_choice! {
    /// `Annotation.author[x]`.
    pub enum AnnotationAuthor {
        /// `authorReference`
        Reference(Reference) = "authorReference",
        /// `authorString`
        String(String) = "authorString",
    }
}

fhir_struct! {
    /// A text note with who wrote it and when.
    pub struct Annotation {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Who wrote it.
        pub author: Option<AnnotationAuthor> = "author",
        /// When.
        pub time: Option<DateTime> = "time",
        /// The note (markdown).
        pub text: Option<String> = "text",
    }
}
