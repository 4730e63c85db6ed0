//! Accounts over HTTP: the first-admin setup link, user administration, forced
//! password changes, session revocation and absolute expiry.

use slipway_core::accounts;
use slipway_model::{Role, UserName};
use slipway_tests::app::{
    flash, location, pipeline_config, shown_once, spawn_app, spawn_app_with, whoami, TestApp,
};
use slipway_tests::git::TestRepo;

async fn app() -> (TestApp, TestRepo) {
    let repo = TestRepo::new().expect("test repo");
    let app = spawn_app(&pipeline_config(repo.path()))
        .await
        .expect("app starts");
    (app, repo)
}

/// GETs `path` as `client` and returns the page's one-time message.
async fn flash_after(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let (_, html) = app.get_text(client, path).await.unwrap();
    flash(&html).unwrap_or_default()
}

/// Logs in and returns where the login sent us.
async fn login_to(app: &TestApp, client: &reqwest::Client, name: &str, password: &str) -> String {
    let res = app.login(client, name, password).await.unwrap();
    assert_eq!(res.status(), 303);
    location(&res)
}

/// Posts the setup form with `token`, choosing `name` and `password` (typed twice).
async fn set_up(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    name: &str,
    password: &str,
) -> reqwest::Response {
    let form = [
        ("token", token),
        ("name", name),
        ("password", password),
        ("confirm", password),
    ];
    app.post_form(client, "/setup", &form).await.unwrap()
}

fn token_of(link: &url::Url) -> String {
    link.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .expect("a token in the link")
}

