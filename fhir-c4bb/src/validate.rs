//! `validate()`: which C4BB required and must-support elements are missing or wrong, each
//! with its JSON path. Parsing never depends on it; an app decides what to do with issues.
//!
//! Rules follow C4BB 2.x (which tightened 1.x) plus the R4 and US Core cardinalities the
//! C4BB profiles inherit. Paths use the same form as [`crate::ParseError::path`].

use std::fmt;

use crate::datatypes::{CodeableConcept, Identifier, Meta};
use crate::profile::EobKind;
use crate::{
    Adjudication, Bundle, Coverage, DateTime, Decimal, ExplanationOfBenefit, Money,
    OperationOutcome, Organization, Patient, Practitioner, Resource, Serviced,
    SupportingInfoTiming,
};

/// How an element fails the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IssueKind {
    /// A required element (minimum cardinality ≥ 1) is absent.
    MissingRequired,
    /// A must-support element is absent: allowed, but the payer should send it if it has it.
    MissingMustSupport,
    /// The element is there but its value is not valid (a date that is no date, a number
    /// sent as a string...).
    Invalid,
    /// The element must not be present in this profile (amounts in a non-financial EOB).
    NotAllowed,
    /// The JSON value has the wrong shape for the element (an array where one object
    /// belongs, a number where a string belongs, `null`...). Parsing kept it as sent in
    /// the `extra` of the element that holds it; the typed field is unset.
    WrongJsonType,
    /// A choice element (`value[x]`, `effective[x]`...) has more than one of its keys
    /// (`valueQuantity` and `valueString`). The first is typed; the others are kept as sent
    /// in the `extra` of the element that holds them.
    ChoiceConflict,
}

/// One finding of `validate()`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationIssue {
    /// JSON path of the element (`item[0].adjudication`), or of where it should be.
    pub path: String,
    /// What is wrong.
    pub kind: IssueKind,
    /// A sentence for people.
    pub message: String,
}

impl ValidationIssue {
    pub(crate) fn mismatch(path: String, message: String) -> Self {
        ValidationIssue {
            path,
            kind: IssueKind::WrongJsonType,
            message,
        }
    }

    pub(crate) fn choice_conflict(path: String, message: String) -> Self {
        ValidationIssue {
            path,
            kind: IssueKind::ChoiceConflict,
            message,
        }
    }

    /// Whether the resource does not conform (anything but a missing must-support).
    pub fn is_error(&self) -> bool {
        self.kind != IssueKind::MissingMustSupport
    }
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Collects issues under a path prefix.
pub(crate) struct Check<'a> {
    out: &'a mut Vec<ValidationIssue>,
    prefix: String,
}

impl<'a> Check<'a> {
    pub(crate) fn new(out: &'a mut Vec<ValidationIssue>, prefix: &str) -> Self {
        Check {
            out,
            prefix: prefix.to_owned(),
        }
    }

