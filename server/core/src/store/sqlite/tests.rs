//! SQLite against the storage contract, on real database files.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[tokio::test]
async fn sqlite_keeps_every_promise_of_the_storage_contract() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let next = AtomicUsize::new(0);
    crate::store::contract::run_all(|| {
        let file = dir
            .path()
            .join(format!("store-{}.db", next.fetch_add(1, Ordering::SeqCst)));
        let url = format!("sqlite://{}", file.display());
        async move {
            let store = SqliteStorage::connect(&url)
                .await
                .expect("open and migrate a fresh database");
            Arc::new(store) as Arc<dyn Storage>
        }
    })
    .await;
}

#[tokio::test]
async fn a_lock_ends_when_the_store_s_clock_passes_its_expiry() {
    use crate::clock::FixedClock;
    use slipway_model::{PipelineId, Role, StageId, UserName};
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("clock.db").display());
    let start = time::macros::datetime!(2026-12-07 17:00 UTC);
    let clock = Arc::new(FixedClock::new(start));
    let store = SqliteStorage::connect_with_clock(&url, clock.clone())
        .await
        .expect("open a fresh database");
    let olga = store
        .create_user(
            &UserName::parse("olga").expect("a valid name"),
            "$argon2id$x",
            [Role::Ops].into_iter().collect(),
            false,
        )
        .await
        .expect("create a user");
    let web = PipelineId::parse("web").expect("a valid pipeline id");
    let production = StageId::parse("production").expect("a valid stage id");
    store
        .lock_stage(
            &web,
            &production,
            olga.id,
            "labs until 19:00",
            Some(start + time::Duration::hours(2)),
        )
        .await
        .expect("lock");
    clock.advance(time::Duration::minutes(119));
    assert_eq!(store.locks(&web).await.expect("read").len(), 1);
    clock.advance(time::Duration::minutes(2));
    assert!(
        store.locks(&web).await.expect("read").is_empty(),
        "the lock ended at 19:00 by the store's clock"
    );
}
