//! [`PostgresStore`]: a [`TokenStore`] and [`PendingStore`] in PostgreSQL, shared by every process and machine
//! that connects to the database (feature `store-postgres`).
//!
//! Built on `tokio-postgres` (async, no blocking) with a `deadpool-postgres` connection pool. Saves are
//! compare-and-swap on a version column; the refresh lease is a row claimed with one conditional upsert
//! (`INSERT … ON CONFLICT DO UPDATE … WHERE`), which PostgreSQL runs atomically; lease times come from the
//! database's clock, so machines with skewed clocks still agree on when a lease ends. Wrap the store in an
//! [`EncryptedStore`](super::encrypted::EncryptedStore) (feature `store-encrypted`) to seal tokens at rest.
//!
//! [`PostgresStore::connect`] connects without TLS (a database on the same host or a private network). For TLS,
//! build a `deadpool_postgres::Pool` with your TLS connector and pass it to [`PostgresStore::from_pool`].
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> smart_core::Result<()> {
//! use std::sync::Arc;
//! use smart_core::store::postgres::{PostgresOptions, PostgresStore};
//! let options = PostgresOptions::default().schema("patient_access");
//! let store = Arc::new(PostgresStore::connect("host=127.0.0.1 user=app dbname=app", options).await?);
//! # Ok(()) }
//! ```
//!
//! # Schema
//!
//! The store creates its schema (when [`PostgresOptions::schema`] is set) and tables on connect, under a
//! transaction-scoped advisory lock so that processes starting at once create them once, and records the
//! version in `schema_version`. Teams that manage schemas themselves run the statements below (each table
//! name qualified with the schema, if set) and connect with [`PostgresOptions::migrate`]`(false)`:
//!
//! ```sql
//! CREATE TABLE schema_version (version INTEGER NOT NULL);
//! INSERT INTO schema_version (version) VALUES (1);
//! CREATE TABLE tokens (
//!     key        TEXT PRIMARY KEY,
//!     tokens     TEXT NOT NULL,     -- the TokenSet as JSON (sealed when wrapped in an EncryptedStore)
//!     version    BIGINT NOT NULL,   -- compare-and-swap counter
//!     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
//! );
//! CREATE TABLE refresh_leases (
//!     key        TEXT PRIMARY KEY,
//!     holder     TEXT NOT NULL,
//!     expires_at BIGINT NOT NULL    -- Unix milliseconds, from the database's clock
//! );
//! CREATE TABLE pending_authorizations (
//!     key        TEXT PRIMARY KEY,
//!     pending    TEXT NOT NULL,     -- the PendingAuthorization as JSON (sealed when wrapped)
//!     expires_at BIGINT NOT NULL    -- Unix milliseconds, from the database's clock
//! );
//! ```

use std::time::Duration;

use async_trait::async_trait;
/// The pool crate, for [`PostgresStore::from_pool`] (the same version this store is built with).
#[doc(no_inline)]
pub use deadpool_postgres;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
/// The client crate, for its `Config` and TLS connectors (the same version this store is built with).
#[doc(no_inline)]
pub use tokio_postgres;
use tokio_postgres::NoTls;

use super::{
    LeaseClaim, PendingStore, StoredTokens, TokenStore, Version, millis, valid_identifier,
};
use crate::{Error, PendingAuthorization, Result, TokenSet};

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: i32 = 1;

/// The database's clock in Unix milliseconds (`clock_timestamp()`: the statement's own time, not its
/// transaction's).
const NOW_MS: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

/// An arbitrary constant naming this store's migration lock (`pg_advisory_xact_lock`).
const MIGRATION_LOCK: i64 = 0x7061_7469_656e_7431;

/// What went wrong in the PostgreSQL store. Never holds a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// PostgreSQL refused or the connection failed.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No pooled connection could be had.
    #[error("postgres pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The pool could not be built.
    #[error("postgres pool: {0}")]
    Build(#[from] deadpool_postgres::BuildError),
    /// A stored document did not parse, or a value did not serialize.
    #[error("postgres store data: {0}")]
    Json(String),
    /// The options are not usable (a schema or prefix that is not a plain identifier, a bad connection string).
    #[error("postgres store options: {0}")]
    Options(String),
    /// The database's schema is not the one this code knows: newer, or missing while migration is off.
    #[error("postgres store schema: found version {found:?}, this SDK uses {SCHEMA_VERSION}")]
    Schema {
        /// The version recorded (`None`: no table or row).
        found: Option<i32>,
    },
    /// A value outside what the schema allows (a negative version).
    #[error("postgres store data: {0}")]
    Invalid(String),
}

impl From<serde_json::Error> for PostgresError {
    fn from(e: serde_json::Error) -> Self {
        PostgresError::Json(crate::store::describe_json_error(&e))
    }
}

impl From<PostgresError> for Error {
    fn from(e: PostgresError) -> Self {
        Error::Store(Box::new(e))
    }
}

/// How [`PostgresStore`] names and creates its tables, and sizes its pool.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// The schema holding the tables (created when missing); `None` (the default): the connection's
    /// `search_path`. Letters, digits and `_`.
    pub schema: Option<String>,
    /// Put before every table name; empty by default. Letters, digits and `_`.
    pub table_prefix: String,
    /// Create or upgrade the tables on connect (default `true`).
    pub migrate: bool,
    /// Connections in the pool ([`PostgresStore::connect`] only); 8 by default.
    pub pool_size: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            schema: None,
            table_prefix: String::new(),
            migrate: true,
            pool_size: 8,
        }
    }
}

