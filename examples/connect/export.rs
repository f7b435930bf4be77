//! The export: every resource the member can read, as `<ResourceType>.ndjson` in the output folder, with a
//! progress line on stderr.
//!
//! What is read: the member's Patient, Coverage and ExplanationOfBenefit (always), every other Patient-compartment
//! type the payer lists (searched with `?patient={id}`), and the Organizations, Practitioners, ... that those
//! resources reference, where the payer lists those types. Files are written by a dedicated thread (file I/O stays
//! off the async runtime).
//!
//! This is health data, so it is never shared and never lost: the folder is 0700 (a wider existing one is
//! tightened, and the run says so) and every file 0600, created with that mode. Each type is written to
//! `<Type>.ndjson.partial` in the same folder, fsynced, and renamed over the previous `<Type>.ndjson` only when
//! that type was read completely. When reading a type fails part-way (429 or 5xx after the retries, a paging
//! loop, a dropped connection, a page that does not decode), its previous file stays as it was, byte for byte,
//! and the type is listed in [`Report::incomplete`] (`connect` then exits with [`EXIT_PARTIAL`]). A failed
//! run (the member's authorization is gone) commits nothing.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::error::Error as StdError;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fhir_c4bb::Resource;
use futures::TryStreamExt;
use serde_json::Value;
use smart_core::PayerAdapter;
use smart_core::fhir::{EobQuery, FhirClient, SearchItem, SearchParams};
use tokio::sync::mpsc;

use crate::resource_types::{self, Items, REFERENCED, SEARCHED, erase, is_plain_type_name};

pub type Failure = Box<dyn StdError + Send + Sync>;

/// `connect`'s exit code when the export was written but some types are incomplete (their previous files were
/// kept): 0 is a complete export, 1 a failed run, 2 a usage error.
pub const EXIT_PARTIAL: u8 = 3;

/// The export folder's mode: the member's health data is theirs alone.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;
/// Every export file's mode, set when the file is created (never widened, then narrowed).
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Read for every member, whatever the payer lists.
const CORE: &[&str] = &["Patient", "Coverage", "ExplanationOfBenefit"];

/// Which resource types to read, and how.
#[derive(Debug, Default)]
pub struct Plan {
    /// Searched with `?patient={id}`, beyond the core three.
    pub searched: Vec<String>,
    /// Read where referenced.
    pub referenced: Vec<String>,
    /// Listed by the payer, but neither in the Patient compartment nor referenced by it (e.g. `Medication`
    /// when not referenced, `Provenance`, terminology).
    pub skipped: Vec<String>,
}

impl Plan {
    /// Sorts the payer's resource types into what to search, what to read by reference, and what to skip.
    pub fn from_listed(listed: &[String]) -> Self {
        let mut plan = Plan::default();
        let mut seen = HashSet::new();
        for name in listed.iter().filter(|n| seen.insert(n.as_str())) {
            if CORE.contains(&name.as_str()) {
                continue;
            }
            let bucket = if SEARCHED.contains(&name.as_str()) {
                &mut plan.searched
            } else if REFERENCED.contains(&name.as_str()) {
                &mut plan.referenced
            } else {
                &mut plan.skipped
            };
            bucket.push(name.clone());
        }
        plan
    }
}

