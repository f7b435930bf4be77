//! `Observation` (US Core laboratory result, vital signs, smoking status, screening
//! responses...): a measurement or assertion about the patient.

use crate::clinical::resource_validate;
use crate::datatypes::{
    Annotation, CodeableConcept, Extension, Identifier, Period, Quantity, Range, Ratio, Reference,
    SampledData, Timing,
};
use crate::macros::{fhir_choice, fhir_struct};
use crate::validate::{Check, ValidationIssue};
use crate::{DateTime, Integer};

/// The HL7 observation category code system.
pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

fhir_choice! {
    /// `Observation.value[x]` and `Observation.component.value[x]`.
    pub enum ObservationValue {
        /// `valueQuantity`
        Quantity(Quantity) = "valueQuantity",
        /// `valueCodeableConcept`
        CodeableConcept(CodeableConcept) = "valueCodeableConcept",
        /// `valueString`
        String(String) = "valueString",
        /// `valueBoolean`
        Boolean(bool) = "valueBoolean",
        /// `valueInteger`
        Integer(Integer) = "valueInteger",
        /// `valueRange`
        Range(Box<Range>) = "valueRange",
        /// `valueRatio`
        Ratio(Box<Ratio>) = "valueRatio",
        /// `valueSampledData`
        SampledData(Box<SampledData>) = "valueSampledData",
        /// `valueTime`
        Time(String) = "valueTime",
        /// `valueDateTime`
        DateTime(DateTime) = "valueDateTime",
        /// `valuePeriod`
        Period(Box<Period>) = "valuePeriod",
    }
}

impl ObservationValue {
    /// The value for people, with its unit: `"44 /min"`, `"<5 mg/dL"`, `"Positive"`,
    /// `"120–140 mm[Hg]"`, `"1/128"`.
    pub fn text(&self) -> Option<String> {
        Some(match self {
            ObservationValue::Quantity(q) => quantity_text(q)?,
            ObservationValue::CodeableConcept(c) => c.display_text()?.to_owned(),
            ObservationValue::String(s) | ObservationValue::Time(s) => s.clone(),
            ObservationValue::Boolean(b) => b.to_string(),
            ObservationValue::Integer(i) => i.to_string(),
            ObservationValue::Range(r) => {
                let low = r.low.as_ref().and_then(|q| q.value.as_ref());
                let high = r.high.as_ref().and_then(|q| q.value.as_ref());
                let unit = r
                    .high
                    .as_ref()
                    .and_then(quantity_unit)
                    .or_else(|| r.low.as_ref().and_then(quantity_unit));
                let span = match (low, high) {
                    (Some(l), Some(h)) => format!("{l}–{h}"),
                    (Some(l), None) => format!("≥{l}"),
                    (None, Some(h)) => format!("≤{h}"),
                    (None, None) => return None,
                };
                match unit {
                    Some(u) => format!("{span} {u}"),
                    None => span,
                }
            }
            ObservationValue::Ratio(r) => {
                let n = r.numerator.as_ref().and_then(quantity_text)?;
                let d = r.denominator.as_ref().and_then(quantity_text)?;
                format!("{n}/{d}")
            }
            ObservationValue::SampledData(s) => s.data.clone()?,
            ObservationValue::DateTime(d) => d.as_str().to_owned(),
            ObservationValue::Period(p) => {
                let start = p.start.as_ref().map_or("", |d| d.as_str());
                let end = p.end.as_ref().map_or("", |d| d.as_str());
                format!("{start} – {end}")
            }
        })
    }

    /// The quantity, if the value is one.
    pub fn as_quantity(&self) -> Option<&Quantity> {
        match self {
            ObservationValue::Quantity(q) => Some(q),
            _ => None,
        }
    }
}

/// `unit`, else the UCUM `code`.
fn quantity_unit(q: &Quantity) -> Option<&str> {
    q.unit.as_deref().or(q.code.as_deref())
}

/// `"<5 mg/dL"`: comparator, value, unit.
fn quantity_text(q: &Quantity) -> Option<String> {
    let v = q.value.as_ref()?;
    let cmp = q.comparator.as_deref().unwrap_or("");
    Some(match quantity_unit(q) {
        Some(u) => format!("{cmp}{v} {u}"),
        None => format!("{cmp}{v}"),
    })
}

fhir_choice! {
    /// `Observation.effective[x]`: when the observation applies.
    pub enum ObservationEffective {
        /// `effectiveDateTime`
        DateTime(DateTime) = "effectiveDateTime",
        /// `effectivePeriod`
        Period(Period) = "effectivePeriod",
        /// `effectiveTiming`
        Timing(Box<Timing>) = "effectiveTiming",
        /// `effectiveInstant`
        Instant(DateTime) = "effectiveInstant",
    }
}

impl ObservationEffective {
    /// The date-time, the period's start, or the first timing event.
    pub fn start(&self) -> Option<&DateTime> {
        match self {
            ObservationEffective::DateTime(d) | ObservationEffective::Instant(d) => Some(d),
            ObservationEffective::Period(p) => p.start.as_ref().or(p.end.as_ref()),
            ObservationEffective::Timing(t) => t.event.first(),
        }
    }
}

fhir_struct! {
    /// `Observation.referenceRange`: the normal range.
    pub struct ObservationReferenceRange {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Low bound.
        pub low: Option<Quantity> = "low",
        /// High bound.
        pub high: Option<Quantity> = "high",
        /// Normal, therapeutic...
        pub type_: Option<CodeableConcept> = "type",
        /// Population it applies to.
        pub applies_to: Vec<CodeableConcept> = "appliesTo",
        /// Age range it applies to.
        pub age: Option<Range> = "age",
        /// The range as text.
        pub text: Option<String> = "text",
    }
}