    pub(crate) fn push(&mut self, path: &str, kind: IssueKind, message: String) {
        let path = if self.prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{}.{path}", self.prefix)
        };
        self.out.push(ValidationIssue {
            path,
            kind,
            message,
        });
    }

    pub(crate) fn required(&mut self, present: bool, path: &str) {
        if !present {
            self.push(
                path,
                IssueKind::MissingRequired,
                format!("{path} is required"),
            );
        }
    }

    pub(crate) fn must_support(&mut self, present: bool, path: &str) {
        if !present {
            self.push(
                path,
                IssueKind::MissingMustSupport,
                format!("{path} is must-support and absent"),
            );
        }
    }

    pub(crate) fn not_allowed(&mut self, present: bool, path: &str, why: &str) {
        if present {
            self.push(
                path,
                IssueKind::NotAllowed,
                format!("{path} is not allowed {why}"),
            );
        }
    }

    pub(crate) fn date(&mut self, value: Option<&DateTime>, path: &str) {
        if let Some(d) = value
            && !d.is_valid()
        {
            self.push(
                path,
                IssueKind::Invalid,
                format!("{path} {:?} is not a valid FHIR date/dateTime", d.as_str()),
            );
        }
    }

    pub(crate) fn decimal(&mut self, value: Option<&Decimal>, path: &str) {
        if let Some(d) = value
            && d.was_quoted()
        {
            self.push(
                path,
                IssueKind::Invalid,
                format!("{path} is a number sent as a JSON string"),
            );
        }
    }

    pub(crate) fn money(&mut self, value: Option<&Money>, path: &str) {
        if let Some(m) = value {
            self.decimal(m.value.as_ref(), &format!("{path}.value"));
        }
    }

    /// A code that must be one of `allowed` (a required binding).
    pub(crate) fn code(&mut self, value: Option<&str>, allowed: &[&str], path: &str) {
        if let Some(v) = value
            && !allowed.contains(&v)
        {
            self.push(
                path,
                IssueKind::Invalid,
                format!(
                    "{path} {v:?} is not in its value set ({})",
                    allowed.join(", ")
                ),
            );
        }
    }

    /// A CodeableConcept whose codings in `system` must use one of `allowed`.
    pub(crate) fn concept_code(
        &mut self,
        cc: Option<&CodeableConcept>,
        system: &str,
        allowed: &[&str],
        path: &str,
    ) {
        let Some(cc) = cc else { return };
        for (i, coding) in cc.coding.iter().enumerate() {
            if coding.system.as_deref() == Some(system) {
                self.code(
                    coding.code.as_deref(),
                    allowed,
                    &format!("{path}.coding[{i}].code"),
                );
            }
        }
    }

    /// C4BB profiles require `meta` with `profile`; `lastUpdated` is required or
    /// must-support depending on the resource.
    fn meta(&mut self, meta: Option<&Meta>, last_updated_required: bool) {
        let Some(m) = meta else {
            self.required(false, "meta");
            return;
        };
        if last_updated_required {
            self.required(m.last_updated.is_some(), "meta.lastUpdated");
        } else {
            self.must_support(m.last_updated.is_some(), "meta.lastUpdated");
        }
        self.date(m.last_updated.as_ref(), "meta.lastUpdated");
        self.required(!m.profile.is_empty(), "meta.profile");
    }
}

/// The `benefitpaymentstatus` adjudication slice: present, with a reason.
fn payment_status_slice(c: &mut Check<'_>, lines: &[Adjudication], path: &str) {
    match lines
        .iter()
        .position(|a| has_code(a.category.as_ref(), "benefitpaymentstatus"))
    {
        Some(j) => c.required(lines[j].reason.is_some(), &format!("{path}[{j}].reason")),
        None => c.required(false, &format!("{path}:benefitpaymentstatus")),
    }
}

/// The PDex adjudication slices of a prior authorization.
fn pdex_adjudication(c: &mut Check<'_>, lines: &[Adjudication], path: &str) {
    for (j, a) in lines.iter().enumerate() {
        let p = format!("{path}[{j}]");
        c.required(a.category.is_some(), &format!("{p}.category"));
        if has_code(a.category.as_ref(), "denialreason") {
            c.required(a.reason.is_some(), &format!("{p}.reason"));
        }
        if has_code(a.category.as_ref(), "allowedunits")
            || has_code(a.category.as_ref(), "consumedunits")
        {
            c.required(a.value.is_some(), &format!("{p}.value"));
        }
        c.money(a.amount.as_ref(), &format!("{p}.amount"));
        c.decimal(a.value.as_ref(), &format!("{p}.value"));
    }
}

fn has_code(cc: Option<&CodeableConcept>, code: &str) -> bool {
    cc.is_some_and(|c| c.has_code(code))
}

fn typed_identifier<'a>(ids: &'a [Identifier], code: &str) -> Option<(usize, &'a Identifier)> {
    ids.iter().enumerate().find(|(_, i)| i.has_type_code(code))
}

impl Patient {
    /// C4BB Patient checks: meta, the member id identifier, US Core name and gender;
    /// must-support birth date, deceased, address country; date validity.
    ///
    /// ```
    /// let p: fhir_c4bb::Patient = fhir_c4bb::from_str(r#"{"resourceType":"Patient","birthDate":"1980-02-30"}"#)?;
    /// let paths: Vec<String> = p.validate().into_iter().map(|i| i.path).collect();
    /// assert!(paths.contains(&"identifier".to_owned()));
    /// assert!(paths.contains(&"birthDate".to_owned()));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub fn validate(&self) -> Vec<crate::validate::ValidationIssue> {
        let mut out = Vec::new();
        self.validate_into(&mut out, "");
        crate::element::Element::walk(self, "", &mut out);
        out
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.meta(self.meta.as_ref(), true);
        match typed_identifier(&self.identifier, "MB") {
            Some((i, id)) => c.required(id.value.is_some(), &format!("identifier[{i}].value")),
            None => c.required(false, "identifier"),
        }
        c.required(!self.name.is_empty(), "name");
        c.required(self.gender.is_some(), "gender");
        c.must_support(self.birth_date.is_some(), "birthDate");
        c.date(self.birth_date.as_ref(), "birthDate");
        c.must_support(self.deceased.is_some(), "deceased[x]");
        if let Some(crate::Deceased::DateTime(d)) = &self.deceased {
            c.date(Some(d), "deceasedDateTime");
        }
        for (i, a) in self.address.iter().enumerate() {
            c.must_support(a.country.is_some(), &format!("address[{i}].country"));
        }
    }
}

