//! `PractitionerRole` (US Core PractitionerRole): a practitioner at an organization, in a role.

use crate::clinical::prelude::*;

fhir_struct! {
    /// `PractitionerRole.availableTime`.
    pub struct RoleAvailableTime: backbone {
        pub days_of_week: Vec<String> = "daysOfWeek",
        pub all_day: Option<bool> = "allDay",
        pub available_start_time: Option<String> = "availableStartTime",
        pub available_end_time: Option<String> = "availableEndTime",
    }
}

fhir_struct! {
    /// `PractitionerRole.notAvailable`.
    pub struct RoleNotAvailable: backbone {
        pub description: Option<String> = "description",
        pub during: Option<Period> = "during",
    }
}

fhir_struct! {
    /// What a practitioner does, where, for which organization.
    pub struct PractitionerRole: domain_resource "PractitionerRole" {
        pub identifier: Vec<Identifier> = "identifier",
        pub active: Option<bool> = "active",
        pub period: Option<Period> = "period",
        pub practitioner: Option<Reference> = "practitioner",
        pub organization: Option<Reference> = "organization",
        pub code: Vec<CodeableConcept> = "code",
        pub specialty: Vec<CodeableConcept> = "specialty",
        pub location: Vec<Reference> = "location",
        pub healthcare_service: Vec<Reference> = "healthcareService",
        pub telecom: Vec<ContactPoint> = "telecom",
        pub available_time: Vec<RoleAvailableTime> = "availableTime",
        pub not_available: Vec<RoleNotAvailable> = "notAvailable",
        pub availability_exceptions: Option<String> = "availabilityExceptions",
        pub endpoint: Vec<Reference> = "endpoint",
    }
}

impl PractitionerRole {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        // US Core pd-1: contact information or an endpoint.
        c.required(
            !self.telecom.is_empty() || !self.endpoint.is_empty(),
            "telecom",
        );
    }
}

resource_validate!(
    PractitionerRole,
    "US Core PractitionerRole checks: contact information or an endpoint (pd-1)."
);
