//! What a claim cost and who paid: adjudication and total amounts by category, summed in
//! exact decimal arithmetic, and the rows of a claims table.
//!
//! Categories are recognised by code whatever the code system, because payers mix the
//! HL7 adjudication codes (`submitted`, `eligible`, `benefit`, `copay`, `deductible`), the
//! C4BB ones (`paidtoprovider`, `memberliability`...), C4BB 1.x network totals, and CMS
//! Blue Button variable URLs (`.../variables/line_nch_pmt_amt`).

use crate::datatypes::Period;
use crate::datatypes::{CodeableConcept, Coding};
use crate::{Adjudication, DateTime, Decimal, ExplanationOfBenefit, Item, Money, Serviced};

/// What an adjudication or total amount stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AmountCategory {
    /// Billed by the provider (`submitted`; CMS `*_sbmtd_chrg_amt`, `clm_tot_chrg_amt`).
    Submitted,
    /// Allowed / eligible under the plan (`eligible`; CMS `*_alowd_chrg_amt`).
    Allowed,
    /// Payable by the plan (`benefit`; CMS `*_nch_pmt_amt`, `clm_pmt_amt`, `cvrd_d_plan_pd_amt`).
    Benefit,
    /// Paid to the provider (`paidtoprovider`; CMS `*_prvdr_pmt_amt`).
    PaidToProvider,
    /// Paid to the member (`paidtopatient`; CMS `*_bene_pmt_amt`).
    PaidToPatient,
    /// Paid by the member, any way (`paidbypatient`, `-cash`, `-other`, `-healthaccount`;
    /// CMS `ptnt_pay_amt`).
    PaidByPatient,
    /// What the member owes (`memberliability`).
    MemberLiability,
    /// Deductible (`deductible`, `unallocdeduct`; CMS `*_ddctbl_amt`).
    Deductible,
    /// Coinsurance (`coinsurance`; CMS `*_coinsrnc_amt`).
    Coinsurance,
    /// Copay (`copay`).
    Copay,
    /// Discount (`discount`).
    Discount,
    /// Not covered (`noncovered`; CMS `*_ncvrd_chrg_amt`).
    NonCovered,
    /// Paid by another payer first (`priorpayerpaid`; CMS `*_prmry_pyr_pd_amt`).
    PriorPayerPaid,
    /// Drug cost (`drugcost`; CMS `tot_rx_cst_amt`).
    DrugCost,
    /// Tax (`tax`).
    Tax,
    /// C4BB 1.x total by network status: in network.
    InNetwork,
    /// C4BB 1.x total by network status: out of network.
    OutOfNetwork,
}