impl Coverage {
    /// C4BB Coverage checks: meta, status, subscriberId, beneficiary, relationship, payor;
    /// must-support identifier, period and the group/plan classes.
    pub fn validate(&self) -> Vec<ValidationIssue> {
        let mut out = Vec::new();
        self.validate_into(&mut out, "");
        crate::element::Element::walk(self, "", &mut out);
        out
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.meta(self.meta.as_ref(), true);
        c.required(self.status.is_some(), "status");
        c.required(self.subscriber_id.is_some(), "subscriberId");
        c.required(self.beneficiary.is_some(), "beneficiary");
        c.required(self.relationship.is_some(), "relationship");
        c.required(!self.payor.is_empty(), "payor");
        c.must_support(!self.identifier.is_empty(), "identifier");
        c.must_support(self.period.is_some(), "period");
        if let Some(p) = &self.period {
            c.date(p.start.as_ref(), "period.start");
            c.date(p.end.as_ref(), "period.end");
        }
        for class in ["group", "plan"] {
            match self
                .class
                .iter()
                .position(|k| has_code(k.type_.as_ref(), class))
            {
                Some(i) => {
                    c.required(self.class[i].value.is_some(), &format!("class[{i}].value"));
                    c.must_support(self.class[i].name.is_some(), &format!("class[{i}].name"));
                }
                None => c.must_support(false, &format!("class:{class}")),
            }
        }
    }
}

impl Organization {
    /// C4BB Organization checks: meta (lastUpdated must-support), US Core name and
    /// active, must-support identifier.
    pub fn validate(&self) -> Vec<ValidationIssue> {
        let mut out = Vec::new();
        self.validate_into(&mut out, "");
        crate::element::Element::walk(self, "", &mut out);
        out
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.meta(self.meta.as_ref(), false);
        c.required(self.name.is_some(), "name");
        c.must_support(self.active.is_some(), "active");
        c.must_support(!self.identifier.is_empty(), "identifier");
    }
}

impl Practitioner {
    /// C4BB Practitioner checks: meta (lastUpdated must-support), US Core identifier and name.
    pub fn validate(&self) -> Vec<ValidationIssue> {
        let mut out = Vec::new();
        self.validate_into(&mut out, "");
        crate::element::Element::walk(self, "", &mut out);
        out
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.meta(self.meta.as_ref(), false);
        c.required(!self.identifier.is_empty(), "identifier");
        c.required(!self.name.is_empty(), "name");
        c.date(self.birth_date.as_ref(), "birthDate");
    }
}

impl OperationOutcome {
    /// R4 checks: at least one issue, each with severity and code.
    pub fn validate(&self) -> Vec<ValidationIssue> {
        let mut out = Vec::new();
        self.validate_into(&mut out, "");
        crate::element::Element::walk(self, "", &mut out);
        out
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(!self.issue.is_empty(), "issue");
        for (i, issue) in self.issue.iter().enumerate() {
            c.required(issue.severity.is_some(), &format!("issue[{i}].severity"));
            c.required(issue.code.is_some(), &format!("issue[{i}].code"));
        }
    }
}

impl Bundle {
    /// Checks `type` and every entry's resource, with paths like `entry[3].resource.status`.
    pub fn validate(&self) -> Vec<ValidationIssue> {
        let mut out = Vec::new();
        self.validate_into(&mut out, "");
        crate::element::Element::walk(self, "", &mut out);
        out
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        let mut c = Check::new(out, prefix);
        c.required(self.type_.is_some(), "type");
        let base = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}.")
        };
        for (i, e) in self.entry.iter().enumerate() {
            if let Some(r) = &e.resource {
                r.validate_into(out, &format!("{base}entry[{i}].resource"));
            }
        }
    }
}

impl Resource {
    /// The checks of the resource's own type; nothing for types this crate does not model.
    pub fn validate(&self) -> Vec<ValidationIssue> {
        let mut out = Vec::new();
        self.validate_into(&mut out, "");
        crate::element::Element::walk(self, "", &mut out);
        out
    }
}

