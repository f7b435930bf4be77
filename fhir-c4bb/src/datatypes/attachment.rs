//! `Attachment`: content inline (base64) or by URL.

use crate::datatypes::Extension;
use crate::macros::fhir_struct;
use crate::{DateTime, Integer};

fhir_struct! {
    /// Content such as a PDF of a claim, inline as base64 or by URL.
    pub struct Attachment {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// MIME type.
        pub content_type: Option<String> = "contentType",
        /// Language of the content.
        pub language: Option<String> = "language",
        /// The data, base64-encoded.
        pub data: Option<String> = "data",
        /// Where to get the data.
        pub url: Option<String> = "url",
        /// Size in bytes.
        pub size: Option<Integer> = "size",
        /// SHA-1 of the data, base64-encoded.
        pub hash: Option<String> = "hash",
        /// Label.
        pub title: Option<String> = "title",
        /// When it was created.
        pub creation: Option<DateTime> = "creation",
    }
}
