//! `Practitioner` (C4BB Practitioner profile): a clinician on a claim's care team.

use crate::datatypes::{
    Address, Attachment, CodeableConcept, ContactPoint, Extension, HumanName, Identifier, Meta,
    Narrative, Period, Reference,
};
use crate::macros::fhir_struct;
use crate::{DateTime, Resource};

fhir_struct! {
    /// `Practitioner.qualification`.
    pub struct PractitionerQualification {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Identifiers for the qualification.
        pub identifier: Vec<Identifier> = "identifier",
        /// The qualification.
        pub code: Option<CodeableConcept> = "code",
        /// When it is valid.
        pub period: Option<Period> = "period",
        /// Who issued it.
        pub issuer: Option<Reference> = "issuer",
    }
}

fhir_struct! {
    /// A practitioner (C4BB Practitioner).
    ///
    /// ```
    /// let p: fhir_c4bb::Practitioner = fhir_c4bb::from_str(
    ///     r#"{"resourceType":"Practitioner","name":[{"family":"Smith","prefix":["Dr."]}]}"#,
    /// )?;
    /// assert_eq!(p.display_name().as_deref(), Some("Dr. Smith"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Practitioner: resource "Practitioner" {
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
        /// Identifiers (NPI, tax id).
        pub identifier: Vec<Identifier> = "identifier",
        /// Whether the record is active.
        pub active: Option<bool> = "active",
        /// Names.
        pub name: Vec<HumanName> = "name",
        /// Phone, email...
        pub telecom: Vec<ContactPoint> = "telecom",
        /// Addresses.
        pub address: Vec<Address> = "address",
        /// Gender.
        pub gender: Option<String> = "gender",
        /// Date of birth.
        pub birth_date: Option<DateTime> = "birthDate",
        /// Photos.
        pub photo: Vec<Attachment> = "photo",
        /// Qualifications.
        pub qualification: Vec<PractitionerQualification> = "qualification",
        /// Languages spoken.
        pub communication: Vec<CodeableConcept> = "communication",
    }
}

impl Practitioner {
    /// The NPI, if any.
    pub fn npi(&self) -> Option<&str> {
        self.identifier
            .iter()
            .find(|i| i.system.as_deref() == Some(crate::profile::NPI_SYSTEM))
            .and_then(|i| i.value.as_deref())
    }

    /// The first name, formatted for display.
    pub fn display_name(&self) -> Option<String> {
        self.name.first().map(|n| n.display())
    }
}
