//! `Coverage` (C4BB Coverage profile): the member's insurance plan.

use crate::datatypes::{
    CodeableConcept, Extension, Identifier, Meta, Money, Narrative, Period, Quantity, Reference,
};
use crate::macros::{fhir_choice, fhir_struct};
use crate::{Integer, Resource};

fhir_struct! {
    /// `Coverage.class`: group, plan, subgroup... with its value and name.
    pub struct CoverageClass {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// `group`, `plan`, `subgroup`, `rxbin`...
        pub type_: Option<CodeableConcept> = "type",
        /// The value (group number, plan id).
        pub value: Option<String> = "value",
        /// Name for people.
        pub name: Option<String> = "name",
    }
}

fhir_choice! {
    /// `Coverage.costToBeneficiary.value[x]`.
    pub enum CostValue {
        /// `valueQuantity` (e.g. a percentage)
        Quantity(Quantity) = "valueQuantity",
        /// `valueMoney`
        Money(Money) = "valueMoney",
    }
}

fhir_struct! {
    /// `Coverage.costToBeneficiary.exception`.
    pub struct CostException {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Exception category.
        pub type_: Option<CodeableConcept> = "type",
        /// When it applies.
        pub period: Option<Period> = "period",
    }
}

fhir_struct! {
    /// `Coverage.costToBeneficiary`: copays and similar costs of the plan.
    pub struct CostToBeneficiary {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Cost category.
        pub type_: Option<CodeableConcept> = "type",
        /// The amount or percentage.
        pub value: Option<CostValue> = "value",
        /// Exceptions.
        pub exception: Vec<CostException> = "exception",
    }
}

fhir_struct! {
    /// The member's coverage (C4BB Coverage).
    ///
    /// ```
    /// let c: fhir_c4bb::Coverage = fhir_c4bb::from_str(r#"{"resourceType":"Coverage","status":"active",
    ///   "subscriberId":"S1","class":[{"type":{"coding":[{"code":"plan"}]},"value":"P1","name":"Gold"}]}"#)?;
    /// assert_eq!(c.class_value("plan"), Some("P1"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct Coverage: resource "Coverage" {
        /// Logical id.
        pub id: Option<String> = "id",
        /// Metadata.
        pub meta: Option<Meta> = "meta",
        /// Rules the content was created under.
        pub implicit_rules: Option<String> = "implicitRules",
        /// Language of the resource.
        pub language: Option<String> = "language",
        /// Human-readable summary.
        pub text: Option<Narrative> = "text",
        /// Contained resources.
        pub contained: Vec<Resource> = "contained",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Identifiers.
        pub identifier: Vec<Identifier> = "identifier",
        /// `active`, `cancelled`, `draft`, `entered-in-error`.
        pub status: Option<String> = "status",
        /// Kind of coverage.
        pub type_: Option<CodeableConcept> = "type",
        /// Owner of the policy.
        pub policy_holder: Option<Reference> = "policyHolder",
        /// Subscriber.
        pub subscriber: Option<Reference> = "subscriber",
        /// Subscriber id (C4BB: required).
        pub subscriber_id: Option<String> = "subscriberId",
        /// The member covered.
        pub beneficiary: Option<Reference> = "beneficiary",
        /// Dependent number.
        pub dependent: Option<String> = "dependent",
        /// Beneficiary relationship to the subscriber (C4BB: required).
        pub relationship: Option<CodeableConcept> = "relationship",
        /// Coverage period.
        pub period: Option<Period> = "period",
        /// The payer(s).
        pub payor: Vec<Reference> = "payor",
        /// Group, plan...
        pub class: Vec<CoverageClass> = "class",
        /// Order among several coverages.
        pub order: Option<Integer> = "order",
        /// Insurer network.
        pub network: Option<String> = "network",
        /// Cost to the beneficiary.
        pub cost_to_beneficiary: Vec<CostToBeneficiary> = "costToBeneficiary",
        /// Subrogation.
        pub subrogation: Option<bool> = "subrogation",
        /// Contracts.
        pub contract: Vec<Reference> = "contract",
    }
}

impl Coverage {
    /// The value of the first class whose type has this code (`group`, `plan`...).
    pub fn class_value(&self, class_type: &str) -> Option<&str> {
        self.class
            .iter()
            .find(|c| c.type_.as_ref().is_some_and(|t| t.has_code(class_type)))
            .and_then(|c| c.value.as_deref())
    }
}
