//! `Endpoint`: a technical endpoint (a FHIR base URL, a Direct address).

use crate::clinical::prelude::*;

fhir_struct! {
    /// Where and how to reach a system.
    pub struct Endpoint: domain_resource "Endpoint" {
        pub identifier: Vec<Identifier> = "identifier",
        pub status: Option<String> = "status",
        pub connection_type: Option<Coding> = "connectionType",
        pub name: Option<String> = "name",
        pub managing_organization: Option<Reference> = "managingOrganization",
        pub contact: Vec<ContactPoint> = "contact",
        pub period: Option<Period> = "period",
        pub payload_type: Vec<CodeableConcept> = "payloadType",
        pub payload_mime_type: Vec<String> = "payloadMimeType",
        pub address: Option<String> = "address",
        pub header: Vec<String> = "header",
    }
}

impl Endpoint {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.required(self.connection_type.is_some(), "connectionType");
        c.required(!self.payload_type.is_empty(), "payloadType");
        c.required(self.address.is_some(), "address");
        c.code(
            self.status.as_deref(),
            &[
                "active",
                "suspended",
                "error",
                "off",
                "entered-in-error",
                "test",
            ],
            "status",
        );
    }
}

resource_validate!(
    Endpoint,
    "R4 Endpoint checks: status (in its value set), connectionType, payloadType, address."
);