impl PostgresOptions {
    /// Sets [`schema`](PostgresOptions::schema).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Sets [`table_prefix`](PostgresOptions::table_prefix).
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.table_prefix = prefix.into();
        self
    }

    /// Sets [`migrate`](PostgresOptions::migrate).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Sets [`pool_size`](PostgresOptions::pool_size).
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n;
        self
    }
}

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
    fn new(q: &str) -> Self {
        Self {
            version_table: format!("{q}schema_version"),
            load: format!("SELECT tokens, version FROM {q}tokens WHERE key = $1"),
            insert: format!(
                "INSERT INTO {q}tokens (key, tokens, version) VALUES ($1, $2, 1) \
                 ON CONFLICT (key) DO NOTHING RETURNING version"
            ),
            update: format!(
                "UPDATE {q}tokens SET tokens = $1, version = version + 1, updated_at = now() \
                 WHERE key = $2 AND version = $3 RETURNING version"
            ),
            delete_tokens: format!("DELETE FROM {q}tokens WHERE key = $1"),
            delete_lease: format!("DELETE FROM {q}refresh_leases WHERE key = $1"),
            claim: format!(
                "INSERT INTO {q}refresh_leases AS l (key, holder, expires_at) VALUES ($1, $2, {NOW_MS} + $3) \
                 ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE l.expires_at <= {NOW_MS} OR l.holder = excluded.holder \
                 RETURNING holder"
            ),
            release: format!("DELETE FROM {q}refresh_leases WHERE key = $1 AND holder = $2"),
            purge_pending: format!(
                "DELETE FROM {q}pending_authorizations WHERE expires_at <= {NOW_MS}"
            ),
            put_pending: format!(
                "INSERT INTO {q}pending_authorizations (key, pending, expires_at) VALUES ($1, $2, {NOW_MS} + $3) \
                 ON CONFLICT (key) DO UPDATE SET pending = excluded.pending, expires_at = excluded.expires_at"
            ),
            take_pending: format!(
                "DELETE FROM {q}pending_authorizations WHERE key = $1 \
                 RETURNING pending, expires_at > {NOW_MS}"
            ),
        }
    }

    fn schema_v1(q: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {q}tokens (
                key        TEXT PRIMARY KEY,
                tokens     TEXT NOT NULL,
                version    BIGINT NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
            );
            CREATE TABLE IF NOT EXISTS {q}refresh_leases (
                key        TEXT PRIMARY KEY,
                holder     TEXT NOT NULL,
                expires_at BIGINT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS {q}pending_authorizations (
                key        TEXT PRIMARY KEY,
                pending    TEXT NOT NULL,
                expires_at BIGINT NOT NULL
            );"
        )
    }
}

