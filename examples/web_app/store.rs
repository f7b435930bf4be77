//! The web app's SQLite database: the SDK's `TokenStore` (compare-and-swap on a version column, and a refresh
//! lease table so that two workers never both spend one rotating refresh token), the members' browser sessions,
//! and each pending authorization between "Connect" and the payer's callback.
//!
//! rusqlite is a blocking API, so every call runs on tokio's blocking pool (`spawn_blocking`), never on the
//! async worker threads. One `Db` holds one connection; two `Db`s opened on the same file behave like two app
//! processes (WAL mode, and a busy timeout so that a writer waits for the other instead of failing).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use smart_core::{
    Error, LeaseClaim, PendingAuthorization, StoredTokens, TokenSet, TokenStore, Version,
    async_trait,
};

/// How long a writer waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Sessions older than this are forgotten (the cookie's Max-Age in app.rs is the same 30 days).
pub const SESSION_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Pending authorizations older than this are deleted when a new one is stored (the payer's login page and
/// code expire long before).
const PENDING_RETENTION: Duration = Duration::from_secs(3600);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    key        TEXT PRIMARY KEY,
    tokens     TEXT NOT NULL,     -- the SDK's TokenSet as JSON: access and refresh tokens in clear
    version    INTEGER NOT NULL,  -- compare-and-swap counter, see SqliteTokenStore::save
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_leases (
    key        TEXT PRIMARY KEY,  -- tokens.key (a lease may exist before the first save)
    holder     TEXT NOT NULL,     -- the Session refreshing these tokens
    expires_at INTEGER NOT NULL   -- Unix milliseconds: a holder that died stops blocking the member then
);
CREATE TABLE IF NOT EXISTS web_sessions (
    id_hash    TEXT PRIMARY KEY,  -- SHA-256 of the cookie value: a copy of the database opens no session
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_authorizations (
    session    TEXT NOT NULL,     -- web_sessions.id_hash
    payer      TEXT NOT NULL,
    pending    TEXT NOT NULL,     -- the SDK's PendingAuthorization as JSON: state and PKCE verifier
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session, payer)
);
";

/// What went wrong in the database layer. Never a stored value: serde's messages quote the value they could
/// not read (`invalid type: string "<the refresh token>"`) and SQLite's conversion errors can carry it, so both
/// are reduced to where and what kind on the way in (and these messages reach logs and the SDK's errors).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite refused or failed: its result code, or the kind of failure.
    #[error("database: {0}")]
    Sqlite(String),
    /// A stored JSON document did not parse (or a value did not serialize): the kind and the position only.
    #[error("stored data: {0}")]
    Json(String),
    /// The blocking task panicked or was cancelled.
    #[error("database task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A value outside what the schema allows (a negative version).
    #[error("stored data: {0}")]
    Invalid(String),
    /// The database file could not be created.
    #[error("database file: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::Error as E;
        DbError::Sqlite(match &e {
            E::SqliteFailure(code, _) => {
                format!("{:?} (SQLite code {})", code.code, code.extended_code)
            }
            E::QueryReturnedNoRows => "no row".to_owned(),
            E::InvalidColumnType(index, _, ty) => {
                format!("column {index} holds {ty}, not the type read")
            }
            E::FromSqlConversionFailure(index, ty, _) => {
                format!("column {index} ({ty}) could not be converted")
            }
            E::IntegralValueOutOfRange(index, _) => format!("column {index} is out of range"),
            E::ToSqlConversionFailure(_) => "a value could not be stored".to_owned(),
            _ => "SQLite failed".to_owned(),
        })
    }
}

