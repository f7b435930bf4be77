//! Prior authorizations (Da Vinci PDex `pdex-priorauthorization`): an ExplanationOfBenefit
//! with `use = preauthorization`, read as what a member asked the plan to approve and what
//! the plan decided.
//!
//! Under CMS-0057-F, from 2027-01-01 impacted payers' Patient Access APIs return the
//! member's prior authorizations (pending, approved, partially approved, denied, with the
//! reason and each later change of status) for at least a year after the last change.
//!
//! [`PriorAuthorization`] is a view that borrows the EOB: nothing is copied, and the EOB
//! stays the source of truth (it round-trips losslessly like any other). An EOB is a prior
//! authorization when its `use` is `preauthorization`, whatever `meta.profile` claims,
//! because payers will be inconsistent about the profile.
//!
//! # Status
//!
//! Each decision is an X12 306 code (Healthcare Services Action Code) in the PDex
//! `reviewAction` adjudication extension, nested `reviewActionCode`:
//!
//! | X12 306 | meaning | [`PriorAuthStatus`] |
//! |---|---|---|
//! | `A1` | Certified in total | [`Approved`](PriorAuthStatus::Approved) |
//! | `A2` | Certified, partial | [`PartiallyApproved`](PriorAuthStatus::PartiallyApproved) |
//! | `A3` | Not certified | [`Denied`](PriorAuthStatus::Denied) |
//! | `A4` | Pended | [`Pending`](PriorAuthStatus::Pending) |
//! | `A6` | Modified | [`Modified`](PriorAuthStatus::Modified) |
//! | `C` | Cancelled | [`Cancelled`](PriorAuthStatus::Cancelled) |
//! | anything else (`CT` contact payer, `NA` no action required, ...) | | [`Other(code)`](PriorAuthStatus::Other) |
//!
//! The overall [`PriorAuthorization::status`] is decided in this order:
//! 1. `status = cancelled` on the EOB → `Cancelled`.
//! 2. A header-level (`ExplanationOfBenefit.adjudication`) review action → its decision.
//! 3. The item decisions: when every item has the same decision, that one; an item with
//!    no decision yet, or any pended item, → `Pending`; an unknown code → `Other(code)`;
//!    a mix of approvals with denials/cancellations or partial approvals →
//!    `PartiallyApproved`; approvals with modifications only → `Modified`; denials with
//!    cancellations → `Denied`.
//! 4. No decision anywhere: `outcome = error` → `Other("error")`, anything else
//!    (`queued`, `complete`, `partial`, absent) → `Pending`. A prior authorization with
//!    no decision is pending, not an error.
//!
//! ```
//! use fhir_c4bb::prior_auth::PriorAuthStatus;
//! let eob: fhir_c4bb::ExplanationOfBenefit = fhir_c4bb::from_str(r#"{"resourceType":"ExplanationOfBenefit",
//!   "use":"preauthorization","outcome":"complete","preAuthRef":["AUTH-7"],
//!   "preAuthRefPeriod":[{"start":"2026-03-01","end":"2026-03-31"}],
//!   "item":[{"sequence":1,"productOrService":{"coding":[{"code":"97110","display":"Physical therapy"}]},
//!     "adjudication":[{"category":{"coding":[{"code":"submitted"}]},"amount":{"value":900.00,"currency":"USD"},
//!       "extension":[{"url":"http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewAction",
//!         "extension":[{"url":"http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewActionCode",
//!           "valueCodeableConcept":{"coding":[{"system":"https://codesystem.x12.org/005010/306","code":"A3"}]}},
//!           {"url":"reasonCode","valueCodeableConcept":{"text":"Not medically necessary"}}]}]}]}]}"#)?;
//! let pa = eob.prior_authorization().unwrap();
//! assert_eq!(pa.status(), PriorAuthStatus::Denied);
//! assert_eq!(pa.authorization_number(), Some("AUTH-7"));
//! assert_eq!(pa.reasons().next().and_then(|r| r.display()), Some("Not medically necessary"));
//! let item = pa.items().next().unwrap();
//! assert_eq!(item.service().and_then(|s| s.display()), Some("Physical therapy"));
//! assert_eq!(item.submitted().unwrap().to_string(), "900.00 USD");
//! // Never a claim:
//! assert!(fhir_c4bb::money::ClaimsTable::from_eobs([&eob]).rows.is_empty());
//! # Ok::<(), fhir_c4bb::ParseError>(())
//! ```