/// Members' tokens, refresh leases and pending authorizations in PostgreSQL (see the [module docs](self)).
/// Cheap to clone (the pool is shared). `Debug` shows the schema and prefix, never a row or a password.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    options: PostgresOptions,
    sql: std::sync::Arc<Sql>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.options.schema)
            .field("table_prefix", &self.options.table_prefix)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects (without TLS) with a libpq-style connection string (`host=… user=… dbname=…` or a
    /// `postgresql://` URL), and creates or checks the tables.
    pub async fn connect(config: &str, options: PostgresOptions) -> Result<Self> {
        let pg: tokio_postgres::Config = config
            .parse()
            .map_err(|_| PostgresError::Options("the connection string does not parse".into()))?;
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .build()
            .map_err(PostgresError::from)?;
        Self::from_pool(pool, options).await
    }

    /// A store over an existing pool (e.g. one with a TLS connector), creating or checking the tables.
    pub async fn from_pool(pool: Pool, options: PostgresOptions) -> Result<Self> {
        let schema_ok = options
            .schema
            .as_deref()
            .is_none_or(|s| valid_identifier(s, false));
        if !schema_ok || !valid_identifier(&options.table_prefix, true) {
            return Err(PostgresError::Options(
                "the schema and table prefix must be ASCII letters, digits and '_'".into(),
            )
            .into());
        }
        let qualifier = match &options.schema {
            Some(s) => format!("{s}.{}", options.table_prefix),
            None => options.table_prefix.clone(),
        };
        let store = Self {
            sql: std::sync::Arc::new(Sql::new(&qualifier)),
            pool,
            options,
        };
        if store.options.migrate {
            store.migrate(&qualifier).await?;
        } else {
            match store.recorded_version().await? {
                Some(SCHEMA_VERSION) => {}
                found => return Err(PostgresError::Schema { found }.into()),
            }
        }
        Ok(store)
    }

    async fn client(&self) -> std::result::Result<deadpool_postgres::Object, PostgresError> {
        Ok(self.pool.get().await?)
    }

    async fn recorded_version(&self) -> std::result::Result<Option<i32>, PostgresError> {
        let client = self.client().await?;
        let exists: bool = client
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&self.sql.version_table],
            )
            .await?
            .get(0);
        if !exists {
            return Ok(None);
        }
        let row = client
            .query_one(
                &format!("SELECT max(version) FROM {}", self.sql.version_table),
                &[],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn migrate(&self, qualifier: &str) -> std::result::Result<(), PostgresError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        if let Some(schema) = &self.options.schema {
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await?;
        }
        tx.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} (version INTEGER NOT NULL)",
            self.sql.version_table
        ))
        .await?;
        let found: Option<i32> = tx
            .query_one(
                &format!("SELECT max(version) FROM {}", self.sql.version_table),
                &[],
            )
            .await?
            .get(0);
        match found {
            None => {
                tx.batch_execute(&Sql::schema_v1(qualifier)).await?;
                tx.execute(
                    &format!(
                        "INSERT INTO {} (version) VALUES ($1)",
                        self.sql.version_table
                    ),
                    &[&SCHEMA_VERSION],
                )
                .await?;
            }
            Some(SCHEMA_VERSION) => {}
            found => return Err(PostgresError::Schema { found }),
        }
        tx.commit().await?;
        Ok(())
    }
}