impl From<serde_json::Error> for DbError {
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let kind = match e.classify() {
            Category::Io => "could not be read",
            Category::Syntax => "is not valid JSON",
            Category::Data => "does not have the expected shape",
            Category::Eof => "is truncated",
        };
        DbError::Json(format!(
            "the stored document {kind} (line {}, column {})",
            e.line(),
            e.column()
        ))
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        Error::Store(Box::new(e))
    }
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

    /// Keeps `pending` for this browser and payer until the callback, replacing an earlier attempt.
    pub async fn put_pending(
        &self,
        session: &WebSession,
        payer: &str,
        pending: &PendingAuthorization,
    ) -> Result<(), DbError> {
        let json = serde_json::to_string(pending)?;
        let (session, payer) = (session.id_hash.clone(), payer.to_owned());
        self.call(move |c| {
            let now = unix_now();
            c.execute(
                "DELETE FROM pending_authorizations WHERE created_at < ?1",
                params![now - secs(PENDING_RETENTION)],
            )?;
            c.execute(
                "INSERT OR REPLACE INTO pending_authorizations (session, payer, pending, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![session, payer, json, now],
            )?;
            Ok(())
        })
        .await
    }

    /// Removes and returns the pending authorization of this browser and payer: a callback can use it once.
    pub async fn take_pending(
        &self,
        session: &WebSession,
        payer: &str,
    ) -> Result<Option<PendingAuthorization>, DbError> {
        let (session, payer) = (session.id_hash.clone(), payer.to_owned());
        let json: Option<String> = self
            .call(move |c| {
                Ok(c.query_row(
                    "DELETE FROM pending_authorizations WHERE session = ?1 AND payer = ?2 RETURNING pending",
                    params![session, payer],
                    |row| row.get(0),
                )
                .optional()?)
            })
            .await?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
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

fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The SDK's [`TokenStore`] over the `tokens` table.
///
/// `save` is the compare-and-swap the SDK relies on: an insert that fails on an existing key, or an update guarded
/// by the version that was loaded. The refresh lease (so that two workers never both *send* one rotating refresh
/// token) is a row of `refresh_leases`, claimed with a conditional upsert: SQLite runs each statement
/// atomically, across every connection to the file.
#[derive(Clone)]
pub struct SqliteTokenStore {
    db: Db,
}

impl std::fmt::Debug for SqliteTokenStore {
    // TokenStore requires Debug; print where, never what (the rows hold tokens).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTokenStore")
            .field("path", &self.db.path())
            .finish()
    }
}

