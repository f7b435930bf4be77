//! Interoperability: the SDK's SMART flow against a real OAuth 2.0 server (oidc-provider, see tests/oidc/).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/oidc_server.rs"]
mod oidc_server;

use std::time::Duration;

/// The guarantee that keeps test runs from leaking Node processes: the server goes away by itself when the
/// test process that holds its stdin does (shown here by closing stdin, as process exit does).
#[tokio::test]
async fn the_server_exits_when_its_stdin_closes() {
    let Some(server) = oidc_server::dedicated().await else {
        return;
    };
    let status = server.close_stdin_and_wait(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "the server did not exit on stdin EOF: {status:?}\n{}",
        server.log()
    );
}
