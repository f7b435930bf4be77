//! What a search asks for ([`SearchParams`], [`EobQuery`]) and what it yields ([`SearchItem`]).

use fhir_c4bb::ExplanationOfBenefit;

use super::model::{Included, Outcome};
use crate::adapter::PriorAuthSearch;

/// One item of a search stream: a resource the search matched, one it pulled in with `_include`, or a warning
/// the server put in the Bundle.
///
/// A warning is an `OperationOutcome` entry inside a successful Bundle (for example "some claims before 2020
/// are not available"). It is data the member's app should show or log, so it is never dropped.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SearchItem<T> {
    /// A resource of the searched type.
    Match(T),
    /// A resource included by `_include`/`_revinclude` (search mode `include`), or any other resource type the
    /// Bundle carried alongside the matches.
    Included(Included),
    /// An `OperationOutcome` the server put in the Bundle (search mode `outcome`).
    Warning(Box<Outcome>),
}

impl<T> SearchItem<T> {
    /// The matched resource, if this is one.
    pub fn into_match(self) -> Option<T> {
        match self {
            SearchItem::Match(t) => Some(t),
            _ => None,
        }
    }

    /// True for [`SearchItem::Warning`].
    pub fn is_warning(&self) -> bool {
        matches!(self, SearchItem::Warning(_))
    }
}

/// Everything one search returned, sorted by kind (see [`SearchStream::collect_all`](super::SearchStream::collect_all)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SearchResults<T> {
    /// The resources of the searched type, in server order.
    pub matches: Vec<T>,
    /// Resources pulled in by `_include`, in server order.
    pub included: Vec<Included>,
    /// `OperationOutcome`s the server put in the Bundles.
    pub warnings: Vec<Outcome>,
}

impl<T> SearchResults<T> {
    /// The included resource a reference in a match points to (`Organization/1`, or an absolute URL ending in
    /// it), e.g. an EOB's `provider` after `_include=ExplanationOfBenefit:provider`. References to contained
    /// resources (`#id`) are resolved by the resource that contains them
    /// ([`ExplanationOfBenefit::resolve_contained`](fhir_c4bb::ExplanationOfBenefit::resolve_contained)).
    pub fn resolve(&self, reference: &fhir_c4bb::Reference) -> Option<&Included> {
        let (ty, id) = reference.target()?;
        self.included
            .iter()
            .find(|r| r.resource_type() == ty && r.id() == Some(id))
    }
}

