//! The many-process refresh race over the SDK's own stores, against the real oidc-provider (refresh-token
//! rotation with reuse detection: a refresh token sent twice revokes the member's grant). 4 OS processes × 50
//! members share one store (PostgreSQL, then SQLite in WAL mode in a temporary file); every member's access
//! token is stored expired, and all 200 sessions ask for a token at the same instant. The store's refresh lease
//! must let exactly one refresh per member reach the server: 50 refresh requests, 0 refused, 0
//! re-authorizations, 0 errors, and every process ends up with the member's one rotated token.
//!
//! The child processes are this test binary, re-run with `--ignored --exact child_process` and the race's
//! parameters in environment variables (no extra binary to build). Without Node.js (or PostgreSQL, for that
//! half) the tests print a loud SKIPPED notice and return; with `CI` set they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "support/oidc_server.rs"]
mod oidc_server;
#[path = "support/postgres.rs"]
mod pg;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash as _, Hasher as _};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oidc_server::{OidcServer, clients};
use smart_core::store::postgres::{PostgresOptions, PostgresStore};
use smart_core::store::sqlite::{SqliteOptions, SqliteStore};
use smart_core::{ExposeSecret, SecretString, SmartClient, Standard, TokenSet, TokenStore};

const PROCESSES: usize = 4;
const MEMBERS: usize = 50;

const ENV_CHILD: &str = "PA_PROCS_CHILD";
const ENV_STORE: &str = "PA_PROCS_STORE";
const ENV_FHIR: &str = "PA_PROCS_FHIR";
const ENV_REDIRECT: &str = "PA_PROCS_REDIRECT";
const ENV_CLIENT: &str = "PA_PROCS_CLIENT";
const ENV_START: &str = "PA_PROCS_START_MS";
const ENV_PREFIX: &str = "PA_PROCS_KEY_PREFIX";

fn sdk(fhir_base: &str, redirect: &str, (id, pw): (&str, &str)) -> SmartClient {
    SmartClient::builder(Arc::new(Standard::new(fhir_base).unwrap()))
        .client_id(id)
        .client_secret(SecretString::from(pw.to_owned()))
        .redirect_uri(redirect)
        .unwrap()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
}

/// A store description a child process can open: `postgres <conn> <schema>` or `sqlite <path>`.
async fn open_store(desc: &str) -> Arc<dyn TokenStore> {
    let parts: Vec<&str> = desc.splitn(3, '\u{1f}').collect();
    match parts.as_slice() {
        ["postgres", conn, schema] => Arc::new(
            PostgresStore::connect(
                conn,
                PostgresOptions::default().schema(*schema).pool_size(8),
            )
            .await
            .unwrap(),
        ),
        ["sqlite", path] => Arc::new(
            SqliteStore::open(*path, SqliteOptions::default())
                .await
                .unwrap(),
        ),
        _ => panic!("bad store description {desc:?}"),
    }
}

