//! `ExplanationOfBenefit` (C4BB EOB profiles): a claim as the payer adjudicated it, with
//! its line items, adjudication amounts and totals.

use crate::datatypes::{
    Address, Attachment, CodeableConcept, Coding, Extension, Identifier, Meta, Money, Narrative,
    Period, Quantity, Reference,
};
use crate::macros::{fhir_choice, fhir_struct};
use crate::{DateTime, Decimal, Integer, Resource};

fhir_choice! {
    /// `serviced[x]` of an item: a date or a period.
    pub enum Serviced {
        /// `servicedDate`
        Date(DateTime) = "servicedDate",
        /// `servicedPeriod`
        Period(Period) = "servicedPeriod",
    }
}

fhir_choice! {
    /// `location[x]` of an item (C4BB: place of service as a CodeableConcept).
    pub enum ItemLocation {
        /// `locationCodeableConcept`
        CodeableConcept(CodeableConcept) = "locationCodeableConcept",
        /// `locationAddress`
        Address(Address) = "locationAddress",
        /// `locationReference`
        Reference(Reference) = "locationReference",
    }
}

fhir_choice! {
    /// `supportingInfo.timing[x]`.
    pub enum SupportingInfoTiming {
        /// `timingDate`
        Date(DateTime) = "timingDate",
        /// `timingPeriod`
        Period(Period) = "timingPeriod",
    }
}

fhir_choice! {
    /// `supportingInfo.value[x]`.
    pub enum SupportingInfoValue {
        /// `valueBoolean`
        Boolean(bool) = "valueBoolean",
        /// `valueString`
        String(String) = "valueString",
        /// `valueQuantity`
        Quantity(Quantity) = "valueQuantity",
        /// `valueAttachment`
        Attachment(Attachment) = "valueAttachment",
        /// `valueReference`
        Reference(Reference) = "valueReference",
    }
}

fhir_choice! {
    /// `diagnosis.diagnosis[x]`.
    pub enum DiagnosisValue {
        /// `diagnosisCodeableConcept` (ICD-10-CM)
        CodeableConcept(CodeableConcept) = "diagnosisCodeableConcept",
        /// `diagnosisReference`
        Reference(Reference) = "diagnosisReference",
    }
}

fhir_choice! {
    /// `procedure.procedure[x]`.
    pub enum ProcedureValue {
        /// `procedureCodeableConcept` (ICD-10-PCS, CPT)
        CodeableConcept(CodeableConcept) = "procedureCodeableConcept",
        /// `procedureReference`
        Reference(Reference) = "procedureReference",
    }
}

fhir_choice! {
    /// `accident.location[x]`.
    pub enum AccidentLocation {
        /// `locationAddress`
        Address(Address) = "locationAddress",
        /// `locationReference`
        Reference(Reference) = "locationReference",
    }
}

fhir_choice! {
    /// `benefitBalance.financial.allowed[x]`.
    pub enum BenefitAllowed {
        /// `allowedUnsignedInt`
        UnsignedInt(Integer) = "allowedUnsignedInt",
        /// `allowedString`
        String(String) = "allowedString",
        /// `allowedMoney`
        Money(Money) = "allowedMoney",
    }
}

fhir_choice! {
    /// `benefitBalance.financial.used[x]`.
    pub enum BenefitUsed {
        /// `usedUnsignedInt`
        UnsignedInt(Integer) = "usedUnsignedInt",
        /// `usedMoney`
        Money(Money) = "usedMoney",
    }
}

/// Common header of every backbone element: id, extension, modifierExtension.
macro_rules! backbone {
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $($body:tt)* }
    ) => {
        fhir_struct! {
            $(#[$meta])*
            pub struct $name {
                /// Element id.
                pub id: Option<String> = "id",
                /// Extensions.
                pub extension: Vec<Extension> = "extension",
                /// Extensions that change the meaning.
                pub modifier_extension: Vec<Extension> = "modifierExtension",
                $($body)*
            }
        }
    };
}

backbone! {
    /// `related`: a prior or related claim.
    pub struct EobRelated {
        /// The related claim.
        pub claim: Option<Reference> = "claim",
        /// How it relates (`prior`, `replaced`...).
        pub relationship: Option<CodeableConcept> = "relationship",
        /// Its identifier.
        pub reference: Option<Identifier> = "reference",
    }
}

backbone! {
    /// `payee`: who receives the payment.
    pub struct EobPayee {
        /// Kind of payee (`subscriber`, `provider`...).
        pub type_: Option<CodeableConcept> = "type",
        /// The payee.
        pub party: Option<Reference> = "party",
    }
}

