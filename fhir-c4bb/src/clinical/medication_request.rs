//! `MedicationRequest` (US Core MedicationRequest): prescriptions and medication orders,
//! the usual source of a medication list.

use crate::clinical::resource_validate;
use crate::datatypes::{
    Annotation, CodeableConcept, Dosage, Extension, Identifier, Period, Quantity, Reference,
};
use crate::macros::{fhir_choice, fhir_struct};
use crate::validate::{Check, ValidationIssue};
use crate::{DateTime, Integer};

fhir_choice! {
    /// `medication[x]` of MedicationRequest, MedicationDispense, MedicationStatement.
    pub enum MedicationChoice {
        /// `medicationCodeableConcept` (RxNorm).
        CodeableConcept(CodeableConcept) = "medicationCodeableConcept",
        /// `medicationReference` (a Medication resource, often contained).
        Reference(Reference) = "medicationReference",
    }
}

fhir_choice! {
    /// `MedicationRequest.reported[x]`.
    pub enum MedicationRequestReported {
        /// `reportedBoolean`
        Boolean(bool) = "reportedBoolean",
        /// `reportedReference`
        Reference(Reference) = "reportedReference",
    }
}

fhir_struct! {
    /// `MedicationRequest.dispenseRequest.initialFill`.
    pub struct DispenseInitialFill {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// First fill quantity.
        pub quantity: Option<Quantity> = "quantity",
        /// First fill duration.
        pub duration: Option<Quantity> = "duration",
    }
}

fhir_struct! {
    /// `MedicationRequest.dispenseRequest`.
    pub struct MedicationRequestDispense {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// First fill.
        pub initial_fill: Option<DispenseInitialFill> = "initialFill",
        /// Minimum period between dispenses.
        pub dispense_interval: Option<Quantity> = "dispenseInterval",
        /// How long the prescription is valid.
        pub validity_period: Option<Period> = "validityPeriod",
        /// Refills authorized.
        pub number_of_repeats_allowed: Option<Integer> = "numberOfRepeatsAllowed",
        /// Amount per dispense.
        pub quantity: Option<Quantity> = "quantity",
        /// Days supply per dispense.
        pub expected_supply_duration: Option<Quantity> = "expectedSupplyDuration",
        /// Intended dispenser.
        pub performer: Option<Reference> = "performer",
    }
}

fhir_choice! {
    /// `MedicationRequest.substitution.allowed[x]`.
    pub enum SubstitutionAllowed {
        /// `allowedBoolean`
        Boolean(bool) = "allowedBoolean",
        /// `allowedCodeableConcept`
        CodeableConcept(CodeableConcept) = "allowedCodeableConcept",
    }
}

fhir_struct! {
    /// `MedicationRequest.substitution`.
    pub struct MedicationRequestSubstitution {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Whether substitution is allowed.
        pub allowed: Option<SubstitutionAllowed> = "allowed",
        /// Why.
        pub reason: Option<CodeableConcept> = "reason",
    }
}

