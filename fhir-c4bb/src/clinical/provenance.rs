//! `Provenance` (US Core Provenance): who made or changed the resources, and when.

use crate::clinical::prelude::*;

fhir_choice! {
    /// `Provenance.occurred[x]`.
    pub enum ProvenanceOccurred {
        /// `occurredPeriod`
        Period(Period) = "occurredPeriod",
        /// `occurredDateTime`
        DateTime(DateTime) = "occurredDateTime",
    }
}

fhir_struct! {
    /// `Provenance.agent`.
    pub struct ProvenanceAgent: backbone {
        pub type_: Option<CodeableConcept> = "type",
        pub role: Vec<CodeableConcept> = "role",
        pub who: Option<Reference> = "who",
        pub on_behalf_of: Option<Reference> = "onBehalfOf",
    }
}

fhir_struct! {
    /// `Provenance.entity`.
    pub struct ProvenanceEntity: backbone {
        pub role: Option<String> = "role",
        pub what: Option<Reference> = "what",
        pub agent: Vec<ProvenanceAgent> = "agent",
    }
}

fhir_struct! {
    /// Who authored or transmitted resources, and when.
    pub struct Provenance: domain_resource "Provenance" {
        pub target: Vec<Reference> = "target",
        pub occurred: Option<ProvenanceOccurred> = "occurred",
        pub recorded: Option<DateTime> = "recorded",
        pub policy: Vec<String> = "policy",
        pub location: Option<Reference> = "location",
        pub reason: Vec<CodeableConcept> = "reason",
        pub activity: Option<CodeableConcept> = "activity",
        pub agent: Vec<ProvenanceAgent> = "agent",
        pub entity: Vec<ProvenanceEntity> = "entity",
        pub signature: Vec<Signature> = "signature",
    }
}

impl Provenance {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(!self.target.is_empty(), "target");
        c.required(self.recorded.is_some(), "recorded");
        c.required(!self.agent.is_empty(), "agent");
        c.date(self.recorded.as_ref(), "recorded");
    }
}

resource_validate!(
    Provenance,
    "US Core Provenance checks: target, recorded, agent; dates."
);