fn fingerprint(token: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    token.hash(&mut h);
    h.finish()
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// One child process of the race: opens the store, makes one Session per member, waits for the common start
/// instant, asks all of them for a token at once, and prints one `PROCS-RESULT` line per member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of the many-process races below, which run it with its parameters"]
async fn child_process() {
    assert!(
        std::env::var_os(ENV_CHILD).is_some(),
        "run by the many-process race tests only"
    );
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let client_id = var(ENV_CLIENT);
    let (id, pw) = [clients::PROCS_POSTGRES, clients::PROCS_SQLITE]
        .into_iter()
        .find(|(id, _)| *id == client_id)
        .unwrap();
    let sdk = sdk(&var(ENV_FHIR), &var(ENV_REDIRECT), (id, pw));
    let store = open_store(&var(ENV_STORE)).await;
    let prefix = var(ENV_PREFIX);
    let sessions: Vec<_> = (0..MEMBERS)
        .map(|m| sdk.session(store.clone(), format!("{prefix}{m}")))
        .collect();
    let start: u64 = var(ENV_START).parse().unwrap();
    tokio::time::sleep(Duration::from_millis(start.saturating_sub(unix_ms()))).await;
    let calls = sessions.into_iter().map(|s| {
        tokio::spawn(async move {
            let r = s.current().await;
            (s.key().to_owned(), r)
        })
    });
    for joined in futures::future::join_all(calls).await {
        let (key, r) = joined.unwrap();
        let line = match r {
            Ok(t) => format!(
                "ok {key} {:016x}",
                fingerprint(t.access_token().expose_secret())
            ),
            Err(e) => format!(
                "err {key} {} {}",
                e.requires_reauthorization(),
                e.to_string().replace('\n', " ")
            ),
        };
        println!("PROCS-RESULT {line}");
    }
}

/// Authorizes `MEMBERS` members (real logins) and stores each one's tokens with the access token marked
/// expired (the server's copy lives an hour).
async fn seed(server: &OidcServer, sdk: &SmartClient, store: &dyn TokenStore, prefix: &str) {
    let logins = (0..MEMBERS).map(|_| async {
        let request = sdk.authorize_url().await.unwrap();
        let callback = server.login(request.server_fetchable_url().unwrap()).await;
        sdk.exchange_code(&request.pending, callback.as_str())
            .await
            .unwrap()
    });
    // Ten logins at a time: the server is a single Node process.
    let issued = logins_in_batches(logins.collect()).await;
    for (m, t) in issued.into_iter().enumerate() {
        let expired = t.with_expires_at(Some(SystemTime::now() - Duration::from_secs(10)));
        store
            .save(&format!("{prefix}{m}"), &expired, None)
            .await
            .unwrap();
    }
}

async fn logins_in_batches<F: std::future::Future<Output = TokenSet>>(
    futs: Vec<F>,
) -> Vec<TokenSet> {
    use futures::StreamExt as _;
    futures::stream::iter(futs).buffered(10).collect().await
}

/// Runs the race over `store_desc` (already seeded) and checks what the server and the children saw.
async fn race(server: &OidcServer, (id, pw): (&str, &str), store_desc: &str, label: &str) {
    let prefix = format!("procs-{label}-{:x}:", unix_ms());
    let sdk = sdk(
        server.fhir_base.as_str(),
        server.redirect_uri.as_str(),
        (id, pw),
    );
    let store = open_store(store_desc).await;
    let t0 = Instant::now();
    seed(server, &sdk, &*store, &prefix).await;
    let seeded = t0.elapsed();
    let before = server.refresh_counts(id).await;

    let exe = std::env::current_exe().unwrap();
    let start = unix_ms() + 1500;
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    "child_process",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(ENV_CHILD, "1")
                .env(ENV_STORE, store_desc)
                .env(ENV_FHIR, server.fhir_base.as_str())
                .env(ENV_REDIRECT, server.redirect_uri.as_str())
                .env(ENV_CLIENT, id)
                .env(ENV_START, start.to_string())
                .env(ENV_PREFIX, &prefix)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let raced = t0.elapsed() - seeded;
    let after = server.refresh_counts(id).await;

    // member → the access-token fingerprints the processes got.
    let mut got: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let (mut oks, mut errors, mut reauths) = (0, Vec::new(), 0);
    for (i, out) in outputs.iter().enumerate() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child {i} failed: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = stdout
            .lines()
            .filter_map(|l| l.split_once("PROCS-RESULT ").map(|(_, r)| r))
            .collect();
        assert_eq!(
            lines.len(),
            MEMBERS,
            "child {i} reported every member:\n{stdout}"
        );
        for l in lines {
            let mut f = l.splitn(4, ' ');
            match (f.next(), f.next(), f.next(), f.next()) {
                (Some("ok"), Some(key), Some(fp), None) => {
                    oks += 1;
                    got.entry(key.to_owned()).or_default().insert(fp.to_owned());
                }
                (Some("err"), Some(key), Some(reauth), msg) => {
                    if reauth == "true" {
                        reauths += 1;
                    }
                    errors.push(format!("{key}: {}", msg.unwrap_or_default()));
                }
                _ => panic!("unparsable child line {l:?}"),
            }
        }
    }
    let refreshes = after.requests - before.requests;
    let refused = after.invalid_grant - before.invalid_grant;
    // The stored tokens: one save per member, and the server honours each.
    let mut dead = 0;
    for m in 0..MEMBERS {
        let stored = store.load(&format!("{prefix}{m}")).await.unwrap().unwrap();
        assert_eq!(
            stored.version, 2,
            "member {m}: exactly one save after the seed"
        );
        if server
            .read_patient_status(stored.tokens.access_token().expose_secret())
            .await
            != 200
        {
            dead += 1;
        }
    }
    eprintln!(
        "many-process refresh race ({label}, oidc-provider with rotation and reuse detection): {PROCESSES} \
         processes x {MEMBERS} members: {refreshes} refresh request(s) at the server, {refused} refused, \
         {reauths} re-authorization(s), {} error(s), {oks} tokens handed out, {dead} stored token(s) dead; \
         seeding {seeded:.1?}, race {raced:.1?}",
        errors.len()
    );
    assert!(errors.is_empty(), "errors: {errors:#?}");
    assert_eq!(reauths, 0);
    assert_eq!(
        refreshes, MEMBERS as u64,
        "one refresh per member reached the server"
    );
    assert_eq!(refused, 0, "no refresh token was spent twice");
    assert_eq!(oks, PROCESSES * MEMBERS);
    assert_eq!(dead, 0, "every stored token works on a protected read");
    assert_eq!(got.len(), MEMBERS);
    for (key, fps) in &got {
        assert_eq!(
            fps.len(),
            1,
            "{key}: every process got the one rotated token"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_fifty_members_on_postgres_send_one_refresh_each() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let Some(db) = pg::PgSchema::new("procs").await else {
        return;
    };
    // Create the schema once before the children connect.
    db.store().await;
    let desc = format!("postgres\u{1f}{}\u{1f}{}", db.conn, db.schema);
    race(server, clients::PROCS_POSTGRES, &desc, "postgres").await;
    db.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_fifty_members_on_sqlite_send_one_refresh_each() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("store_processes");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "race-{}-{:x}.sqlite3",
        std::process::id(),
        unix_ms()
    ));
    let desc = format!("sqlite\u{1f}{}", path.display());
    race(server, clients::PROCS_SQLITE, &desc, "sqlite").await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
