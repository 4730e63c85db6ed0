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

/// Ready marks are read for the SHAs asked about and the `newest` latest others, newest
/// first and each once: the board's read stays bounded however many CI has made.
pub async fn ready_marks_are_read_for_the_shas_asked_and_the_newest_others<F, Fut>(open: &F)
where
    F: Fn(Arc<dyn Clock>) -> Fut,
    Fut: Future<Output = Arc<dyn Storage>>,
{
    let clock = Arc::new(FixedClock::new(
        time::macros::datetime!(2026-12-09 9:00 UTC),
    ));
    let store = open(clock.clone()).await;
    let dev = user(store.as_ref(), "dana", &[Role::Dev]).await;
    let web = PipelineId::parse("web").expect("a valid pipeline id");
    for c in ['a', 'b', 'c', 'd', 'e'] {
        store
            .mark_ready(&web, &sha(c), dev.id, None)
            .await
            .expect("mark");
        clock.advance(time::Duration::minutes(1));
    }
    let read = |shas: Vec<Sha>, newest: i64| {
        let store = store.clone();
        let web = web.clone();
        async move {
            store
                .ready_marks(&web, &shas, newest)
                .await
                .expect("read")
                .into_iter()
                .map(|m| m.sha)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(read(vec![], 2).await, [sha('e'), sha('d')]);
    assert_eq!(
        read(vec![sha('a'), sha('d'), sha('f')], 2).await,
        [sha('e'), sha('d'), sha('a')],
        "the SHAs asked about (an unmarked one has no mark) and the newest, once each"
    );
    assert_eq!(read(vec![sha('b')], 0).await, [sha('b')]);
    assert_eq!(read(vec![], 10).await.len(), 5);
}
