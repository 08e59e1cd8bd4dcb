//! Telling people: the outbox's messages reach a real SMTP server on loopback, in Dutch, with
//! calendar invites; a change that rolls back tells no one; a mail server that is down delays
//! messages but loses none; administrators see, retry and cancel what failed.

use api::{auth::Role, domain::time::from_local};
use chrono::{Duration, Utc};
use entity::{enums::OutboxStatus, location, outbox_event, participant, session};
use icalendar::{Calendar, Component, EventLike};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder};
use serde_json::json;
use uuid::Uuid;

use crate::{
    booking::{CANCEL, book_self, global_session, uuid_of},
    helpers::*,
    mail::{MailServer, Received, smtp_settings},
    scheduling::{CANCEL_SESSION, RESCHEDULE},
};

/// A session of the brochure's course in two weeks, 09:00 to 16:00 Amsterdam time, at a
/// location with an address.
async fn session_at_a_known_place(app: &TestApp, capacity: i32) -> session::Model {
    let course = app.brochure_course().await;
    let mut place: location::ActiveModel = insert_location(&app.db, "Utrecht").await.into();
    place.street_address = Set(Some("Voorbeeldstraat 1".into()));
    place.postal_code = Set(Some("3511 AA".into()));
    let place = place.update(&app.db).await.unwrap();
    let day = (Utc::now() + Duration::days(14)).date_naive();
    let nine = chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    let starts = from_local(day, nine).unwrap();
    let mut session: session::ActiveModel =
        insert_session(&app.db, course.id, Some(place.id), starts, capacity)
            .await
            .into();
    session.ends_at = Set(starts + Duration::hours(7));
    session.update(&app.db).await.unwrap()
}

/// Parses an invite as a calendar program would; returns its METHOD and its one event.
fn parse_invite(text: &str) -> (String, icalendar::Event) {
    let calendar: Calendar = text.parse().expect("an invite that parses");
    let method = calendar
        .property_value("METHOD")
        .unwrap_or_default()
        .to_owned();
    let event = calendar
        .events()
        .next()
        .cloned()
        .expect("an event in the invite");
    (method, event)
}

fn unfolded(text: &str) -> String {
    text.replace("\r\n ", "")
}

async fn events(app: &TestApp) -> Vec<outbox_event::Model> {
    outbox_event::Entity::find()
        .order_by_asc(outbox_event::Column::CreatedAt)
        .all(&app.db)
        .await
        .unwrap()
}

