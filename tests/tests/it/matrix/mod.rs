//! The authorization matrix: every route the running server's router registered, called
//! by every kind of caller through the surface it belongs to, compared with who the
//! route table says may call it. Zero unexpected allows, zero unexpected denies; a
//! route without an entry or without a sample request here fails. Then the same
//! enumeration proves the Origin check on every cookie-authenticated state change.

use reqwest::cookie::Jar;
use reqwest::{Method, StatusCode};
use slipway_core::config::StageConfig;
use slipway_model::{Action, DeploymentId, Role, RoleSet};
use slipway_server::http::surface::{routes_table, RouteEntry, Surface, Who};
use slipway_tests::app::{pipeline_config, spawn_app, spawn_app_with, TestApp};
use slipway_tests::git::TestRepo;
use std::sync::Arc;

/// Everyone the matrix calls as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    /// A user holding this one role.
    Holder(Role),
    /// An ops + admin user, disabled after logging in and creating a token.
    Disabled,
    /// An ops + admin user whose password an admin reset (must change it first).
    MustChange,
    /// An ops + admin user's revoked token (API and event stream only).
    RevokedToken,
}

impl Caller {
    /// Whether the route table lets this caller through, for a route on `stage` (if any).
    fn may(self, who: Who, stage: Option<&StageConfig>) -> bool {
        let roles: RoleSet = match self {
            Caller::Holder(role) => [role].into_iter().collect(),
            Caller::MustChange => return matches!(who, Who::Always | Who::SignedIn),
            Caller::Anonymous | Caller::Disabled | Caller::RevokedToken => {
                return matches!(who, Who::Always | Who::Anyone)
            }
        };
        let stage = || stage.expect("a stage route is called with a stage");
        match who {
            Who::Always | Who::Anyone | Who::SignedIn | Who::OwnAccount => true,
            // Sampled on a real request on production (whose roles decide): the first
            // allowed caller decides it, the others get "no longer pending", after the
            // role check. Four eyes: tests/it/approvals.rs.
            Who::ApproveRequest => stage().approval.as_ref().is_some_and(|rule| {
                Action::Approve {
                    allowed: rule.roles,
                }
                .is_permitted_for(roles)
            }),
            Who::May(action) => action.is_permitted_for(roles),
            Who::PromoteIntoStage => Action::PromoteInto {
                allowed: stage().promote_roles,
            }
            .is_permitted_for(roles),
            Who::RollBackStage => Action::Rollback {
                allowed: stage().rollback_roles,
            }
            .is_permitted_for(roles),
            Who::LockStage => Action::Lock {
                production: stage().production,
            }
            .is_permitted_for(roles),
            // Nobody signs off where nothing is asked for.
            Who::SignOffStage => stage().sign_off.as_ref().is_some_and(|rule| {
                Action::SignOff {
                    allowed: rule.roles,
                }
                .is_permitted_for(roles)
            }),
            // No user is GitHub: only a signed body gets through (tests/it/github.rs).
            Who::GitHubSigned => false,
            // No user is a scraper: only the [metrics] token (tests/it/metrics.rs).
            Who::MetricsToken => false,
        }
    }
}

/// A caller's credentials: a cookie session (a client that keeps cookies and sends this
/// server's Origin) and an API token.
struct Credentials {
    caller: Caller,
    cookie: reqwest::Client,
    token: Option<String>,
}

