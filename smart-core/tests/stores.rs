//! The production stores (features store-sqlite, store-postgres, store-encrypted) against ONE conformance suite:
//! `conformance::check_all` (CAS conflicts, lease exclusivity, concurrent claims, lease expiry after a crash,
//! release, deletion during a refresh), `conformance::check_pending_all` (single use, concurrent takes of one
//! state, expiry) and, through a `Session` over a `FaultyStore`, a save that fails mid-refresh (no token handed
//! out unsaved). Each runs against Memory, SQLite, PostgreSQL and Encrypted(each). Plus each store's schema
//! handling and two handles on one database behaving as two processes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/postgres.rs"]
mod pg;
mod wiremock_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use smart_core::store::conformance::{self, FaultyStore, InjectedFault};
use smart_core::store::encrypted::{EncryptedStore, KeyRing, SealKey};
use smart_core::store::postgres::{PostgresError, PostgresStore};
use smart_core::store::sqlite::{SqliteError, SqliteOptions, SqliteStore};
use smart_core::{
    Error, ExposeSecret, LeaseClaim, MemoryTokenStore, PendingStore, SecretString, TokenSet,
    TokenStore,
};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};
use wiremock_support::*;

fn keys() -> KeyRing {
    KeyRing::new(SealKey::from_bytes("test-2026", &[42; 32]).unwrap())
}

fn sqlite_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stores");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{name}-{}-{:x}.sqlite3",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

async fn sqlite(name: &str) -> SqliteStore {
    SqliteStore::open(sqlite_path(name), SqliteOptions::default())
        .await
        .unwrap()
}

/// The whole suite on one store: the TokenStore checks, the PendingStore checks, and a save failing under a
/// Session.
async fn whole_suite<S>(store: S)
where
    S: TokenStore + PendingStore + 'static,
{
    let store = Arc::new(store);
    conformance::check_all(&*store).await.unwrap();
    conformance::check_pending_all(&*store).await.unwrap();
    a_failing_save_hands_out_no_token(store).await;
}

/// A refresh whose save fails is an error: the refreshed token is not handed out, the store still holds the old
/// tokens, and once the store is back the next call refreshes again and saves.
async fn a_failing_save_hands_out_no_token(store: Arc<dyn TokenStore>) {
    let server = payer().await;
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-2", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-2"
        })))
        .expect(2)
        .mount(&server)
        .await;
    let key = format!("fault:{:x}", rand_u64());
    let expired = TokenSet::bearer(SecretString::from("at-1".to_owned()), None)
        .with_expires_at(Some(SystemTime::now() - Duration::from_secs(10)))
        .with_refresh_token(SecretString::from("rt-1".to_owned()));
    let faulty = Arc::new(FaultyStore::new(store));
    let v1 = faulty.save(&key, &expired, None).await.unwrap();
    faulty.set_failing(true);
    let session = client(&server, None).session(faulty.clone(), key.clone());
    let err = session.current().await.unwrap_err();
    let Error::Store(inner) = &err else {
        panic!("expected a store error, got {err:?}")
    };
    assert!(inner.downcast_ref::<InjectedFault>().is_some(), "{err}");
    let stored = faulty.load(&key).await.unwrap().unwrap();
    assert_eq!(stored.version, v1, "nothing was saved");
    assert_eq!(stored.tokens.access_token().expose_secret(), "at-1");
    faulty.set_failing(false);
    let t = session.current().await.unwrap();
    assert_eq!(t.access_token().expose_secret(), "at-2");
    let stored = faulty.load(&key).await.unwrap().unwrap();
    assert_eq!(stored.tokens.access_token().expose_secret(), "at-2");
    assert_eq!(
        stored.tokens.refresh_token().unwrap().expose_secret(),
        "rt-2"
    );
    faulty.delete(&key).await.unwrap();
    server.verify().await;
}

fn rand_u64() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

