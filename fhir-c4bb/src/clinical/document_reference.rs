//! `DocumentReference` (US Core DocumentReference): a clinical note or other document.

use crate::clinical::prelude::*;

fhir_struct! {
    /// `DocumentReference.relatesTo`.
    pub struct DocumentRelatesTo: backbone {
        pub code: Option<String> = "code",
        pub target: Option<Reference> = "target",
    }
}

fhir_struct! {
    /// `DocumentReference.content`: the document itself.
    pub struct DocumentContent: backbone {
        pub attachment: Option<Attachment> = "attachment",
        pub format: Option<Coding> = "format",
    }
}

fhir_struct! {
    /// `DocumentReference.context`: the clinical context.
    pub struct DocumentContext: backbone {
        pub encounter: Vec<Reference> = "encounter",
        pub event: Vec<CodeableConcept> = "event",
        pub period: Option<Period> = "period",
        pub facility_type: Option<CodeableConcept> = "facilityType",
        pub practice_setting: Option<CodeableConcept> = "practiceSetting",
        pub source_patient_info: Option<Reference> = "sourcePatientInfo",
        pub related: Vec<Reference> = "related",
    }
}

fhir_struct! {
    /// A document: a clinical note, a discharge summary, a scanned form.
    pub struct DocumentReference: domain_resource "DocumentReference" {
        pub master_identifier: Option<Identifier> = "masterIdentifier",
        pub identifier: Vec<Identifier> = "identifier",
        pub status: Option<String> = "status",
        pub doc_status: Option<String> = "docStatus",
        pub type_: Option<CodeableConcept> = "type",
        pub category: Vec<CodeableConcept> = "category",
        pub subject: Option<Reference> = "subject",
        pub date: Option<DateTime> = "date",
        pub author: Vec<Reference> = "author",
        pub authenticator: Option<Reference> = "authenticator",
        pub custodian: Option<Reference> = "custodian",
        pub relates_to: Vec<DocumentRelatesTo> = "relatesTo",
        pub description: Option<String> = "description",
        pub security_label: Vec<CodeableConcept> = "securityLabel",
        pub content: Vec<DocumentContent> = "content",
        pub context: Option<DocumentContext> = "context",
    }
}

impl DocumentReference {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.required(self.type_.is_some(), "type");
        c.required(self.subject.is_some(), "subject");
        c.required(!self.content.is_empty(), "content");
        c.code(
            self.status.as_deref(),
            &["current", "superseded", "entered-in-error"],
            "status",
        );
        c.code(
            self.doc_status.as_deref(),
            &["preliminary", "final", "amended", "entered-in-error"],
            "docStatus",
        );
        c.date(self.date.as_ref(), "date");
    }
}

resource_validate!(
    DocumentReference,
    "US Core DocumentReference checks: status (in its value set), type, subject, content; dates."
);
