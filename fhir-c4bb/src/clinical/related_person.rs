//! `RelatedPerson` (US Core RelatedPerson).

use crate::clinical::prelude::*;

fhir_struct! {
    /// `RelatedPerson.communication`.
    pub struct RelatedPersonCommunication: backbone {
        pub language: Option<CodeableConcept> = "language",
        pub preferred: Option<bool> = "preferred",
    }
}

fhir_struct! {
    /// A person related to the patient: a caregiver, a parent, a spouse.
    pub struct RelatedPerson: domain_resource "RelatedPerson" {
        pub identifier: Vec<Identifier> = "identifier",
        pub active: Option<bool> = "active",
        pub patient: Option<Reference> = "patient",
        pub relationship: Vec<CodeableConcept> = "relationship",
        pub name: Vec<HumanName> = "name",
        pub telecom: Vec<ContactPoint> = "telecom",
        pub gender: Option<String> = "gender",
        pub birth_date: Option<DateTime> = "birthDate",
        pub address: Vec<Address> = "address",
        pub photo: Vec<Attachment> = "photo",
        pub period: Option<Period> = "period",
        pub communication: Vec<RelatedPersonCommunication> = "communication",
    }
}

impl RelatedPerson {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.patient.is_some(), "patient");
        c.code(
            self.gender.as_deref(),
            &["male", "female", "other", "unknown"],
            "gender",
        );
        c.date(self.birth_date.as_ref(), "birthDate");
    }
}

resource_validate!(
    RelatedPerson,
    "US Core RelatedPerson checks: patient; gender in its value set; dates."
);