backbone! {
    /// `careTeam`: a provider involved, with their role.
    pub struct CareTeam {
        /// Number referred to by items.
        pub sequence: Option<Integer> = "sequence",
        /// The practitioner or organization.
        pub provider: Option<Reference> = "provider",
        /// Whether they were responsible.
        pub responsible: Option<bool> = "responsible",
        /// Role (C4BB: `rendering`, `referring`, `prescribing`, `attending`...).
        pub role: Option<CodeableConcept> = "role",
        /// Qualification (specialty).
        pub qualification: Option<CodeableConcept> = "qualification",
    }
}

backbone! {
    /// `supportingInfo`: claim facts (received date, type of bill, days supply...).
    pub struct SupportingInfo {
        /// Number referred to by items.
        pub sequence: Option<Integer> = "sequence",
        /// What it is (C4BB supporting-info-type code, e.g. `clmrecvddate`).
        pub category: Option<CodeableConcept> = "category",
        /// A code for the fact.
        pub code: Option<CodeableConcept> = "code",
        /// When.
        pub timing: Option<SupportingInfoTiming> = "timing",
        /// The value.
        pub value: Option<SupportingInfoValue> = "value",
        /// Why it is missing.
        pub reason: Option<Coding> = "reason",
    }
}

backbone! {
    /// `diagnosis`.
    pub struct Diagnosis {
        /// Number referred to by items.
        pub sequence: Option<Integer> = "sequence",
        /// The diagnosis code or a reference.
        pub diagnosis: Option<DiagnosisValue> = "diagnosis",
        /// `principal`, `secondary`...
        pub type_: Vec<CodeableConcept> = "type",
        /// Present on admission.
        pub on_admission: Option<CodeableConcept> = "onAdmission",
        /// DRG.
        pub package_code: Option<CodeableConcept> = "packageCode",
    }
}

backbone! {
    /// `procedure`.
    pub struct Procedure {
        /// Number referred to by items.
        pub sequence: Option<Integer> = "sequence",
        /// `principal`, `other`.
        pub type_: Vec<CodeableConcept> = "type",
        /// When.
        pub date: Option<DateTime> = "date",
        /// The procedure.
        pub procedure: Option<ProcedureValue> = "procedure",
        /// Devices.
        pub udi: Vec<Reference> = "udi",
    }
}

backbone! {
    /// `insurance`: the coverage that applied.
    pub struct EobInsurance {
        /// Whether this coverage was the one adjudicated.
        pub focal: Option<bool> = "focal",
        /// The Coverage.
        pub coverage: Option<Reference> = "coverage",
        /// Prior authorization references.
        pub pre_auth_ref: Vec<String> = "preAuthRef",
    }
}

backbone! {
    /// `accident`.
    pub struct Accident {
        /// When.
        pub date: Option<DateTime> = "date",
        /// Kind.
        pub type_: Option<CodeableConcept> = "type",
        /// Where.
        pub location: Option<AccidentLocation> = "location",
    }
}

backbone! {
    /// An adjudication line: a category (submitted, allowed, paid...) with an amount,
    /// a reason or a value. Used on the claim, items, details and sub-details.
    pub struct Adjudication {
        /// What the amount is (C4BB adjudication codes: `submitted`, `eligible`,
        /// `paidtoprovider`, `memberliability`...).
        pub category: Option<CodeableConcept> = "category",
        /// Reason (e.g. network status, denial reason).
        pub reason: Option<CodeableConcept> = "reason",
        /// The amount.
        pub amount: Option<Money> = "amount",
        /// A non-monetary value (e.g. allowed units).
        pub value: Option<Decimal> = "value",
    }
}

backbone! {
    /// `item.detail.subDetail`.
    pub struct SubDetail {
        /// Sequence.
        pub sequence: Option<Integer> = "sequence",
        /// Revenue center code.
        pub revenue: Option<CodeableConcept> = "revenue",
        /// Benefit category.
        pub category: Option<CodeableConcept> = "category",
        /// Billing code (CPT, HCPCS, NDC...).
        pub product_or_service: Option<CodeableConcept> = "productOrService",
        /// Modifiers.
        pub modifier: Vec<CodeableConcept> = "modifier",
        /// Program codes.
        pub program_code: Vec<CodeableConcept> = "programCode",
        /// Count.
        pub quantity: Option<Quantity> = "quantity",
        /// Fee per unit.
        pub unit_price: Option<Money> = "unitPrice",
        /// Price factor.
        pub factor: Option<Decimal> = "factor",
        /// Total.
        pub net: Option<Money> = "net",
        /// Devices.
        pub udi: Vec<Reference> = "udi",
        /// Note numbers.
        pub note_number: Vec<Integer> = "noteNumber",
        /// Adjudication.
        pub adjudication: Vec<Adjudication> = "adjudication",
    }
}