use std::fmt;

use crate::datatypes::{CodeableConcept, Extension, ExtensionValue, Period, Quantity};
use crate::{Adjudication, DateTime, Decimal, ExplanationOfBenefit, Item, Money, Total};

/// The PDex prior-authorization profile.
pub const PDEX_PRIOR_AUTH_PROFILE: &str =
    "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/pdex-priorauthorization";
/// The `reviewAction` adjudication extension (complex: `reviewActionCode`, `number`,
/// `reasonCode`, `secondSurgicalOpinionFlag`).
pub const REVIEW_ACTION_URL: &str =
    "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewAction";
/// The `reviewActionCode` extension nested in `reviewAction` (an X12 306 code).
pub const REVIEW_ACTION_CODE_URL: &str =
    "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-reviewActionCode";
/// The level-of-service extension (X12 1338: `U` urgent, `E` elective...).
pub const LEVEL_OF_SERVICE_URL: &str =
    "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/extension-levelOfServiceCode";
/// When an adjudication action took place.
pub const WHEN_ADJUDICATED_URL: &str =
    "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/base-ext-when-adjudicated";
/// How much of an authorized service was used so far (on `total`).
pub const UTILIZATION_URL: &str =
    "http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/PriorAuthorizationUtilization";
/// The X12 306 Healthcare Services Action code system.
pub const X12_306_SYSTEM: &str = "https://codesystem.x12.org/005010/306";
/// The `use` code of a prior authorization.
pub const USE_PREAUTHORIZATION: &str = "preauthorization";

/// A prior authorization's decision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PriorAuthStatus {
    /// Not decided yet (X12 306 `A4` pended, or no decision sent).
    Pending,
    /// Certified in total (`A1`).
    Approved,
    /// Certified in part (`A2`), or some items approved and others not.
    PartiallyApproved,
    /// Not certified (`A3`).
    Denied,
    /// Cancelled (`C`, or the EOB's `status` is `cancelled`).
    Cancelled,
    /// Modified (`A6`): approved with changes.
    Modified,
    /// A code this crate does not map (`CT` contact payer, `NA`...), kept as sent.
    Other(String),
}

impl PriorAuthStatus {
    /// The status an X12 306 code stands for (see the [module table](self)).
    pub fn from_x12_306(code: &str) -> Self {
        match code.trim() {
            "A1" => Self::Approved,
            "A2" => Self::PartiallyApproved,
            "A3" => Self::Denied,
            "A4" => Self::Pending,
            "A6" => Self::Modified,
            "C" => Self::Cancelled,
            other => Self::Other(other.to_owned()),
        }
    }

    /// A label for people (`"Pending"`, `"Partially approved"`...; `Other` gives its code).
    pub fn label(&self) -> &str {
        match self {
            Self::Pending => "Pending",
            Self::Approved => "Approved",
            Self::PartiallyApproved => "Partially approved",
            Self::Denied => "Denied",
            Self::Cancelled => "Cancelled",
            Self::Modified => "Modified",
            Self::Other(code) => code,
        }
    }