impl AmountCategory {
    /// Recognises one coding's code (the last path segment of a URL code).
    pub fn from_code(code: &str) -> Option<Self> {
        let code = code.rsplit('/').next().unwrap_or(code);
        use AmountCategory as C;
        Some(match code {
            "submitted" => C::Submitted,
            "eligible" => C::Allowed,
            "benefit" => C::Benefit,
            "paidtoprovider" => C::PaidToProvider,
            "paidtopatient" => C::PaidToPatient,
            "paidbypatient"
            | "paidbypatientcash"
            | "paidbypatientother"
            | "paidbypatienthealthaccount" => C::PaidByPatient,
            "memberliability" => C::MemberLiability,
            "deductible" | "unallocdeduct" => C::Deductible,
            "coinsurance" => C::Coinsurance,
            "copay" => C::Copay,
            "discount" => C::Discount,
            "noncovered" => C::NonCovered,
            "priorpayerpaid" => C::PriorPayerPaid,
            "drugcost" => C::DrugCost,
            "tax" => C::Tax,
            "innetwork" => C::InNetwork,
            "outofnetwork" => C::OutOfNetwork,
            // CMS Blue Button variables (carrier, DME, institutional, Part D).
            "line_sbmtd_chrg_amt" | "clm_tot_chrg_amt" | "rev_cntr_tot_chrg_amt" => C::Submitted,
            "line_alowd_chrg_amt" => C::Allowed,
            "line_nch_pmt_amt" | "clm_pmt_amt" | "rev_cntr_pmt_amt_amt" | "cvrd_d_plan_pd_amt" => {
                C::Benefit
            }
            "line_prvdr_pmt_amt" | "rev_cntr_prvdr_pmt_amt" => C::PaidToProvider,
            "line_bene_pmt_amt" | "rev_cntr_bene_pmt_amt" => C::PaidToPatient,
            "ptnt_pay_amt" | "rev_cntr_ptnt_rspnsblty_pmt" => C::PaidByPatient,
            "line_bene_ptb_ddctbl_amt" | "nch_bene_ip_ddctbl_amt" | "rev_cntr_cash_ddctbl_amt" => {
                C::Deductible
            }
            "line_coinsrnc_amt"
            | "nch_bene_pta_coinsrnc_lblty_amt"
            | "rev_cntr_coinsrnc_wge_adjstd_c" => C::Coinsurance,
            "line_bene_prmry_pyr_pd_amt"
            | "line_prmry_alowd_chrg_amt"
            | "nch_prmry_pyr_clm_pd_amt" => C::PriorPayerPaid,
            "rev_cntr_ncvrd_chrg_amt" | "nch_ip_ncvrd_chrg_amt" => C::NonCovered,
            "tot_rx_cst_amt" => C::DrugCost,
            _ => return None,
        })
    }

    /// The first coding of a concept that names a category.
    pub fn from_concept(concept: &CodeableConcept) -> Option<Self> {
        concept
            .coding
            .iter()
            .find_map(|c: &Coding| c.code.as_deref().and_then(Self::from_code))
    }
}

impl Adjudication {
    /// The category this line stands for, when recognised.
    pub fn amount_category(&self) -> Option<AmountCategory> {
        self.category
            .as_ref()
            .and_then(AmountCategory::from_concept)
    }
}

/// Amounts by category, summed exactly. Built from totals or adjudication lines.
///
/// ```
/// let eob: fhir_c4bb::ExplanationOfBenefit = fhir_c4bb::from_str(r#"{"resourceType":"ExplanationOfBenefit",
///   "total":[
///     {"category":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/adjudication","code":"submitted"}]},"amount":{"value":250.00,"currency":"USD"}},
///     {"category":{"coding":[{"code":"paidtoprovider"}]},"amount":{"value":180.10,"currency":"USD"}},
///     {"category":{"coding":[{"code":"memberliability"}]},"amount":{"value":19.90,"currency":"USD"}}]}"#)?;
/// let t = eob.totals();
/// assert_eq!(t.billed().unwrap().to_string(), "250.00 USD");
/// assert_eq!(t.plan_paid().unwrap().to_string(), "180.10 USD");
/// assert_eq!(t.member_owes().unwrap().to_string(), "19.90 USD");
/// # Ok::<(), fhir_c4bb::ParseError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct AmountSummary {
    amounts: Vec<(AmountCategory, Decimal)>,
    /// The currency of the amounts (the first one seen).
    pub currency: Option<String>,
    /// Amounts skipped because their currency differs from [`AmountSummary::currency`].
    pub skipped_other_currency: usize,
    /// Amounts whose sum would overflow, or whose value cannot be evaluated.
    pub unsummable: usize,
}

impl AmountSummary {
    /// An empty summary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an amount under a category (summing with what is there).
    pub fn add(&mut self, category: AmountCategory, money: &Money) {
        let Some(value) = &money.value else { return };
        match (&self.currency, &money.currency) {
            (Some(have), Some(c)) if have != c => {
                self.skipped_other_currency += 1;
                return;
            }
            (None, Some(c)) => self.currency = Some(c.clone()),
            _ => {}
        }
        if value.to_parts().is_none() {
            self.unsummable += 1;
            return;
        }
        match self.amounts.iter_mut().find(|(c, _)| *c == category) {
            Some((_, sum)) => match sum.checked_add(value) {
                Some(s) => *sum = s,
                None => self.unsummable += 1,
            },
            None => self.amounts.push((category, value.clone())),
        }
    }

