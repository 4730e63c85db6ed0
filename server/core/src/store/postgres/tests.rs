//! PostgreSQL against the storage contract, on a fresh database per promise.

use super::scratch::{server_url, ScratchDatabase};
use super::*;
use std::sync::Mutex;

#[tokio::test]
async fn postgres_keeps_every_promise_of_the_storage_contract() {
    let server = server_url();
    let created: Mutex<Vec<ScratchDatabase>> = Mutex::default();
    crate::store::contract::run_all(|clock| {
        let server = server.clone();
        let created = &created;
        async move {
            let db = ScratchDatabase::create(&server)
                .await
                .expect("create a fresh database");
            let store = PgStorage::connect_with_clock(db.url(), clock)
                .await
                .expect("connect and migrate a fresh database");
            created.lock().expect("not poisoned").push(db);
            Arc::new(store) as Arc<dyn Storage>
        }
    })
    .await;
    let dbs = std::mem::take(&mut *created.lock().expect("not poisoned"));
    for db in dbs {
        db.drop().await.expect("drop the database");
    }
}

#[tokio::test]
async fn a_heartbeat_is_recorded_while_every_pooled_connection_waits_for_the_write_lock() {
    let db = ScratchDatabase::create(&server_url())
        .await
        .expect("create a fresh database");
    let store = PgStorage::connect(db.url())
        .await
        .expect("connect and migrate a fresh database");
    let me = crate::cluster::Cluster::new(
        "host".into(),
        std::path::Path::new("/data"),
        Duration::from_secs(3),
        store.clock().now(),
    );
    store
        .register_replica(me.me())
        .await
        .expect("register the replica");

    // One writer holds the lock; more writers than the pool has connections queue
    // behind it, as two hundred promotions at once do.
    let holder = store.write_tx().await.expect("take the write lock");
    let max = store.pool().options().get_max_connections();
    let waiting: Vec<_> = (0..max + 4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.write_tx().await.map(drop) })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store.pool().num_idle(),
        0,
        "every pooled connection is taken"
    );

    let beat = tokio::time::timeout(Duration::from_secs(3), store.heartbeat(me.id())).await;
    assert!(
        matches!(beat, Ok(Ok(true))),
        "the heartbeat is recorded while the write lock is held: {beat:?}"
    );
    let lease = tokio::time::timeout(
        Duration::from_secs(3),
        store.try_lease("background", me.id(), store.clock().now()),
    )
    .await;
    assert!(
        matches!(lease, Ok(Ok(true))),
        "and the lease renewed: {lease:?}"
    );

    drop(holder);
    for w in waiting {
        w.await
            .expect("a writer task")
            .expect("each writer gets its turn");
    }
    db.drop().await.expect("drop the database");
}
