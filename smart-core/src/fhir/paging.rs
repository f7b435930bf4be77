//! A search as a stream: the page being drained and the next one in memory (one page with read-ahead off),
//! `next` links followed verbatim but only to origins the token may go to, and loops and runaway paging ended
//! with a typed error.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{BoxStream, Stream, StreamExt, TryStreamExt};
use tokio::sync::oneshot;
use tracing::Instrument;
use url::Url;

use super::client::FhirClient;
use super::link_scan::{LinkScanner, PageLinks, Scan};
use super::model::{FhirResource, Page, decode_page_off_worker};
use super::search::{SearchItem, SearchResults};
use crate::error::{Error, Result};
use crate::http::Received;
use crate::url_policy::redact_url;

/// Where a search starts: a ready URL, or one that needs the member's patient id (known only once the token
/// source has been asked, inside the stream).
pub(crate) enum Start {
    Url(Url),
    ForPatient(UrlForPatient),
}

/// Builds a search's first URL from the client and the member's patient id.
pub(crate) type UrlForPatient = Box<dyn FnOnce(&FhirClient, &str) -> Result<Url> + Send>;

/// The results of a search, page after page, as a
/// [`Stream`](https://docs.rs/futures/0.3/futures/stream/trait.Stream.html) of [`SearchItem`]s.
///
/// Memory holds the page being drained and at most the next one, whatever the member's history: the next page
/// is requested as soon as the current page's `next` link has arrived (see
/// [`read_ahead`](super::FhirPoolBuilder::read_ahead); with it off, only once every item of the current page has
/// been taken, and memory holds one page). After an error the stream ends. A stream that ends with
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
    prior_authorizations: bool,
}

impl<T> std::fmt::Debug for SearchStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchStream")
            .field("prior_authorizations", &self.prior_authorizations)
            .finish_non_exhaustive()
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
            ahead: None,
            items: VecDeque::new(),
            seen: HashSet::new(),
            hasher: RandomState::new(),
            pages: 0,
            done: false,
        };
        Self {
            // Fused: polling after the end keeps answering `None` instead of panicking.
            inner: futures::stream::unfold(state, Pager::step).fuse().boxed(),
            prior_authorizations: false,
        }
    }

    /// A stream that yields `error` and ends.
    pub(crate) fn failed(error: Error) -> Self {
        Self {
            inner: futures::stream::once(async move { Err(error) }).boxed(),
            prior_authorizations: false,
        }
    }

    /// Drops the matches `keep` refuses, item by item as pages arrive (included resources and warnings pass).
    pub(crate) fn retain_matches(self, keep: impl Fn(&T) -> bool + Send + 'static) -> Self {
        Self {
            inner: self
                .inner
                .try_filter(move |item| {
                    let admit = match item {
                        SearchItem::Match(t) => keep(t),
                        _ => true,
                    };
                    futures::future::ready(admit)
                })
                .boxed(),
            prior_authorizations: self.prior_authorizations,
        }
    }

    /// Rewrites each item as pages arrive (used to tell matches from other resources by a run-time type).
    pub(crate) fn map_items(
        self,
        f: impl Fn(SearchItem<T>) -> SearchItem<T> + Send + 'static,
    ) -> Self {
        Self {
            inner: self.inner.map_ok(f).boxed(),
            prior_authorizations: self.prior_authorizations,
        }
    }

    pub(crate) fn with_prior_authorizations(mut self, included: bool) -> Self {
        self.prior_authorizations = included;
        self
    }

    /// Whether this stream may carry prior authorizations (EOBs with `use = preauthorization`): true for an
    /// [`explanation_of_benefits`](super::FhirClient::explanation_of_benefits) search unless it was made
    /// [`claims_only`](super::EobQuery::claims_only), and for
    /// [`prior_authorizations`](super::FhirClient::prior_authorizations); false for searches of other types.
    pub fn includes_prior_authorizations(&self) -> bool {
        self.prior_authorizations
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
    /// The next page, already being fetched (only with read-ahead on).
    ahead: Option<Fetch>,
    items: VecDeque<SearchItem<T>>,
    /// Hashes of every page URL fetched and every `self` link seen: 8 bytes a page, not a URL a page.
    seen: HashSet<u64>,
    hasher: RandomState,
    /// Pages requested so far, for the page cap.
    pages: usize,
    done: bool,
}

/// A page being fetched by its own task (with read-ahead on). The task reads the page's links as its body
/// arrives and sends them on `links` as soon as they are known, usually long before the body is complete.
/// Dropping the fetch (the stream was dropped or failed) cancels it.
struct Fetch {
    url: Url,
    task: tokio::task::JoinHandle<Result<Received>>,
    /// Closed without a message when the links could not be read early (they then come from the decode).
    links: Option<oneshot::Receiver<PageLinks>>,
}

impl Drop for Fetch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A fetched page: its URL, its answer, and whether its links have already been noted (read early).
type Fetched = (Url, Received, bool);

