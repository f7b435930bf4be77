//! Saves and loads per second for each token store, with and without encryption, and what the refresh
//! coordination adds to a refresh (one `try_claim_refresh` + `release_refresh` round trip).
//!
//! ```sh
//! cargo run --release -p smart-core --example store_bench --features store-sqlite,store-postgres,store-encrypted
//! ```
//!
//! One task, one operation at a time (latency-bound figures, not a throughput ceiling). SQLite runs on a
//! temporary file in WAL mode; PostgreSQL on `PATIENT_ACCESS_TEST_PG` or `host=127.0.0.1 dbname=test
//! user=postgres` in a schema of its own, dropped at the end (skipped, with a notice, when unreachable).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use smart_core::store::encrypted::{EncryptedStore, KeyRing, SealKey};
use smart_core::store::postgres::{PostgresOptions, PostgresStore, tokio_postgres};
use smart_core::store::sqlite::{SqliteOptions, SqliteStore};
use smart_core::{MemoryTokenStore, SecretString, TokenSet, TokenStore};

const KEYS: usize = 100;

fn tokens(i: usize) -> TokenSet {
    // A realistic size: a JWT-sized access token, a refresh token, an id token, scopes and a patient.
    TokenSet::bearer(
        SecretString::from(format!("eyJ{}{i}", "a".repeat(800))),
        Some(Duration::from_secs(3600)),
    )
    .with_refresh_token(SecretString::from(format!("rt-{}{i}", "r".repeat(60))))
    .with_patient("patient-1234567890")
    .with_scopes(["openid", "fhirUser", "offline_access", "patient/*.read"])
}

struct Figures {
    saves_per_s: f64,
    loads_per_s: f64,
    lease_us: f64,
}

async fn bench(store: &dyn TokenStore, ops: usize) -> Figures {
    let run = format!("{:x}", std::process::id());
    let keys: Vec<String> = (0..KEYS).map(|k| format!("bench:{run}:{k}")).collect();
    let mut versions = Vec::with_capacity(KEYS);
    for (i, k) in keys.iter().enumerate() {
        versions.push(store.save(k, &tokens(i), None).await.unwrap());
    }
    // Saves: compare-and-swap updates, round-robin over the keys.
    let t = Instant::now();
    for i in 0..ops {
        let k = i % KEYS;
        versions[k] = store
            .save(&keys[k], &tokens(i), Some(versions[k]))
            .await
            .unwrap();
    }
    let saves_per_s = ops as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..ops {
        let loaded = store.load(&keys[i % KEYS]).await.unwrap();
        assert!(loaded.is_some());
    }
    let loads_per_s = ops as f64 / t.elapsed().as_secs_f64();
    let lease_ops = ops / 2;
    let t = Instant::now();
    for i in 0..lease_ops {
        let k = &keys[i % KEYS];
        store
            .try_claim_refresh(k, "bench-holder", Duration::from_secs(30))
            .await
            .unwrap();
        store.release_refresh(k, "bench-holder").await.unwrap();
    }
    let lease_us = t.elapsed().as_secs_f64() * 1e6 / lease_ops as f64;
    for k in &keys {
        store.delete(k).await.unwrap();
    }
    Figures {
        saves_per_s,
        loads_per_s,
        lease_us,
    }
}

fn keys() -> KeyRing {
    KeyRing::new(SealKey::from_bytes("bench", &[3; 32]).unwrap())
}

async fn row(name: &str, store: Arc<dyn TokenStore>, ops: usize) {
    let f = bench(&*store, ops).await;
    println!(
        "| {name:<20} | {:>10.0} | {:>10.0} | {:>12.1} |",
        f.saves_per_s, f.loads_per_s, f.lease_us
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!("| store                | saves/s    | loads/s    | lease µs     |");
    println!("|----------------------|------------|------------|--------------|");
    row("memory", Arc::new(MemoryTokenStore::new()), 50_000).await;
    row(
        "memory+encrypted",
        Arc::new(EncryptedStore::new(MemoryTokenStore::new(), keys())),
        50_000,
    )
    .await;

    let dir = std::env::temp_dir().join(format!("store_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.sqlite3");
    let sqlite = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .unwrap();
    row("sqlite", Arc::new(sqlite.clone()), 3_000).await;
    row(
        "sqlite+encrypted",
        Arc::new(EncryptedStore::new(sqlite, keys())),
        3_000,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);

    let conn = std::env::var("PATIENT_ACCESS_TEST_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 dbname=test user=postgres".into());
    let schema = format!("pa_bench_{}", std::process::id());
    match PostgresStore::connect(&conn, PostgresOptions::default().schema(schema.clone())).await {
        Ok(pg) => {
            row("postgres", Arc::new(pg.clone()), 3_000).await;
            row(
                "postgres+encrypted",
                Arc::new(EncryptedStore::new(pg, keys())),
                3_000,
            )
            .await;
            let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .unwrap();
        }
        Err(e) => eprintln!("SKIPPED postgres: {e}"),
    }
}
