//! Two service processes (the real binary, twice) sharing one database: the guarantees hold
//! across processes because the database enforces them, not the process.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::Arc,
};

use api::auth::Role;
use chrono::{Duration, Utc};
use entity::enums::{EnrolmentStatus, OutboxStatus};
use sea_orm::{ColumnTrait, Database, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    actors::{ASSIGN, SAVE_ACTOR, SET_AVAILABILITY},
    booking::{BOOK, global_session},
    helpers::*,
    live::{AVAILABILITY, Subscriber},
    mail::MailServer,
};

/// One running `training` binary; stopped when dropped.
struct ServiceProcess {
    child: Child,
    address: String,
    _data_dir: tempfile::TempDir,
}

impl ServiceProcess {
    fn start(database_url: &str, jwt_secret: &str, env: &[(&str, String)]) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_training"))
            .envs(env.iter().map(|(name, value)| (name, value)))
            .env("DATABASE_URL", database_url)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("METRICS_LISTEN_ADDR", "127.0.0.1:0")
            .env("JWT_SECRET", jwt_secret)
            .env("DATA_DIR", data_dir.path())
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the training binary");
        let stdout = child.stdout.take().unwrap();
        let (found, address) = std::sync::mpsc::channel();
        // Reads the log until the service says where it listens, then keeps draining it.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(sender) = &found
                    && let Ok(event) = serde_json::from_str::<Value>(&line)
                    && let Some(address) = event["address"].as_str()
                {
                    let _ = sender.send(address.to_owned());
                    found = None;
                }
            }
        });
        let address = address
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the service logs its address within a minute");
        Self {
            child,
            address: format!("http://{address}"),
            _data_dir: data_dir,
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TwoProcesses {
    processes: Vec<ServiceProcess>,
    secret: String,
    client: reqwest::Client,
    db: DatabaseConnection,
    database: TestDatabase,
}

async fn two_processes() -> TwoProcesses {
    two_processes_with(&[]).await
}

/// Two processes with extra environment variables (settings).
async fn two_processes_with(env: &[(&str, String)]) -> TwoProcesses {
    let database = TestDatabase::create().await;
    let secret = format!("test-secret-{}", Uuid::new_v4().simple());
    // The first migrates and loads the demo data; the second finds both done.
    let first = ServiceProcess::start(database.url(), &secret, env);
    let second = ServiceProcess::start(database.url(), &secret, env);
    let db = Database::connect(database.url()).await.unwrap();
    TwoProcesses {
        processes: vec![first, second],
        secret,
        client: reqwest::Client::new(),
        db,
        database,
    }
}

impl TwoProcesses {
    fn participant_token(&self, participant: Uuid) -> String {
        let mut claims = claims(Role::Participant);
        claims.sub = format!("participant-{participant}");
        claims.participant_id = Some(participant);
        sign(&claims, &self.secret)
    }

    /// Runs a query through one of the processes; returns its `data`.
    async fn ask(&self, process: usize, token: &str, query: &str, variables: Value) -> Value {
        self.send(process, Some(token), query, variables).await
    }

    /// An anonymous query through one of the processes; returns its `data`.
    async fn read(&self, process: usize, query: &str, variables: Value) -> Value {
        self.send(process, None, query, variables).await
    }

    async fn send(
        &self,
        process: usize,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.processes[process].address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let body: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }

    async fn book(&self, process: usize, session: &str, participant: Uuid) -> Value {
        let token = self.participant_token(participant);
        let variables = json!({ "input": { "sessionId": session } });
        self.ask(process, &token, BOOK, variables).await["bookSeat"].clone()
    }

    async fn session(&self, capacity: i32) -> entity::session::Model {
        let course = entity::course::Entity::find()
            .filter(entity::course::Column::Slug.eq(BROCHURE_SLUG))
            .one(&self.db)
            .await
            .unwrap()
            .expect("the demo course");
        insert_session(
            &self.db,
            course.id,
            None,
            Utc::now() + Duration::days(14),
            capacity,
        )
        .await
    }
}

#[tokio::test]
async fn two_processes_on_one_database_never_overbook() {
    let world = Arc::new(two_processes().await);
    let session = world.session(10).await;
    let global = global_session(&session);
    let mut tasks = Vec::new();
    for index in 0..100 {
        let person = insert_participant(&world.db).await.id;
        let (world, global) = (world.clone(), global.clone());
        tasks.push(tokio::spawn(async move {
            world.book(index % 2, &global, person).await
        }));
    }
    let mut confirmed = 0;
    let mut places = std::collections::BTreeSet::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer["userErrors"], json!([]), "{answer}");
        match answer["status"].as_str() {
            Some("CONFIRMED") => confirmed += 1,
            Some("WAITLISTED") => {
                places.insert(answer["waitingListPlace"].as_i64().unwrap());
            }
            _ => panic!("unexpected answer {answer}"),
        }
    }
    assert_eq!(confirmed, 10);
    assert_eq!(places, (1..=90).collect());
    let seated = entity::enrolment::Entity::find()
        .filter(entity::enrolment::Column::SessionId.eq(session.id))
        .filter(entity::enrolment::Column::Status.eq(EnrolmentStatus::Confirmed))
        .all(&world.db)
        .await
        .unwrap();
    assert_eq!(seated.len(), 10);
}

