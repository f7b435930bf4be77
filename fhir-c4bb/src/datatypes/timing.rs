//! `Timing`, `Dosage`, `SampledData` and `Signature`: the datatypes the clinical
//! resources add to the claims ones.

use crate::datatypes::{
    CodeableConcept, Coding, Extension, Period, Quantity, Range, Ratio, Reference,
};
use crate::macros::{fhir_choice, fhir_struct};
use crate::{DateTime, Decimal, Integer};

fhir_choice! {
    /// `Timing.repeat.bounds[x]`.
    pub enum TimingBounds {
        /// `boundsDuration`
        Duration(Quantity) = "boundsDuration",
        /// `boundsRange`
        Range(Range) = "boundsRange",
        /// `boundsPeriod`
        Period(Period) = "boundsPeriod",
    }
}

fhir_struct! {
    /// `Timing.repeat`: how often something repeats.
    pub struct TimingRepeat {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Length or range of the whole schedule.
        pub bounds: Option<TimingBounds> = "bounds",
        /// Number of times to repeat.
        pub count: Option<Integer> = "count",
        /// Maximum number of times.
        pub count_max: Option<Integer> = "countMax",
        /// How long each occurrence lasts.
        pub duration: Option<Decimal> = "duration",
        /// Maximum duration.
        pub duration_max: Option<Decimal> = "durationMax",
        /// Unit of `duration` (`s`, `min`, `h`, `d`, `wk`, `mo`, `a`).
        pub duration_unit: Option<String> = "durationUnit",
        /// Occurrences per `period`.
        pub frequency: Option<Integer> = "frequency",
        /// Maximum occurrences per `period`.
        pub frequency_max: Option<Integer> = "frequencyMax",
        /// The period `frequency` counts in.
        pub period: Option<Decimal> = "period",
        /// Upper limit of `period`.
        pub period_max: Option<Decimal> = "periodMax",
        /// Unit of `period`.
        pub period_unit: Option<String> = "periodUnit",
        /// Days of the week (`mon`...).
        pub day_of_week: Vec<String> = "dayOfWeek",
        /// Times of day.
        pub time_of_day: Vec<String> = "timeOfDay",
        /// Events of the day (`MORN`, `ACM`...).
        pub when: Vec<String> = "when",
        /// Minutes from the event.
        pub offset: Option<Integer> = "offset",
    }
}

fhir_struct! {
    /// When an event happens, or a schedule of events.
    ///
    /// ```
    /// let t: fhir_c4bb::datatypes::Timing = fhir_c4bb::from_str(
    ///     r#"{"repeat":{"frequency":2,"period":1,"periodUnit":"d"}}"#)?;
    /// assert_eq!(t.repeat.unwrap().period_unit.as_deref(), Some("d"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Timing {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Exact times.
        pub event: Vec<DateTime> = "event",
        /// The repeating schedule.
        pub repeat: Option<TimingRepeat> = "repeat",
        /// A code for the schedule (`BID`, `QD`...).
        pub code: Option<CodeableConcept> = "code",
    }
}

fhir_choice! {
    /// `Dosage.asNeeded[x]`.
    pub enum DosageAsNeeded {
        /// `asNeededBoolean`
        Boolean(bool) = "asNeededBoolean",
        /// `asNeededCodeableConcept`
        CodeableConcept(CodeableConcept) = "asNeededCodeableConcept",
    }
}

fhir_choice! {
    /// `Dosage.doseAndRate.dose[x]`.
    pub enum DosageDose {
        /// `doseRange`
        Range(Range) = "doseRange",
        /// `doseQuantity`
        Quantity(Quantity) = "doseQuantity",
    }
}

fhir_choice! {
    /// `Dosage.doseAndRate.rate[x]`.
    pub enum DosageRate {
        /// `rateRatio`
        Ratio(Ratio) = "rateRatio",
        /// `rateRange`
        Range(Range) = "rateRange",
        /// `rateQuantity`
        Quantity(Quantity) = "rateQuantity",
    }
}

fhir_struct! {
    /// `Dosage.doseAndRate`: an amount per dose and a rate.
    pub struct DosageDoseAndRate {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Calculated, ordered...
        pub type_: Option<CodeableConcept> = "type",
        /// Amount per dose.
        pub dose: Option<DosageDose> = "dose",
        /// Rate.
        pub rate: Option<DosageRate> = "rate",
    }
}

fhir_struct! {
    /// How a medication is or should be taken.
    ///
    /// ```
    /// let d: fhir_c4bb::datatypes::Dosage = fhir_c4bb::from_str(
    ///     r#"{"text":"1 tablet daily","doseAndRate":[{"doseQuantity":{"value":1,"unit":"tablet"}}]}"#)?;
    /// assert_eq!(d.text.as_deref(), Some("1 tablet daily"));
    /// assert!(matches!(d.dose_and_rate[0].dose, Some(fhir_c4bb::datatypes::DosageDose::Quantity(_))));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Dosage {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Order of the dosage instructions.
        pub sequence: Option<Integer> = "sequence",
        /// Free-text instructions.
        pub text: Option<String> = "text",
        /// Supplemental instructions ("with meals").
        pub additional_instruction: Vec<CodeableConcept> = "additionalInstruction",
        /// Instructions for the patient.
        pub patient_instruction: Option<String> = "patientInstruction",
        /// When it is taken.
        pub timing: Option<Timing> = "timing",
        /// Taken as needed.
        pub as_needed: Option<DosageAsNeeded> = "asNeeded",
        /// Body site.
        pub site: Option<CodeableConcept> = "site",
        /// Route (oral...).
        pub route: Option<CodeableConcept> = "route",
        /// Technique.
        pub method: Option<CodeableConcept> = "method",
        /// Amount and rate.
        pub dose_and_rate: Vec<DosageDoseAndRate> = "doseAndRate",
        /// Upper limit per period.
        pub max_dose_per_period: Option<Ratio> = "maxDosePerPeriod",
        /// Upper limit per administration.
        pub max_dose_per_administration: Option<Quantity> = "maxDosePerAdministration",
        /// Upper limit over a lifetime.
        pub max_dose_per_lifetime: Option<Quantity> = "maxDosePerLifetime",
    }
}

fhir_struct! {
    /// A series of measurements (an ECG trace), data as a string of numbers.
    pub struct SampledData {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Zero value and units.
        pub origin: Option<Quantity> = "origin",
        /// Milliseconds between samples.
        pub period: Option<Decimal> = "period",
        /// Multiplier.
        pub factor: Option<Decimal> = "factor",
        /// Lower limit of detection.
        pub lower_limit: Option<Decimal> = "lowerLimit",
        /// Upper limit of detection.
        pub upper_limit: Option<Decimal> = "upperLimit",
        /// Number of sample points at each time point.
        pub dimensions: Option<Integer> = "dimensions",
        /// The samples, separated by spaces.
        pub data: Option<String> = "data",
    }
}

fhir_struct! {
    /// A digital signature (Provenance).
    pub struct Signature {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Why it was signed.
        pub type_: Vec<Coding> = "type",
        /// When.
        pub when: Option<DateTime> = "when",
        /// Who signed.
        pub who: Option<Reference> = "who",
        /// On whose behalf.
        pub on_behalf_of: Option<Reference> = "onBehalfOf",
        /// MIME type of the signed content.
        pub target_format: Option<String> = "targetFormat",
        /// MIME type of the signature.
        pub sig_format: Option<String> = "sigFormat",
        /// The signature, base64.
        pub data: Option<String> = "data",
    }
}
