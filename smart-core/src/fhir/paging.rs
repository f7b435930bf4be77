//! A search as a stream: one page in memory at a time, `next` links followed verbatim but only to origins the
//! token may go to, and loops and runaway paging ended with a typed error.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{BoxStream, Stream, StreamExt, TryStreamExt};
use url::Url;

use super::client::FhirClient;
use super::model::{FhirResource, Page, decode_page};
use super::search::{SearchItem, SearchResults};
use crate::error::{Error, Result};
use crate::url_policy::redact_url;

/// Where a search starts: a ready URL, or one that needs the member's patient id (known only once the token
/// source has been asked, inside the stream).
pub(crate) enum Start {
    Url(Url),
    ForPatient(UrlForPatient),
}

/// Builds a search's first URL from the client and the member's patient id.
pub(crate) type UrlForPatient = Box<dyn FnOnce(&FhirClient, &str) -> Result<Url> + Send>;

/// The results of a search, page after page, as a [`Stream`] of [`SearchItem`]s.
///
/// The next page is requested only when every item of the current one has been taken, so memory holds one
/// page whatever the member's history. After an error the stream ends. A stream that ends with
/// [`Error::PagingLoop`] or [`Error::PageLimit`] delivered everything before it, but the search is incomplete.
///
/// ```no_run
/// # async fn run(client: smart_core::fhir::FhirClient) -> smart_core::Result<()> {
/// use futures::TryStreamExt;
/// use smart_core::fhir::{EobQuery, SearchItem};
///
/// let mut stream = client.explanation_of_benefits(EobQuery::new().include("ExplanationOfBenefit:provider"));
/// while let Some(item) = stream.try_next().await? {
///     match item {
///         SearchItem::Match(eob) => println!("claim {:?}", eob.id),
///         SearchItem::Included(resource) => println!("included {}", resource.resource_type()),
///         SearchItem::Warning(outcome) => eprintln!("payer warning: {outcome:?}"),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct SearchStream<T> {
    inner: BoxStream<'static, Result<SearchItem<T>>>,
}

impl<T> std::fmt::Debug for SearchStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchStream").finish_non_exhaustive()
    }
}

impl<T> Stream for SearchStream<T> {
    type Item = Result<SearchItem<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<T: FhirResource> SearchStream<T> {
    pub(crate) fn new(client: FhirClient, start: Start) -> Self {
        let state = Pager::<T> {
            client,
            start: Some(start),
            next: None,
            items: VecDeque::new(),
            seen: HashSet::new(),
            hasher: RandomState::new(),
            pages: 0,
            done: false,
        };
        Self {
            // Fused: polling after the end keeps answering `None` instead of panicking.
            inner: futures::stream::unfold(state, Pager::step).fuse().boxed(),
        }
    }

    /// A stream that yields `error` and ends.
    pub(crate) fn failed(error: Error) -> Self {
        Self {
            inner: futures::stream::once(async move { Err(error) }).boxed(),
        }
    }

    /// Only the matched resources. Included resources are skipped, and warnings are logged with `tracing` at
    /// `WARN` level and skipped: use the stream itself or [`collect_all`](Self::collect_all) to keep them.
    pub fn matches(self) -> impl Stream<Item = Result<T>> + Send + 'static {
        self.inner.try_filter_map(|item| async move {
            Ok(match item {
                SearchItem::Match(t) => Some(t),
                SearchItem::Warning(outcome) => {
                    tracing::warn!(?outcome, "the payer sent a warning inside a search result");
                    None
                }
                SearchItem::Included(_) => None,
            })
        })
    }

    /// Reads every page and sorts the items into matches, included resources and warnings.
    pub async fn collect_all(self) -> Result<SearchResults<T>> {
        self.inner
            .try_fold(SearchResults::default(), |mut acc, item| async move {
                match item {
                    SearchItem::Match(t) => acc.matches.push(t),
                    SearchItem::Included(r) => acc.included.push(r),
                    SearchItem::Warning(o) => acc.warnings.push(*o),
                }
                Ok(acc)
            })
            .await
    }
}

/// The paging state behind a [`SearchStream`].
struct Pager<T> {
    client: FhirClient,
    start: Option<Start>,
    /// The next page to fetch, or why it must not be fetched (delivered once the current page is drained).
    next: Option<Result<Url>>,
    items: VecDeque<SearchItem<T>>,
    /// Hashes of every page URL fetched and every `self` link seen: 8 bytes a page, not a URL a page.
    seen: HashSet<u64>,
    hasher: RandomState,
    pages: usize,
    done: bool,
}

impl<T: FhirResource> Pager<T> {
    async fn step(mut self) -> Option<(Result<SearchItem<T>>, Self)> {
        loop {
            if let Some(item) = self.items.pop_front() {
                return Some((Ok(item), self));
            }
            if self.done {
                return None;
            }
            let url = match self.next_url().await {
                Some(Ok(url)) => url,
                Some(Err(e)) => {
                    self.done = true;
                    return Some((Err(e), self));
                }
                None => {
                    self.done = true;
                    return None;
                }
            };
            if let Err(e) = self.fetch(url).await {
                self.done = true;
                return Some((Err(e), self));
            }
        }
    }

    /// The URL of the next page to fetch: the first one (built once the patient id is known), then each
    /// `next` link in turn.
    async fn next_url(&mut self) -> Option<Result<Url>> {
        match self.start.take() {
            Some(Start::Url(url)) => Some(Ok(url)),
            Some(Start::ForPatient(build)) => Some(match self.client.patient_id().await {
                Ok(id) => build(&self.client, &id),
                Err(e) => Err(e),
            }),
            None => self.next.take(),
        }
    }

    async fn fetch(&mut self, url: Url) -> Result<()> {
        let transport = &self.client.transport;
        if self.pages >= transport.max_pages {
            return Err(Error::PageLimit {
                limit: transport.max_pages,
                url: redact_url(&url),
            });
        }
        let received = transport.get(&url, self.client.tokens.as_ref()).await?;
        self.pages += 1;
        let page: Page<T> = decode_page(&received.body, &url)?;
        drop(received);
        self.seen.insert(self.hasher.hash_one(url.as_str()));
        if let Some(own) = page.self_link.as_deref().and_then(|s| url.join(s).ok()) {
            self.seen.insert(self.hasher.hash_one(own.as_str()));
        }
        self.items = page.items;
        self.next = page.next.map(|link| self.follow(&url, &link));
        Ok(())
    }

    /// Resolves a `next` link against the page it came from and checks it may be fetched.
    fn follow(&self, page_url: &Url, link: &str) -> Result<Url> {
        let next = page_url.join(link.trim()).map_err(|e| Error::Decode {
            stage: crate::Stage::Fhir,
            url: redact_url(page_url),
            path: "link[next].url".into(),
            message: format!("the next link is not a URL: {e}"),
        })?;
        self.client.transport.check_url(&next)?;
        if self.seen.contains(&self.hasher.hash_one(next.as_str())) {
            return Err(Error::PagingLoop {
                url: redact_url(&next),
                pages: self.pages,
            });
        }
        Ok(next)
    }
}