fn to_version(v: i64) -> std::result::Result<Version, PostgresError> {
    Version::try_from(v).map_err(|_| PostgresError::Invalid(format!("negative token version {v}")))
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn load(&self, key: &str) -> Result<Option<StoredTokens>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.load)
            .await
            .map_err(PostgresError::from)?;
        let Some(row) = client
            .query_opt(&stmt, &[&key])
            .await
            .map_err(PostgresError::from)?
        else {
            return Ok(None);
        };
        let (json, version): (String, i64) = (row.get(0), row.get(1));
        let tokens: TokenSet = serde_json::from_str(&json).map_err(PostgresError::from)?;
        Ok(Some(StoredTokens::new(tokens, to_version(version)?)))
    }

    async fn save(
        &self,
        key: &str,
        tokens: &TokenSet,
        expected: Option<Version>,
    ) -> Result<Version> {
        let json = serde_json::to_string(tokens).map_err(PostgresError::from)?;
        let client = self.client().await?;
        let row = match expected {
            None => {
                let stmt = client
                    .prepare_cached(&self.sql.insert)
                    .await
                    .map_err(PostgresError::from)?;
                client.query_opt(&stmt, &[&key, &json]).await
            }
            Some(v) => {
                let v = i64::try_from(v)
                    .map_err(|_| PostgresError::Invalid("token version out of range".into()))?;
                let stmt = client
                    .prepare_cached(&self.sql.update)
                    .await
                    .map_err(PostgresError::from)?;
                client.query_opt(&stmt, &[&json, &key, &v]).await
            }
        }
        .map_err(PostgresError::from)?;
        match row {
            None => Err(Error::StoreConflict),
            Some(row) => Ok(to_version(row.get(0))?),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(PostgresError::from)?;
        tx.execute(&self.sql.delete_tokens, &[&key])
            .await
            .map_err(PostgresError::from)?;
        tx.execute(&self.sql.delete_lease, &[&key])
            .await
            .map_err(PostgresError::from)?;
        tx.commit().await.map_err(PostgresError::from)?;
        Ok(())
    }

    async fn try_claim_refresh(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<LeaseClaim> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.claim)
            .await
            .map_err(PostgresError::from)?;
        let row = client
            .query_opt(&stmt, &[&key, &holder, &millis(ttl)])
            .await
            .map_err(PostgresError::from)?;
        Ok(match row {
            Some(_) => LeaseClaim::Claimed,
            None => LeaseClaim::HeldElsewhere,
        })
    }

    async fn release_refresh(&self, key: &str, holder: &str) -> Result<()> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.release)
            .await
            .map_err(PostgresError::from)?;
        client
            .execute(&stmt, &[&key, &holder])
            .await
            .map_err(PostgresError::from)?;
        Ok(())
    }
}

#[async_trait]
impl PendingStore for PostgresStore {
    async fn put(&self, key: &str, pending: &PendingAuthorization, ttl: Duration) -> Result<()> {
        let json = serde_json::to_string(pending).map_err(PostgresError::from)?;
        let client = self.client().await?;
        // Expired rows go here, so the table does not grow with abandoned logins.
        let purge = client
            .prepare_cached(&self.sql.purge_pending)
            .await
            .map_err(PostgresError::from)?;
        client
            .execute(&purge, &[])
            .await
            .map_err(PostgresError::from)?;
        let put = client
            .prepare_cached(&self.sql.put_pending)
            .await
            .map_err(PostgresError::from)?;
        client
            .execute(&put, &[&key, &json, &millis(ttl)])
            .await
            .map_err(PostgresError::from)?;
        Ok(())
    }

    async fn take(&self, key: &str) -> Result<Option<PendingAuthorization>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&self.sql.take_pending)
            .await
            .map_err(PostgresError::from)?;
        // One statement: of concurrent takes, one deletes the row and gets it back.
        let row = client
            .query_opt(&stmt, &[&key])
            .await
            .map_err(PostgresError::from)?;
        match row {
            Some(row) if row.get::<_, bool>(1) => {
                let json: String = row.get(0);
                Ok(Some(
                    serde_json::from_str(&json).map_err(PostgresError::from)?,
                ))
            }
            _ => Ok(None),
        }
    }
}
