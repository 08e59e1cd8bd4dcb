//! An erased participant is found nowhere. They were synced by a ministry, booked a seat
//! themselves and were enrolled by the sync, attended a session, gave feedback, made a calendar
//! link and were sent messages; a webhook receiver heard of all of it. After the erasure their
//! name, e-mail address and token subject are in no GraphQL answer (their node, staff lists,
//! the feed and the snapshot, the export, the audit trail), no webhook payload, no stored
//! message, no row of any table, not the erasure log and not the service's own log, written at
//! debug level from the start. The alumni count and the report's totals do not change.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use api::{
    auth::Role,
    domain::ids::{ParticipantId, SessionId},
};
use chrono::{Datelike, Utc};
use entity::{enums::EnrolmentStatus, enums::MachineRole, participant};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    booking::BOOK,
    helpers::*,
    sync::{SYNC_ENROLMENTS, SYNC_PARTICIPANTS, people, source_key, sync},
    webhooks::{CREATE, Receiver},
};

/// Everything the service logs in this test's process, at debug level.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture() -> Self {
        let logs = Self::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("this test's process logs to the capture");
        logs
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

async fn eventually(what: &str, test: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !test() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const WHAT_STAFF_SEE: &str = "query($person: ID!, $sessions: [ID!]!) {
    node(id: $person) { ... on Participant { fullName email phone externalId
        enrolments { status history { byRole reason } } } }
    nodes(ids: $sessions) { ... on Session { enrolments {
        participant { fullName email } history { byRole reason } } } }
    auditEvents(first: 100) { edges { node { actor action recordIds details } } }
    outboxEvents(first: 100) { edges { node { topic lastError } } }
    feedbackAwaitingModeration(first: 50) { edges { node { comment } } }
}";

const WHAT_SOURCES_SEE: &str = "{
    enrolmentChanges(first: 100) { edges { node { change
        enrolment { externalId participant { fullName email externalId } } } } }
    enrolmentSnapshot(first: 100) { edges { node { participant { fullName email } } } }
    participant(externalId: \"vergeten-0\") { id }
}";

