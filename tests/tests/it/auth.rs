//! Login, logout, sessions, the role policy at the HTTP boundary and the Origin check.

use slipway_model::Role;
use slipway_tests::app::{location, pipeline_config, spawn_app, spawn_app_with, TestApp};
use slipway_tests::git::TestRepo;

async fn app() -> (TestApp, TestRepo) {
    let repo = TestRepo::new().expect("test repo");
    let app = spawn_app(&pipeline_config(repo.path()))
        .await
        .expect("app starts");
    (app, repo)
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.cookies()
        .find(|c| c.name() == "slipway_session")
        .map(|c| c.value().to_owned())
}

#[tokio::test]
async fn logging_in_with_the_right_password_opens_the_pages_as_that_user() {
    let (app, _repo) = app().await;
    let password = app.create_user("alice", &[Role::Dev]).await.unwrap();
    let client = app.client();

    let res = app.login(&client, "alice", &password).await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let cookie = res
        .cookies()
        .find(|c| c.name() == "slipway_session")
        .expect("a session cookie");
    assert!(cookie.http_only(), "the session cookie must be HttpOnly");
    assert!(
        cookie.same_site_lax(),
        "the session cookie must be SameSite=Lax"
    );
    assert!(
        !cookie.secure(),
        "plain http base URL: no Secure flag (https sets it)"
    );

    let (status, body) = app.get_text(&client, "/").await.unwrap();
    assert_eq!(status, 200);
    assert!(slipway_tests::app::whoami(&body) == Some("alice"), "{body}");
    assert!(
        body.contains("Web shop"),
        "the home page lists the pipeline"
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_a_message_and_no_session() {
    let (app, _repo) = app().await;
    app.create_user("alice", &[Role::Dev]).await.unwrap();
    let client = app.client();

    let res = app
        .login(&client, "alice", "not the right password")
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(to.starts_with("/login?error=credentials"), "{to}");
    assert!(
        session_cookie(&res).is_none(),
        "no session for a failed login"
    );

    let (status, body) = app.get_text(&client, &to).await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("Wrong user name or password."), "{body}");
    // Still anonymous: pages send us back to the login form.
    let res = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=%2F");
}

#[tokio::test]
async fn an_unknown_user_gets_the_same_answer_as_a_wrong_password() {
    let (app, _repo) = app().await;
    let client = app.client();
    let res = app
        .login(&client, "mallory", "whatever password")
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login?error=credentials"));
}

#[tokio::test]
async fn the_session_id_changes_at_login() {
    let (app, _repo) = app().await;
    let alice = app.create_user("alice", &[Role::Dev]).await.unwrap();
    let bob = app.create_user("bob", &[Role::Qa]).await.unwrap();
    let client = app.client();

    let first =
        session_cookie(&app.login(&client, "alice", &alice).await.unwrap()).expect("cookie");
    let second = session_cookie(&app.login(&client, "bob", &bob).await.unwrap()).expect("cookie");
    assert_ne!(first, second, "logging in must issue a new session id");

    // The old id no longer authenticates anyone.
    let stale = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = stale
        .get(app.url("/"))
        .header("cookie", format!("slipway_session={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "a rotated-away session id must not work");
}

#[tokio::test]
async fn logging_out_destroys_the_session() {
    let (app, _repo) = app().await;
    let password = app.create_user("alice", &[Role::Dev]).await.unwrap();
    let client = app.client();
    let cookie = session_cookie(&app.login(&client, "alice", &password).await.unwrap()).unwrap();

    let res = client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?notice=logged-out");

    let res = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303, "logged out: back to the login page");
    // Replaying the old cookie does not bring the session back.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = replay
        .get(app.url("/"))
        .header("cookie", format!("slipway_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_login_and_back_afterwards() {
    let (app, _repo) = app().await;
    let password = app.create_user("alice", &[Role::Viewer]).await.unwrap();
    let client = app.client();
    let res = client.get(app.url("/pipelines/web")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=%2Fpipelines%2Fweb");
    // The login form carries `next` in its HTML, so it works without JavaScript.
    let (_, form) = app
        .get_text(&client, "/login?next=%2Fpipelines%2Fweb")
        .await
        .unwrap();
    assert!(form.contains(r#"value="/pipelines/web""#), "{form}");

    let res = client
        .post(app.url("/login"))
        .form(&[
            ("username", "alice"),
            ("password", password.as_str()),
            ("next", "/pipelines/web"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/pipelines/web");
    // An absolute URL in `next` is not followed (no open redirect).
    let res = client
        .post(app.url("/login"))
        .form(&[
            ("username", "alice"),
            ("password", password.as_str()),
            ("next", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/");
}

#[tokio::test]
async fn a_viewer_is_refused_where_only_an_admin_may_act() {
    let (app, _repo) = app().await;
    let viewer = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let admin = app.logged_in("root", &[Role::Admin]).await.unwrap();

    let (status, body) = app.get_text(&viewer, "/admin/users").await.unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("your roles (viewer) do not allow you to manage users"),
        "{body}"
    );
    assert!(
        !body.contains(r#"data-user="root""#),
        "no user data leaks into the refusal"
    );

    // The server function itself refuses, whatever the page does.
    let res = viewer.get(app.url("/_fn/users")).send().await.unwrap();
    assert!(
        res.status().is_client_error() || res.status().is_server_error(),
        "{}",
        res.status()
    );
    let text = res.text().await.unwrap();
    assert!(text.contains("Forbidden"), "{text}");

    let (status, body) = app.get_text(&admin, "/admin/users").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"data-user="vera""#) && body.contains(r#"data-user="root""#),
        "{body}"
    );
}

#[tokio::test]
async fn a_viewer_may_read_the_board_but_not_refresh_it() {
    let (app, _repo) = app().await;
    let viewer = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let (status, body) = app.get_text(&viewer, "/pipelines/web").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        !body.contains("/pipelines/web/refresh"),
        "no refresh button for a viewer"
    );
    let res = viewer
        .post(app.url("/pipelines/web/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("do not allow you to refresh a repository"));
}

#[tokio::test]
async fn a_cross_origin_form_post_is_refused() {
    let (app, _repo) = app().await;
    let password = app.create_user("alice", &[Role::Dev]).await.unwrap();

    // A login form on another site, posting here.
    let evil = app.client_with_origin("http://evil.example");
    let res = app.login(&evil, "alice", &password).await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(session_cookie(&res).is_none());
    let body = res.text().await.unwrap();
    assert!(
        body.contains("cross-origin request refused") && body.contains("evil.example"),
        "{body}"
    );

    // A logged-in user's browser tricked into posting from another site.
    let client = app.logged_in("bob", &[Role::Dev]).await.unwrap();
    let res = client
        .post(app.url("/pipelines/web/refresh"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Neither Origin nor Referer: refused too.
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = bare.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // A Referer from our own pages is accepted when Origin is absent.
    let res = bare
        .post(app.url("/login"))
        .header("referer", app.url("/login"))
        .form(&[
            ("username", "alice"),
            ("password", password.as_str()),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn health_and_readiness_answer_without_login() {
    let (app, _repo) = app().await;
    let client = app.client();
    let (status, body) = app.get_text(&client, "/healthz").await.unwrap();
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, body) = app.get_text(&client, "/readyz").await.unwrap();
    assert_eq!((status, body.as_str()), (200, "ready\n"));
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let (app, _repo) = app().await;
    let res = app.client().get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["referrer-policy"], "same-origin");
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    // Inline scripts run only with this response's nonce, and every inline script the
    // page carries (hydration, resolved data) has it; no 'unsafe-inline' for scripts.
    let scripts = csp
        .split(';')
        .find_map(|d| d.trim().strip_prefix("script-src "))
        .expect("a script-src directive");
    assert!(!scripts.contains("'unsafe-inline'"), "{csp}");
    let nonce = scripts
        .split_whitespace()
        .find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
        .unwrap_or_else(|| panic!("a page's policy names its nonce: {csp}"))
        .to_owned();
    let html = res.text().await.unwrap();
    let tags: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!tags.is_empty());
    for tag in tags {
        let open = &tag[..tag.find('>').unwrap()];
        assert!(
            open.contains(&format!("nonce=\"{nonce}\"")),
            "a script without the nonce: <script{open}>"
        );
    }
    // Each render has its own nonce.
    let again = app.client().get(app.url("/login")).send().await.unwrap();
    assert!(!again.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains(&nonce));
    // Other responses allow no inline script at all.
    let api = app
        .client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    let api_csp = api.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        api_csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
        "{api_csp}"
    );
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_with_a_clear_message_and_released() {
    let (app, _repo) = app().await;
    let password = app.create_user("alice", &[Role::Dev]).await.unwrap();
    let client = app.client();
    for _ in 0..5 {
        let res = app.login(&client, "alice", "guessing wrong").await.unwrap();
        assert!(location(&res).starts_with("/login?error=credentials"));
    }
    // Even the right password waits now; the answer says how long.
    let res = app.login(&client, "Alice", &password).await.unwrap();
    let to = location(&res);
    assert!(to.starts_with("/login?error=throttled&retry=1"), "{to}");
    let (_, page) = app.get_text(&client, &to).await.unwrap();
    assert!(
        page.contains("Too many failed logins. Try again in 1 second."),
        "{page}"
    );

    // Unknown names are throttled the same way (no way to tell who exists).
    for _ in 0..5 {
        app.login(&client, "nobody", "guessing wrong")
            .await
            .unwrap();
    }
    let res = app
        .login(&client, "nobody", "guessing wrong")
        .await
        .unwrap();
    assert!(location(&res).contains("error=throttled"));

    // The throttle releases by itself.
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let res = app.login(&client, "alice", &password).await.unwrap();
    assert_eq!(location(&res), "/");
    let audit = app.state.storage.audit_entries(100).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "login" && e.outcome == "throttled"));
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "login" && e.outcome == "failed")
            .count(),
        10
    );
}

#[tokio::test]
async fn one_address_guessing_many_names_is_throttled_while_other_addresses_are_not() {
    let (app, _repo) = app().await;
    let password = app.create_user("alice", &[Role::Dev]).await.unwrap();
    let sprayer = app.client_from("127.0.0.2".parse().unwrap());
    // Password spraying: one guess per name stays under every per-account limit...
    for i in 0..21 {
        let res = app
            .login(&sprayer, &format!("user{i}"), "Summer2026!!")
            .await
            .unwrap();
        assert!(
            location(&res).starts_with("/login?error=credentials"),
            "attempt {i} should be a plain refusal"
        );
    }
    // ...but the address has used up its free attempts: even a fresh name waits.
    let res = app.login(&sprayer, "alice", &password).await.unwrap();
    let to = location(&res);
    assert!(to.starts_with("/login?error=throttled&retry="), "{to}");

    // Someone else, from another address, logs in as alice untouched.
    let colleague = app.client_from("127.0.0.3".parse().unwrap());
    let res = app.login(&colleague, "alice", &password).await.unwrap();
    assert_eq!(location(&res), "/");

    let audit = app.state.storage.audit_entries(100).await.unwrap();
    let failed: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "login" && e.outcome == "failed")
        .collect();
    assert_eq!(failed.len(), 21, "every failed login is recorded");
}

/// A login POST that says it was forwarded for `forwarded_for`.
async fn login_via_proxy(
    app: &TestApp,
    client: &reqwest::Client,
    forwarded_for: &str,
    name: &str,
    password: &str,
) -> String {
    let res = client
        .post(app.url("/login"))
        .header("x-forwarded-for", forwarded_for)
        .form(&[("username", name), ("password", password), ("next", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    location(&res)
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_throttled_not_the_proxy() {
    let repo = TestRepo::new().unwrap();
    let app = spawn_app_with("trusted_proxies = [\"127.0.0.1\"]", repo.path())
        .await
        .unwrap();
    let password = app.create_user("alice", &[Role::Dev]).await.unwrap();
    let proxy = app.client();
    for i in 0..21 {
        let to = login_via_proxy(&app, &proxy, "203.0.113.7", &format!("user{i}"), "guess").await;
        assert!(to.starts_with("/login?error=credentials"), "{to}");
    }
    let to = login_via_proxy(&app, &proxy, "203.0.113.7", "alice", &password).await;
    assert!(to.starts_with("/login?error=throttled"), "{to}");
    // Everyone else comes through the same proxy and is not held up.
    let to = login_via_proxy(&app, &proxy, "198.51.100.4", "alice", &password).await;
    assert_eq!(to, "/");
    let audit = app.state.storage.audit_entries(100).await.unwrap();
    assert!(audit.iter().any(|e| e.outcome == "throttled"
        && e.detail
            .as_deref()
            .is_some_and(|d| d.contains("from 203.0.113.7"))));
}

#[tokio::test]
async fn a_forwarded_header_from_an_untrusted_peer_does_not_escape_the_throttle() {
    let (app, _repo) = app().await;
    let password = app.create_user("alice", &[Role::Dev]).await.unwrap();
    let client = app.client();
    // No proxy is trusted by default: a client rotating the header stays one client.
    for i in 0..21 {
        let forged = format!("192.0.2.{i}");
        login_via_proxy(&app, &client, &forged, &format!("user{i}"), "guess").await;
    }
    let to = login_via_proxy(&app, &client, "192.0.2.99", "alice", &password).await;
    assert!(to.starts_with("/login?error=throttled"), "{to}");
}

#[tokio::test]
async fn the_session_cleanup_deletes_expired_sessions_and_keeps_open_ones() {
    let (app, _repo) = app().await;
    app.logged_in("ada", &[Role::Viewer]).await.unwrap();
    app.logged_in("bob", &[Role::Viewer]).await.unwrap();
    let count = "SELECT count(*) FROM tower_sessions";
    assert_eq!(app.sql_count(count).await.unwrap(), 2);
    // On SQLite the session store writes expiries as RFC 3339 text (PostgreSQL: a
    // timestamptz); move one an hour into the past in that same form.
    if app.state.config.database_url.kind() == slipway_core::config::DatabaseKind::Sqlite {
        assert_eq!(
            app.sql_count("SELECT count(*) FROM tower_sessions WHERE typeof(expiry_date) = 'text'")
                .await
                .unwrap(),
            2
        );
    }
    app.sql(&format!(
        "UPDATE tower_sessions SET expiry_date = {} WHERE id = (SELECT min(id) FROM tower_sessions)",
        app.dialect(
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 hour')",
            "now() - interval '1 hour'"
        )
    ))
    .await
    .unwrap();
    let deleted = app.state.storage.delete_expired_sessions().await.unwrap();
    assert!(deleted >= 1, "the expired session was deleted");
    assert_eq!(app.sql_count(count).await.unwrap(), 1, "the open one stays");
}

#[tokio::test]
async fn after_login_only_a_path_on_this_server_is_followed() {
    let (app, _repo) = app().await;
    let password = app.create_user("ada", &[Role::Viewer]).await.unwrap();
    for (next, expected) in [
        ("/pipelines/web?x=1", "/pipelines/web?x=1"),
        // Browsers drop the tab and follow `//evil.example`: another origin.
        ("/\t/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("//evil.example/", "/"),
    ] {
        let client = app.client();
        let res = client
            .post(app.url("/login"))
            .form(&[("username", "ada"), ("password", &password), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{next:?}");
        assert_eq!(location(&res), expected, "next = {next:?}");
    }
}

#[tokio::test]
async fn simultaneous_guesses_are_counted_before_any_is_checked_and_audited_without_a_flood() {
    let (app, _repo) = app().await;
    app.create_user("alice", &[Role::Dev]).await.unwrap();
    // Forty guesses at once for one account: the throttle lets through as many as it
    // would one after another (five), not forty.
    let guesses = (0..40).map(|i| {
        let client = app.client();
        let url = app.url("/login");
        async move {
            client
                .post(url)
                .form(&[
                    ("username", "alice"),
                    ("password", &format!("guess {i}")),
                    ("next", ""),
                ])
                .send()
                .await
                .unwrap()
        }
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|r| location(r).starts_with("/login?error=credentials"))
        .count();
    let throttled = answers
        .iter()
        .filter(|r| location(r).starts_with("/login?error=throttled"))
        .count();
    assert_eq!(checked + throttled, 40);
    assert!(checked <= 5, "{checked} passwords were checked");

    let audit = app.state.storage.audit_entries(200).await.unwrap();
    let logins: Vec<_> = audit.iter().filter(|e| e.action == "login").collect();
    assert_eq!(
        logins.iter().filter(|e| e.outcome == "failed").count(),
        checked
    );
    assert_eq!(
        logins.iter().filter(|e| e.outcome == "throttled").count(),
        1,
        "throttled attempts are aggregated, not one entry each"
    );
    assert!(
        logins.iter().all(|e| e.actor.is_none()),
        "a typed name is never an actor: nobody was authenticated"
    );
    assert!(logins.iter().all(|e| e.target.as_deref() == Some("alice")));
}
