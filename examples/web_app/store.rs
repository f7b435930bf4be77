//! The web app's own SQLite table: the members' browser sessions. Members' tokens, refresh leases and pending
//! authorizations live in the SDK's `SqliteStore` (smart_core::store::sqlite) in the same file, sealed by an
//! `EncryptedStore` when the app has a token key (see app.rs).
//!
//! rusqlite is a blocking API, so every call runs on tokio's blocking pool (`spawn_blocking`), never on the
//! async worker threads. WAL mode and a busy timeout let the SDK's store (and other processes) share the file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// How long a writer waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Sessions older than this are forgotten (the cookie's Max-Age in app.rs is the same 30 days).
pub const SESSION_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS web_sessions (
    id_hash    TEXT PRIMARY KEY,  -- SHA-256 of the cookie value: a copy of the database opens no session
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
";

/// What went wrong in the database layer. Never a stored value: serde's messages quote the value they could
/// not read (`invalid type: string "<the refresh token>"`) and SQLite's conversion errors can carry it, so both
/// are reduced to where and what kind on the way in (and these messages reach logs and the SDK's errors).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite refused or failed: its result code, or the kind of failure.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The blocking task panicked or was cancelled.
    #[error("database task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The database file could not be created.
    #[error("database file: {0}")]
    Io(#[from] std::io::Error),
}

/// A connection to the app's SQLite file. Cheap to clone (the clones share the connection).
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
}

struct DbInner {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// One member's browser session, found from its cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// SHA-256 of the cookie value (hex): the session's key in the database.
    pub id_hash: String,
    /// The app user this browser belongs to. Tokens are stored per user and payer, not per browser.
    pub user_id: String,
}

impl Db {
    /// Opens (creating when missing) the database at `path` and its tables.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Db, DbError> {
        let path = path.into();
        let opened = path.clone();
        let conn = tokio::task::spawn_blocking(move || open_blocking(&opened)).await??;
        Ok(Db {
            inner: Arc::new(DbInner {
                conn: Mutex::new(conn),
                path,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn call<R, F>(&self, f: F) -> Result<R, DbError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, DbError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves no half-done statement behind (SQLite rolls back), so a
            // poisoned lock is still a usable connection.
            let conn = inner.conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&conn)
        })
        .await?
    }

    /// Starts a browser session for a new app user; returns the cookie value (only ever sent to the browser)
    /// and the session.
    pub async fn create_session(&self) -> Result<(String, WebSession), DbError> {
        let cookie = random_id(32);
        let session = WebSession {
            id_hash: hash_session_id(&cookie),
            user_id: random_id(16),
        };
        let row = session.clone();
        self.call(move |c| {
            // Sessions end after SESSION_RETENTION; forgetting them here keeps the table from growing.
            c.execute(
                "DELETE FROM web_sessions WHERE created_at < ?1",
                params![unix_now() - secs(SESSION_RETENTION)],
            )?;
            c.execute(
                "INSERT INTO web_sessions (id_hash, user_id, created_at) VALUES (?1, ?2, ?3)",
                params![row.id_hash, row.user_id, unix_now()],
            )?;
            Ok(())
        })
        .await?;
        Ok((cookie, session))
    }

    /// The session whose cookie value is `cookie`, if there is one.
    pub async fn find_session(&self, cookie: &str) -> Result<Option<WebSession>, DbError> {
        let id_hash = hash_session_id(cookie);
        self.call(move |c| {
            let user_id: Option<String> = c
                .query_row(
                    "SELECT user_id FROM web_sessions WHERE id_hash = ?1 AND created_at >= ?2",
                    params![id_hash, unix_now() - secs(SESSION_RETENTION)],
                    |row| row.get(0),
                )
                .optional()?;
            Ok(user_id.map(|user_id| WebSession { id_hash, user_id }))
        })
        .await
    }
}

fn open_blocking(path: &Path) -> Result<Connection, DbError> {
    create_private(path)?;
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers do not block the writer, and a second process (or a second Db) can share the file.
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "SQLite did not switch to WAL mode");
    }
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

/// Creates the database file readable by its owner only: it holds every member's tokens.
fn create_private(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// `bytes` random bytes from the OS's CSPRNG (through rand's thread RNG), base64url without padding.
fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The database key of a session cookie value.
pub fn hash_session_id(cookie: &str) -> String {
    Sha256::digest(cookie.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db_path(name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web_app_store");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}-{}.sqlite3", random_id(6)));
        let _ = std::fs::remove_file(&path);
        path
    }

    #[tokio::test]
    async fn sessions_are_stored_by_hash_in_an_owner_only_file() {
        let path = temp_db_path("sessions");
        let db = Db::open(&path).await.unwrap();
        let (cookie, session) = db.create_session().await.unwrap();
        assert_eq!(cookie.len(), 43, "256 bits, base64url");
        assert_eq!(
            db.find_session(&cookie).await.unwrap(),
            Some(session.clone())
        );
        assert_eq!(db.find_session("forged").await.unwrap(), None);
        let raw = std::fs::read(&path).unwrap();
        let wal = std::fs::read(path.with_extension("sqlite3-wal")).unwrap_or_default();
        for bytes in [&raw, &wal] {
            assert!(
                !bytes.windows(cookie.len()).any(|w| w == cookie.as_bytes()),
                "the cookie value must not be stored"
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner-only file, got {mode:o}");
        }
    }
}
