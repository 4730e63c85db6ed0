//! The sample requests the matrix sends: one (or one per stage) for every route of the
//! route table. A route without a sample fails the matrix: add one with the route.

use super::{Fixture, Sample};
use slipway_server::http::surface::{RouteEntry, Surface};

impl Fixture {
    /// The sample requests for `route` (one per stage for stage routes), or `None` for a
    /// route this test does not know yet: add a sample when you add a route.
    pub(super) fn samples(&self, route: &RouteEntry) -> Option<Vec<Sample>> {
        let head = &self.head;
        let fill = |stage: &str| {
            let id = if route.path.starts_with("/deployments/") {
                self.deployment.to_string()
            } else if let (true, Some(request)) =
                (route.path.contains("/requests/{id}"), self.request)
            {
                request.to_string()
            } else {
                // Sessions and tokens that do not exist: the handler answers after its
                // checks, and nothing real is ended or revoked.
                "999999".to_owned()
            };
            route
                .path
                .replace("{pipeline}", "web")
                .replace("{stage}", stage)
                .replace("{sha}", head)
                .replace("{id}", &id)
        };
        let one = |form: Vec<(&'static str, String)>, json: Option<serde_json::Value>| {
            Some(vec![Sample {
                path: fill("qa"),
                stage: None,
                form,
                json,
            }])
        };
        let per_stage = |form: &dyn Fn(&'static str) -> Vec<(&'static str, String)>,
                         json: Option<serde_json::Value>| {
            Some(
                ["qa", "production"]
                    .into_iter()
                    .map(|stage| Sample {
                        path: fill(stage),
                        stage: Some(stage),
                        form: form(stage),
                        json: json.clone(),
                    })
                    .collect(),
            )
        };
        let s = |v: &str| v.to_owned();
        // A request's routes: on production, whose approval roles decide.
        let on_request = |form: Vec<(&'static str, String)>, json: Option<serde_json::Value>| {
            Some(vec![Sample {
                path: fill("production"),
                stage: self.request.map(|_| "production"),
                form,
                json,
            }])
        };
        let reason = || vec![("reason", s("authorization matrix"))];
        let has_stage = route.path.contains("{stage}");
        match (route.surface, route.method.as_str(), route.path.as_str()) {
            (Surface::Form, "POST", "/login") => one(
                vec![
                    ("username", s("nobody-here")),
                    ("password", s("not the password")),
                ],
                None,
            ),
            (Surface::Form, "POST", "/setup") => one(
                vec![
                    ("token", "0".repeat(64)),
                    ("name", s("intruder")),
                    ("password", s("a long enough passphrase")),
                    ("confirm", s("a long enough passphrase")),
                ],
                None,
            ),
            (Surface::Form, "POST", "/password") => one(
                vec![
                    ("current", s("not the current password")),
                    ("new", s("another long passphrase")),
                    ("confirm", s("another long passphrase")),
                ],
                None,
            ),
            (Surface::Form, "POST", "/profile/tokens") => one(vec![("name", s("matrix"))], None),
            (Surface::Form, "POST", "/admin/users") => one(
                vec![("name", s("made-by-matrix")), ("role", s("viewer"))],
                None,
            ),
            (Surface::Form, "POST", "/admin/users/roles") => {
                one(vec![("name", s("target")), ("role", s("viewer"))], None)
            }
            (
                Surface::Form,
                "POST",
                "/admin/users/disable" | "/admin/users/enable" | "/admin/users/reset-password",
            ) => one(vec![("name", s("target"))], None),
            (
                Surface::Form,
                "POST",
                "/pipelines/{pipeline}/ready" | "/pipelines/{pipeline}/unready",
            ) => one(vec![("sha", head.clone())], None),
            (Surface::Form, "POST", "/pipelines/{pipeline}/promote") => per_stage(
                &|stage| {
                    vec![
                        ("sha", head.clone()),
                        ("stage", s(stage)),
                        ("confirmed", s("true")),
                    ]
                },
                None,
            ),
            (Surface::Form, "POST", "/pipelines/{pipeline}/stages/{stage}/lock") => {
                per_stage(&|_| reason(), None)
            }
            (Surface::Form, "POST", "/pipelines/{pipeline}/stages/{stage}/rollback") => {
                per_stage(&|_| reason(), None)
            }
            (Surface::Form, "POST", "/pipelines/{pipeline}/stages/{stage}/signoff") => {
                per_stage(&|_| vec![("sha", head.clone())], None)
            }
            (Surface::Form, "POST", "/pipelines/{pipeline}/stages/{stage}/signoff/withdraw") => {
                per_stage(
                    &|_| vec![("sha", head.clone()), ("reason", s("authorization matrix"))],
                    None,
                )
            }
            (Surface::Api, "POST", "/api/v1/pipelines/{pipeline}/stages/{stage}/signoff") => {
                per_stage(&|_| vec![], Some(serde_json::json!({ "sha": head })))
            }
            (
                Surface::Api,
                "DELETE",
                "/api/v1/pipelines/{pipeline}/stages/{stage}/signoff/{sha}",
            ) => per_stage(
                &|_| vec![],
                Some(serde_json::json!({ "reason": "authorization matrix" })),
            ),
            (Surface::Form, "POST", "/pipelines/{pipeline}/stages/{stage}/requests") => {
                per_stage(&|_| vec![("sha", head.clone())], None)
            }
            (Surface::Api, "POST", "/api/v1/pipelines/{pipeline}/stages/{stage}/requests") => {
                per_stage(&|_| vec![], Some(serde_json::json!({ "sha": head })))
            }
            (Surface::Api, "GET", "/api/v1/pipelines/{pipeline}/stages/{stage}/requests") => {
                per_stage(&|_| vec![], None)
            }
            (Surface::Form, "POST", "/requests/{id}/approve") => on_request(vec![], None),
            (Surface::Form, "POST", "/requests/{id}/reject") => {
                on_request(vec![("reason", s("authorization matrix"))], None)
            }
            (Surface::Api, "POST", "/api/v1/requests/{id}/approve") => {
                on_request(vec![], Some(serde_json::json!({})))
            }
            (Surface::Api, "POST", "/api/v1/requests/{id}/reject") => on_request(
                vec![],
                Some(serde_json::json!({ "reason": "authorization matrix" })),
            ),
            (Surface::Form, "POST", "/pipelines/{pipeline}/freezes") => one(
                vec![
                    ("reason", s("authorization matrix")),
                    ("hours", s("1")),
                    ("stages", s("production")),
                ],
                None,
            ),
            (Surface::Api, "POST", "/api/v1/pipelines/{pipeline}/freezes") => one(
                vec![],
                Some(serde_json::json!({
                    "until": "2999-01-01T00:00:00Z",
                    "reason": "authorization matrix",
                    "stages": ["production"],
                })),
            ),
            (
                Surface::Form,
                "POST",
                "/pipelines/{pipeline}/stages/{stage}/unlock"
                | "/pipelines/{pipeline}/stages/{stage}/queue/withdraw",
            ) => per_stage(&|_| vec![], None),
            (
                Surface::Form,
                "POST",
                "/logout"
                | "/profile/sessions/{id}/end"
                | "/profile/tokens/{id}/revoke"
                | "/pipelines/{pipeline}/refresh"
                | "/profile/notifications/read"
                | "/deployments/{id}/cancel"
                | "/freezes/{id}/end",
            ) => one(vec![], None),
            (Surface::Webhook, "POST", "/hooks/github") => {
                one(vec![], Some(serde_json::json!({ "zen": "unsigned" })))
            }
            (Surface::Api, "POST", "/api/v1/pipelines/{pipeline}/ready") => {
                one(vec![], Some(serde_json::json!({ "sha": head })))
            }
            (Surface::Api, "POST", "/api/v1/pipelines/{pipeline}/stages/{stage}/promote") => {
                per_stage(&|_| vec![], Some(serde_json::json!({ "sha": head })))
            }
            (
                Surface::Api,
                "POST",
                "/api/v1/pipelines/{pipeline}/stages/{stage}/lock"
                | "/api/v1/pipelines/{pipeline}/stages/{stage}/rollback",
            ) => per_stage(
                &|_| vec![],
                Some(serde_json::json!({ "reason": "authorization matrix" })),
            ),
            (Surface::Api, "GET", "/api/v1/pipelines/{pipeline}/stages/{stage}/gates") => {
                per_stage(&|_| vec![], None).map(|samples| {
                    samples
                        .into_iter()
                        .map(|sample| Sample {
                            path: format!("{}?sha={head}", sample.path),
                            ..sample
                        })
                        .collect()
                })
            }
            (Surface::Api, "DELETE", _) if has_stage => per_stage(&|_| vec![], None),
            (
                Surface::Api,
                "GET" | "POST" | "DELETE",
                "/api/v1/pipelines/{pipeline}/board"
                | "/api/v1/pipelines/{pipeline}/ready/{sha}"
                | "/api/v1/deployments/{id}"
                | "/api/v1/deployments/{id}/log"
                | "/api/v1/deployments/{id}/cancel"
                | "/api/v1/pipelines/{pipeline}/freezes"
                | "/api/v1/pipelines/{pipeline}/insights"
                | "/api/v1/freezes/{id}/end"
                | "/api/v1/openapi.json",
            ) => one(vec![], None),
            (Surface::ServerFn, "GET", path) => {
                let query = match path {
                    "/_fn/board" | "/_fn/calendar" => s("pipeline=web"),
                    "/_fn/deployment" => format!("id={}", self.deployment),
                    "/_fn/history" => s("pipeline=web&stage=qa"),
                    "/_fn/insights" => s("pipeline=web&days=7"),
                    "/_fn/compare" => format!("pipeline=web&from={head}&to={head}"),
                    "/_fn/confirm" => format!("pipeline=web&stage=production&sha={head}&mode=now"),
                    "/_fn/setup" => format!("token={}", "0".repeat(64)),
                    "/_fn/me" | "/_fn/home" | "/_fn/users" | "/_fn/flash" | "/_fn/profile"
                    | "/_fn/audit" | "/_fn/deliveries" => String::new(),
                    _ => return None,
                };
                Some(vec![Sample {
                    path: format!("{path}?{query}"),
                    stage: None,
                    form: vec![],
                    json: None,
                }])
            }
            (Surface::Page, "GET", "/pipelines/{pipeline}/stages/{stage}/confirm") => {
                Some(vec![Sample {
                    path: format!("/pipelines/web/stages/production/confirm?sha={head}&mode=now"),
                    stage: Some("production"),
                    form: vec![],
                    json: None,
                }])
            }
            (Surface::Page | Surface::Health | Surface::EventStream, "GET", _) => {
                if has_stage {
                    per_stage(&|_| vec![], None)
                } else {
                    one(vec![], None)
                }
            }
            _ => None,
        }
    }
}