backbone! {
    /// `item.detail` (e.g. compound drug ingredients).
    pub struct ItemDetail {
        /// Sequence.
        pub sequence: Option<Integer> = "sequence",
        /// Revenue center code.
        pub revenue: Option<CodeableConcept> = "revenue",
        /// Benefit category.
        pub category: Option<CodeableConcept> = "category",
        /// Billing code.
        pub product_or_service: Option<CodeableConcept> = "productOrService",
        /// Modifiers.
        pub modifier: Vec<CodeableConcept> = "modifier",
        /// Program codes.
        pub program_code: Vec<CodeableConcept> = "programCode",
        /// Count.
        pub quantity: Option<Quantity> = "quantity",
        /// Fee per unit.
        pub unit_price: Option<Money> = "unitPrice",
        /// Price factor.
        pub factor: Option<Decimal> = "factor",
        /// Total.
        pub net: Option<Money> = "net",
        /// Devices.
        pub udi: Vec<Reference> = "udi",
        /// Note numbers.
        pub note_number: Vec<Integer> = "noteNumber",
        /// Adjudication.
        pub adjudication: Vec<Adjudication> = "adjudication",
        /// Sub-details.
        pub sub_detail: Vec<SubDetail> = "subDetail",
    }
}

backbone! {
    /// `item`: one service line of the claim.
    pub struct Item {
        /// Line number.
        pub sequence: Option<Integer> = "sequence",
        /// Care team members for this line.
        pub care_team_sequence: Vec<Integer> = "careTeamSequence",
        /// Diagnoses for this line.
        pub diagnosis_sequence: Vec<Integer> = "diagnosisSequence",
        /// Procedures for this line.
        pub procedure_sequence: Vec<Integer> = "procedureSequence",
        /// Supporting info for this line.
        pub information_sequence: Vec<Integer> = "informationSequence",
        /// Revenue center code (institutional).
        pub revenue: Option<CodeableConcept> = "revenue",
        /// Benefit category.
        pub category: Option<CodeableConcept> = "category",
        /// Billing code (CPT, HCPCS, NDC, CDT...).
        pub product_or_service: Option<CodeableConcept> = "productOrService",
        /// Modifiers.
        pub modifier: Vec<CodeableConcept> = "modifier",
        /// Program codes.
        pub program_code: Vec<CodeableConcept> = "programCode",
        /// Date or period of service.
        pub serviced: Option<Serviced> = "serviced",
        /// Place of service.
        pub location: Option<ItemLocation> = "location",
        /// Count of services or drug quantity.
        pub quantity: Option<Quantity> = "quantity",
        /// Fee per unit.
        pub unit_price: Option<Money> = "unitPrice",
        /// Price factor.
        pub factor: Option<Decimal> = "factor",
        /// Total for the line.
        pub net: Option<Money> = "net",
        /// Devices.
        pub udi: Vec<Reference> = "udi",
        /// Body site (oral: tooth).
        pub body_site: Option<CodeableConcept> = "bodySite",
        /// Sub-sites (oral: tooth surfaces).
        pub sub_site: Vec<CodeableConcept> = "subSite",
        /// Encounters.
        pub encounter: Vec<Reference> = "encounter",
        /// Note numbers.
        pub note_number: Vec<Integer> = "noteNumber",
        /// Adjudication of this line.
        pub adjudication: Vec<Adjudication> = "adjudication",
        /// Details.
        pub detail: Vec<ItemDetail> = "detail",
    }
}

backbone! {
    /// `addItem`: a line the payer added. Details are kept raw.
    pub struct AddItem {
        /// Items this applies to.
        pub item_sequence: Vec<Integer> = "itemSequence",
        /// Details this applies to.
        pub detail_sequence: Vec<Integer> = "detailSequence",
        /// Sub-details this applies to.
        pub sub_detail_sequence: Vec<Integer> = "subDetailSequence",
        /// Authorized providers.
        pub provider: Vec<Reference> = "provider",
        /// Billing code.
        pub product_or_service: Option<CodeableConcept> = "productOrService",
        /// Modifiers.
        pub modifier: Vec<CodeableConcept> = "modifier",
        /// Program codes.
        pub program_code: Vec<CodeableConcept> = "programCode",
        /// Date or period of service.
        pub serviced: Option<Serviced> = "serviced",
        /// Place of service.
        pub location: Option<ItemLocation> = "location",
        /// Count.
        pub quantity: Option<Quantity> = "quantity",
        /// Fee per unit.
        pub unit_price: Option<Money> = "unitPrice",
        /// Price factor.
        pub factor: Option<Decimal> = "factor",
        /// Total.
        pub net: Option<Money> = "net",
        /// Body site.
        pub body_site: Option<CodeableConcept> = "bodySite",
        /// Sub-sites.
        pub sub_site: Vec<CodeableConcept> = "subSite",
        /// Note numbers.
        pub note_number: Vec<Integer> = "noteNumber",
        /// Adjudication.
        pub adjudication: Vec<Adjudication> = "adjudication",
    }
}