    /// Adds every categorised amount of these adjudication lines.
    pub fn add_adjudications(&mut self, lines: &[Adjudication]) {
        for a in lines {
            if let (Some(cat), Some(m)) = (a.amount_category(), &a.amount) {
                self.add(cat, m);
            }
        }
    }

    /// Adds another summary (same currency only).
    pub fn merge(&mut self, other: &AmountSummary) {
        for (cat, v) in &other.amounts {
            self.add(*cat, &money(v.clone(), other.currency.clone()));
        }
        self.skipped_other_currency += other.skipped_other_currency;
        self.unsummable += other.unsummable;
    }

    /// The amount in a category.
    pub fn get(&self, category: AmountCategory) -> Option<Money> {
        self.value(category).map(|v| self.money(v.clone()))
    }

    /// The value in a category, without the currency.
    pub fn value(&self, category: AmountCategory) -> Option<&Decimal> {
        self.amounts
            .iter()
            .find(|(c, _)| *c == category)
            .map(|(_, v)| v)
    }

    /// Every category present, with its value, in the order first seen.
    pub fn iter(&self) -> impl Iterator<Item = (AmountCategory, &Decimal)> {
        self.amounts.iter().map(|(c, v)| (*c, v))
    }

    /// Whether no amount was found.
    pub fn is_empty(&self) -> bool {
        self.amounts.is_empty()
    }

    /// Submitted (billed) amount.
    pub fn submitted(&self) -> Option<Money> {
        self.get(AmountCategory::Submitted)
    }
    /// Allowed (eligible) amount.
    pub fn allowed(&self) -> Option<Money> {
        self.get(AmountCategory::Allowed)
    }
    /// Paid to the provider.
    pub fn paid_to_provider(&self) -> Option<Money> {
        self.get(AmountCategory::PaidToProvider)
    }
    /// Paid by the patient.
    pub fn paid_by_patient(&self) -> Option<Money> {
        self.get(AmountCategory::PaidByPatient)
    }
    /// Member liability.
    pub fn member_liability(&self) -> Option<Money> {
        self.get(AmountCategory::MemberLiability)
    }
    /// Deductible.
    pub fn deductible(&self) -> Option<Money> {
        self.get(AmountCategory::Deductible)
    }
    /// Coinsurance.
    pub fn coinsurance(&self) -> Option<Money> {
        self.get(AmountCategory::Coinsurance)
    }
    /// Copay.
    pub fn copay(&self) -> Option<Money> {
        self.get(AmountCategory::Copay)
    }
    /// Discount.
    pub fn discount(&self) -> Option<Money> {
        self.get(AmountCategory::Discount)
    }

    /// What the provider billed: the submitted amount.
    pub fn billed(&self) -> Option<Money> {
        self.submitted()
    }

    /// What the plan paid: `benefit` when sent, else paid to provider + paid to patient.
    pub fn plan_paid(&self) -> Option<Money> {
        if let Some(m) = self.get(AmountCategory::Benefit) {
            return Some(m);
        }
        self.sum_of(&[
            AmountCategory::PaidToProvider,
            AmountCategory::PaidToPatient,
        ])
    }

    /// What the member owes: `memberliability` when sent, else what the member paid
    /// (`paidbypatient`), else deductible + coinsurance + copay + non-covered (those present).
    pub fn member_owes(&self) -> Option<Money> {
        if let Some(m) = self.get(AmountCategory::MemberLiability) {
            return Some(m);
        }
        if let Some(m) = self.get(AmountCategory::PaidByPatient) {
            return Some(m);
        }
        self.sum_of(&[
            AmountCategory::Deductible,
            AmountCategory::Coinsurance,
            AmountCategory::Copay,
            AmountCategory::NonCovered,
        ])
    }

