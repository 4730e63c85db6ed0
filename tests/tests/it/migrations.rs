//! Migration-aware promotion over HTTP: a SHA whose diff against the stage's current SHA
//! touches the pipeline's migration paths waits for an acknowledgement (API field, board
//! checkbox), which is kept with the deployment; a rollback across a migration needs
//! the same. Real git commits touching `migrations/`.

use serde_json::{json, Value};
use slipway_model::{DeploymentId, Role};
use slipway_tests::api::ApiClient as Api;
use slipway_tests::app::{flash, pipeline_config, spawn_app, TestApp};
use slipway_tests::git::TestRepo;

struct Cast {
    app: TestApp,
    repo: TestRepo,
    dev: reqwest::Client,
    /// Ops: promotes into QA and rolls it back.
    olga_web: reqwest::Client,
    olga: Api,
}

async fn cast(extra_pipeline_keys: &str) -> Cast {
    let repo = TestRepo::new().unwrap();
    let config = pipeline_config(repo.path()).replacen(
        "fetch_interval_seconds = 3600\n",
        &format!("fetch_interval_seconds = 3600\n{extra_pipeline_keys}\n"),
        1,
    );
    let app = spawn_app(&config).await.unwrap();
    let dev = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let olga_web = app.logged_in("olga", &[Role::Ops]).await.unwrap();
    Cast {
        olga: Api::of(&app, &olga_web).await,
        app,
        repo,
        dev,
        olga_web,
    }
}

impl Cast {
    async fn ready(&self, sha: &str) {
        let res = self
            .app
            .post_form(&self.dev, "/pipelines/web/ready", &[("sha", sha)])
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
    }

    /// Promotes `sha` into QA through the API with `extra` fields; waits for success.
    async fn deploy(&self, sha: &str, extra: Value) -> Value {
        let mut body = json!({ "sha": sha });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, d) = self
            .olga
            .post("/pipelines/web/stages/qa/promote", body)
            .await;
        assert_eq!(status, 201, "{d}");
        let id: DeploymentId = d["id"].as_i64().unwrap().to_string().parse().unwrap();
        assert_eq!(
            self.app.wait_for_end(id).await.unwrap().state.as_str(),
            "succeeded"
        );
        d
    }

    async fn verdict(&self, sha: &str) -> (String, String) {
        let g = self.olga.gate("qa", sha, "migrations").await;
        (
            g["status"].as_str().unwrap().to_owned(),
            g["reason"].as_str().unwrap().to_owned(),
        )
    }
}

#[tokio::test]
async fn a_promotion_over_a_migration_waits_for_its_acknowledgement_which_the_deployment_keeps() {
    let mut c = cast("").await;
    let a = c.repo.commit("A: the first release").unwrap();
    c.ready(&a).await;
    let (status, reason) = c.verdict(&a).await;
    assert_eq!(status, "pass", "nothing deployed yet: {reason}");
    c.deploy(&a, json!({})).await;

    c.repo
        .commit_file("src/app.rs", "fn main() {}\n", "B: code")
        .unwrap();
    let b = c
        .repo
        .commit_file(
            "migrations/0002_add_email.sql",
            "ALTER TABLE users ADD COLUMN email TEXT;\n",
            "B: add email",
        )
        .unwrap();
    c.ready(&b).await;

    // The gate lists the migration (and only the migration) and asks for the
    // acknowledgement; the API refuses without it, with the same reason.
    let (status, reason) = c.verdict(&b).await;
    assert_eq!(status, "acknowledge", "{reason}");
    assert!(
        reason.contains("changes 1 migration file(s) since QA's current SHA")
            && reason.contains("migrations/0002_add_email.sql")
            && !reason.contains("src/app.rs"),
        "{reason}"
    );
    let (status, body) = c
        .olga
        .post("/pipelines/web/stages/qa/promote", json!({ "sha": b }))
        .await;
    assert_eq!(
        (status, body["gate"].as_str()),
        (409, Some("migrations")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains(&reason),
        "{body}"
    );

    // A note alone acknowledges nothing.
    let (status, body) = c
        .olga
        .post(
            "/pipelines/web/stages/qa/promote",
            json!({ "sha": b, "migrations_note": "ran it on the copy" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("tick the acknowledgement"),
        "{body}"
    );
    assert_eq!(
        c.app
            .sql_count(&format!(
                "SELECT COUNT(*) FROM deployments WHERE sha = '{b}'"
            ))
            .await
            .unwrap(),
        0,
        "nothing was created by the refusals"
    );

    let d = c
        .deploy(
            &b,
            json!({ "acknowledge_migrations": true, "migrations_note": "restored Monday's dump on db-copy-2" }),
        )
        .await;
    assert_eq!(
        d["migrations"],
        json!({ "files": ["migrations/0002_add_email.sql"], "note": "restored Monday's dump on db-copy-2" })
    );
    let (_, page) = c
        .app
        .get_text(&c.olga_web, &format!("/deployments/{}", d["id"]))
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"migrations-acknowledged\""),
        "{page}"
    );
    assert!(
        page.contains("restored Monday&#x27;s dump on db-copy-2")
            || page.contains("restored Monday's dump on db-copy-2")
    );

    // Past the migration, the next SHA needs nothing.
    let c2 = c
        .repo
        .commit_file("README.md", "# docs\n", "C: docs")
        .unwrap();
    c.ready(&c2).await;
    let (status, reason) = c.verdict(&c2).await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("pass", "no migration changes since QA's current SHA")
    );
    let d = c
        .deploy(&c2, json!({ "acknowledge_migrations": true }))
        .await;
    assert_eq!(
        d["migrations"],
        Value::Null,
        "nothing crossed, nothing recorded"
    );
}