impl<T> Default for SearchResults<T> {
    fn default() -> Self {
        Self {
            matches: Vec::new(),
            included: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// Query parameters of a FHIR search, in order, repeated names allowed.
///
/// `_count` is kept apart so that it can be clamped to the payer's
/// [`max_page_size`](crate::PayerAdapter::max_page_size).
///
/// ```
/// use smart_core::fhir::SearchParams;
/// let p = SearchParams::new()
///     .param("patient", "123")
///     .param("category", "laboratory")
///     .count(100);
/// assert_eq!(p.pairs().len(), 2);
/// assert_eq!(p.page_size(), Some(100));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchParams {
    pairs: Vec<(String, String)>,
    count: Option<u32>,
}

impl SearchParams {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name=value` (a repeated name is sent repeatedly: `date=ge2020&date=lt2021`).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        if name == "_count" {
            if let Ok(n) = value.into().trim().parse() {
                self.count = Some(n);
            }
            return self;
        }
        self.pairs.push((name, value.into()));
        self
    }

    /// Asks for pages of `n` resources (`_count`), clamped to the payer's maximum when it has one.
    pub fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// The parameters other than `_count`, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The requested page size, before clamping.
    pub fn page_size(&self) -> Option<u32> {
        self.count
    }

    /// Appends these parameters to `url`'s query, with `_count` clamped to `max_page_size`.
    pub(crate) fn apply(&self, url: &mut url::Url, max_page_size: Option<u32>) {
        let count = match (self.count, max_page_size) {
            (Some(c), Some(max)) => Some(c.clamp(1, max)),
            (Some(c), None) => Some(c.max(1)),
            (None, _) => None,
        };
        if self.pairs.is_empty() && count.is_none() {
            return;
        }
        let mut q = url.query_pairs_mut();
        for (k, v) in &self.pairs {
            q.append_pair(k, v);
        }
        if let Some(c) = count {
            q.append_pair("_count", &c.to_string());
        }
    }
}

/// The search parameter that scopes a search of each Patient-compartment type to one member, the one table
/// the fetch layer uses (FHIR R4's Patient CompartmentDefinition, as US Core and CARIN BB search them).
///
/// `patient` takes the bare id (`patient=123`), `beneficiary` (Coverage) a reference (`Patient/123`), and
/// `Patient` itself is searched by `_id`. Coverage follows the adapter instead where it says so
/// ([`CoverageSearch`](crate::CoverageSearch)).
const PATIENT_PARAMETERS: &[(&str, &str)] = &[
    ("AllergyIntolerance", "patient"),
    ("CarePlan", "patient"),
    ("CareTeam", "patient"),
    ("Claim", "patient"),
    ("ClaimResponse", "patient"),
    ("Composition", "patient"),
    ("Condition", "patient"),
    ("Coverage", "beneficiary"),
    ("Device", "patient"),
    ("DiagnosticReport", "patient"),
    ("DocumentReference", "patient"),
    ("Encounter", "patient"),
    ("ExplanationOfBenefit", "patient"),
    ("FamilyMemberHistory", "patient"),
    ("Goal", "patient"),
    ("Immunization", "patient"),
    ("List", "patient"),
    ("Media", "patient"),
    ("MedicationAdministration", "patient"),
    ("MedicationDispense", "patient"),
    ("MedicationRequest", "patient"),
    ("MedicationStatement", "patient"),
    ("Observation", "patient"),
    ("Patient", "_id"),
    ("Procedure", "patient"),
    ("Provenance", "patient"),
    ("QuestionnaireResponse", "patient"),
    ("RelatedPerson", "patient"),
    ("ServiceRequest", "patient"),
    ("Specimen", "patient"),
];

/// The search parameter that finds one member's resources of `resource_type` (`patient` for Observation,
/// `beneficiary` for Coverage, `_id` for Patient), or `None` for types outside the Patient compartment
/// (Organization, Practitioner, PractitionerRole, Location, Medication, Endpoint): those are read where the
/// member's resources reference them.
///
/// ```
/// use smart_core::fhir::patient_search_parameter;
/// assert_eq!(patient_search_parameter("Observation"), Some("patient"));
/// assert_eq!(patient_search_parameter("Coverage"), Some("beneficiary"));
/// assert_eq!(patient_search_parameter("Medication"), None);
/// ```
pub fn patient_search_parameter(resource_type: &str) -> Option<&'static str> {
    PATIENT_PARAMETERS
        .binary_search_by(|(name, _)| (*name).cmp(resource_type))
        .ok()
        .and_then(|i| PATIENT_PARAMETERS.get(i))
        .map(|(_, param)| *param)
}

/// The value of a member's patient search parameter: a reference for `beneficiary`, the bare id otherwise.
pub(crate) fn patient_search_value(parameter: &str, patient_id: &str) -> String {
    match parameter {
        "beneficiary" => format!("Patient/{patient_id}"),
        _ => patient_id.to_owned(),
    }
}

/// Whether `name` can be a FHIR resource type: `[A-Z][A-Za-z]+`, at most 64 characters. Safe as a URL path
/// segment and as a file name.
///
/// ```
/// use smart_core::fhir::is_resource_type_name;
/// assert!(is_resource_type_name("MedicationRequest"));
/// assert!(!is_resource_type_name("../Patient"));
/// assert!(!is_resource_type_name("observation"));
/// ```
pub fn is_resource_type_name(name: &str) -> bool {
    name.len() >= 2
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphabetic())
}

/// Which kinds of ExplanationOfBenefit an [`EobQuery`] reads: claims, prior authorizations (`use =
/// preauthorization`, see [`fhir_c4bb::prior_auth`]), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum EobScope {
    /// Every EOB the payer serves, claims and prior authorizations alike (the default).
    #[default]
    All,
    /// Claims only: prior authorizations are left out.
    ClaimsOnly,
    /// Prior authorizations only.
    PriorAuthorizationsOnly,
}

impl EobScope {
    /// Whether an EOB belongs in this scope (decided by its `use`).
    pub fn admits(self, eob: &ExplanationOfBenefit) -> bool {
        match self {
            EobScope::All => true,
            EobScope::ClaimsOnly => !eob.is_prior_authorization(),
            EobScope::PriorAuthorizationsOnly => eob.is_prior_authorization(),
        }
    }

