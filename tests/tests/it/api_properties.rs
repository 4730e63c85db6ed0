//! Property tests of the JSON API over HTTP: any body, any query and any path
//! parameter, sent to every operation of a real server with history, is answered
//! with a success or a 4xx whose JSON says what was wrong — never a 5xx, never a
//! body that is not the API's error shape.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use slipway_model::Role;
use slipway_tests::app::{deploying_pipeline, spawn_app, WRITE_SHA};
use slipway_tests::git::TestRepo;

/// The operations, with `{p}`, `{s}`, `{sha}` and `{id}` for their path parameters.
const OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/pipelines/{p}/board"),
    ("POST", "/pipelines/{p}/ready"),
    ("DELETE", "/pipelines/{p}/ready/{sha}"),
    ("GET", "/pipelines/{p}/stages/{s}/gates"),
    ("POST", "/pipelines/{p}/stages/{s}/promote"),
    ("POST", "/pipelines/{p}/stages/{s}/lock"),
    ("DELETE", "/pipelines/{p}/stages/{s}/lock"),
    ("POST", "/pipelines/{p}/stages/{s}/rollback"),
    ("GET", "/deployments/{id}"),
    ("GET", "/deployments/{id}/log"),
    ("POST", "/deployments/{id}/cancel"),
];

/// The error codes the API documents.
const CODES: &[&str] = &[
    "unauthenticated",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "bad_request",
    "refused",
    "unavailable",
    "too_many_streams",
];

/// A path segment: mostly one that exists, else anything at all (percent-encoded as a
/// client would send it).
fn segment(real: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(real),
        1 => any::<String>(),
        1 => "[a-z0-9-]{0,70}",
        1 => "[0-9a-fA-F]{38,42}",
        1 => "-?[0-9]{1,25}",
    ]
}

/// JSON of any shape, with the field names the bodies use among the keys.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        "[0-9a-f]{40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("sha".to_owned()),
                    Just("note".to_owned()),
                    Just("reason".to_owned()),
                    Just("expires_in_minutes".to_owned()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body: JSON of any shape, or bytes that are not JSON.
#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Raw(Vec<u8>),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => json_value().prop_map(Body::Json),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Raw),
    ]
}

/// A query string of any keys and values, with the ones the API reads among them.
fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop_oneof![
                Just("sha".to_owned()),
                Just("after".to_owned()),
                Just("limit".to_owned()),
                "[a-z]{1,6}",
            ],
            prop_oneof![any::<String>(), "-?[0-9]{1,22}", "[0-9a-f]{40}"],
        ),
        0..4,
    )
}

#[test]
fn any_body_query_or_path_parameter_is_answered_without_a_5xx_and_errors_say_what_was_wrong() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut repo = TestRepo::new().unwrap();
    let shas: Vec<String> = (0..3)
        .map(|i| repo.commit(&format!("change {i}")).unwrap())
        .collect();
    let out = tempfile::tempdir().unwrap();
    let (mut app, token, ids) = rt.block_on(async {
        let app = spawn_app(&deploying_pipeline(repo.path(), out.path(), WRITE_SHA, ""))
            .await
            .unwrap();
        let browser = app
            .logged_in("ada", &[Role::Dev, Role::Qa, Role::Ops, Role::Admin])
            .await
            .unwrap();
        let token = app.create_token(&browser, "properties").await.unwrap();
        let http = reqwest::Client::new();
        let mut ids = Vec::new();
        for sha in &shas {
            let res = http
                .post(app.url("/api/v1/pipelines/web/ready"))
                .bearer_auth(&token)
                .json(&json!({ "sha": sha }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
        for stage in ["qa", "staging"] {
            let d: Value = http
                .post(app.url(&format!("/api/v1/pipelines/web/stages/{stage}/promote")))
                .bearer_auth(&token)
                .json(&json!({ "sha": shas[0] }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = d["id"].as_i64().unwrap();
            app.wait_for_end(slipway_model::DeploymentId(id))
                .await
                .unwrap();
            ids.push(id.to_string());
        }
        (app, token, ids)
    });
    let http = reqwest::Client::new();
    let cases = (
        proptest::sample::select(OPERATIONS),
        segment(vec!["web".into()]),
        segment(vec!["qa".into(), "staging".into(), "production".into()]),
        segment(shas.clone()),
        segment(ids),
        query(),
        body(),
    );
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&cases, |(op, p, s, sha, id, query, body)| {
        let (method, template) = op;
        let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
        let path = template
            .replace("{p}", &enc(&p))
            .replace("{s}", &enc(&s))
            .replace("{sha}", &enc(&sha))
            .replace("{id}", &enc(&id));
        let url = app.url(&format!("/api/v1{path}"));
        let mut req = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                &url,
            )
            .bearer_auth(&token)
            .query(&query);
        req = match &body {
            Body::Json(v) => req.json(v),
            Body::Raw(bytes) => req
                .header("content-type", "application/json")
                .body(bytes.clone()),
        };
        let (status, text) = rt.block_on(async {
            let res = req
                .send()
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let status = res.status();
            let text = res
                .text()
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            Ok::<_, TestCaseError>((status, text))
        })?;
        prop_assert!(
            !status.is_server_error(),
            "{} {url} answered {status}: {text}",
            template
        );
        if status.is_client_error() {
            let error: Value = serde_json::from_str(&text)
                .map_err(|_| TestCaseError::fail(format!("{status} is not JSON: {text}")))?;
            let code = error["code"].as_str().unwrap_or_default();
            prop_assert!(CODES.contains(&code), "unknown code in {error}");
            let message = error["message"].as_str().unwrap_or_default();
            prop_assert!(message.len() >= 10, "an unhelpful message: {error}");
            // A body that is not the operation's shape is refused naming why.
            let takes_body = method == "POST" && !template.ends_with("/cancel");
            if takes_body
                && status == 400
                && matches!(body, Body::Json(Value::Object(ref m)) if m.is_empty())
            {
                prop_assert!(
                    message.contains("missing field"),
                    "an empty object should be refused naming the missing field: {error}"
                );
            }
        }
        Ok(())
    });
    rt.block_on(app.stop()).unwrap();
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
