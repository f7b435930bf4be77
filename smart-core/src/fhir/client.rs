//! `FhirClient`: one member's reads and searches against a payer's FHIR server.

use std::sync::Arc;

use fhir_c4bb::{CapabilityStatement, Coverage, ExplanationOfBenefit, Patient, Resource};

use super::model::{FhirResource, decode_error, decode_resource, wrong_type};
use super::paging::{SearchStream, Start};
use super::pool::FhirClientBuilder;
use super::search::{
    EobQuery, SearchItem, SearchParams, is_resource_type_name, patient_search_parameter,
    patient_search_value,
};
use super::transport::Transport;
use crate::adapter::{CoverageSearch, PayerAdapter};
use crate::error::{Error, Result};
use crate::token_source::TokenSource;

/// Reads one member's data from the payer's FHIR server, typed by `fhir-c4bb`.
///
/// Bound to the adapter's [`fhir_base`](PayerAdapter::fhir_base) and to a [`TokenSource`]; every request
/// carries a fresh access token, refreshed shortly before it expires and once after a 401. Cloning is cheap
/// (two `Arc`s); clones share the connection pool and concurrency cap (see [`FhirPool`](super::FhirPool)).
///
/// ```no_run
/// # async fn run(adapter: std::sync::Arc<dyn smart_core::PayerAdapter>,
/// #              session: std::sync::Arc<dyn smart_core::TokenSource>) -> smart_core::Result<()> {
/// use futures::TryStreamExt;
/// use smart_core::fhir::{EobQuery, FhirClient};
///
/// let client = FhirClient::builder(adapter).token_source(session).build()?;
/// let patient = client.patient().await?;
/// let coverage: Vec<_> = client.coverage().matches().try_collect().await?;
/// let claims = client
///     .explanation_of_benefits(EobQuery::new().last_updated("ge2024-01-01"))
///     .collect_all()
///     .await?;
/// println!("{:?}: {} coverages, {} claims, {} warnings",
///     patient.id, coverage.len(), claims.matches.len(), claims.warnings.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FhirClient {
    pub(crate) transport: Arc<Transport>,
    pub(crate) tokens: Arc<dyn TokenSource>,
}

impl std::fmt::Debug for FhirClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FhirClient")
            .field("payer", &self.transport.adapter.id())
            .field("fhir_base", &self.transport.base.as_str())
            .finish_non_exhaustive()
    }
}

impl FhirClient {
    /// Starts building a client for `adapter`'s FHIR server (see [`FhirClientBuilder`]).
    pub fn builder(adapter: Arc<dyn PayerAdapter>) -> FhirClientBuilder {
        FhirClientBuilder::new(adapter)
    }

    pub(crate) fn from_parts(transport: Arc<Transport>, tokens: Arc<dyn TokenSource>) -> Self {
        Self { transport, tokens }
    }

    /// The adapter this client talks to.
    pub fn adapter(&self) -> &Arc<dyn PayerAdapter> {
        &self.transport.adapter
    }

    /// The member's FHIR Patient id, from the current tokens. Fails with [`Error::MissingPatient`] when the
    /// tokens name none.
    pub async fn patient_id(&self) -> Result<String> {
        let tokens = self.tokens.current().await?;
        tokens
            .patient()
            .filter(|p| !p.trim().is_empty())
            .map(str::to_owned)
            .ok_or(Error::MissingPatient)
    }

    /// The member's `Patient` resource.
    pub async fn patient(&self) -> Result<Patient> {
        let id = self.patient_id().await?;
        self.read::<Patient>(&id).await
    }

    /// The member's `Coverage` resources: `beneficiary=Patient/{id}`, or `patient={id}` where the adapter says
    /// [`CoverageSearch::Patient`].
    pub fn coverage(&self) -> SearchStream<Coverage> {
        let how = self.transport.adapter.coverage_search();
        self.search_for_patient(move |id| match how {
            CoverageSearch::Patient => SearchParams::new().param("patient", id),
            _ => SearchParams::new().param("beneficiary", format!("Patient/{id}")),
        })
    }

    /// The member's `ExplanationOfBenefit` resources (`patient={id}` plus the query's filters).
    ///
    /// By default the stream carries prior authorizations too (they are EOBs with `use = preauthorization`);
    /// [`SearchStream::includes_prior_authorizations`] says whether it may, and
    /// [`EobQuery::claims_only`] leaves them out. Matches outside the query's [`scope`](EobQuery::scope) are
    /// dropped as the pages stream in, whatever the server did with the search.
    pub fn explanation_of_benefits(&self, query: EobQuery) -> SearchStream<ExplanationOfBenefit> {
        let scope = query.scope();
        let how = self.transport.adapter.prior_auth_search();
        self.search_for_patient(move |id| query.to_params(id, how))
            .retain_matches(move |eob| scope.admits(eob))
            .with_prior_authorizations(scope.includes_prior_authorizations())
    }