#[tokio::test]
async fn a_booking_through_one_process_reaches_a_subscriber_on_the_other() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        // One SQLite file has no channel between processes; within one process the
        // subscription tests in `live` cover it. This runs in the PostgreSQL pass.
        return;
    }
    let world = two_processes().await;
    let session = world.session(10).await;
    let global = global_session(&session);
    let mut subscriber = Subscriber::connect(&world.processes[0].address, None)
        .await
        .unwrap();
    subscriber
        .subscribe("1", AVAILABILITY, json!({ "id": global }))
        .await;
    assert_eq!(
        subscriber.next().await["data"]["sessionAvailability"]["seatsLeft"],
        10
    );
    let person = insert_participant(&world.db).await.id;
    let booked = world.book(1, &global, person).await;
    assert_eq!(booked["status"], "CONFIRMED");
    let pushed = subscriber.next().await;
    assert_eq!(
        pushed["data"]["sessionAvailability"]["seatsLeft"], 9,
        "{pushed}"
    );
}

#[tokio::test]
async fn two_coordinators_on_two_processes_assign_one_actor_to_overlapping_sessions_one_wins() {
    let world = Arc::new(two_processes().await);
    let staff = sign(&claims(Role::Coordinator), &world.secret);
    let saved = world
        .ask(
            0,
            &staff,
            SAVE_ACTOR,
            json!({ "input": { "details": { "fullName": "Test Acteur" } } }),
        )
        .await;
    let actor = saved["saveActor"]["actor"]["id"].clone();
    let now = Utc::now();
    world
        .ask(
            1,
            &staff,
            SET_AVAILABILITY,
            json!({ "input": { "actorId": actor, "periods": [
                { "startsAt": now.to_rfc3339(), "endsAt": (now + Duration::days(60)).to_rfc3339() } ] } }),
        )
        .await;
    let first = world.session(10).await;
    let course = first.course_id;
    let second = insert_session(
        &world.db,
        course,
        None,
        first.starts_at + Duration::hours(2),
        10,
    )
    .await;
    let tasks: Vec<_> = [(0, first), (1, second)]
        .into_iter()
        .map(|(process, session)| {
            let (world, staff, actor) = (world.clone(), staff.clone(), actor.clone());
            tokio::spawn(async move {
                let input =
                    json!({ "input": { "sessionId": global_session(&session), "actorId": actor } });
                world.ask(process, &staff, ASSIGN, input).await["assignActor"]["userErrors"].clone()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let won = outcomes
        .iter()
        .filter(|errors| **errors == json!([]))
        .count();
    let conflicts = outcomes
        .iter()
        .filter(|errors| errors[0]["code"] == "CONFLICT")
        .count();
    assert_eq!((won, conflicts), (1, 1), "{outcomes:?}");
    let assigned = entity::session_actor::Entity::find()
        .all(&world.db)
        .await
        .unwrap();
    assert_eq!(assigned.len(), 1);
}

/// The settings of a process that sends through the mail server on `port`, polling often.
fn mail_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("SMTP_HOST", "127.0.0.1".into()),
        ("SMTP_PORT", port.to_string()),
        ("SMTP_TLS", "none".into()),
        ("OUTBOX_POLL_MS", "50".into()),
        ("SCHEDULE_EVERY_SECONDS", "1".into()),
    ]
}

#[tokio::test]
async fn two_dispatcher_processes_deliver_each_message_exactly_once() {
    let mail = MailServer::start();
    let world = Arc::new(two_processes_with(&mail_env(mail.port)).await);
    let session = world.session(30).await;
    let global = global_session(&session);
    let mut tasks = Vec::new();
    for index in 0..20 {
        let person = insert_participant(&world.db).await.id;
        let (world, global) = (world.clone(), global.clone());
        tasks.push(tokio::spawn(async move {
            world.book(index % 2, &global, person).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap()["status"], "CONFIRMED");
    }
    mail.wait_for(20).await;
    // Both dispatchers keep polling; nothing more may come.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let received = mail.received();
    assert_eq!(received.len(), 20, "each booking told once");
    let ids: std::collections::BTreeSet<_> = received.iter().map(|m| m.message_id()).collect();
    assert_eq!(ids.len(), 20, "20 different messages");
    let events = entity::outbox_event::Entity::find()
        .all(&world.db)
        .await
        .unwrap();
    assert_eq!(events.len(), 20);
    assert!(
        events
            .iter()
            .all(|e| e.status == OutboxStatus::Delivered && e.attempts == 1)
    );
}

#[tokio::test]
async fn the_reminder_and_the_feedback_request_go_out_once_across_processes_and_restarts() {
    let mail = MailServer::start();
    let env = mail_env(mail.port);
    let mut world = two_processes_with(&env).await;
    let course = entity::course::Entity::find()
        .filter(entity::course::Column::Slug.eq(BROCHURE_SLUG))
        .one(&world.db)
        .await
        .unwrap()
        .unwrap();
    // Tomorrow's session: one seat booked a week ago (reminded), one booked just now (the
    // confirmation was enough), one cancelled (not reminded).
    let tomorrow = insert_session(
        &world.db,
        course.id,
        None,
        Utc::now() + Duration::days(1),
        10,
    )
    .await;
    let early = booked_days_ago(&world.db, tomorrow.id, EnrolmentStatus::Confirmed, 7).await;
    booked_days_ago(&world.db, tomorrow.id, EnrolmentStatus::Confirmed, 0).await;
    booked_days_ago(&world.db, tomorrow.id, EnrolmentStatus::Cancelled, 7).await;
    // Yesterday's session: one attended (asked for feedback), one did not show.
    let yesterday = insert_session(
        &world.db,
        course.id,
        None,
        Utc::now() - Duration::hours(30),
        10,
    )
    .await;
    let attended = booked_days_ago(&world.db, yesterday.id, EnrolmentStatus::Attended, 7).await;
    booked_days_ago(&world.db, yesterday.id, EnrolmentStatus::NoShow, 7).await;

    let received = mail.wait_for(2).await;
    // Several sweeps by both processes, then a restart of one: still one of each.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    world.processes.remove(0);
    world.processes.push(ServiceProcess::start(
        world.database.url(),
        &world.secret,
        &env,
    ));
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let received = mail.received().len().max(received.len());
    assert_eq!(
        received,
        2,
        "{:?}",
        mail.received()
            .iter()
            .map(|m| m.subject())
            .collect::<Vec<_>>()
    );

    let db = &world.db;
    let to = |participant: Uuid| async move {
        entity::participant::Entity::find_by_id(participant)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .email
    };
    let reminder_to = to(early.participant_id).await;
    let feedback_to = to(attended.participant_id).await;
    let messages = mail.received();
    let reminder = messages
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains(&reminder_to)))
        .expect("the reminder");
    assert!(
        reminder.subject().starts_with("Herinnering:"),
        "{}",
        reminder.subject()
    );
    let request = messages
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains(&feedback_to)))
        .expect("the feedback request");
    assert!(
        request.subject().starts_with("Hoe was de training"),
        "{}",
        request.subject()
    );
}

