//! The test kit itself: a server whose test panics (or that is just
//! dropped) stops, and its scratch database is gone.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_test_stops_its_server_and_leaves_no_database() {
    let seen = Arc::new(Mutex::new(None));
    let told = seen.clone();
    let test = tokio::spawn(async move {
        let s = TestServer::start().await;
        s.assert_serving().await;
        *told.lock().unwrap() = Some((s.url(), s.config.database.database_url.clone()));
        panic!("a failing test");
    });
    assert!(test.await.unwrap_err().is_panic());
    let (url, database) = seen.lock().unwrap().clone().expect("the server started");

    // Nothing answers at the server's address once it has drained.
    let deadline = Instant::now() + Duration::from_secs(10);
    while common::http()
        .get(format!("{url}health"))
        .send()
        .await
        .is_ok()
    {
        assert!(Instant::now() < deadline, "{url} still serving");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The database went with it: the scratch database is dropped, the
    // SQLite file's directory removed.
    match authnzd::config::sqlite_path(&database) {
        Some(file) => assert!(!file.exists(), "{} left", file.display()),
        None => assert!(
            sea_orm::Database::connect(&database).await.is_err(),
            "{database} left"
        ),
    }
}
