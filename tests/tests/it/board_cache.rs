//! The board is computed once per version and role set and served with an `ETag`: a
//! client holding the current board gets `304`, and no change is ever served stale.

use reqwest::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use serde_json::{json, Value};
use slipway_model::Role;
use slipway_tests::api::{settled_etag, ApiClient as Api};
use slipway_tests::app::{pipeline_config, spawn_app};
use slipway_tests::git::TestRepo;

fn etag(res: &reqwest::Response) -> String {
    res.headers()
        .get(ETAG)
        .unwrap_or_else(|| panic!("no ETag on {}", res.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

async fn settled(req: impl Fn() -> reqwest::RequestBuilder) -> String {
    settled_etag(req).await.unwrap()
}

/// GETs `path` with the ETag the client holds; the status, the new ETag and the body.
async fn revalidate(req: reqwest::RequestBuilder, held: &str) -> (u16, String, String) {
    let res = req.header(IF_NONE_MATCH, held).send().await.unwrap();
    let status = res.status().as_u16();
    let tag = etag(&res);
    (status, tag, res.text().await.unwrap())
}

#[tokio::test]
async fn a_board_answers_304_while_it_holds_and_is_never_served_stale_after_a_change() {
    let mut repo = TestRepo::new().unwrap();
    let first = repo.commit("First").unwrap();
    let second = repo.commit("Second").unwrap();
    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let dana = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let api = Api::of(&app, &dana).await;

    // The JSON API: an ETag, revalidated every time, and 304 without a body.
    let res = api
        .get_request("/pipelines/web/board")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CACHE_CONTROL], "private, no-cache");
    let board: Value = res.json().await.unwrap();
    assert_eq!(board["ready"], json!([]));
    let json_tag = settled(|| api.get_request("/pipelines/web/board")).await;
    let (status, tag, body) = revalidate(api.get_request("/pipelines/web/board"), &json_tag).await;
    assert_eq!(
        (status, tag.as_str(), body.as_str()),
        (304, json_tag.as_str(), "")
    );

    // The page, the same way (once the login's one-time message has been shown: a page
    // that shows one is rendered for that request alone).
    let page = |client: &reqwest::Client| client.get(app.url("/pipelines/web"));
    let res = page(&dana).send().await.unwrap();
    assert!(res.headers().get(ETAG).is_none() || res.headers().get("set-cookie").is_none());
    let res = page(&dana).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CACHE_CONTROL], "private, no-cache");
    let html = res.text().await.unwrap();
    assert!(html.contains("Second") && !html.contains("ship it, note 42"));
    let page_tag = settled(|| page(&dana)).await;
    let (status, tag, body) = revalidate(page(&dana), &page_tag).await;
    assert_eq!(
        (status, tag.as_str(), body.as_str()),
        (304, page_tag.as_str(), "")
    );
    // A board served from memory still carries the policy naming its scripts' nonce.
    let res = page(&dana).send().await.unwrap();
    let policy = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = res.text().await.unwrap();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the page's policy");
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "{policy}");

    // A change through the API: the next read by either route shows it.
    let (status, body) = api
        .post(
            "/pipelines/web/ready",
            json!({ "sha": second, "note": "ship it, note 42" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, new_tag, body) =
        revalidate(api.get_request("/pipelines/web/board"), &json_tag).await;
    assert_eq!(status, 200);
    assert_ne!(new_tag, json_tag);
    let board: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        board["ready"][0]["commit"]["sha"],
        second.as_str(),
        "{body}"
    );
    let (status, new_page_tag, html) = revalidate(page(&dana), &page_tag).await;
    assert_eq!(status, 200);
    assert_ne!(new_page_tag, page_tag);
    assert!(html.contains("ship it, note 42"));

    // A change through a form: its redirect shows it at once.
    let res = app
        .post_form(&dana, "/pipelines/web/ready", &[("sha", first.as_str())])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (status, html) = app.get_text(&dana, "/pipelines/web").await.unwrap();
    assert_eq!(status, 200);
    assert!(html.contains(&first[..7]));
    let (status, _, html) = revalidate(page(&dana), &new_page_tag).await;
    assert_eq!(status, 200);
    let board: Value = api.get("/pipelines/web/board").await;
    let ready: Vec<&str> = board["ready"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["commit"]["sha"].as_str())
        .collect();
    assert!(
        ready.contains(&first.as_str()) && ready.contains(&second.as_str()),
        "{ready:?}"
    );
    assert!(html.contains(&first[..7]));
}