#[tokio::test]
async fn a_setup_link_creates_the_first_admin_once_and_logs_them_in() {
    let (app, _repo) = app().await;
    let base = url::Url::parse(&app.base).unwrap();
    let link = accounts::issue_setup_link(app.state.storage.as_ref(), &base)
        .await
        .unwrap()
        .expect("no admin yet: a link");
    assert_eq!(link.path(), "/setup");
    let token = token_of(&link);
    let path = format!("/setup?token={token}");

    let client = app.client();
    let (status, html) = app.get_text(&client, &path).await.unwrap();
    assert_eq!(status, 200);
    assert!(html.contains(r#"action="/setup""#), "{html}");

    // Bad input first: the link survives it.
    let res = set_up(&app, &client, &token, "root", "short").await;
    assert_eq!(location(&res), path);
    assert!(flash_after(&app, &client, &path)
        .await
        .contains("at least 12 characters"));

    let res = set_up(&app, &client, &token, "root", "correct horse battery").await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/admin/users");
    let (status, html) = app.get_text(&client, "/admin/users").await.unwrap();
    assert_eq!(status, 200, "{html}");
    assert_eq!(whoami(&html), Some("root"));
    assert!(flash(&html).unwrap().contains("first admin"));
    let root = app
        .state
        .storage
        .user_by_name(&UserName::parse("root").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(root.last_login_at.is_some(), "setting up counts as a login");
    assert!(!root.must_change_password);

    // Used: neither the page nor the form accept it again, even from someone else.
    let other = app.client();
    let (_, html) = app.get_text(&other, &path).await.unwrap();
    assert!(html.contains(r#"data-testid="setup-invalid""#), "{html}");
    let res = set_up(&app, &other, &token, "mallory", "another long passphrase").await;
    assert!(flash_after(&app, &other, &location(&res))
        .await
        .contains("already used or expired"));
    assert!(app
        .state
        .storage
        .user_by_name(&UserName::parse("mallory").unwrap())
        .await
        .unwrap()
        .is_none());
    // And with an admin in place, a new start prints no link.
    assert!(
        accounts::issue_setup_link(app.state.storage.as_ref(), &base)
            .await
            .unwrap()
            .is_none()
    );
    let audit = app.state.storage.audit_entries(20).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "user_created" && e.target.as_deref() == Some("root")));
}

#[tokio::test]
async fn a_setup_link_expires_after_an_hour_and_a_new_one_replaces_the_old() {
    let (app, _repo) = app().await;
    let base = url::Url::parse(&app.base).unwrap();
    let storage = app.state.storage.as_ref();
    let first = token_of(
        &accounts::issue_setup_link(storage, &base)
            .await
            .unwrap()
            .unwrap(),
    );
    let second = token_of(
        &accounts::issue_setup_link(storage, &base)
            .await
            .unwrap()
            .unwrap(),
    );
    assert!(!accounts::setup_link_is_valid(storage, &first)
        .await
        .unwrap());
    assert!(accounts::setup_link_is_valid(storage, &second)
        .await
        .unwrap());

    // An hour and a second later.
    app.sql(&format!(
        "UPDATE setup_tokens SET expires_at = {} - 1",
        app.dialect("unixepoch()", "extract(epoch from now())::bigint")
    ))
    .await
    .unwrap();
    let client = app.client();
    let (_, html) = app
        .get_text(&client, &format!("/setup?token={second}"))
        .await
        .unwrap();
    assert!(html.contains(r#"data-testid="setup-invalid""#), "{html}");
    let res = set_up(&app, &client, &second, "root", "correct horse battery").await;
    assert!(flash_after(&app, &client, &location(&res))
        .await
        .contains("expired"));
    assert!(storage.list_users().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_admin_creates_a_user_who_must_replace_the_temporary_password_first() {
    let (app, _repo) = app().await;
    let admin = app.logged_in("ada", &[Role::Admin]).await.unwrap();

    let res = app
        .post_form(
            &admin,
            "/admin/users",
            &[("name", "carol"), ("role", "qa"), ("role", "dev")],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    let temporary = shown_once(&html, "temporary-password").expect("a temporary password");
    let (_, list) = app.get_text(&admin, "/admin/users").await.unwrap();
    assert!(list.contains(r#"data-user="carol""#), "{list}");
    assert!(list.contains("must change password"));

    let carol = app.client();
    assert_eq!(
        login_to(&app, &carol, "carol", &temporary).await,
        "/password"
    );
    // Nothing else works until the password is changed.
    let res = carol.get(app.url("/pipelines/web")).send().await.unwrap();
    assert_eq!(location(&res), "/password");
    let res = app
        .post_form(&carol, "/profile/tokens", &[("name", "sneaky")])
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (status, html) = app.get_text(&carol, "/password").await.unwrap();
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="must-change""#), "{html}");

    // Same password again, mismatched confirmation: refused with the reason.
    let change = |new: &str, confirm: &str| {
        let form = [
            ("current", temporary.clone()),
            ("new", new.to_owned()),
            ("confirm", confirm.to_owned()),
        ];
        let carol = carol.clone();
        let url = app.url("/password");
        async move { carol.post(url).form(&form).send().await.unwrap() }
    };
    let res = change(&temporary, &temporary).await;
    assert_eq!(location(&res), "/password");
    assert!(flash_after(&app, &carol, "/password")
        .await
        .contains("must differ from the current one"));
    let res = change("carols own passphrase", "carols other passphrase").await;
    assert_eq!(location(&res), "/password");
    assert!(flash_after(&app, &carol, "/password")
        .await
        .contains("differ; type the same one twice"));
    let res = change("carols own passphrase", "carols own passphrase").await;
    assert_eq!(location(&res), "/profile");
    let (status, html) = app.get_text(&carol, "/pipelines/web").await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(whoami(&html), Some("carol"));

    // The temporary password is gone; the new one works.
    let fresh = app.client();
    assert!(login_to(&app, &fresh, "carol", &temporary)
        .await
        .starts_with("/login?error=credentials"));
    assert_eq!(
        login_to(&app, &fresh, "carol", "carols own passphrase").await,
        "/"
    );
    let audit = app.state.storage.audit_entries(50).await.unwrap();
    for action in ["user_created", "password_changed"] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.target.as_deref() == Some("carol")),
            "{action} audited"
        );
    }
}

#[tokio::test]
async fn only_admins_may_manage_users_whatever_the_page_shows() {
    let (app, _repo) = app().await;
    app.create_user("bob", &[Role::Dev]).await.unwrap();
    let ops = app.logged_in("olga", &[Role::Ops]).await.unwrap();
    for (path, form) in [
        ("/admin/users", vec![("name", "eve"), ("role", "admin")]),
        (
            "/admin/users/roles",
            vec![("name", "olga"), ("role", "admin")],
        ),
        ("/admin/users/disable", vec![("name", "bob")]),
        ("/admin/users/reset-password", vec![("name", "bob")]),
    ] {
        let res = app.post_form(&ops, path, &form).await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    let olga = app
        .state
        .storage
        .user_by_name(&UserName::parse("olga").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(olga.roles, [Role::Ops].into_iter().collect());

    // An admin's own cookie, on a form posted from another site: refused, unchanged.
    let admin = app.logged_in("ada", &[Role::Admin]).await.unwrap();
    let res = admin
        .post(app.url("/admin/users/disable"))
        .header("origin", "https://evil.example")
        .form(&[("name", "bob")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let bob = app
        .state
        .storage
        .user_by_name(&UserName::parse("bob").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!bob.disabled);
}

#[tokio::test]
async fn disabling_a_user_ends_their_open_session_at_the_next_request() {
    let (app, _repo) = app().await;
    let admin = app.logged_in("ada", &[Role::Admin]).await.unwrap();
    let password = app.create_user("bob", &[Role::Dev]).await.unwrap();
    let bob = app.client();
    assert_eq!(login_to(&app, &bob, "bob", &password).await, "/");
    assert_eq!(app.get_text(&bob, "/").await.unwrap().0, 200);
    // Bob's CI uses an API token of his.
    let token = app.create_token(&bob, "ci").await.unwrap();
    let api_status = || async {
        reqwest::Client::new()
            .get(app.url("/api/v1/pipelines/web/board"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(api_status().await, 200);

    let res = app
        .post_form(&admin, "/admin/users/disable", &[("name", "bob")])
        .await
        .unwrap();
    assert_eq!(location(&res), "/admin/users");
    assert!(flash_after(&app, &admin, "/admin/users")
        .await
        .contains("Disabled bob"));

    let res = bob.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?error=expired&next=%2F");
    let res = app
        .post_form(&bob, "/pipelines/web/refresh", &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a disabled user's form post is refused");
    assert!(login_to(&app, &bob, "bob", &password)
        .await
        .starts_with("/login?error=credentials"));
    assert_eq!(
        api_status().await,
        401,
        "a disabled user's API token is refused"
    );

    app.post_form(&admin, "/admin/users/enable", &[("name", "bob")])
        .await
        .unwrap();
    assert_eq!(login_to(&app, &bob, "bob", &password).await, "/");
    assert_eq!(api_status().await, 200, "re-enabling restores the token");
    let audit = app.state.storage.audit_entries(20).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "user_disabled"
        && e.actor.as_deref() == Some("ada")
        && e.detail.as_deref() == Some("1 open session(s) ended")));
    assert!(audit.iter().any(|e| e.action == "user_enabled"));
}

#[tokio::test]
async fn roles_change_and_the_last_admin_cannot_be_demoted_or_disabled() {
    let (app, _repo) = app().await;
    let admin = app.logged_in("ada", &[Role::Admin]).await.unwrap();
    app.create_user("bob", &[Role::Dev]).await.unwrap();

    let res = app
        .post_form(
            &admin,
            "/admin/users/roles",
            &[("name", "bob"), ("role", "qa"), ("role", "ops")],
        )
        .await
        .unwrap();
    assert_eq!(location(&res), "/admin/users");
    assert!(flash_after(&app, &admin, "/admin/users")
        .await
        .contains("bob now has roles qa, ops"));
    let bob = |app: &TestApp| {
        let storage = app.state.storage.clone();
        async move {
            storage
                .user_by_name(&UserName::parse("bob").unwrap())
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(
        bob(&app).await.roles,
        [Role::Qa, Role::Ops].into_iter().collect()
    );

    for (form, expected) in [
        (vec![("name", "bob")], "at least one role"),
        (vec![("name", "bob"), ("role", "root")], "unknown role"),
        (
            vec![("name", "ada"), ("role", "ops")],
            "no enabled administrator",
        ),
        (vec![("name", "nobody"), ("role", "ops")], ""),
    ] {
        let res = app
            .post_form(&admin, "/admin/users/roles", &form)
            .await
            .unwrap();
        if expected.is_empty() {
            assert_eq!(res.status(), 404, "unknown users are not found");
            continue;
        }
        let message = flash_after(&app, &admin, &location(&res)).await;
        assert!(message.contains(expected), "{form:?}: {message}");
    }
    assert_eq!(
        bob(&app).await.roles,
        [Role::Qa, Role::Ops].into_iter().collect()
    );

    let res = app
        .post_form(&admin, "/admin/users/disable", &[("name", "ada")])
        .await
        .unwrap();
    assert!(flash_after(&app, &admin, &location(&res))
        .await
        .contains("cannot disable your own account"));
    // With a second admin, demoting the first works.
    app.post_form(
        &admin,
        "/admin/users/roles",
        &[("name", "bob"), ("role", "admin")],
    )
    .await
    .unwrap();
    let res = app
        .post_form(
            &admin,
            "/admin/users/roles",
            &[("name", "ada"), ("role", "ops")],
        )
        .await
        .unwrap();
    assert!(flash_after(&app, &admin, &location(&res))
        .await
        .contains("ada now has roles ops"));
    // ada's next admin action is refused: her roles are read per request.
    let res = app
        .post_form(&admin, "/admin/users/disable", &[("name", "bob")])
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn resetting_a_password_ends_the_users_sessions_and_forces_a_new_one() {
    let (app, _repo) = app().await;
    let admin = app.logged_in("ada", &[Role::Admin]).await.unwrap();
    let password = app.create_user("bob", &[Role::Dev]).await.unwrap();
    let bob = app.client();
    login_to(&app, &bob, "bob", &password).await;

    let res = app
        .post_form(&admin, "/admin/users/reset-password", &[("name", "bob")])
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let temporary = shown_once(&res.text().await.unwrap(), "temporary-password").unwrap();
    assert_ne!(temporary, password);

    let res = bob.get(app.url("/")).send().await.unwrap();
    assert!(location(&res).starts_with("/login?error=expired"));
    assert!(login_to(&app, &bob, "bob", &password)
        .await
        .starts_with("/login?error=credentials"));
    assert_eq!(login_to(&app, &bob, "bob", &temporary).await, "/password");

    // Admins change their own password on their profile, not through a reset.
    let res = app
        .post_form(&admin, "/admin/users/reset-password", &[("name", "ada")])
        .await
        .unwrap();
    assert!(flash_after(&app, &admin, &location(&res))
        .await
        .contains("profile"));
}

#[tokio::test]
async fn changing_your_password_ends_your_other_sessions_but_keeps_this_one() {
    let (app, _repo) = app().await;
    let password = app.create_user("alice", &[Role::Dev]).await.unwrap();
    let (laptop, phone) = (app.client(), app.client());
    login_to(&app, &laptop, "alice", &password).await;
    login_to(&app, &phone, "alice", &password).await;

    let res = app
        .post_form(
            &laptop,
            "/password",
            &[
                ("current", "not my password at all"),
                ("new", "a brand new passphrase"),
                ("confirm", "a brand new passphrase"),
            ],
        )
        .await
        .unwrap();
    assert!(flash_after(&app, &laptop, &location(&res))
        .await
        .contains("current password is wrong"));
    assert_eq!(app.get_text(&phone, "/").await.unwrap().0, 200);

    let res = app
        .post_form(
            &laptop,
            "/password",
            &[
                ("current", &password),
                ("new", "password1234"),
                ("confirm", "password1234"),
            ],
        )
        .await
        .unwrap();
    assert!(flash_after(&app, &laptop, &location(&res))
        .await
        .contains("commonly used"));

    let res = app
        .post_form(
            &laptop,
            "/password",
            &[
                ("current", &password),
                ("new", "a brand new passphrase"),
                ("confirm", "a brand new passphrase"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(location(&res), "/profile");
    assert_eq!(
        app.get_text(&laptop, "/").await.unwrap().0,
        200,
        "this session stays"
    );
    let res = phone.get(app.url("/")).send().await.unwrap();
    assert!(
        location(&res).starts_with("/login?error=expired"),
        "the other session ended"
    );
    let fresh = app.client();
    assert!(login_to(&app, &fresh, "alice", &password)
        .await
        .starts_with("/login?error=credentials"));
    assert_eq!(
        login_to(&app, &fresh, "alice", "a brand new passphrase").await,
        "/"
    );
}

#[tokio::test]
async fn guessing_the_current_password_on_the_change_form_is_throttled_like_a_login() {
    let (app, _repo) = app().await;
    let password = app.create_user("alice", &[Role::Dev]).await.unwrap();
    // Someone at an unlocked, logged-in browser tries to take the account over.
    let hijacked = app.client();
    login_to(&app, &hijacked, "alice", &password).await;
    let attempt = |current: &str| {
        let form = [
            ("current", current.to_owned()),
            ("new", "the thief's passphrase".to_owned()),
            ("confirm", "the thief's passphrase".to_owned()),
        ];
        let hijacked = hijacked.clone();
        let url = app.url("/password");
        async move { hijacked.post(url).form(&form).send().await.unwrap() }
    };
    for i in 0..5 {
        let res = attempt(&format!("guess number {i}")).await;
        assert!(flash_after(&app, &hijacked, &location(&res))
            .await
            .contains("current password is wrong"));
    }
    // Even the right password now waits, and so does a login to that account.
    let res = attempt(&password).await;
    assert!(flash_after(&app, &hijacked, &location(&res))
        .await
        .contains("too many wrong passwords; try again in"));
    assert!(login_to(&app, &app.client(), "alice", &password)
        .await
        .starts_with("/login?error=throttled"));
    let audit = app.state.storage.audit_entries(50).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "password_changed" && e.outcome == "refused")
            .count(),
        5
    );
}

/// The ids in the sessions table of a profile page, in page order.
fn session_ids(html: &str) -> Vec<i64> {
    html.split(r#"data-session=""#)
        .skip(1)
        .filter_map(|rest| rest.split('"').next()?.parse().ok())
        .collect()
}

#[tokio::test]
async fn your_open_sessions_are_listed_and_can_be_ended_one_by_one() {
    let (app, _repo) = app().await;
    let password = app.create_user("alice", &[Role::Dev]).await.unwrap();
    let laptop = app.client();
    let phone = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120.0 Mobile")
        .default_headers(
            [(reqwest::header::ORIGIN, app.base.parse().unwrap())]
                .into_iter()
                .collect(),
        )
        .build()
        .unwrap();
    login_to(&app, &laptop, "alice", &password).await;
    login_to(&app, &phone, "alice", &password).await;

    let (_, html) = app.get_text(&laptop, "/profile").await.unwrap();
    let ids = session_ids(&html);
    assert_eq!(ids.len(), 2, "{html}");
    assert!(html.contains("Chrome on Android"), "{html}");
    assert_eq!(html.matches("this session").count(), 1);
    let (phone_id, laptop_id) = (ids[0], ids[1]);

    // Someone else's session id cannot be ended by guessing it.
    let mallory = app.logged_in("mallory", &[Role::Dev]).await.unwrap();
    let res = app
        .post_form(&mallory, &format!("/profile/sessions/{phone_id}/end"), &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(app.get_text(&phone, "/").await.unwrap().0, 200);

    let res = app
        .post_form(&laptop, &format!("/profile/sessions/{phone_id}/end"), &[])
        .await
        .unwrap();
    assert_eq!(location(&res), "/profile");
    let res = phone.get(app.url("/")).send().await.unwrap();
    assert!(location(&res).starts_with("/login?error=expired"));
    let (_, html) = app.get_text(&laptop, "/profile").await.unwrap();
    assert_eq!(session_ids(&html), vec![laptop_id]);

    // Ending this session is logging out.
    let res = app
        .post_form(&laptop, &format!("/profile/sessions/{laptop_id}/end"), &[])
        .await
        .unwrap();
    assert_eq!(location(&res), "/login?notice=logged-out");
    let res = laptop.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let audit = app.state.storage.audit_entries(20).await.unwrap();
    assert_eq!(
        audit.iter().filter(|e| e.action == "session_ended").count(),
        2
    );
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_active() {
    let repo = TestRepo::new().unwrap();
    let app = spawn_app_with(
        "[sessions]\ninactivity_minutes = 60\nabsolute_hours = 2",
        repo.path(),
    )
    .await
    .unwrap();
    assert_eq!(app.state.config.session_absolute.as_secs(), 7200);
    let client = app.logged_in("alice", &[Role::Dev]).await.unwrap();
    let row: i64 = app
        .sql(
            &"UPDATE user_sessions SET expires_at = NOW - 1 \
              WHERE expires_at BETWEEN NOW + 7100 AND NOW + 7200"
                .replace(
                    "NOW",
                    app.dialect("unixepoch()", "extract(epoch from now())::bigint"),
                ),
        )
        .await
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        row, 1,
        "the login recorded its absolute end two hours ahead"
    );
    // Two hours and a second after login, still active every minute: refused.
    let res = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login?error=expired"));
}

#[tokio::test]
async fn a_session_ends_after_the_configured_inactivity() {
    let repo = TestRepo::new().unwrap();
    let app = spawn_app_with(
        "[sessions]\ninactivity_minutes = 60\nabsolute_hours = 2",
        repo.path(),
    )
    .await
    .unwrap();
    let password = app.create_user("alice", &[Role::Dev]).await.unwrap();
    let client = app.client();
    let res = app.login(&client, "alice", &password).await.unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    // The cookie lives as long as the login may; idleness is judged on the login's row,
    // so requests need not rewrite the session record.
    let max_age: i64 = cookie
        .split("Max-Age=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no Max-Age: {cookie}"));
    assert!((7100..=7200).contains(&max_age), "{cookie}");
    let storage = app.state.storage.clone();
    let alice = storage
        .user_by_name(&slipway_model::UserName::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    let login = || async {
        storage
            .open_login_sessions(alice.id, app.state.now().unix_timestamp())
            .await
            .unwrap()
            .remove(0)
    };
    let idle_for = |minutes: i64| {
        let storage = storage.clone();
        let now = app.state.now();
        async move {
            let id = login().await.id;
            storage
                .touch_login_session(id, now - time::Duration::minutes(minutes))
                .await
                .unwrap();
        }
    };

    // 59 minutes idle: still open, and the request counts as activity.
    idle_for(59).await;
    assert_eq!(app.get_text(&client, "/").await.unwrap().0, 200);
    let seen = login().await.last_seen_at;
    assert!(
        app.state.now() - seen < time::Duration::seconds(5),
        "activity is recorded: {seen}"
    );

    // An hour without a request: the login is over.
    idle_for(61).await;
    let res = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("/login?error=expired"),
        "{}",
        location(&res)
    );
}

#[tokio::test]
async fn a_reset_revokes_api_tokens_unless_kept_and_a_user_who_must_change_their_password_can_do_nothing_else(
) {
    let (app, _repo) = app().await;
    let admin = app.logged_in("ada", &[Role::Admin]).await.unwrap();
    let bob = app.logged_in("bob", &[Role::Dev]).await.unwrap();
    let token = app.create_token(&bob, "ci").await.unwrap();
    let api_board = |token: String| {
        let url = app.url("/api/v1/pipelines/web/board");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(api_board(token.clone()).await.status(), 200);

    // A reset that keeps the tokens: the token is known, but its owner must change
    // their password before it may act.
    let res = app
        .post_form(
            &admin,
            "/admin/users/reset-password",
            &[("name", "bob"), ("keep_tokens", "1")],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let temporary = shown_once(&res.text().await.unwrap(), "temporary-password").unwrap();
    let res = api_board(token.clone()).await;
    assert_eq!(res.status(), 403);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("must change their password"),
        "{body}"
    );
    // Nor through the event stream with the cookie of the forced-change login.
    let bob = app.client();
    assert_eq!(login_to(&app, &bob, "bob", &temporary).await, "/password");
    let res = bob.get(app.url("/api/v1/events")).send().await.unwrap();
    assert_eq!(res.status(), 403);

    // Once changed, the kept token works again...
    let res = app
        .post_form(
            &bob,
            "/password",
            &[
                ("current", temporary.as_str()),
                ("new", "zq8-kettle-4-bob"),
                ("confirm", "zq8-kettle-4-bob"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(location(&res), "/profile");
    assert_eq!(api_board(token.clone()).await.status(), 200);

    // ...and a plain reset revokes it for good, as the audit log says.
    let res = app
        .post_form(&admin, "/admin/users/reset-password", &[("name", "bob")])
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(api_board(token).await.status(), 401);
    let audit = app.state.storage.audit_entries(50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "password_reset"
        && e.detail
            .as_deref()
            .is_some_and(|d| d.contains("1 API token(s) revoked"))));
}
