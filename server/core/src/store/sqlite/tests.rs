//! SQLite against the storage contract, on real database files.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[tokio::test]
async fn sqlite_keeps_every_promise_of_the_storage_contract() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let next = AtomicUsize::new(0);
    crate::store::contract::run_all(|clock| {
        let file = dir
            .path()
            .join(format!("store-{}.db", next.fetch_add(1, Ordering::SeqCst)));
        let url = format!("sqlite://{}", file.display());
        async move {
            let store = SqliteStorage::connect_with_clock(&url, clock)
                .await
                .expect("open and migrate a fresh database");
            Arc::new(store) as Arc<dyn Storage>
        }
    })
    .await;
}

#[tokio::test]
async fn a_stages_active_deployment_is_looked_up_by_state_not_found_by_walking_its_history() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("plan.db").display());
    let store = SqliteStorage::connect(&url)
        .await
        .expect("a fresh database");
    let plan = sqlx::query(&format!(
        "EXPLAIN QUERY PLAN {}",
        deployment_select(ACTIVE_DEPLOYMENT)
    ))
    .bind("web")
    .bind("production")
    .bind(ACTIVE[0])
    .bind(ACTIVE[1])
    .bind(ACTIVE[2])
    .fetch_all(store.pool())
    .await
    .expect("a query plan");
    let steps: Vec<String> = plan.iter().map(|r| r.get("detail")).collect();
    assert!(
        steps
            .iter()
            .any(|s| s.contains("deployments_by_stage (pipeline_id=? AND stage_id=? AND state=?)")),
        "{steps:?}"
    );
    assert!(
        !steps.iter().any(|s| s.contains("TEMP B-TREE")),
        "{steps:?}"
    );
}