    fn sum_of(&self, cats: &[AmountCategory]) -> Option<Money> {
        let mut sum: Option<Decimal> = None;
        for v in cats.iter().filter_map(|c| self.value(*c)) {
            sum = Some(match sum {
                None => v.clone(),
                Some(s) => s.checked_add(v)?,
            });
        }
        sum.map(|s| self.money(s))
    }

    fn money(&self, value: Decimal) -> Money {
        money(value, self.currency.clone())
    }
}

impl Item {
    /// This line's amounts by category (its own adjudication lines).
    pub fn amounts(&self) -> AmountSummary {
        let mut s = AmountSummary::new();
        s.add_adjudications(&self.adjudication);
        s
    }

    /// The service date or period start.
    pub fn service_start(&self) -> Option<&DateTime> {
        match self.serviced.as_ref()? {
            Serviced::Date(d) => Some(d),
            Serviced::Period(p) => p.start.as_ref().or(p.end.as_ref()),
        }
    }

    /// The service date or period end.
    pub fn service_end(&self) -> Option<&DateTime> {
        match self.serviced.as_ref()? {
            Serviced::Date(d) => Some(d),
            Serviced::Period(p) => p.end.as_ref().or(p.start.as_ref()),
        }
    }
}

impl ExplanationOfBenefit {
    /// Claim-level amounts: the `total` list, completed for categories it lacks by the
    /// claim-level `adjudication` amounts (C4BB 1.x put some there). Only when neither
    /// has any amount, the sum over items: mixing levels would pair a claim total with
    /// a line amount of another category.
    pub fn totals(&self) -> AmountSummary {
        let mut s = AmountSummary::new();
        for t in &self.total {
            if let (Some(cat), Some(m)) = (
                t.category.as_ref().and_then(AmountCategory::from_concept),
                &t.amount,
            ) {
                s.add(cat, m);
            }
        }
        let mut header = AmountSummary::new();
        header.add_adjudications(&self.adjudication);
        fill_missing(&mut s, &header);
        if s.is_empty() {
            return self.item_totals();
        }
        s
    }

    /// The sum of every item's adjudication amounts.
    pub fn item_totals(&self) -> AmountSummary {
        let mut s = AmountSummary::new();
        for item in &self.item {
            s.merge(&item.amounts());
        }
        s
    }

    /// When the services happened: from the earliest to the latest item service date,
    /// else `billablePeriod`.
    pub fn service_period(&self) -> Option<Period> {
        let starts = self.item.iter().filter_map(Item::service_start);
        let ends = self.item.iter().filter_map(Item::service_end);
        match (starts.min(), ends.max()) {
            (Some(s), Some(e)) => Some(Period::new(s.clone(), e.clone())),
            _ => self.billable_period.clone(),
        }
    }

    /// The claim type code (`institutional`, `pharmacy`, `professional`, `oral`...).
    pub fn claim_type(&self) -> Option<&str> {
        let ty = self.type_.as_ref()?;
        ty.code_in(crate::profile::CLAIM_TYPE_SYSTEM)
            .or_else(|| ty.coding.iter().find_map(|c| c.code.as_deref()))
    }

    /// The billing provider for people: the contained or referenced organization's or
    /// practitioner's name, else the reference display or identifier.
    pub fn provider_name(&self) -> Option<String> {
        let r = self.provider.as_ref()?;
        if let Some(res) = self.resolve_contained(r) {
            if let Some(name) = res.as_organization().and_then(|o| o.name.clone()) {
                return Some(name);
            }
            if let Some(name) = res.as_practitioner().and_then(|p| p.display_name()) {
                return Some(name);
            }
        }
        r.label().map(str::to_owned)
    }

