//! Discovery against a simulated payer: each source, the fallbacks, overrides and caching.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wiremock_support;

use std::sync::Arc;

use serde_json::json;
use smart_core::{DiscoverySource, EndpointOverrides, Error, Stage};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wiremock_support::*;

#[tokio::test]
async fn smart_configuration_is_read_typed_and_keeps_unknown_fields() {
    let server = payer().await;
    let cfg = client(&server, None).discover().await.unwrap();
    assert_eq!(
        cfg.token_endpoint.as_str(),
        format!("{}/auth/token", server.uri())
    );
    assert_eq!(
        cfg.revocation_endpoint.as_ref().unwrap().as_str(),
        format!("{}/auth/revoke", server.uri())
    );
    assert!(cfg.has_capability("permission-offline"));
    assert_eq!(cfg.extra["x-unknown-field"]["kept"], true);
    assert!(matches!(
        cfg.source(),
        DiscoverySource::SmartConfiguration(_)
    ));
}

#[tokio::test]
async fn discovery_is_cached_and_concurrent_first_callers_share_one_fetch() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/fhir/.well-known/smart-configuration"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(smart_config(&server))
                .set_delay(std::time::Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, None);
    let results = futures::future::join_all((0..10).map(|_| c.discover())).await;
    for r in results {
        r.unwrap();
    }
    c.discover().await.unwrap();
    c.clone().discover().await.unwrap();
    server.verify().await;
}

fn capability_statement(server: &MockServer) -> serde_json::Value {
    json!({
        "resourceType": "CapabilityStatement",
        "rest": [{"mode": "server", "security": {"extension": [{
            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
            "extension": [
                {"url": "authorize", "valueUri": format!("{}/cs/authorize", server.uri())},
                {"url": "token", "valueUri": format!("{}/cs/token", server.uri())},
                {"url": "revoke", "valueUri": format!("{}/cs/revoke", server.uri())}
            ]
        }]}}]
    })
}

#[tokio::test]
async fn smart_configuration_404_falls_back_to_metadata_oauth_uris() {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/.well-known/smart-configuration"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/fhir/metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            capability_statement(&server).to_string(),
            "application/fhir+json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let cfg = client(&server, None).discover().await.unwrap();
    assert_eq!(
        cfg.authorization_endpoint.as_str(),
        format!("{}/cs/authorize", server.uri())
    );
    assert_eq!(
        cfg.token_endpoint.as_str(),
        format!("{}/cs/token", server.uri())
    );
    assert!(matches!(
        cfg.source(),
        DiscoverySource::CapabilityStatement(_)
    ));
}

#[tokio::test]
async fn html_smart_configuration_falls_back_too() {
    // A "wrong content type": a portal's HTML page served where the JSON document should be.
    let server = MockServer::start().await;
    Mock::given(path("/fhir/.well-known/smart-configuration"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("<html><body>Welcome</body></html>", "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/fhir/metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(capability_statement(&server)))
        .mount(&server)
        .await;
    let cfg = client(&server, None).discover().await.unwrap();
    assert!(matches!(
        cfg.source(),
        DiscoverySource::CapabilityStatement(_)
    ));
}

#[tokio::test]
async fn both_missing_falls_back_to_the_issuers_openid_configuration() {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/.well-known/smart-configuration"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/fhir/metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "resourceType": "CapabilityStatement", "rest": [{"mode": "server"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/oauth2/default/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": format!("{}/oauth2/default", server.uri()),
            "authorization_endpoint": format!("{}/oauth2/default/v1/authorize", server.uri()),
            "token_endpoint": format!("{}/oauth2/default/v1/token", server.uri()),
            "userinfo_endpoint": format!("{}/oauth2/default/v1/userinfo", server.uri()),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut adapter = TestAdapter::new(&server);
    adapter.issuer = Some(Url::parse(&format!("{}/oauth2/default", server.uri())).unwrap());
    let cfg = builder(adapter, None)
        .build()
        .unwrap()
        .discover()
        .await
        .unwrap();
    assert_eq!(
        cfg.token_endpoint.as_str(),
        format!("{}/oauth2/default/v1/token", server.uri())
    );
    assert!(cfg.userinfo_endpoint.is_some());
    assert!(matches!(
        cfg.source(),
        DiscoverySource::OpenIdConfiguration(_)
    ));
}

#[tokio::test]
async fn all_missing_is_a_discovery_error_listing_what_was_tried() {
    let server = MockServer::start().await; // answers 404 to everything
    let mut adapter = TestAdapter::new(&server);
    adapter.issuer = Some(Url::parse(&format!("{}/issuer", server.uri())).unwrap());
    let err = builder(adapter, None)
        .build()
        .unwrap()
        .discover()
        .await
        .unwrap_err();
    let Error::Discovery { tried, reason } = &err else {
        panic!("expected Error::Discovery, got {err:?}");
    };
    assert_eq!(
        tried,
        &[
            format!("{}/fhir/.well-known/smart-configuration", server.uri()),
            format!("{}/fhir/metadata", server.uri()),
            format!("{}/issuer/.well-known/openid-configuration", server.uri()),
        ]
    );
    assert!(reason.contains("404"), "{reason}");
    assert_eq!(err.stage(), Stage::Discovery);
    assert!(err.to_string().contains("/fhir/metadata"), "{err}");
}

/// A FHIR base nobody listens on: one short line that names each place once, and a hint about the URL.
#[tokio::test]
async fn an_unreachable_server_is_reported_once_per_place_with_a_hint() {
    let server = MockServer::start().await;
    let mut adapter = TestAdapter::new(&server);
    // A port that was free a moment ago: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    adapter.fhir_base = Url::parse(&format!("http://127.0.0.1:{port}/fhir")).unwrap();
    let err = builder(adapter, None)
        .build()
        .unwrap()
        .discover()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Discovery { .. }), "{err:?}");
    let text = err.to_string();
    let smart = format!("http://127.0.0.1:{port}/fhir/.well-known/smart-configuration");
    let metadata = format!("http://127.0.0.1:{port}/fhir/metadata");
    assert_eq!(
        text,
        format!("SMART discovery failed: could not connect: {smart}, {metadata}")
    );
    assert_eq!(text.matches(&smart).count(), 1, "{text}");
    assert!(
        err.hint().unwrap().contains("FHIR base"),
        "{:?}",
        err.hint()
    );
}

#[tokio::test]
async fn malformed_discovery_json_and_missing_fields_are_reported() {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/.well-known/smart-configuration"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("{\"authorization_endpoint\": ", "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/fhir/metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "resourceType": "CapabilityStatement",
            "rest": [{"security": {"extension": [{
                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                "extension": [{"url": "authorize", "valueUri": "https://a.example/authorize"}]
            }]}}]
        })))
        .mount(&server)
        .await;
    let err = client(&server, None).discover().await.unwrap_err();
    let Error::Discovery { reason, tried } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(tried.len(), 2);
    assert!(reason.contains("no token_endpoint"), "{reason}");
}

