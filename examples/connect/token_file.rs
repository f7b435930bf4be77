//! A `TokenStore` in one JSON file, readable only by the user, with compare-and-swap and a refresh lease
//! between processes.
//!
//! The file maps a key (payer, FHIR base, client id) to the member's [`TokenSet`] and a version, and holds the
//! refresh leases (holder and expiry, in wall-clock milliseconds). Every change takes an exclusive advisory lock
//! (`flock`, through `std::fs::File::lock`) on `<file>.lock`, reads the file, checks the version or lease, and
//! replaces the file atomically: a new file with mode 0600, written and fsynced, renamed over the old one, and
//! the folder fsynced so that the rename itself survives a power cut (a crash can never bring back a spent
//! refresh token). The operating system drops the lock of a process that dies, so a crash never leaves a stale
//! lock; a crashed *refresh* leaves a lease that expires by itself. So two `connect` runs never both spend one
//! rotating refresh token. Reads take no lock: the rename makes every version of the file whole. Every file
//! operation runs on tokio's blocking pool.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use patient_access::smart::{
    Error, LeaseClaim, Result, StoredTokens, TokenSet, TokenStore, Version, async_trait,
};
use serde::{Deserialize, Serialize};

/// How long a change waits for another process's lock before giving up (each holds it for one read and write).
const LOCK_WAIT: Duration = Duration::from_secs(10);

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
    /// Refresh leases by key; absent from files written before leases (and whenever none is held).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    leases: BTreeMap<String, Lease>,
}

#[derive(Serialize, Deserialize)]
struct Lease {
    holder: String,
    /// Milliseconds since the Unix epoch.
    expires_at_ms: u64,
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
            let had_entry = contents.entries.remove(&key).is_some();
            let had_lease = contents.leases.remove(&key).is_some();
            if had_entry || had_lease {
                write(path, &contents)?;
            }
            Ok(())
        })
        .await
    }

    async fn try_claim_refresh(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseClaim> {
        let (key, holder) = (key.to_owned(), holder.to_owned());
        self.blocking(move |path| {
            let _lock = Lock::acquire(path)?;
            let mut contents = read(path)?;
            let now = unix_millis();
            if let Some(lease) = contents.leases.get(&key)
                && lease.holder != holder
                && lease.expires_at_ms > now
            {
                return Ok(LeaseClaim::HeldElsewhere);
            }
            let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
            contents.leases.insert(
                key,
                Lease {
                    holder,
                    expires_at_ms: now.saturating_add(ttl_ms),
                },
            );
            write(path, &contents)?;
            Ok(LeaseClaim::Claimed)
        })
        .await
    }

    async fn release_refresh(&self, key: &str, holder: &str) -> Result<()> {
        let (key, holder) = (key.to_owned(), holder.to_owned());
        self.blocking(move |path| {
            let _lock = Lock::acquire(path)?;
            let mut contents = read(path)?;
            if contents
                .leases
                .get(&key)
                .is_some_and(|l| l.holder == holder)
            {
                contents.leases.remove(&key);
                write(path, &contents)?;
            }
            Ok(())
        })
        .await
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
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
        // The new contents reach the disk before the rename can point at them...
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // ...and the rename itself (a change of the folder) before the caller is told the save happened: after
        // a power cut the old file, with a refresh token the payer has already rotated, must not come back.
        sync_dir(path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(with_path(path, "could not write", e));
    }
    Ok(())
}

/// fsyncs the folder holding `path` (a no-op where folders cannot be opened, i.e. not on Unix).
fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
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

/// An exclusive advisory lock (`flock`) between processes on `<file>.lock`, held until dropped. The lock file is
/// never removed (removing it would let two processes lock two different files); it holds no data.
struct Lock {
    _file: File,
}

impl Lock {
    fn acquire(file: &Path) -> Result<Self> {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|e| with_path(dir, "could not create", e))?;
        }
        let path = sibling(file, ".lock");
        let mut options = OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock_file = options
            .open(&path)
            .map_err(|e| with_path(&path, "could not open", e))?;
        let started = Instant::now();
        loop {
            match lock_file.try_lock() {
                Ok(()) => return Ok(Self { _file: lock_file }),
                Err(TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(store_error(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        format!(
                            "{} stayed locked by another process for {LOCK_WAIT:?}",
                            path.display()
                        ),
                    )));
                }
                Err(TryLockError::Error(e)) => return Err(with_path(&path, "could not lock", e)),
            }
        }
    }
}