fhir_struct! {
    /// `Observation.component`: one part of a panel observation (systolic, diastolic).
    pub struct ObservationComponent {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// What was measured.
        pub code: Option<CodeableConcept> = "code",
        /// The value.
        pub value: Option<ObservationValue> = "value",
        /// Why the value is missing.
        pub data_absent_reason: Option<CodeableConcept> = "dataAbsentReason",
        /// High, low, normal...
        pub interpretation: Vec<CodeableConcept> = "interpretation",
        /// Normal ranges.
        pub reference_range: Vec<ObservationReferenceRange> = "referenceRange",
    }
}

impl ObservationComponent {
    /// The value with its unit, as text (see [`ObservationValue::text`]).
    pub fn value_text(&self) -> Option<String> {
        self.value.as_ref().and_then(ObservationValue::text)
    }
}

fhir_struct! {
    /// A measurement or assertion (US Core Laboratory Result, Vital Signs, Smoking Status,
    /// Screening Assessment, Clinical Result...).
    ///
    /// ```
    /// let bp: fhir_c4bb::clinical::Observation = fhir_c4bb::from_str(r#"{"resourceType":"Observation",
    ///   "status":"final","code":{"text":"Blood pressure"},"subject":{"reference":"Patient/1"},
    ///   "component":[{"code":{"text":"Systolic"},"valueQuantity":{"value":120.0,"unit":"mm[Hg]"}},
    ///                {"code":{"text":"Diastolic"},"valueQuantity":{"value":80,"unit":"mm[Hg]"}}]}"#)?;
    /// let parts: Vec<_> = bp.component.iter().filter_map(|c| c.value_text()).collect();
    /// assert_eq!(parts, ["120.0 mm[Hg]", "80 mm[Hg]"]);
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Observation: domain_resource "Observation" {
        /// Business identifiers.
        pub identifier: Vec<Identifier> = "identifier",
        /// The order this fulfils.
        pub based_on: Vec<Reference> = "basedOn",
        /// Larger event this is part of.
        pub part_of: Vec<Reference> = "partOf",
        /// `registered`, `preliminary`, `final`, `amended`...
        pub status: Option<String> = "status",
        /// Laboratory, vital-signs, social-history, survey...
        pub category: Vec<CodeableConcept> = "category",
        /// What was observed (LOINC).
        pub code: Option<CodeableConcept> = "code",
        /// The patient.
        pub subject: Option<Reference> = "subject",
        /// What the observation is about when not the subject.
        pub focus: Vec<Reference> = "focus",
        /// The encounter.
        pub encounter: Option<Reference> = "encounter",
        /// When it applies.
        pub effective: Option<ObservationEffective> = "effective",
        /// When it was made available.
        pub issued: Option<DateTime> = "issued",
        /// Who is responsible.
        pub performer: Vec<Reference> = "performer",
        /// The result.
        pub value: Option<ObservationValue> = "value",
        /// Why the value is missing.
        pub data_absent_reason: Option<CodeableConcept> = "dataAbsentReason",
        /// High, low, normal...
        pub interpretation: Vec<CodeableConcept> = "interpretation",
        /// Comments.
        pub note: Vec<Annotation> = "note",
        /// Body site.
        pub body_site: Option<CodeableConcept> = "bodySite",
        /// How it was done.
        pub method: Option<CodeableConcept> = "method",
        /// The specimen.
        pub specimen: Option<Reference> = "specimen",
        /// The device.
        pub device: Option<Reference> = "device",
        /// Normal ranges.
        pub reference_range: Vec<ObservationReferenceRange> = "referenceRange",
        /// Observations in this panel.
        pub has_member: Vec<Reference> = "hasMember",
        /// What it was derived from.
        pub derived_from: Vec<Reference> = "derivedFrom",
        /// Parts (systolic/diastolic...).
        pub component: Vec<ObservationComponent> = "component",
    }
}

const STATUS: &[&str] = &[
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
];

impl Observation {
    /// The value with its unit, as text (see [`ObservationValue::text`]).
    pub fn value_text(&self) -> Option<String> {
        self.value.as_ref().and_then(ObservationValue::text)
    }

    /// Whether a category has this code of the HL7 observation-category system.
    pub fn has_category(&self, code: &str) -> bool {
        self.category
            .iter()
            .any(|c| c.has(OBSERVATION_CATEGORY, code))
    }

    /// Category `vital-signs`.
    pub fn is_vital_sign(&self) -> bool {
        self.has_category("vital-signs")
    }

    /// Category `laboratory`.
    pub fn is_laboratory(&self) -> bool {
        self.has_category("laboratory")
    }

    /// When the observation applies (the effective date-time, or the period's start).
    pub fn effective_date(&self) -> Option<&DateTime> {
        self.effective
            .as_ref()
            .and_then(ObservationEffective::start)
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.status.is_some(), "status");
        c.code(self.status.as_deref(), STATUS, "status");
        c.required(self.code.is_some(), "code");
        c.required(self.subject.is_some(), "subject");
        if let Some(ObservationEffective::DateTime(d) | ObservationEffective::Instant(d)) =
            &self.effective
        {
            c.date(Some(d), "effective[x]");
        }
        c.date(self.issued.as_ref(), "issued");
        for (i, comp) in self.component.iter().enumerate() {
            c.required(comp.code.is_some(), &format!("component[{i}].code"));
        }
    }
}

resource_validate!(
    Observation,
    "R4/US Core checks: status (required, in its value set), code, subject; dates; each component's code."
);