// ---- the suite, per store ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_passes_the_suite() {
    whole_suite(MemoryTokenStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_memory_passes_the_suite() {
    whole_suite(EncryptedStore::new(MemoryTokenStore::new(), keys())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_suite() {
    whole_suite(sqlite("suite").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_sqlite_passes_the_suite() {
    whole_suite(EncryptedStore::new(sqlite("suite-enc").await, keys())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_suite() {
    let Some(db) = pg::PgSchema::new("suite").await else {
        return;
    };
    whole_suite(db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_postgres_passes_the_suite() {
    let Some(db) = pg::PgSchema::new("suite_enc").await else {
        return;
    };
    whole_suite(EncryptedStore::new(db.store().await, keys())).await;
    db.drop_schema().await;
}

// ---- two handles on one database (two processes) ------------------------------------------------------------

/// Two stores on one database, as two processes: CAS, lease and pending take are decided by the database.
async fn two_handles_share_state(a: &dyn SharedStore, b: &dyn SharedStore) {
    let key = format!("shared:{:x}", rand_u64());
    let t = TokenSet::bearer(SecretString::from("at".to_owned()), None);
    let v1 = a.save(&key, &t, None).await.unwrap();
    assert!(matches!(
        b.save(&key, &t, None).await,
        Err(Error::StoreConflict)
    ));
    assert_eq!(b.load(&key).await.unwrap().unwrap().version, v1);
    let ttl = Duration::from_secs(60);
    let (ra, rb) = tokio::join!(
        a.try_claim_refresh(&key, "proc-a", ttl),
        b.try_claim_refresh(&key, "proc-b", ttl)
    );
    let claims = [ra.unwrap(), rb.unwrap()];
    assert_eq!(
        claims.iter().filter(|c| **c == LeaseClaim::Claimed).count(),
        1,
        "{claims:?}"
    );
    a.delete(&key).await.unwrap();
    assert_eq!(
        b.try_claim_refresh(&key, "proc-b", ttl).await.unwrap(),
        LeaseClaim::Claimed,
        "delete through a ended the lease for b"
    );
    b.delete(&key).await.unwrap();
}

trait SharedStore: TokenStore + PendingStore {}
impl<T: TokenStore + PendingStore> SharedStore for T {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sqlite_handles_on_one_file_share_cas_and_lease() {
    let path = sqlite_path("shared");
    let a = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let b = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    two_handles_share_state(&a, &b).await;
    // And what one encrypted handle seals, another with the same keys opens.
    let (ea, eb) = (
        EncryptedStore::new(a, keys()),
        EncryptedStore::new(b, keys()),
    );
    two_handles_share_state(&ea, &eb).await;
    let pending = conformance_pending();
    ea.put("state-1", &pending, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(eb.take("state-1").await.unwrap().is_some());
    assert!(ea.take("state-1").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_pools_share_cas_and_lease() {
    let Some(db) = pg::PgSchema::new("shared").await else {
        return;
    };
    let (a, b) = (db.store().await, db.store().await);
    two_handles_share_state(&a, &b).await;
    db.drop_schema().await;
}

fn conformance_pending() -> smart_core::PendingAuthorization {
    serde_json::from_value(json!({
        "state": "s".repeat(43), "code_verifier": "v".repeat(43),
        "redirect_uri": "http://127.0.0.1:3000/callback/aetna", "scopes": ["openid"],
        "adapter_id": "aetna-sandbox", "created_at": 1_700_000_000u64
    }))
    .unwrap()
}

// ---- schema --------------------------------------------------------------------------------------------------

fn schema_error_sqlite(e: &Error) -> Option<Option<i64>> {
    match e {
        Error::Store(inner) => match inner.downcast_ref::<SqliteError>() {
            Some(SqliteError::Schema { found }) => Some(*found),
            _ => None,
        },
        _ => None,
    }
}

#[tokio::test]
async fn sqlite_creates_checks_and_refuses_schemas() {
    let path = sqlite_path("schema");
    // Without migration, a fresh file has no schema: refused, not silently created.
    let err = SqliteStore::open(&path, SqliteOptions::default().migrate(false))
        .await
        .unwrap_err();
    assert_eq!(schema_error_sqlite(&err), Some(None), "{err}");
    // A prefix keeps two apps' tables apart in one file.
    let a = SqliteStore::open(&path, SqliteOptions::default().table_prefix("app_a_"))
        .await
        .unwrap();
    let b = SqliteStore::open(&path, SqliteOptions::default().table_prefix("app_b_"))
        .await
        .unwrap();
    let t = TokenSet::bearer(SecretString::from("at".to_owned()), None);
    a.save("k", &t, None).await.unwrap();
    assert!(b.load("k").await.unwrap().is_none());
    // Reopening (migration on or off) finds version 1.
    SqliteStore::open(
        &path,
        SqliteOptions::default()
            .table_prefix("app_a_")
            .migrate(false),
    )
    .await
    .unwrap();
    // A schema from a newer SDK is refused.
    bump_schema_version(&path, "app_b_schema_version");
    let err = SqliteStore::open(&path, SqliteOptions::default().table_prefix("app_b_"))
        .await
        .unwrap_err();
    assert_eq!(schema_error_sqlite(&err), Some(Some(2)), "{err}");
    // A prefix that would be SQL is refused before any SQL runs.
    assert!(
        SqliteStore::open(
            &path,
            SqliteOptions::default().table_prefix("x; DROP TABLE tokens; --")
        )
        .await
        .is_err()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner-only file, got {mode:o}");
    }
}

/// Records schema version 2 in `table`, as a newer SDK would.
fn bump_schema_version(path: &std::path::Path, table: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute(&format!("UPDATE {table} SET version = 2"), [])
        .unwrap();
}

#[tokio::test]
async fn postgres_creates_checks_and_refuses_schemas() {
    let Some(db) = pg::PgSchema::new("schema").await else {
        return;
    };
    let err = PostgresStore::connect(&db.conn, db.options().migrate(false))
        .await
        .unwrap_err();
    let Error::Store(inner) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(
            inner.downcast_ref::<PostgresError>(),
            Some(PostgresError::Schema { found: None })
        ),
        "{err}"
    );
    // Four stores connecting at once create the schema once (the advisory lock), then all work.
    let stores = futures::future::join_all((0..4).map(|_| db.store())).await;
    let t = TokenSet::bearer(SecretString::from("at".to_owned()), None);
    stores[0].save("k", &t, None).await.unwrap();
    assert_eq!(stores[3].load("k").await.unwrap().unwrap().version, 1);
    PostgresStore::connect(&db.conn, db.options().migrate(false))
        .await
        .unwrap();
    assert!(
        PostgresStore::connect(&db.conn, db.options().table_prefix("bad-prefix"))
            .await
            .is_err()
    );
    db.drop_schema().await;
}

/// A stored row that does not read back (a secret where a number belongs, which serde's message would quote; a
/// camelCase document; not JSON at all) is an error that says where and what kind, never the stored value.
#[tokio::test]
async fn sqlite_store_errors_never_quote_a_stored_value() {
    let path = sqlite_path("quote");
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    let rows = [
        (
            "a",
            r#"{"access_token":"AT-SECRET-1","token_type":"Bearer","expires_at":"RT-SECRET-1"}"#,
        ),
        ("b", "refresh_token=RT-SECRET-2&x"),
        (
            "c",
            r#"{"accessToken":"AT-SECRET-3","refresh_token":{"v":"RT-SECRET-3"}}"#,
        ),
    ];
    let conn = rusqlite::Connection::open(&path).unwrap();
    for (key, value) in rows {
        conn.execute(
            "INSERT INTO tokens (key, tokens, version, updated_at) VALUES (?1, ?2, 1, 0)",
            rusqlite::params![key, value],
        )
        .unwrap();
    }
    drop(conn);
    for (key, _) in rows {
        let err = store.load(key).await.unwrap_err();
        assert!(matches!(err, Error::Store(_)), "{key}: {err:?}");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("SECRET"), "{key}: {shown}");
        }
    }
    let err = store.load("a").await.unwrap_err().to_string();
    assert!(
        err.contains("expected shape") && err.contains("line 1"),
        "{err}"
    );
}