/// Waits until `check` holds for the outbox (at most 30 seconds).
async fn wait_until(app: &TestApp, what: &str, check: impl Fn(&[outbox_event::Model]) -> bool) {
    for _ in 0..300 {
        if check(&events(app).await) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what}: {:#?}", events(app).await);
}

#[tokio::test]
async fn a_booking_sends_a_confirmation_in_dutch_with_a_calendar_invite() {
    let mail = MailServer::start();
    let app = spawn_app_with(|s| smtp_settings(s, mail.port)).await;
    let session = session_at_a_known_place(&app, 10).await;
    let participant = insert_participant(&app.db).await;
    let booked = book_self(&app, &session, participant.id).await;
    assert_eq!(booked["status"], "CONFIRMED", "{booked}");
    let enrolment = uuid_of(&booked["enrolment"]["id"]);

    let received = mail.wait_for(1).await;
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert!(
        message.to.iter().any(|to| to.contains(&participant.email)),
        "{:?}",
        message.to
    );
    let course = app.brochure_course().await;
    let subject = message.subject();
    assert!(
        subject.starts_with("Bevestiging van uw inschrijving"),
        "{subject}"
    );
    assert!(subject.contains(&course.title), "{subject}");
    let text = message.text();
    for expected in [
        format!("Beste {},", participant.full_name),
        "09:00 tot 16:00 uur".to_owned(),
        "Voorbeeldstraat 1, 3511 AA Utrecht".to_owned(),
        "Annuleer dan uiterlijk".to_owned(),
        "Met vriendelijke groet".to_owned(),
    ] {
        assert!(text.contains(&expected), "`{expected}` in:\n{text}");
    }
    // The service desk of the course's provider signs it.
    let provider = entity::organisation::Entity::find_by_id(course.provider_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    if let Some(email) = &provider.email {
        assert!(
            text.contains(email.as_str()),
            "the desk's address in:\n{text}"
        );
    }

    let invites = message.invites();
    assert_eq!(invites.len(), 1, "one invite");
    assert_eq!(invites[0].0, "uitnodiging.ics");
    let raw = unfolded(&invites[0].1);
    let (method, event) = parse_invite(&invites[0].1);
    assert_eq!(method, "REQUEST");
    assert_eq!(
        event.get_uid(),
        Some(format!("enrolment-{enrolment}@opleidingen.training-platform").as_str())
    );
    assert_eq!(event.get_summary(), Some(course.title.as_str()));
    let local_day = api::domain::time::to_local(session.starts_at).format("%Y%m%d");
    assert!(
        raw.contains(&format!("DTSTART;TZID=Europe/Amsterdam:{local_day}T090000")),
        "{raw}"
    );
    assert!(
        raw.contains(&format!("DTEND;TZID=Europe/Amsterdam:{local_day}T160000")),
        "{raw}"
    );
    assert!(
        raw.contains("BEGIN:VTIMEZONE") && raw.contains("TZID:Europe/Amsterdam"),
        "{raw}"
    );
    assert!(
        event.get_location().is_some_and(|l| l.contains("Utrecht")),
        "{raw}"
    );

    // The outbox event is delivered, and the Message-ID is the event's, so a resend is one message.
    wait_until(&app, "the confirmation is marked delivered", |events| {
        events.iter().any(|e| e.status == OutboxStatus::Delivered)
    })
    .await;
    let event = events(&app).await.remove(0);
    assert_eq!(event.topic, "enrolment.confirmed");
    assert!(
        message.message_id().starts_with(&event.id.to_string()),
        "{}",
        message.message_id()
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("outbox_attempts_total{outcome=\"delivered\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_booking_that_rolls_back_sends_nothing() {
    let mail = MailServer::start();
    let app = spawn_app_with(|s| smtp_settings(s, mail.port)).await;
    let session = session_at_a_known_place(&app, 10).await;
    // The booking's last write (its audit record, after the outbox event) fails once, so the
    // whole transaction rolls back.
    let backend = app.db.get_database_backend();
    let statements: &[&str] = match backend {
        sea_orm::DatabaseBackend::Sqlite => {
            &["CREATE TRIGGER fail_booking BEFORE INSERT ON audit_events \
             WHEN NEW.action = 'bookSeat' BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"]
        }
        _ => &[
            "CREATE FUNCTION fail_booking() RETURNS trigger AS $$ BEGIN \
             IF NEW.action = 'bookSeat' THEN RAISE EXCEPTION 'simulated failure'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER fail_booking BEFORE INSERT ON audit_events FOR EACH ROW \
             EXECUTE FUNCTION fail_booking()",
        ],
    };
    for statement in statements {
        app.db.execute_unprepared(statement).await.unwrap();
    }
    let unlucky = insert_participant(&app.db).await;
    let failed = app
        .graphql_as(
            &app.participant_token(unlucky.id),
            crate::booking::BOOK,
            json!({ "input": { "sessionId": global_session(&session) } }),
        )
        .await;
    assert!(
        failed.get("errors").is_some(),
        "the booking failed: {failed}"
    );
    assert!(
        events(&app).await.is_empty(),
        "no outbox event survived the rollback"
    );

    app.db
        .execute_unprepared("DROP TRIGGER fail_booking ON audit_events")
        .await
        .or(app.db.execute_unprepared("DROP TRIGGER fail_booking").await)
        .unwrap();
    let lucky = insert_participant(&app.db).await;
    assert_eq!(
        book_self(&app, &session, lucky.id).await["status"],
        "CONFIRMED"
    );
    // The second booking's message arrives; by then the dispatcher has long seen the outbox.
    let received = mail.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let received = mail.received().len().max(received.len());
    assert_eq!(received, 1, "only the committed booking was told");
    assert!(
        mail.received()[0]
            .to
            .iter()
            .all(|to| !to.contains(&unlucky.email))
    );
}

#[tokio::test]
async fn messages_wait_while_the_mail_server_is_down_and_go_out_once_when_it_is_back() {
    let port = MailServer::free_port();
    let app = spawn_app_with(|s| smtp_settings(s, port)).await;
    let session = session_at_a_known_place(&app, 10).await;
    let participant = insert_participant(&app.db).await;
    // Booking does not wait for mail.
    assert_eq!(
        book_self(&app, &session, participant.id).await["status"],
        "CONFIRMED"
    );
    wait_until(&app, "the message was tried and waits", |events| {
        events.len() == 1
            && events[0].status == OutboxStatus::Pending
            && events[0].attempts >= 2
            && events[0].last_error.is_some()
    })
    .await;

    let mail = MailServer::start_on(port);
    let received = mail.wait_for(1).await;
    wait_until(&app, "the message is delivered", |events| {
        events[0].status == OutboxStatus::Delivered
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(mail.received().len(), 1, "sent once");
    assert!(received[0].subject().starts_with("Bevestiging"));
}

const OUTBOX: &str =
    "query($filter: OutboxEventFilter) { outboxEvents(first: 20, filter: $filter) {
    nodes { id topic aggregateId status attempts lastError deliveredAt } } }";
const RETRY: &str = "mutation($input: OutboxEventInput!) { retryOutboxEvent(input: $input) {
    userErrors { code field } outboxEvent { status attempts } } }";
const CANCEL_EVENT: &str =
    "mutation($input: OutboxEventInput!) { cancelOutboxEvent(input: $input) {
    userErrors { code field } outboxEvent { status } } }";

