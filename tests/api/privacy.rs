//! Erasure: a participant who booked and made a calendar link is erased by an administrator;
//! afterwards nothing answers with their name, address or token subject, the database holds
//! none of them, their seat to come is freed, the feed says ERASED, and a token that still
//! carries their id finds no one.

use api::auth::Role;
use api::domain::ids::{ParticipantId, SessionId};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::booking::{BOOK, bookable_session};
use crate::helpers::*;

const ERASE: &str = "mutation($input: EraseParticipantInput!) { eraseParticipant(input: $input) {
    participantId userErrors { code field } } }";

const PERSON: &str = "query($id: ID!) { node(id: $id) { ... on Participant {
    fullName email phone erasedAt municipality { cbsCode } } } }";

#[tokio::test]
async fn an_erased_participant_is_nowhere_but_their_anonymous_seat() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let person = insert_participant(&app.db).await;
    let subject = format!("participant-{}", person.id);
    let own = app.participant_token(person.id);
    let session_id = SessionId(session.id).to_global();
    let booked = app
        .data_as(&own, BOOK, json!({ "input": { "sessionId": session_id } }))
        .await;
    assert_eq!(booked["bookSeat"]["status"], "CONFIRMED", "{booked}");
    let link = app
        .data_as(
            &own,
            "mutation { createCalendarLink(input: {}) { url userErrors { code } } }",
            json!({}),
        )
        .await;
    let url = link["createCalendarLink"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = dump_database(&app).await;
    assert!(before.contains(&person.email) && before.contains(&subject));

    let admin = app.token(Role::Administrator);
    let id = ParticipantId(person.id).to_global();
    let input = json!({ "input": { "participantId": id, "reason": "verzoek per brief" } });
    let erased = app.data_as(&admin, ERASE, input.clone()).await;
    assert_eq!(
        erased["eraseParticipant"]["userErrors"],
        json!([]),
        "{erased}"
    );
    assert_eq!(erased["eraseParticipant"]["participantId"], id);

    let again = app.data_as(&admin, ERASE, input).await;
    assert_eq!(
        again["eraseParticipant"]["userErrors"][0]["code"],
        "ALREADY_ERASED"
    );

    let shown = app.data_as(&admin, PERSON, json!({ "id": id })).await;
    assert_eq!(shown["node"]["fullName"], "Verwijderde deelnemer");
    assert_eq!(shown["node"]["email"], Value::Null);
    assert_eq!(shown["node"]["phone"], Value::Null);
    assert_ne!(shown["node"]["erasedAt"], Value::Null);

    let after = dump_database(&app).await;
    for secret in [&person.full_name, &person.email, &subject] {
        assert!(!after.contains(secret.as_str()), "{secret} is still stored");
    }
    // Their seat to come is free again; the enrolment stays, anonymous.
    let seats = app
        .data(
            "query($id: ID!) { node(id: $id) { ... on Session { seatsLeft } } }",
            json!({ "id": session_id }),
        )
        .await;
    assert_eq!(seats["node"]["seatsLeft"], 10);
    assert!(after.contains("ERASED"));

    // A token that still carries their id names no one and books nothing.
    let me = app.data_as(&own, "{ me { id } }", json!({})).await;
    assert_eq!(me["me"], Value::Null);
    let rebook = app
        .data_as(&own, BOOK, json!({ "input": { "sessionId": session_id } }))
        .await;
    assert_eq!(rebook["bookSeat"]["userErrors"][0]["code"], "NOT_FOUND");
    // Their calendar feed is gone.
    let feed = app.client.get(&url).send().await.unwrap();
    assert_eq!(feed.status(), 404);
}

#[tokio::test]
async fn only_administrators_erase_and_unknown_people_get_a_code() {
    let app = spawn_app().await;
    let person = insert_participant(&app.db).await;
    let id = ParticipantId(person.id).to_global();
    let input = json!({ "input": { "participantId": id, "reason": "verzoek" } });
    let coordinator = app.token(Role::Coordinator);
    let refused = app.graphql_as(&coordinator, ERASE, input).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");

    let admin = app.token(Role::Administrator);
    let unknown = ParticipantId(uuid::Uuid::new_v4()).to_global();
    let answer = app
        .data_as(
            &admin,
            ERASE,
            json!({ "input": { "participantId": unknown, "reason": "verzoek" } }),
        )
        .await;
    assert_eq!(
        answer["eraseParticipant"]["userErrors"][0]["code"],
        "NOT_FOUND"
    );
    let no_reason = app
        .data_as(
            &admin,
            ERASE,
            json!({ "input": { "participantId": id, "reason": " " } }),
        )
        .await;
    assert_eq!(
        no_reason["eraseParticipant"]["userErrors"][0]["field"],
        "input.reason"
    );
}