impl<T: FhirResource> Pager<T> {
    async fn step(mut self) -> Option<(Result<SearchItem<T>>, Self)> {
        loop {
            if let Some(item) = self.items.pop_front() {
                return Some((Ok(item), self));
            }
            if self.done {
                return None;
            }
            let fetched = match self.ahead.take() {
                Some(fetch) => self.finish(fetch).await,
                None => match self.next_url().await {
                    None => {
                        self.done = true;
                        return None;
                    }
                    Some(Err(e)) => Err(e),
                    Some(Ok(url)) => match self.claim_page(&url) {
                        Ok(()) if self.client.transport.read_ahead => {
                            let fetch = self.spawn_fetch(url);
                            self.finish(fetch).await
                        }
                        Ok(()) => {
                            let transport = self.client.transport.clone();
                            let tokens = self.client.tokens.clone();
                            let got = transport.get(&url, tokens.as_ref()).await;
                            got.map(|r| (url, r, false))
                        }
                        Err(e) => Err(e),
                    },
                },
            };
            let taken = match fetched {
                Ok((url, received, noted)) => self.take_page(url, received, noted).await,
                Err(e) => Err(e),
            };
            if let Err(e) = taken {
                self.done = true;
                // The stream ends here: cancel a read-ahead already under way.
                self.ahead = None;
                return Some((Err(e), self));
            }
        }
    }

    /// Waits for a fetch to end. If its links arrive first, the page after it is requested at once.
    async fn finish(&mut self, mut fetch: Fetch) -> Result<Fetched> {
        let mut noted = false;
        let joined = loop {
            let Some(links) = fetch.links.as_mut() else {
                break (&mut fetch.task).await;
            };
            tokio::select! {
                biased;
                early = links => {
                    fetch.links = None;
                    if let Ok(early) = early {
                        self.note_links(&fetch.url, early.own.as_deref(), early.next.as_deref());
                        noted = true;
                        self.start_read_ahead();
                    }
                }
                joined = &mut fetch.task => break joined,
            }
        };
        match joined {
            Ok(received) => received.map(|r| (fetch.url.clone(), r, noted)),
            Err(e) => Err(Error::Transport {
                stage: crate::Stage::Fhir,
                url: redact_url(&fetch.url),
                kind: crate::TransportKind::Other,
                source: Some(Box::new(e)),
            }),
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

    /// Counts a page about to be requested, or fails when the page cap is reached.
    fn claim_page(&mut self, url: &Url) -> Result<()> {
        let limit = self.client.transport.max_pages;
        if self.pages >= limit {
            return Err(Error::PageLimit {
                limit,
                url: redact_url(url),
            });
        }
        self.pages += 1;
        Ok(())
    }

    /// Decodes a fetched page and makes it the current one. Its links come from the decoded page unless they
    /// were read early (`noted`); with read-ahead on, the next page is then requested if it was not already.
    async fn take_page(&mut self, url: Url, received: Received, noted: bool) -> Result<()> {
        let (page, url): (Page<T>, Url) = decode_page_off_worker(received.body, url).await?;
        if !noted {
            self.note_links(&url, page.self_link.as_deref(), page.next.as_deref());
            if self.client.transport.read_ahead {
                self.start_read_ahead();
            }
        }
        self.items = page.items;
        Ok(())
    }

    /// Remembers a fetched page (and its `self` link) for loop detection, and works out where its `next` link
    /// may lead.
    fn note_links(&mut self, url: &Url, own: Option<&str>, next: Option<&str>) {
        self.seen.insert(self.hasher.hash_one(url.as_str()));
        if let Some(own) = own.and_then(|s| url.join(s).ok()) {
            self.seen.insert(self.hasher.hash_one(own.as_str()));
        }
        self.next = next.map(|link| self.follow(url, link));
    }

    /// Starts fetching the next page now, in its own task, while the current one is decoded and drained.
    fn start_read_ahead(&mut self) {
        let url = match self.next.take() {
            Some(Ok(url)) => url,
            other => {
                self.next = other;
                return;
            }
        };
        if let Err(e) = self.claim_page(&url) {
            self.next = Some(Err(e));
            return;
        }
        self.ahead = Some(self.spawn_fetch(url));
    }

    /// Fetches `url` in a task that reads the page's links from its body as it arrives.
    fn spawn_fetch(&self, url: Url) -> Fetch {
        let (sender, links) = oneshot::channel();
        let transport = self.client.transport.clone();
        let tokens = self.client.tokens.clone();
        let task_url = url.clone();
        let task = tokio::spawn(
            async move {
                let mut sender = Some(sender);
                let mut scanner = LinkScanner::new();
                let mut observe = move |body: &[u8]| {
                    if body.is_empty() {
                        // A new attempt (after a dropped connection): its body starts over.
                        scanner = LinkScanner::new();
                        return;
                    }
                    if sender.is_none() {
                        return;
                    }
                    match scanner.feed(body) {
                        Scan::Pending => {}
                        Scan::Found(found) => {
                            if let Some(sender) = sender.take() {
                                // The pager may have stopped listening (the stream ended): nothing to do.
                                let _ = sender.send(found.clone());
                            }
                        }
                        // Closing the channel tells the pager to take the links from the decoded page.
                        Scan::GaveUp => sender = None,
                    }
                };
                transport
                    .get_observed(&task_url, tokens.as_ref(), Some(&mut observe))
                    .await
            }
            .in_current_span(),
        );
        Fetch {
            url,
            task,
            links: Some(links),
        }
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