#[tokio::test]
async fn viewers_with_the_same_roles_share_a_board_but_a_requester_never_decides_their_own_request()
{
    let mut repo = TestRepo::new().unwrap();
    let text = pipeline_config(repo.path()).replacen(
        "label = \"QA\"\n",
        "label = \"QA\"\napproval = { roles = [\"ops\"] }\n",
        1,
    );
    let sha = repo.commit("Needs approval").unwrap();
    let app = spawn_app(&text).await.unwrap();
    let dana = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let olga_web = app.logged_in("olga", &[Role::Ops]).await.unwrap();
    let otto_web = app.logged_in("otto", &[Role::Ops]).await.unwrap();
    let (olga, otto) = (
        Api::of(&app, &olga_web).await,
        Api::of(&app, &otto_web).await,
    );
    let res = app
        .post_form(&dana, "/pipelines/web/ready", &[("sha", sha.as_str())])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (status, body) = olga
        .post(
            "/pipelines/web/stages/qa/requests",
            json!({ "sha": sha, "note": "release 42" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let request = body["id"].as_i64().unwrap();

    // Otto reads first, so the board both share was computed for him.
    let can_decide = |board: &Value| -> Vec<bool> {
        board["ready"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["next"]["approval"]["can_decide"].as_bool())
            .collect()
    };
    assert_eq!(can_decide(&otto.get("/pipelines/web/board").await), [true]);
    assert_eq!(can_decide(&olga.get("/pipelines/web/board").await), [false]);
    assert_eq!(can_decide(&otto.get("/pipelines/web/board").await), [true]);
    let decide = format!("Decide on request #{request}");
    let (_, otto_page) = app.get_text(&otto_web, "/pipelines/web").await.unwrap();
    let (_, olga_page) = app.get_text(&olga_web, "/pipelines/web").await.unwrap();
    assert!(otto_page.contains(&decide), "{otto_page}");
    assert!(!olga_page.contains(&decide), "{olga_page}");
}

#[tokio::test]
async fn a_board_read_while_nothing_changed_costs_one_query_by_cookie_or_by_token() {
    use slipway_tests::process::{
        logged_in, logged_statements, statements_by_request, Installation,
    };
    let mut repo = TestRepo::new().unwrap();
    repo.commit("Counted").unwrap();
    let install = Installation::new("log_format = \"json\"", &pipeline_config(repo.path()));
    install.add_user("dana", &["dev"], "correct horse battery staple");
    let log = install.dir().join("stderr.log");
    let file = std::fs::File::create(&log).unwrap();
    let server = install.start_with(|cmd| {
        // Every statement sqlx runs is a debug line inside the request's span.
        // (the request's span is at info: without it, statements carry no request id).
        cmd.env("RUST_LOG", "warn,slipway_server=info,sqlx::query=debug")
            .stderr(std::process::Stdio::from(file));
    });
    server.wait_up().await;
    let base = install.base.clone();
    let dana = logged_in(&base, "dana", "correct horse battery staple").await;
    let res = dana
        .post(format!("{base}/profile/tokens"))
        .header("origin", &base)
        .form(&[("name", "counting")])
        .send()
        .await
        .unwrap();
    let token = slipway_tests::app::shown_once(&res.text().await.unwrap(), "new-token")
        .expect("a new token");
    let api = reqwest::Client::new();
    for n in 0..6 {
        let res = dana
            .get(format!("{base}/pipelines/web"))
            .header("x-request-id", format!("page-{n}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = api
            .get(format!("{base}/api/v1/pipelines/web/board"))
            .bearer_auth(&token)
            .header("x-request-id", format!("json-{n}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    drop(server);

    let statements = logged_statements(&std::fs::read_to_string(&log).unwrap());
    let counts = statements_by_request(&statements);
    let count = |id: &str| counts.get(id).copied().unwrap_or_default();
    // The first read computes the board (and shows the log attributes statements).
    assert!(count("page-0") > 5, "{counts:?}");
    // Later ones cost the credential's one query; the minute may turn once meanwhile,
    // or a background fetch may move the board, so one of five may compute again.
    for route in ["page", "json"] {
        let warm: Vec<usize> = (1..6).map(|n| count(&format!("{route}-{n}"))).collect();
        assert!(
            warm.iter().filter(|c| **c == 1).count() >= 4,
            "{route}: {warm:?} ({counts:?})"
        );
    }
}
