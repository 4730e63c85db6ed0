//! Production is never one click away: a form promotion into a production stage without
//! the confirmation is sent to the confirmation page (nothing runs), which names the
//! service, the environment, the SHA and its subject, how many commits and which
//! migrations go out; its form then starts the deployment. Other stages need none.

use slipway_model::Role;
use slipway_tests::app::{deploying_pipeline, flash, location, spawn_app, TestApp, WRITE_SHA};
use slipway_tests::git::TestRepo;

struct Shop {
    app: TestApp,
    repo: TestRepo,
    out: tempfile::TempDir,
    ops: reqwest::Client,
}

async fn shop() -> Shop {
    let repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = spawn_app(&deploying_pipeline(repo.path(), out.path(), WRITE_SHA, ""))
        .await
        .unwrap();
    let ops = app
        .logged_in("olga", &[Role::Dev, Role::Ops])
        .await
        .unwrap();
    Shop {
        app,
        repo,
        out,
        ops,
    }
}

impl Shop {
    /// Marks `sha` ready and deploys it through `stages` (confirmed where it asks).
    async fn take(&self, sha: &str, stages: &[&str]) {
        self.app
            .post_form(&self.ops, "/pipelines/web/ready", &[("sha", sha)])
            .await
            .unwrap();
        for stage in stages {
            let id = self
                .app
                .promote_with(&self.ops, sha, stage, &[("acknowledge_migrations", "true")])
                .await
                .unwrap()
                .unwrap();
            self.app.wait_for_end(id).await.unwrap();
        }
    }

    fn running(&self, stage: &str) -> String {
        std::fs::read_to_string(self.out.path().join(format!("{stage}.sha"))).unwrap_or_default()
    }
}

#[tokio::test]
async fn an_unconfirmed_promotion_into_production_goes_to_its_confirmation_and_nothing_runs() {
    let mut s = shop().await;
    let a = s.repo.commit("Open the shop").unwrap();
    s.take(&a, &["qa", "staging", "production"]).await;
    s.repo.commit("Show stock levels").unwrap();
    let b = s
        .repo
        .commit_file(
            "migrations/0002_stock.sql",
            "CREATE TABLE stock (id INT);\n",
            "Count stock per warehouse",
        )
        .unwrap();
    s.take(&b, &["qa", "staging"]).await;

    let res = s
        .app
        .post_form(
            &s.ops,
            "/pipelines/web/promote",
            &[
                ("sha", b.as_str()),
                ("stage", "production"),
                ("acknowledge_migrations", "true"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert_eq!(
        to,
        format!("/pipelines/web/stages/production/confirm?sha={b}&mode=now")
    );
    assert_eq!(s.running("production"), a, "nothing ran");

    let (status, page) = s.app.get_text(&s.ops, &to).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        flash(&page).as_deref(),
        Some("Confirm the deployment to Production first: check what goes out, then confirm")
    );
    for expected in [
        "Web shop",
        "Production",
        &b[..7],
        "Count stock per warehouse",
        "2 commits go out",
        "Show stock levels",
        "migrations/0002_stock.sql",
        r#"name="confirmed" value="true""#,
        r#"name="acknowledge_migrations""#,
    ] {
        assert!(
            page.contains(expected),
            "{expected:?} on the confirmation page"
        );
    }

    // The confirmation's own post starts it.
    let res = s
        .app
        .post_form(
            &s.ops,
            "/pipelines/web/promote",
            &[
                ("sha", b.as_str()),
                ("stage", "production"),
                ("confirmed", "true"),
                ("acknowledge_migrations", "true"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = location(&res);
    let id = to
        .strip_prefix("/deployments/")
        .expect("the deployment page");
    s.app.wait_for_end(id.parse().unwrap()).await.unwrap();
    assert_eq!(s.running("production"), b);
}

#[tokio::test]
async fn the_confirmation_keeps_the_emergency_and_queue_forms_apart_and_refuses_what_it_cannot_confirm(
) {
    let mut s = shop().await;
    let a = s.repo.commit("Open the shop").unwrap();
    s.take(&a, &["qa", "staging"]).await;

    // The emergency override form keeps its kind through the confirmation.
    let res = s
        .app
        .post_form(
            &s.ops,
            "/pipelines/web/promote",
            &[
                ("sha", a.as_str()),
                ("stage", "production"),
                ("emergency_reason", "outage"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        location(&res),
        format!("/pipelines/web/stages/production/confirm?sha={a}&mode=emergency_override")
    );
    let (_, page) = s.app.get_text(&s.ops, &location(&res)).await.unwrap();
    assert!(
        page.contains("Nothing runs on Production yet"),
        "a first deployment"
    );
    assert!(page.contains(r#"name="emergency_reason""#));

    // Stages other than production are never confirmed; bad input says what is wrong.
    for (path, says) in [
        (
            format!("/pipelines/web/stages/staging/confirm?sha={a}"),
            "Staging is not a production stage",
        ),
        (
            "/pipelines/web/stages/production/confirm?sha=abc".to_owned(),
            "SHA",
        ),
        (
            format!("/pipelines/web/stages/production/confirm?sha={a}&mode=soon"),
            "use one of now, when_artifact_is_there, emergency_override",
        ),
    ] {
        let (status, page) = s.app.get_text(&s.ops, &path).await.unwrap();
        assert_eq!(status, 400, "{path}");
        assert!(page.contains(says), "{path}: {says:?}");
    }

    // Into staging, the card's own form posts the promotion directly.
    s.repo.commit("Next").unwrap();
    let c = s.repo.commit("Then").unwrap();
    s.app
        .post_form(&s.ops, "/pipelines/web/ready", &[("sha", c.as_str())])
        .await
        .unwrap();
    let res = s
        .app
        .post_form(
            &s.ops,
            "/pipelines/web/promote",
            &[("sha", c.as_str()), ("stage", "qa")],
        )
        .await
        .unwrap();
    assert!(
        location(&res).starts_with("/deployments/"),
        "{}",
        location(&res)
    );
}
