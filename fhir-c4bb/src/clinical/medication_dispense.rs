//! `MedicationDispense` (US Core MedicationDispense): a medication handed to the patient.

use crate::clinical::prelude::*;

fhir_choice! {
    /// `MedicationDispense.statusReason[x]`.
    pub enum DispenseStatusReason {
        /// `statusReasonCodeableConcept`
        CodeableConcept(CodeableConcept) = "statusReasonCodeableConcept",
        /// `statusReasonReference`
        Reference(Reference) = "statusReasonReference",
    }
}

fhir_struct! {
    /// `MedicationDispense.performer`.
    pub struct DispensePerformer: backbone {
        pub function: Option<CodeableConcept> = "function",
        pub actor: Option<Reference> = "actor",
    }
}

fhir_struct! {
    /// `MedicationDispense.substitution`.
    pub struct DispenseSubstitution: backbone {
        pub was_substituted: Option<bool> = "wasSubstituted",
        pub type_: Option<CodeableConcept> = "type",
        pub reason: Vec<CodeableConcept> = "reason",
        pub responsible_party: Vec<Reference> = "responsibleParty",
    }
}

fhir_struct! {
    /// A medication dispensed (picked up at a pharmacy).
    pub struct MedicationDispense: domain_resource "MedicationDispense" {
        pub identifier: Vec<Identifier> = "identifier",
        pub part_of: Vec<Reference> = "partOf",
        pub status: Option<String> = "status",
        pub status_reason: Option<DispenseStatusReason> = "statusReason",
        pub category: Option<CodeableConcept> = "category",
        pub medication: Option<MedicationChoice> = "medication",
        pub subject: Option<Reference> = "subject",
        pub context: Option<Reference> = "context",
        pub supporting_information: Vec<Reference> = "supportingInformation",
        pub performer: Vec<DispensePerformer> = "performer",
        pub location: Option<Reference> = "location",
        pub authorizing_prescription: Vec<Reference> = "authorizingPrescription",
        pub type_: Option<CodeableConcept> = "type",
        pub quantity: Option<Quantity> = "quantity",
        pub days_supply: Option<Quantity> = "daysSupply",
        pub when_prepared: Option<DateTime> = "whenPrepared",
        pub when_handed_over: Option<DateTime> = "whenHandedOver",
        pub destination: Option<Reference> = "destination",
        pub receiver: Vec<Reference> = "receiver",
        pub note: Vec<Annotation> = "note",
        pub dosage_instruction: Vec<Dosage> = "dosageInstruction",
        pub substitution: Option<DispenseSubstitution> = "substitution",
        pub detected_issue: Vec<Reference> = "detectedIssue",
        pub event_history: Vec<Reference> = "eventHistory",
    }
}

impl MedicationDispense {
    /// The medication's name (see [`MedicationChoice::text`]), resolving a reference to a
    /// contained Medication.
    pub fn medication_text(&self) -> Option<&str> {
        crate::clinical::medication_text(self.medication.as_ref(), |r| self.resolve_contained(r))
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.required(self.medication.is_some(), "medication");
        c.required(self.subject.is_some(), "subject");
        c.code(
            self.status.as_deref(),
            &[
                "preparation",
                "in-progress",
                "cancelled",
                "on-hold",
                "completed",
                "entered-in-error",
                "stopped",
                "declined",
                "unknown",
            ],
            "status",
        );
        c.date(self.when_prepared.as_ref(), "whenPrepared");
        c.date(self.when_handed_over.as_ref(), "whenHandedOver");
    }
}

resource_validate!(
    MedicationDispense,
    "US Core MedicationDispense checks: status (in its value set), `medication[x]`, subject; dates."
);