/// The resource types the payer's CapabilityStatement (`{base}/metadata`, public) lists as searchable or readable.
pub async fn listed_types(
    http: &reqwest::Client,
    adapter: &dyn PayerAdapter,
) -> Result<Vec<String>, String> {
    const MAX_BYTES: usize = 8 * 1024 * 1024;
    let url = format!(
        "{}/metadata",
        adapter.fhir_base().as_str().trim_end_matches('/')
    );
    // No Authorization header: metadata is public, and the bearer token goes to the FHIR client only.
    let mut response = http
        .get(&url)
        .header(reqwest::header::ACCEPT, adapter.fhir_accept())
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .map_err(|e| format!("{url}: {}", e.without_url()))?;
    if !response.status().is_success() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("{url}: {}", e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(format!("{url}: larger than {MAX_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("{url}: not a JSON CapabilityStatement ({e})"))?;
    let offered = |resource: &Value| {
        resource["interaction"].as_array().is_none_or(|list| {
            list.iter()
                .any(|i| matches!(i["code"].as_str(), Some("search-type" | "read")))
        })
    };
    let types: Vec<String> = doc["rest"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|rest| rest["resource"].as_array().into_iter().flatten())
        .filter(|r| offered(r))
        .filter_map(|r| r["type"].as_str().map(str::to_owned))
        .collect();
    if types.is_empty() {
        return Err(format!("{url}: lists no resource types"));
    }
    Ok(types)
}

/// What an export wrote.
#[derive(Debug)]
pub struct Report {
    pub patient_id: String,
    /// Lines per resource type.
    pub files: BTreeMap<String, usize>,
    /// Types or references that could not be read (the export is still written).
    pub failures: Vec<String>,
    /// Types whose reading failed part-way: their previous file (if any) was kept unchanged, this run's read
    /// was discarded.
    pub incomplete: BTreeSet<String>,
    /// The export folder existed with a mode wider than 0700 (shown as octal) and was tightened.
    pub tightened: Option<u32>,
    /// `OperationOutcome`s the payer put inside its search results.
    pub warnings: usize,
    /// How many of the ExplanationOfBenefit lines are prior authorizations (`use = preauthorization`), not claims.
    pub prior_authorizations: usize,
}

/// Reads everything in `plan` for the member and writes it under `dir`.
pub async fn export(fhir: &FhirClient, plan: &Plan, dir: &Path) -> Result<Report, Failure> {
    let patient_id = fhir.patient_id().await?;
    let mut sink = Sink::open(dir, fhir.adapter().fhir_base().as_str())?;
    let steps = CORE.len() + plan.searched.len() + usize::from(!plan.referenced.is_empty());
    let mut progress = Progress::new(steps);
    let mut failures = Vec::new();
    let mut incomplete = BTreeSet::new();

    progress.begin("Patient");
    let patient = fhir.patient().await?;
    sink.put(Resource::Patient(Box::new(patient))).await?;
    progress.add(1);
    progress.end();

    progress.begin("Coverage");
    let coverage = erase(fhir.coverage(), |c| Resource::Coverage(Box::new(c)));
    let drained = drain(coverage, &mut sink, &mut progress).await;
    settle(
        drained,
        "Coverage",
        &progress,
        &mut failures,
        &mut incomplete,
    )?;
    progress.end();

    progress.begin("ExplanationOfBenefit");
    let claims = fhir.explanation_of_benefits(EobQuery::new());
    let claims = erase(claims, |e| Resource::ExplanationOfBenefit(Box::new(e)));
    let drained = drain(claims, &mut sink, &mut progress).await;
    settle(
        drained,
        "ExplanationOfBenefit",
        &progress,
        &mut failures,
        &mut incomplete,
    )?;
    progress.end();

    for name in &plan.searched {
        progress.begin(name);
        let params = SearchParams::new().param("patient", &patient_id);
        if let Some(items) = resource_types::search(fhir, name, params) {
            let drained = drain(items, &mut sink, &mut progress).await;
            settle(drained, name, &progress, &mut failures, &mut incomplete)?;
        }
        progress.end();
    }

    if !plan.referenced.is_empty() {
        progress.begin("referenced resources");
        let wanted: Vec<(String, String)> = sink
            .references
            .iter()
            .filter(|(ty, _)| plan.referenced.contains(ty))
            .filter(|key| !sink.written.contains(*key))
            .cloned()
            .collect();
        for (ty, id) in wanted {
            match resource_types::read(fhir, &ty, &id).await {
                Some(Ok(resource)) => {
                    sink.put(resource).await?;
                    progress.add(1);
                }
                // Dangling references (404) are common in payer data; a read that failed for a passing reason
                // leaves the type incomplete.
                Some(Err(e)) => {
                    if !is_refusal(&e) && !e.requires_reauthorization() {
                        incomplete.insert(ty.clone());
                    }
                    fatal_or_note(e, &format!("{ty}/{id}"), &mut failures)?;
                }
                None => {}
            }
        }
        progress.end();
    }

    let files = sink.commit(incomplete.clone()).await?;
    Ok(Report {
        patient_id,
        files,
        failures,
        incomplete,
        tightened: sink.tightened,
        warnings: sink.warnings,
        prior_authorizations: sink.prior_authorizations,
    })
}

/// Ends one type's step. Losing the authorization ends the export (nothing is committed). A type the payer
/// refuses outright (a 4xx other than 429 before anything of it arrived: scopes, a 403) is noted and does not
/// sink the export; any other failure (429/5xx after the retries, a paging loop, a dropped connection, a page
/// that does not decode, or a refusal part-way) leaves the type incomplete, so its previous file is kept.
fn settle(
    drained: Result<(), Failure>,
    name: &str,
    progress: &Progress,
    failures: &mut Vec<String>,
    incomplete: &mut BTreeSet<String>,
) -> Result<(), Failure> {
    let Err(e) = drained else {
        return Ok(());
    };
    let e = match e.downcast::<smart_core::Error>() {
        Ok(e) => *e,
        // The writer failed: nothing can be committed.
        Err(other) => return Err(other),
    };
    let refused_outright = is_refusal(&e) && progress.count == 0;
    if !(e.requires_reauthorization() || refused_outright) {
        incomplete.insert(name.to_owned());
    }
    fatal_or_note(e, name, failures)
}

/// A 4xx answer other than 429: the payer will not serve this, now or on a retry.
fn is_refusal(e: &smart_core::Error) -> bool {
    match e {
        smart_core::Error::OperationOutcome { status, .. }
        | smart_core::Error::UnexpectedResponse { status, .. } => {
            (400..500).contains(status) && *status != 429
        }
        _ => false,
    }
}

fn fatal_or_note(
    e: smart_core::Error,
    what: &str,
    failures: &mut Vec<String>,
) -> Result<(), Failure> {
    if e.requires_reauthorization() {
        return Err(e.into());
    }
    let hint = e
        .hint()
        .map(|h| format!(" (hint: {h})"))
        .unwrap_or_default();
    failures.push(format!("{what}: {e}{hint}"));
    Ok(())
}

async fn drain(mut items: Items, sink: &mut Sink, progress: &mut Progress) -> Result<(), Failure> {
    while let Some(item) = items.try_next().await? {
        let wrote = match item {
            SearchItem::Match(r) | SearchItem::Included(r) => sink.put(r).await,
            SearchItem::Warning(outcome) => {
                sink.warnings += 1;
                for issue in &outcome.issue {
                    eprintln!(
                        "\nwarning from the payer: {} {}: {}",
                        issue.severity.as_deref().unwrap_or("?"),
                        issue.code.as_deref().unwrap_or("?"),
                        issue.diagnostics.as_deref().unwrap_or("")
                    );
                }
                sink.put(Resource::OperationOutcome(outcome)).await
            }
            _ => Ok(false),
        };
        if wrote? {
            progress.add(1);
        }
    }
    Ok(())
}

enum Msg {
    Line {
        file: String,
        json: String,
    },
    /// Rename every complete type into place; drop what was read of these.
    Commit {
        incomplete: BTreeSet<String>,
    },
}

/// Deduplicates resources, collects their references, and hands lines to the writer thread.
struct Sink {
    tx: Option<mpsc::Sender<Msg>>,
    thread: Option<std::thread::JoinHandle<io::Result<BTreeMap<String, usize>>>>,
    fhir_base: String,
    written: HashSet<(String, String)>,
    references: BTreeSet<(String, String)>,
    warnings: usize,
    prior_authorizations: usize,
    /// The folder's previous mode, when it was wider than 0700.
    tightened: Option<u32>,
}

impl Sink {
    fn open(dir: &Path, fhir_base: &str) -> io::Result<Self> {
        let tightened = private_dir(dir)?;
        let (tx, rx) = mpsc::channel(256);
        let dir = dir.to_owned();
        let thread = std::thread::Builder::new()
            .name("ndjson-writer".into())
            .spawn(move || write_files(&dir, rx))?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
            fhir_base: fhir_base.trim_end_matches('/').to_owned(),
            written: HashSet::new(),
            references: BTreeSet::new(),
            warnings: 0,
            prior_authorizations: 0,
            tightened,
        })
    }

    /// Queues `resource` for its type's file; `Ok(false)` when the same type and id was already written.
    async fn put(&mut self, resource: Resource) -> Result<bool, Failure> {
        let ty = resource.resource_type().to_owned();
        if let Some(id) = resource.id()
            && !self.written.insert((ty.clone(), id.to_owned()))
        {
            return Ok(false);
        }
        if let Resource::ExplanationOfBenefit(eob) = &resource
            && eob.is_prior_authorization()
        {
            self.prior_authorizations += 1;
        }
        let value = serde_json::to_value(&resource)?;
        collect_references(&value, &self.fhir_base, &mut self.references);
        // The file name comes from the payer's data: only a plain type name may become one.
        let file = if is_plain_type_name(&ty) {
            ty
        } else {
            "_UnrecognizedType".to_owned()
        };
        let msg = Msg::Line {
            file,
            json: value.to_string(),
        };
        let sent = match &self.tx {
            Some(tx) => tx.send(msg).await.is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.writer_error().await.into());
        }
        Ok(true)
    }

    /// Renames the `.partial` file of every type not in `incomplete` into place; returns their line counts.
    async fn commit(
        &mut self,
        incomplete: BTreeSet<String>,
    ) -> Result<BTreeMap<String, usize>, Failure> {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Commit { incomplete }).await;
        }
        Ok(self.join().await?)
    }

    async fn writer_error(&mut self) -> io::Error {
        self.tx = None;
        match self.join().await {
            Err(e) => e,
            Ok(_) => io::Error::other("the NDJSON writer stopped"),
        }
    }

    async fn join(&mut self) -> io::Result<BTreeMap<String, usize>> {
        let thread = self
            .thread
            .take()
            .ok_or_else(|| io::Error::other("the NDJSON writer already stopped"))?;
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .map_err(io::Error::other)?
            .map_err(|_| io::Error::other("the NDJSON writer panicked"))?
    }
}

