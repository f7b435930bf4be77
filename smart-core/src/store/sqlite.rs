//! [`SqliteStore`]: a [`TokenStore`] and [`PendingStore`] in one SQLite database file, shared safely by every
//! process on the machine that opens it (feature `store-sqlite`).
//!
//! SQLite is built from source (rusqlite's `bundled`), so nothing has to be installed. rusqlite's API blocks, so
//! every statement runs on tokio's blocking pool (`spawn_blocking`) on one of a small pool of connections, never
//! on an async worker thread. The file is opened in WAL mode (readers never block the writer) with a busy
//! timeout (a writer waits for another process's write instead of failing), and created readable by its owner
//! only: it holds every member's tokens. Wrap the store in an
//! [`EncryptedStore`](super::encrypted::EncryptedStore) (feature `store-encrypted`) to seal them at rest.
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> smart_core::Result<()> {
//! use std::sync::Arc;
//! use smart_core::store::sqlite::{SqliteOptions, SqliteStore};
//! let store = Arc::new(SqliteStore::open("tokens.sqlite3", SqliteOptions::default()).await?);
//! // sdk.session(store.clone(), "user-1:aetna") …
//! # Ok(()) }
//! ```
//!
//! # Schema
//!
//! The store creates its tables on open and records the schema's version in `schema_version` (it refuses a file
//! whose schema is newer than it knows). Teams that manage schemas themselves create the tables below (with
//! [`SqliteOptions::table_prefix`] before each name, if set) and open with
//! [`SqliteOptions::migrate`]`(false)`:
//!
//! ```sql
//! CREATE TABLE schema_version (version INTEGER NOT NULL);
//! INSERT INTO schema_version (version) VALUES (1);
//! CREATE TABLE tokens (
//!     key        TEXT PRIMARY KEY,
//!     tokens     TEXT NOT NULL,     -- the TokenSet as JSON (sealed when wrapped in an EncryptedStore)
//!     version    INTEGER NOT NULL,  -- compare-and-swap counter
//!     updated_at INTEGER NOT NULL   -- Unix milliseconds
//! );
//! CREATE TABLE refresh_leases (
//!     key        TEXT PRIMARY KEY,  -- tokens.key (a lease may exist before the first save)
//!     holder     TEXT NOT NULL,     -- the Session refreshing these tokens
//!     expires_at INTEGER NOT NULL   -- Unix milliseconds: a holder that died stops blocking the member then
//! );
//! CREATE TABLE pending_authorizations (
//!     key        TEXT PRIMARY KEY,
//!     pending    TEXT NOT NULL,     -- the PendingAuthorization as JSON (sealed when wrapped)
//!     expires_at INTEGER NOT NULL   -- Unix milliseconds
//! );
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension as _, params};
use tokio::sync::Semaphore;

use super::{
    LeaseClaim, PendingStore, StoredTokens, TokenStore, Version, millis, unix_millis,
    valid_identifier,
};
use crate::{Error, PendingAuthorization, Result, TokenSet};

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// What went wrong in the SQLite store. Never holds a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// SQLite refused or failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored document did not parse, or a value did not serialize.
    #[error("sqlite store data: {0}")]
    Json(String),
    /// The blocking task panicked or the runtime is shutting down.
    #[error("sqlite store task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The database file could not be created.
    #[error("sqlite store file: {0}")]
    Io(#[from] std::io::Error),
    /// The options are not usable (a table prefix that is not a plain identifier, a pool of 0).
    #[error("sqlite store options: {0}")]
    Options(String),
    /// The file's schema is not the one this code knows: newer (written by a later SDK), or missing while
    /// [`SqliteOptions::migrate`] is off.
    #[error("sqlite store schema: found version {found:?}, this SDK uses {SCHEMA_VERSION}")]
    Schema {
        /// The version recorded in the file (`None`: no `schema_version` row or table).
        found: Option<i64>,
    },
    /// A value outside what the schema allows (a negative version).
    #[error("sqlite store data: {0}")]
    Invalid(String),
}

