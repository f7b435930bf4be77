//! `Goal` (US Core Goal).

use crate::clinical::prelude::*;

fhir_choice! {
    /// `Goal.start[x]`.
    pub enum GoalStart {
        /// `startDate`
        Date(DateTime) = "startDate",
        /// `startCodeableConcept`
        CodeableConcept(CodeableConcept) = "startCodeableConcept",
    }
}

fhir_choice! {
    /// `Goal.target.detail[x]`.
    pub enum GoalTargetDetail {
        /// `detailQuantity`
        Quantity(Quantity) = "detailQuantity",
        /// `detailRange`
        Range(Box<Range>) = "detailRange",
        /// `detailCodeableConcept`
        CodeableConcept(CodeableConcept) = "detailCodeableConcept",
        /// `detailString`
        String(String) = "detailString",
        /// `detailBoolean`
        Boolean(bool) = "detailBoolean",
        /// `detailInteger`
        Integer(Integer) = "detailInteger",
        /// `detailRatio`
        Ratio(Box<Ratio>) = "detailRatio",
    }
}

fhir_choice! {
    /// `Goal.target.due[x]`.
    pub enum GoalTargetDue {
        /// `dueDate`
        Date(DateTime) = "dueDate",
        /// `dueDuration`
        Duration(Quantity) = "dueDuration",
    }
}

fhir_struct! {
    /// `Goal.target`.
    pub struct GoalTarget: backbone {
        pub measure: Option<CodeableConcept> = "measure",
        pub detail: Option<GoalTargetDetail> = "detail",
        pub due: Option<GoalTargetDue> = "due",
    }
}

fhir_struct! {
    /// A goal of care: lose weight, keep HbA1c below 7%.
    pub struct Goal: domain_resource "Goal" {
        pub identifier: Vec<Identifier> = "identifier",
        pub lifecycle_status: Option<String> = "lifecycleStatus",
        pub achievement_status: Option<CodeableConcept> = "achievementStatus",
        pub category: Vec<CodeableConcept> = "category",
        pub priority: Option<CodeableConcept> = "priority",
        pub description: Option<CodeableConcept> = "description",
        pub subject: Option<Reference> = "subject",
        pub start: Option<GoalStart> = "start",
        pub target: Vec<GoalTarget> = "target",
        pub status_date: Option<DateTime> = "statusDate",
        pub status_reason: Option<String> = "statusReason",
        pub expressed_by: Option<Reference> = "expressedBy",
        pub addresses: Vec<Reference> = "addresses",
        pub note: Vec<Annotation> = "note",
        pub outcome_code: Vec<CodeableConcept> = "outcomeCode",
        pub outcome_reference: Vec<Reference> = "outcomeReference",
    }
}

impl Goal {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.lifecycle_status.is_some(), "lifecycleStatus");
        c.required(self.description.is_some(), "description");
        c.required(self.subject.is_some(), "subject");
        c.code(
            self.lifecycle_status.as_deref(),
            &[
                "proposed",
                "planned",
                "accepted",
                "active",
                "on-hold",
                "completed",
                "cancelled",
                "entered-in-error",
                "rejected",
            ],
            "lifecycleStatus",
        );
        c.date(self.status_date.as_ref(), "statusDate");
    }
}

resource_validate!(
    Goal,
    "US Core Goal checks: lifecycleStatus (in its value set), description, subject; dates."
);