impl SqliteTokenStore {
    /// A store over `db`'s `tokens` table.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl TokenStore for SqliteTokenStore {
    async fn load(&self, key: &str) -> smart_core::Result<Option<StoredTokens>> {
        let key = key.to_owned();
        let row: Option<(String, i64)> = self
            .db
            .call(move |c| {
                Ok(c.query_row(
                    "SELECT tokens, version FROM tokens WHERE key = ?1",
                    params![key],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?)
            })
            .await?;
        let Some((json, version)) = row else {
            return Ok(None);
        };
        let tokens: TokenSet = serde_json::from_str(&json).map_err(DbError::from)?;
        let version = Version::try_from(version)
            .map_err(|_| DbError::Invalid(format!("negative token version {version}")))?;
        Ok(Some(StoredTokens::new(tokens, version)))
    }

    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> smart_core::Result<Version> {
        let json = serde_json::to_string(tokens).map_err(DbError::from)?;
        let expected = expected
            .map(i64::try_from)
            .transpose()
            .map_err(|_| DbError::Invalid("token version out of range".into()))?;
        let key = key.to_owned();
        let saved: Option<i64> = self
            .db
            .call(move |c| {
                let now = unix_now();
                let version = match expected {
                    // First save for this key: a row that already exists means someone else saved first.
                    None => c
                        .query_row(
                            "INSERT INTO tokens (key, tokens, version, updated_at) VALUES (?1, ?2, 1, ?3) \
                             ON CONFLICT (key) DO NOTHING RETURNING version",
                            params![key, json, now],
                            |row| row.get(0),
                        )
                        .optional()?,
                    // Only if nobody saved since `v` was loaded; SQLite runs the statement atomically.
                    Some(v) => c
                        .query_row(
                            "UPDATE tokens SET tokens = ?1, version = version + 1, updated_at = ?2 \
                             WHERE key = ?3 AND version = ?4 RETURNING version",
                            params![json, now, key, v],
                            |row| row.get(0),
                        )
                        .optional()?,
                };
                Ok(version)
            })
            .await?;
        match saved {
            None => Err(Error::StoreConflict),
            Some(v) => Ok(Version::try_from(v)
                .map_err(|_| DbError::Invalid(format!("negative token version {v}")))?),
        }
    }

    async fn delete(&self, key: &str) -> smart_core::Result<()> {
        let key = key.to_owned();
        self.db
            .call(move |c| {
                let tx = c.unchecked_transaction()?;
                tx.execute("DELETE FROM tokens WHERE key = ?1", params![key])?;
                tx.execute("DELETE FROM refresh_leases WHERE key = ?1", params![key])?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn try_claim_refresh(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> smart_core::Result<LeaseClaim> {
        let (key, holder) = (key.to_owned(), holder.to_owned());
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let claimed: Option<String> = self
            .db
            .call(move |c| {
                let now = unix_millis();
                // A new row, or taking over an expired lease (or renewing our own); a running lease of another
                // holder matches no row, so nothing comes back.
                Ok(c.query_row(
                    "INSERT INTO refresh_leases (key, holder, expires_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                     WHERE refresh_leases.expires_at <= ?4 OR refresh_leases.holder = excluded.holder \
                     RETURNING holder",
                    params![key, holder, now.saturating_add(ttl_ms), now],
                    |row| row.get(0),
                )
                .optional()?)
            })
            .await?;
        Ok(match claimed {
            Some(_) => LeaseClaim::Claimed,
            None => LeaseClaim::HeldElsewhere,
        })
    }

    async fn release_refresh(&self, key: &str, holder: &str) -> smart_core::Result<()> {
        let (key, holder) = (key.to_owned(), holder.to_owned());
        self.db
            .call(move |c| {
                c.execute(
                    "DELETE FROM refresh_leases WHERE key = ?1 AND holder = ?2",
                    params![key, holder],
                )?;
                Ok(())
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn temp_db_path(name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web_app_store");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}-{}.sqlite3", random_id(6)));
        let _ = std::fs::remove_file(&path);
        path
    }

    fn tokens(access: &str) -> TokenSet {
        TokenSet::bearer(
            SecretString::from(access.to_owned()),
            Some(Duration::from_secs(3600)),
        )
        .with_refresh_token(SecretString::from(format!("rt-{access}")))
        .with_patient("p-1")
    }

    #[tokio::test]
    async fn store_errors_never_quote_a_stored_value() {
        let db = Db::open(temp_db_path("quote")).await.unwrap();
        let store = SqliteTokenStore::new(db.clone());
        // Stored rows that do not read back: a secret where a number belongs (serde quotes it), a secret that
        // is not JSON at all, a camelCase document, and a secret in a column of the wrong type.
        let rows: [(&str, rusqlite::types::Value); 4] = [
            (
                "a",
                r#"{"access_token":"AT-SECRET-1","token_type":"Bearer","expires_at":"RT-SECRET-1"}"#
                    .to_owned()
                    .into(),
            ),
            ("b", "refresh_token=RT-SECRET-2&x".to_owned().into()),
            (
                "c",
                r#"{"accessToken":"AT-SECRET-3","refresh_token":{"v":"RT-SECRET-3"}}"#
                    .to_owned()
                    .into(),
            ),
            ("d", b"AT-SECRET-4".to_vec().into()),
        ];
        for (key, value) in rows {
            let key = key.to_owned();
            db.call(move |c| {
                c.execute(
                    "INSERT INTO tokens (key, tokens, version, updated_at) VALUES (?1, ?2, 1, 0)",
                    params![key, value],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        }
        for key in ["a", "b", "c", "d"] {
            let err = store.load(key).await.unwrap_err();
            assert!(matches!(err, Error::Store(_)), "{key}: {err:?}");
            for shown in [err.to_string(), format!("{err:?}")] {
                assert!(!shown.contains("SECRET"), "{key}: {shown}");
            }
        }
        // The error still says where: the kind and the position.
        let err = store.load("a").await.unwrap_err().to_string();
        assert!(
            err.contains("expected shape") && err.contains("line 1"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn insert_update_conflict_and_delete_round_trip() {
        let store = SqliteTokenStore::new(Db::open(temp_db_path("round-trip")).await.unwrap());
        assert!(store.load("u:aetna").await.unwrap().is_none());
        assert!(matches!(
            store.save("u:aetna", &tokens("a"), Some(1)).await,
            Err(Error::StoreConflict)
        ));
        let v1 = store.save("u:aetna", &tokens("a"), None).await.unwrap();
        assert_eq!(v1, 1);
        assert!(
            matches!(
                store.save("u:aetna", &tokens("b"), None).await,
                Err(Error::StoreConflict)
            ),
            "a second first-save must not overwrite"
        );
        let v2 = store.save("u:aetna", &tokens("b"), Some(v1)).await.unwrap();
        assert_eq!(v2, 2);
        assert!(matches!(
            store.save("u:aetna", &tokens("c"), Some(v1)).await,
            Err(Error::StoreConflict)
        ));
        let loaded = store.load("u:aetna").await.unwrap().unwrap();
        assert_eq!(loaded.version, 2);
        use secrecy::ExposeSecret as _;
        assert_eq!(loaded.tokens.access_token().expose_secret(), "b");
        assert_eq!(
            loaded.tokens.refresh_token().unwrap().expose_secret(),
            "rt-b"
        );
        assert_eq!(loaded.tokens.patient(), Some("p-1"));
        store.delete("u:aetna").await.unwrap();
        store.delete("u:aetna").await.unwrap();
        assert!(store.load("u:aetna").await.unwrap().is_none());
        // Debug names the file, never a token.
        let debug = format!("{store:?}");
        assert!(
            debug.contains("round-trip") && !debug.contains("rt-"),
            "{debug}"
        );
    }

    /// Two workers (two connections to one file) load version 1 and both try to save a refreshed token set:
    /// exactly one wins, the other gets `StoreConflict`, and the row holds the winner's tokens.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_concurrent_saves_from_one_version_one_wins() {
        use secrecy::ExposeSecret as _;
        let path = temp_db_path("cas");
        let a = SqliteTokenStore::new(Db::open(&path).await.unwrap());
        let b = SqliteTokenStore::new(Db::open(&path).await.unwrap());
        for round in 0..25 {
            let key = format!("user-{round}:cigna");
            let v1 = a.save(&key, &tokens("original"), None).await.unwrap();
            let barrier = Arc::new(tokio::sync::Barrier::new(2));
            let race = |store: SqliteTokenStore, name: &'static str| {
                let (key, barrier) = (key.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    (name, store.save(&key, &tokens(name), Some(v1)).await)
                })
            };
            let (ra, rb) = (race(a.clone(), "worker-a"), race(b.clone(), "worker-b"));
            let results = [ra.await.unwrap(), rb.await.unwrap()];
            let winners: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).collect();
            assert_eq!(winners.len(), 1, "round {round}: {results:?}");
            let loser = results.iter().find(|(_, r)| r.is_err()).unwrap();
            assert!(
                matches!(loser.1, Err(Error::StoreConflict)),
                "{:?}",
                loser.1
            );
            let stored = b.load(&key).await.unwrap().unwrap();
            assert_eq!(stored.version, v1 + 1);
            assert_eq!(stored.tokens.access_token().expose_secret(), winners[0].0);
        }
    }

    #[tokio::test]
    async fn the_store_meets_the_token_store_contract() {
        let store = SqliteTokenStore::new(Db::open(temp_db_path("conformance")).await.unwrap());
        smart_core::store::conformance::check_all(&store)
            .await
            .unwrap();
    }

    /// Two connections to one file (two app processes): the lease claimed through one is held for the other.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_lease_is_exclusive_across_connections() {
        let path = temp_db_path("lease");
        let a = SqliteTokenStore::new(Db::open(&path).await.unwrap());
        let b = SqliteTokenStore::new(Db::open(&path).await.unwrap());
        let ttl = Duration::from_secs(60);
        for round in 0..10 {
            let key = format!("user-{round}:cigna");
            let (ra, rb) = tokio::join!(
                a.try_claim_refresh(&key, "worker-a", ttl),
                b.try_claim_refresh(&key, "worker-b", ttl)
            );
            let claims = [ra.unwrap(), rb.unwrap()];
            assert_eq!(
                claims.iter().filter(|c| **c == LeaseClaim::Claimed).count(),
                1,
                "round {round}: {claims:?}"
            );
        }
    }

    #[tokio::test]
    async fn sessions_are_stored_by_hash_and_pending_authorizations_are_single_use() {
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
        assert!(db.take_pending(&session, "aetna").await.unwrap().is_none());

        let pending: PendingAuthorization = serde_json::from_value(serde_json::json!({
            "state": "s".repeat(43), "code_verifier": "v".repeat(43),
            "redirect_uri": "http://127.0.0.1:3000/callback/aetna", "scopes": ["openid"],
            "adapter_id": "aetna-sandbox", "created_at": 1_700_000_000u64
        }))
        .unwrap();
        db.put_pending(&session, "aetna", &pending).await.unwrap();
        let (_, other) = db.create_session().await.unwrap();
        assert!(
            db.take_pending(&other, "aetna").await.unwrap().is_none(),
            "another browser cannot use it"
        );
        assert!(db.take_pending(&session, "cigna").await.unwrap().is_none());
        let taken = db.take_pending(&session, "aetna").await.unwrap().unwrap();
        assert_eq!(taken.adapter_id(), "aetna-sandbox");
        assert!(
            db.take_pending(&session, "aetna").await.unwrap().is_none(),
            "single use"
        );
    }
}