impl From<serde_json::Error> for SqliteError {
    fn from(e: serde_json::Error) -> Self {
        SqliteError::Json(crate::store::describe_json_error(&e))
    }
}

impl From<SqliteError> for Error {
    fn from(e: SqliteError) -> Self {
        Error::Store(Box::new(e))
    }
}

/// How [`SqliteStore::open`] opens the database.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Connections kept open (and statements running at once); 4 by default. SQLite runs one writer at a time
    /// whatever this is; more connections let reads proceed beside it.
    pub pool_size: usize,
    /// Put before every table name (`"app_"` → `app_tokens`); empty by default. Letters, digits and `_`.
    pub table_prefix: String,
    /// Create or upgrade the tables on open (default `true`). Off: the tables must exist at
    /// [`SCHEMA_VERSION`] (see the [module docs](self) for their `CREATE TABLE`).
    pub migrate: bool,
    /// How long a statement waits for another connection's (process's) write lock; 5 s by default.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            pool_size: 4,
            table_prefix: String::new(),
            migrate: true,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

impl SqliteOptions {
    /// Sets [`pool_size`](SqliteOptions::pool_size).
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n;
        self
    }

    /// Sets [`table_prefix`](SqliteOptions::table_prefix).
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.table_prefix = prefix.into();
        self
    }

    /// Sets [`migrate`](SqliteOptions::migrate).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Sets [`busy_timeout`](SqliteOptions::busy_timeout).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
}

/// The SQL text of every statement, with the table names filled in once.
#[derive(Debug)]
struct Sql {
    version_table: String,
    load: String,
    insert: String,
    update: String,
    delete_tokens: String,
    delete_lease: String,
    claim: String,
    release: String,
    purge_pending: String,
    put_pending: String,
    take_pending: String,
}

impl Sql {
    fn new(p: &str) -> Self {
        Self {
            version_table: format!("{p}schema_version"),
            load: format!("SELECT tokens, version FROM {p}tokens WHERE key = ?1"),
            insert: format!(
                "INSERT INTO {p}tokens (key, tokens, version, updated_at) VALUES (?1, ?2, 1, ?3) \
                 ON CONFLICT (key) DO NOTHING RETURNING version"
            ),
            update: format!(
                "UPDATE {p}tokens SET tokens = ?1, version = version + 1, updated_at = ?2 \
                 WHERE key = ?3 AND version = ?4 RETURNING version"
            ),
            delete_tokens: format!("DELETE FROM {p}tokens WHERE key = ?1"),
            delete_lease: format!("DELETE FROM {p}refresh_leases WHERE key = ?1"),
            claim: format!(
                "INSERT INTO {p}refresh_leases (key, holder, expires_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE {p}refresh_leases.expires_at <= ?4 OR {p}refresh_leases.holder = excluded.holder \
                 RETURNING holder"
            ),
            release: format!("DELETE FROM {p}refresh_leases WHERE key = ?1 AND holder = ?2"),
            purge_pending: format!("DELETE FROM {p}pending_authorizations WHERE expires_at <= ?1"),
            put_pending: format!(
                "INSERT INTO {p}pending_authorizations (key, pending, expires_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (key) DO UPDATE SET pending = excluded.pending, expires_at = excluded.expires_at"
            ),
            take_pending: format!(
                "DELETE FROM {p}pending_authorizations WHERE key = ?1 RETURNING pending, expires_at"
            ),
        }
    }

