//! `Procedure` (US Core Procedure).

use crate::clinical::prelude::*;

fhir_choice! {
    /// `Procedure.performed[x]`.
    pub enum ProcedurePerformed {
        /// `performedDateTime`
        DateTime(DateTime) = "performedDateTime",
        /// `performedPeriod`
        Period(Period) = "performedPeriod",
        /// `performedString`
        String(String) = "performedString",
        /// `performedAge`
        Age(Box<Quantity>) = "performedAge",
        /// `performedRange`
        Range(Box<Range>) = "performedRange",
    }
}

fhir_struct! {
    /// `Procedure.performer`.
    pub struct ProcedurePerformer: backbone {
        pub function: Option<CodeableConcept> = "function",
        pub actor: Option<Reference> = "actor",
        pub on_behalf_of: Option<Reference> = "onBehalfOf",
    }
}

fhir_struct! {
    /// `Procedure.focalDevice`.
    pub struct ProcedureFocalDevice: backbone {
        pub action: Option<CodeableConcept> = "action",
        pub manipulated: Option<Reference> = "manipulated",
    }
}

fhir_struct! {
    /// A procedure performed on the patient (surgery, counseling, a screening).
    pub struct Procedure: domain_resource "Procedure" {
        pub identifier: Vec<Identifier> = "identifier",
        pub instantiates_canonical: Vec<String> = "instantiatesCanonical",
        pub instantiates_uri: Vec<String> = "instantiatesUri",
        pub based_on: Vec<Reference> = "basedOn",
        pub part_of: Vec<Reference> = "partOf",
        pub status: Option<String> = "status",
        pub status_reason: Option<CodeableConcept> = "statusReason",
        pub category: Option<CodeableConcept> = "category",
        pub code: Option<CodeableConcept> = "code",
        pub subject: Option<Reference> = "subject",
        pub encounter: Option<Reference> = "encounter",
        pub performed: Option<ProcedurePerformed> = "performed",
        pub recorder: Option<Reference> = "recorder",
        pub asserter: Option<Reference> = "asserter",
        pub performer: Vec<ProcedurePerformer> = "performer",
        pub location: Option<Reference> = "location",
        pub reason_code: Vec<CodeableConcept> = "reasonCode",
        pub reason_reference: Vec<Reference> = "reasonReference",
        pub body_site: Vec<CodeableConcept> = "bodySite",
        pub outcome: Option<CodeableConcept> = "outcome",
        pub report: Vec<Reference> = "report",
        pub complication: Vec<CodeableConcept> = "complication",
        pub complication_detail: Vec<Reference> = "complicationDetail",
        pub follow_up: Vec<CodeableConcept> = "followUp",
        pub note: Vec<Annotation> = "note",
        pub focal_device: Vec<ProcedureFocalDevice> = "focalDevice",
        pub used_reference: Vec<Reference> = "usedReference",
        pub used_code: Vec<CodeableConcept> = "usedCode",
    }
}

impl Procedure {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.required(self.code.is_some(), "code");
        c.required(self.subject.is_some(), "subject");
        c.code(
            self.status.as_deref(),
            &[
                "preparation",
                "in-progress",
                "not-done",
                "on-hold",
                "stopped",
                "completed",
                "entered-in-error",
                "unknown",
            ],
            "status",
        );
    }
}

resource_validate!(
    Procedure,
    "US Core Procedure checks: status (in its value set), code, subject."
);