backbone! {
    /// `total`: a claim-level amount by category (submitted, eligible, paid...).
    pub struct Total {
        /// What the amount is.
        pub category: Option<CodeableConcept> = "category",
        /// The amount.
        pub amount: Option<Money> = "amount",
    }
}

backbone! {
    /// `payment`: what was paid, when.
    pub struct Payment {
        /// `complete` or `partial`.
        pub type_: Option<CodeableConcept> = "type",
        /// Adjustment from prior payments.
        pub adjustment: Option<Money> = "adjustment",
        /// Why.
        pub adjustment_reason: Option<CodeableConcept> = "adjustmentReason",
        /// When paid.
        pub date: Option<DateTime> = "date",
        /// Amount paid.
        pub amount: Option<Money> = "amount",
        /// Payment identifier.
        pub identifier: Option<Identifier> = "identifier",
    }
}

backbone! {
    /// `processNote`: remarks from the payer.
    pub struct ProcessNote {
        /// Note number.
        pub number: Option<Integer> = "number",
        /// `display`, `print`, `printoper`.
        pub type_: Option<String> = "type",
        /// The note.
        pub text: Option<String> = "text",
        /// Language.
        pub language: Option<CodeableConcept> = "language",
    }
}

backbone! {
    /// `benefitBalance.financial`.
    pub struct BenefitFinancial {
        /// Benefit classification (deductible, out-of-pocket maximum...).
        pub type_: Option<CodeableConcept> = "type",
        /// Benefit allowed.
        pub allowed: Option<BenefitAllowed> = "allowed",
        /// Benefit used.
        pub used: Option<BenefitUsed> = "used",
    }
}

backbone! {
    /// `benefitBalance`: accumulators such as deductible met so far.
    pub struct BenefitBalance {
        /// Benefit category.
        pub category: Option<CodeableConcept> = "category",
        /// Excluded from the plan.
        pub excluded: Option<bool> = "excluded",
        /// Short name.
        pub name: Option<String> = "name",
        /// Description.
        pub description: Option<String> = "description",
        /// In or out of network.
        pub network: Option<CodeableConcept> = "network",
        /// Individual or family.
        pub unit: Option<CodeableConcept> = "unit",
        /// Annual, lifetime...
        pub term: Option<CodeableConcept> = "term",
        /// Amounts.
        pub financial: Vec<BenefitFinancial> = "financial",
    }
}