    /// The member's prior authorizations (Da Vinci PDex: EOBs with `use = preauthorization`), as a stream.
    ///
    /// Asked the way the adapter says the payer supports ([`PayerAdapter::prior_auth_search`]: by default a
    /// patient EOB search filtered on `use` in the SDK, page by page, never collecting the whole history;
    /// `use=preauthorization` or `_profile` where the payer offers them). Read each one with
    /// [`ExplanationOfBenefit::prior_authorization`].
    ///
    /// ```no_run
    /// # async fn run(client: smart_core::fhir::FhirClient) -> smart_core::Result<()> {
    /// use futures::TryStreamExt;
    /// let mut auths = client.prior_authorizations();
    /// while let Some(item) = auths.try_next().await? {
    ///     if let Some(pa) = item.into_match().as_ref().and_then(|eob| eob.prior_authorization()) {
    ///         println!("{:?}: {}", pa.authorization_number(), pa.status());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn prior_authorizations(&self) -> SearchStream<ExplanationOfBenefit> {
        self.explanation_of_benefits(EobQuery::new().prior_authorizations_only())
    }

    /// Reads `{base}/{T::RESOURCE_TYPE}/{id}`.
    ///
    /// ```no_run
    /// # async fn run(client: smart_core::fhir::FhirClient) -> smart_core::Result<()> {
    /// let coverage: fhir_c4bb::Coverage = client.read("cov-1").await?;
    /// # let _ = coverage; Ok(()) }
    /// ```
    pub async fn read<T: FhirResource>(&self, id: &str) -> Result<T> {
        let url = self.transport.url_for(&[T::RESOURCE_TYPE, id])?;
        let received = self.transport.get(&url, self.tokens.as_ref()).await?;
        decode_resource(&received.body, &url)
    }

    /// Searches `{base}/{T::RESOURCE_TYPE}?{params}`, following every page.
    ///
    /// ```no_run
    /// # async fn run(client: smart_core::fhir::FhirClient) -> smart_core::Result<()> {
    /// use smart_core::fhir::SearchParams;
    /// let id = client.patient_id().await?;
    /// let orgs = client
    ///     .search::<fhir_c4bb::Organization>(SearchParams::new().param("_id", "org-1,org-2"))
    ///     .collect_all()
    ///     .await?;
    /// # let _ = (id, orgs); Ok(()) }
    /// ```
    pub fn search<T: FhirResource>(&self, params: SearchParams) -> SearchStream<T> {
        match self.transport.url_for(&[T::RESOURCE_TYPE]) {
            Ok(mut url) => {
                params.apply(&mut url, self.transport.adapter.max_page_size());
                SearchStream::new(self.clone(), Start::Url(url))
            }
            Err(e) => SearchStream::failed(e),
        }
    }

    /// Reads `{base}/{name}/{id}` for a type known only at run time (from the payer's CapabilityStatement or
    /// its adapter's list), typed where `fhir-c4bb` models `name`, raw JSON ([`Resource::Other`]) otherwise.
    ///
    /// Fails with [`Error::InvalidResourceType`] unless `name` is a FHIR type name (`[A-Z][A-Za-z]+`), before
    /// any request; with [`Error::Decode`] (path `resourceType`) when the server answers with another type.
    ///
    /// ```no_run
    /// # async fn run(client: smart_core::fhir::FhirClient) -> smart_core::Result<()> {
    /// let location = client.read_type("Location", "loc-1").await?;
    /// assert_eq!(location.resource_type(), "Location");
    /// # Ok(()) }
    /// ```
    pub async fn read_type(&self, name: &str, id: &str) -> Result<Resource> {
        check_type_name(name)?;
        let url = self.transport.url_for(&[name, id])?;
        let received = self.transport.get(&url, self.tokens.as_ref()).await?;
        let resource: Resource = decode_resource(&received.body, &url)?;
        if resource.resource_type() != name {
            return Err(wrong_type(&url, name, resource.resource_type()));
        }
        Ok(resource)
    }

    /// Searches the member's resources of a type known only at run time: `{base}/{name}?{patient}&{params}`,
    /// every page, with the same paging, retries, page-size clamp and payer quirks as the typed searches.
    ///
    /// For a type in the Patient compartment the member's patient parameter is added from one table
    /// ([`patient_search_parameter`]: `patient={id}` for Observation, `beneficiary=Patient/{id}` for
    /// Coverage, or `patient={id}` where the adapter says [`CoverageSearch::Patient`]), unless `params`
    /// already sets it. Other types (Organization, Location, Medication, ...) are searched with `params` as
    /// given. Matches are the resources of type `name` (typed where `fhir-c4bb` models it); any other
    /// resource in the Bundle is [`SearchItem::Included`], an `OperationOutcome` a warning.
    ///
    /// An invalid `name` (not `[A-Z][A-Za-z]+`) makes a stream that fails at once with
    /// [`Error::InvalidResourceType`], without a request.
    ///
    /// ```no_run
    /// # async fn run(client: smart_core::fhir::FhirClient) -> smart_core::Result<()> {
    /// use smart_core::fhir::SearchParams;
    /// let labs = client
    ///     .search_type("Observation", SearchParams::new().param("category", "laboratory"))
    ///     .collect_all()
    ///     .await?;
    /// for lab in &labs.matches {
    ///     println!("{} {:?}", lab.resource_type(), lab.id());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn search_type(&self, name: &str, params: SearchParams) -> SearchStream<Resource> {
        if let Err(e) = check_type_name(name) {
            return SearchStream::failed(e);
        }
        let owned = name.to_owned();
        let parameter = match (name, self.transport.adapter.coverage_search()) {
            ("Coverage", CoverageSearch::Patient) => Some("patient"),
            _ => patient_search_parameter(name),
        }
        .filter(|p| !params.pairs().iter().any(|(k, _)| k == p));
        let stream: SearchStream<Resource> = match parameter {
            Some(parameter) => {
                let segment = owned.clone();
                SearchStream::new(
                    self.clone(),
                    Start::ForPatient(Box::new(move |client, id| {
                        let mut url = client.transport.url_for(&[&segment])?;
                        let mut scoped = SearchParams::new()
                            .param(parameter, patient_search_value(parameter, id));
                        for (k, v) in params.pairs() {
                            scoped = scoped.param(k.clone(), v.clone());
                        }
                        if let Some(n) = params.page_size() {
                            scoped = scoped.count(n);
                        }
                        scoped.apply(&mut url, client.transport.adapter.max_page_size());
                        Ok(url)
                    })),
                )
            }
            None => match self.transport.url_for(&[name]) {
                Ok(mut url) => {
                    params.apply(&mut url, self.transport.adapter.max_page_size());
                    SearchStream::new(self.clone(), Start::Url(url))
                }
                Err(e) => return SearchStream::failed(e),
            },
        };
        let eob = name == ExplanationOfBenefit::RESOURCE_TYPE;
        stream
            .map_items(move |item| match item {
                SearchItem::Match(r) if r.resource_type() != owned => SearchItem::Included(r),
                other => other,
            })
            .with_prior_authorizations(eob)
    }

    /// The payer's CapabilityStatement (`GET {base}/metadata`), fetched **without** the bearer token (servers
    /// serve it to anyone, and it needs no member): which types it serves, their interactions and search
    /// parameters. Same origin checks, retries and size limit as every other request.
    ///
    /// ```no_run
    /// # async fn run(client: smart_core::fhir::FhirClient) -> smart_core::Result<()> {
    /// let capabilities = client.capabilities().await?;
    /// for ty in capabilities.searchable_types() {
    ///     let params: Vec<_> = capabilities.resource(ty).into_iter().flat_map(|r| r.search_param_names()).collect();
    ///     println!("{ty}: {}", params.join(", "));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn capabilities(&self) -> Result<CapabilityStatement> {
        let url = self.transport.url_for(&["metadata"])?;
        let received = self.transport.get_anonymous(&url).await?;
        fhir_c4bb::from_slice(&received.body).map_err(|e| decode_error(&url, e))
    }

    /// `Patient/{id}/$everything`: every resource the payer holds for the member, as
    /// [`SearchItem::Match`](super::SearchItem::Match)es (warnings still arrive as warnings).
    ///
    /// Fails with [`Error::Unsupported`] where the adapter says the payer does not support it
    /// ([`PayerAdapter::supports_everything`]).
    pub fn everything(&self) -> Result<SearchStream<Resource>> {
        let adapter = &self.transport.adapter;
        if !adapter.supports_everything() {
            return Err(Error::Unsupported {
                payer: adapter.id().to_owned(),
                operation: "Patient/$everything".to_owned(),
            });
        }
        Ok(SearchStream::new(
            self.clone(),
            Start::ForPatient(Box::new(|client, id| {
                client.transport.url_for(&["Patient", id, "$everything"])
            })),
        ))
    }

    fn search_for_patient<T: FhirResource>(
        &self,
        params: impl FnOnce(&str) -> SearchParams + Send + 'static,
    ) -> SearchStream<T> {
        SearchStream::new(
            self.clone(),
            Start::ForPatient(Box::new(move |client, id| {
                let mut url = client.transport.url_for(&[T::RESOURCE_TYPE])?;
                params(id).apply(&mut url, client.transport.adapter.max_page_size());
                Ok(url)
            })),
        )
    }
}

/// Fails unless `name` is a FHIR type name (see [`is_resource_type_name`]).
fn check_type_name(name: &str) -> Result<()> {
    if is_resource_type_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidResourceType {
            name: name.chars().take(64).collect(),
            reason: "is not a FHIR resource type name ([A-Z][A-Za-z]+)",
        })
    }
}
