//! `CapabilityStatement`: what a FHIR server says it serves (`GET {base}/metadata`), typed enough to list the
//! resource types it serves, their interactions and their search parameters. Everything else (security,
//! software, operations, ...) is kept verbatim in `extra`, so the statement round-trips exactly.

use crate::datatypes::{Extension, Meta, Narrative};
use crate::macros::fhir_struct;
use crate::{DateTime, Resource};

fhir_struct! {
    /// One interaction a server supports (`read`, `search-type`, ...), for a type or the whole server.
    pub struct CapabilityInteraction {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// `read`, `vread`, `search-type`, `history-instance`, ... (any code is accepted).
        pub code: Option<String> = "code",
        /// Notes on the interaction.
        pub documentation: Option<String> = "documentation",
    }
}

fhir_struct! {
    /// One search parameter a server supports.
    pub struct CapabilitySearchParam {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// The parameter's name as used in a URL (`patient`, `category`, `_lastUpdated`).
        pub name: Option<String> = "name",
        /// Canonical URL of its SearchParameter definition.
        pub definition: Option<String> = "definition",
        /// `token`, `reference`, `date`, `string`, ...
        pub r#type: Option<String> = "type",
        /// Notes on the parameter.
        pub documentation: Option<String> = "documentation",
    }
}

fhir_struct! {
    /// What a server serves for one resource type.
    pub struct CapabilityResource {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// The resource type (`Observation`).
        pub r#type: Option<String> = "type",
        /// The base profile of the type.
        pub profile: Option<String> = "profile",
        /// Profiles the server supports for the type.
        pub supported_profile: Vec<String> = "supportedProfile",
        /// Notes on the type.
        pub documentation: Option<String> = "documentation",
        /// The interactions supported for the type.
        pub interaction: Vec<CapabilityInteraction> = "interaction",
        /// `_include` values supported.
        pub search_include: Vec<String> = "searchInclude",
        /// `_revinclude` values supported.
        pub search_rev_include: Vec<String> = "searchRevInclude",
        /// The search parameters supported for the type.
        pub search_param: Vec<CapabilitySearchParam> = "searchParam",
    }
}

impl CapabilityResource {
    /// Whether the type lists interaction `code` (`search-type`, `read`).
    pub fn supports(&self, code: &str) -> bool {
        self.interaction
            .iter()
            .any(|i| i.code.as_deref() == Some(code))
    }

    /// The names of the type's search parameters, in the server's order.
    pub fn search_param_names(&self) -> impl Iterator<Item = &str> {
        self.search_param.iter().filter_map(|p| p.name.as_deref())
    }
}

fhir_struct! {
    /// One `rest` block of a CapabilityStatement: the server (`mode = server`) or a client.
    pub struct CapabilityRest {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// `server` or `client`.
        pub mode: Option<String> = "mode",
        /// Notes on the implementation.
        pub documentation: Option<String> = "documentation",
        /// The resource types served.
        pub resource: Vec<CapabilityResource> = "resource",
        /// Whole-system interactions (`transaction`, `search-system`, ...).
        pub interaction: Vec<CapabilityInteraction> = "interaction",
        /// Search parameters valid for every type.
        pub search_param: Vec<CapabilitySearchParam> = "searchParam",
    }
}

fhir_struct! {
    /// What a FHIR server serves, from `GET {base}/metadata`.
    ///
    /// ```
    /// let cs: fhir_c4bb::CapabilityStatement = fhir_c4bb::from_str(r#"{"resourceType":"CapabilityStatement",
    ///   "status":"active","kind":"instance","fhirVersion":"4.0.1","format":["json"],
    ///   "rest":[{"mode":"server","resource":[{"type":"Condition",
    ///     "interaction":[{"code":"read"},{"code":"search-type"}],
    ///     "searchParam":[{"name":"patient","type":"reference"},{"name":"category","type":"token"}]}]}]}"#)?;
    /// assert_eq!(cs.searchable_types().collect::<Vec<_>>(), ["Condition"]);
    /// let condition = cs.resource("Condition").unwrap();
    /// assert_eq!(condition.search_param_names().collect::<Vec<_>>(), ["patient", "category"]);
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct CapabilityStatement: resource "CapabilityStatement" {
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
        /// Canonical URL of the statement.
        pub url: Option<String> = "url",
        /// Business version.
        pub version: Option<String> = "version",
        /// Computer-friendly name.
        pub name: Option<String> = "name",
        /// Human-friendly name.
        pub title: Option<String> = "title",
        /// `draft`, `active`, `retired`, `unknown`.
        pub status: Option<String> = "status",
        /// For testing only.
        pub experimental: Option<bool> = "experimental",
        /// When it was last changed.
        pub date: Option<DateTime> = "date",
        /// Who published it.
        pub publisher: Option<String> = "publisher",
        /// Natural-language description.
        pub description: Option<String> = "description",
        /// `instance`, `capability` or `requirements`.
        pub kind: Option<String> = "kind",
        /// Canonical URLs of statements this one implements.
        pub instantiates: Vec<String> = "instantiates",
        /// The FHIR version (`4.0.1`).
        pub fhir_version: Option<String> = "fhirVersion",
        /// Formats served (`json`, `application/fhir+json`).
        pub format: Vec<String> = "format",
        /// Implementation guides supported.
        pub implementation_guide: Vec<String> = "implementationGuide",
        /// What the server (or client) supports over REST.
        pub rest: Vec<CapabilityRest> = "rest",
    }
}

impl CapabilityStatement {
    /// The `rest` blocks describing a server (`mode = server`, or no mode at all).
    pub fn server_rest(&self) -> impl Iterator<Item = &CapabilityRest> {
        self.rest
            .iter()
            .filter(|r| matches!(r.mode.as_deref(), None | Some("server")))
    }

    /// Every resource type the server describes, in its order (a type listed twice is listed twice).
    pub fn resources(&self) -> impl Iterator<Item = &CapabilityResource> {
        self.server_rest().flat_map(|r| r.resource.iter())
    }

    /// The server's entry for `resource_type`, if it lists it.
    pub fn resource(&self, resource_type: &str) -> Option<&CapabilityResource> {
        self.resources()
            .find(|r| r.r#type.as_deref() == Some(resource_type))
    }

    /// The types the server can search (interaction `search-type`), in its order.
    pub fn searchable_types(&self) -> impl Iterator<Item = &str> {
        self.resources()
            .filter(|r| r.supports("search-type"))
            .filter_map(|r| r.r#type.as_deref())
    }
}
