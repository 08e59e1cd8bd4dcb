//! Keeping enrolments in step with a ministry system: bulk upserts of participants and
//! enrolments through the booking rules, sent twice without effect, and the change feed.

use api::{
    auth::Role,
    domain::ids::{EnrolmentId, ParticipantId, SessionId},
};
use entity::{enrolment_change, enums::MachineRole, outbox_event};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::{
    booking::{BOOK, CANCEL, bookable_session, global_session},
    helpers::*,
};

pub const SYNC_PARTICIPANTS: &str = "mutation($input: SyncParticipantsInput!) {
    syncParticipants(input: $input) { replayed dryRun userErrors { code field }
      results { index externalId action participantId error { code field } }
      summary { created updated unchanged cancelled rejected } } }";

pub const SYNC_ENROLMENTS: &str = "mutation($input: SyncEnrolmentsInput!) {
    syncEnrolments(input: $input) { replayed dryRun userErrors { code field message }
      results { index externalId action enrolmentId status version error { code field } }
      cancelledBySnapshot
      summary { created updated unchanged cancelled rejected } } }";

pub const CHANGES: &str = "query($after: String, $first: Int) { enrolmentChanges(first: $first, after: $after) {
    pageInfo { hasNextPage } edges { cursor node { enrolmentId change status version enrolment { id } } } } }";

/// A sync client's key for a source system.
pub async fn source_key(app: &TestApp, source: &str) -> String {
    let source = api::sync::external_ids::Source::parse(source).unwrap();
    api::db::api_key::create_api_key_for(
        &app.db,
        "Testkoppeling",
        MachineRole::SyncClient,
        Some(&source),
    )
    .await
    .unwrap()
    .1
}

/// Made-up people of a source system: `prefix-0`, `prefix-1`, …
pub fn people(prefix: &str, count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| {
            json!({ "externalId": format!("{prefix}-{n}"),
                    "fullName": format!("Testpersoon {prefix} {n}"),
                    "email": format!("{prefix}-{n}@example.invalid"),
                    "role": "MAYOR" })
        })
        .collect()
}

pub async fn sync(app: &TestApp, key: &str, mutation: &str, input: Value) -> Value {
    let field = if mutation.contains("syncParticipants") {
        "syncParticipants"
    } else {
        "syncEnrolments"
    };
    app.data_as(key, mutation, json!({ "input": input })).await[field].clone()
}

