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
