//! The home page and the board, against real git repositories.

use slipway_model::Role;
use slipway_tests::app::{location, pipeline_config, spawn_app};
use slipway_tests::git::TestRepo;

/// The full SHAs of the cards in the *Commits* lane, in page order.
fn commit_lane_shas(html: &str) -> Vec<String> {
    let lane_start = html.find(r#"id="col-commits""#).expect("a Commits lane");
    let lane_end = html[lane_start..]
        .find(r#"id="col-ready""#)
        .map_or(html.len(), |i| lane_start + i);
    let lane = &html[lane_start..lane_end];
    lane.match_indices(r#"data-sha=""#)
        .map(|(i, m)| lane[i + m.len()..i + m.len() + 40].to_owned())
        .collect()
}

#[tokio::test]
async fn the_board_shows_the_repository_commits_in_first_parent_order() {
    let mut repo = TestRepo::new().unwrap();
    repo.commit("Add checkout page").unwrap();
    repo.branch("feature/cart", "main").unwrap();
    repo.checkout("feature/cart").unwrap();
    let side = repo
        .commit_file("cart.txt", "quantity", "Cart: add quantity field")
        .unwrap();
    repo.checkout("main").unwrap();
    repo.commit("Fix typo in footer").unwrap();
    let merge = repo
        .merge_no_ff("feature/cart", "Merge feature/cart")
        .unwrap();
    let expected = repo.first_parent_log("main").unwrap();
    assert_eq!(expected[0], merge);

    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let client = app.logged_in("alice", &[Role::Dev]).await.unwrap();
    let (status, html) = app.get_text(&client, "/pipelines/web").await.unwrap();
    assert_eq!(status, 200);

    assert_eq!(
        commit_lane_shas(&html),
        expected,
        "newest first, first-parent only"
    );
    assert!(
        !commit_lane_shas(&html).contains(&side),
        "side-branch commits are not cards"
    );
    assert!(html.contains("Merge feature/cart"));
    assert!(html.contains("Slipway Test"), "the author is shown");
    assert!(
        html.contains(" ago<") || html.contains(" ago</p>"),
        "the age is shown"
    );
    assert!(html.contains(&merge[..7]), "the short SHA is shown");
    assert!(
        html.contains(&format!(">{merge}</code>")),
        "the full SHA is one click away"
    );
    assert!(
        html.contains("<title>Web shop board · Slipway</title>"),
        "the title names the pipeline"
    );
}

#[tokio::test]
async fn the_board_has_ready_then_one_column_per_stage_with_production_distinct() {
    let repo = TestRepo::new().unwrap();
    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let client = app.logged_in("alice", &[Role::Viewer]).await.unwrap();
    let (_, html) = app.get_text(&client, "/pipelines/web").await.unwrap();

    let pos = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"))
    };
    let order = [
        pos(r#"id="col-commits""#),
        pos(r#"id="col-ready""#),
        pos(r#"id="col-stage-qa""#),
        pos(r#"id="col-stage-staging""#),
        pos(r#"id="col-stage-production""#),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "columns in config order: {order:?}"
    );
    assert!(
        html.contains(r#"class="column stage production""#),
        "production is styled apart"
    );
    let qa = &html[pos(r#"data-stage="qa""#)..pos(r#"id="col-stage-qa""#)];
    assert!(
        !qa.contains("production"),
        "only production is styled as production: {qa}"
    );
    let prod = &html[pos(r#"id="col-stage-production""#)..];
    assert!(
        prod.contains("PRODUCTION"),
        "production carries an explicit badge"
    );
    assert!(prod.contains("Nothing deployed yet"));
    assert!(prod.contains("Promoted by: ops"));
}

#[tokio::test]
async fn a_new_commit_appears_after_refresh() {
    let mut repo = TestRepo::new().unwrap();
    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let client = app.logged_in("dana", &[Role::Dev]).await.unwrap();
    let (_, html) = app.get_text(&client, "/pipelines/web").await.unwrap();
    let before = commit_lane_shas(&html);
    assert_eq!(before.len(), 1);

    let new = repo.commit("Add search box").unwrap();
    // The fetch interval is an hour: without a refresh the board does not know yet.
    let (_, html) = app.get_text(&client, "/pipelines/web").await.unwrap();
    assert_eq!(commit_lane_shas(&html), before);

    let res = client
        .post(app.url("/pipelines/web/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/pipelines/web");
    let (_, html) = app.get_text(&client, "/pipelines/web").await.unwrap();
    let after = commit_lane_shas(&html);
    assert_eq!(after.first(), Some(&new));
    assert_eq!(after.len(), 2);
    assert!(html.contains("Add search box"));
}

#[tokio::test]
async fn the_home_page_lists_every_pipeline_and_its_stages() {
    let repo = TestRepo::new().unwrap();
    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let client = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let (status, html) = app.get_text(&client, "/").await.unwrap();
    assert_eq!(status, 200);
    assert!(html.contains(r#"href="/pipelines/web""#));
    for label in ["QA", "Staging", "Production"] {
        assert!(html.contains(label), "{label} missing");
    }
    assert!(html.contains("nothing deployed yet"));
}

#[tokio::test]
async fn an_unknown_pipeline_is_a_404_that_says_so() {
    let repo = TestRepo::new().unwrap();
    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let client = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let (status, html) = app.get_text(&client, "/pipelines/nope").await.unwrap();
    assert_eq!(status, 404);
    assert!(html.contains("there is no pipeline \"nope\""), "{html}");
    let (status, _) = app.get_text(&client, "/no/such/page").await.unwrap();
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_missing_branch_is_reported_on_the_board_not_as_a_crash() {
    let repo = TestRepo::new().unwrap();
    let config = pipeline_config(repo.path()).replace("branch = \"main\"", "branch = \"release\"");
    let app = spawn_app(&config).await.unwrap();
    let client = app.logged_in("vera", &[Role::Viewer]).await.unwrap();
    let (status, html) = app.get_text(&client, "/pipelines/web").await.unwrap();
    assert_eq!(status, 200);
    assert!(html.contains("branch \"release\" does not exist"), "{html}");
}

#[tokio::test]
async fn the_commits_lane_is_one_line_per_commit_and_each_stage_heading_wears_its_badges() {
    let mut repo = TestRepo::new().unwrap();
    let a = repo.commit("Add checkout page").unwrap();
    let b = repo.commit("Fix typo in footer").unwrap();
    let app = spawn_app(&pipeline_config(repo.path())).await.unwrap();
    let qa = app
        .logged_in("quinn", &[Role::Dev, Role::Qa])
        .await
        .unwrap();
    app.post_form(&qa, "/pipelines/web/ready", &[("sha", a.as_str())])
        .await
        .unwrap();
    let id = app.promote(&qa, &a, "qa").await.unwrap().unwrap();
    app.wait_for_end(id).await.unwrap();
    let (_, html) = app.get_text(&qa, "/pipelines/web").await.unwrap();
    let section = |from: &str, to: &str| {
        let start = html.find(from).unwrap_or_else(|| panic!("{from}"));
        let end = html[start..].find(to).map_or(html.len(), |i| start + i);
        html[start..end].to_owned()
    };

    // One line per commit; "mark ready" and its note open from the card.
    let lane = section(r#"id="col-commits""#, r#"id="col-ready""#);
    let lane_shas = commit_lane_shas(&html);
    assert!(
        lane_shas.contains(&b) && !lane_shas.contains(&a),
        "{lane_shas:?}"
    );
    assert!(lane.contains(r#"class="card compact""#), "{lane}");
    assert_eq!(
        lane.matches(r#"name="note""#).count(),
        lane.matches(r#"<details class="mark-ready">"#).count(),
        "every note field sits behind its card's disclosure"
    );
    assert!(lane.contains(&format!(r#"aria-label="Mark ready {}""#, &b[..7])));
    assert!(
        html.contains(r#"<details open class="lane">"#),
        "the lane folds"
    );

    // QA's heading: the SHA it runs and since when; production: nothing yet.
    let qa_column = section(r#"data-stage="qa""#, r#"data-stage="staging""#);
    let glance = section(r#"aria-label="QA at a glance""#, "</ul>");
    assert!(
        glance.contains(&a[..7]) && glance.contains("since "),
        "{glance}"
    );
    assert!(section(r#"data-stage="production""#, "</section>").contains("Nothing deployed yet"));
    // QA may promote `a` on to staging: at phone width QA's column comes first.
    assert!(
        html.contains(
            r#"aria-labelledby="col-stage-qa" data-stage="qa" class="column stage act-first""#
        ),
        "{qa_column}"
    );
    assert!(html.contains(r#"<section aria-labelledby="col-ready" class="column ready">"#));
    // Passing gates fold behind a count; the one that holds (none here) would show.
    let card = section(&format!(r#"data-sha="{a}""#), "</li>");
    assert!(
        card.contains("gates pass</summary>") || card.contains("gate pass</summary>"),
        "{card}"
    );
}
