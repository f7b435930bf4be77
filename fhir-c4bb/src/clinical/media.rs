//! `Media` (US Core Media, R4): a photo, video or audio recording.

use crate::clinical::prelude::*;

fhir_choice! {
    /// `Media.created[x]`.
    pub enum MediaCreated {
        /// `createdDateTime`
        DateTime(DateTime) = "createdDateTime",
        /// `createdPeriod`
        Period(Period) = "createdPeriod",
    }
}

fhir_struct! {
    /// A photo, video or audio recording (R4; R5 folded it into DocumentReference).
    pub struct Media: domain_resource "Media" {
        pub identifier: Vec<Identifier> = "identifier",
        pub based_on: Vec<Reference> = "basedOn",
        pub part_of: Vec<Reference> = "partOf",
        pub status: Option<String> = "status",
        pub type_: Option<CodeableConcept> = "type",
        pub modality: Option<CodeableConcept> = "modality",
        pub view: Option<CodeableConcept> = "view",
        pub subject: Option<Reference> = "subject",
        pub encounter: Option<Reference> = "encounter",
        pub created: Option<MediaCreated> = "created",
        pub issued: Option<DateTime> = "issued",
        pub operator: Option<Reference> = "operator",
        pub reason_code: Vec<CodeableConcept> = "reasonCode",
        pub body_site: Option<CodeableConcept> = "bodySite",
        pub device_name: Option<String> = "deviceName",
        pub device: Option<Reference> = "device",
        pub height: Option<Integer> = "height",
        pub width: Option<Integer> = "width",
        pub frames: Option<Integer> = "frames",
        pub duration: Option<Decimal> = "duration",
        pub content: Option<Attachment> = "content",
        pub note: Vec<Annotation> = "note",
    }
}

impl Media {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.required(self.content.is_some(), "content");
        c.code(
            self.status.as_deref(),
            &[
                "preparation",
                "in-progress",
                "not-done",
                "on-hold",
                "stopped",
                "completed",
                "entered-in-error",
                "unknown",
            ],
            "status",
        );
        c.date(self.issued.as_ref(), "issued");
    }
}

resource_validate!(
    Media,
    "R4 Media checks: status (in its value set), content; dates."
);