    /// A stable lower-case slug (`pending`, `partially-approved`, `other`), for CSS
    /// classes or file formats.
    pub fn slug(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::PartiallyApproved => "partially-approved",
            Self::Denied => "denied",
            Self::Cancelled => "cancelled",
            Self::Modified => "modified",
            Self::Other(_) => "other",
        }
    }

    /// Whether the plan has still to decide.
    pub fn is_pending(&self) -> bool {
        *self == Self::Pending
    }

    /// Combines item decisions into one (rule 3 of the [module docs](self)).
    fn combine(decisions: &[Option<PriorAuthStatus>]) -> Option<PriorAuthStatus> {
        use PriorAuthStatus as S;
        let first = decisions.first()?;
        if decisions.iter().all(|d| d == first) {
            return Some(first.clone().unwrap_or(S::Pending));
        }
        if decisions
            .iter()
            .any(|d| matches!(d, None | Some(S::Pending)))
        {
            return Some(S::Pending);
        }
        let decided: Vec<&S> = decisions.iter().flatten().collect();
        if let Some(other) = decided.iter().find(|d| matches!(d, S::Other(_))) {
            return Some((*other).clone());
        }
        let any = |s: &S| decided.contains(&s);
        let granted = any(&S::Approved) || any(&S::Modified) || any(&S::PartiallyApproved);
        let refused = any(&S::Denied) || any(&S::Cancelled);
        Some(if any(&S::PartiallyApproved) || (granted && refused) {
            S::PartiallyApproved
        } else if granted {
            S::Modified
        } else {
            S::Denied
        })
    }
}

impl fmt::Display for PriorAuthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A PDex `reviewAction` extension: one decision.
#[derive(Debug, Clone, Copy)]
pub struct ReviewAction<'a> {
    ext: &'a Extension,
}

impl<'a> ReviewAction<'a> {
    /// The first `reviewAction` among these extensions.
    fn find(exts: &'a [Extension]) -> Option<Self> {
        exts.iter()
            .find(|e| e.url.as_deref() == Some(REVIEW_ACTION_URL))
            .map(|ext| ReviewAction { ext })
    }

    /// The extension as sent.
    pub fn extension(&self) -> &'a Extension {
        self.ext
    }

    /// The X12 306 code concept (nested `reviewActionCode`, or the slice name `code`
    /// that some payers send as the URL).
    pub fn code_concept(&self) -> Option<&'a CodeableConcept> {
        self.ext.extension.iter().find_map(|e| {
            let url = e.url.as_deref()?;
            if url != REVIEW_ACTION_CODE_URL && url != "code" {
                return None;
            }
            match e.value.as_ref()? {
                ExtensionValue::CodeableConcept(cc) => Some(&**cc),
                _ => None,
            }
        })
    }

    /// The X12 306 code: the coding in the X12 system, else the first code.
    pub fn code(&self) -> Option<&'a str> {
        let cc = self.code_concept()?;
        cc.code_in(X12_306_SYSTEM)
            .or_else(|| cc.coding.iter().find_map(|c| c.code.as_deref()))
    }

    /// The decision; `None` when the extension carries no code.
    pub fn decision(&self) -> Option<PriorAuthStatus> {
        self.code().map(PriorAuthStatus::from_x12_306)
    }

    /// The review (authorization) number.
    pub fn number(&self) -> Option<&'a str> {
        self.ext
            .nested("number")
            .find_map(|e| e.value.as_ref().and_then(ExtensionValue::as_str))
    }

    /// Why it was pended, denied or partly approved.
    pub fn reasons(&self) -> impl Iterator<Item = &'a CodeableConcept> + 'a {
        self.ext
            .nested("reasonCode")
            .filter_map(|e| match e.value.as_ref()? {
                ExtensionValue::CodeableConcept(cc) => Some(&**cc),
                _ => None,
            })
    }

    /// Whether a second surgical opinion is needed.
    pub fn second_surgical_opinion(&self) -> Option<bool> {
        self.ext
            .nested("secondSurgicalOpinionFlag")
            .find_map(|e| match e.value.as_ref()? {
                ExtensionValue::Boolean(b) => Some(*b),
                _ => None,
            })
    }
}

fn when_adjudicated(exts: &[Extension]) -> Option<&DateTime> {
    exts.iter()
        .filter(|e| e.url.as_deref() == Some(WHEN_ADJUDICATED_URL))
        .find_map(|e| match e.value.as_ref()? {
            ExtensionValue::DateTime(d) | ExtensionValue::Date(d) | ExtensionValue::Instant(d) => {
                Some(d)
            }
            _ => None,
        })
}

