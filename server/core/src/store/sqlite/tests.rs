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
