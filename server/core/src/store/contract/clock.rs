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

/// A stage's deployments since an instant: created after it, oldest first, the oldest
/// `limit`; other stages' are not among them.
pub async fn a_stages_deployments_since_an_instant_are_read_oldest_first<F, Fut>(open: &F)
where
    F: Fn(Arc<dyn Clock>) -> Fut,
    Fut: Future<Output = Arc<dyn Storage>>,
{
    let start = time::macros::datetime!(2026-12-09 9:00 UTC);
    let clock = Arc::new(FixedClock::new(start));
    let store = open(clock.clone()).await;
    let ops = user(store.as_ref(), "olga", &[Role::Ops]).await;
    let mut ids = Vec::new();
    for (n, on) in ['a', 'b', 'c', 'd'].into_iter().enumerate() {
        let mut new = new_deployment(ops.id, on);
        if n == 2 {
            new.stage = StageId::parse("staging").expect("a valid stage id");
        }
        let d = store
            .create_deployment(&new, &pass, &audited)
            .await
            .expect("create");
        store
            .finish_deployment(d.id, DeploymentState::Succeeded, Some(0), clock.now())
            .await
            .expect("finish");
        ids.push(d.id);
        clock.advance(time::Duration::hours(1));
    }
    let web = PipelineId::parse("web").expect("a valid pipeline id");
    let qa = StageId::parse("qa").expect("a valid stage id");
    let since = |hours: i64, limit: i64| {
        let (store, web, qa) = (store.clone(), web.clone(), qa.clone());
        async move {
            store
                .stage_deployments_since(
                    &web,
                    &qa,
                    start + time::Duration::minutes(hours * 60 - 1),
                    limit,
                )
                .await
                .expect("read")
                .into_iter()
                .map(|d| d.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        since(0, 10).await,
        [ids[0], ids[1], ids[3]],
        "qa's, oldest first"
    );
    assert_eq!(since(2, 10).await, [ids[3]], "created after the instant");
    assert_eq!(
        since(0, 2).await,
        [ids[0], ids[1]],
        "the oldest of the window"
    );
}