    fn schema_v1(p: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {p}tokens (
                key        TEXT PRIMARY KEY,
                tokens     TEXT NOT NULL,
                version    INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS {p}refresh_leases (
                key        TEXT PRIMARY KEY,
                holder     TEXT NOT NULL,
                expires_at INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS {p}pending_authorizations (
                key        TEXT PRIMARY KEY,
                pending    TEXT NOT NULL,
                expires_at INTEGER NOT NULL
            );"
        )
    }
}

/// Members' tokens, refresh leases and pending authorizations in one SQLite file (see the
/// [module docs](self)). Cheap to clone: clones share the connection pool. Two `SqliteStore`s opened on one
/// file (in one process or several) coordinate through it: saves are compare-and-swap on a version column, and
/// the refresh lease is a row claimed with one conditional upsert, which SQLite runs atomically across every
/// connection to the file. `Debug` shows the path, never a row.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    options: SqliteOptions,
    sql: Sql,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("table_prefix", &self.inner.options.table_prefix)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating when missing, owner-only) the database at `path`, and creates or checks its tables.
    pub async fn open(path: impl Into<PathBuf>, options: SqliteOptions) -> Result<Self> {
        if !valid_identifier(&options.table_prefix, true) {
            return Err(SqliteError::Options(
                "the table prefix must be ASCII letters, digits and '_'".into(),
            )
            .into());
        }
        if options.pool_size == 0 {
            return Err(
                SqliteError::Options("the pool needs at least one connection".into()).into(),
            );
        }
        let store = Self {
            inner: Arc::new(Inner {
                path: path.into(),
                sql: Sql::new(&options.table_prefix),
                permits: Semaphore::new(options.pool_size),
                idle: Mutex::new(Vec::new()),
                options,
            }),
        };
        let prefix = store.inner.options.table_prefix.clone();
        let migrate = store.inner.options.migrate;
        store
            .call(move |c, sql| {
                if migrate {
                    migrate_blocking(c, sql, &prefix)
                } else {
                    check_version(c, sql)
                }
            })
            .await?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a pooled connection, on the blocking pool.
    async fn call<R, F>(&self, f: F) -> std::result::Result<R, SqliteError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection, &Sql) -> std::result::Result<R, SqliteError> + Send + 'static,
    {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| SqliteError::Options("the store's pool is closed".into()))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let idle = inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let conn = match idle {
                Some(c) => c,
                None => open_connection(&inner.path, inner.options.busy_timeout)?,
            };
            let result = f(&conn, &inner.sql);
            // A connection whose statement failed is still usable (SQLite rolled the statement back).
            inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
            result
        })
        .await?
    }
}

fn open_connection(
    path: &Path,
    busy_timeout: Duration,
) -> std::result::Result<Connection, SqliteError> {
    create_private(path)?;
    let conn = Connection::open(path)?;
    conn.busy_timeout(busy_timeout)?;
    // WAL: readers do not block the writer, and other processes share the file.
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "SQLite did not switch to WAL mode");
    }
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

fn recorded_version(c: &Connection, sql: &Sql) -> std::result::Result<Option<i64>, SqliteError> {
    let exists: bool = c.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        params![sql.version_table],
        |row| row.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    Ok(c.query_row(
        &format!("SELECT max(version) FROM {}", sql.version_table),
        [],
        |row| row.get::<_, Option<i64>>(0),
    )?)
}

fn check_version(c: &Connection, sql: &Sql) -> std::result::Result<(), SqliteError> {
    match recorded_version(c, sql)? {
        Some(SCHEMA_VERSION) => Ok(()),
        found => Err(SqliteError::Schema { found }),
    }
}