impl ExplanationOfBenefit {
    /// C4BB ExplanationOfBenefit checks, for the base profile and the one
    /// [`profile()`](ExplanationOfBenefit::profile) finds: required elements, the
    /// profile's required supporting-info and adjudication slices, amounts that a
    /// non-financial EOB must not carry, must-support elements, and date validity.
    ///
    /// ```
    /// let eob: fhir_c4bb::ExplanationOfBenefit = fhir_c4bb::from_str(
    ///     r#"{"resourceType":"ExplanationOfBenefit","created":"last tuesday"}"#)?;
    /// let issues = eob.validate();
    /// assert!(issues.iter().any(|i| i.path == "billablePeriod"));
    /// assert!(issues.iter().any(|i| i.path == "created" && i.kind == fhir_c4bb::validate::IssueKind::Invalid));
    /// # Ok::<(), fhir_c4bb::ParseError>(())
    /// ```
    pub fn validate(&self) -> Vec<ValidationIssue> {
        let mut out = Vec::new();
        self.validate_into(&mut out, "");
        crate::element::Element::walk(self, "", &mut out);
        out
    }

    pub(crate) fn validate_into(&self, out: &mut Vec<ValidationIssue>, prefix: &str) {
        if self.is_prior_authorization() {
            self.check_prior_auth(&mut Check::new(out, prefix));
            return;
        }
        let profile = self.profile();
        let mut c = Check::new(out, prefix);
        c.meta(self.meta.as_ref(), true);
        match typed_identifier(&self.identifier, "uc") {
            Some((i, id)) => c.required(id.value.is_some(), &format!("identifier[{i}].value")),
            None => c.required(false, "identifier"),
        }
        c.required(self.status.is_some(), "status");
        c.required(self.type_.is_some(), "type");
        c.required(self.use_.is_some(), "use");
        c.required(self.patient.is_some(), "patient");
        c.required(self.created.is_some(), "created");
        c.date(self.created.as_ref(), "created");
        c.required(self.insurer.is_some(), "insurer");
        c.required(self.provider.is_some(), "provider");
        c.required(self.outcome.is_some(), "outcome");
        match &self.billable_period {
            None => c.required(false, "billablePeriod"),
            Some(p) => {
                c.required(p.start.is_some(), "billablePeriod.start");
                c.date(p.start.as_ref(), "billablePeriod.start");
                c.date(p.end.as_ref(), "billablePeriod.end");
                if profile.kind == EobKind::InpatientInstitutional {
                    c.must_support(p.end.is_some(), "billablePeriod.end");
                }
            }
        }
        c.required(!self.insurance.is_empty(), "insurance");
        for (i, ins) in self.insurance.iter().enumerate() {
            c.required(ins.focal.is_some(), &format!("insurance[{i}].focal"));
            c.required(ins.coverage.is_some(), &format!("insurance[{i}].coverage"));
        }
        for (i, r) in self.related.iter().enumerate() {
            c.required(
                r.relationship.is_some(),
                &format!("related[{i}].relationship"),
            );
            c.required(r.reference.is_some(), &format!("related[{i}].reference"));
        }
        if let Some(p) = &self.payee {
            c.required(p.type_.is_some(), "payee.type");
        }
        c.must_support(!self.care_team.is_empty(), "careTeam");
        for (i, t) in self.care_team.iter().enumerate() {
            c.required(t.sequence.is_some(), &format!("careTeam[{i}].sequence"));
            c.required(t.provider.is_some(), &format!("careTeam[{i}].provider"));
            c.required(t.role.is_some(), &format!("careTeam[{i}].role"));
        }
        for (i, s) in self.supporting_info.iter().enumerate() {
            c.required(
                s.sequence.is_some(),
                &format!("supportingInfo[{i}].sequence"),
            );
            c.required(
                s.category.is_some(),
                &format!("supportingInfo[{i}].category"),
            );
            if let Some(SupportingInfoTiming::Date(d)) = &s.timing {
                c.date(Some(d), &format!("supportingInfo[{i}].timingDate"));
            }
        }
        for (i, d) in self.diagnosis.iter().enumerate() {
            c.required(d.sequence.is_some(), &format!("diagnosis[{i}].sequence"));
            c.required(
                d.diagnosis.is_some(),
                &format!("diagnosis[{i}].diagnosis[x]"),
            );
        }
        for (i, p) in self.procedure.iter().enumerate() {
            c.required(p.sequence.is_some(), &format!("procedure[{i}].sequence"));
            c.required(
                p.procedure.is_some(),
                &format!("procedure[{i}].procedure[x]"),
            );
            c.date(p.date.as_ref(), &format!("procedure[{i}].date"));
        }
        self.check_items(&mut c, profile.kind, profile.financial);
        self.check_adjudication(
            &mut c,
            &self.adjudication,
            "adjudication",
            profile.financial,
        );
        if matches!(
            profile.kind,
            EobKind::InpatientInstitutional
                | EobKind::OutpatientInstitutional
                | EobKind::Pharmacy
                | EobKind::Oral
        ) {
            payment_status_slice(&mut c, &self.adjudication, "adjudication");
        }
        for (i, t) in self.total.iter().enumerate() {
            c.required(t.category.is_some(), &format!("total[{i}].category"));
            c.required(t.amount.is_some(), &format!("total[{i}].amount"));
            c.money(t.amount.as_ref(), &format!("total[{i}].amount"));
        }
        if profile.financial {
            c.required(!self.total.is_empty(), "total");
            c.must_support(self.payment.is_some(), "payment");
        } else {
            c.not_allowed(!self.total.is_empty(), "total", "in a non-financial EOB");
            c.not_allowed(
                self.payment.as_ref().is_some_and(|p| p.amount.is_some()),
                "payment.amount",
                "in a non-financial EOB",
            );
        }
        if let Some(p) = &self.payment {
            c.date(p.date.as_ref(), "payment.date");
            c.money(p.amount.as_ref(), "payment.amount");
        }
        self.check_profile_slices(&mut c, profile.kind);
    }

