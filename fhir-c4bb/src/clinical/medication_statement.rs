//! `MedicationStatement`: a medication the patient is (or was) taking, as reported.

use crate::clinical::prelude::*;

fhir_choice! {
    /// `MedicationStatement.effective[x]`.
    pub enum StatementEffective {
        /// `effectiveDateTime`
        DateTime(DateTime) = "effectiveDateTime",
        /// `effectivePeriod`
        Period(Period) = "effectivePeriod",
    }
}

fhir_struct! {
    /// A medication the patient takes or took, as reported by the patient or a clinician.
    pub struct MedicationStatement: domain_resource "MedicationStatement" {
        pub identifier: Vec<Identifier> = "identifier",
        pub based_on: Vec<Reference> = "basedOn",
        pub part_of: Vec<Reference> = "partOf",
        pub status: Option<String> = "status",
        pub status_reason: Vec<CodeableConcept> = "statusReason",
        pub category: Option<CodeableConcept> = "category",
        pub medication: Option<MedicationChoice> = "medication",
        pub subject: Option<Reference> = "subject",
        pub context: Option<Reference> = "context",
        pub effective: Option<StatementEffective> = "effective",
        pub date_asserted: Option<DateTime> = "dateAsserted",
        pub information_source: Option<Reference> = "informationSource",
        pub derived_from: Vec<Reference> = "derivedFrom",
        pub reason_code: Vec<CodeableConcept> = "reasonCode",
        pub reason_reference: Vec<Reference> = "reasonReference",
        pub note: Vec<Annotation> = "note",
        pub dosage: Vec<Dosage> = "dosage",
    }
}

impl MedicationStatement {
    /// The medication's name (see [`MedicationChoice::text`]), resolving a reference to a
    /// contained Medication.
    pub fn medication_text(&self) -> Option<&str> {
        crate::clinical::medication_text(self.medication.as_ref(), |r| self.resolve_contained(r))
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.required(self.medication.is_some(), "medication[x]");
        c.required(self.subject.is_some(), "subject");
        c.code(
            self.status.as_deref(),
            &[
                "active",
                "completed",
                "entered-in-error",
                "intended",
                "stopped",
                "on-hold",
                "unknown",
                "not-taken",
            ],
            "status",
        );
        c.date(self.date_asserted.as_ref(), "dateAsserted");
    }
}

resource_validate!(
    MedicationStatement,
    "R4 MedicationStatement checks: status (in its value set), `medication[x]`, subject; dates."
);
