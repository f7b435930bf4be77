//! The export: every resource the member can read, as `<ResourceType>.ndjson` in the output folder, with a
//! progress line on stderr.
//!
//! What is read: the member's Patient, Coverage and ExplanationOfBenefit (always), every other Patient-compartment
//! type the payer lists (`FhirClient::search_type`, which adds the member's patient parameter for the type), and
//! the Organizations, Practitioners, Medications, ... that those resources reference, where the payer lists those
//! types (`FhirClient::read_type`). Each line is the SDK's serialization of what the payer sent: every member and
//! value kept exactly (decimal digits, `_x` primitive extensions, unknown members), only insignificant whitespace
//! removed so that a resource is one line. Files are written by a dedicated thread (file I/O stays off the async
//! runtime).
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
use futures::{Stream, TryStreamExt};
use serde_json::Value;
use smart_core::fhir::{
    FhirClient, SearchItem, SearchParams, is_resource_type_name, patient_search_parameter,
};
use tokio::sync::mpsc;

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
    /// Searched for the member (their Patient-compartment parameter), beyond the core three.
    pub searched: Vec<String>,
    /// Outside the Patient compartment: read where referenced.
    pub referenced: Vec<String>,
    /// Listed by the payer, but not a FHIR type name this program can use as a file name.
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
            let bucket = if !is_resource_type_name(name) {
                &mut plan.skipped
            } else if patient_search_parameter(name).is_some() {
                &mut plan.searched
            } else {
                &mut plan.referenced
            };
            bucket.push(name.clone());
        }
        plan
    }

    /// Every type this plan may write a file for (a type that got nothing this run loses last run's file).
    fn types(&self) -> impl Iterator<Item = &str> {
        CORE.iter()
            .copied()
            .chain(self.searched.iter().map(String::as_str))
            .chain(self.referenced.iter().map(String::as_str))
            .chain(["OperationOutcome", "_UnrecognizedType"])
    }
}

/// The resource types the payer's CapabilityStatement (`{base}/metadata`, fetched without the token) lists as
/// searchable or readable (or with no interactions listed at all).
pub async fn listed_types(fhir: &FhirClient) -> Result<Vec<String>, String> {
    let statement = fhir.capabilities().await.map_err(|e| e.to_string())?;
    let types: Vec<String> = statement
        .resources()
        .filter(|r| r.interaction.is_empty() || r.supports("search-type") || r.supports("read"))
        .filter_map(|r| r.r#type.clone())
        .collect();
    if types.is_empty() {
        return Err("the CapabilityStatement lists no resource types".to_owned());
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

    for name in CORE[1..]
        .iter()
        .copied()
        .chain(plan.searched.iter().map(String::as_str))
    {
        progress.begin(name);
        // The member's patient parameter for the type (and the payer's Coverage quirk) come from the SDK.
        let items = fhir.search_type(name, SearchParams::new());
        let drained = drain(items, &mut sink, &mut progress).await;
        settle(drained, name, &progress, &mut failures, &mut incomplete)?;
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
            match fhir.read_type(&ty, &id).await {
                Ok(resource) => {
                    sink.put(resource).await?;
                    progress.add(1);
                }
                // Dangling references (404) are common in payer data; a read that failed for a passing reason
                // leaves the type incomplete.
                Err(e) => {
                    if !is_refusal(&e) && !e.requires_reauthorization() {
                        incomplete.insert(ty.clone());
                    }
                    fatal_or_note(e, &format!("{ty}/{id}"), &mut failures)?;
                }
            }
        }
        progress.end();
    }

    let ours: Vec<String> = plan.types().map(str::to_owned).collect();
    let files = sink.commit(incomplete.clone(), ours).await?;
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

async fn drain(
    items: impl Stream<Item = smart_core::Result<SearchItem<Resource>>>,
    sink: &mut Sink,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let mut items = std::pin::pin!(items);
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
        /// Every type name this run may write: the others' files are never touched.
        ours: Vec<String>,
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
        // Written from the resource itself, not through `serde_json::Value` (which would turn `1.50` into `1.5`
        // and sort the members): exactly what the payer sent, on one line.
        let json = one_line(&serde_json::to_string(&resource)?);
        let value: Value = serde_json::from_str(&json)?;
        collect_references(&value, &self.fhir_base, &mut self.references);
        // The file name comes from the payer's data: only a plain type name may become one.
        let file = if is_resource_type_name(&ty) {
            ty
        } else {
            "_UnrecognizedType".to_owned()
        };
        let msg = Msg::Line { file, json };
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
        ours: Vec<String>,
    ) -> Result<BTreeMap<String, usize>, Failure> {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Commit { incomplete, ours }).await;
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

/// `json` without the whitespace between its tokens (raw members of a pretty-printed page keep theirs), so that
/// one resource is one NDJSON line. Strings, numbers and every other lexeme are kept byte for byte.
fn one_line(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
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
                        && is_resource_type_name(ty)
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
            Msg::Commit { incomplete, ours } => {
                committed = Some((incomplete, ours));
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
    let Some((incomplete, ours)) = committed else {
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
    for name in ours.iter().filter(|n| !counts.contains_key(n.as_str())) {
        if incomplete.contains(name) {
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
