//! `Bundle`: search results (`searchset`) and collections, with paging links.

use crate::datatypes::{Extension, Identifier, Meta};
use crate::macros::fhir_struct;
use crate::{DateTime, Decimal, Integer, Reference, Resource};

fhir_struct! {
    /// `Bundle.link`: a related URL, e.g. `self` or `next` for paging.
    pub struct BundleLink {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// `self`, `next`, `previous`, `first`, `last`...
        pub relation: Option<String> = "relation",
        /// The URL.
        pub url: Option<String> = "url",
    }
}

fhir_struct! {
    /// `Bundle.entry.search`: why the entry is in a search result.
    pub struct BundleEntrySearch {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// `match`, `include` or `outcome`.
        pub mode: Option<String> = "mode",
        /// Search ranking.
        pub score: Option<Decimal> = "score",
    }
}

fhir_struct! {
    /// `Bundle.entry.request` (transactions, history).
    pub struct BundleEntryRequest {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// HTTP method.
        pub method: Option<String> = "method",
        /// URL.
        pub url: Option<String> = "url",
        /// If-None-Match.
        pub if_none_match: Option<String> = "ifNoneMatch",
        /// If-Modified-Since.
        pub if_modified_since: Option<DateTime> = "ifModifiedSince",
        /// If-Match.
        pub if_match: Option<String> = "ifMatch",
        /// If-None-Exist.
        pub if_none_exist: Option<String> = "ifNoneExist",
    }
}

fhir_struct! {
    /// `Bundle.entry.response` (transaction responses, history).
    pub struct BundleEntryResponse {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// HTTP status.
        pub status: Option<String> = "status",
        /// Location header.
        pub location: Option<String> = "location",
        /// ETag.
        pub etag: Option<String> = "etag",
        /// Last-Modified.
        pub last_modified: Option<DateTime> = "lastModified",
        /// Outcome of the operation.
        pub outcome: Option<Resource> = "outcome",
    }
}

fhir_struct! {
    /// One entry of a [`Bundle`].
    pub struct BundleEntry {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Links for this entry.
        pub link: Vec<BundleLink> = "link",
        /// Absolute URL of the resource.
        pub full_url: Option<String> = "fullUrl",
        /// The resource (any type, typed when modelled).
        pub resource: Option<Resource> = "resource",
        /// Search information.
        pub search: Option<BundleEntrySearch> = "search",
        /// Request information.
        pub request: Option<BundleEntryRequest> = "request",
        /// Response information.
        pub response: Option<BundleEntryResponse> = "response",
    }
}

impl BundleEntry {
    /// `search.mode` (`match`, `include`, `outcome`).
    pub fn search_mode(&self) -> Option<&str> {
        self.search.as_ref()?.mode.as_deref()
    }
}

fhir_struct! {
    /// A Bundle: a page of search results or a collection.
    ///
    /// ```
    /// use fhir_c4bb::{Bundle, Resource};
    /// let b: Bundle = fhir_c4bb::from_str(r#"{"resourceType":"Bundle","type":"searchset","total":2,
    ///   "link":[{"relation":"self","url":"https://x/EOB?patient=1"},
    ///           {"relation":"next","url":"https://x/EOB?patient=1&page=2"}],
    ///   "entry":[{"resource":{"resourceType":"ExplanationOfBenefit","id":"e1"},"search":{"mode":"match"}},
    ///            {"resource":{"resourceType":"OperationOutcome","issue":[]},"search":{"mode":"outcome"}}]}"#)?;
    /// assert_eq!(b.link("next"), Some("https://x/EOB?patient=1&page=2"));
    /// assert_eq!(b.total(), Some(2));
    /// assert_eq!(b.entries().count(), 2);
    /// assert_eq!(b.matches().count(), 1);
    /// assert_eq!(b.eobs().next().and_then(|e| e.id.as_deref()), Some("e1"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Bundle: resource "Bundle" {
        /// Logical id.
        pub id: Option<String> = "id",
        /// Metadata.
        pub meta: Option<Meta> = "meta",
        /// Rules the content was created under.
        pub implicit_rules: Option<String> = "implicitRules",
        /// Language of the resource.
        pub language: Option<String> = "language",
        /// Persistent identifier.
        pub identifier: Option<Identifier> = "identifier",
        /// `searchset`, `collection`, `document`, `transaction`...
        pub type_: Option<String> = "type",
        /// When the bundle was assembled.
        pub timestamp: Option<DateTime> = "timestamp",
        /// Total number of matches (searchset), as sent; see [`Bundle::total`].
        pub total: Option<Integer> = "total",
        /// Links (`self`, `next`...).
        pub link: Vec<BundleLink> = "link",
        /// Entries.
        pub entry: Vec<BundleEntry> = "entry",
        /// Digital signature (raw JSON).
        pub signature: Option<crate::RawJson> = "signature",
    }
}