fhir_struct! {
    /// A prescription or medication order.
    ///
    /// ```
    /// let m: fhir_c4bb::clinical::MedicationRequest = fhir_c4bb::from_str(r#"{"resourceType":"MedicationRequest",
    ///   "status":"active","intent":"order","subject":{"reference":"Patient/1"},
    ///   "medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"1049221","display":"Acetaminophen 325 MG"}]},
    ///   "dosageInstruction":[{"text":"2 tablets every 6 hours"}]}"#)?;
    /// assert_eq!(m.medication_text(), Some("Acetaminophen 325 MG"));
    /// assert!(m.validate().is_empty());
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct MedicationRequest: domain_resource "MedicationRequest" {
        /// Business identifiers.
        pub identifier: Vec<Identifier> = "identifier",
        /// `active`, `on-hold`, `cancelled`, `completed`, `entered-in-error`, `stopped`, `draft`, `unknown`.
        pub status: Option<String> = "status",
        /// Why the status is what it is.
        pub status_reason: Option<CodeableConcept> = "statusReason",
        /// `proposal`, `plan`, `order`, `original-order`...
        pub intent: Option<String> = "intent",
        /// Inpatient, outpatient, community...
        pub category: Vec<CodeableConcept> = "category",
        /// `routine`, `urgent`, `asap`, `stat`.
        pub priority: Option<String> = "priority",
        /// Whether this is a request not to give it.
        pub do_not_perform: Option<bool> = "doNotPerform",
        /// Reported rather than primary record.
        pub reported: Option<MedicationRequestReported> = "reported",
        /// The medication.
        pub medication: Option<MedicationChoice> = "medication",
        /// The patient.
        pub subject: Option<Reference> = "subject",
        /// The encounter.
        pub encounter: Option<Reference> = "encounter",
        /// Supporting information.
        pub supporting_information: Vec<Reference> = "supportingInformation",
        /// When it was written.
        pub authored_on: Option<DateTime> = "authoredOn",
        /// Who wrote it.
        pub requester: Option<Reference> = "requester",
        /// Intended performer.
        pub performer: Option<Reference> = "performer",
        /// Performer type.
        pub performer_type: Option<CodeableConcept> = "performerType",
        /// Who entered it.
        pub recorder: Option<Reference> = "recorder",
        /// Why it was ordered.
        pub reason_code: Vec<CodeableConcept> = "reasonCode",
        /// Why it was ordered (references).
        pub reason_reference: Vec<Reference> = "reasonReference",
        /// Protocol followed (canonical).
        pub instantiates_canonical: Vec<String> = "instantiatesCanonical",
        /// Protocol followed (URI).
        pub instantiates_uri: Vec<String> = "instantiatesUri",
        /// What it fulfils.
        pub based_on: Vec<Reference> = "basedOn",
        /// Composite request id.
        pub group_identifier: Option<Identifier> = "groupIdentifier",
        /// Overall pattern of administration.
        pub course_of_therapy_type: Option<CodeableConcept> = "courseOfTherapyType",
        /// Associated insurance.
        pub insurance: Vec<Reference> = "insurance",
        /// Notes.
        pub note: Vec<Annotation> = "note",
        /// How to take it.
        pub dosage_instruction: Vec<Dosage> = "dosageInstruction",
        /// Dispensing authorization.
        pub dispense_request: Option<MedicationRequestDispense> = "dispenseRequest",
        /// Substitution rules.
        pub substitution: Option<MedicationRequestSubstitution> = "substitution",
        /// Earlier request this replaces.
        pub prior_prescription: Option<Reference> = "priorPrescription",
        /// Clinical issues detected.
        pub detected_issue: Vec<Reference> = "detectedIssue",
        /// Lifecycle events.
        pub event_history: Vec<Reference> = "eventHistory",
    }
}

const STATUS: &[&str] = &[
    "active",
    "on-hold",
    "cancelled",
    "completed",
    "entered-in-error",
    "stopped",
    "draft",
    "unknown",
];
const INTENT: &[&str] = &[
    "proposal",
    "plan",
    "order",
    "original-order",
    "reflex-order",
    "filler-order",
    "instance-order",
    "option",
];

impl MedicationChoice {
    /// The medication's name: the concept's display text, or the reference's display.
    pub fn text(&self) -> Option<&str> {
        match self {
            MedicationChoice::CodeableConcept(c) => c.display_text(),
            MedicationChoice::Reference(r) => r.display.as_deref(),
        }
    }
}

impl MedicationRequest {
    /// The medication's name (see [`MedicationChoice::text`]; a reference to a contained
    /// Medication is resolved with [`resolve_contained`](Self::resolve_contained)).
    pub fn medication_text(&self) -> Option<&str> {
        crate::clinical::medication_text(self.medication.as_ref(), |r| self.resolve_contained(r))
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.code(self.status.as_deref(), STATUS, "status");
        c.required(self.intent.is_some(), "intent");
        c.code(self.intent.as_deref(), INTENT, "intent");
        c.code(
            self.priority.as_deref(),
            &["routine", "urgent", "asap", "stat"],
            "priority",
        );
        c.required(self.medication.is_some(), "medication[x]");
        c.required(self.subject.is_some(), "subject");
        c.date(self.authored_on.as_ref(), "authoredOn");
    }
}

resource_validate!(
    MedicationRequest,
    "US Core MedicationRequest checks: status and intent (required, in their value sets), priority, `medication[x]`, subject; dates."
);
