//! `CareTeam` (US Core CareTeam).

use crate::clinical::prelude::*;

fhir_struct! {
    /// `CareTeam.participant`.
    pub struct CareTeamParticipant: backbone {
        pub role: Vec<CodeableConcept> = "role",
        pub member: Option<Reference> = "member",
        pub on_behalf_of: Option<Reference> = "onBehalfOf",
        pub period: Option<Period> = "period",
    }
}

fhir_struct! {
    /// The people and organizations who care for the patient.
    pub struct CareTeam: domain_resource "CareTeam" {
        pub identifier: Vec<Identifier> = "identifier",
        pub status: Option<String> = "status",
        pub category: Vec<CodeableConcept> = "category",
        pub name: Option<String> = "name",
        pub subject: Option<Reference> = "subject",
        pub encounter: Option<Reference> = "encounter",
        pub period: Option<Period> = "period",
        pub participant: Vec<CareTeamParticipant> = "participant",
        pub reason_code: Vec<CodeableConcept> = "reasonCode",
        pub reason_reference: Vec<Reference> = "reasonReference",
        pub managing_organization: Vec<Reference> = "managingOrganization",
        pub telecom: Vec<ContactPoint> = "telecom",
        pub note: Vec<Annotation> = "note",
    }
}

impl CareTeam {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.subject.is_some(), "subject");
        c.required(!self.participant.is_empty(), "participant");
        c.code(
            self.status.as_deref(),
            &[
                "proposed",
                "active",
                "suspended",
                "inactive",
                "entered-in-error",
            ],
            "status",
        );
    }
}

resource_validate!(
    CareTeam,
    "US Core CareTeam checks: subject, participant; status in its value set."
);