/// Creates or upgrades the schema in one write transaction, so that processes opening a new file at once
/// create it once.
fn migrate_blocking(
    c: &Connection,
    sql: &Sql,
    prefix: &str,
) -> std::result::Result<(), SqliteError> {
    c.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        c.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {} (version INTEGER NOT NULL)",
            sql.version_table
        ))?;
        match recorded_version(c, sql)? {
            None => {
                c.execute_batch(&Sql::schema_v1(prefix))?;
                c.execute(
                    &format!("INSERT INTO {} (version) VALUES (?1)", sql.version_table),
                    params![SCHEMA_VERSION],
                )?;
                Ok(())
            }
            Some(SCHEMA_VERSION) => Ok(()),
            found => Err(SqliteError::Schema { found }),
        }
    })();
    match result {
        Ok(()) => {
            c.execute_batch("COMMIT")?;
            Ok(())
        }
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn to_version(v: i64) -> std::result::Result<Version, SqliteError> {
    Version::try_from(v).map_err(|_| SqliteError::Invalid(format!("negative token version {v}")))
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn load(&self, key: &str) -> Result<Option<StoredTokens>> {
        let key = key.to_owned();
        let row: Option<(String, i64)> = self
            .call(move |c, sql| {
                Ok(c.prepare_cached(&sql.load)?
                    .query_row(params![key], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?)
            })
            .await?;
        let Some((json, version)) = row else {
            return Ok(None);
        };
        let tokens: TokenSet = serde_json::from_str(&json).map_err(SqliteError::from)?;
        Ok(Some(StoredTokens::new(tokens, to_version(version)?)))
    }

    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> Result<Version> {
        let json = serde_json::to_string(tokens).map_err(SqliteError::from)?;
        let expected = expected
            .map(i64::try_from)
            .transpose()
            .map_err(|_| SqliteError::Invalid("token version out of range".into()))?;
        let key = key.to_owned();
        let saved: Option<i64> = self
            .call(move |c, sql| {
                let now = unix_millis();
                Ok(match expected {
                    // A row that already exists means someone else saved first.
                    None => c
                        .prepare_cached(&sql.insert)?
                        .query_row(params![key, json, now], |row| row.get(0))
                        .optional()?,
                    // Only if nobody saved since `v` was loaded.
                    Some(v) => c
                        .prepare_cached(&sql.update)?
                        .query_row(params![json, now, key, v], |row| row.get(0))
                        .optional()?,
                })
            })
            .await?;
        match saved {
            None => Err(Error::StoreConflict),
            Some(v) => Ok(to_version(v)?),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let key = key.to_owned();
        self.call(move |c, sql| {
            let tx = c.unchecked_transaction()?;
            tx.execute(&sql.delete_tokens, params![key])?;
            tx.execute(&sql.delete_lease, params![key])?;
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
    ) -> Result<LeaseClaim> {
        let (key, holder, ttl) = (key.to_owned(), holder.to_owned(), millis(ttl));
        let claimed: Option<String> = self
            .call(move |c, sql| {
                let now = unix_millis();
                // A new row, an expired lease taken over, or our own renewed; a running lease of another
                // holder matches no row, so nothing comes back.
                Ok(c.prepare_cached(&sql.claim)?
                    .query_row(params![key, holder, now.saturating_add(ttl), now], |row| {
                        row.get(0)
                    })
                    .optional()?)
            })
            .await?;
        Ok(match claimed {
            Some(_) => LeaseClaim::Claimed,
            None => LeaseClaim::HeldElsewhere,
        })
    }

    async fn release_refresh(&self, key: &str, holder: &str) -> Result<()> {
        let (key, holder) = (key.to_owned(), holder.to_owned());
        self.call(move |c, sql| {
            c.prepare_cached(&sql.release)?
                .execute(params![key, holder])?;
            Ok(())
        })
        .await?;
        Ok(())
    }
}

#[async_trait]
impl PendingStore for SqliteStore {
    async fn put(&self, key: &str, pending: &PendingAuthorization, ttl: Duration) -> Result<()> {
        let json = serde_json::to_string(pending).map_err(SqliteError::from)?;
        let (key, ttl) = (key.to_owned(), millis(ttl));
        self.call(move |c, sql| {
            let now = unix_millis();
            // Expired rows go here, so the table does not grow with abandoned logins.
            c.prepare_cached(&sql.purge_pending)?
                .execute(params![now])?;
            c.prepare_cached(&sql.put_pending)?.execute(params![
                key,
                json,
                now.saturating_add(ttl)
            ])?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn take(&self, key: &str) -> Result<Option<PendingAuthorization>> {
        let key = key.to_owned();
        let row: Option<(String, i64)> = self
            .call(move |c, sql| {
                // One statement: of concurrent takes, one deletes the row and gets it back.
                Ok(c.prepare_cached(&sql.take_pending)?
                    .query_row(params![key], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?)
            })
            .await?;
        match row {
            Some((json, expires_at)) if expires_at > unix_millis() => Ok(Some(
                serde_json::from_str(&json).map_err(SqliteError::from)?,
            )),
            _ => Ok(None),
        }
    }
}