fn review_in(lines: &[Adjudication]) -> Option<ReviewAction<'_>> {
    lines.iter().find_map(|a| ReviewAction::find(&a.extension))
}

fn category_is(a: &Adjudication, code: &str) -> bool {
    a.category.as_ref().is_some_and(|c| c.has_code(code))
}

/// Denial reasons: the `reasonCode`s of the review action and the `reason` of
/// `denialreason` adjudication lines.
fn reasons_in(lines: &[Adjudication]) -> Vec<&CodeableConcept> {
    let mut out: Vec<&CodeableConcept> = Vec::new();
    if let Some(r) = review_in(lines) {
        out.extend(r.reasons());
    }
    out.extend(
        lines
            .iter()
            .filter(|a| category_is(a, "denialreason"))
            .filter_map(|a| a.reason.as_ref()),
    );
    out
}

fn amount_in<'a>(lines: &'a [Adjudication], code: &str) -> Option<&'a Money> {
    lines
        .iter()
        .filter(|a| category_is(a, code))
        .find_map(|a| a.amount.as_ref())
}

fn value_in<'a>(lines: &'a [Adjudication], code: &str) -> Option<&'a Decimal> {
    lines
        .iter()
        .filter(|a| category_is(a, code))
        .find_map(|a| a.value.as_ref())
}

/// A prior authorization: a view over an ExplanationOfBenefit with
/// `use = preauthorization`. Get one with [`ExplanationOfBenefit::prior_authorization`].
#[derive(Debug, Clone, Copy)]
pub struct PriorAuthorization<'a> {
    eob: &'a ExplanationOfBenefit,
}

impl<'a> PriorAuthorization<'a> {
    /// The EOB this view reads.
    pub fn eob(&self) -> &'a ExplanationOfBenefit {
        self.eob
    }

    /// The EOB id.
    pub fn id(&self) -> Option<&'a str> {
        self.eob.id.as_deref()
    }

    /// The header-level review action (`ExplanationOfBenefit.adjudication`), when sent.
    pub fn review_action(&self) -> Option<ReviewAction<'a>> {
        review_in(&self.eob.adjudication)
    }

    /// The overall decision (rule in the [module docs](self)).
    pub fn status(&self) -> PriorAuthStatus {
        if self
            .eob
            .status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("cancelled"))
        {
            return PriorAuthStatus::Cancelled;
        }
        if let Some(d) = self.review_action().and_then(|r| r.decision()) {
            return d;
        }
        let decisions: Vec<Option<PriorAuthStatus>> = self.items().map(|i| i.decision()).collect();
        if decisions.iter().any(Option::is_some)
            && let Some(s) = PriorAuthStatus::combine(&decisions)
        {
            return s;
        }
        match self.eob.outcome.as_deref() {
            Some("error") => PriorAuthStatus::Other("error".to_owned()),
            _ => PriorAuthStatus::Pending,
        }
    }

    /// The authorization number: the header review action's `number`, else the first
    /// `preAuthRef`, else the first item review number, else the EOB identifier.
    pub fn authorization_number(&self) -> Option<&'a str> {
        self.review_action()
            .and_then(|r| r.number())
            .or_else(|| self.eob.pre_auth_ref.first().map(String::as_str))
            .or_else(|| self.items().find_map(|i| i.review_number()))
            .or_else(|| self.eob.claim_id())
    }

    /// The period the authorization is valid for (`preAuthRefPeriod`).
    pub fn authorized_period(&self) -> Option<&'a Period> {
        self.eob.pre_auth_ref_period.first()
    }

    /// When the plan last decided: the latest `base-ext-when-adjudicated` date on the
    /// header and item adjudications.
    pub fn decision_date(&self) -> Option<&'a DateTime> {
        let header = self
            .eob
            .adjudication
            .iter()
            .filter_map(|a| when_adjudicated(&a.extension));
        let items = self.eob.item.iter().flat_map(|i| {
            i.adjudication
                .iter()
                .filter_map(|a| when_adjudicated(&a.extension))
        });
        header.chain(items).max()
    }

    /// When the request was submitted (`created`).
    pub fn requested(&self) -> Option<&'a DateTime> {
        self.eob.created.as_ref()
    }

    /// When the record last changed (`meta.lastUpdated`): a new decision moves it.
    pub fn last_updated(&self) -> Option<&'a DateTime> {
        self.eob.meta.as_ref()?.last_updated.as_ref()
    }

    /// The level of service (X12 1338: `U` urgent, `E` elective...).
    pub fn level_of_service(&self) -> Option<&'a CodeableConcept> {
        self.eob
            .extension
            .iter()
            .filter(|e| e.url.as_deref() == Some(LEVEL_OF_SERVICE_URL))
            .find_map(|e| match e.value.as_ref()? {
                ExtensionValue::CodeableConcept(cc) => Some(&**cc),
                _ => None,
            })
    }

    /// Why it was denied, pended or modified: the header review action's `reasonCode`s
    /// and `denialreason` lines, then every item's.
    pub fn reasons(&self) -> impl Iterator<Item = &'a CodeableConcept> + 'a {
        let items = self
            .eob
            .item
            .iter()
            .flat_map(|i| reasons_in(&i.adjudication));
        reasons_in(&self.eob.adjudication).into_iter().chain(items)
    }

    /// The requested services.
    pub fn items(&self) -> impl Iterator<Item = PriorAuthItem<'a>> + 'a {
        self.eob.item.iter().map(|item| PriorAuthItem { item })
    }

    /// The first item's service, for a one-line summary.
    pub fn service(&self) -> Option<&'a CodeableConcept> {
        self.items().find_map(|i| i.service())
    }

    /// The totals (`submitted`, `eligible`, `utilized`), with the utilization extension.
    pub fn totals(&self) -> impl Iterator<Item = PriorAuthTotal<'a>> + 'a {
        self.eob.total.iter().map(|total| PriorAuthTotal { total })
    }

    /// Whether `meta.profile` claims the PDex profile (not needed to be one).
    pub fn claims_pdex_profile(&self) -> bool {
        self.eob.meta.as_ref().is_some_and(|m| {
            m.profile
                .iter()
                .any(|p| p.split('|').next() == Some(PDEX_PRIOR_AUTH_PROFILE))
        })
    }
}