fn actions(payload: &Value) -> Vec<String> {
    payload["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn participants_are_created_then_unchanged_then_updated() {
    let app = spawn_app().await;
    let key = source_key(&app, "bzk").await;
    let mut items = people("p", 3);
    let created = sync(&app, &key, SYNC_PARTICIPANTS, json!({ "items": items })).await;
    assert_eq!(
        actions(&created),
        ["CREATED", "CREATED", "CREATED"],
        "{created}"
    );

    let again = sync(&app, &key, SYNC_PARTICIPANTS, json!({ "items": items })).await;
    assert_eq!(actions(&again), ["UNCHANGED", "UNCHANGED", "UNCHANGED"]);
    assert_eq!(
        again["results"][1]["participantId"],
        created["results"][1]["participantId"]
    );

    items[1]["fullName"] = json!("Testpersoon p 1 (nieuwe naam)");
    let updated = sync(&app, &key, SYNC_PARTICIPANTS, json!({ "items": items })).await;
    assert_eq!(actions(&updated), ["UNCHANGED", "UPDATED", "UNCHANGED"]);

    // The source's key finds them by its own ids.
    let found = app
        .data_as(
            &key,
            "{ participant(externalId: \"p-1\") { fullName externalId } }",
            json!({}),
        )
        .await;
    assert_eq!(
        found["participant"],
        json!({ "fullName": "Testpersoon p 1 (nieuwe naam)", "externalId": "p-1" })
    );
    // Another source does not know them.
    let other = source_key(&app, "gemeente-x").await;
    let unknown = app
        .data_as(
            &other,
            "{ participant(externalId: \"p-1\") { fullName } }",
            json!({}),
        )
        .await;
    assert_eq!(unknown["participant"], Value::Null);
}

#[tokio::test]
async fn bad_items_are_refused_one_by_one_with_their_field() {
    let app = spawn_app().await;
    let key = source_key(&app, "bzk").await;
    let mut items = people("q", 4);
    items[1]["email"] = json!("geen adres");
    items[2]["externalId"] = json!("q-0");
    items[3]["externalId"] = json!("x".repeat(101));
    let answer = sync(&app, &key, SYNC_PARTICIPANTS, json!({ "items": items })).await;
    assert_eq!(
        actions(&answer),
        ["CREATED", "REJECTED", "REJECTED", "REJECTED"]
    );
    let errors: Vec<Value> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["error"].clone())
        .collect();
    assert_eq!(
        errors[1],
        json!({ "code": "BAD_USER_INPUT", "field": "items.1.email" })
    );
    assert_eq!(
        errors[2],
        json!({ "code": "DUPLICATE_IN_BATCH", "field": "items.2.externalId" })
    );
    assert_eq!(
        errors[3],
        json!({ "code": "BAD_USER_INPUT", "field": "items.3.externalId" })
    );

    let too_many = sync(
        &app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": people("r", 1001) }),
    )
    .await;
    assert_eq!(too_many["userErrors"][0]["code"], "BAD_USER_INPUT");
    assert_eq!(too_many["results"], json!([]));

    // All or nothing: one bad item, and nothing is kept.
    let mut batch = people("s", 3);
    batch[2]["email"] = json!("ook geen adres");
    let refused = sync(
        &app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": batch, "errorPolicy": "ALL_OR_NOTHING" }),
    )
    .await;
    assert_eq!(actions(&refused), ["REJECTED", "REJECTED", "REJECTED"]);
    assert_eq!(refused["results"][0]["error"]["code"], "BATCH_REJECTED");
    let none = app
        .data_as(
            &key,
            "{ participant(externalId: \"s-0\") { fullName } }",
            json!({}),
        )
        .await;
    assert_eq!(none["participant"], Value::Null, "nothing was kept");
}

#[tokio::test]
async fn enrolments_follow_the_booking_rules_and_a_resent_batch_writes_nothing() {
    let app = spawn_app().await;
    let key = source_key(&app, "bzk").await;
    sync(
        &app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": people("m", 3) }),
    )
    .await;
    let session = bookable_session(&app, 2).await;
    let items: Vec<Value> = (0..3)
        .map(|n| {
            json!({ "externalId": format!("e-{n}"), "participantExternalId": format!("m-{n}"),
                    "sessionId": SessionId(session.id).to_global(), "status": "ACTIVE" })
        })
        .collect();
    let booked = sync(&app, &key, SYNC_ENROLMENTS, json!({ "items": items })).await;
    assert_eq!(
        actions(&booked),
        ["CREATED", "CREATED", "CREATED"],
        "{booked}"
    );
    let statuses: Vec<&str> = booked["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["CONFIRMED", "CONFIRMED", "WAITLISTED"],
        "capacity 2"
    );
    assert_eq!(booked["results"][0]["version"], 1);

    let changes = enrolment_change::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    let messages = outbox_event::Entity::find().count(&app.db).await.unwrap();
    let again = sync(&app, &key, SYNC_ENROLMENTS, json!({ "items": items })).await;
    assert_eq!(actions(&again), ["UNCHANGED", "UNCHANGED", "UNCHANGED"]);
    assert_eq!(
        enrolment_change::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        changes
    );
    assert_eq!(
        outbox_event::Entity::find().count(&app.db).await.unwrap(),
        messages
    );

    // Cancelled in the source: the waiting person gets the seat, as with any cancellation.
    let mut cancel = items.clone();
    cancel[0]["status"] = json!("CANCELLED");
    let cancelled = sync(&app, &key, SYNC_ENROLMENTS, json!({ "items": cancel })).await;
    assert_eq!(actions(&cancelled), ["CANCELLED", "UNCHANGED", "UNCHANGED"]);
    assert_eq!(cancelled["results"][0]["version"], 2);
    let promoted = &cancelled["results"][2];
    assert_eq!(promoted["status"], "CONFIRMED", "{cancelled}");
    assert_eq!(promoted["version"], 2);

    // Unknown participants and sessions are refused by item.
    let strangers = sync(
        &app,
        &key,
        SYNC_ENROLMENTS,
        json!({ "items": [
            { "externalId": "e-9", "participantExternalId": "nobody", "sessionId": SessionId(session.id).to_global(), "status": "ACTIVE" },
            { "externalId": "e-8", "participantExternalId": "m-0", "sessionExternalId": "nowhere", "status": "ACTIVE" },
        ] }),
    )
    .await;
    assert_eq!(
        strangers["results"][0]["error"],
        json!({ "code": "NOT_FOUND", "field": "items.0.participantExternalId" })
    );
    assert_eq!(
        strangers["results"][1]["error"],
        json!({ "code": "NOT_FOUND", "field": "items.1.sessionExternalId" })
    );
}

