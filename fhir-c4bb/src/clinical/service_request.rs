//! `ServiceRequest` (US Core ServiceRequest): an order or referral.

use crate::clinical::prelude::*;

fhir_choice! {
    /// `ServiceRequest.quantity[x]`.
    pub enum ServiceRequestQuantity {
        /// `quantityQuantity`
        Quantity(Quantity) = "quantityQuantity",
        /// `quantityRatio`
        Ratio(Box<Ratio>) = "quantityRatio",
        /// `quantityRange`
        Range(Box<Range>) = "quantityRange",
    }
}

fhir_choice! {
    /// `ServiceRequest.occurrence[x]`.
    pub enum ServiceRequestOccurrence {
        /// `occurrenceDateTime`
        DateTime(DateTime) = "occurrenceDateTime",
        /// `occurrencePeriod`
        Period(Period) = "occurrencePeriod",
        /// `occurrenceTiming`
        Timing(Box<Timing>) = "occurrenceTiming",
    }
}

fhir_struct! {
    /// A request for a service: a lab order, an imaging order, a referral.
    pub struct ServiceRequest: domain_resource "ServiceRequest" {
        pub identifier: Vec<Identifier> = "identifier",
        pub instantiates_canonical: Vec<String> = "instantiatesCanonical",
        pub instantiates_uri: Vec<String> = "instantiatesUri",
        pub based_on: Vec<Reference> = "basedOn",
        pub replaces: Vec<Reference> = "replaces",
        pub requisition: Option<Identifier> = "requisition",
        pub status: Option<String> = "status",
        pub intent: Option<String> = "intent",
        pub category: Vec<CodeableConcept> = "category",
        pub priority: Option<String> = "priority",
        pub do_not_perform: Option<bool> = "doNotPerform",
        pub code: Option<CodeableConcept> = "code",
        pub order_detail: Vec<CodeableConcept> = "orderDetail",
        pub quantity: Option<ServiceRequestQuantity> = "quantity",
        pub subject: Option<Reference> = "subject",
        pub encounter: Option<Reference> = "encounter",
        pub occurrence: Option<ServiceRequestOccurrence> = "occurrence",
        pub as_needed: Option<DosageAsNeeded> = "asNeeded",
        pub authored_on: Option<DateTime> = "authoredOn",
        pub requester: Option<Reference> = "requester",
        pub performer_type: Option<CodeableConcept> = "performerType",
        pub performer: Vec<Reference> = "performer",
        pub location_code: Vec<CodeableConcept> = "locationCode",
        pub location_reference: Vec<Reference> = "locationReference",
        pub reason_code: Vec<CodeableConcept> = "reasonCode",
        pub reason_reference: Vec<Reference> = "reasonReference",
        pub insurance: Vec<Reference> = "insurance",
        pub supporting_info: Vec<Reference> = "supportingInfo",
        pub specimen: Vec<Reference> = "specimen",
        pub body_site: Vec<CodeableConcept> = "bodySite",
        pub note: Vec<Annotation> = "note",
        pub patient_instruction: Option<String> = "patientInstruction",
        pub relevant_history: Vec<Reference> = "relevantHistory",
    }
}

impl ServiceRequest {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.required(self.intent.is_some(), "intent");
        c.required(self.code.is_some(), "code");
        c.required(self.subject.is_some(), "subject");
        c.code(
            self.status.as_deref(),
            &[
                "draft",
                "active",
                "on-hold",
                "revoked",
                "completed",
                "entered-in-error",
                "unknown",
            ],
            "status",
        );
        c.code(
            self.intent.as_deref(),
            &[
                "proposal",
                "plan",
                "directive",
                "order",
                "original-order",
                "reflex-order",
                "filler-order",
                "instance-order",
                "option",
            ],
            "intent",
        );
        c.code(
            self.priority.as_deref(),
            &["routine", "urgent", "asap", "stat"],
            "priority",
        );
        c.date(self.authored_on.as_ref(), "authoredOn");
    }
}

resource_validate!(
    ServiceRequest,
    "US Core ServiceRequest checks: status, intent (in their value sets), code, subject; priority; dates."
);
