//! Two service processes (the real binary, twice) sharing one database: the guarantees hold
//! across processes because the database enforces them, not the process.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::Arc,
};

use api::auth::Role;
use chrono::{Duration, Utc};
use entity::enums::EnrolmentStatus;
use sea_orm::{ColumnTrait, Database, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    actors::{ASSIGN, SAVE_ACTOR, SET_AVAILABILITY},
    booking::{BOOK, global_session},
    helpers::*,
    live::{AVAILABILITY, Subscriber},
};

/// One running `training` binary; stopped when dropped.
struct ServiceProcess {
    child: Child,
    address: String,
    _data_dir: tempfile::TempDir,
}

impl ServiceProcess {
    fn start(database_url: &str, jwt_secret: &str) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_training"))
            .env("DATABASE_URL", database_url)
            .env("LISTEN_ADDR", "127.0.0.1:0")
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
    processes: [ServiceProcess; 2],
    secret: String,
    client: reqwest::Client,
    db: DatabaseConnection,
    _database: TestDatabase,
}

async fn two_processes() -> TwoProcesses {
    let database = TestDatabase::create().await;
    let secret = format!("test-secret-{}", Uuid::new_v4().simple());
    // The first migrates and loads the demo data; the second finds both done.
    let first = ServiceProcess::start(database.url(), &secret);
    let second = ServiceProcess::start(database.url(), &secret);
    let db = Database::connect(database.url()).await.unwrap();
    TwoProcesses {
        processes: [first, second],
        secret,
        client: reqwest::Client::new(),
        db,
        _database: database,
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
        let body: Value = self
            .client
            .post(format!("{}/graphql", self.processes[process].address))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