impl Bundle {
    /// The URL of the link with this relation (`"next"`, `"self"`...).
    pub fn link(&self, relation: &str) -> Option<&str> {
        self.link
            .iter()
            .find(|l| l.relation.as_deref() == Some(relation))
            .and_then(|l| l.url.as_deref())
    }

    /// `total` as a number, when it is a non-negative whole number.
    pub fn total(&self) -> Option<u64> {
        self.total
            .as_ref()?
            .get()
            .and_then(|t| u64::try_from(t).ok())
    }

    /// Every entry's resource, in order (entries without a resource are skipped).
    pub fn entries(&self) -> impl Iterator<Item = &Resource> {
        self.entry.iter().filter_map(|e| e.resource.as_ref())
    }

    /// The resources of entries whose `search.mode` is `match` or absent (not `include`
    /// or `outcome`).
    pub fn matches(&self) -> impl Iterator<Item = &Resource> {
        self.entry
            .iter()
            .filter(|e| matches!(e.search_mode(), None | Some("match")))
            .filter_map(|e| e.resource.as_ref())
    }

    /// The ExplanationOfBenefit entries.
    pub fn eobs(&self) -> impl Iterator<Item = &crate::ExplanationOfBenefit> {
        self.entries().filter_map(Resource::as_eob)
    }

    /// The ExplanationOfBenefit entries that are claims (not prior authorizations).
    pub fn claims(&self) -> impl Iterator<Item = &crate::ExplanationOfBenefit> {
        self.eobs().filter(|e| !e.is_prior_authorization())
    }

    /// The prior authorizations (EOBs with `use = preauthorization`).
    pub fn prior_authorizations(
        &self,
    ) -> impl Iterator<Item = crate::prior_auth::PriorAuthorization<'_>> {
        self.eobs()
            .filter_map(crate::ExplanationOfBenefit::prior_authorization)
    }

    /// The OperationOutcome entries (servers put warnings here).
    pub fn outcomes(&self) -> impl Iterator<Item = &crate::OperationOutcome> {
        self.entries().filter_map(Resource::as_operation_outcome)
    }

    /// The entry whose `fullUrl` is `url`.
    pub fn find_by_full_url(&self, url: &str) -> Option<&Resource> {
        self.entry
            .iter()
            .find(|e| e.full_url.as_deref() == Some(url))
            .and_then(|e| e.resource.as_ref())
    }

    /// The entry's resource a reference points to, within this Bundle: by `fullUrl`
    /// (`urn:uuid:…` or an absolute URL), else by `Type/id` against each entry's resource
    /// type and id (relative, absolute or versioned references alike). A `#id` reference
    /// is to a resource's `contained`; use the resource's `resolve_contained`.
    ///
    /// ```
    /// let b: fhir_c4bb::Bundle = fhir_c4bb::from_str(r#"{"resourceType":"Bundle","type":"collection","entry":[
    ///   {"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Patient","id":"p1"}},
    ///   {"fullUrl":"https://ehr.example/fhir/Practitioner/dr1","resource":{"resourceType":"Practitioner","id":"dr1"}}]}"#)?;
    /// let by_uuid = fhir_c4bb::Reference::to("urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a");
    /// assert_eq!(b.resolve(&by_uuid).and_then(|r| r.id()), Some("p1"));
    /// let relative = fhir_c4bb::Reference::to("Practitioner/dr1");
    /// assert_eq!(b.resolve(&relative).map(|r| r.resource_type()), Some("Practitioner"));
    /// assert!(b.resolve(&fhir_c4bb::Reference::to("Patient/nobody")).is_none());
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub fn resolve(&self, reference: &Reference) -> Option<&Resource> {
        let r = reference.reference.as_deref()?;
        if r.starts_with('#') {
            return None;
        }
        if let Some(found) = self.find_by_full_url(r) {
            return Some(found);
        }
        let (ty, id) = reference.target()?;
        self.entries()
            .find(|res| res.resource_type() == ty && res.id() == Some(id))
    }
}
