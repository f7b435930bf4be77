//! `CarePlan` (US Core CarePlan).

use crate::clinical::prelude::*;

fhir_choice! {
    /// `CarePlan.activity.detail.scheduled[x]`.
    pub enum ActivityScheduled {
        /// `scheduledTiming`
        Timing(Box<Timing>) = "scheduledTiming",
        /// `scheduledPeriod`
        Period(Period) = "scheduledPeriod",
        /// `scheduledString`
        String(String) = "scheduledString",
    }
}

fhir_choice! {
    /// `CarePlan.activity.detail.product[x]`.
    pub enum ActivityProduct {
        /// `productCodeableConcept`
        CodeableConcept(CodeableConcept) = "productCodeableConcept",
        /// `productReference`
        Reference(Reference) = "productReference",
    }
}

fhir_struct! {
    /// `CarePlan.activity.detail`.
    pub struct CarePlanActivityDetail: backbone {
        pub kind: Option<String> = "kind",
        pub instantiates_canonical: Vec<String> = "instantiatesCanonical",
        pub instantiates_uri: Vec<String> = "instantiatesUri",
        pub code: Option<CodeableConcept> = "code",
        pub reason_code: Vec<CodeableConcept> = "reasonCode",
        pub reason_reference: Vec<Reference> = "reasonReference",
        pub goal: Vec<Reference> = "goal",
        pub status: Option<String> = "status",
        pub status_reason: Option<CodeableConcept> = "statusReason",
        pub do_not_perform: Option<bool> = "doNotPerform",
        pub scheduled: Option<ActivityScheduled> = "scheduled",
        pub location: Option<Reference> = "location",
        pub performer: Vec<Reference> = "performer",
        pub product: Option<ActivityProduct> = "product",
        pub daily_amount: Option<Quantity> = "dailyAmount",
        pub quantity: Option<Quantity> = "quantity",
        pub description: Option<String> = "description",
    }
}

fhir_struct! {
    /// `CarePlan.activity`.
    pub struct CarePlanActivity: backbone {
        pub outcome_codeable_concept: Vec<CodeableConcept> = "outcomeCodeableConcept",
        pub outcome_reference: Vec<Reference> = "outcomeReference",
        pub progress: Vec<Annotation> = "progress",
        pub reference: Option<Reference> = "reference",
        pub detail: Option<CarePlanActivityDetail> = "detail",
    }
}

fhir_struct! {
    /// A plan of care: assessment and plan, goals and activities.
    pub struct CarePlan: domain_resource "CarePlan" {
        pub identifier: Vec<Identifier> = "identifier",
        pub instantiates_canonical: Vec<String> = "instantiatesCanonical",
        pub instantiates_uri: Vec<String> = "instantiatesUri",
        pub based_on: Vec<Reference> = "basedOn",
        pub replaces: Vec<Reference> = "replaces",
        pub part_of: Vec<Reference> = "partOf",
        pub status: Option<String> = "status",
        pub intent: Option<String> = "intent",
        pub category: Vec<CodeableConcept> = "category",
        pub title: Option<String> = "title",
        pub description: Option<String> = "description",
        pub subject: Option<Reference> = "subject",
        pub encounter: Option<Reference> = "encounter",
        pub period: Option<Period> = "period",
        pub created: Option<DateTime> = "created",
        pub author: Option<Reference> = "author",
        pub contributor: Vec<Reference> = "contributor",
        pub care_team: Vec<Reference> = "careTeam",
        pub addresses: Vec<Reference> = "addresses",
        pub supporting_info: Vec<Reference> = "supportingInfo",
        pub goal: Vec<Reference> = "goal",
        pub activity: Vec<CarePlanActivity> = "activity",
        pub note: Vec<Annotation> = "note",
    }
}

impl CarePlan {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.required(self.intent.is_some(), "intent");
        // US Core ≤ 8 requires the assess-plan category; 9.0 made it optional.
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
            &["proposal", "plan", "order", "option"],
            "intent",
        );
        c.date(self.created.as_ref(), "created");
    }
}

resource_validate!(
    CarePlan,
    "US Core CarePlan checks: status and intent (in their value sets), subject; dates."
);
