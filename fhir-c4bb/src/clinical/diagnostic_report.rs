//! `DiagnosticReport` (US Core DiagnosticReport for Laboratory Results Reporting, and for Report and Note Exchange).

use crate::clinical::prelude::*;

fhir_choice! {
    /// `DiagnosticReport.effective[x]`.
    pub enum DiagnosticReportEffective {
        /// `effectiveDateTime`
        DateTime(DateTime) = "effectiveDateTime",
        /// `effectivePeriod`
        Period(Period) = "effectivePeriod",
    }
}

fhir_struct! {
    /// `DiagnosticReport.media`: a key image.
    pub struct DiagnosticReportMedia: backbone {
        pub comment: Option<String> = "comment",
        pub link: Option<Reference> = "link",
    }
}

fhir_struct! {
    /// A set of results and their interpretation: a lab panel, an imaging report, a clinical note.
    pub struct DiagnosticReport: domain_resource "DiagnosticReport" {
        pub identifier: Vec<Identifier> = "identifier",
        pub based_on: Vec<Reference> = "basedOn",
        pub status: Option<String> = "status",
        pub category: Vec<CodeableConcept> = "category",
        pub code: Option<CodeableConcept> = "code",
        pub subject: Option<Reference> = "subject",
        pub encounter: Option<Reference> = "encounter",
        pub effective: Option<DiagnosticReportEffective> = "effective",
        pub issued: Option<DateTime> = "issued",
        pub performer: Vec<Reference> = "performer",
        pub results_interpreter: Vec<Reference> = "resultsInterpreter",
        pub specimen: Vec<Reference> = "specimen",
        pub result: Vec<Reference> = "result",
        pub imaging_study: Vec<Reference> = "imagingStudy",
        pub media: Vec<DiagnosticReportMedia> = "media",
        pub conclusion: Option<String> = "conclusion",
        pub conclusion_code: Vec<CodeableConcept> = "conclusionCode",
        pub presented_form: Vec<Attachment> = "presentedForm",
    }
}

impl DiagnosticReport {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.required(self.code.is_some(), "code");
        c.required(self.subject.is_some(), "subject");
        c.code(
            self.status.as_deref(),
            &[
                "registered",
                "partial",
                "preliminary",
                "final",
                "amended",
                "corrected",
                "appended",
                "cancelled",
                "entered-in-error",
                "unknown",
            ],
            "status",
        );
        c.date(self.issued.as_ref(), "issued");
    }
}

resource_validate!(
    DiagnosticReport,
    "US Core DiagnosticReport checks: status (in its value set), code, subject; dates."
);
