//! The promotion engine over HTTP: real git repositories, real deploy commands, the real
//! server. Each test tells one rule of the product brief.

use slipway_core::deploys::runner::group_alive;
use slipway_core::repos::OnBranch;
use slipway_model::deployment::DeploymentState;
use slipway_model::{DeploymentId, Role};
use slipway_tests::app::{deploying_pipeline, flash, location, spawn_app, TestApp, WRITE_SHA};
use slipway_tests::git::TestRepo;

struct Story {
    app: TestApp,
    repo: TestRepo,
    out: tempfile::TempDir,
    dev: reqwest::Client,
    qa: reqwest::Client,
    ops: reqwest::Client,
}

async fn story_with(script: &str, extra: &str) -> Story {
    let repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app = spawn_app(&deploying_pipeline(repo.path(), out.path(), script, extra))
        .await
        .unwrap();
    let dev = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let qa = app.logged_in("quinn", &[Role::Qa]).await.unwrap();
    let ops = app.logged_in("olga", &[Role::Ops]).await.unwrap();
    Story {
        app,
        repo,
        out,
        dev,
        qa,
        ops,
    }
}

async fn story() -> Story {
    story_with(WRITE_SHA, "").await
}

impl Story {
    async fn mark_ready(&self, sha: &str) {
        let res = self
            .app
            .post_form(
                &self.dev,
                "/pipelines/web/ready",
                &[("sha", sha), ("note", "")],
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let (_, html) = self
            .app
            .get_text(&self.dev, "/pipelines/web")
            .await
            .unwrap();
        let msg = flash(&html).unwrap_or_default();
        assert!(
            msg.starts_with("Marked") || msg.ends_with("was already ready"),
            "mark ready failed: {msg}"
        );
    }

    /// Promotes and waits for success.
    async fn deploy(&self, who: &reqwest::Client, sha: &str, stage: &str) -> DeploymentId {
        let id = self
            .app
            .promote(who, sha, stage)
            .await
            .unwrap()
            .unwrap_or_else(|m| panic!("promote to {stage} refused: {m}"));
        let d = self.app.wait_for_end(id).await.unwrap();
        assert_eq!(
            d.state,
            DeploymentState::Succeeded,
            "deployment #{id} to {stage}"
        );
        id
    }

    /// Takes `sha` through qa and staging.
    async fn to_staging(&self, sha: &str) {
        self.mark_ready(sha).await;
        self.deploy(&self.qa, sha, "qa").await;
        self.deploy(&self.qa, sha, "staging").await;
    }

    fn deployed(&self, stage: &str) -> String {
        std::fs::read_to_string(self.out.path().join(format!("{stage}.sha"))).unwrap_or_default()
    }
}

#[tokio::test]
async fn the_full_story_from_ready_to_production_runs_real_deploys() {
    let mut s = story().await;
    let sha = s.repo.commit("Add search box").unwrap();

    s.mark_ready(&sha).await;
    let (_, board) = s.app.get_text(&s.qa, "/pipelines/web").await.unwrap();
    let ready_col = &board
        [board.find(r#"id="col-ready""#).unwrap()..board.find(r#"id="col-stage-qa""#).unwrap()];
    assert!(ready_col.contains(&sha), "the card moved to Ready");
    assert!(ready_col.contains("Ready by dana"));

    let qa_id = s.deploy(&s.qa, &sha, "qa").await;
    assert_eq!(s.deployed("qa"), sha, "the qa deploy command really ran");
    s.deploy(&s.qa, &sha, "staging").await;
    assert_eq!(s.deployed("staging"), sha);
    let prod_id = s.deploy(&s.ops, &sha, "production").await;
    assert_eq!(s.deployed("production"), sha);

    // The log is kept, with both streams, and the deployer saw its inputs.
    let (status, page) = s
        .app
        .get_text(&s.dev, &format!("/deployments/{qa_id}"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!(
            "deploying {sha} to qa (previous: none, id {qa_id})"
        )),
        "{page}"
    );
    assert!(page.contains("progress on stderr") && page.contains("log-line stderr"));
    assert!(page.contains("succeeded"));
    let prod = s
        .app
        .state
        .storage
        .deployment(prod_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(prod.requested_by.as_deref(), Some("olga"));
    assert_eq!(prod.exit_code, Some(0));

    // Every column shows its current SHA; the card sits in Production, marked current.
    let (_, board) = s.app.get_text(&s.dev, "/pipelines/web").await.unwrap();
    let prod_col = &board[board.find(r#"id="col-stage-production""#).unwrap()..];
    assert!(
        prod_col.contains(&format!(r#"data-sha="{sha}""#)),
        "the card is in Production"
    );
    assert!(prod_col.contains("by olga"));
    let (_, home) = s.app.get_text(&s.dev, "/").await.unwrap();
    assert_eq!(
        home.matches(&format!(">{}</code>", &sha[..7])).count(),
        3,
        "home shows the SHA on all three stages"
    );

    // The deployed SHA is pinned in the mirror: a force-push plus gc cannot lose it.
    let mirror = s.app.dir.path().join("data/mirrors/web.git");
    let pinned = slipway_tests::git::git(
        &mirror,
        &[
            "for-each-ref",
            "--format=%(objectname)",
            "refs/slipway/deployed/",
        ],
    )
    .unwrap();
    assert!(pinned.lines().any(|l| l == sha), "{pinned}");

    // Everything was audited.
    let audit = s.app.state.storage.audit_entries(100).await.unwrap();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .rev()
        .map(|e| (e.action.as_str(), e.outcome.as_str()))
        .collect();
    for expected in [
        ("mark_ready", "ok"),
        ("promote", "ok"),
        ("deploy_finished", "succeeded"),
    ] {
        assert!(
            actions.contains(&expected),
            "{expected:?} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn production_refuses_a_sha_that_does_not_descend_from_production() {
    let mut s = story().await;
    let older = s.repo.commit("Older change").unwrap();
    s.repo.branch("feature/side", "main").unwrap();
    let newer = s.repo.commit("Newer change").unwrap();
    s.repo.checkout("feature/side").unwrap();
    let side = s.repo.commit_file("side.txt", "x", "Side change").unwrap();
    s.repo.checkout("main").unwrap();
    s.repo.merge_no_ff("feature/side", "Merge side").unwrap();

    s.to_staging(&newer).await;
    s.deploy(&s.ops, &newer, "production").await;

    // An older SHA that passed staging is refused by production, and the reason says why.
    s.to_staging(&older).await;
    let refused = s
        .app
        .promote(&s.ops, &older, "production")
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        refused.contains(&format!(
            "does not descend from Production's current SHA {}",
            &newer[..7]
        )),
        "{refused}"
    );
    // So is a SHA from a branch merged later, which never contained production's SHA.
    s.to_staging(&side).await;
    let refused = s
        .app
        .promote(&s.ops, &side, "production")
        .await
        .unwrap()
        .unwrap_err();
    assert!(refused.contains("does not descend from"), "{refused}");
    assert_eq!(
        s.deployed("production"),
        newer,
        "production still runs the newer SHA"
    );

    // The card (now staging's current) shows the failing gate before anyone clicks.
    let (_, board) = s.app.get_text(&s.ops, "/pipelines/web").await.unwrap();
    let card = &board[board.find(&format!(r#"data-sha="{side}""#)).unwrap()..];
    let card = &card[..card.find("</form>").unwrap()];
    assert!(
        card.contains(r#"class="gate fail" data-gate="ancestry""#)
            || card.contains(r#"data-gate="ancestry" class="gate fail""#),
        "{card}"
    );
    assert!(
        card.contains("disabled"),
        "the promote button is disabled: {card}"
    );
    let audit = s.app.state.storage.audit_entries(100).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "promote"
        && e.outcome == "refused"
        && e.detail
            .as_deref()
            .is_some_and(|d| d.contains("does not descend"))));
}

#[tokio::test]
async fn a_role_that_may_not_promote_is_refused_and_audited() {
    let mut s = story().await;
    let sha = s.repo.commit("Change").unwrap();
    s.mark_ready(&sha).await;
    let refused = |client: &reqwest::Client, stage: &'static str| {
        let (app, sha) = (&s.app, sha.clone());
        let client = client.clone();
        async move {
            let res = app
                .post_form(
                    &client,
                    "/pipelines/web/promote",
                    &[("sha", &sha), ("stage", stage), ("confirmed", "true")],
                )
                .await
                .unwrap();
            // Not allowed: a 403 like every permission refusal, saying who may.
            assert_eq!(res.status(), 403);
            res.text().await.unwrap()
        }
    };
    assert!(refused(&s.dev, "qa")
        .await
        .contains("only qa, ops may promote into QA"));
    s.to_staging(&sha).await;
    assert!(refused(&s.qa, "production")
        .await
        .contains("only ops may promote into Production"));
    assert_eq!(s.deployed("production"), "", "nothing ran");
    let audit = s.app.state.storage.audit_entries(100).await.unwrap();
    assert!(audit.iter().any(|e| e.actor.as_deref() == Some("dana")
        && e.action == "promote"
        && e.outcome == "refused"));
}

#[tokio::test]
async fn a_stage_cannot_be_skipped_and_unknown_commits_are_refused() {
    let mut s = story().await;
    let sha = s.repo.commit("Change").unwrap();
    let refused = s.app.promote(&s.qa, &sha, "qa").await.unwrap().unwrap_err();
    assert!(refused.contains("is not marked ready"), "{refused}");
    s.mark_ready(&sha).await;
    let refused = s
        .app
        .promote(&s.ops, &sha, "staging")
        .await
        .unwrap()
        .unwrap_err();
    assert!(refused.contains("has not succeeded on QA"), "{refused}");

    let stranger = "0123456789abcdef0123456789abcdef01234567";
    let res = s
        .app
        .post_form(&s.dev, "/pipelines/web/ready", &[("sha", stranger)])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, html) = s.app.get_text(&s.dev, "/pipelines/web").await.unwrap();
    assert_eq!(
        flash(&html).unwrap(),
        format!("unknown commit: {stranger} is not on branch main of web")
    );
    let res = s
        .app
        .post_form(&s.dev, "/pipelines/web/ready", &[("sha", "abc123")])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, html) = s.app.get_text(&s.dev, "/pipelines/web").await.unwrap();
    assert!(flash(&html)
        .unwrap()
        .contains("exactly 40 hexadecimal characters"));
}

#[tokio::test]
async fn an_annotated_tag_s_id_is_not_accepted_as_a_commit() {
    let mut s = story().await;
    let commit = s.repo.commit("Release me").unwrap();
    slipway_tests::git::git(
        s.repo.path(),
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "tag",
            "-a",
            "v1",
            "-m",
            "Release 1",
        ],
    )
    .unwrap();
    let tag = slipway_tests::git::git(s.repo.path(), &["rev-parse", "v1"]).unwrap();
    assert_ne!(tag, commit, "an annotated tag has an object id of its own");
    let res = s
        .app
        .post_form(&s.dev, "/pipelines/web/ready", &[("sha", &tag)])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, html) = s.app.get_text(&s.dev, "/pipelines/web").await.unwrap();
    let refused = flash(&html).unwrap();
    assert!(
        refused.contains("is the id of a tag, not of a commit"),
        "{refused}"
    );
    let ready = "SELECT count(*) FROM ready_marks";
    assert_eq!(
        s.app.sql_count(ready).await.unwrap(),
        0,
        "nothing was marked"
    );
}

#[tokio::test]
async fn someone_who_may_not_promote_cannot_make_the_server_fetch() {
    let mut s = story().await;
    let viewer = s.app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let pushed = s.repo.commit("Pushed after the last fetch").unwrap();
    let refused = s
        .app
        .promote(&viewer, &pushed, "qa")
        .await
        .unwrap()
        .unwrap_err();
    assert!(refused.contains("may promote"), "{refused}");
    let repos = s.app.state.repos.clone();
    let sha = slipway_model::Sha::parse(&pushed).unwrap();
    assert_eq!(
        repos.is_on_branch("web", &sha).await.unwrap(),
        OnBranch::No,
        "the refused promotion fetched nothing"
    );
    // Someone who may act on it does fetch it.
    s.mark_ready(&pushed).await;
    assert_eq!(
        repos.is_on_branch("web", &sha).await.unwrap(),
        OnBranch::Yes
    );
}

#[tokio::test]
async fn fifty_concurrent_promotions_create_exactly_one_deployment() {
    let mut s = story_with(
        "sleep 2; printf '%s' \"$SLIPWAY_SHA\" > \"$OUT/$SLIPWAY_STAGE.sha\"",
        "",
    )
    .await;
    let sha = s.repo.commit("Change").unwrap();
    s.mark_ready(&sha).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = s.qa.clone();
        let url = s.app.url("/pipelines/web/promote");
        let sha = sha.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .form(&[("sha", sha.as_str()), ("stage", "qa")])
                .send()
                .await
                .unwrap()
        }));
    }
    let mut started = 0;
    for t in tasks {
        let res = t.await.unwrap();
        assert_eq!(res.status(), 303);
        if location(&res).starts_with("/deployments/") {
            started += 1;
        }
    }
    assert_eq!(started, 1, "exactly one request started a deployment");
    let history = s
        .app
        .state
        .storage
        .stage_history(&"web".parse_id(), &"qa".parse_stage(), 100)
        .await
        .unwrap();
    assert_eq!(history.len(), 1, "exactly one deployment row");
    let audit = s.app.state.storage.audit_entries(200).await.unwrap();
    let busy = audit
        .iter()
        .filter(|e| {
            e.action == "promote"
                && e.outcome == "refused"
                && e.detail
                    .as_deref()
                    .is_some_and(|d| d.contains("already deploying"))
        })
        .count();
    assert_eq!(
        busy, 49,
        "the others were told the stage is already deploying"
    );
    s.app.wait_for_end(history[0].id).await.unwrap();
}

#[tokio::test]
async fn a_lock_blocks_promotion_until_it_is_released() {
    let mut s = story().await;
    let sha = s.repo.commit("Change").unwrap();
    s.mark_ready(&sha).await;
    s.deploy(&s.qa, &sha, "qa").await;

    let res = s
        .app
        .post_form(
            &s.qa,
            "/pipelines/web/stages/staging/lock",
            &[
                ("reason", "exploratory testing until 15:00"),
                ("minutes", ""),
            ],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, board) = s.app.get_text(&s.qa, "/pipelines/web").await.unwrap();
    assert!(
        board.contains("by quinn") && board.contains("exploratory testing until 15:00"),
        "the board shows who and why"
    );

    let refused = s
        .app
        .promote(&s.ops, &sha, "staging")
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refused, "locked by quinn: exploratory testing until 15:00");
    // QA may not lock production; a dev may not lock at all.
    let res = s
        .app
        .post_form(
            &s.qa,
            "/pipelines/web/stages/production/lock",
            &[("reason", "x")],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = s
        .app
        .post_form(&s.dev, "/pipelines/web/stages/qa/lock", &[("reason", "x")])
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let res = s
        .app
        .post_form(&s.qa, "/pipelines/web/stages/staging/unlock", &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    s.deploy(&s.ops, &sha, "staging").await;
    let audit = s.app.state.storage.audit_entries(100).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "lock" && e.outcome == "ok"));
    assert!(audit
        .iter()
        .any(|e| e.action == "unlock" && e.outcome == "ok"));
}

#[tokio::test]
async fn a_failing_deploy_keeps_its_output_and_leaves_the_current_sha_unchanged() {
    let mut s = story_with(
        r#"if [ -e "$OUT/fail" ]; then echo "error: artifact for $SLIPWAY_SHA not found" >&2; exit 3; fi; printf '%s' "$SLIPWAY_SHA" > "$OUT/$SLIPWAY_STAGE.sha""#,
        "",
    )
    .await;
    let first = s.repo.commit("First").unwrap();
    s.mark_ready(&first).await;
    s.deploy(&s.qa, &first, "qa").await;

    let second = s.repo.commit("Second").unwrap();
    s.mark_ready(&second).await;
    std::fs::write(s.out.path().join("fail"), "").unwrap();
    let id = s.app.promote(&s.qa, &second, "qa").await.unwrap().unwrap();
    let d = s.app.wait_for_end(id).await.unwrap();
    assert_eq!(d.state, DeploymentState::Failed);
    assert_eq!(d.exit_code, Some(3));
    let log = s.app.state.storage.log_lines(id, 0, 100).await.unwrap();
    assert!(log.iter().any(
        |l| l.stream == "stderr" && l.line == format!("error: artifact for {second} not found")
    ));
    assert!(log
        .iter()
        .any(|l| l.stream == "slipway" && l.line.contains("exited with code 3")));

    let (_, board) = s.app.get_text(&s.qa, "/pipelines/web").await.unwrap();
    let qa_col = &board[board.find(r#"id="col-stage-qa""#).unwrap()
        ..board.find(r#"id="col-stage-staging""#).unwrap()];
    assert!(qa_col.contains(&first[..7]), "QA still runs the first SHA");
    assert!(
        qa_col.contains("last attempt failed — environment state unknown"),
        "{qa_col}"
    );
    assert_eq!(s.deployed("qa"), first);
}

#[tokio::test]
async fn cancel_and_timeout_leave_no_process_behind() {
    let mut s = story_with("echo started; sleep 300 & sleep 300", "").await;
    let sha = s.repo.commit("Change").unwrap();
    s.mark_ready(&sha).await;
    let id = s.app.promote(&s.qa, &sha, "qa").await.unwrap().unwrap();
    let pgid = s.app.wait_for_pgid(id).await.unwrap();
    assert!(group_alive(pgid));
    // QA may not cancel; ops may.
    let res = s
        .app
        .post_form(&s.qa, &format!("/deployments/{id}/cancel"), &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = s
        .app
        .post_form(&s.ops, &format!("/deployments/{id}/cancel"), &[])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let d = s.app.wait_for_end(id).await.unwrap();
    assert_eq!(d.state, DeploymentState::Cancelled);
    wait_gone(pgid).await;
    let audit = s.app.state.storage.audit_entries(100).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "cancel" && e.actor.as_deref() == Some("olga")));

    // Same commands, with a one-second timeout.
    let repo = TestRepo::new().unwrap();
    let out = tempfile::tempdir().unwrap();
    let config = deploying_pipeline(
        repo.path(),
        out.path(),
        "echo started; sleep 300 & sleep 300",
        "",
    )
    .replace("timeout_seconds = 60", "timeout_seconds = 1");
    let app = spawn_app(&config).await.unwrap();
    let ops = app
        .logged_in("olga", &[Role::Ops, Role::Dev])
        .await
        .unwrap();
    let head = repo.head("main").unwrap();
    app.post_form(&ops, "/pipelines/web/ready", &[("sha", &head)])
        .await
        .unwrap();
    let id = app.promote(&ops, &head, "qa").await.unwrap().unwrap();
    let pgid = app.wait_for_pgid(id).await.unwrap();
    let d = app.wait_for_end(id).await.unwrap();
    assert_eq!(d.state, DeploymentState::TimedOut);
    wait_gone(pgid).await;
    let log = app.state.storage.log_lines(id, 0, 100).await.unwrap();
    assert!(log.iter().any(|l| l.line == "started"));
    assert!(log.iter().any(|l| l.line.contains("past its timeout")));
}

async fn wait_gone(pgid: i32) {
    for _ in 0..200 {
        if !group_alive(pgid) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("process group {pgid} is still alive");
}

trait ParseIds {
    fn parse_id(&self) -> slipway_model::PipelineId;
    fn parse_stage(&self) -> slipway_model::StageId;
}

impl ParseIds for &str {
    fn parse_id(&self) -> slipway_model::PipelineId {
        slipway_model::PipelineId::parse(self).unwrap()
    }
    fn parse_stage(&self) -> slipway_model::StageId {
        slipway_model::StageId::parse(self).unwrap()
    }
}

#[tokio::test]
async fn rollback_redeploys_the_previous_distinct_sha_and_is_audited() {
    let mut s = story().await;
    let a = s.repo.commit("A").unwrap();
    let b = s.repo.commit("B").unwrap();
    let c = s.repo.commit("C").unwrap();
    for sha in [&a, &b, &b, &c] {
        // b twice: a redeploy of the same SHA is not a distinct step back.
        s.to_staging(sha).await;
        s.deploy(&s.ops, sha, "production").await;
    }
    assert_eq!(s.deployed("production"), c);

    // QA may not roll back; a reason is required.
    let res = s
        .app
        .post_form(
            &s.qa,
            "/pipelines/web/stages/production/rollback",
            &[("reason", "broken")],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = s
        .app
        .post_form(
            &s.ops,
            "/pipelines/web/stages/production/rollback",
            &[("reason", " ")],
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/pipelines/"));

    let (_, board) = s.app.get_text(&s.ops, "/pipelines/web").await.unwrap();
    assert!(
        board.contains(&format!("Roll back to {}", &b[..7])),
        "the board names the target"
    );
    let rollback = |reason: &'static str| {
        let app = &s.app;
        let ops = s.ops.clone();
        async move {
            let res = app
                .post_form(
                    &ops,
                    "/pipelines/web/stages/production/rollback",
                    &[("reason", reason)],
                )
                .await
                .unwrap();
            let to = location(&res);
            let id: DeploymentId = to
                .strip_prefix("/deployments/")
                .expect("rollback started")
                .parse()
                .unwrap();
            app.wait_for_end(id).await.unwrap()
        }
    };
    let d = rollback("checkout broken").await;
    assert_eq!(d.state, DeploymentState::Succeeded);
    assert_eq!(d.sha.as_str(), b, "back to the previous distinct SHA");
    assert_eq!(s.deployed("production"), b);
    let (_, board) = s.app.get_text(&s.ops, "/pipelines/web").await.unwrap();
    let card = &board[board.find(&format!(r#"data-sha="{c}""#)).unwrap()..];
    assert!(
        card[..card.find("</li>").unwrap()].contains("rolled back"),
        "the rolled-back SHA is flagged"
    );

    // Repeating goes further back, skipping the SHA that was rolled away from.
    let d = rollback("still broken").await;
    assert_eq!(d.sha.as_str(), a);
    assert_eq!(s.deployed("production"), a);

    // Both rollbacks were audited as the exception to the ancestry gate, with their reason.
    let audit = s.app.state.storage.audit_entries(200).await.unwrap();
    let rollbacks: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "rollback" && e.outcome == "ok")
        .collect();
    assert_eq!(rollbacks.len(), 2);
    assert!(rollbacks.iter().all(|e| e
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("ancestry gate bypassed"))));
    assert!(rollbacks.iter().any(|e| e
        .detail
        .as_deref()
        .is_some_and(|d| d.contains("checkout broken"))));
}

#[tokio::test]
async fn rollback_follows_the_stage_s_roles_and_audits_a_bypass_only_where_there_is_one() {
    // Every stage limited to admins: ops may neither promote nor roll back there.
    let mut s = story_with(WRITE_SHA, r#"promote_roles = ["admin"]"#).await;
    let admin = s.app.logged_in("ada", &[Role::Admin]).await.unwrap();
    for subject in ["A", "B"] {
        let sha = s.repo.commit(subject).unwrap();
        s.mark_ready(&sha).await;
        let id = s.app.promote(&admin, &sha, "qa").await.unwrap().unwrap();
        s.app.wait_for_end(id).await.unwrap();
    }
    let refused = s
        .app
        .post_form(
            &s.ops,
            "/pipelines/web/stages/qa/rollback",
            &[("reason", "broken")],
        )
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        403,
        "ops may not roll back an admins-only stage"
    );
    let body = refused.text().await.unwrap();
    assert!(
        body.contains("roll back this stage (allowed: admin)"),
        "{body}"
    );

    let res = s
        .app
        .post_form(
            &admin,
            "/pipelines/web/stages/qa/rollback",
            &[("reason", "broken")],
        )
        .await
        .unwrap();
    let id: DeploymentId = location(&res)
        .strip_prefix("/deployments/")
        .expect("the admin's rollback started")
        .parse()
        .unwrap();
    s.app.wait_for_end(id).await.unwrap();
    // QA is not fast-forward-only: there was no ancestry gate to bypass.
    let audit = s.app.state.storage.audit_entries(200).await.unwrap();
    let rollback = audit
        .iter()
        .find(|e| e.action == "rollback" && e.outcome == "ok")
        .expect("the rollback was audited");
    let detail = rollback.detail.as_deref().unwrap_or_default();
    assert!(!detail.contains("ancestry"), "{detail}");
    assert!(detail.contains("broken"), "{detail}");
}

#[tokio::test]
async fn a_failed_redeploy_on_the_previous_stage_counts_against_promotion() {
    // The deployer fails on a stage while `$OUT/fail-<stage>` exists.
    let script = format!(r#"[ -e "$OUT/fail-$SLIPWAY_STAGE" ] && exit 1; {WRITE_SHA}"#);
    let mut s = story_with(&script, "").await;
    let sha = s.repo.commit("Flaky on staging").unwrap();
    s.to_staging(&sha).await;
    std::fs::write(s.out.path().join("fail-staging"), "").unwrap();
    let id = s
        .app
        .promote(&s.qa, &sha, "staging")
        .await
        .unwrap()
        .unwrap();
    let d = s.app.wait_for_end(id).await.unwrap();
    assert_eq!(d.state, DeploymentState::Failed, "the redeploy failed");

    let refused = s
        .app
        .promote(&s.ops, &sha, "production")
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        refused.contains("its latest deployment there did not"),
        "{refused}"
    );
    // The board's card says the same as the refusal.
    let (_, board) = s.app.get_text(&s.ops, "/pipelines/web").await.unwrap();
    assert!(board.contains("its latest deployment there did not"));

    std::fs::remove_file(s.out.path().join("fail-staging")).unwrap();
    s.deploy(&s.qa, &sha, "staging").await;
    s.deploy(&s.ops, &sha, "production").await;
    assert_eq!(s.deployed("production"), sha);
}

#[tokio::test]
async fn a_cancel_racing_the_start_never_lets_two_deploys_run_on_one_stage() {
    // Each run records its start and its end (also when stopped by TERM) in `$OUT/runs`.
    let script = r#"trap 'echo "end $SLIPWAY_DEPLOYMENT_ID" >> "$OUT/runs"; exit 1' TERM; echo "start $SLIPWAY_DEPLOYMENT_ID" >> "$OUT/runs"; sleep 0.4 & wait; echo "end $SLIPWAY_DEPLOYMENT_ID" >> "$OUT/runs""#;
    let mut s = story_with(script, "").await;
    let sha = s.repo.commit("Race me").unwrap();
    s.mark_ready(&sha).await;
    let runs_file = s.out.path().join("runs");
    for _round in 0..12 {
        let next = s
            .app
            .sql_count("SELECT COALESCE(MAX(id), 0) + 1 FROM deployments")
            .await
            .unwrap();
        // Cancels for the next id, sent until the row exists: some land between the
        // row's creation and its process's start.
        let canceller = async {
            loop {
                let res = s
                    .app
                    .post_form(&s.ops, &format!("/deployments/{next}/cancel"), &[])
                    .await
                    .unwrap();
                if res.status() != 404 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        };
        let (_, promoted) = tokio::join!(canceller, s.app.promote(&s.ops, &sha, "qa"));
        let id = promoted.unwrap().expect("the stage was free");
        assert_eq!(id.get(), next);
        let d = s.app.wait_for_end(id).await.unwrap();
        // Once the row has ended, so has its process, if it ever started.
        let runs = std::fs::read_to_string(&runs_file).unwrap_or_default();
        if runs.contains(&format!("start {id}\n")) {
            assert!(
                runs.contains(&format!("end {id}\n")),
                "#{id} is {} but its process still runs:\n{runs}",
                d.state
            );
        }
    }
    // A process started late, after its row was ended, would show up here.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let runs = std::fs::read_to_string(&runs_file).unwrap_or_default();
    let mut running: Option<&str> = None;
    for line in runs.lines() {
        match line.split_once(' ') {
            Some(("start", id)) => {
                assert!(running.is_none(), "two deploys ran at once:\n{runs}");
                running = Some(id);
            }
            Some(("end", id)) => {
                assert_eq!(running, Some(id), "out of order:\n{runs}");
                running = None;
            }
            _ => panic!("unexpected line {line:?}"),
        }
    }
    assert!(running.is_none(), "a deploy outlived its row:\n{runs}");
}

#[tokio::test]
async fn a_form_message_is_shown_once() {
    let mut s = story().await;
    let sha = s.repo.commit("Change").unwrap();
    let res = s
        .app
        .post_form(&s.dev, "/pipelines/web/ready", &[("sha", &sha)])
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (_, first) = s.app.get_text(&s.dev, "/pipelines/web").await.unwrap();
    assert_eq!(
        flash(&first).as_deref(),
        Some(format!("Marked {} ready", &sha[..7]).as_str())
    );
    let (_, second) = s.app.get_text(&s.dev, "/pipelines/web").await.unwrap();
    assert_eq!(
        flash(&second),
        None,
        "the message is gone after it was shown"
    );
}

#[tokio::test]
async fn admins_browse_filter_and_export_the_audit_log_and_others_cannot() {
    let mut s = story().await;
    let sha = s.repo.commit("Change").unwrap();
    s.mark_ready(&sha).await;
    let _ = s.app.promote(&s.dev, &sha, "qa").await.unwrap(); // refused: dev may not promote
    let bad = s.app.client();
    s.app.login(&bad, "dana", "not her password").await.unwrap();
    let admin = s.app.logged_in("ada", &[Role::Admin]).await.unwrap();

    let (status, page) = s.app.get_text(&admin, "/admin/audit").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("mark_ready") && page.contains("promote") && page.contains("login"),
        "{page}"
    );
    let (_, refused) = s
        .app
        .get_text(&admin, "/admin/audit?outcome=refused")
        .await
        .unwrap();
    let table = &refused[refused.find(r#"data-testid="audit""#).unwrap()..];
    assert!(table.contains("only qa, ops may promote into QA"));
    assert!(!table.contains(">mark_ready<"), "the filter applies");

    let res = admin
        .get(s.app.url("/admin/audit.jsonl?action=login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/x-ndjson"));
    let body = res.text().await.unwrap();
    let lines: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["action"] == "login"));
    assert!(
        lines
            .iter()
            .any(|l| l["target"] == "dana" && l["actor"].is_null() && l["outcome"] == "failed"),
        "failed logins are recorded, under the typed name as target, never as actor"
    );
    assert!(lines
        .iter()
        .any(|l| l["actor"] == "ada" && l["outcome"] == "ok"));

    for path in ["/admin/audit", "/admin/audit.jsonl"] {
        let (status, _) = s.app.get_text(&s.ops, path).await.unwrap();
        assert_eq!(status, 403, "{path} is for admins only");
    }
}

#[tokio::test]
async fn each_stage_has_a_history_and_each_card_shows_what_goes_out() {
    let mut s = story().await;
    let first = s.repo.commit("First release").unwrap();
    s.to_staging(&first).await;
    s.deploy(&s.ops, &first, "production").await;
    let fix = s.repo.commit("Fix the checkout total").unwrap();
    let feature = s.repo.commit("Add wish lists").unwrap();
    s.to_staging(&feature).await;

    let (_, board) = s.app.get_text(&s.ops, "/pipelines/web").await.unwrap();
    let link = format!("/pipelines/web/compare?from={first}&amp;to={feature}");
    assert!(board.contains(&link), "the card links to what goes out");
    let (status, page) = s
        .app
        .get_text(
            &s.ops,
            &format!("/pipelines/web/compare?from={first}&to={feature}"),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let list = &page[page.find(r#"data-testid="compare""#).unwrap()..];
    assert!(
        list.contains("Add wish lists") && list.contains("Fix the checkout total"),
        "{list}"
    );
    assert!(
        !list.contains("First release"),
        "what production already runs is not listed"
    );
    assert!(
        list.find(&feature).unwrap() < list.find(&fix).unwrap(),
        "newest first"
    );
    let files = &page[page.find(r#"data-testid="files""#).unwrap()..];
    assert!(page.contains("1 file changed"), "{page}");
    assert!(files.contains("<code>activity.log</code>"), "{files}");
    let (status, _) = s
        .app
        .get_text(
            &s.ops,
            &format!(
                "/pipelines/web/compare?from={first}&to=0123456789abcdef0123456789abcdef01234567"
            ),
        )
        .await
        .unwrap();
    assert_eq!(status, 404);

    let (status, history) = s
        .app
        .get_text(&s.ops, "/pipelines/web/stages/staging")
        .await
        .unwrap();
    assert_eq!(status, 200);
    let table = &history[history.find(r#"data-testid="history""#).unwrap()..];
    assert!(
        table.find(&feature[..7]).unwrap() < table.find(&first[..7]).unwrap(),
        "newest first"
    );
    assert_eq!(table.matches("<td>succeeded</td>").count(), 2);
}

#[tokio::test]
async fn at_shutdown_running_deploys_get_a_grace_period_then_are_cancelled_and_recorded() {
    let mut s = story_with("echo started; sleep 300", "").await;
    let sha = s.repo.commit("Change").unwrap();
    s.mark_ready(&sha).await;
    let id = s.app.promote(&s.qa, &sha, "qa").await.unwrap().unwrap();
    let pgid = s.app.wait_for_pgid(id).await.unwrap();
    let storage = s.app.state.storage.clone();
    let started = std::time::Instant::now();
    s.app.stop().await.unwrap(); // shutdown_grace_seconds = 2 in test configs
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "the deploy got its grace period"
    );
    let d = storage.deployment(id).await.unwrap().unwrap();
    assert_eq!(d.state, DeploymentState::Cancelled);
    let log = storage.log_lines(id, 0, 100).await.unwrap();
    assert!(
        log.iter()
            .any(|l| l.stream == "slipway" && l.line.contains("shut down")),
        "{log:?}"
    );
    wait_gone(pgid).await;
}

#[tokio::test]
async fn restart_recovery_ends_a_deployer_found_by_its_marker_and_spares_a_process_that_reused_a_stored_group_id(
) {
    use slipway_core::deploys::{marker, MARKER_VAR};
    use slipway_core::store::{
        CreateDeploymentError, NewDeployment, Replica, ReplicaId, StageSnapshot,
    };
    use std::os::unix::process::CommandExt as _;
    let mut repo = TestRepo::new().unwrap();
    let sha = slipway_model::Sha::parse(&repo.commit("Left behind").unwrap()).unwrap();
    let app = spawn_app(&slipway_tests::app::pipeline_config(repo.path()))
        .await
        .unwrap();
    let storage = app.state.storage.clone();
    // The crashed run of this server. While the test sets the scene it looks alive (on
    // another host, heartbeat fresh), so the running app's own reaper, which runs at
    // every heartbeat, leaves its deployments alone; it becomes this host's earlier run
    // just before the restart's reap below.
    let now = app.state.now();
    let crashed = Replica {
        id: ReplicaId::from_stored("other-host:4242:crashed".into()),
        host: "other-host".into(),
        pid: 4242,
        data_dir: app.state.config.data_dir.display().to_string(),
        started_at: now,
        heartbeat_at: now,
        stopped_at: None,
    };
    storage.register_replica(&crashed).await.unwrap();
    let olga = storage
        .create_user(
            &slipway_model::UserName::parse("olga").unwrap(),
            "$argon2id$not-a-hash",
            [Role::Ops].into_iter().collect(),
            false,
        )
        .await
        .unwrap();
    let pass = |_: &StageSnapshot| -> Result<(), CreateDeploymentError> { Ok(()) };
    let audited = |d: &slipway_core::store::Deployment| {
        let mut e = slipway_core::store::NewAudit::new(
            slipway_model::audit::AuditAction::Promote,
            slipway_model::audit::Outcome::Ok,
        );
        e.target = Some(format!("deployment #{}", d.id));
        e
    };
    let left_running = |stage: &str| NewDeployment {
        pipeline: slipway_model::PipelineId::parse("web").unwrap(),
        stage: slipway_model::StageId::parse(stage).unwrap(),
        previous_stage: None,
        sha: sha.clone(),
        kind: slipway_model::deployment::DeploymentKind::Promote,
        requested_by: olga.id,
        reason: None,
        checklist: None,
        emergency_reason: None,
        migrations: None,
        drift: None,
        runner: Some(crashed.id.clone()),
    };
    // A crashed server left two deployments active:
    // on QA, one whose recorded process group id now belongs to an unrelated process;
    let mut innocent = std::process::Command::new("sleep")
        .arg("30")
        .process_group(0)
        .spawn()
        .unwrap();
    let innocent_group = i32::try_from(innocent.id()).unwrap();
    let reused = storage
        .create_deployment(&left_running("qa"), &pass, &audited)
        .await
        .unwrap();
    assert!(storage
        .mark_running(reused.id, Some(innocent_group), app.state.now())
        .await
        .unwrap());
    // on staging, one that recorded nothing, though its deployer runs (the crash came
    // between the spawn and the record).
    let untracked = storage
        .create_deployment(&left_running("staging"), &pass, &audited)
        .await
        .unwrap();
    let mut orphan = std::process::Command::new("sleep")
        .arg("30")
        .env(MARKER_VAR, marker(&app.state.config.data_dir, untracked.id))
        .process_group(0)
        .spawn()
        .unwrap();
    let orphan_group = i32::try_from(orphan.id()).unwrap();

    // The runner was this host's earlier run, whose process no longer exists.
    app.sql(&format!(
        "UPDATE replicas SET host = '{}', pid = 999999 WHERE id = '{}'",
        slipway_core::cluster::Cluster::host_name(),
        crashed.id
    ))
    .await
    .unwrap();
    // What a restarted server runs first, and every replica at each heartbeat (which
    // may come first: the count is not asserted, the outcome is).
    slipway_core::cluster::reaper::reap(&app.state)
        .await
        .unwrap();
    // The orphan was ended: reap it, so that it does not linger as a zombie.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            if let Ok(Some(_)) = orphan.try_wait() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the untracked deployer (group {orphan_group}) was ended"
    );
    assert!(
        matches!(innocent.try_wait(), Ok(None)),
        "an unrelated process that reused a stored group id is never signalled"
    );
    for id in [reused.id, untracked.id] {
        assert_eq!(
            app.deployment(id).await.unwrap().state,
            DeploymentState::Interrupted
        );
    }
    let _ = innocent.kill();
    let _ = innocent.wait();
}
