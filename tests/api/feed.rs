//! The change feed never skips a change, however late it commits.

use std::time::{Duration, Instant};

use api::auth::Role;
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    booking::{book_self, bookable_session},
    helpers::*,
    sync::read_feed,
};

/// Reads the feed from `after` until `wanted` changes have come (or 60 s pass): the visible end
/// is the whole cluster's oldest running transaction, which other tests may hold back a while.
async fn read_until(app: &TestApp, key: &str, after: Value, wanted: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let (seen, _) = read_feed(app, key, after.clone()).await;
        if seen.len() >= wanted || started.elapsed() > Duration::from_secs(60) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One transaction writes a change and stays open while another writes a later one and commits.
/// The feed read in between must not pass the open change, or its cursor would move beyond it
/// and the change, once committed, would never be read.
#[tokio::test]
async fn a_change_that_commits_late_is_not_skipped() {
    let app = spawn_app().await;
    let TestDatabase::Postgres { url, .. } = &app.database else {
        // SQLite has one writer at a time: no transaction can commit out of order.
        return;
    };
    let admin = app.token(Role::Administrator);
    let session = bookable_session(&app, 10).await;
    let early = book_self(&app, &session, insert_participant(&app.db).await.id).await;
    let early_id = api::domain::ids::EnrolmentId::from_global(
        early["enrolment"]["id"].as_str().unwrap(),
        "id",
    )
    .unwrap()
    .0;
    // Other tests' transactions on the cluster may hold the visible end back a while.
    let started = Instant::now();
    let (before, cursor) = loop {
        let (seen, cursor) = read_feed(&app, &admin, Value::Null).await;
        if !seen.is_empty() || started.elapsed() > Duration::from_secs(60) {
            break (seen, cursor);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(before.len(), 1);

    // The late writer: a change of its own, its transaction left open.
    let late = Database::connect(url).await.unwrap();
    let open = late.begin().await.unwrap();
    open.execute_unprepared(&format!(
        "INSERT INTO enrolment_changes (id, enrolment_id, change, to_status, actor, actor_role, occurred_at, version) \
         VALUES ('{}', '{early_id}', 'ATTENDED', 'ATTENDED', 'test', 'Coordinator', now(), 2)",
        Uuid::new_v4()
    ))
    .await
    .unwrap();

    // A later change commits meanwhile.
    book_self(&app, &session, insert_participant(&app.db).await.id).await;
    let (meanwhile, _) = read_feed(&app, &admin, cursor.clone()).await;
    assert!(
        meanwhile.is_empty(),
        "the feed passed a change that may still commit: {meanwhile:?}"
    );

    open.commit().await.unwrap();
    let after = read_until(&app, &admin, cursor, 2).await;
    let kinds: Vec<&str> = after
        .iter()
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["ATTENDED", "BOOKED"],
        "both, once each, the late one first"
    );
}
