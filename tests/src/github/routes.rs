//! What the fake answers: authentication, the rate limit, conditional GETs, and one
//! function per endpoint.

use super::git_json::{self, resolve};
use super::{now_text, Call, FakeDeployment, FakeRun, State};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// An answer before the common headers: status, body (none for 204/304) and extra headers.
struct Reply {
    status: u16,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        body: Some(body),
        headers: Vec::new(),
    }
}

fn not_found() -> Reply {
    reply(
        404,
        json!({ "message": "Not Found", "documentation_url": "https://docs.github.com/rest" }),
    )
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn lock(shared: &Arc<Mutex<State>>) -> std::sync::MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn answer(
    shared: &Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let query = uri.query().unwrap_or("").to_owned();
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = String::from_utf8_lossy(&body).into_owned();
    let prefix = lock(shared).prefix.clone();
    let path = uri.path().strip_prefix(prefix.as_str()).map(str::to_owned);
    let mut r = match &path {
        None => not_found(),
        Some(path) => guarded(shared, &method, path, &query, &headers, &body),
    };
    // Conditional GETs: a strong ETag of the body; 304 when it matches.
    if method == Method::GET && r.status == 200 {
        if let Some(b) = &r.body {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            b.to_string().hash(&mut h);
            let tag = format!("\"{:016x}\"", h.finish());
            if headers.get("if-none-match") == Some(&tag) {
                r = Reply {
                    status: 304,
                    body: None,
                    headers: Vec::new(),
                };
            }
            r.headers.push(("etag", tag));
        }
    }
    let mut s = lock(shared);
    let limited = s.limited_until.filter(|t| *t > unix_now());
    if r.status != 304 && limited.is_none() {
        s.remaining = (s.remaining - 1).max(0);
    }
    let (remaining, reset) = match limited {
        Some(t) => (0, t),
        None => (s.remaining, unix_now() + 3600),
    };
    s.calls.push(Call {
        method: method.to_string(),
        path: path.unwrap_or_else(|| uri.path().to_owned()),
        query,
        headers,
        body,
        status: r.status,
    });
    drop(s);
    let mut res = Response::builder()
        .status(StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("x-ratelimit-limit", "5000")
        .header("x-ratelimit-remaining", remaining.to_string())
        .header("x-ratelimit-used", (5000 - remaining).to_string())
        .header("x-ratelimit-reset", reset.to_string())
        .header("x-ratelimit-resource", "core");
    for (k, v) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            res = res.header(k, v);
        }
    }
    let body = match r.body {
        Some(b) => {
            res = res.header("content-type", "application/json; charset=utf-8");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    res.body(body).unwrap_or_default()
}

/// The rate limit and the credentials, then the endpoint.
fn guarded(
    shared: &Arc<Mutex<State>>,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HashMap<String, String>,
    body: &str,
) -> Reply {
    let auth = headers.get("authorization").cloned().unwrap_or_default();
    {
        let s = lock(shared);
        if s.limited_until.is_some_and(|t| t > unix_now()) {
            return reply(
                403,
                json!({
                    "message": "API rate limit exceeded for user ID 1.",
                    "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
                }),
            );
        }
        if let Some(token) = &s.token {
            let bearer = auth.strip_prefix("Bearer ").or(auth.strip_prefix("token "));
            let valid = bearer == Some(token.as_str())
                || s.installation_tokens
                    .iter()
                    .any(|(t, exp)| bearer == Some(t.as_str()) && *exp > unix_now());
            if path.starts_with("/repos/") && !valid {
                return reply(
                    401,
                    json!({ "message": "Bad credentials", "documentation_url": "https://docs.github.com/rest" }),
                );
            }
        }
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segs.as_slice()) {
        ("GET", ["rate_limit"]) => reply(
            200,
            json!({ "resources": {}, "rate": { "limit": 5000, "remaining": 5000, "reset": unix_now() + 3600, "used": 0 } }),
        ),
        ("POST", ["app", "installations", _, "access_tokens"]) => {
            if !auth.starts_with("Bearer ey") {
                return reply(
                    401,
                    json!({ "message": "A JSON web token could not be decoded" }),
                );
            }
            let mut s = lock(shared);
            let token = format!("ghs_fake_{}", s.installation_tokens.len() + 1);
            let lifetime = i64::try_from(s.token_lifetime.as_secs()).unwrap_or(3600);
            let expires = unix_now() + lifetime;
            s.installation_tokens.push((token.clone(), expires));
            let expires_at = time::OffsetDateTime::from_unix_timestamp(expires)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                });
            reply(
                201,
                json!({ "token": token, "expires_at": expires_at, "permissions": { "contents": "read" }, "repository_selection": "selected" }),
            )
        }
        (m, ["repos", owner, name, rest @ ..]) => {
            let (full_name, repo, base) = {
                let s = lock(shared);
                (s.full_name.clone(), s.repo.clone(), s.base.clone())
            };
            if !format!("{owner}/{name}").eq_ignore_ascii_case(&full_name) {
                return not_found();
            }
            let ctx = Ctx {
                shared,
                repo: &repo,
                base: &base,
                full_name: &full_name,
            };
            ctx.repo_route(m, rest, query, body)
        }
        _ => not_found(),
    }
}