#[tokio::test]
async fn a_refused_recipient_goes_dead_with_the_reason_and_an_administrator_retries_it() {
    let mail = MailServer::start();
    let app = spawn_app_with(|s| smtp_settings(s, mail.port)).await;
    let session = session_at_a_known_place(&app, 10).await;
    let participant = insert_participant(&app.db).await;
    mail.refuse(&participant.email);
    book_self(&app, &session, participant.id).await;
    wait_until(&app, "the message is dead", |events| {
        events.len() == 1 && events[0].status == OutboxStatus::Dead
    })
    .await;
    let event = events(&app).await.remove(0);
    assert_eq!(event.attempts, 1, "a refusal is not retried on its own");

    let admin = app.token(Role::Administrator);
    let dead = app
        .data_as(&admin, OUTBOX, json!({ "filter": { "status": ["DEAD"] } }))
        .await;
    let nodes = dead["outboxEvents"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 1, "{dead}");
    assert_eq!(nodes[0]["topic"], "enrolment.confirmed");
    let reason = nodes[0]["lastError"].as_str().unwrap();
    assert!(reason.contains("550"), "{dead}");
    assert!(
        !reason.contains(&participant.email),
        "no address in the record: {reason}"
    );
    let id = nodes[0]["id"].clone();

    let anonymous = app.graphql(OUTBOX, json!({})).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let bad = app
        .graphql_as(
            &admin,
            OUTBOX,
            json!({ "filter": { "aggregateId": "nonsense" } }),
        )
        .await;
    assert_eq!(error_code(&bad), "INVALID_ID");
    let long = app
        .graphql_as(
            &admin,
            OUTBOX,
            json!({ "filter": { "topic": "x".repeat(500) } }),
        )
        .await;
    assert!(
        long.get("errors").is_some(),
        "an over-long topic is refused: {long}"
    );
    // Others may not look, let alone retry.
    for role in [Role::Coordinator, Role::Participant] {
        let denied = app.graphql_as(&app.token(role), OUTBOX, json!({})).await;
        assert_eq!(error_code(&denied), "FORBIDDEN", "{role:?}");
        let denied = app
            .graphql_as(&app.token(role), RETRY, json!({ "input": { "id": id } }))
            .await;
        assert_eq!(error_code(&denied), "FORBIDDEN", "{role:?}");
    }

    mail.accept_everyone();
    let retried = app
        .data_as(&admin, RETRY, json!({ "input": { "id": id } }))
        .await;
    assert_eq!(retried["retryOutboxEvent"]["userErrors"], json!([]));
    assert_eq!(retried["retryOutboxEvent"]["outboxEvent"]["attempts"], 0);
    mail.wait_for(1).await;
    wait_until(&app, "the retried message is delivered", |events| {
        events[0].status == OutboxStatus::Delivered
    })
    .await;

    // A delivered event is history: neither retried nor cancelled.
    for mutation in [RETRY, CANCEL_EVENT] {
        let answer = app
            .data_as(&admin, mutation, json!({ "input": { "id": id } }))
            .await;
        let payload = answer.as_object().unwrap().values().next().unwrap();
        assert_eq!(
            payload["userErrors"][0]["code"], "ALREADY_DELIVERED",
            "{answer}"
        );
    }
    let bad = app
        .data_as(&admin, RETRY, json!({ "input": { "id": "nonsense" } }))
        .await;
    assert_eq!(
        bad["retryOutboxEvent"]["userErrors"][0]["code"],
        "INVALID_ID"
    );
}

