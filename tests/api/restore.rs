//! Backup and restore, as the README says: a backup taken while the service runs (SQLite's
//! online backup, or pg_dump), restored, `training feed new-epoch` run on it, and the service
//! started on it. It serves what the backup held, and a client's feed cursor from after the
//! backup answers MUST_RESYNC instead of silently missing what the restore undid.

use api::Settings;
use serde_json::json;

use crate::{
    booking::{book_self, bookable_session, global_session},
    helpers::*,
    sync::{CHANGES, source_key},
};

const SEATS: &str = "query($id: ID!) { node(id: $id) { ... on Session { seatsLeft } } }";

#[tokio::test]
async fn a_restored_backup_serves_what_it_held_and_newer_cursors_resync() {
    let app = spawn_app().await;
    let key = source_key(&app, "bzk").await;
    let session = bookable_session(&app, 10).await;
    let first = insert_participant(&app.db).await;
    assert_eq!(
        book_self(&app, &session, first.id).await["status"],
        "CONFIRMED"
    );

    let backup = app.database.backup(&app.db).await;

    // After the backup: another booking, and a client that read the feed up to it.
    let second = insert_participant(&app.db).await;
    assert_eq!(
        book_self(&app, &session, second.id).await["status"],
        "CONFIRMED"
    );
    let snapshot = app
        .data_as(
            &key,
            "{ enrolmentSnapshot(first: 1) { feedCursor } }",
            json!({}),
        )
        .await;
    let cursor = snapshot["enrolmentSnapshot"]["feedCursor"].clone();
    let id = json!({ "id": global_session(&session) });
    assert_eq!(app.data(SEATS, id.clone()).await["node"]["seatsLeft"], 8);

    // The restore: a new feed epoch, then the service on the restored database.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_training"))
        .args(["feed", "new-epoch"])
        .env("DATABASE_URL", backup.url())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let settings = Settings::for_database(backup.url());
    let restored = start(settings, backup).await;

    assert_eq!(
        restored.data(SEATS, id).await["node"]["seatsLeft"],
        9,
        "the backup's bookings, and not the later one"
    );
    let stale = restored
        .graphql_as(&key, CHANGES, json!({ "after": cursor, "first": 10 }))
        .await;
    assert_eq!(error_code(&stale), "MUST_RESYNC", "{stale}");
}