/// One requested service of a prior authorization.
#[derive(Debug, Clone, Copy)]
pub struct PriorAuthItem<'a> {
    item: &'a Item,
}

impl<'a> PriorAuthItem<'a> {
    /// The item as sent.
    pub fn item(&self) -> &'a Item {
        self.item
    }

    /// The service requested (`productOrService`).
    pub fn service(&self) -> Option<&'a CodeableConcept> {
        self.item.product_or_service.as_ref()
    }

    /// The service type (`category`, X12 service type codes).
    pub fn service_type(&self) -> Option<&'a CodeableConcept> {
        self.item.category.as_ref()
    }

    /// The item's review action.
    pub fn review_action(&self) -> Option<ReviewAction<'a>> {
        review_in(&self.item.adjudication)
    }

    /// The item's decision; `None` when none was sent (pending).
    pub fn decision(&self) -> Option<PriorAuthStatus> {
        self.review_action().and_then(|r| r.decision())
    }

    /// The item's review number.
    pub fn review_number(&self) -> Option<&'a str> {
        self.review_action().and_then(|r| r.number())
    }

    /// When this item was decided.
    pub fn decision_date(&self) -> Option<&'a DateTime> {
        self.item
            .adjudication
            .iter()
            .filter_map(|a| when_adjudicated(&a.extension))
            .max()
    }

    /// Why this item was denied, pended or modified.
    pub fn reasons(&self) -> Vec<&'a CodeableConcept> {
        reasons_in(&self.item.adjudication)
    }

    /// The amount asked for (`submitted` adjudication).
    pub fn submitted(&self) -> Option<&'a Money> {
        amount_in(&self.item.adjudication, "submitted")
    }

    /// The amount authorized (`eligible` adjudication).
    pub fn eligible(&self) -> Option<&'a Money> {
        amount_in(&self.item.adjudication, "eligible")
    }

    /// The units asked for (`quantity`).
    pub fn requested_units(&self) -> Option<&'a Quantity> {
        self.item.quantity.as_ref()
    }

    /// The units authorized (`allowedunits` adjudication value).
    pub fn allowed_units(&self) -> Option<&'a Decimal> {
        value_in(&self.item.adjudication, "allowedunits")
    }

    /// The units used so far (`consumedunits` adjudication value).
    pub fn consumed_units(&self) -> Option<&'a Decimal> {
        value_in(&self.item.adjudication, "consumedunits")
    }
}