#[tokio::test]
async fn a_dry_run_answers_and_changes_nothing_and_a_key_replays_the_answer() {
    let app = spawn_app().await;
    let key = source_key(&app, "bzk").await;
    let dry = sync(
        &app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": people("d", 2), "dryRun": true }),
    )
    .await;
    assert_eq!(dry["dryRun"], true);
    assert_eq!(actions(&dry), ["CREATED", "CREATED"]);
    let none = app
        .data_as(
            &key,
            "{ participant(externalId: \"d-0\") { fullName } }",
            json!({}),
        )
        .await;
    assert_eq!(none["participant"], Value::Null);

    let input = json!({ "items": people("k", 2), "idempotencyKey": "batch-1" });
    let first = sync(&app, &key, SYNC_PARTICIPANTS, input.clone()).await;
    let replay = sync(&app, &key, SYNC_PARTICIPANTS, input).await;
    assert_eq!(replay["replayed"], true);
    assert_eq!(
        replay["results"], first["results"],
        "the same per-item results"
    );
    assert_eq!(actions(&replay), ["CREATED", "CREATED"]);
}

#[tokio::test]
async fn a_snapshot_cancels_what_it_leaves_out_within_its_guard() {
    let app = spawn_app().await;
    let key = source_key(&app, "bzk").await;
    sync(
        &app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": people("n", 5) }),
    )
    .await;
    let session = bookable_session(&app, 10).await;
    let session_id = SessionId(session.id).to_global();
    let item = |n: usize| {
        json!({ "externalId": format!("en-{n}"), "participantExternalId": format!("n-{n}"),
                "sessionId": session_id, "status": "ACTIVE" })
    };
    sync(
        &app,
        &key,
        SYNC_ENROLMENTS,
        json!({ "items": (0..5).map(item).collect::<Vec<_>>() }),
    )
    .await;

    // Two of five left out is 40%: more than the guard's 20%.
    let snapshot = json!({ "sessionId": session_id });
    let guarded = sync(
        &app,
        &key,
        SYNC_ENROLMENTS,
        json!({ "items": (0..3).map(item).collect::<Vec<_>>(), "snapshot": snapshot }),
    )
    .await;
    assert_eq!(
        guarded["userErrors"][0]["code"], "SNAPSHOT_GUARD",
        "{guarded}"
    );
    let forced = sync(
        &app,
        &key,
        SYNC_ENROLMENTS,
        json!({ "items": (0..3).map(item).collect::<Vec<_>>(),
                "snapshot": { "sessionId": session_id, "force": true } }),
    )
    .await;
    assert_eq!(
        forced["cancelledBySnapshot"].as_array().unwrap().len(),
        2,
        "{forced}"
    );
    assert_eq!(forced["summary"]["cancelled"], 2);
}

