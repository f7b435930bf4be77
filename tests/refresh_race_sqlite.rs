//! The refresh race over the SDK's SQLite store as the web app uses it (an `EncryptedStore` over
//! `smart_core::store::sqlite::SqliteStore`), against the real oidc-provider with rotation and reuse detection
//! (smart-core/tests/oidc): eight `Session`s, each on its own store handle (its own connections) to one
//! database file as eight app processes would be, all finding the access token expired at once. The store's
//! lease row lets exactly one refresh reach the server. Without Node.js this skips locally and fails under
//! `CI`, like smart-core's interop tests. (smart-core/tests/store_processes.rs runs the same race with real
//! OS processes, 4 × 50 members.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../smart-core/tests/support/oidc_server.rs"]
mod oidc_server;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oidc_server::clients;
use smart_core::store::encrypted::{EncryptedStore, KeyRing, SealKey};
use smart_core::store::sqlite::{SqliteOptions, SqliteStore};
use smart_core::{ExposeSecret, SecretString, SmartClient, Standard, TokenStore};

async fn open(path: &std::path::Path) -> EncryptedStore<SqliteStore> {
    let keys = KeyRing::new(SealKey::from_bytes("race", &[5; 32]).unwrap());
    let sqlite = SqliteStore::open(path, SqliteOptions::default())
        .await
        .unwrap();
    EncryptedStore::new(sqlite, keys)
}

const CALLERS: usize = 8;
const KEY: &str = "user-1:oidc";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_sessions_on_eight_sqlite_connections_send_one_refresh() {
    let Some(server) = oidc_server::shared().await else {
        return;
    };
    let (id, pw) = clients::RACE_SQLITE;
    let sdk = SmartClient::builder(Arc::new(Standard::new(server.fhir_base.as_str()).unwrap()))
        .client_id(id)
        .client_secret(SecretString::from(pw.to_owned()))
        .redirect_uri(server.redirect_uri.as_str())
        .unwrap()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let request = sdk.authorize_url().await.unwrap();
    let callback = server.login(request.server_fetchable_url().unwrap()).await;
    let issued = sdk
        .exchange_code(&request.pending, callback.as_str())
        .await
        .unwrap();
    let before = server.refresh_counts(id).await;

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("refresh_race_sqlite");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("race-{}.sqlite3", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let seed = open(&path).await;
    let expired = issued
        .clone()
        .with_expires_at(Some(SystemTime::now() - Duration::from_secs(10)));
    seed.save(KEY, &expired, None).await.unwrap();

    let mut sessions = Vec::new();
    for _ in 0..CALLERS {
        let store = Arc::new(open(&path).await);
        sessions.push(sdk.session(store, KEY));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let results = futures::future::join_all(sessions.into_iter().map(|session| {
        let barrier = barrier.clone();
        tokio::spawn(async move {
            barrier.wait().await;
            session.current().await
        })
    }))
    .await;
    let after = server.refresh_counts(id).await;

    let (mut failures, mut dishonoured, mut access_tokens) = (Vec::new(), 0, BTreeSet::new());
    for r in results {
        match r.unwrap() {
            Ok(t) => {
                if server
                    .read_patient_status(t.access_token().expose_secret())
                    .await
                    != 200
                {
                    dishonoured += 1;
                }
                access_tokens.insert(t.access_token().expose_secret().to_owned());
            }
            Err(e) => failures.push(e),
        }
    }
    let refreshes = after.requests - before.requests;
    let reauthorizations = failures
        .iter()
        .filter(|e| e.requires_reauthorization())
        .count();
    eprintln!(
        "refresh race (web app SQLite store, oidc-provider): {CALLERS} callers, {refreshes} refresh request(s) at \
         the server, {} refused, {reauthorizations} re-authorization(s), {dishonoured} dead token(s) handed out",
        after.invalid_grant - before.invalid_grant
    );
    assert!(failures.is_empty(), "callers failed: {failures:?}");
    assert_eq!(refreshes, 1, "refresh requests that reached the server");
    assert_eq!(
        after.invalid_grant, before.invalid_grant,
        "no invalid_grant"
    );
    assert_eq!(
        dishonoured, 0,
        "every caller's token works on a protected read"
    );
    assert_eq!(
        access_tokens.len(),
        1,
        "every caller got the one rotated token"
    );
    let stored = seed.load(KEY).await.unwrap().unwrap();
    assert_eq!(stored.version, 2, "one save");
    let _ = std::fs::remove_file(&path);
}
