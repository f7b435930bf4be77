//! `Organization` (C4BB Organization profile): a payer or a provider organization.

use crate::Resource;
use crate::datatypes::{
    Address, CodeableConcept, ContactPoint, Extension, HumanName, Identifier, Meta, Narrative,
    Reference,
};
use crate::macros::fhir_struct;

fhir_struct! {
    /// `Organization.contact`.
    pub struct OrganizationContact {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Purpose of the contact.
        pub purpose: Option<CodeableConcept> = "purpose",
        /// Name.
        pub name: Option<HumanName> = "name",
        /// Phone, email...
        pub telecom: Vec<ContactPoint> = "telecom",
        /// Address.
        pub address: Option<Address> = "address",
    }
}

fhir_struct! {
    /// A payer or provider organization (C4BB Organization).
    ///
    /// ```
    /// let o: fhir_c4bb::Organization = fhir_c4bb::from_str(
    ///     r#"{"resourceType":"Organization","name":"Acme Health",
    ///         "identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}]}"#,
    /// )?;
    /// assert_eq!(o.npi(), Some("1234567893"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Organization: resource "Organization" {
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
        /// Identifiers (NPI, tax id, payer id, NAIC code).
        pub identifier: Vec<Identifier> = "identifier",
        /// Whether the record is active.
        pub active: Option<bool> = "active",
        /// Kind of organization.
        pub type_: Vec<CodeableConcept> = "type",
        /// Name.
        pub name: Option<String> = "name",
        /// Other names.
        pub alias: Vec<String> = "alias",
        /// Phone, email...
        pub telecom: Vec<ContactPoint> = "telecom",
        /// Addresses.
        pub address: Vec<Address> = "address",
        /// Parent organization.
        pub part_of: Option<Reference> = "partOf",
        /// Contacts.
        pub contact: Vec<OrganizationContact> = "contact",
        /// Technical endpoints.
        pub endpoint: Vec<Reference> = "endpoint",
    }
}

impl Organization {
    /// The NPI (`http://hl7.org/fhir/sid/us-npi` identifier), if any.
    pub fn npi(&self) -> Option<&str> {
        self.identifier
            .iter()
            .find(|i| i.system.as_deref() == Some(crate::profile::NPI_SYSTEM))
            .and_then(|i| i.value.as_deref())
    }
}
