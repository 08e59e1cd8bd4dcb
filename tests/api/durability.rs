//! An answer that says done is on disk: the service's own connections commit synchronously,
//! read back from them (SQLite: WAL with `synchronous=FULL`; PostgreSQL: `synchronous_commit`).

use api::Settings;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::helpers::TestDatabase;

async fn one_value(db: &sea_orm::DatabaseConnection, sql: &str) -> String {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i32>(0).map(|n| n.to_string()))
        .unwrap()
}

#[tokio::test]
async fn the_services_connections_commit_to_disk() {
    let database = TestDatabase::create().await;
    let settings = Settings::for_database(database.url());
    let db = api::db::connect(
        database.url(),
        2,
        settings.limits.database_timeouts(),
        Default::default(),
    )
    .await
    .unwrap();
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            assert_eq!(one_value(&db, "PRAGMA journal_mode").await, "wal");
            // 2 is FULL: the log is synced at every commit.
            assert_eq!(one_value(&db, "PRAGMA synchronous").await, "2");
        }
        _ => assert_eq!(one_value(&db, "SHOW synchronous_commit").await, "on"),
    }
    db.close().await.unwrap();
}