/// Every `Type/id` this resource references (relative, or absolute under the FHIR base).
fn collect_references(value: &Value, fhir_base: &str, out: &mut BTreeSet<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "reference"
                    && let Value::String(r) = v
                {
                    let relative = r
                        .strip_prefix(fhir_base)
                        .and_then(|rest| rest.strip_prefix('/'))
                        .unwrap_or(r);
                    if let Some((ty, id)) = relative.split_once('/')
                        && is_plain_type_name(ty)
                        && is_fhir_id(id)
                    {
                        out.insert((ty.to_owned(), id.to_owned()));
                    }
                } else {
                    collect_references(v, fhir_base, out);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| collect_references(v, fhir_base, out)),
        _ => {}
    }
}

/// The FHIR id syntax: `[A-Za-z0-9\-\.]{1,64}`.
fn is_fhir_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// Creates `dir` (and its parents) 0700, or tightens an existing `dir` to 0700; returns the mode it had when
/// that was wider.
fn private_dir(dir: &Path) -> io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)?;
        }
        let mode = fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & !DIR_MODE != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))?;
            return Ok(Some(mode));
        }
        Ok(None)
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)?;
        Ok(None)
    }
}

/// Creates `path` for writing, readable by the user only from its first byte. A `.partial` left by a crashed
/// run is removed first (its mode may be wider).
fn create_private(path: &Path) -> io::Result<File> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options.open(path)
}

