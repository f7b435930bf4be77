//! The binding to `fhir-c4bb`: which resource types the fetch layer reads and searches for, and how a
//! response body becomes a resource or a page of search items, with decode errors that name the JSON path.

use std::collections::VecDeque;

use fhir_c4bb::{OperationOutcome, ParseError, Resource};
use url::Url;

use super::search::SearchItem;
use crate::error::{Error, OutcomeIssue, Result, Stage};
use crate::url_policy::redact_url;

/// What a search's included entries and `$everything` carry: any resource, typed where `fhir-c4bb` models it.
pub type Included = Resource;
/// What a payer's warning inside a Bundle is.
pub type Outcome = OperationOutcome;

/// A FHIR resource type the fetch layer can [`read`](super::FhirClient::read) and
/// [`search`](super::FhirClient::search) for: every `fhir-c4bb` resource type, and [`Resource`] itself
/// (any type; used by `$everything`).
pub trait FhirResource: Sized + Send + 'static {
    /// The FHIR `resourceType`, used in URLs (`{base}/{RESOURCE_TYPE}/{id}`).
    const RESOURCE_TYPE: &'static str;

    /// This type, out of a parsed resource; gives the resource back when it is another type.
    fn from_resource(resource: Resource) -> std::result::Result<Self, Resource>;
}

/// One `FhirResource` impl per type of `fhir-c4bb`'s registry, so a type added there is
/// readable and searchable here without an edit.
macro_rules! typed_resource {
    ($($variant:ident => $ty:ty, $as_fn:ident, $into_fn:ident, $doc:literal;)*) => {$(
        impl FhirResource for $ty {
            const RESOURCE_TYPE: &'static str = <$ty>::RESOURCE_TYPE;

            fn from_resource(resource: Resource) -> std::result::Result<Self, Resource> {
                resource.$into_fn()
            }
        }
    )*};
}

fhir_c4bb::with_resource_types!(typed_resource);

/// Any resource type: every resource is a match. `read::<Resource>` is not meaningful (no type in the URL).
impl FhirResource for Resource {
    const RESOURCE_TYPE: &'static str = "Resource";

    fn from_resource(resource: Resource) -> std::result::Result<Self, Resource> {
        Ok(resource)
    }
}

/// One decoded page of a search.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub items: VecDeque<SearchItem<T>>,
    pub next: Option<String>,
    pub self_link: Option<String>,
}

fn decode_error(url: &Url, e: ParseError) -> Error {
    let message = if e.is_syntax() {
        format!("{} (the body is not complete JSON)", e.json_error())
    } else {
        e.json_error().to_string()
    };
    Error::Decode {
        stage: Stage::Fhir,
        url: redact_url(url),
        path: e.path().to_owned(),
        message,
    }
}

fn wrong_type(url: &Url, expected: &str, found: &str) -> Error {
    Error::Decode {
        stage: Stage::Fhir,
        url: redact_url(url),
        path: "resourceType".into(),
        message: format!(
            "expected a {expected}, found {}",
            if found.is_empty() {
                "no resourceType"
            } else {
                found
            }
        ),
    }
}

/// The resource in `body`, which must be of type `T`.
pub(crate) fn decode_resource<T: FhirResource>(body: &[u8], url: &Url) -> Result<T> {
    let resource: Resource = fhir_c4bb::from_slice(body).map_err(|e| decode_error(url, e))?;
    T::from_resource(resource)
        .map_err(|other| wrong_type(url, T::RESOURCE_TYPE, other.resource_type()))
}

/// A page of search results: matches of `T`, included resources and warnings, and the paging links.
///
/// An entry is a warning when its search mode is `outcome` or it is an `OperationOutcome`; included when its
/// mode is `include` or it is of another type than `T`; a match otherwise. Entries without a resource carry
/// nothing to deliver and are skipped.
pub(crate) fn decode_page<T: FhirResource>(body: &[u8], url: &Url) -> Result<Page<T>> {
    let resource: Resource = fhir_c4bb::from_slice(body).map_err(|e| decode_error(url, e))?;
    let bundle = match resource {
        Resource::Bundle(b) => b,
        // Some servers answer a search that found nothing with a bare OperationOutcome and 200.
        Resource::OperationOutcome(o) => {
            return Ok(Page {
                items: VecDeque::from([SearchItem::Warning(o)]),
                next: None,
                self_link: None,
            });
        }
        other => return Err(wrong_type(url, "Bundle", other.resource_type())),
    };
    let next = bundle.link("next").map(str::to_owned);
    let self_link = bundle.link("self").map(str::to_owned);
    let want_outcomes = T::RESOURCE_TYPE == OperationOutcome::RESOURCE_TYPE;
    let items = bundle
        .entry
        .into_iter()
        .filter_map(|entry| {
            let mode = entry.search.and_then(|s| s.mode);
            let resource = entry.resource?;
            Some(match (mode.as_deref(), resource) {
                (Some("outcome"), Resource::OperationOutcome(o)) => SearchItem::Warning(o),
                (_, Resource::OperationOutcome(o)) if !want_outcomes => SearchItem::Warning(o),
                (Some("include"), r) => SearchItem::Included(r),
                (_, r) => match T::from_resource(r) {
                    Ok(t) => SearchItem::Match(t),
                    Err(other) => SearchItem::Included(other),
                },
            })
        })
        .collect();
    Ok(Page {
        items,
        next,
        self_link,
    })
}