    /// Whether a search in this scope may yield prior authorizations.
    pub fn includes_prior_authorizations(self) -> bool {
        self != EobScope::ClaimsOnly
    }
}

/// Which of the member's ExplanationOfBenefit resources to read. Every filter is optional; the default reads
/// them all, prior authorizations included ([`claims_only`](Self::claims_only) leaves them out).
///
/// Values are FHIR search values, prefixes included, so that any range the payer supports can be expressed.
///
/// ```
/// use smart_core::fhir::EobQuery;
/// // Claims updated since the last sync, professional ones only, 50 per page, with their providers.
/// let q = EobQuery::new()
///     .last_updated("gt2024-06-01T00:00:00Z")
///     .claim_type("professional")
///     .count(50)
///     .include("ExplanationOfBenefit:provider");
/// # let _ = q;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EobQuery {
    last_updated: Vec<String>,
    types: Vec<String>,
    service_date: Vec<String>,
    includes: Vec<String>,
    count: Option<u32>,
    scope: EobScope,
}

impl EobQuery {
    /// All of the member's claims.
    pub fn new() -> Self {
        Self::default()
    }

    /// `_lastUpdated` (e.g. `ge2024-01-01`); call twice for a range. The usual incremental sync filter.
    pub fn last_updated(mut self, value: impl Into<String>) -> Self {
        self.last_updated.push(value.into());
        self
    }

    /// `type`: the claim type code (`institutional`, `oral`, `pharmacy`, `professional`, `vision`), optionally
    /// as `system|code`. Calling it again asks for any of the given types.
    pub fn claim_type(mut self, value: impl Into<String>) -> Self {
        self.types.push(value.into());
        self
    }

    /// `service-date` (e.g. `ge2023-01-01`); call twice for a range.
    pub fn service_date(mut self, value: impl Into<String>) -> Self {
        self.service_date.push(value.into());
        self
    }

    /// `_include` (e.g. `ExplanationOfBenefit:patient`, `ExplanationOfBenefit:provider`, or `*`); the included
    /// resources arrive as [`SearchItem::Included`].
    pub fn include(mut self, value: impl Into<String>) -> Self {
        self.includes.push(value.into());
        self
    }

    /// Page size (`_count`), clamped to the payer's maximum when it has one.
    pub fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// Claims only: prior authorizations (`use = preauthorization`) are left out of the stream, filtered by
    /// the server where the adapter says it can ([`PriorAuthSearch::UseParameter`]) and by the SDK always.
    ///
    /// ```
    /// use smart_core::fhir::{EobQuery, EobScope};
    /// assert_eq!(EobQuery::new().claims_only().scope(), EobScope::ClaimsOnly);
    /// assert!(EobQuery::new().scope().includes_prior_authorizations());
    /// ```
    pub fn claims_only(self) -> Self {
        self.with_scope(EobScope::ClaimsOnly)
    }

    /// Prior authorizations only (what [`FhirClient::prior_authorizations`](super::FhirClient::prior_authorizations)
    /// asks for).
    pub fn prior_authorizations_only(self) -> Self {
        self.with_scope(EobScope::PriorAuthorizationsOnly)
    }

    /// Sets which kinds of EOB to read.
    pub fn with_scope(mut self, scope: EobScope) -> Self {
        self.scope = scope;
        self
    }

    /// Which kinds of EOB this query reads.
    pub fn scope(&self) -> EobScope {
        self.scope
    }

