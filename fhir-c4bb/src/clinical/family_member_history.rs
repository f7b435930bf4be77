//! `FamilyMemberHistory`: conditions of the patient's relatives.

use crate::clinical::prelude::*;

fhir_choice! {
    /// `FamilyMemberHistory.born[x]`.
    pub enum FamilyBorn {
        /// `bornPeriod`
        Period(Period) = "bornPeriod",
        /// `bornDate`
        Date(DateTime) = "bornDate",
        /// `bornString`
        String(String) = "bornString",
    }
}

fhir_choice! {
    /// `FamilyMemberHistory.age[x]`.
    pub enum FamilyAge {
        /// `ageAge`
        Age(Quantity) = "ageAge",
        /// `ageRange`
        Range(Box<Range>) = "ageRange",
        /// `ageString`
        String(String) = "ageString",
    }
}

fhir_choice! {
    /// `FamilyMemberHistory.deceased[x]`.
    pub enum FamilyDeceased {
        /// `deceasedBoolean`
        Boolean(bool) = "deceasedBoolean",
        /// `deceasedAge`
        Age(Quantity) = "deceasedAge",
        /// `deceasedRange`
        Range(Box<Range>) = "deceasedRange",
        /// `deceasedDate`
        Date(DateTime) = "deceasedDate",
        /// `deceasedString`
        String(String) = "deceasedString",
    }
}

fhir_choice! {
    /// `FamilyMemberHistory.condition.onset[x]`.
    pub enum FamilyConditionOnset {
        /// `onsetAge`
        Age(Quantity) = "onsetAge",
        /// `onsetRange`
        Range(Box<Range>) = "onsetRange",
        /// `onsetPeriod`
        Period(Period) = "onsetPeriod",
        /// `onsetString`
        String(String) = "onsetString",
    }
}

fhir_struct! {
    /// `FamilyMemberHistory.condition`.
    pub struct FamilyMemberCondition: backbone {
        pub code: Option<CodeableConcept> = "code",
        pub outcome: Option<CodeableConcept> = "outcome",
        pub contributed_to_death: Option<bool> = "contributedToDeath",
        pub onset: Option<FamilyConditionOnset> = "onset",
        pub note: Vec<Annotation> = "note",
    }
}

fhir_struct! {
    /// Health conditions of a relative of the patient.
    pub struct FamilyMemberHistory: domain_resource "FamilyMemberHistory" {
        pub identifier: Vec<Identifier> = "identifier",
        pub instantiates_canonical: Vec<String> = "instantiatesCanonical",
        pub instantiates_uri: Vec<String> = "instantiatesUri",
        pub status: Option<String> = "status",
        pub data_absent_reason: Option<CodeableConcept> = "dataAbsentReason",
        pub patient: Option<Reference> = "patient",
        pub date: Option<DateTime> = "date",
        pub name: Option<String> = "name",
        pub relationship: Option<CodeableConcept> = "relationship",
        pub sex: Option<CodeableConcept> = "sex",
        pub born: Option<FamilyBorn> = "born",
        pub age: Option<FamilyAge> = "age",
        pub estimated_age: Option<bool> = "estimatedAge",
        pub deceased: Option<FamilyDeceased> = "deceased",
        pub reason_code: Vec<CodeableConcept> = "reasonCode",
        pub reason_reference: Vec<Reference> = "reasonReference",
        pub note: Vec<Annotation> = "note",
        pub condition: Vec<FamilyMemberCondition> = "condition",
    }
}

impl FamilyMemberHistory {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.required(self.patient.is_some(), "patient");
        c.required(self.relationship.is_some(), "relationship");
        c.code(
            self.status.as_deref(),
            &["partial", "completed", "entered-in-error", "health-unknown"],
            "status",
        );
        c.date(self.date.as_ref(), "date");
    }
}

resource_validate!(
    FamilyMemberHistory,
    "R4 FamilyMemberHistory checks: status (in its value set), patient, relationship; dates."
);