/// One `total` of a prior authorization.
#[derive(Debug, Clone, Copy)]
pub struct PriorAuthTotal<'a> {
    total: &'a Total,
}

impl<'a> PriorAuthTotal<'a> {
    /// The total as sent.
    pub fn total(&self) -> &'a Total {
        self.total
    }

    /// The category code (`submitted`, `eligible`, `utilized`).
    pub fn category(&self) -> Option<&'a str> {
        self.total
            .category
            .as_ref()?
            .coding
            .iter()
            .find_map(|c| c.code.as_deref())
    }

    /// The amount.
    pub fn amount(&self) -> Option<&'a Money> {
        self.total.amount.as_ref()
    }

    /// The units used so far (`PriorAuthorizationUtilization`, a Quantity).
    pub fn utilization(&self) -> Option<&'a Quantity> {
        self.total
            .extension
            .iter()
            .filter(|e| e.url.as_deref() == Some(UTILIZATION_URL))
            .find_map(|e| match e.value.as_ref()? {
                ExtensionValue::Quantity(q) => Some(&**q),
                _ => None,
            })
    }
}

impl ExplanationOfBenefit {
    /// Whether this EOB is a prior authorization: `use` is `preauthorization` (any
    /// case), whatever the profile says.
    pub fn is_prior_authorization(&self) -> bool {
        self.use_
            .as_deref()
            .is_some_and(|u| u.trim().eq_ignore_ascii_case(USE_PREAUTHORIZATION))
    }

    /// The prior-authorization view of this EOB, `None` when it is not one.
    pub fn prior_authorization(&self) -> Option<PriorAuthorization<'_>> {
        self.is_prior_authorization()
            .then_some(PriorAuthorization { eob: self })
    }
}

#[cfg(test)]
mod tests {
    use super::PriorAuthStatus as S;

    #[test]
    fn combining_item_decisions_follows_the_documented_rule() {
        let c = |d: &[Option<S>]| S::combine(d);
        assert_eq!(c(&[]), None);
        assert_eq!(
            c(&[Some(S::Approved), Some(S::Approved)]),
            Some(S::Approved)
        );
        assert_eq!(c(&[None, None]), Some(S::Pending));
        assert_eq!(c(&[Some(S::Approved), None]), Some(S::Pending));
        assert_eq!(c(&[Some(S::Denied), Some(S::Pending)]), Some(S::Pending));
        assert_eq!(
            c(&[Some(S::Approved), Some(S::Denied)]),
            Some(S::PartiallyApproved)
        );
        assert_eq!(
            c(&[Some(S::Approved), Some(S::PartiallyApproved)]),
            Some(S::PartiallyApproved)
        );
        assert_eq!(
            c(&[Some(S::Approved), Some(S::Modified)]),
            Some(S::Modified)
        );
        assert_eq!(c(&[Some(S::Denied), Some(S::Cancelled)]), Some(S::Denied));
        assert_eq!(
            c(&[Some(S::Approved), Some(S::Other("CT".into()))]),
            Some(S::Other("CT".into()))
        );
    }

    #[test]
    fn x12_306_codes_map_as_documented() {
        for (code, s) in [
            ("A1", S::Approved),
            ("A2", S::PartiallyApproved),
            ("A3", S::Denied),
            ("A4", S::Pending),
            ("A6", S::Modified),
            ("C", S::Cancelled),
            ("CT", S::Other("CT".into())),
            ("NA", S::Other("NA".into())),
        ] {
            assert_eq!(S::from_x12_306(code), s, "{code}");
        }
    }
}
