//! `Location` (US Core Location).

use crate::clinical::prelude::*;

fhir_struct! {
    /// `Location.position`: WGS84 coordinates.
    pub struct LocationPosition: backbone {
        pub longitude: Option<Decimal> = "longitude",
        pub latitude: Option<Decimal> = "latitude",
        pub altitude: Option<Decimal> = "altitude",
    }
}

fhir_struct! {
    /// `Location.hoursOfOperation`.
    pub struct LocationHours: backbone {
        pub days_of_week: Vec<String> = "daysOfWeek",
        pub all_day: Option<bool> = "allDay",
        pub opening_time: Option<String> = "openingTime",
        pub closing_time: Option<String> = "closingTime",
    }
}

fhir_struct! {
    /// A place: a clinic, a ward, a pharmacy.
    pub struct Location: domain_resource "Location" {
        pub identifier: Vec<Identifier> = "identifier",
        pub status: Option<String> = "status",
        pub operational_status: Option<Coding> = "operationalStatus",
        pub name: Option<String> = "name",
        pub alias: Vec<String> = "alias",
        pub description: Option<String> = "description",
        pub mode: Option<String> = "mode",
        pub type_: Vec<CodeableConcept> = "type",
        pub telecom: Vec<ContactPoint> = "telecom",
        pub address: Option<Address> = "address",
        pub physical_type: Option<CodeableConcept> = "physicalType",
        pub position: Option<LocationPosition> = "position",
        pub managing_organization: Option<Reference> = "managingOrganization",
        pub part_of: Option<Reference> = "partOf",
        pub hours_of_operation: Vec<LocationHours> = "hoursOfOperation",
        pub availability_exceptions: Option<String> = "availabilityExceptions",
        pub endpoint: Vec<Reference> = "endpoint",
    }
}

impl Location {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.name.is_some(), "name");
        c.code(
            self.status.as_deref(),
            &["active", "suspended", "inactive"],
            "status",
        );
        c.code(self.mode.as_deref(), &["instance", "kind"], "mode");
    }
}

resource_validate!(
    Location,
    "US Core Location checks: name; status and mode in their value sets."
);
