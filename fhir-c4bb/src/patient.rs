//! `Patient` (C4BB Patient profile): the member whose claims these are.

use crate::datatypes::{
    Address, Attachment, CodeableConcept, ContactPoint, Extension, HumanName, Identifier, Meta,
    Narrative, Period, Reference,
};
use crate::macros::{fhir_choice, fhir_struct};
use crate::{DateTime, Integer, Resource};

fhir_choice! {
    /// `Patient.deceased[x]`.
    pub enum Deceased {
        /// `deceasedBoolean`
        Boolean(bool) = "deceasedBoolean",
        /// `deceasedDateTime`
        DateTime(DateTime) = "deceasedDateTime",
    }
}

fhir_choice! {
    /// `Patient.multipleBirth[x]`.
    pub enum MultipleBirth {
        /// `multipleBirthBoolean`
        Boolean(bool) = "multipleBirthBoolean",
        /// `multipleBirthInteger`
        Integer(Integer) = "multipleBirthInteger",
    }
}

fhir_struct! {
    /// `Patient.contact`: a guardian, next of kin or other contact.
    pub struct PatientContact {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// The relationship.
        pub relationship: Vec<CodeableConcept> = "relationship",
        /// Name.
        pub name: Option<HumanName> = "name",
        /// Phone, email...
        pub telecom: Vec<ContactPoint> = "telecom",
        /// Address.
        pub address: Option<Address> = "address",
        /// Gender.
        pub gender: Option<String> = "gender",
        /// Organization on whose behalf the contact acts.
        pub organization: Option<Reference> = "organization",
        /// When this contact is valid.
        pub period: Option<Period> = "period",
    }
}

fhir_struct! {
    /// `Patient.communication`: a language the patient speaks.
    pub struct PatientCommunication {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// The language.
        pub language: Option<CodeableConcept> = "language",
        /// Whether it is preferred.
        pub preferred: Option<bool> = "preferred",
    }
}

fhir_struct! {
    /// `Patient.link`: another Patient resource for the same person.
    pub struct PatientLink {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// The other resource.
        pub other: Option<Reference> = "other",
        /// `replaced-by`, `replaces`, `refer`, `seealso`.
        pub type_: Option<String> = "type",
    }
}

fhir_struct! {
    /// The member (C4BB Patient).
    ///
    /// ```
    /// let p: fhir_c4bb::Patient = fhir_c4bb::from_str(r#"{
    ///   "resourceType": "Patient", "id": "p1",
    ///   "identifier": [{"type": {"coding": [{"code": "MB"}]}, "value": "M123"}],
    ///   "name": [{"family": "Example", "given": ["Ann"]}], "birthDate": "1986"
    /// }"#)?;
    /// assert_eq!(p.member_id(), Some("M123"));
    /// assert_eq!(p.display_name().as_deref(), Some("Ann Example"));
    /// assert_eq!(p.birth_date.as_ref().map(|d| d.as_str()), Some("1986"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Patient: resource "Patient" {
        /// Logical id.
        pub id: Option<String> = "id",
        /// Metadata (profiles, lastUpdated).
        pub meta: Option<Meta> = "meta",
        /// Rules the content was created under.
        pub implicit_rules: Option<String> = "implicitRules",
        /// Language of the resource.
        pub language: Option<String> = "language",
        /// Human-readable summary.
        pub text: Option<Narrative> = "text",
        /// Contained resources.
        pub contained: Vec<Resource> = "contained",
        /// Extensions (US Core race, ethnicity, birth sex...).
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Identifiers (C4BB: member id `MB`, unique member id `um`).
        pub identifier: Vec<Identifier> = "identifier",
        /// Whether the record is in active use.
        pub active: Option<bool> = "active",
        /// Names.
        pub name: Vec<HumanName> = "name",
        /// Phone, email...
        pub telecom: Vec<ContactPoint> = "telecom",
        /// `male`, `female`, `other`, `unknown`.
        pub gender: Option<String> = "gender",
        /// Date of birth, any precision.
        pub birth_date: Option<DateTime> = "birthDate",
        /// Whether or when the patient died.
        pub deceased: Option<Deceased> = "deceased",
        /// Addresses.
        pub address: Vec<Address> = "address",
        /// Marital status.
        pub marital_status: Option<CodeableConcept> = "maritalStatus",
        /// Multiple birth indicator or order.
        pub multiple_birth: Option<MultipleBirth> = "multipleBirth",
        /// Photos.
        pub photo: Vec<Attachment> = "photo",
        /// Contacts.
        pub contact: Vec<PatientContact> = "contact",
        /// Languages spoken.
        pub communication: Vec<PatientCommunication> = "communication",
        /// Primary care providers.
        pub general_practitioner: Vec<Reference> = "generalPractitioner",
        /// Custodian organization.
        pub managing_organization: Option<Reference> = "managingOrganization",
        /// Links to other Patient resources for the same person.
        pub link: Vec<PatientLink> = "link",
    }
}

impl Patient {
    /// The member id: the identifier typed `MB` (C4BB), else the first identifier.
    pub fn member_id(&self) -> Option<&str> {
        self.identifier
            .iter()
            .find(|i| i.has_type_code("MB"))
            .or_else(|| self.identifier.first())
            .and_then(|i| i.value.as_deref())
    }

    /// The first name (preferring `use: official`), formatted for display.
    pub fn display_name(&self) -> Option<String> {
        self.name
            .iter()
            .find(|n| n.use_.as_deref() == Some("official"))
            .or_else(|| self.name.first())
            .map(|n| n.display())
    }
}
