//! Promises about time: the store's clock, never the system's, decides expiries.

use super::*;
use crate::clock::FixedClock;

/// A lock with an expiry ends when the store's clock passes it, not the system's.
pub async fn a_lock_ends_when_the_store_s_clock_passes_its_expiry<F, Fut>(open: &F)
where
    F: Fn(Arc<dyn Clock>) -> Fut,
    Fut: Future<Output = Arc<dyn Storage>>,
{
    let start = time::macros::datetime!(2026-12-07 17:00 UTC);
    let clock = Arc::new(FixedClock::new(start));
    let store = open(clock.clone()).await;
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
