//! `Immunization` (US Core Immunization).

use crate::clinical::resource_validate;
use crate::datatypes::{Annotation, CodeableConcept, Extension, Identifier, Quantity, Reference};
use crate::macros::{fhir_choice, fhir_struct};
use crate::validate::{Check, ValidationIssue};
use crate::{DateTime, Integer};

fhir_choice! {
    /// `Immunization.occurrence[x]`.
    pub enum ImmunizationOccurrence {
        /// `occurrenceDateTime`
        DateTime(DateTime) = "occurrenceDateTime",
        /// `occurrenceString`
        String(String) = "occurrenceString",
    }
}

fhir_choice! {
    /// `Immunization.protocolApplied.doseNumber[x]`.
    pub enum ProtocolDose {
        /// `doseNumberPositiveInt`
        PositiveInt(Integer) = "doseNumberPositiveInt",
        /// `doseNumberString`
        String(String) = "doseNumberString",
    }
}

fhir_choice! {
    /// `Immunization.protocolApplied.seriesDoses[x]`.
    pub enum SeriesDoses {
        /// `seriesDosesPositiveInt`
        PositiveInt(Integer) = "seriesDosesPositiveInt",
        /// `seriesDosesString`
        String(String) = "seriesDosesString",
    }
}

fhir_struct! {
    /// `Immunization.performer`.
    pub struct ImmunizationPerformer {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Ordering or administering provider.
        pub function: Option<CodeableConcept> = "function",
        /// Who.
        pub actor: Option<Reference> = "actor",
    }
}

fhir_struct! {
    /// `Immunization.education`.
    pub struct ImmunizationEducation {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Document type.
        pub document_type: Option<String> = "documentType",
        /// Where the statement is.
        pub reference: Option<String> = "reference",
        /// Publication date.
        pub publication_date: Option<DateTime> = "publicationDate",
        /// When it was given.
        pub presentation_date: Option<DateTime> = "presentationDate",
    }
}

fhir_struct! {
    /// `Immunization.reaction`.
    pub struct ImmunizationReaction {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// When.
        pub date: Option<DateTime> = "date",
        /// The reaction.
        pub detail: Option<Reference> = "detail",
        /// Self-reported.
        pub reported: Option<bool> = "reported",
    }
}

fhir_struct! {
    /// `Immunization.protocolApplied`.
    pub struct ImmunizationProtocolApplied {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Series name.
        pub series: Option<String> = "series",
        /// Who recommends it.
        pub authority: Option<Reference> = "authority",
        /// Diseases targeted.
        pub target_disease: Vec<CodeableConcept> = "targetDisease",
        /// Dose number in the series.
        pub dose_number: Option<ProtocolDose> = "doseNumber",
        /// Doses in the series.
        pub series_doses: Option<SeriesDoses> = "seriesDoses",
    }
}

fhir_struct! {
    /// A vaccine given (or not given).
    ///
    /// ```
    /// let i: fhir_c4bb::clinical::Immunization = fhir_c4bb::from_str(r#"{"resourceType":"Immunization",
    ///   "status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140","display":"Influenza"}]},
    ///   "patient":{"reference":"Patient/1"},"occurrenceDateTime":"2023-10-01","primarySource":true}"#)?;
    /// assert_eq!(i.vaccine_code.as_ref().and_then(|c| c.display_text()), Some("Influenza"));
    /// assert!(i.validate().is_empty());
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Immunization: domain_resource "Immunization" {
        /// Business identifiers.
        pub identifier: Vec<Identifier> = "identifier",
        /// `completed`, `entered-in-error`, `not-done`.
        pub status: Option<String> = "status",
        /// Why it was not done.
        pub status_reason: Option<CodeableConcept> = "statusReason",
        /// The vaccine (CVX).
        pub vaccine_code: Option<CodeableConcept> = "vaccineCode",
        /// The patient.
        pub patient: Option<Reference> = "patient",
        /// The encounter.
        pub encounter: Option<Reference> = "encounter",
        /// When it was given.
        pub occurrence: Option<ImmunizationOccurrence> = "occurrence",
        /// When it was recorded.
        pub recorded: Option<DateTime> = "recorded",
        /// Whether the record comes from whoever gave it.
        pub primary_source: Option<bool> = "primarySource",
        /// Where a secondary report came from.
        pub report_origin: Option<CodeableConcept> = "reportOrigin",
        /// Where it was given.
        pub location: Option<Reference> = "location",
        /// Manufacturer.
        pub manufacturer: Option<Reference> = "manufacturer",
        /// Lot number.
        pub lot_number: Option<String> = "lotNumber",
        /// Expiration date.
        pub expiration_date: Option<DateTime> = "expirationDate",
        /// Body site.
        pub site: Option<CodeableConcept> = "site",
        /// Route.
        pub route: Option<CodeableConcept> = "route",
        /// Amount given.
        pub dose_quantity: Option<Quantity> = "doseQuantity",
        /// Who gave it.
        pub performer: Vec<ImmunizationPerformer> = "performer",
        /// Notes.
        pub note: Vec<Annotation> = "note",
        /// Why it was given.
        pub reason_code: Vec<CodeableConcept> = "reasonCode",
        /// Why it was given (references).
        pub reason_reference: Vec<Reference> = "reasonReference",
        /// Whether the dose counts.
        pub is_subpotent: Option<bool> = "isSubpotent",
        /// Why it does not count.
        pub subpotent_reason: Vec<CodeableConcept> = "subpotentReason",
        /// Educational material.
        pub education: Vec<ImmunizationEducation> = "education",
        /// Patient eligibility for a funding program.
        pub program_eligibility: Vec<CodeableConcept> = "programEligibility",
        /// Funding source.
        pub funding_source: Option<CodeableConcept> = "fundingSource",
        /// Reactions.
        pub reaction: Vec<ImmunizationReaction> = "reaction",
        /// The protocol followed.
        pub protocol_applied: Vec<ImmunizationProtocolApplied> = "protocolApplied",
    }
}

impl Immunization {
    /// When it was given, as a date-time.
    pub fn occurrence_date(&self) -> Option<&DateTime> {
        match self.occurrence.as_ref()? {
            ImmunizationOccurrence::DateTime(d) => Some(d),
            ImmunizationOccurrence::String(_) => None,
        }
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.code(
            self.status.as_deref(),
            &["completed", "entered-in-error", "not-done"],
            "status",
        );
        c.required(self.vaccine_code.is_some(), "vaccineCode");
        c.required(self.patient.is_some(), "patient");
        c.required(self.occurrence.is_some(), "occurrence[x]");
        c.date(self.occurrence_date(), "occurrenceDateTime");
        c.date(self.recorded.as_ref(), "recorded");
    }
}

resource_validate!(
    Immunization,
    "US Core Immunization checks: status (in its value set), vaccineCode, patient, `occurrence[x]`; dates."
);