/// One concrete request for a route.
struct Sample {
    path: String,
    stage: Option<&'static str>,
    form: Vec<(&'static str, String)>,
    json: Option<serde_json::Value>,
}

/// What the route table's placeholders are filled with.
struct Fixture {
    head: String,
    deployment: DeploymentId,
    /// A pending approval request on production, where the fixture has one.
    request: Option<slipway_model::RequestId>,
}

/// Whether the answer lets the caller through: anything but 401, 403, or a page view
/// sent to the login or password-change page. (A refusal by a gate, a 404 for an id
/// that does not exist or a validation error all come after the permission check.)
fn let_through(method: &Method, status: StatusCode, location: &str) -> bool {
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return false;
    }
    let sent_away = location.starts_with("/login") || location.starts_with("/password");
    !(*method == Method::GET && status.is_redirection() && sent_away)
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Sends `sample` for `route` as `who` would through `client`, with `token` as a bearer.
async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    token: Option<&str>,
    route: &RouteEntry,
    sample: &Sample,
) -> reqwest::Response {
    let mut req = client.request(route.method.clone(), app.url(&sample.path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if route.surface == Surface::EventStream {
        req = req.header(reqwest::header::ACCEPT, "text/event-stream");
    }
    if let Some(json) = &sample.json {
        req = req.json(json);
    } else if route.method != Method::GET && route.method != Method::DELETE {
        req = req.form(&sample.form);
    }
    // The event stream answers its headers, then streams: the status is enough.
    req.send()
        .await
        .unwrap_or_else(|e| panic!("{} {} failed: {e}", route.method, sample.path))
}

/// A client with its own cookie jar (shared with the returned jar) sending `origin`.
fn client_with(jar: &Arc<Jar>, origin: Option<&str>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(v) = origin.and_then(|o| reqwest::header::HeaderValue::from_str(o).ok()) {
        headers.insert(reqwest::header::ORIGIN, v);
    }
    reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("a client")
}

async fn credentials(app: &TestApp, admin: &reqwest::Client) -> Vec<Credentials> {
    let mut all = vec![Credentials {
        caller: Caller::Anonymous,
        cookie: app.client(),
        token: None,
    }];
    for role in Role::ALL {
        let cookie = app.logged_in(&format!("m-{role}"), &[role]).await.unwrap();
        let token = app.create_token(&cookie, "matrix").await.unwrap();
        all.push(Credentials {
            caller: Caller::Holder(role),
            cookie,
            token: Some(token),
        });
    }
    let powerful = [Role::Ops, Role::Admin];
    for (caller, name) in [
        (Caller::Disabled, "m-disabled"),
        (Caller::MustChange, "m-mustchange"),
        (Caller::RevokedToken, "m-revoked"),
    ] {
        let cookie = app.logged_in(name, &powerful).await.unwrap();
        let token = app.create_token(&cookie, "matrix").await.unwrap();
        match caller {
            Caller::Disabled => {
                let res = app
                    .post_form(admin, "/admin/users/disable", &[("name", name)])
                    .await
                    .unwrap();
                assert_eq!(res.status(), 303);
            }
            Caller::MustChange => {
                // What an admin's reset with "keep their API tokens" leaves, with the
                // session kept too, so both surfaces are held to the password change.
                app.sql(&format!(
                    "UPDATE users SET must_change_password = TRUE WHERE name = '{name}'"
                ))
                .await
                .unwrap();
            }
            _ => {
                app.sql(&format!(
                    "UPDATE api_tokens SET revoked_at = '2026-01-01T00:00:00Z' \
                     WHERE user_id = (SELECT id FROM users WHERE name = '{name}')"
                ))
                .await
                .unwrap();
            }
        }
        all.push(Credentials {
            caller,
            cookie,
            token: Some(token),
        });
    }
    all
}

#[tokio::test]
async fn every_route_lets_through_exactly_the_callers_the_route_table_names() {
    let repo = TestRepo::new().unwrap();
    // QA asks for a sign-off, production does not: the sign-off routes are tried on both.
    // Production asks for ops' approval: the request routes are tried on a real request.
    let config = pipeline_config(repo.path())
        .replacen(
            "label = \"QA\"\n",
            "label = \"QA\"\nsign_off = { roles = [\"qa\"] }\n",
            1,
        )
        .replacen(
            "label = \"Production\"\n",
            "label = \"Production\"\napproval = { roles = [\"ops\"] }\n",
            1,
        );
    assert!(config.contains("sign_off") && config.contains("approval"));
    // Metrics on, behind a token no caller has: /metrics refuses everyone (a 404 would
    // say nothing about who may read it).
    let token = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token.path(), "only-the-scraper-knows").unwrap();
    let config = format!(
        "[metrics]\ntoken_file = \"{}\"\n\n{config}",
        token.path().display()
    );
    let app = spawn_app(&config).await.unwrap();
    let admin = app.logged_in("root", &[Role::Admin]).await.unwrap();
    app.create_user("target", &[Role::Viewer]).await.unwrap();
    let head = repo.head("main").unwrap();
    let res = app
        .post_form(&admin, "/pipelines/web/ready", &[("sha", head.as_str())])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let deployment = app
        .promote(&admin, &head, "qa")
        .await
        .unwrap()
        .expect("the first promotion into QA starts");
    app.wait_for_end(deployment).await.unwrap();
    let res = app
        .post_form(
            &admin,
            "/pipelines/web/stages/production/requests",
            &[("sha", head.as_str())],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let web = slipway_model::PipelineId::parse("web").unwrap();
    let request = app
        .state
        .storage
        .approval_requests(&web, None)
        .await
        .unwrap()[0]
        .id;
    let fixture = Fixture {
        head,
        deployment,
        request: Some(request),
    };
    let callers = credentials(&app, &admin).await;
    let stages = &app.state.config.pipelines[0].stages;
    let stage_config = |id: &str| stages.iter().find(|s| s.id.as_str() == id);

    // Logging out ends the caller's session: last.
    let mut routes = app.routes.clone();
    routes.sort_by_key(|r| r.path == "/logout");
    // Which credentials a surface takes: the bare client has none but the token.
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut problems = Vec::new();
    let mut checked = 0;
    for route in &routes {
        let Some(who) = route.who else {
            problems.push(format!(
                "{} {} has no entry in the route table (server/src/http/surface.rs)",
                route.method, route.path
            ));
            continue;
        };
        let Some(samples) = fixture.samples(route) else {
            problems.push(format!(
                "{} {} ({:?}) has no sample request in tests/tests/it/matrix.rs",
                route.method, route.path, route.surface
            ));
            continue;
        };
        for sample in &samples {
            let stage = sample.stage.and_then(stage_config);
            for c in &callers {
                let attempts: Vec<(&str, &reqwest::Client, Option<&str>)> = match route.surface {
                    Surface::Api => vec![("token", &bare, c.token.as_deref())],
                    Surface::EventStream => vec![
                        ("cookie", &c.cookie, None),
                        ("token", &bare, c.token.as_deref()),
                    ],
                    _ => vec![("cookie", &c.cookie, None)],
                };
                for (how, client, token) in attempts {
                    // A revoked token's owner still has a session; only the token is
                    // this caller's.
                    if c.caller == Caller::RevokedToken && how == "cookie" {
                        continue;
                    }
                    let res = send(&app, client, token, route, sample).await;
                    checked += 1;
                    let status = res.status();
                    let through = let_through(&route.method, status, &location(&res));
                    let expected = c.caller.may(who, stage);
                    if status.is_server_error() {
                        problems.push(format!(
                            "{} {} as {:?} ({how}): {status}",
                            route.method, sample.path, c.caller
                        ));
                    } else if through != expected {
                        problems.push(format!(
                            "{} {} as {:?} ({how}): {status} {} — expected {}",
                            route.method,
                            sample.path,
                            c.caller,
                            location(&res),
                            if expected { "allowed" } else { "refused" }
                        ));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {checked} calls disagree with the route table:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(checked > 400, "only {checked} calls were made");

    // The README renders the same table.
    let readme = include_str!("../../../../README.md");
    let table = routes_table(&app.routes);
    assert!(
        readme.contains(&table),
        "README.md's route table differs from the router's; replace it with:\n\n{table}"
    );
}

#[tokio::test]
async fn every_cookie_authenticated_state_change_is_refused_from_another_origin() {
    let repo = TestRepo::new().unwrap();
    let app = spawn_app_with("", repo.path()).await.unwrap();
    let password = app
        .create_user("root", &[Role::Admin, Role::Dev])
        .await
        .unwrap();
    let jar = Arc::new(Jar::default());
    let own = client_with(&jar, Some(&app.base));
    assert_eq!(
        app.login(&own, "root", &password).await.unwrap().status(),
        303
    );
    let token = app.create_token(&own, "matrix").await.unwrap();
    let head = repo.head("main").unwrap();
    let fixture = Fixture {
        head,
        deployment: "1".parse().expect("a deployment id"),
        request: None,
    };
    let foreign = client_with(&jar, Some("https://evil.example"));
    let unnamed = client_with(&jar, None);
    let audit_rows = || app.sql_count("SELECT COUNT(*) FROM audit_log");
    let before = audit_rows().await.unwrap();

    let mut problems = Vec::new();
    let mut checked = 0;
    for route in app.routes.iter().filter(|r| r.method != Method::GET) {
        let Some(samples) = fixture.samples(route) else {
            problems.push(format!(
                "{} {} has no sample request",
                route.method, route.path
            ));
            continue;
        };
        for sample in &samples {
            let cases: Vec<(&str, &reqwest::Client, StatusCode)> = match route.surface {
                // The cookie alone never authenticates the API, nor a webhook.
                Surface::Api | Surface::Webhook => {
                    vec![("with the cookie alone", &own, StatusCode::UNAUTHORIZED)]
                }
                _ => vec![
                    ("from another origin", &foreign, StatusCode::FORBIDDEN),
                    ("without Origin or Referer", &unnamed, StatusCode::FORBIDDEN),
                ],
            };
            for (how, client, want) in cases {
                let res = send(&app, client, None, route, sample).await;
                checked += 1;
                if res.status() != want {
                    problems.push(format!(
                        "{} {} {how}: {} (expected {want})",
                        route.method,
                        sample.path,
                        res.status()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked > 40, "only {checked} state changes were tried");
    assert_eq!(
        audit_rows().await.unwrap(),
        before,
        "a refused cross-origin request changed something"
    );
    // The session and token still work: the refusals were about the origin.
    let res = own
        .post(app.url("/pipelines/web/ready"))
        .form(&[("sha", fixture.head.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/pipelines/web/board"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

mod samples;
