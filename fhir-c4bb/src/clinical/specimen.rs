//! `Specimen` (US Core Specimen).

use crate::clinical::prelude::*;

fhir_choice! {
    /// `Specimen.collection.collected[x]`.
    pub enum SpecimenCollected {
        /// `collectedDateTime`
        DateTime(DateTime) = "collectedDateTime",
        /// `collectedPeriod`
        Period(Period) = "collectedPeriod",
    }
}

fhir_choice! {
    /// `Specimen.collection.fastingStatus[x]`.
    pub enum SpecimenFasting {
        /// `fastingStatusCodeableConcept`
        CodeableConcept(CodeableConcept) = "fastingStatusCodeableConcept",
        /// `fastingStatusDuration`
        Duration(Quantity) = "fastingStatusDuration",
    }
}

fhir_choice! {
    /// `Specimen.processing.time[x]`.
    pub enum SpecimenProcessingTime {
        /// `timeDateTime`
        DateTime(DateTime) = "timeDateTime",
        /// `timePeriod`
        Period(Period) = "timePeriod",
    }
}

fhir_choice! {
    /// `Specimen.container.additive[x]`.
    pub enum SpecimenAdditive {
        /// `additiveCodeableConcept`
        CodeableConcept(CodeableConcept) = "additiveCodeableConcept",
        /// `additiveReference`
        Reference(Reference) = "additiveReference",
    }
}

fhir_struct! {
    /// `Specimen.collection`.
    pub struct SpecimenCollection: backbone {
        pub collector: Option<Reference> = "collector",
        pub collected: Option<SpecimenCollected> = "collected",
        pub duration: Option<Quantity> = "duration",
        pub quantity: Option<Quantity> = "quantity",
        pub method: Option<CodeableConcept> = "method",
        pub body_site: Option<CodeableConcept> = "bodySite",
        pub fasting_status: Option<SpecimenFasting> = "fastingStatus",
    }
}

fhir_struct! {
    /// `Specimen.processing`.
    pub struct SpecimenProcessing: backbone {
        pub description: Option<String> = "description",
        pub procedure: Option<CodeableConcept> = "procedure",
        pub additive: Vec<Reference> = "additive",
        pub time: Option<SpecimenProcessingTime> = "time",
    }
}

fhir_struct! {
    /// `Specimen.container`.
    pub struct SpecimenContainer: backbone {
        pub identifier: Vec<Identifier> = "identifier",
        pub description: Option<String> = "description",
        pub type_: Option<CodeableConcept> = "type",
        pub capacity: Option<Quantity> = "capacity",
        pub specimen_quantity: Option<Quantity> = "specimenQuantity",
        pub additive: Option<SpecimenAdditive> = "additive",
    }
}

fhir_struct! {
    /// A sample for analysis: blood, urine, tissue.
    pub struct Specimen: domain_resource "Specimen" {
        pub identifier: Vec<Identifier> = "identifier",
        pub accession_identifier: Option<Identifier> = "accessionIdentifier",
        pub status: Option<String> = "status",
        pub type_: Option<CodeableConcept> = "type",
        pub subject: Option<Reference> = "subject",
        pub received_time: Option<DateTime> = "receivedTime",
        pub parent: Vec<Reference> = "parent",
        pub request: Vec<Reference> = "request",
        pub collection: Option<SpecimenCollection> = "collection",
        pub processing: Vec<SpecimenProcessing> = "processing",
        pub container: Vec<SpecimenContainer> = "container",
        pub condition: Vec<CodeableConcept> = "condition",
        pub note: Vec<Annotation> = "note",
    }
}

impl Specimen {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.type_.is_some(), "type");
        c.code(
            self.status.as_deref(),
            &[
                "available",
                "unavailable",
                "unsatisfactory",
                "entered-in-error",
            ],
            "status",
        );
        c.date(self.received_time.as_ref(), "receivedTime");
    }
}

resource_validate!(
    Specimen,
    "US Core Specimen checks: type; status in its value set; dates."
);