#[tokio::test]
async fn an_administrator_cancels_a_waiting_message_and_it_never_goes_out() {
    let port = MailServer::free_port();
    let app = spawn_app_with(|s| smtp_settings(s, port)).await;
    let session = session_at_a_known_place(&app, 10).await;
    let participant = insert_participant(&app.db).await;
    book_self(&app, &session, participant.id).await;
    wait_until(&app, "the message waits", |events| {
        events.len() == 1 && events[0].attempts >= 1
    })
    .await;
    let admin = app.token(Role::Administrator);
    let pending = app
        .data_as(
            &admin,
            OUTBOX,
            json!({ "filter": { "status": ["PENDING"] } }),
        )
        .await;
    let id = pending["outboxEvents"]["nodes"][0]["id"].clone();
    // The dispatcher may be trying it at this very moment (BEING_SENT): then ask again.
    let mut cancelled = json!(null);
    for _ in 0..50 {
        cancelled = app
            .data_as(&admin, CANCEL_EVENT, json!({ "input": { "id": id } }))
            .await;
        if cancelled["cancelOutboxEvent"]["userErrors"][0]["code"] != "BEING_SENT" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        cancelled["cancelOutboxEvent"]["outboxEvent"]["status"], "CANCELLED",
        "{cancelled}"
    );
    let mail = MailServer::start_on(port);
    // Past the time the next attempt was due, and some polls more.
    let due = events(&app).await[0].next_attempt_at;
    let wait = (due - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(1500)).await;
    assert!(
        mail.received().is_empty(),
        "a cancelled message stays unsent"
    );
    assert_eq!(events(&app).await[0].status, OutboxStatus::Cancelled);
}

