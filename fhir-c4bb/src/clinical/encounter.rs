//! `Encounter` (US Core Encounter): a visit or stay.

use crate::clinical::prelude::*;

fhir_struct! {
    /// `Encounter.statusHistory`.
    pub struct EncounterStatusHistory: backbone {
        pub status: Option<String> = "status",
        pub period: Option<Period> = "period",
    }
}

fhir_struct! {
    /// `Encounter.classHistory`.
    pub struct EncounterClassHistory: backbone {
        pub class: Option<Coding> = "class",
        pub period: Option<Period> = "period",
    }
}

fhir_struct! {
    /// `Encounter.participant`.
    pub struct EncounterParticipant: backbone {
        pub type_: Vec<CodeableConcept> = "type",
        pub period: Option<Period> = "period",
        pub individual: Option<Reference> = "individual",
    }
}

fhir_struct! {
    /// `Encounter.diagnosis`.
    pub struct EncounterDiagnosis: backbone {
        pub condition: Option<Reference> = "condition",
        pub use_: Option<CodeableConcept> = "use",
        pub rank: Option<Integer> = "rank",
    }
}

fhir_struct! {
    /// `Encounter.hospitalization`.
    pub struct EncounterHospitalization: backbone {
        pub pre_admission_identifier: Option<Identifier> = "preAdmissionIdentifier",
        pub origin: Option<Reference> = "origin",
        pub admit_source: Option<CodeableConcept> = "admitSource",
        pub re_admission: Option<CodeableConcept> = "reAdmission",
        pub diet_preference: Vec<CodeableConcept> = "dietPreference",
        pub special_courtesy: Vec<CodeableConcept> = "specialCourtesy",
        pub special_arrangement: Vec<CodeableConcept> = "specialArrangement",
        pub destination: Option<Reference> = "destination",
        pub discharge_disposition: Option<CodeableConcept> = "dischargeDisposition",
    }
}

fhir_struct! {
    /// `Encounter.location`.
    pub struct EncounterLocation: backbone {
        pub location: Option<Reference> = "location",
        pub status: Option<String> = "status",
        pub physical_type: Option<CodeableConcept> = "physicalType",
        pub period: Option<Period> = "period",
    }
}

fhir_struct! {
    /// A visit, an admission, a telehealth session.
    pub struct Encounter: domain_resource "Encounter" {
        pub identifier: Vec<Identifier> = "identifier",
        pub status: Option<String> = "status",
        pub status_history: Vec<EncounterStatusHistory> = "statusHistory",
        pub class: Option<Coding> = "class",
        pub class_history: Vec<EncounterClassHistory> = "classHistory",
        pub type_: Vec<CodeableConcept> = "type",
        pub service_type: Option<CodeableConcept> = "serviceType",
        pub priority: Option<CodeableConcept> = "priority",
        pub subject: Option<Reference> = "subject",
        pub episode_of_care: Vec<Reference> = "episodeOfCare",
        pub based_on: Vec<Reference> = "basedOn",
        pub participant: Vec<EncounterParticipant> = "participant",
        pub appointment: Vec<Reference> = "appointment",
        pub period: Option<Period> = "period",
        pub length: Option<Quantity> = "length",
        pub reason_code: Vec<CodeableConcept> = "reasonCode",
        pub reason_reference: Vec<Reference> = "reasonReference",
        pub diagnosis: Vec<EncounterDiagnosis> = "diagnosis",
        pub account: Vec<Reference> = "account",
        pub hospitalization: Option<EncounterHospitalization> = "hospitalization",
        pub location: Vec<EncounterLocation> = "location",
        pub service_provider: Option<Reference> = "serviceProvider",
        pub part_of: Option<Reference> = "partOf",
    }
}

impl Encounter {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.required(self.class.is_some(), "class");
        c.required(self.subject.is_some(), "subject");
        c.code(
            self.status.as_deref(),
            &[
                "planned",
                "arrived",
                "triaged",
                "in-progress",
                "onleave",
                "finished",
                "cancelled",
                "entered-in-error",
                "unknown",
            ],
            "status",
        );
    }
}

resource_validate!(
    Encounter,
    "US Core Encounter checks: status (in its value set), class, subject."
);
