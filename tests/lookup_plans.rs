//! A lookup by digest goes through the table's index on every backend. On
//! PostgreSQL a `character(n)` column compared with a text parameter (what
//! a Rust `String` is bound as) is cast, and the index is not used: every
//! session cache miss was a sequential scan.

mod common;

use authnzd::security::tokens;
use authnzd::store;
use common::TestServer;
use sea_orm::{ConnectionTrait, Database, DbBackend, QueryTrait, Statement, TransactionTrait};

/// The plan the database gives for `statement`, one line per row.
async fn plan(db: &sea_orm::DatabaseConnection, statement: Statement) -> Vec<String> {
    let backend = db.get_database_backend();
    let explain = match backend {
        DbBackend::Sqlite => "EXPLAIN QUERY PLAN",
        _ => "EXPLAIN",
    };
    let sql = format!("{explain} {}", statement.sql);
    let values = statement.values.map(|v| v.0).unwrap_or_default();
    let txn = db.begin().await.unwrap();
    if backend == DbBackend::Postgres {
        // Whether the index can be used, not whether a tiny table makes it
        // worth it: with sequential scans priced out, PostgreSQL takes the
        // index whenever it applies.
        txn.execute_unprepared("SET LOCAL enable_seqscan = off")
            .await
            .unwrap();
    }
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    rows.iter()
        .map(|row| match backend {
            DbBackend::Postgres => row.try_get_by_index::<String>(0).unwrap(),
            DbBackend::Sqlite => row.try_get::<String>("", "detail").unwrap(),
            _ => format!(
                "type={} key={}",
                row.try_get::<Option<String>>("", "type")
                    .unwrap()
                    .unwrap_or_default(),
                row.try_get::<Option<String>>("", "key")
                    .unwrap()
                    .unwrap_or_default()
            ),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_lookup_by_digest_uses_the_primary_key() {
    let s = TestServer::start().await;
    // Enough rows that a table scan is not the cheapest plan (MariaDB
    // scans a table of one row for an `IN` of three).
    let made = (0..100).map(|_| ("session-new", common::session_new_body(None, 1)));
    for reply in common::all_at_once(&s.client, made).await {
        assert!(reply.unwrap().success);
    }
    let db = Database::connect(&s.config.database.database_url)
        .await
        .unwrap();
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT token_hash FROM sessions",
        ))
        .await
        .unwrap()
        .expect("a session row");
    let digest: String = row.try_get("", "token_hash").unwrap();
    // The statement batched lookups send, for one digest and for several.
    let others = [tokens::digest("a"), tokens::digest("b")];
    for digests in [
        vec![digest.trim()],
        vec![digest.trim(), &others[0], &others[1]],
    ] {
        let lookup = store::sessions::with_digests(digests).build(backend);
        let plan = plan(&db, lookup).await;
        let text = plan.join("\n");
        match backend {
            DbBackend::Postgres => assert!(
                text.contains("sessions_pkey") && !text.contains("Seq Scan"),
                "{text}"
            ),
            DbBackend::Sqlite => assert!(
                text.contains("SEARCH sessions USING") && !text.contains("SCAN sessions"),
                "{text}"
            ),
            _ => assert!(text.contains("key=PRIMARY"), "{text}"),
        }
    }
    if backend == DbBackend::Postgres {
        // Nor is any other fixed-width column left to be compared that way.
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT table_name || '.' || column_name AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND data_type = 'character'",
            ))
            .await
            .unwrap();
        let found: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String>("", "c").unwrap())
            .collect();
        assert!(found.is_empty(), "character(n) columns: {found:?}");
    }
    db.close().await.unwrap();
    s.stop().await;
}