/// The invites a participant received, in order: (subject, method, UID, SEQUENCE).
fn invites_of(received: &[Received], email: &str) -> Vec<(String, String, String, u32)> {
    received
        .iter()
        .filter(|m| m.to.iter().any(|to| to.contains(email)))
        .flat_map(|m| {
            m.invites().into_iter().map(move |(_, text)| {
                let (method, event) = parse_invite(&text);
                let sequence = event.property_value("SEQUENCE").unwrap().parse().unwrap();
                (
                    m.subject(),
                    method,
                    event.get_uid().unwrap().to_owned(),
                    sequence,
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn the_waiting_list_a_cancellation_and_a_changed_session_are_told_in_order() {
    let mail = MailServer::start();
    let app = spawn_app_with(|s| smtp_settings(s, mail.port)).await;
    let session = session_at_a_known_place(&app, 1).await;
    let first = insert_participant(&app.db).await;
    let second = insert_participant(&app.db).await;
    let seat = book_self(&app, &session, first.id).await;
    let place = book_self(&app, &session, second.id).await;
    assert_eq!(place["status"], "WAITLISTED");
    mail.wait_for(2).await;
    let waiting = mail
        .received()
        .into_iter()
        .find(|m| m.to.iter().any(|to| to.contains(&second.email)))
        .unwrap();
    assert!(waiting.subject().starts_with("U staat op de wachtlijst"));
    assert!(waiting.text().contains("op plaats 1"), "{}", waiting.text());
    assert!(
        waiting.invites().is_empty(),
        "no invite for a waiting-list place"
    );

    // The first cancels: they get a CANCEL of their invite, the second moves up with a REQUEST.
    let cancelled = app
        .data_as(
            &app.participant_token(first.id),
            CANCEL,
            json!({ "input": { "enrolmentId": seat["enrolment"]["id"] } }),
        )
        .await;
    assert_eq!(cancelled["cancelEnrolment"]["userErrors"], json!([]));
    mail.wait_for(4).await;

    // Staff move the session by a day: the seated participant gets an update of the same UID.
    let staff = app.token(Role::Coordinator);
    let starts = session.starts_at + Duration::days(1);
    let moved = app
        .data_as(
            &staff,
            RESCHEDULE,
            json!({ "input": { "sessionId": global_session(&session), "times": {
                "startsAt": starts.to_rfc3339(), "endsAt": (starts + Duration::hours(7)).to_rfc3339() } } }),
        )
        .await;
    assert_eq!(moved["rescheduleSession"]["userErrors"], json!([]));
    mail.wait_for(5).await;
    // And then cancel it: a CANCEL of that UID.
    let gone = app
        .data_as(
            &staff,
            CANCEL_SESSION,
            json!({ "input": { "sessionId": global_session(&session), "reason": "trainer ziek" } }),
        )
        .await;
    assert_eq!(gone["cancelSession"]["userErrors"], json!([]));
    let received = mail.wait_for(6).await;

    let first_uid = format!(
        "enrolment-{}@opleidingen.training-platform",
        uuid_of(&seat["enrolment"]["id"])
    );
    let firsts = invites_of(&received, &first.email);
    assert_eq!(
        firsts
            .iter()
            .map(|(_, method, uid, _)| (method.as_str(), uid.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("REQUEST", first_uid.as_str()),
            ("CANCEL", first_uid.as_str())
        ],
        "{firsts:?}"
    );
    assert!(
        firsts[1].3 >= firsts[0].3,
        "a cancel does not go back in sequence"
    );

    let second_uid = format!(
        "enrolment-{}@opleidingen.training-platform",
        uuid_of(&place["enrolment"]["id"])
    );
    let seconds = invites_of(&received, &second.email);
    let methods: Vec<_> = seconds
        .iter()
        .map(|(s, m, uid, _)| {
            (
                s.split(':').next().unwrap().to_owned(),
                m.clone(),
                uid == &second_uid,
            )
        })
        .collect();
    assert_eq!(
        methods,
        vec![
            (
                "Er is een plaats voor u vrijgekomen".to_owned(),
                "REQUEST".to_owned(),
                true
            ),
            ("Gewijzigd".to_owned(), "REQUEST".to_owned(), true),
            ("Gaat niet door".to_owned(), "CANCEL".to_owned(), true),
        ],
        "{seconds:?}"
    );
    assert!(
        seconds[1].3 > seconds[0].3,
        "the update has a higher SEQUENCE: {seconds:?}"
    );
    assert!(seconds[2].3 >= seconds[1].3, "{seconds:?}");
    let changed = received
        .iter()
        .find(|m| m.subject().starts_with("Gewijzigd"))
        .unwrap();
    assert!(changed.text().contains("Die was op"), "{}", changed.text());
    let cancelled = received
        .iter()
        .find(|m| m.subject().starts_with("Gaat niet door"))
        .unwrap();
    assert!(
        cancelled.text().contains("trainer ziek"),
        "{}",
        cancelled.text()
    );
}

#[tokio::test]
async fn without_a_mail_server_messages_are_written_as_files_that_mail_programs_open() {
    let folder = tempfile::tempdir().unwrap();
    let outbox = folder.path().join("outbox");
    let app = spawn_app_with(|s| {
        s.messages.dispatch = true;
        s.messages.poll_ms = 50;
        s.auth.data_dir = folder.path().to_owned();
    })
    .await;
    let session = session_at_a_known_place(&app, 10).await;
    let participant = insert_participant(&app.db).await;
    // A name as staff or a sync client may set it, trying to add an attendee to the invite.
    let mut named: participant::ActiveModel = participant.clone().into();
    named.full_name = Set("Jan \"x\" :mailto:ander@example.invalid;ROLE=CHAIR, Y".into());
    named.update(&app.db).await.unwrap();
    book_self(&app, &session, participant.id).await;
    wait_until(&app, "the message is written", |events| {
        events.len() == 1 && events[0].status == OutboxStatus::Delivered
    })
    .await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&outbox),
            0o700,
            "the outbox folder is the service's alone"
        );
        for entry in std::fs::read_dir(&outbox).unwrap() {
            assert_eq!(mode(&entry.unwrap().path()), 0o600, "a stored message");
        }
    }
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.ends_with(".eml") && name.contains("confirmed"),
        "{name}"
    );
    let message = Received {
        to: Vec::new(),
        data: std::fs::read(&files[0]).unwrap(),
    };
    assert!(message.subject().starts_with("Bevestiging"));
    assert_eq!(message.invites().len(), 1);
    // The name stays inside its parameter: one attendee, the participant's own address.
    let (_, invite) = &message.invites()[0];
    let (_, event) = parse_invite(invite);
    let attendees: Vec<_> = unfolded(invite)
        .lines()
        .filter(|line| line.starts_with("ATTENDEE"))
        .map(str::to_owned)
        .collect();
    assert_eq!(attendees.len(), 1, "{attendees:?}");
    let own = format!("mailto:{}", participant.email);
    assert!(attendees[0].ends_with(&format!(":{own}")), "{attendees:?}");
    let read: Vec<&str> = event
        .multi_properties()
        .get("ATTENDEE")
        .into_iter()
        .flatten()
        .chain(event.properties().get("ATTENDEE"))
        .map(|property| property.value())
        .collect();
    assert_eq!(
        read,
        [own.as_str()],
        "a calendar program reads the participant's address: {attendees:?}"
    );
    // And the To header holds one address.
    let parsed = message.parsed();
    let to = parsed.to().unwrap();
    assert_eq!(to.iter().count(), 1, "{to:?}");
}

#[tokio::test]
async fn attendance_alone_sends_nothing() {
    let mail = MailServer::start();
    let app = spawn_app_with(|s| smtp_settings(s, mail.port)).await;
    // An event of a topic no one is mailed about is finished without a message.
    let now = Utc::now();
    outbox_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        topic: Set("enrolment.attended".into()),
        aggregate_type: Set("Enrolment".into()),
        aggregate_id: Set(Uuid::new_v4()),
        payload: Set(json!({ "enrolmentId": Uuid::new_v4() }).to_string()),
        status: Set(OutboxStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
        claim_token: Set(None),
        claimed_until: Set(None),
        dedupe_key: Set(None),
    }
    .insert(&app.db)
    .await
    .unwrap();
    wait_until(&app, "the event is finished", |events| {
        events[0].status == OutboxStatus::Delivered
    })
    .await;
    assert!(mail.received().is_empty());
}

#[tokio::test]
async fn a_slow_mail_server_is_cut_off_and_tried_again_and_a_send_in_progress_is_left_alone() {
    let mail = MailServer::start();
    mail.dawdle(std::time::Duration::from_secs(4));
    let app = spawn_app_with(|s| {
        smtp_settings(s, mail.port);
        s.messages.smtp_timeout_seconds = 2;
    })
    .await;
    let session = session_at_a_known_place(&app, 10).await;
    let participant = insert_participant(&app.db).await;
    book_self(&app, &session, participant.id).await;

    // While the dispatcher waits for the server, the event is its own: an administrator's
    // retry or cancel would send it twice or hide that it went out.
    wait_until(&app, "the message is being sent", |events| {
        events.len() == 1 && events[0].claimed_until.is_some()
    })
    .await;
    let admin = app.token(Role::Administrator);
    let listed = app.data_as(&admin, OUTBOX, json!({})).await;
    let id = listed["outboxEvents"]["nodes"][0]["id"].clone();
    for mutation in [RETRY, CANCEL_EVENT] {
        let answer = app
            .data_as(&admin, mutation, json!({ "input": { "id": id } }))
            .await;
        let payload = answer.as_object().unwrap().values().next().unwrap();
        assert_eq!(payload["userErrors"][0]["code"], "BEING_SENT", "{answer}");
    }

    // Cut off after two seconds, it waits for another try, with the reason.
    wait_until(&app, "the slow attempt was cut off", |events| {
        events[0].status == OutboxStatus::Pending
            && events[0].last_error.as_deref() == Some("the mail server did not finish in time")
    })
    .await;
    mail.dawdle(std::time::Duration::ZERO);
    wait_until(&app, "the message is delivered", |events| {
        events[0].status == OutboxStatus::Delivered
    })
    .await;
    assert!(!mail.received().is_empty());
}
