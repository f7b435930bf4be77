//! `QuestionnaireResponse` (US Core QuestionnaireResponse): answers to a form (SDOH screening, PHQ-9).

use crate::clinical::prelude::*;

fhir_choice! {
    /// `QuestionnaireResponse.item.answer.value[x]`.
    pub enum AnswerValue {
        /// `valueBoolean`
        Boolean(bool) = "valueBoolean",
        /// `valueDecimal`
        Decimal(Decimal) = "valueDecimal",
        /// `valueInteger`
        Integer(Integer) = "valueInteger",
        /// `valueDate`
        Date(DateTime) = "valueDate",
        /// `valueDateTime`
        DateTime(DateTime) = "valueDateTime",
        /// `valueTime`
        Time(String) = "valueTime",
        /// `valueString`
        String(String) = "valueString",
        /// `valueUri`
        Uri(String) = "valueUri",
        /// `valueAttachment`
        Attachment(Box<Attachment>) = "valueAttachment",
        /// `valueCoding`
        Coding(Coding) = "valueCoding",
        /// `valueQuantity`
        Quantity(Box<Quantity>) = "valueQuantity",
        /// `valueReference`
        Reference(Box<Reference>) = "valueReference",
    }
}

fhir_struct! {
    /// `QuestionnaireResponse.item.answer`.
    pub struct QuestionnaireResponseAnswer: backbone {
        pub value: Option<AnswerValue> = "value",
        pub item: Vec<QuestionnaireResponseItem> = "item",
    }
}

fhir_struct! {
    /// `QuestionnaireResponse.item`: an answered question or a group.
    pub struct QuestionnaireResponseItem: backbone {
        pub link_id: Option<String> = "linkId",
        pub definition: Option<String> = "definition",
        pub text: Option<String> = "text",
        pub answer: Vec<QuestionnaireResponseAnswer> = "answer",
        pub item: Vec<QuestionnaireResponseItem> = "item",
    }
}

fhir_struct! {
    /// The answers to a questionnaire.
    pub struct QuestionnaireResponse: domain_resource "QuestionnaireResponse" {
        pub identifier: Option<Identifier> = "identifier",
        pub based_on: Vec<Reference> = "basedOn",
        pub part_of: Vec<Reference> = "partOf",
        pub questionnaire: Option<String> = "questionnaire",
        pub status: Option<String> = "status",
        pub subject: Option<Reference> = "subject",
        pub encounter: Option<Reference> = "encounter",
        pub authored: Option<DateTime> = "authored",
        pub author: Option<Reference> = "author",
        pub source: Option<Reference> = "source",
        pub item: Vec<QuestionnaireResponseItem> = "item",
    }
}

impl QuestionnaireResponse {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.code(
            self.status.as_deref(),
            &[
                "in-progress",
                "completed",
                "amended",
                "entered-in-error",
                "stopped",
            ],
            "status",
        );
        c.date(self.authored.as_ref(), "authored");
    }
}

resource_validate!(
    QuestionnaireResponse,
    "R4 QuestionnaireResponse checks: status (in its value set); dates."
);