    /// A prior authorization (`use = preauthorization`) follows PDex
    /// `pdex-priorauthorization`, not C4BB: the R4 required elements, the PDex profile
    /// (must-support, since detection is by `use`), at most one `preAuthRefPeriod`, and
    /// the PDex adjudication slices (`denialreason` needs a reason, `allowedunits` and
    /// `consumedunits` a value). No decision is no issue: that is a pending request.
    fn check_prior_auth(&self, c: &mut Check<'_>) {
        match &self.meta {
            None => c.must_support(false, "meta.profile"),
            Some(m) => {
                c.date(m.last_updated.as_ref(), "meta.lastUpdated");
                c.must_support(
                    m.profile.iter().any(|p| {
                        p.split('|').next() == Some(crate::prior_auth::PDEX_PRIOR_AUTH_PROFILE)
                    }),
                    "meta.profile",
                );
            }
        }
        c.required(self.status.is_some(), "status");
        c.required(self.type_.is_some(), "type");
        c.required(self.patient.is_some(), "patient");
        c.required(self.created.is_some(), "created");
        c.date(self.created.as_ref(), "created");
        c.required(self.insurer.is_some(), "insurer");
        c.required(self.provider.is_some(), "provider");
        c.required(self.outcome.is_some(), "outcome");
        c.required(!self.insurance.is_empty(), "insurance");
        for (i, ins) in self.insurance.iter().enumerate() {
            c.required(ins.focal.is_some(), &format!("insurance[{i}].focal"));
            c.required(ins.coverage.is_some(), &format!("insurance[{i}].coverage"));
        }
        if self.pre_auth_ref_period.len() > 1 {
            c.push(
                "preAuthRefPeriod",
                IssueKind::Invalid,
                "preAuthRefPeriod allows at most one period in pdex-priorauthorization".to_owned(),
            );
        }
        for (i, p) in self.pre_auth_ref_period.iter().enumerate() {
            c.date(p.start.as_ref(), &format!("preAuthRefPeriod[{i}].start"));
            c.date(p.end.as_ref(), &format!("preAuthRefPeriod[{i}].end"));
        }
        for (i, item) in self.item.iter().enumerate() {
            let p = format!("item[{i}]");
            c.required(item.sequence.is_some(), &format!("{p}.sequence"));
            c.required(
                item.product_or_service.is_some(),
                &format!("{p}.productOrService"),
            );
            pdex_adjudication(c, &item.adjudication, &format!("{p}.adjudication"));
        }
        pdex_adjudication(c, &self.adjudication, "adjudication");
        for (i, t) in self.total.iter().enumerate() {
            c.required(t.category.is_some(), &format!("total[{i}].category"));
            c.money(t.amount.as_ref(), &format!("total[{i}].amount"));
        }
    }