/// Every change of a page of the feed, read by `key` from `after` until none is left.
/// Waits until every change committed so far is below the feed's visible end (on PostgreSQL,
/// other tests' transactions on the shared cluster hold that end back a while).
pub async fn settle(app: &TestApp) {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    if app.db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let settled = "SELECT (SELECT coalesce(max(xact), 0) FROM enrolment_changes) \
                   < pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS settled";
    loop {
        let row = app
            .db
            .query_one_raw(Statement::from_string(DbBackend::Postgres, settled))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<bool>("", "settled").unwrap() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the feed never settled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Reads the feed from `after` to its visible end, once every change committed so far is
/// visible.
pub async fn read_settled(app: &TestApp, key: &str, after: Value) -> (Vec<Value>, Value) {
    settle(app).await;
    read_feed(app, key, after).await
}

pub async fn read_feed(app: &TestApp, key: &str, mut after: Value) -> (Vec<Value>, Value) {
    let mut seen = Vec::new();
    loop {
        let page = app
            .data_as(key, CHANGES, json!({ "after": after, "first": 100 }))
            .await;
        let edges = page["enrolmentChanges"]["edges"]
            .as_array()
            .unwrap()
            .clone();
        if let Some(last) = edges.last() {
            after = last["cursor"].clone();
        }
        seen.extend(edges.into_iter().map(|e| e["node"].clone()));
        if page["enrolmentChanges"]["pageInfo"]["hasNextPage"] != true {
            return (seen, after);
        }
    }
}

#[tokio::test]
async fn the_feed_gives_each_change_once_with_rising_versions_within_the_sources_scope() {
    let app = spawn_app().await;
    let bzk = source_key(&app, "bzk").await;
    let other = source_key(&app, "gemeente-x").await;
    sync(
        &app,
        &bzk,
        SYNC_PARTICIPANTS,
        json!({ "items": people("f", 2) }),
    )
    .await;
    sync(
        &app,
        &other,
        SYNC_PARTICIPANTS,
        json!({ "items": people("g", 1) }),
    )
    .await;
    let session = bookable_session(&app, 1).await;
    let session_id = SessionId(session.id).to_global();
    sync(
        &app,
        &bzk,
        SYNC_ENROLMENTS,
        json!({ "items": [
            { "externalId": "fe-0", "participantExternalId": "f-0", "sessionId": session_id, "status": "ACTIVE" },
            { "externalId": "fe-1", "participantExternalId": "f-1", "sessionId": session_id, "status": "ACTIVE" },
        ] }),
    )
    .await;
    sync(
        &app,
        &other,
        SYNC_ENROLMENTS,
        json!({ "items": [{ "externalId": "ge-0", "participantExternalId": "g-0", "sessionId": session_id, "status": "ACTIVE" }] }),
    )
    .await;
    sync(
        &app,
        &bzk,
        SYNC_ENROLMENTS,
        json!({ "items": [{ "externalId": "fe-0", "participantExternalId": "f-0", "sessionId": session_id, "status": "CANCELLED" }] }),
    )
    .await;

    let (mine, cursor) = read_settled(&app, &bzk, Value::Null).await;
    let kinds: Vec<(String, i64)> = mine
        .iter()
        .map(|c| {
            (
                c["change"].as_str().unwrap().to_owned(),
                c["version"].as_i64().unwrap(),
            )
        })
        .collect();
    // f-0 booked and cancelled; f-1 waitlisted, then promoted.
    assert_eq!(
        kinds,
        [
            ("BOOKED".to_owned(), 1),
            ("WAITLISTED".to_owned(), 1),
            ("CANCELLED".to_owned(), 2),
            ("PROMOTED".to_owned(), 2)
        ],
        "{mine:?}"
    );
    assert!(
        mine.iter()
            .all(|c| c["enrolment"]["id"] == c["enrolmentId"])
    );
    let (theirs, _) = read_settled(&app, &other, Value::Null).await;
    assert_eq!(
        theirs.len(),
        1,
        "the other source sees its own participant only"
    );

    // Nothing new: an empty page, not an error. A later change comes after the cursor.
    let (nothing, same) = read_settled(&app, &bzk, cursor.clone()).await;
    assert!(nothing.is_empty());
    assert_eq!(same, cursor);

    let admin = app.token(Role::Administrator);
    let (all, _) = read_settled(&app, &admin, Value::Null).await;
    assert_eq!(all.len(), 5);
}

#[tokio::test]
async fn a_cursor_of_another_epoch_must_resync_and_garbage_is_an_invalid_cursor() {
    let app = spawn_app().await;
    let admin = app.token(Role::Administrator);
    let session = bookable_session(&app, 5).await;
    crate::booking::book_self(&app, &session, insert_participant(&app.db).await.id).await;
    let (_, cursor) = read_settled(&app, &admin, Value::Null).await;
    assert!(cursor.is_string());

    api::sync::feed::new_epoch(&app.db, chrono::Utc::now())
        .await
        .unwrap();
    let stale = app
        .graphql_as(&admin, CHANGES, json!({ "after": cursor, "first": 10 }))
        .await;
    assert_eq!(error_code(&stale), "MUST_RESYNC");

    let garbage = app
        .graphql_as(
            &admin,
            CHANGES,
            json!({ "after": "bm9uc2Vuc2U", "first": 10 }),
        )
        .await;
    assert_eq!(error_code(&garbage), "INVALID_CURSOR");

    let participant = app
        .graphql_as(&app.token(Role::Participant), CHANGES, json!({}))
        .await;
    assert_eq!(error_code(&participant), "FORBIDDEN", "{participant}");
}

#[tokio::test]
async fn a_snapshot_and_the_feed_from_its_cursor_equal_the_live_state() {
    let app = spawn_app().await;
    let key = source_key(&app, "bzk").await;
    sync(
        &app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": people("h", 3) }),
    )
    .await;
    let session = bookable_session(&app, 5).await;
    let session_id = SessionId(session.id).to_global();
    let item = |n: usize, status: &str| {
        json!({ "externalId": format!("he-{n}"), "participantExternalId": format!("h-{n}"),
                "sessionId": session_id, "status": status })
    };
    sync(
        &app,
        &key,
        SYNC_ENROLMENTS,
        json!({ "items": [item(0, "ACTIVE"), item(1, "ACTIVE")] }),
    )
    .await;

    let snapshot = app
        .data_as(
            &key,
            "{ enrolmentSnapshot(first: 100) { feedCursor edges { node { id status version externalId } } } }",
            json!({}),
        )
        .await;
    let mut state: std::collections::HashMap<String, (String, i64)> = snapshot["enrolmentSnapshot"]
        ["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                n["id"].as_str().unwrap().to_owned(),
                (
                    n["status"].as_str().unwrap().to_owned(),
                    n["version"].as_i64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(state.len(), 2);

    // Changes after the snapshot, then the feed from its cursor applied by version.
    sync(
        &app,
        &key,
        SYNC_ENROLMENTS,
        json!({ "items": [item(0, "CANCELLED"), item(1, "ACTIVE"), item(2, "ACTIVE")] }),
    )
    .await;
    let (changes, _) = read_settled(
        &app,
        &key,
        snapshot["enrolmentSnapshot"]["feedCursor"].clone(),
    )
    .await;
    for change in changes {
        let id = change["enrolmentId"].as_str().unwrap().to_owned();
        let version = change["version"].as_i64().unwrap();
        let entry = state.entry(id).or_insert((String::new(), 0));
        if version > entry.1 {
            *entry = (change["status"].as_str().unwrap().to_owned(), version);
        }
    }
    let live: std::collections::HashMap<String, (String, i64)> = entity::enrolment::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                EnrolmentId(e.id).to_global(),
                (
                    format!("{:?}", e.status).to_uppercase(),
                    i64::from(e.version),
                ),
            )
        })
        .collect();
    assert_eq!(state, live);
}

#[tokio::test]
async fn a_resent_batch_of_a_thousand_writes_nothing() {
    let app = spawn_app().await;
    let key = source_key(&app, "bzk").await;
    let people = people("t", 1000);
    let created = sync(
        &app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": people, "errorPolicy": "ALL_OR_NOTHING" }),
    )
    .await;
    assert_eq!(
        created["summary"]["created"], 1000,
        "{}",
        created["summary"]
    );
    let course = app.brochure_course().await;
    let mut sessions = Vec::new();
    for n in 0..100 {
        let starts = chrono::Utc::now() + chrono::Duration::days(10 + n);
        sessions.push(
            SessionId(
                insert_session(&app.db, course.id, None, starts, 10)
                    .await
                    .id,
            )
            .to_global(),
        );
    }
    let items: Vec<Value> = (0..1000)
        .map(|n| {
            json!({ "externalId": format!("te-{n}"), "participantExternalId": format!("t-{n}"),
                    "sessionId": sessions[n / 10], "status": "ACTIVE" })
        })
        .collect();
    let booked = sync(
        &app,
        &key,
        SYNC_ENROLMENTS,
        json!({ "items": items, "errorPolicy": "ALL_OR_NOTHING" }),
    )
    .await;
    assert_eq!(booked["summary"]["created"], 1000, "{}", booked["summary"]);

    let changes = enrolment_change::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    let messages = outbox_event::Entity::find().count(&app.db).await.unwrap();
    let audited = entity::audit_event::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    for (mutation, input) in [
        (SYNC_PARTICIPANTS, json!({ "items": people })),
        (SYNC_ENROLMENTS, json!({ "items": items })),
    ] {
        let again = sync(&app, &key, mutation, input).await;
        assert_eq!(again["summary"]["unchanged"], 1000, "{}", again["summary"]);
    }
    assert_eq!(
        enrolment_change::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        changes,
        "no feed event"
    );
    assert_eq!(
        outbox_event::Entity::find().count(&app.db).await.unwrap(),
        messages,
        "no message"
    );
    assert_eq!(
        entity::audit_event::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        audited,
        "no audit noise"
    );
}

/// The integrators' example in the README (`examples/sync/sync_client.py`) keeps its copy in
/// step: a snapshot, then the feed, then a fresh start after a restore.
#[tokio::test]
async fn the_example_client_follows_the_snapshot_the_feed_and_a_new_epoch() {
    let app = spawn_app().await;
    let key = source_key(&app, "bzk").await;
    sync(
        &app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": people("x", 3) }),
    )
    .await;
    let session = bookable_session(&app, 5).await;
    let session_id = SessionId(session.id).to_global();
    let item = |n: usize, status: &str| {
        json!({ "externalId": format!("xe-{n}"), "participantExternalId": format!("x-{n}"),
                "sessionId": session_id, "status": status })
    };
    sync(
        &app,
        &key,
        SYNC_ENROLMENTS,
        json!({ "items": [item(0, "ACTIVE"), item(1, "ACTIVE")] }),
    )
    .await;
    let state = tempfile::tempdir().unwrap();
    let state_file = state.path().join("bzk.json");
    // The client runs beside this test's runtime, which the service's tasks need.
    let run = || {
        let mut command = std::process::Command::new("python3");
        command
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples/sync/sync_client.py"
            ))
            .args(["--url", &app.url("/graphql"), "--once", "--state"])
            .arg(&state_file)
            .env("TRAINING_API_KEY", &key);
        async move {
            let output = tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
            (
                (
                    summary["enrolments"].as_i64().unwrap(),
                    summary["active"].as_i64().unwrap(),
                ),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        }
    };

    assert_eq!(run().await.0, (2, 2), "from the snapshot");
    sync(
        &app,
        &key,
        SYNC_ENROLMENTS,
        json!({ "items": [item(0, "CANCELLED"), item(2, "ACTIVE")] }),
    )
    .await;
    settle(&app).await;
    assert_eq!(run().await.0, (3, 2), "from the feed");
    api::sync::feed::new_epoch(&app.db, chrono::Utc::now())
        .await
        .unwrap();
    let (after_restore, said) = run().await;
    assert_eq!(after_restore, (3, 2), "from a fresh snapshot");
    assert!(said.contains("fresh start"), "{said}");
}

