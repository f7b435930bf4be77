//! `Medication` (US Core Medication): a drug, referenced (often contained) by medication
//! requests, dispenses and statements.

use crate::DateTime;
use crate::clinical::resource_validate;
use crate::datatypes::{CodeableConcept, Extension, Identifier, Ratio, Reference};
use crate::macros::{fhir_choice, fhir_struct};
use crate::validate::{Check, ValidationIssue};

fhir_choice! {
    /// `Medication.ingredient.item[x]`.
    pub enum MedicationIngredientItem {
        /// `itemCodeableConcept`
        CodeableConcept(CodeableConcept) = "itemCodeableConcept",
        /// `itemReference`
        Reference(Reference) = "itemReference",
    }
}

fhir_struct! {
    /// `Medication.ingredient`.
    pub struct MedicationIngredient {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// The ingredient.
        pub item: Option<MedicationIngredientItem> = "item",
        /// Whether it is an active ingredient.
        pub is_active: Option<bool> = "isActive",
        /// Quantity per unit.
        pub strength: Option<Ratio> = "strength",
    }
}

fhir_struct! {
    /// `Medication.batch`.
    pub struct MedicationBatch {
        /// Element id.
        pub id: Option<String> = "id",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Lot number.
        pub lot_number: Option<String> = "lotNumber",
        /// Expiration date.
        pub expiration_date: Option<DateTime> = "expirationDate",
    }
}

fhir_struct! {
    /// A medication (RxNorm code, form, ingredients).
    pub struct Medication: domain_resource "Medication" {
        /// Business identifiers.
        pub identifier: Vec<Identifier> = "identifier",
        /// The drug (RxNorm).
        pub code: Option<CodeableConcept> = "code",
        /// `active`, `inactive`, `entered-in-error`.
        pub status: Option<String> = "status",
        /// Manufacturer.
        pub manufacturer: Option<Reference> = "manufacturer",
        /// Powder, tablets...
        pub form: Option<CodeableConcept> = "form",
        /// Amount in a package.
        pub amount: Option<Ratio> = "amount",
        /// Ingredients.
        pub ingredient: Vec<MedicationIngredient> = "ingredient",
        /// Packaged batch.
        pub batch: Option<MedicationBatch> = "batch",
    }
}

impl Medication {
    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.code.is_some(), "code");
        c.code(
            self.status.as_deref(),
            &["active", "inactive", "entered-in-error"],
            "status",
        );
    }
}

resource_validate!(
    Medication,
    "US Core Medication checks: code; status in its value set."
);
