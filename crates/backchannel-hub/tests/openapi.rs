//! The OpenAPI description of `/v1` (`GET /v1/openapi.json`) against the router: each route
//! the router declares (read from the one list in src/routes.rs) is described with its
//! method and path, nothing else is, and docs/protocol.md's headings name the same routes.
//! Each described operation is then asked of the router itself, which must know it, and
//! refuse every other method on the path.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use backchannel_hub::store::Sqlite;
use backchannel_hub::{AppState, app};
use common::{Identity, code};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const NOW_MS: u64 = 1_750_000_000_000;

/// A route: upper-case method and path, `{name}` for a parameter.
type Route = (String, String);

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

fn router() -> Router {
    app(AppState::new(Arc::new(Sqlite::open_in_memory().unwrap())).with_clock(|| NOW_MS))
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn description(app: &Router) -> Value {
    let request = Request::get("/v1/openapi.json")
        .body(Body::empty())
        .unwrap();
    let (status, content_type, body) = send(app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    body
}

/// The routes the description names.
fn described(description: &Value) -> BTreeSet<Route> {
    let mut routes = BTreeSet::new();
    for (path, item) in description["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

/// The routes src/routes.rs declares: each `.route("PATH", get(..).post(..))`.
fn declared() -> BTreeSet<Route> {
    let source = include_str!("../src/routes.rs");
    let mut routes = BTreeSet::new();
    for (start, _) in source.match_indices(".route(") {
        let rest = &source[start + ".route(".len()..];
        let path = rest.split('"').nth(1).unwrap();
        // The method router: up to the parenthesis that closes `.route(`.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find_map(|(i, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                (depth == 0).then_some(i)
            })
            .unwrap();
        let methods = &rest[..end];
        for method in METHODS {
            let call = format!("{}(", method.to_lowercase());
            let calls = methods.match_indices(&call).filter(|(i, _)| {
                !methods[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
            });
            for _ in calls {
                routes.insert((method.to_owned(), path.to_owned()));
            }
        }
    }
    routes
}

/// The routes docs/protocol.md's headings name: "### `METHOD PATH?QUERY` ...".
fn documented() -> BTreeSet<Route> {
    include_str!("../../../docs/protocol.md")
        .lines()
        .filter_map(|line| line.strip_prefix("### `"))
        .map(|heading| {
            let route = heading.split('`').next().unwrap();
            let (method, target) = route.split_once(' ').unwrap();
            let path = target.split('?').next().unwrap();
            (method.to_owned(), path.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_description_is_openapi_3_and_every_reference_resolves() {
    let description = description(&router()).await;
    let version = description["openapi"].as_str().unwrap();
    assert!(version.starts_with("3."), "openapi {version}");
    assert_eq!(description["info"]["title"], "backchannel hub");
    let schemas = description["components"]["schemas"].as_object().unwrap();
    let mut references = vec![];
    gather_references(&description, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let name = reference.strip_prefix("#/components/schemas/").unwrap();
        assert!(schemas.contains_key(name), "{reference} is not a component");
    }
    let signed = &description["components"]["securitySchemes"]["signed_request"];
    assert_eq!(
        (&signed["in"], &signed["name"]),
        (&"header".into(), &"Authorization".into())
    );
}

fn gather_references<'a>(value: &'a Value, references: &mut Vec<&'a str>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => references.push(reference),
                    _ => gather_references(value, references),
                }
            }
        }
        Value::Array(values) => values
            .iter()
            .for_each(|value| gather_references(value, references)),
        _ => {}
    }
}

#[tokio::test]
async fn the_description_names_the_routes_of_the_router_and_of_the_protocol() {
    let described = described(&description(&router()).await);
    let declared = declared();
    assert!(declared.len() >= 19, "too few routes read: {declared:?}");
    assert_eq!(
        described, declared,
        "described, then declared in src/routes.rs"
    );
    assert_eq!(described, documented(), "described, then docs/protocol.md");
}

#[tokio::test]
async fn the_router_serves_each_described_operation_and_refuses_other_methods() {
    let app = router();
    let described = described(&description(&app).await);
    let who = Identity::random();
    for path in described.iter().map(|(_, path)| path) {
        let target = path
            .replace("{case}", &"ab".repeat(16))
            .replace("{channel}", "public");
        for method in METHODS {
            let body = if method == "GET" { "" } else { "{}" };
            let request = Request::builder()
                .method(method)
                .uri(&target)
                .header(
                    header::AUTHORIZATION,
                    who.header(method, &target, body.as_bytes(), NOW_MS),
                )
                .body(Body::from(body))
                .unwrap();
            let (status, _, answer) = send(&app, request).await;
            let known = described.contains(&(method.to_owned(), path.clone()));
            let refused = (status.as_u16(), code(&answer));
            if known {
                assert!(
                    !matches!(refused, (404, "not_found") | (405, _)),
                    "{method} {target}: {refused:?}"
                );
            } else {
                assert_eq!(refused, (405, "method_not_allowed"), "{method} {target}");
            }
        }
    }
}