    fn check_items(&self, c: &mut Check<'_>, kind: EobKind, financial: bool) {
        c.required(!self.item.is_empty(), "item");
        for (i, item) in self.item.iter().enumerate() {
            let p = format!("item[{i}]");
            c.required(item.sequence.is_some(), &format!("{p}.sequence"));
            c.required(
                item.product_or_service.is_some(),
                &format!("{p}.productOrService"),
            );
            match &item.serviced {
                Some(Serviced::Date(d)) => c.date(Some(d), &format!("{p}.servicedDate")),
                Some(Serviced::Period(per)) => {
                    c.date(per.start.as_ref(), &format!("{p}.servicedPeriod.start"));
                    c.date(per.end.as_ref(), &format!("{p}.servicedPeriod.end"));
                }
                None => {}
            }
            let needs_serviced = matches!(
                kind,
                EobKind::OutpatientInstitutional
                    | EobKind::Pharmacy
                    | EobKind::ProfessionalNonClinician
                    | EobKind::Oral
            );
            if needs_serviced {
                c.required(item.serviced.is_some(), &format!("{p}.serviced[x]"));
            }
            if matches!(kind, EobKind::ProfessionalNonClinician | EobKind::Oral) {
                c.required(item.location.is_some(), &format!("{p}.location[x]"));
            }
            if kind == EobKind::InpatientInstitutional {
                c.required(item.revenue.is_some(), &format!("{p}.revenue"));
            }
            if matches!(kind, EobKind::ProfessionalNonClinician | EobKind::Oral) {
                c.required(!item.adjudication.is_empty(), &format!("{p}.adjudication"));
                payment_status_slice(c, &item.adjudication, &format!("{p}.adjudication"));
            }
            if kind == EobKind::Pharmacy && financial {
                c.required(!item.adjudication.is_empty(), &format!("{p}.adjudication"));
            }
            if !financial {
                c.not_allowed(
                    item.net.is_some(),
                    &format!("{p}.net"),
                    "in a non-financial EOB",
                );
                c.not_allowed(
                    item.unit_price.is_some(),
                    &format!("{p}.unitPrice"),
                    "in a non-financial EOB",
                );
            }
            c.money(item.net.as_ref(), &format!("{p}.net"));
            c.money(item.unit_price.as_ref(), &format!("{p}.unitPrice"));
            self.check_adjudication(
                c,
                &item.adjudication,
                &format!("{p}.adjudication"),
                financial,
            );
        }
    }

    fn check_adjudication(
        &self,
        c: &mut Check<'_>,
        lines: &[Adjudication],
        path: &str,
        financial: bool,
    ) {
        for (j, a) in lines.iter().enumerate() {
            let p = format!("{path}[{j}]");
            c.required(a.category.is_some(), &format!("{p}.category"));
            if !financial {
                c.not_allowed(
                    a.amount.is_some(),
                    &format!("{p}.amount"),
                    "in a non-financial EOB",
                );
            }
            c.money(a.amount.as_ref(), &format!("{p}.amount"));
            c.decimal(a.value.as_ref(), &format!("{p}.value"));
        }
    }

    fn check_profile_slices(&self, c: &mut Check<'_>, kind: EobKind) {
        let has_info = |code: &str| {
            self.supporting_info
                .iter()
                .any(|s| has_code(s.category.as_ref(), code))
        };
        let need_info = |codes: &[&str], c: &mut Check<'_>| {
            for code in codes {
                c.required(has_info(code), &format!("supportingInfo:{code}"));
            }
        };
        match kind {
            EobKind::InpatientInstitutional => {
                c.required(self.sub_type.is_some(), "subType");
                need_info(&["admissionperiod"], c);
                c.required(!self.diagnosis.is_empty(), "diagnosis");
            }
            EobKind::OutpatientInstitutional => {
                c.required(self.sub_type.is_some(), "subType");
                c.required(!self.diagnosis.is_empty(), "diagnosis");
            }
            EobKind::Pharmacy => {
                need_info(
                    &["dayssupply", "dawcode", "refillnum", "refillsauthorized"],
                    c,
                );
            }
            EobKind::ProfessionalNonClinician => {
                c.required(!self.diagnosis.is_empty(), "diagnosis");
            }
            EobKind::Oral | EobKind::Unknown => {}
        }
        if kind != EobKind::Unknown {
            c.must_support(has_info("clmrecvddate"), "supportingInfo:clmrecvddate");
        }
    }
}