    /// The search parameters for patient `patient_id`, with the scope expressed the way the payer supports.
    pub(crate) fn to_params(&self, patient_id: &str, how: PriorAuthSearch) -> SearchParams {
        let mut p = SearchParams::new().param("patient", patient_id);
        match (self.scope, how) {
            (EobScope::PriorAuthorizationsOnly, PriorAuthSearch::UseParameter) => {
                p = p.param("use", "preauthorization");
            }
            (EobScope::ClaimsOnly, PriorAuthSearch::UseParameter) => p = p.param("use", "claim"),
            (EobScope::PriorAuthorizationsOnly, PriorAuthSearch::Profile) => {
                p = p.param("_profile", fhir_c4bb::prior_auth::PDEX_PRIOR_AUTH_PROFILE);
            }
            _ => {}
        }
        for v in &self.last_updated {
            p = p.param("_lastUpdated", v);
        }
        if !self.types.is_empty() {
            p = p.param("type", self.types.join(","));
        }
        for v in &self.service_date {
            p = p.param("service-date", v);
        }
        for v in &self.includes {
            p = p.param("_include", v);
        }
        if let Some(c) = self.count {
            p = p.count(c);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eob_query_becomes_search_parameters_with_clamped_count() {
        let q = EobQuery::new()
            .last_updated("ge2024-01-01")
            .last_updated("lt2025-01-01")
            .claim_type("professional")
            .claim_type("pharmacy")
            .service_date("ge2023-01-01")
            .include("ExplanationOfBenefit:provider")
            .count(500);
        let mut url = url::Url::parse("https://fhir.example/r4/ExplanationOfBenefit").unwrap();
        q.to_params("p 1&x", PriorAuthSearch::FilterClientSide)
            .apply(&mut url, Some(50));
        let got: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let want: Vec<(String, String)> = [
            ("patient", "p 1&x"),
            ("_lastUpdated", "ge2024-01-01"),
            ("_lastUpdated", "lt2025-01-01"),
            ("type", "professional,pharmacy"),
            ("service-date", "ge2023-01-01"),
            ("_include", "ExplanationOfBenefit:provider"),
            ("_count", "50"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn the_scope_becomes_a_server_filter_only_where_the_payer_has_one() {
        let query = |q: EobQuery, how| {
            let mut url = url::Url::parse("https://fhir.example/r4/ExplanationOfBenefit").unwrap();
            q.to_params("p1", how).apply(&mut url, None);
            url.query().unwrap_or_default().to_owned()
        };
        let pa = EobQuery::new().prior_authorizations_only();
        let claims = EobQuery::new().claims_only();
        assert_eq!(
            query(pa.clone(), PriorAuthSearch::FilterClientSide),
            "patient=p1"
        );
        assert_eq!(
            query(claims.clone(), PriorAuthSearch::FilterClientSide),
            "patient=p1"
        );
        assert_eq!(
            query(pa.clone(), PriorAuthSearch::UseParameter),
            "patient=p1&use=preauthorization"
        );
        assert_eq!(
            query(claims.clone(), PriorAuthSearch::UseParameter),
            "patient=p1&use=claim"
        );
        assert_eq!(
            query(pa, PriorAuthSearch::Profile),
            "patient=p1&_profile=http%3A%2F%2Fhl7.org%2Ffhir%2Fus%2Fdavinci-pdex%2FStructureDefinition%2Fpdex-priorauthorization"
        );
        assert_eq!(query(claims, PriorAuthSearch::Profile), "patient=p1");
        assert_eq!(
            query(EobQuery::new(), PriorAuthSearch::UseParameter),
            "patient=p1"
        );
    }

    #[test]
    fn the_patient_parameter_table_is_sorted_and_answers_every_entry() {
        // binary_search needs the order; a type added out of order would silently become unscoped.
        assert!(PATIENT_PARAMETERS.windows(2).all(|w| w[0].0 < w[1].0));
        for (name, param) in PATIENT_PARAMETERS {
            assert_eq!(patient_search_parameter(name), Some(*param), "{name}");
            assert!(is_resource_type_name(name), "{name}");
        }
        assert_eq!(patient_search_parameter("Organization"), None);
        assert_eq!(patient_search_value("beneficiary", "p1"), "Patient/p1");
        assert_eq!(patient_search_value("patient", "p1"), "p1");
    }

    #[test]
    fn a_type_name_is_letters_only_and_capitalised() {
        for bad in [
            "",
            "A",
            "observation",
            "Obs/ervation",
            "Obs%2F",
            "Observation1",
            "..",
            "Ob servation",
        ] {
            assert!(!is_resource_type_name(bad), "{bad:?}");
        }
        assert!(!is_resource_type_name(&"A".repeat(65)));
        assert!(is_resource_type_name("AllergyIntolerance"));
    }

    #[test]
    fn count_passed_as_a_param_is_still_clamped() {
        let mut url = url::Url::parse("https://fhir.example/r4/Coverage").unwrap();
        SearchParams::new()
            .param("_count", "1000")
            .apply(&mut url, Some(10));
        assert_eq!(url.query(), Some("_count=10"));
        let mut url = url::Url::parse("https://fhir.example/r4/Coverage").unwrap();
        SearchParams::new().apply(&mut url, Some(10));
        assert_eq!(url.query(), None, "no query when nothing is asked");
    }
}