    /// The row a claims table shows for this EOB. [`ClaimsTable`] never asks it of a prior
    /// authorization; read those with [`ExplanationOfBenefit::prior_authorization`].
    pub fn claim_row(&self) -> ClaimRow {
        let totals = self.totals();
        let period = self.service_period();
        ClaimRow {
            id: self.id.clone(),
            service_date: period.as_ref().and_then(|p| p.start.clone()),
            claim_type: self.profile().kind.label().to_owned(),
            provider: self.provider_name(),
            billed: totals.billed(),
            plan_paid: totals.plan_paid(),
            member_owes: totals.member_owes(),
        }
    }
}

fn money(value: Decimal, currency: Option<String>) -> Money {
    Money {
        value: Some(value),
        currency,
        ..Default::default()
    }
}

fn fill_missing(into: &mut AmountSummary, from: &AmountSummary) {
    for (cat, v) in from.iter() {
        if into.value(cat).is_none() {
            into.add(cat, &money(v.clone(), from.currency.clone()));
        }
    }
}

/// One row of a claims table.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClaimRow {
    /// EOB id.
    pub id: Option<String>,
    /// First date of service.
    pub service_date: Option<DateTime>,
    /// Claim type label (`Pharmacy`, `Inpatient`, `Professional`...).
    pub claim_type: String,
    /// Billing provider.
    pub provider: Option<String>,
    /// Billed.
    pub billed: Option<Money>,
    /// Plan paid.
    pub plan_paid: Option<Money>,
    /// Member owes.
    pub member_owes: Option<Money>,
}

/// A claims table: one row per claim EOB and exact column totals. Prior authorizations
/// (`use = preauthorization`, see [`crate::prior_auth`]) are not claims: they get no row
/// and count in no total.
///
/// ```
/// let bundle: fhir_c4bb::Bundle = fhir_c4bb::from_str(r#"{"resourceType":"Bundle","entry":[
///  {"resource":{"resourceType":"ExplanationOfBenefit","total":[{"category":{"coding":[{"code":"submitted"}]},"amount":{"value":100.10,"currency":"USD"}}]}},
///  {"resource":{"resourceType":"ExplanationOfBenefit","total":[{"category":{"coding":[{"code":"submitted"}]},"amount":{"value":0.20,"currency":"USD"}}]}}]}"#)?;
/// let table = fhir_c4bb::money::ClaimsTable::from_eobs(bundle.eobs());
/// assert_eq!(table.rows.len(), 2);
/// assert_eq!(table.billed_total.unwrap().to_string(), "100.30 USD");
/// # Ok::<(), fhir_c4bb::ParseError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ClaimsTable {
    /// The rows, in input order.
    pub rows: Vec<ClaimRow>,
    /// Sum of billed.
    pub billed_total: Option<Money>,
    /// Sum of plan paid.
    pub plan_paid_total: Option<Money>,
    /// Sum of member owes.
    pub member_owes_total: Option<Money>,
}

impl ClaimsTable {
    /// Builds the table from EOBs (e.g. [`crate::Bundle::eobs`]), skipping prior
    /// authorizations.
    pub fn from_eobs<'a>(eobs: impl IntoIterator<Item = &'a ExplanationOfBenefit>) -> Self {
        let rows: Vec<ClaimRow> = eobs
            .into_iter()
            .filter(|e| !e.is_prior_authorization())
            .map(ExplanationOfBenefit::claim_row)
            .collect();
        let sum = |f: fn(&ClaimRow) -> Option<&Money>| {
            let mut s = AmountSummary::new();
            for m in rows.iter().filter_map(f) {
                s.add(AmountCategory::Submitted, m);
            }
            s.get(AmountCategory::Submitted)
        };
        ClaimsTable {
            billed_total: sum(|r| r.billed.as_ref()),
            plan_paid_total: sum(|r| r.plan_paid.as_ref()),
            member_owes_total: sum(|r| r.member_owes.as_ref()),
            rows,
        }
    }
}