#[tokio::test]
async fn an_erased_participant_is_found_nowhere() {
    let logs = Logs::capture();
    let folder = tempfile::tempdir().unwrap();
    let outbox = folder.path().join("outbox");
    let erasure_log = folder.path().join("erasures.jsonl");
    let app = spawn_app_with(|settings| {
        let messages = &mut settings.messages;
        messages.dispatch = true;
        messages.smtp_host = None;
        messages.mail_outbox_dir = Some(outbox.clone());
        messages.poll_ms = 50;
        messages.schedule_every_seconds = 1;
        settings.webhooks.webhook_allowed_hosts = vec!["127.0.0.1".into()];
        settings.webhooks.webhook_retry_base_ms = 100;
        settings.auth.data_dir = folder.path().to_owned();
        settings.erasure_log = Some(erasure_log.clone());
    })
    .await;
    let admin = app.token(Role::Administrator);
    let coordinator = app.token(Role::Coordinator);

    // A ministry's source system, with a webhook receiver.
    let receiver = Receiver::start(0, 204);
    let created = app
        .data_as(
            &admin,
            CREATE,
            json!({ "input": { "url": receiver.url(), "source": "bzk" } }),
        )
        .await;
    let secret = created["createWebhookEndpoint"]["secret"].as_str().unwrap();
    std::fs::write(&receiver.secret_file, secret).unwrap();
    let key = source_key(&app, "bzk").await;
    let synced = sync(
        &app,
        &key,
        SYNC_PARTICIPANTS,
        json!({ "items": people("vergeten", 1) }),
    )
    .await;
    assert_eq!(synced["summary"]["created"], 1, "{synced}");
    let person = participant::Entity::find()
        .filter(participant::Column::Email.eq("vergeten-0@example.invalid"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let subject = format!("participant-{}", person.id);
    let own = app.participant_token(person.id);
    let secrets = [
        person.full_name.clone(),
        person.email.clone(),
        subject.clone(),
    ];

    // They attended a session three days ago, with five others, and gave feedback on it.
    let course = app.brochure_course().await;
    let past = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() - chrono::Duration::days(3),
        10,
    )
    .await;
    insert_enrolment(&app.db, past.id, person.id, EnrolmentStatus::Attended).await;
    for _ in 0..5 {
        let other = insert_participant(&app.db).await;
        insert_enrolment(&app.db, past.id, other.id, EnrolmentStatus::Attended).await;
    }
    let past_id = SessionId(past.id).to_global();
    let feedback = app
        .data_as(
            &own,
            "mutation($input: GiveFeedbackInput!) { giveFeedback(input: $input) { userErrors { code } } }",
            json!({ "input": { "sessionId": past_id, "overallRating": 4,
                               "comment": "Heel nuttig; ik herkende veel.", "consentToPublish": true } }),
        )
        .await;
    assert_eq!(
        feedback["giveFeedback"]["userErrors"],
        json!([]),
        "{feedback}"
    );

    // They booked a seat themselves, the ministry enrolled them in another, and they made a
    // calendar link.
    let session_elsewhere = |theme: &'static str| {
        let app = &app;
        async move {
            let published = entity::enums::CourseStatus::Published;
            let other = insert_course(&app.db, course.provider_id, published, theme).await;
            let starts = Utc::now() + chrono::Duration::days(9);
            SessionId(insert_session(&app.db, other.id, None, starts, 10).await.id).to_global()
        }
    };
    let booked_id = session_elsewhere("Geboekt").await;
    let booked = app
        .data_as(&own, BOOK, json!({ "input": { "sessionId": booked_id } }))
        .await;
    assert_eq!(booked["bookSeat"]["status"], "CONFIRMED", "{booked}");
    let synced_id = session_elsewhere("Gesynchroniseerd").await;
    let enrolled = sync(
        &app,
        &key,
        SYNC_ENROLMENTS,
        json!({ "items": [{ "externalId": "vergeten-e0", "participantExternalId": "vergeten-0",
                            "sessionId": synced_id, "status": "ACTIVE" }] }),
    )
    .await;
    assert_eq!(enrolled["results"][0]["error"], Value::Null, "{enrolled}");
    let link = app
        .data_as(
            &own,
            "mutation { createCalendarLink(input: {}) { url } }",
            json!({}),
        )
        .await;
    assert!(link["createCalendarLink"]["url"].is_string(), "{link}");
    eventually("no confirmation was written", || {
        stored_messages(&outbox).contains(&person.email)
    })
    .await;
    receiver
        .wait_for(|got| {
            got.iter()
                .any(|g| g["body"].as_str().unwrap_or("").contains("BOOKED"))
        })
        .await;
    // Staff read their data, so the audit trail holds reads of it.
    let sessions = json!([past_id, booked_id, synced_id]);
    let variables = json!({ "person": ParticipantId(person.id).to_global(), "sessions": sessions });
    let before = app.data_as(&admin, WHAT_STAFF_SEE, variables.clone()).await;
    assert!(before.to_string().contains(&person.email), "{before}");

    let alumni = "query($id: ID!) { course(id: $id) { alumniCount } }";
    let course_id = api::domain::ids::CourseId(course.id).to_global();
    let (_, reporting) =
        api::db::api_key::create_api_key(&app.db, "Dashboard", MachineRole::ReportingClient)
            .await
            .unwrap();
    let year = past.ends_at.year();
    let report = json!({ "input": { "measure": "ALUMNI", "dimensions": [],
        "period": { "unit": "YEAR", "from": format!("{year}-01-01"), "to": format!("{year}-12-31") } } });
    let totals = "query($input: ReportInput!) { report(input: $input) { cells { value status } } }";
    let alumni_before = app.data(alumni, json!({ "id": course_id })).await;
    let report_before = app.data_as(&reporting, totals, report.clone()).await;
    assert_eq!(
        report_before["report"]["cells"][0]["value"], 6.0,
        "{report_before}"
    );

    let erased = app
        .data_as(
            &admin,
            "mutation($input: EraseParticipantInput!) { eraseParticipant(input: $input) { userErrors { code } } }",
            json!({ "input": { "participantId": ParticipantId(person.id).to_global(),
                               "reason": "verzoek per brief" } }),
        )
        .await;
    assert_eq!(
        erased["eraseParticipant"]["userErrors"],
        json!([]),
        "{erased}"
    );
    receiver
        .wait_for(|got| {
            got.iter()
                .any(|g| g["body"].as_str().unwrap_or("").contains("ERASED"))
        })
        .await;
    eventually("the erased participant's messages are still stored", || {
        !stored_messages(&outbox).contains(&person.email)
    })
    .await;

    let staff = app.data_as(&admin, WHAT_STAFF_SEE, variables.clone()).await;
    let coordinators = app
        .graphql_as(&coordinator, WHAT_STAFF_SEE, variables)
        .await;
    let sources = app.data_as(&key, WHAT_SOURCES_SEE, json!({})).await;
    assert_eq!(sources["participant"], Value::Null, "{sources}");
    let export = app
        .data_as(
            &admin,
            "query($id: ID) { participantDataExport(participantId: $id) }",
            json!({ "id": ParticipantId(person.id).to_global() }),
        )
        .await;
    let webhooks: Vec<String> = receiver
        .got()
        .iter()
        .map(|g| g["body"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        webhooks.iter().any(|body| body.contains("ERASED")),
        "{webhooks:?}"
    );
    let places = [
        ("staff answers", staff.to_string()),
        ("coordinator answers", coordinators.to_string()),
        ("the feed and the snapshot", sources.to_string()),
        ("the export", export.to_string()),
        ("webhook payloads", webhooks.concat()),
        ("stored messages", stored_messages(&outbox)),
        ("the database", dump_database(&app).await),
        (
            "the erasure log",
            std::fs::read_to_string(&erasure_log).unwrap(),
        ),
        ("the log", logs.text()),
    ];
    for (place, text) in &places {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{secret} is still in {place}"
            );
        }
    }
    assert!(logs.text().len() > 10_000, "the log captured little");

    // The counts stay.
    assert_eq!(
        app.data(alumni, json!({ "id": course_id })).await,
        alumni_before
    );
    assert_eq!(app.data_as(&reporting, totals, report).await, report_before);
}