/// Narrows a kept file of an earlier export (written before files were 0600) to 0600.
fn tighten_file(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                fs::set_permissions(path, fs::Permissions::from_mode(FILE_MODE))?;
            }
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The `.partial` files being written; removed on drop unless renamed into place.
struct Files {
    dir: PathBuf,
    open: BTreeMap<String, (BufWriter<File>, usize)>,
}

impl Files {
    fn partial(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.ndjson.partial"))
    }
    fn complete(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.ndjson"))
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        for name in self.open.keys() {
            let _ = fs::remove_file(self.partial(name));
        }
    }
}

fn write_files(dir: &Path, mut rx: mpsc::Receiver<Msg>) -> io::Result<BTreeMap<String, usize>> {
    let mut files = Files {
        dir: dir.to_owned(),
        open: BTreeMap::new(),
    };
    let mut committed = None;
    while let Some(msg) = rx.blocking_recv() {
        let (file, json) = match msg {
            Msg::Line { file, json } => (file, json),
            Msg::Commit { incomplete } => {
                committed = Some(incomplete);
                break;
            }
        };
        let partial = files.partial(&file);
        let (writer, lines) = match files.open.entry(file) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert((BufWriter::new(create_private(&partial)?), 0)),
        };
        writer.write_all(json.as_bytes())?;
        writer.write_all(b"\n")?;
        *lines += 1;
    }
    let Some(incomplete) = committed else {
        // The export failed: `files` drops the partial files, the previous export stays.
        return Err(io::Error::other("the export did not complete"));
    };
    let mut counts = BTreeMap::new();
    let names: Vec<String> = files.open.keys().cloned().collect();
    for name in names {
        if incomplete.contains(&name) {
            // Dropped by `files`: the previous complete file stays as it was.
            continue;
        }
        if let Some((writer, lines)) = files.open.get_mut(&name) {
            writer.flush()?;
            writer.get_ref().sync_all()?;
            counts.insert(name.clone(), *lines);
        }
        fs::rename(files.partial(&name), files.complete(&name))?;
        files.open.remove(&name);
    }
    // A type this run read nothing of must not keep last run's file (only names this program writes), unless
    // its read failed part-way: then last run's file is the best copy there is.
    let ours = CORE
        .iter()
        .chain(SEARCHED)
        .chain(REFERENCED)
        .chain(&["OperationOutcome", "_UnrecognizedType"]);
    for name in ours.filter(|n| !counts.contains_key(**n)) {
        if incomplete.contains(*name) {
            tighten_file(&files.complete(name))?;
            continue;
        }
        match fs::remove_file(files.complete(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    // The renames are durable once the folder itself is on disk.
    #[cfg(unix)]
    File::open(&files.dir)?.sync_all()?;
    Ok(counts)
}

/// One line on stderr: a bar over the steps, the current type and how many of it so far. Plain lines when stderr
/// is not a terminal (logs, CI).
struct Progress {
    live: bool,
    steps: usize,
    step: usize,
    label: String,
    count: usize,
    drawn: Option<Instant>,
}

impl Progress {
    fn new(steps: usize) -> Self {
        Self {
            live: io::stderr().is_terminal(),
            steps,
            step: 0,
            label: String::new(),
            count: 0,
            drawn: None,
        }
    }

    fn begin(&mut self, label: &str) {
        self.step += 1;
        self.label = label.to_owned();
        self.count = 0;
        self.draw(true);
    }

    fn add(&mut self, n: usize) {
        self.count += n;
        self.draw(false);
    }

    fn end(&mut self) {
        if self.live {
            self.draw(true);
            eprintln!();
        } else {
            eprintln!(
                "[{}/{}] {}: {}",
                self.step, self.steps, self.label, self.count
            );
        }
    }

    fn draw(&mut self, force: bool) {
        const WIDTH: usize = 24;
        if !self.live
            || (!force
                && self
                    .drawn
                    .is_some_and(|t| t.elapsed() < Duration::from_millis(80)))
        {
            return;
        }
        self.drawn = Some(Instant::now());
        let filled = WIDTH * self.step.min(self.steps) / self.steps.max(1);
        eprint!(
            "\r\x1b[K[{}{}] {}/{} {}: {}",
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            self.step,
            self.steps,
            self.label,
            self.count
        );
        let _ = io::stderr().flush();
    }
}