#[tokio::test]
async fn a_failed_discovery_is_not_cached() {
    let server = MockServer::start().await;
    let c = client(&server, None);
    assert!(c.discover().await.is_err());
    mount_smart_config(&server, smart_config(&server)).await;
    assert!(c.discover().await.is_ok());
}

#[tokio::test]
async fn adapter_overrides_win_over_discovery() {
    let server = payer().await;
    let mut adapter = TestAdapter::new(&server);
    adapter.overrides = EndpointOverrides::default();
    let token = Url::parse("https://token.override.example/token").unwrap();
    let mut overrides = EndpointOverrides::default();
    overrides.token = Some(token.clone());
    overrides.revocation = None;
    adapter.overrides = overrides;
    let cfg = builder(adapter, None)
        .build()
        .unwrap()
        .discover()
        .await
        .unwrap();
    assert_eq!(cfg.token_endpoint, token);
    // What the override does not name still comes from discovery.
    assert_eq!(
        cfg.authorization_endpoint.as_str(),
        format!("{}/auth/authorize", server.uri())
    );
}

#[tokio::test]
async fn overrides_alone_are_used_when_nothing_can_be_discovered() {
    let server = MockServer::start().await;
    let mut adapter = TestAdapter::new(&server);
    let mut overrides = EndpointOverrides::default();
    overrides.authorize = Some(Url::parse("https://auth.example/authorize").unwrap());
    overrides.token = Some(Url::parse("https://auth.example/token").unwrap());
    adapter.overrides = overrides;
    let cfg = builder(adapter, None)
        .build()
        .unwrap()
        .discover()
        .await
        .unwrap();
    assert_eq!(cfg.token_endpoint.as_str(), "https://auth.example/token");
    assert!(matches!(cfg.source(), DiscoverySource::Overrides));
}

#[tokio::test]
async fn smart_configuration_at_an_adapter_chosen_place() {
    // Aetna serves it at its auth root, not under the FHIR base.
    let server = MockServer::start().await;
    Mock::given(path("/authroot/.well-known/smart-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(smart_config(&server)))
        .expect(1)
        .mount(&server)
        .await;
    let mut adapter = TestAdapter::new(&server);
    adapter.smart_urls = Some(vec![
        Url::parse(&format!(
            "{}/authroot/.well-known/smart-configuration",
            server.uri()
        ))
        .unwrap(),
    ]);
    let c = builder(adapter, None).build().unwrap();
    assert!(matches!(
        c.discover().await.unwrap().source(),
        DiscoverySource::SmartConfiguration(u) if u.path() == "/authroot/.well-known/smart-configuration"
    ));
    let _ = Arc::clone(c.adapter());
}

#[tokio::test]
async fn discovery_follows_a_few_redirects_but_not_to_plain_http() {
    let server = MockServer::start().await;
    Mock::given(path("/fhir/.well-known/smart-configuration"))
        .respond_with(
            ResponseTemplate::new(301).insert_header("location", "/moved/smart-configuration"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/moved/smart-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(smart_config(&server)))
        .expect(1)
        .mount(&server)
        .await;
    let cfg = client(&server, None).discover().await.unwrap();
    assert_eq!(
        cfg.token_endpoint.as_str(),
        format!("{}/auth/token", server.uri())
    );
    server.verify().await;

    let server = MockServer::start().await;
    Mock::given(path("/fhir/.well-known/smart-configuration"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "http://payer.example/smart"),
        )
        .mount(&server)
        .await;
    let err = client(&server, None).discover().await.unwrap_err();
    assert!(err.to_string().contains("insecure"), "{err}");

    let server = MockServer::start().await;
    Mock::given(path("/fhir/.well-known/smart-configuration"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", "/fhir/.well-known/smart-configuration"),
        )
        .mount(&server)
        .await;
    let err = client(&server, None).discover().await.unwrap_err();
    assert!(err.to_string().contains("redirects"), "{err}");
}