/// Bodies at least this large are decoded on tokio's blocking pool. A typed decode runs at 300-550 MB/s, so
/// 256 KiB holds a worker for 0.5-0.8 ms, long enough to delay every other task on it (and, through tokio's
/// LIFO slot, even the read-ahead this stream has just spawned). Smaller pages are decoded in place: handing
/// them to another thread costs more than it frees (with 136 KB pages on 2 cores, moving them off the workers
/// cost the 200-member benchmark about 4 points of throughput).
const OFF_WORKER_BYTES: usize = 256 * 1024;

/// [`decode_page`], on the blocking pool when the body is large (see [`OFF_WORKER_BYTES`]). Gives `url` back.
pub(crate) async fn decode_page_off_worker<T: FhirResource>(
    body: Vec<u8>,
    url: Url,
) -> Result<(Page<T>, Url)> {
    if body.len() < OFF_WORKER_BYTES {
        return decode_page(&body, &url).map(|page| (page, url));
    }
    let safe_url = redact_url(&url);
    let task = tokio::task::spawn_blocking(move || {
        let page = decode_page(&body, &url);
        drop(body);
        page.map(|page| (page, url))
    });
    match task.await {
        Ok(decoded) => decoded,
        // The decoder does not panic on any input (fhir-c4bb bounds its depth): the runtime is shutting down.
        Err(e) => Err(Error::Transport {
            stage: Stage::Fhir,
            url: safe_url,
            kind: crate::TransportKind::Other,
            source: Some(Box::new(e)),
        }),
    }
}

/// The issues of an `OperationOutcome` body, or `None` when `body` is not one.
pub(crate) fn outcome_issues(body: &[u8]) -> Option<Vec<OutcomeIssue>> {
    let Ok(Resource::OperationOutcome(outcome)) = fhir_c4bb::from_slice::<Resource>(body) else {
        return None;
    };
    Some(
        outcome
            .issue
            .iter()
            .map(|i| {
                OutcomeIssue::new(
                    i.severity.as_deref().unwrap_or("unknown"),
                    i.code.as_deref().unwrap_or("unknown"),
                    i.diagnostics
                        .clone()
                        .or_else(|| i.details.as_ref().and_then(|d| d.text.clone())),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use fhir_c4bb::ExplanationOfBenefit;

    fn url() -> Url {
        Url::parse("https://payer.example/fhir/ExplanationOfBenefit?patient=1").unwrap()
    }

    /// A 6 MB page of two million `{}` entries (a 32 KB gzip) is a decode error on the page
    /// path, found within fhir-c4bb's memory budget, not gigabytes of empty entries.
    #[tokio::test]
    async fn a_page_built_to_exhaust_memory_is_a_decode_error() {
        let mut body = String::from(r#"{"resourceType":"Bundle","type":"searchset","entry":["#);
        body.push_str(&"{},".repeat(2_000_000));
        body.push_str("{}]}");
        let err = decode_page_off_worker::<ExplanationOfBenefit>(body.into_bytes(), url())
            .await
            .map(|_| ())
            .unwrap_err();
        match err {
            Error::Decode { message, .. } => {
                assert!(message.contains("memory budget exceeded"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A match whose 0..1 element came as an array is delivered, its value kept as sent.
    #[test]
    fn a_page_with_a_mismatched_element_still_delivers_the_match() {
        let body = br#"{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"ExplanationOfBenefit","id":"e1","billablePeriod":[{"start":"2024-01-01"}]}}]}"#;
        let page = decode_page::<ExplanationOfBenefit>(body, &url()).unwrap();
        let Some(SearchItem::Match(eob)) = page.items.front() else {
            panic!("no match");
        };
        assert_eq!(eob.id.as_deref(), Some("e1"));
        assert!(eob.billable_period.is_none());
        assert!(eob.extra.get("billablePeriod").is_some());
    }
}
