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