struct Ctx<'a> {
    shared: &'a Arc<Mutex<State>>,
    repo: &'a std::path::Path,
    base: &'a str,
    full_name: &'a str,
}

fn param(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Ctx<'_> {
    fn repo_route(&self, method: &str, rest: &[&str], query: &str, body: &str) -> Reply {
        let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        match (method, rest) {
            ("GET", ["commits"]) => self.list_commits(query),
            ("GET", ["commits", r]) => match resolve(self.repo, r)
                .and_then(|sha| git_json::commit(self.repo, self.base, self.full_name, &sha))
            {
                Some(c) => reply(200, c),
                None => not_found(),
            },
            ("GET", ["commits", r, "check-runs"]) => self.check_runs(r),
            ("GET", ["commits", r, "status"]) => self.combined_status(r),
            ("GET", ["compare", spec]) => {
                let Some((a, b)) = spec.split_once("...") else {
                    return not_found();
                };
                match (resolve(self.repo, a), resolve(self.repo, b)) {
                    (Some(a), Some(b)) => {
                        match git_json::compare(self.repo, self.base, self.full_name, &a, &b) {
                            Some(c) => reply(200, c),
                            None => not_found(),
                        }
                    }
                    _ => not_found(),
                }
            }
            ("GET", ["branches", branch @ ..]) => {
                let branch = branch.join("/");
                let Some(sha) = resolve(self.repo, &branch) else {
                    return not_found();
                };
                let commit = git_json::log(self.repo, self.base, self.full_name, &["-1", &sha]);
                reply(
                    200,
                    json!({ "name": branch, "commit": commit.first(), "protected": false }),
                )
            }
            ("POST", ["deployments"]) => self.create_deployment(&body),
            ("GET", ["deployments"]) => {
                let s = lock(self.shared);
                let list: Vec<Value> = s
                    .deployments
                    .iter()
                    .rev()
                    .filter(|d| param(query, "sha").is_none_or(|sha| sha == d.sha))
                    .filter(|d| param(query, "environment").is_none_or(|e| e == d.environment))
                    .map(|d| self.deployment_json(d))
                    .collect();
                reply(200, Value::Array(list))
            }
            ("GET", ["deployments", id]) => {
                let s = lock(self.shared);
                match s.deployments.iter().find(|d| id.parse() == Ok(d.id)) {
                    Some(d) => reply(200, self.deployment_json(d)),
                    None => not_found(),
                }
            }
            ("POST", ["deployments", id, "statuses"]) => self.create_status(id, &body),
            ("GET", ["deployments", id, "statuses"]) => {
                let s = lock(self.shared);
                match s.deployments.iter().find(|d| id.parse() == Ok(d.id)) {
                    Some(d) => reply(200, Value::Array(d.posted.iter().rev().cloned().collect())),
                    None => not_found(),
                }
            }
            ("POST", ["actions", "workflows", wf, "dispatches"]) => self.dispatch(wf, &body),
            ("GET", ["actions", "workflows", wf, "runs"]) => {
                let s = lock(self.shared);
                let runs: Vec<Value> = s
                    .runs
                    .iter()
                    .rev()
                    .filter(|r| r.workflow == *wf)
                    .map(|r| self.run_json(r))
                    .collect();
                reply(
                    200,
                    json!({ "total_count": runs.len(), "workflow_runs": runs }),
                )
            }
            ("GET", ["actions", "runs", id]) => {
                let mut s = lock(self.shared);
                let Some(r) = s.runs.iter_mut().find(|r| id.parse() == Ok(r.id)) else {
                    return not_found();
                };
                r.reads += 1;
                if let Some((conclusion, after)) = r.plan.clone() {
                    if r.reads >= after {
                        r.status = "completed".into();
                        r.conclusion = Some(conclusion);
                    } else {
                        r.status = "in_progress".into();
                    }
                }
                let r = r.clone();
                reply(200, self.run_json(&r))
            }
            ("POST", ["actions", "runs", id, "cancel"]) => {
                let mut s = lock(self.shared);
                let Some(r) = s.runs.iter_mut().find(|r| id.parse() == Ok(r.id)) else {
                    return not_found();
                };
                r.status = "completed".into();
                r.conclusion = Some("cancelled".into());
                r.plan = None;
                reply(202, json!({}))
            }
            _ => not_found(),
        }
    }

    fn list_commits(&self, query: &str) -> Reply {
        let from = param(query, "sha").unwrap_or_else(|| "main".into());
        let Some(sha) = resolve(self.repo, &from) else {
            return not_found();
        };
        let per_page: usize = param(query, "per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(30)
            .clamp(1, 100);
        let page: usize = param(query, "page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1);
        let mut commits = git_json::log(
            self.repo,
            self.base,
            self.full_name,
            &[
                "--date-order",
                &format!("--max-count={}", per_page + 1),
                &format!("--skip={}", (page - 1) * per_page),
                &sha,
            ],
        );
        let more = commits.len() > per_page;
        commits.truncate(per_page);
        let mut r = reply(200, Value::Array(commits));
        if more {
            let next = format!(
                "<{}/repos/{}/commits?sha={from}&per_page={per_page}&page={}>; rel=\"next\"",
                self.base,
                self.full_name,
                page + 1
            );
            r.headers.push(("link", next));
        }
        r
    }

    fn check_runs(&self, r: &str) -> Reply {
        let Some(sha) = resolve(self.repo, r) else {
            return not_found();
        };
        let s = lock(self.shared);
        let runs: Vec<Value> = s
            .check_runs
            .iter()
            .filter(|c| c.sha == sha)
            .map(|c| {
                let url = format!("https://github.com/{}/runs/{}", self.full_name, c.id);
                json!({
                    "id": c.id, "name": c.name, "node_id": format!("CR_{}", c.id), "head_sha": c.sha,
                    "external_id": "", "url": format!("{}/repos/{}/check-runs/{}", self.base, self.full_name, c.id),
                    "html_url": url, "details_url": url, "status": c.status, "conclusion": c.conclusion,
                    "started_at": c.at, "completed_at": (c.status == "completed").then(|| c.at.clone()),
                    "output": { "title": null, "summary": null, "text": null, "annotations_count": 0, "annotations_url": "" },
                    "check_suite": { "id": 1 }, "app": null, "pull_requests": []
                })
            })
            .collect();
        reply(
            200,
            json!({ "total_count": runs.len(), "check_runs": runs }),
        )
    }

    fn combined_status(&self, r: &str) -> Reply {
        let Some(sha) = resolve(self.repo, r) else {
            return not_found();
        };
        let s = lock(self.shared);
        let mine: Vec<_> = s.statuses.iter().filter(|st| st.sha == sha).collect();
        let state = if mine
            .iter()
            .any(|st| st.state == "failure" || st.state == "error")
        {
            "failure"
        } else if mine.is_empty() || mine.iter().any(|st| st.state == "pending") {
            "pending"
        } else {
            "success"
        };
        let statuses: Vec<Value> = mine
            .iter()
            .map(|st| {
                json!({
                    "id": st.id, "node_id": format!("S_{}", st.id), "state": st.state, "context": st.context,
                    "description": format!("{} {}", st.context, st.state),
                    "target_url": format!("https://ci.example.com/{}/{}", st.context, st.id),
                    "created_at": st.at, "updated_at": st.at, "url": "", "avatar_url": null,
                })
            })
            .collect();
        reply(
            200,
            json!({ "state": state, "sha": sha, "total_count": statuses.len(), "statuses": statuses,
                    "repository": { "full_name": self.full_name }, "commit_url": "", "url": "" }),
        )
    }

    fn deployment_json(&self, d: &FakeDeployment) -> Value {
        let url = format!(
            "{}/repos/{}/deployments/{}",
            self.base, self.full_name, d.id
        );
        json!({
            "url": url, "id": d.id, "node_id": format!("D_{}", d.id), "sha": d.sha, "ref": d.sha,
            "task": "deploy", "payload": d.payload, "original_environment": d.environment,
            "environment": d.environment, "description": null, "creator": null,
            "created_at": now_text(), "updated_at": now_text(), "statuses_url": format!("{url}/statuses"),
            "repository_url": format!("{}/repos/{}", self.base, self.full_name),
            "transient_environment": false, "production_environment": false,
        })
    }

    fn create_deployment(&self, body: &Value) -> Reply {
        let Some(sha) = body["ref"].as_str().and_then(|r| resolve(self.repo, r)) else {
            return reply(
                422,
                json!({ "message": "No ref found for: the given ref", "documentation_url": "https://docs.github.com/rest" }),
            );
        };
        let mut s = lock(self.shared);
        let id = s.id();
        let d = FakeDeployment {
            id,
            sha,
            environment: body["environment"]
                .as_str()
                .unwrap_or("production")
                .to_owned(),
            payload: body["payload"].clone(),
            statuses: Vec::new(),
            posted: Vec::new(),
        };
        let json = self.deployment_json(&d);
        s.deployments.push(d);
        reply(201, json)
    }

    fn create_status(&self, id: &str, body: &Value) -> Reply {
        let mut s = lock(self.shared);
        let status_id = s.id();
        let Some(d) = s.deployments.iter_mut().find(|d| id.parse() == Ok(d.id)) else {
            return not_found();
        };
        let state = body["state"].as_str().unwrap_or("").to_owned();
        d.statuses.push(state.clone());
        let json = json!({
            "id": status_id, "node_id": format!("DS_{status_id}"), "state": state,
            "description": body["description"], "environment": body["environment"],
            "target_url": body["target_url"], "log_url": body["log_url"],
            "environment_url": body["environment_url"], "creator": null,
            "created_at": now_text(), "updated_at": now_text(),
            "deployment_url": format!("{}/repos/{}/deployments/{}", self.base, self.full_name, d.id),
            "repository_url": format!("{}/repos/{}", self.base, self.full_name),
            "url": "",
        });
        d.posted.push(json.clone());
        reply(201, json)
    }

    fn dispatch(&self, workflow: &str, body: &Value) -> Reply {
        let Some(sha) = body["ref"].as_str().and_then(|r| resolve(self.repo, r)) else {
            return reply(
                422,
                json!({ "message": "No ref found for: the given ref", "documentation_url": "https://docs.github.com/rest" }),
            );
        };
        let mut s = lock(self.shared);
        let id = s.id();
        let plan = s.auto.clone();
        s.runs.push(FakeRun {
            id,
            workflow: workflow.to_owned(),
            head_sha: sha,
            inputs: body["inputs"].clone(),
            status: "queued".into(),
            conclusion: None,
            created_at: now_text(),
            plan,
            reads: 0,
        });
        Reply {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }

    /// A run as GitHub shows it; its title is the workflow's `run-name`, which shows the
    /// `deployment` input.
    fn run_json(&self, r: &FakeRun) -> Value {
        let title = format!(
            "Deploy {} to {} ({})",
            r.inputs["sha"].as_str().unwrap_or(""),
            r.inputs["stage"].as_str().unwrap_or(""),
            r.inputs["deployment"].as_str().unwrap_or("")
        );
        json!({
            "id": r.id, "name": title, "display_title": title, "node_id": format!("WR_{}", r.id),
            "head_branch": "main", "head_sha": r.head_sha, "path": format!(".github/workflows/{}", r.workflow),
            "run_number": r.id, "event": "workflow_dispatch", "status": r.status, "conclusion": r.conclusion,
            "workflow_id": 1, "url": format!("{}/repos/{}/actions/runs/{}", self.base, self.full_name, r.id),
            "html_url": format!("https://github.com/{}/actions/runs/{}", self.full_name, r.id),
            "pull_requests": [], "created_at": r.created_at, "updated_at": now_text(), "run_attempt": 1,
        })
    }
}