#[tokio::test]
async fn the_stored_messages_of_an_erased_participant_are_removed() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().to_owned();
    let app = spawn_app_with(|settings| {
        let messages = &mut settings.messages;
        messages.dispatch = true;
        messages.smtp_host = None;
        messages.mail_outbox_dir = Some(dir.clone());
        messages.poll_ms = 50;
        messages.schedule_every_seconds = 1;
    })
    .await;
    let session = bookable_session(&app, 10).await;
    let person = insert_participant(&app.db).await;
    let own = app.participant_token(person.id);
    let session_id = SessionId(session.id).to_global();
    app.data_as(&own, BOOK, json!({ "input": { "sessionId": session_id } }))
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !stored_messages(&dir).contains(&person.email) {
        assert!(
            std::time::Instant::now() < deadline,
            "no confirmation was written"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let admin = app.token(Role::Administrator);
    let id = ParticipantId(person.id).to_global();
    let input = json!({ "input": { "participantId": id, "reason": "verzoek per brief" } });
    app.data_as(&admin, ERASE, input).await;

    while stored_messages(&dir).contains(&person.email) {
        assert!(
            std::time::Instant::now() < deadline,
            "the erased participant's message is still stored"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The erasure is on the audit trail with its reason.
    let trail = app
        .data_as(
            &admin,
            "{ auditEvents(first: 5, filter: { recordType: \"Participant\" }) {
                edges { node { action details } } } }",
            json!({}),
        )
        .await;
    let erasure = &trail["auditEvents"]["edges"][0]["node"];
    assert_eq!(erasure["action"], "eraseParticipant", "{trail}");
    assert_eq!(erasure["details"]["reason"], "verzoek per brief");
}

const EXPORT: &str = "query($id: ID) { participantDataExport(participantId: $id) }";

#[tokio::test]
async fn a_participant_exports_their_own_data_and_nobody_elses() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let session_id = SessionId(session.id).to_global();
    let (one, other) = (
        insert_participant(&app.db).await,
        insert_participant(&app.db).await,
    );
    for person in [&one, &other] {
        let token = app.participant_token(person.id);
        app.data_as(
            &token,
            BOOK,
            json!({ "input": { "sessionId": session_id } }),
        )
        .await;
    }
    // Staff read the participant: an audit event about them, by a subject the export must
    // not name.
    let admin = app.token(Role::Administrator);
    let one_id = ParticipantId(one.id).to_global();
    app.data_as(&admin, PERSON, json!({ "id": one_id })).await;

    let own = app.participant_token(one.id);
    let export = app.data_as(&own, EXPORT, json!({})).await["participantDataExport"].clone();
    let text = export.to_string();
    assert_eq!(export["participant"]["email"], one.email.as_str());
    assert_eq!(
        export["enrolments"].as_array().unwrap().len(),
        1,
        "{export}"
    );
    assert_eq!(export["enrolments"][0]["status"], "CONFIRMED");
    assert_eq!(export["enrolments"][0]["history"][0]["change"], "BOOKED");
    assert!(
        export["auditEvents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "read" && e["byRole"] == "Administrator"),
        "{export}"
    );
    for foreign in [
        other.email.as_str(),
        other.full_name.as_str(),
        &other.id.to_string(),
        "test-subject",
    ] {
        assert!(!text.contains(foreign), "{foreign} in {text}");
    }

    // Someone else's, as a participant: refused. Staff other than administrators: refused.
    let other_id = ParticipantId(other.id).to_global();
    let refused = app
        .graphql_as(&own, EXPORT, json!({ "id": other_id }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let coordinator = app.token(Role::Coordinator);
    let refused = app
        .graphql_as(&coordinator, EXPORT, json!({ "id": other_id }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let anonymous = app.graphql(EXPORT, json!({})).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    let unnamed = app.graphql_as(&admin, EXPORT, json!({})).await;
    assert_eq!(error_code(&unnamed), "BAD_USER_INPUT", "{unnamed}");

    // An administrator exports for a request received by post; it is on the audit trail.
    let by_post = app.data_as(&admin, EXPORT, json!({ "id": other_id })).await;
    assert_eq!(
        by_post["participantDataExport"]["participant"]["email"],
        other.email.as_str()
    );
    let trail = app
        .data_as(
            &admin,
            "{ auditEvents(first: 10, filter: { recordType: \"Participant\" }) {
                edges { node { action } } } }",
            json!({}),
        )
        .await;
    let exports = trail["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["action"] == "participantDataExport")
        .count();
    assert_eq!(exports, 2, "{trail}");
}

/// Runs `training privacy reapply-erasures` against `database_url`.
fn reapply(database_url: &str, log: &std::path::Path, data_dir: &std::path::Path) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_training"))
        .args(["privacy", "reapply-erasures"])
        .env("DATABASE_URL", database_url)
        .env("ERASURE_LOG", log)
        .env("DATA_DIR", data_dir)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn an_erasure_is_applied_again_to_a_restored_backup() {
    let folder = tempfile::tempdir().unwrap();
    let log = folder.path().join("erasures.jsonl");
    let app = spawn_app_with(|settings| settings.erasure_log = Some(log.clone())).await;
    let session = bookable_session(&app, 10).await;
    let person = insert_participant(&app.db).await;
    let own = app.participant_token(person.id);
    let session_id = SessionId(session.id).to_global();
    app.data_as(&own, BOOK, json!({ "input": { "sessionId": session_id } }))
        .await;
    // The backup, taken before the erasure.
    let backup = app.database.backup(&app.db).await;

    let admin = app.token(Role::Administrator);
    let id = ParticipantId(person.id).to_global();
    let input = json!({ "input": { "participantId": id, "reason": "verzoek per brief" } });
    app.data_as(&admin, ERASE, input).await;
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().count(), 1);
    assert!(logged.contains(&person.id.to_string()) && !logged.contains(&person.email));

    // Restored from the backup, the person is back; the log erases them again, once.
    let restored = backup.url();
    let first = reapply(restored, &log, folder.path());
    assert!(
        first.starts_with("1 erased again, 0 erased already"),
        "{first}"
    );
    let db = sea_orm::Database::connect(restored).await.unwrap();
    let back = entity::participant::Entity::find_by_id(person.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.full_name, "Verwijderde deelnemer");
    assert!(back.erased_at.is_some() && back.email != person.email);
    db.close().await.unwrap();
    let second = reapply(restored, &log, folder.path());
    assert!(
        second.starts_with("0 erased again, 1 erased already"),
        "{second}"
    );
}