fhir_struct! {
    /// A claim as adjudicated by the payer (C4BB ExplanationOfBenefit).
    ///
    /// ```
    /// use fhir_c4bb::ExplanationOfBenefit;
    /// let eob: ExplanationOfBenefit = fhir_c4bb::from_str(r##"{"resourceType":"ExplanationOfBenefit",
    ///   "contained":[{"resourceType":"Organization","id":"prov","name":"Clinic"}],
    ///   "provider":{"reference":"#prov"},
    ///   "billablePeriod":{"start":"2020-01-01","end":"2020-01-03"}}"##)?;
    /// let provider = eob.provider.as_ref().and_then(|r| eob.resolve_contained(r));
    /// assert_eq!(provider.and_then(|r| r.as_organization()).and_then(|o| o.name.as_deref()), Some("Clinic"));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub struct ExplanationOfBenefit: resource "ExplanationOfBenefit" {
        /// Logical id.
        pub id: Option<String> = "id",
        /// Metadata (the C4BB profile claimed is in `meta.profile`).
        pub meta: Option<Meta> = "meta",
        /// Rules the content was created under.
        pub implicit_rules: Option<String> = "implicitRules",
        /// Language of the resource.
        pub language: Option<String> = "language",
        /// Human-readable summary.
        pub text: Option<Narrative> = "text",
        /// Contained resources, referenced as `#id`.
        pub contained: Vec<Resource> = "contained",
        /// Extensions.
        pub extension: Vec<Extension> = "extension",
        /// Extensions that change the meaning.
        pub modifier_extension: Vec<Extension> = "modifierExtension",
        /// Identifiers (C4BB: the unique claim id, type `uc`).
        pub identifier: Vec<Identifier> = "identifier",
        /// `active`, `cancelled`, `draft`, `entered-in-error`.
        pub status: Option<String> = "status",
        /// Claim type: `institutional`, `oral`, `pharmacy`, `professional`, `vision`.
        pub type_: Option<CodeableConcept> = "type",
        /// Sub-type (C4BB: `inpatient`, `outpatient`).
        pub sub_type: Option<CodeableConcept> = "subType",
        /// `claim`, `preauthorization`, `predetermination`.
        pub use_: Option<String> = "use",
        /// The member.
        pub patient: Option<Reference> = "patient",
        /// The period the claim covers (C4BB: start required).
        pub billable_period: Option<Period> = "billablePeriod",
        /// When the EOB was created.
        pub created: Option<DateTime> = "created",
        /// Who entered the claim.
        pub enterer: Option<Reference> = "enterer",
        /// The payer.
        pub insurer: Option<Reference> = "insurer",
        /// The billing provider.
        pub provider: Option<Reference> = "provider",
        /// Priority.
        pub priority: Option<CodeableConcept> = "priority",
        /// Funds reserve requested.
        pub funds_reserve_requested: Option<CodeableConcept> = "fundsReserveRequested",
        /// Funds reserve.
        pub funds_reserve: Option<CodeableConcept> = "fundsReserve",
        /// Prior or related claims.
        pub related: Vec<EobRelated> = "related",
        /// Prescription.
        pub prescription: Option<Reference> = "prescription",
        /// Original prescription.
        pub original_prescription: Option<Reference> = "originalPrescription",
        /// Who is paid.
        pub payee: Option<EobPayee> = "payee",
        /// Referral.
        pub referral: Option<Reference> = "referral",
        /// Service facility.
        pub facility: Option<Reference> = "facility",
        /// The claim.
        pub claim: Option<Reference> = "claim",
        /// The claim response.
        pub claim_response: Option<Reference> = "claimResponse",
        /// `queued`, `complete`, `error`, `partial`.
        pub outcome: Option<String> = "outcome",
        /// Disposition message.
        pub disposition: Option<String> = "disposition",
        /// Prior authorization references.
        pub pre_auth_ref: Vec<String> = "preAuthRef",
        /// Prior authorization periods.
        pub pre_auth_ref_period: Vec<Period> = "preAuthRefPeriod",
        /// Care team.
        pub care_team: Vec<CareTeam> = "careTeam",
        /// Supporting information.
        pub supporting_info: Vec<SupportingInfo> = "supportingInfo",
        /// Diagnoses.
        pub diagnosis: Vec<Diagnosis> = "diagnosis",
        /// Procedures.
        pub procedure: Vec<Procedure> = "procedure",
        /// Precedence.
        pub precedence: Option<Integer> = "precedence",
        /// Coverage(s).
        pub insurance: Vec<EobInsurance> = "insurance",
        /// Accident details.
        pub accident: Option<Accident> = "accident",
        /// Service lines.
        pub item: Vec<Item> = "item",
        /// Lines added by the payer.
        pub add_item: Vec<AddItem> = "addItem",
        /// Claim-level adjudication (network status, payment status, denial reasons...).
        pub adjudication: Vec<Adjudication> = "adjudication",
        /// Claim totals by category.
        pub total: Vec<Total> = "total",
        /// Payment details.
        pub payment: Option<Payment> = "payment",
        /// Form code.
        pub form_code: Option<CodeableConcept> = "formCode",
        /// Form.
        pub form: Option<Attachment> = "form",
        /// Payer notes.
        pub process_note: Vec<ProcessNote> = "processNote",
        /// Benefit period.
        pub benefit_period: Option<Period> = "benefitPeriod",
        /// Benefit balances.
        pub benefit_balance: Vec<BenefitBalance> = "benefitBalance",
    }
}

impl ExplanationOfBenefit {
    /// The contained resource a `#id` reference points to.
    pub fn resolve_contained(&self, reference: &Reference) -> Option<&Resource> {
        let id = reference.contained_id()?;
        self.contained.iter().find(|r| r.id() == Some(id))
    }

    /// The unique claim id: the identifier typed `uc`, else the first identifier.
    pub fn claim_id(&self) -> Option<&str> {
        self.identifier
            .iter()
            .find(|i| i.has_type_code("uc"))
            .or_else(|| self.identifier.first())
            .and_then(|i| i.value.as_deref())
    }
}
