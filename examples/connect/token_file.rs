//! A `TokenStore` in one JSON file, readable only by the user, with compare-and-swap between processes.
//!
//! The file maps a key (payer, FHIR base, client id) to the member's [`TokenSet`] and a version. A save takes a
//! lock file, checks the version it was given against the file's, and replaces the file atomically (a new file
//! with mode 0600, then a rename), so two `connect` runs can never both spend one rotating refresh token, and a
//! crash never leaves half a file. Every file operation runs on tokio's blocking pool.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use patient_access::smart::{
    Error, Result, StoredTokens, TokenSet, TokenStore, Version, async_trait,
};
use serde::{Deserialize, Serialize};

/// How long a save waits for another process's lock before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// A lock file older than this was left by a process that died mid-save.
const STALE_LOCK: Duration = Duration::from_secs(30);

/// Tokens kept in a file. `Debug` shows the path only.
pub struct TokenFile {
    path: PathBuf,
}

impl std::fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFile")
            .field("path", &self.path)
            .finish()
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Contents {
    #[serde(default)]
    entries: BTreeMap<String, Entry>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    version: Version,
    tokens: TokenSet,
}

impl TokenFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the blocking pool: file I/O and lock waits must not stall the async runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Path) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || f(&path))
            .await
            .map_err(|e| store_error(io::Error::other(e)))?
    }
}

#[async_trait]
impl TokenStore for TokenFile {
    async fn load(&self, key: &str) -> Result<Option<StoredTokens>> {
        let key = key.to_owned();
        self.blocking(move |path| {
            Ok(read(path)?
                .entries
                .remove(&key)
                .map(|e| StoredTokens::new(e.tokens, e.version)))
        })
        .await
    }

    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> Result<Version> {
        let (key, tokens) = (key.to_owned(), tokens.clone());
        self.blocking(move |path| {
            let _lock = Lock::acquire(path)?;
            let mut contents = read(path)?;
            let current = contents.entries.get(&key).map(|e| e.version);
            if current != expected {
                return Err(Error::StoreConflict);
            }
            let version = current.map_or(1, |v| v + 1);
            contents.entries.insert(key, Entry { version, tokens });
            write(path, &contents)?;
            Ok(version)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let key = key.to_owned();
        self.blocking(move |path| {
            let _lock = Lock::acquire(path)?;
            let mut contents = read(path)?;
            if contents.entries.remove(&key).is_some() {
                write(path, &contents)?;
            }
            Ok(())
        })
        .await
    }
}

fn store_error(e: io::Error) -> Error {
    Error::Store(Box::new(e))
}

fn with_path(path: &Path, what: &str, e: io::Error) -> Error {
    store_error(io::Error::new(
        e.kind(),
        format!("{what} {}: {e}", path.display()),
    ))
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn read(path: &Path) -> Result<Contents> {
    let text = match fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Contents::default()),
        Err(e) => return Err(with_path(path, "could not read", e)),
    };
    warn_if_readable_by_others(path);
    serde_json::from_slice(&text).map_err(|e| {
        // Only where it failed: serde_json's message can quote the offending value, which may be a token.
        store_error(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is not a token file ({:?} error at line {}, column {}); delete it to start over",
                path.display(),
                e.classify(),
                e.line(),
                e.column()
            ),
        ))
    })
}

/// Writes a new file next to `path` (mode 0600 from the start, never wider) and renames it over `path`.
fn write(path: &Path, contents: &Contents) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|e| with_path(dir, "could not create", e))?;
    }
    let json = serde_json::to_vec_pretty(contents).map_err(|e| store_error(io::Error::other(e)))?;
    let tmp = sibling(path, &format!(".tmp-{}", std::process::id()));
    let result = (|| {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        file.write_all(&json)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(with_path(path, "could not write", e));
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "warning: {} holds tokens and is readable by other users; run `chmod 600` on it \
                 (the next save rewrites it with mode 0600)",
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// An exclusive lock between processes: a `<file>.lock` created with `create_new`, removed on drop.
struct Lock {
    path: PathBuf,
}

impl Lock {
    fn acquire(file: &Path) -> Result<Self> {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|e| with_path(dir, "could not create", e))?;
        }
        let path = sibling(file, ".lock");
        let started = Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if is_stale(&path) {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if started.elapsed() > LOCK_WAIT {
                        return Err(store_error(io::Error::new(
                            io::ErrorKind::WouldBlock,
                            format!(
                                "{} is locked by another process; if none is running, delete the lock file",
                                path.display()
                            ),
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(e) => return Err(with_path(&path, "could not create", e)),
            }
        }
    }
}

fn is_stale(lock: &Path) -> bool {
    File::open(lock)
        .and_then(|f| f.metadata())
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > STALE_LOCK)
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}
