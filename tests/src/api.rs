//! A bearer-token client of a test server's JSON API, as CI would use it.

use crate::app::TestApp;
use serde_json::Value;

/// Calls `/api/v1` with a token created on the profile page of a logged-in user.
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl ApiClient {
    /// A client acting as `client`'s user (a token made through their profile page).
    pub async fn of(app: &TestApp, client: &reqwest::Client) -> ApiClient {
        let token = app
            .create_token(client, "API test client")
            .await
            .expect("a token from the profile page");
        ApiClient {
            http: reqwest::Client::new(),
            base: format!("{}/api/v1", app.base),
            auth: format!("Bearer {token}"),
        }
    }

    /// A GET of `path` with the token, to adjust and send (headers, raw answers).
    pub fn get_request(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .header("authorization", &self.auth)
    }

    /// POSTs `body` as JSON; the status and the JSON answer (`Null` if none).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header("authorization", &self.auth)
            .json(&body)
            .send()
            .await
            .expect("the API answers");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// DELETEs `path`; the status and the JSON answer (`Null` if none).
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        let res = self
            .http
            .delete(format!("{}{path}", self.base))
            .header("authorization", &self.auth)
            .send()
            .await
            .expect("the API answers");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// GETs `path`, which must answer 200, and returns its JSON.
    pub async fn get(&self, path: &str) -> Value {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("authorization", &self.auth)
            .send()
            .await
            .expect("the API answers");
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.expect("a JSON answer")
    }

    /// The verdict of `gate` for promoting `sha` into `stage` of pipeline `web`.
    pub async fn gate(&self, stage: &str, sha: &str, gate: &str) -> Value {
        let body = self
            .get(&format!("/pipelines/web/stages/{stage}/gates?sha={sha}"))
            .await;
        body["gates"]
            .as_array()
            .expect("a list of gates")
            .iter()
            .find(|g| g["gate"] == gate)
            .cloned()
            .unwrap_or_else(|| panic!("no {gate} gate in {body}"))
    }
}

/// The `ETag` of what `req` answers once the board has settled: the server's first
/// fetch and checks run in the background just after it starts, and each moves the
/// board. An error when an answer is not 200 or has no ETag, or after ten seconds of
/// changes.
pub async fn settled_etag(req: impl Fn() -> reqwest::RequestBuilder) -> anyhow::Result<String> {
    let mut last = String::new();
    for _ in 0..100 {
        let res = req().send().await?;
        anyhow::ensure!(
            res.status() == 200,
            "{} answered {}",
            res.url(),
            res.status()
        );
        let tag = res
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow::anyhow!("no ETag on {}", res.url()))?
            .to_owned();
        if tag == last {
            return Ok(tag);
        }
        last = tag;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("the board kept changing for ten seconds")
}

/// Promotes `sha` into `stage` of pipeline `web` through the API of the server at
/// `base`, as the bearer `token`: the new deployment's id (an error on any answer but
/// 201).
pub async fn promote_by_token(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    stage: &str,
    sha: &str,
) -> anyhow::Result<i64> {
    let res = http
        .post(format!(
            "{base}/api/v1/pipelines/web/stages/{stage}/promote"
        ))
        .bearer_auth(token)
        .json(&serde_json::json!({ "sha": sha }))
        .send()
        .await?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status == 201, "promote {sha} to {stage}: {status} {body}");
    body["id"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no deployment id in {body}"))
}

/// Waits until deployment `id` succeeds, polling the API of the server at `base` as the
/// bearer `token`: an error when it ends otherwise or still runs after a minute.
pub async fn deployment_succeeded(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: i64,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let d: Value = http
            .get(format!("{base}/api/v1/deployments/{id}"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        match d["state"].as_str() {
            Some("succeeded") => return Ok(()),
            Some("queued" | "running" | "verifying") if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            _ => anyhow::bail!("deployment #{id} ended as {d}"),
        }
    }
}