/// An enrolment in `status`, made `days` ago.
async fn booked_days_ago(
    db: &DatabaseConnection,
    session: Uuid,
    status: EnrolmentStatus,
    days: i64,
) -> entity::enrolment::Model {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let participant = insert_participant(db).await;
    let enrolment = insert_enrolment(db, session, participant.id, status).await;
    let mut earlier: entity::enrolment::ActiveModel = enrolment.into();
    earlier.created_at = Set(Utc::now() - Duration::days(days));
    earlier.update(db).await.unwrap()
}

/// Eight writers at once (bookings, cancellations and sync batches, some refused and rolled
/// back) through two processes, while a poller reads the feed the whole time: it sees every
/// committed change exactly once, nothing of a rolled-back transaction, and each enrolment's
/// versions run 1, 2, 3, … without a gap. On SQLite, with one process.
#[tokio::test]
async fn eight_writers_through_two_processes_and_the_feed_misses_nothing() {
    use std::collections::{BTreeMap, BTreeSet};

    let postgres = std::env::var("TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty());
    let world = Arc::new(two_processes().await);
    let processes = if postgres { 2 } else { 1 };
    let sessions: Vec<String> = {
        let mut sessions = Vec::new();
        for _ in 0..3 {
            sessions.push(global_session(&world.session(4).await));
        }
        sessions
    };
    let source = api::sync::external_ids::Source::parse("bzk").unwrap();
    let (_, key) = api::db::api_key::create_api_key_for(
        &world.db,
        "Testkoppeling",
        entity::enums::MachineRole::SyncClient,
        Some(&source),
    )
    .await
    .unwrap();
    let mut admin = claims(Role::Administrator);
    admin.sub = "feed-poller".into();
    let admin = sign(&admin, &world.secret);

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (world, admin, done) = (world.clone(), admin.clone(), done.clone());
        tokio::spawn(async move {
            let mut after = Value::Null;
            let mut seen: Vec<(String, i64)> = Vec::new();
            let mut quiet_rounds = 0;
            loop {
                let page = world
                    .ask(
                        0,
                        &admin,
                        crate::sync::CHANGES,
                        json!({ "after": after, "first": 50 }),
                    )
                    .await;
                let edges = page["enrolmentChanges"]["edges"]
                    .as_array()
                    .unwrap()
                    .clone();
                if let Some(last) = edges.last() {
                    after = last["cursor"].clone();
                }
                let empty = edges.is_empty();
                seen.extend(edges.iter().map(|e| {
                    (
                        e["node"]["enrolmentId"].as_str().unwrap().to_owned(),
                        e["node"]["version"].as_i64().unwrap(),
                    )
                }));
                if done.load(std::sync::atomic::Ordering::SeqCst) && empty {
                    quiet_rounds += 1;
                    if quiet_rounds > 25 {
                        return seen;
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(40)).await;
            }
        })
    };

    let mut writers = Vec::new();
    for writer in 0..8 {
        let (world, sessions, key) = (world.clone(), sessions.clone(), key.clone());
        writers.push(tokio::spawn(async move {
            let process = writer % processes;
            for round in 0..4 {
                let session = &sessions[(writer + round) % sessions.len()];
                match writer % 4 {
                    // A booking, and (now and then) the same again, which is refused.
                    0 | 1 => {
                        let person = insert_participant(&world.db).await.id;
                        world.book(process, session, person).await;
                        if round % 2 == 0 {
                            world.book(process, session, person).await;
                        }
                    }
                    // A booking cancelled at once: a seat freed, someone promoted.
                    2 => {
                        let person = insert_participant(&world.db).await.id;
                        let booked = world.book(process, session, person).await;
                        let token = world.participant_token(person);
                        world
                            .ask(
                                process,
                                &token,
                                "mutation($id: ID!) { cancelEnrolment(input: { enrolmentId: $id }) { userErrors { code } } }",
                                json!({ "id": booked["enrolment"]["id"] }),
                            )
                            .await;
                    }
                    // A sync batch, and one that is refused whole and rolled back.
                    _ => {
                        let prefix = format!("w{writer}r{round}");
                        world
                            .ask(
                                process,
                                &key,
                                crate::sync::SYNC_PARTICIPANTS,
                                json!({ "input": { "items": crate::sync::people(&prefix, 2) } }),
                            )
                            .await;
                        let items: Vec<Value> = (0..2)
                            .map(|n| json!({ "externalId": format!("{prefix}-e{n}"),
                                "participantExternalId": format!("{prefix}-{n}"),
                                "sessionId": session, "status": "ACTIVE" }))
                            .collect();
                        world
                            .ask(process, &key, crate::sync::SYNC_ENROLMENTS, json!({ "input": { "items": items } }))
                            .await;
                        let mut refused = items.clone();
                        refused.push(json!({ "externalId": format!("{prefix}-bad"),
                            "participantExternalId": "nobody", "sessionId": session, "status": "ACTIVE" }));
                        refused[0]["status"] = json!("CANCELLED");
                        world
                            .ask(
                                process,
                                &key,
                                crate::sync::SYNC_ENROLMENTS,
                                json!({ "input": { "items": refused, "errorPolicy": "ALL_OR_NOTHING" } }),
                            )
                            .await;
                    }
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = poller.await.unwrap();

    let committed: BTreeSet<(String, i64)> = entity::enrolment_change::Entity::find()
        .all(&world.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                api::domain::ids::EnrolmentId(c.enrolment_id).to_global(),
                i64::from(c.version),
            )
        })
        .collect();
    let unique: BTreeSet<(String, i64)> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a change was read twice");
    // Demo data may hold changes from before; the poller read from the start.
    assert_eq!(unique, committed, "the feed and the database disagree");
    let mut versions: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (enrolment, version) in &unique {
        versions.entry(enrolment).or_default().push(*version);
    }
    for (enrolment, versions) in versions {
        let expected: Vec<i64> = (1..=versions.len() as i64).collect();
        assert_eq!(versions, expected, "{enrolment}");
    }
    assert!(
        seen.len() > 40,
        "the writers wrote ({} changes)",
        seen.len()
    );
}

/// The programme page's seats, as an anonymous visitor reads them.
const SEATS_LEFT: &str = "query($id: ID!) { node(id: $id) { ... on Session { seatsLeft } } }";

#[tokio::test]
async fn an_anonymous_read_through_one_process_never_shows_what_the_other_changed_before() {
    let world = two_processes().await;
    let session = world.session(40).await;
    let global = global_session(&session);
    let seats = |process| world.read(process, SEATS_LEFT, json!({ "id": global }));
    for booked in 1..=30 {
        // The other process has the answer from before the booking at hand.
        assert_eq!(seats(1).await["node"]["seatsLeft"], 40 - booked + 1);
        let person = insert_participant(&world.db).await.id;
        let answer = world.book(0, &global, person).await;
        assert_eq!(answer["status"], "CONFIRMED", "{answer}");
        assert_eq!(
            seats(1).await["node"]["seatsLeft"],
            40 - booked,
            "an old seat count after booking {booked}"
        );
    }

    // A programme edit: an archived course is gone from the other process's next answer.
    let admin = {
        let mut claims = claims(Role::Administrator);
        claims.sub = "beheerder".into();
        sign(&claims, &world.secret)
    };
    let provider = entity::organisation::Entity::find()
        .one(&world.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let by_slug = "query($slug: String!) { course(slug: $slug) { title } }";
    let archive = "mutation($input: CourseStatusInput!) { archiveCourse(input: $input) {
        userErrors { code } } }";
    for n in 0..10 {
        let published = entity::enums::CourseStatus::Published;
        let course = insert_course(&world.db, provider, published, &format!("Thema {n}")).await;
        let slug = json!({ "slug": course.slug });
        assert!(world.read(1, by_slug, slug.clone()).await["course"].is_object());
        let id = api::domain::ids::CourseId(course.id).to_global();
        let archived = world
            .ask(0, &admin, archive, json!({ "input": { "courseId": id } }))
            .await;
        assert_eq!(
            archived["archiveCourse"]["userErrors"],
            json!([]),
            "{archived}"
        );
        assert_eq!(
            world.read(1, by_slug, slug).await["course"],
            Value::Null,
            "an archived course was still shown"
        );
    }
}
