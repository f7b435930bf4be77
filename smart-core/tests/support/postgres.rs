//! The PostgreSQL server the store tests use: `127.0.0.1:5432`, trust auth, database `test` (override the whole
//! connection string with `PATIENT_ACCESS_TEST_PG`). Each test works in a schema of its own (a unique name),
//! dropped at its end. Without a reachable server the tests print a loud SKIPPED notice and return early;
//! with `CI` set they fail instead (`.ci/run` starts the server first).

use std::io::Write as _;
use std::sync::Once;

use smart_core::store::postgres::{PostgresOptions, PostgresStore, tokio_postgres};

/// The connection string that worked (user `postgres`, else `root`), or why none did.
pub async fn conn_string() -> Option<String> {
    let candidates = match std::env::var("PATIENT_ACCESS_TEST_PG") {
        Ok(s) => vec![s],
        Err(_) => ["postgres", "root"]
            .iter()
            .map(|u| format!("host=127.0.0.1 port=5432 dbname=test user={u} connect_timeout=5"))
            .collect(),
    };
    let mut last = String::new();
    for c in candidates {
        match tokio_postgres::connect(&c, tokio_postgres::NoTls).await {
            Ok((client, conn)) => {
                drop(client);
                drop(conn);
                return Some(c);
            }
            Err(e) => last = e.to_string(),
        }
    }
    skip_or_fail(&format!("no PostgreSQL at 127.0.0.1:5432 ({last})"))
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn skip_or_fail<T>(missing: &str) -> Option<T> {
    if ci() {
        panic!(
            "CI is set, and the PostgreSQL store tests cannot run: {missing}. Start the server: \
             pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start (.ci/run does)."
        );
    }
    static NOTICE: Once = Once::new();
    NOTICE.call_once(|| {
        let _ = writeln!(
            std::io::stderr(),
            "\n\
             ************************************************************************************\n\
             *  SKIPPING the PostgreSQL store tests: {missing}\n\
             *  To run them: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             *  With CI set, these tests fail instead of skipping.\n\
             ************************************************************************************\n"
        );
    });
    None
}

/// A schema of this test's own, and a store in it.
pub struct PgSchema {
    pub conn: String,
    pub schema: String,
}

impl PgSchema {
    /// A fresh schema name (the store creates it); `None`: skip.
    pub async fn new(label: &str) -> Option<Self> {
        let conn = conn_string().await?;
        let schema = format!("pa_test_{label}_{:012x}", rand_suffix());
        Some(Self { conn, schema })
    }

    pub fn options(&self) -> PostgresOptions {
        PostgresOptions::default().schema(self.schema.clone())
    }

    pub async fn store(&self) -> PostgresStore {
        PostgresStore::connect(&self.conn, self.options())
            .await
            .unwrap()
    }

    /// Drops the schema and everything in it.
    pub async fn drop_schema(self) {
        let (client, conn) = tokio_postgres::connect(&self.conn, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .await
            .unwrap();
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    (nanos ^ (u64::from(std::process::id()) << 40)) & 0xffff_ffff_ffff
}