#[tokio::test]
async fn the_board_offers_the_acknowledgement_and_the_form_is_refused_without_it() {
    let mut c = cast("").await;
    let a = c.repo.commit("A").unwrap();
    c.ready(&a).await;
    c.deploy(&a, json!({})).await;
    let b = c
        .repo
        .commit_file(
            "db/migrate/20261205_add_index.rb",
            "add_index :users, :email\n",
            "B",
        )
        .unwrap();
    c.ready(&b).await;

    let (_, board) = c.app.get_text(&c.olga_web, "/pipelines/web").await.unwrap();
    assert!(
        board.contains("name=\"acknowledge_migrations\"")
            && board.contains("<code>db/migrate/20261205_add_index.rb</code>"),
        "the card lists the migration and asks for the acknowledgement"
    );

    let res = c
        .app
        .post_form(
            &c.olga_web,
            "/pipelines/web/promote",
            &[("sha", &b), ("stage", "qa")],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, html) = c.app.get_text(&c.olga_web, "/pipelines/web").await.unwrap();
    let message = flash(&html).unwrap_or_default();
    assert!(
        message.contains("db/migrate/20261205_add_index.rb")
            && message.contains("acknowledge they were tested against a copy of production data"),
        "{message}"
    );

    let res = c
        .app
        .post_form(
            &c.olga_web,
            "/pipelines/web/promote",
            &[
                ("sha", &b),
                ("stage", "qa"),
                ("acknowledge_migrations", "true"),
                ("migrations_note", "checked on staging-db copy"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let id: DeploymentId = location
        .strip_prefix("/deployments/")
        .unwrap_or_else(|| panic!("to the deployment, not {location}"))
        .parse()
        .unwrap();
    let d = c.app.wait_for_end(id).await.unwrap();
    let m = d.migrations.expect("the acknowledgement is kept");
    assert_eq!(m.files, vec!["db/migrate/20261205_add_index.rb".to_owned()]);
    assert_eq!(m.note.as_deref(), Some("checked on staging-db copy"));
}

#[tokio::test]
async fn a_rollback_across_a_migration_names_it_and_needs_the_same_acknowledgement() {
    let mut c = cast("").await;
    let a = c.repo.commit("A").unwrap();
    c.ready(&a).await;
    c.deploy(&a, json!({})).await;
    let b = c
        .repo
        .commit_file(
            "services/billing/migrations/0007_invoices.sql",
            "CREATE TABLE invoices (id INT);\n",
            "B",
        )
        .unwrap();
    c.ready(&b).await;
    c.deploy(&b, json!({ "acknowledge_migrations": true }))
        .await;

    let (_, board) = c.app.get_text(&c.olga_web, "/pipelines/web").await.unwrap();
    let form = board
        .split("class=\"rollback-form\"")
        .nth(1)
        .expect("ops see QA's rollback form");
    let form = &form[..form.find("</details>").unwrap()];
    assert!(
        form.contains("<code>services/billing/migrations/0007_invoices.sql</code>")
            && form.contains("name=\"acknowledge_migrations\""),
        "{form}"
    );

    let (status, body) = c
        .olga
        .post(
            "/pipelines/web/stages/qa/rollback",
            json!({ "reason": "500s after B" }),
        )
        .await;
    assert_eq!(
        (status, body["gate"].as_str()),
        (409, Some("migrations")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "rolling QA back from {} to {} steps back over 1 migration file(s): services/billing/migrations/0007_invoices.sql",
            &b[..7],
            &a[..7]
        )),
        "{message}"
    );

    let (status, d) = c
        .olga
        .post(
            "/pipelines/web/stages/qa/rollback",
            json!({ "reason": "500s after B", "acknowledge_migrations": true, "migrations_note": "down migration tested" }),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    assert_eq!(d["sha"], a.as_str());
    assert_eq!(
        d["migrations"]["files"],
        json!(["services/billing/migrations/0007_invoices.sql"])
    );
}

#[tokio::test]
async fn the_pipeline_names_its_own_migration_paths() {
    let mut c = cast("migrations = [\"db/schema/*.sql\"]").await;
    let a = c.repo.commit("A").unwrap();
    c.ready(&a).await;
    c.deploy(&a, json!({})).await;

    let b = c
        .repo
        .commit_file(
            "migrations/0001.sql",
            "-- not a migration in this repository\n",
            "B",
        )
        .unwrap();
    c.ready(&b).await;
    assert_eq!(
        c.verdict(&b).await.0,
        "pass",
        "outside the configured paths"
    );

    let nested = c
        .repo
        .commit_file(
            "db/schema/old/0001.sql",
            "-- one folder too deep for *\n",
            "C",
        )
        .unwrap();
    c.ready(&nested).await;
    assert_eq!(c.verdict(&nested).await.0, "pass");

    let d = c
        .repo
        .commit_file("db/schema/0002.sql", "CREATE TABLE t (id INT);\n", "D")
        .unwrap();
    c.ready(&d).await;
    let (status, reason) = c.verdict(&d).await;
    assert_eq!(status, "acknowledge");
    assert!(
        reason.contains("db/schema/0002.sql") && !reason.contains("old/0001.sql"),
        "{reason}"
    );
}