const LINK: &str = "mutation($id: ID!, $externalId: String) {
    linkExternalId(input: { id: $id, externalId: $externalId }) { externalId userErrors { code field } } }";

/// A source names sessions by its own ids once it has linked them: sync batches then book by
/// `sessionExternalId`. Links are the source's own, one per record, and shown only to those who
/// sync or plan.
#[tokio::test]
async fn a_source_links_its_ids_to_sessions_and_books_by_them() {
    let app = spawn_app().await;
    let key = source_key(&app, "bzk").await;
    let other = source_key(&app, "gemeente-x").await;
    let session = bookable_session(&app, 5).await;
    let second = bookable_session(&app, 5).await;
    let (session_id, second_id) = (
        SessionId(session.id).to_global(),
        SessionId(second.id).to_global(),
    );
    sync(
        &app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": people("k", 1) }),
    )
    .await;

    let linked = app
        .data_as(
            &key,
            LINK,
            json!({ "id": session_id, "externalId": "klas-1" }),
        )
        .await;
    assert_eq!(linked["linkExternalId"]["externalId"], "klas-1", "{linked}");
    let booked = sync(
        &app,
        &key,
        SYNC_ENROLMENTS,
        json!({ "items": [{ "externalId": "ke-0", "participantExternalId": "k-0",
                            "sessionExternalId": "klas-1", "status": "ACTIVE" }] }),
    )
    .await;
    assert_eq!(booked["results"][0]["action"], "CREATED", "{booked}");

    let taken = app
        .data_as(
            &key,
            LINK,
            json!({ "id": second_id, "externalId": "klas-1" }),
        )
        .await;
    assert_eq!(taken["linkExternalId"]["userErrors"][0]["code"], "CONFLICT");
    let theirs = app
        .data_as(
            &other,
            LINK,
            json!({ "id": second_id, "externalId": "klas-1" }),
        )
        .await;
    assert!(
        theirs["linkExternalId"]["userErrors"]
            .as_array()
            .unwrap()
            .is_empty(),
        "another source's ids are its own"
    );
    assert_eq!(linked_id(&app, Some(&key), &session_id).await, "klas-1");
    assert_eq!(
        linked_id(&app, Some(&other), &session_id).await,
        Value::Null,
        "not linked in that source"
    );
    assert_eq!(
        linked_id(&app, None, &session_id).await,
        Value::Null,
        "anonymous callers see no source's ids"
    );
    let person = insert_participant(&app.db).await;
    let refused = app
        .graphql_as(
            &app.participant_token(person.id),
            LINK,
            json!({ "id": session_id, "externalId": "x" }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let wrong = app
        .data_as(
            &key,
            LINK,
            json!({ "id": EnrolmentId(uuid::Uuid::new_v4()).to_global(), "externalId": "x" }),
        )
        .await;
    assert_eq!(
        wrong["linkExternalId"]["userErrors"][0]["code"],
        "INVALID_ID"
    );

    let unlinked = app
        .data_as(&key, LINK, json!({ "id": session_id, "externalId": null }))
        .await;
    assert_eq!(unlinked["linkExternalId"]["externalId"], Value::Null);
    assert_eq!(linked_id(&app, Some(&key), &session_id).await, Value::Null);
}

async fn linked_id(app: &TestApp, token: Option<&str>, session_id: &str) -> Value {
    let read = "query($id: ID!) { node(id: $id) { ... on Session { externalId } } }";
    let body = match token {
        Some(token) => app.data_as(token, read, json!({ "id": session_id })).await,
        None => app.data(read, json!({ "id": session_id })).await,
    };
    body["node"]["externalId"].clone()
}

#[tokio::test]
async fn a_sources_key_books_and_cancels_only_the_people_its_source_knows() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let key = source_key(&app, "bzk").await;
    let staff = app.token(Role::Coordinator);
    let book = |participant: String| json!({ "input": { "sessionId": global_session(&session), "participantId": participant } });
    let errors = |payload: &Value| payload["userErrors"].clone();

    // Someone the source does not know, booked by staff; and someone else it does not know.
    let outsider = insert_participant(&app.db).await;
    let booked = app
        .data_as(&staff, BOOK, book(ParticipantId(outsider.id).to_global()))
        .await;
    let theirs = booked["bookSeat"]["enrolment"]["id"].clone();
    assert!(theirs.is_string(), "{booked}");
    let other = insert_participant(&app.db).await;

    // For the key they do not exist: the same answer as for nobody at all.
    let nobody = app
        .data_as(
            &key,
            BOOK,
            book(ParticipantId(uuid::Uuid::new_v4()).to_global()),
        )
        .await;
    let unknown = errors(&nobody["bookSeat"]);
    assert_eq!(unknown[0]["code"], "NOT_FOUND", "{nobody}");
    for participant in [&other, &outsider] {
        let refused = app
            .data_as(&key, BOOK, book(ParticipantId(participant.id).to_global()))
            .await;
        assert_eq!(errors(&refused["bookSeat"]), unknown, "{refused}");
    }
    let cancel = |enrolment: Value| json!({ "input": { "enrolmentId": enrolment, "reason": "afgemeld door het ministerie" } });
    let no_enrolment = app
        .data_as(
            &key,
            CANCEL,
            cancel(json!(EnrolmentId(uuid::Uuid::new_v4()).to_global())),
        )
        .await;
    let not_theirs = app.data_as(&key, CANCEL, cancel(theirs.clone())).await;
    assert_eq!(
        errors(&no_enrolment["cancelEnrolment"])[0]["code"],
        "NOT_FOUND"
    );
    assert_eq!(
        errors(&not_theirs["cancelEnrolment"]),
        errors(&no_enrolment["cancelEnrolment"]),
        "{not_theirs}"
    );
    let still = app
        .data_as(
            &staff,
            "query($id: ID!) { node(id: $id) { ... on Enrolment { status } } }",
            json!({ "id": theirs }),
        )
        .await;
    assert_eq!(
        still["node"]["status"], "CONFIRMED",
        "nothing was cancelled"
    );

    // Someone the source knows is booked and cancelled by its key as before.
    let known = sync(
        &app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": people("bzk", 1) }),
    )
    .await;
    let insider = known["results"][0]["participantId"]
        .as_str()
        .unwrap()
        .to_owned();
    let made = app.data_as(&key, BOOK, book(insider)).await;
    assert_eq!(made["bookSeat"]["status"], "CONFIRMED", "{made}");
    let cancelled = app
        .data_as(
            &key,
            CANCEL,
            cancel(made["bookSeat"]["enrolment"]["id"].clone()),
        )
        .await;
    assert_eq!(
        errors(&cancelled["cancelEnrolment"]),
        json!([]),
        "{cancelled}"
    );
}

#[tokio::test]
async fn a_sources_key_does_not_take_over_someone_another_source_keeps() {
    let app = spawn_app().await;
    let theirs = source_key(&app, "other").await;
    let ours = source_key(&app, "bzk").await;
    let kept = sync(
        &app,
        &theirs,
        SYNC_PARTICIPANTS,
        json!({ "items": people("andere", 1) }),
    )
    .await;
    let id = kept["results"][0]["participantId"].clone();

    // The same address under our own id: refused, dry run or not, and nothing changes.
    let mut same_person = people("bzk", 1);
    same_person[0]["email"] = json!("andere-0@example.invalid");
    same_person[0]["fullName"] = json!("Een andere naam");
    for dry_run in [true, false] {
        let answer = sync(
            &app,
            &ours,
            SYNC_PARTICIPANTS,
            json!({ "items": same_person, "dryRun": dry_run }),
        )
        .await;
        let result = &answer["results"][0];
        assert_eq!(result["action"], "REJECTED", "{answer}");
        assert_eq!(result["error"]["code"], "CONFLICT", "{answer}");
        assert_eq!(result["error"]["field"], "items.0.email", "{answer}");
        assert!(result["participantId"].is_null(), "{answer}");
    }
    let admin = app.token(Role::Administrator);
    let still = app
        .data_as(
            &admin,
            "query($id: ID!) { node(id: $id) { ... on Participant { fullName } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(still["node"]["fullName"], "Testpersoon andere 0", "{still}");

    // Someone only the institute knows (booked by staff) is still adopted by address.
    let staff = app.token(Role::Coordinator);
    let session = bookable_session(&app, 10).await;
    let booked = app
        .data_as(
            &staff,
            BOOK,
            json!({ "input": { "sessionId": global_session(&session), "newParticipant": {
                "fullName": "Testpersoon balie", "email": "balie@example.invalid", "role": "MAYOR" } } }),
        )
        .await;
    assert_eq!(booked["bookSeat"]["status"], "CONFIRMED", "{booked}");
    let mut walked_in = people("bzk-balie", 1);
    walked_in[0]["email"] = json!("balie@example.invalid");
    let adopted = sync(
        &app,
        &ours,
        SYNC_PARTICIPANTS,
        json!({ "items": walked_in }),
    )
    .await;
    assert_eq!(adopted["results"][0]["action"], "UPDATED", "{adopted}");
}
