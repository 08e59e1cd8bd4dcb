//! PostgreSQL stopped under a running service: requests answer 503 `SERVICE_UNAVAILABLE` with
//! `Retry-After`, under both media types, and `/readyz` says 503; once PostgreSQL is back, the
//! same service answers again by itself. PostgreSQL killed (SIGKILL) during a booking load: every
//! booking answered as done is there after its restart, and retries with the same keys have
//! exactly one effect. The cluster is a throwaway of the test's own (initdb in a temporary
//! folder, on a free port), never the shared server.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use api::{
    Application, Settings,
    auth::Role,
    domain::ids::{ParticipantId, SessionId},
};
use chrono::Utc;
use entity::{
    course, enrolment,
    enums::{EnrolmentStatus, OutboxStatus},
    outbox_event,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    booking::{BOOK, uuid_of},
    helpers::{BROCHURE_SLUG, claims, insert_participant, insert_session},
};

/// A PostgreSQL cluster in a temporary folder, run as the `postgres` user when the test runs as
/// root (PostgreSQL refuses root); stopped and removed when dropped.
struct Cluster {
    folder: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
}

fn as_server_user(program: &Path) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0"));
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl Cluster {
    /// None when this machine has no PostgreSQL server programs.
    fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|version| version.path().join("bin"))
            .find(|bin| bin.join("initdb").exists())?;
        let folder = tempfile::tempdir().unwrap();
        let data = folder.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(folder.path())
            .status();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let made = as_server_user(&bin.join("initdb"))
            .args(["-U", "postgres", "--auth=trust", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(made.status.success(), "initdb: {made:?}");
        let cluster = Self { folder, port, bin };
        cluster.run();
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.folder.path().join("data")
    }

    fn run(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.folder.path().display()
        );
        let started = as_server_user(&self.bin.join("pg_ctl"))
            .args(["-w", "-D"])
            .arg(self.data())
            .args(["-o", &options, "-l"])
            .arg(self.folder.path().join("log"))
            .arg("start")
            .output()
            .unwrap();
        assert!(started.status.success(), "pg_ctl start: {started:?}");
    }

    fn stop(&self) {
        let stopped = as_server_user(&self.bin.join("pg_ctl"))
            .args(["-w", "-m", "fast", "-D"])
            .arg(self.data())
            .arg("stop")
            .output()
            .unwrap();
        assert!(stopped.status.success(), "pg_ctl stop: {stopped:?}");
    }

    /// SIGKILL to the server and every process it started, as a crash or the OOM killer would.
    fn kill(&self) {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid")).unwrap();
        let server = pid_file.lines().next().unwrap().trim().to_owned();
        let children = Command::new("pgrep")
            .args(["-P", &server])
            .output()
            .unwrap();
        let mut pids = vec![server.clone()];
        pids.extend(
            String::from_utf8_lossy(&children.stdout)
                .split_whitespace()
                .map(str::to_owned),
        );
        let killed = Command::new("kill").arg("-9").args(&pids).status().unwrap();
        assert!(killed.success(), "kill -9 {pids:?}");
        // Gone, all of them, before a restart finds their shared memory still in use.
        let deadline = Instant::now() + Duration::from_secs(10);
        while pids
            .iter()
            .any(|pid| Path::new(&format!("/proc/{pid}")).exists())
        {
            assert!(Instant::now() < deadline, "PostgreSQL outlived SIGKILL");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_server_user(&self.bin.join("pg_ctl"))
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.data())
            .arg("stop")
            .output();
    }
}

const QUERY: &str = "{ sessions(first: 3) { edges { node { id seatsLeft } } } }";

async fn ask(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    accept: &str,
) -> reqwest::Response {
    client
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .header("Accept", accept)
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_outage_is_answered_503_with_a_retryable_code_and_passes_by_itself() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        // A PostgreSQL outage; this runs in the PostgreSQL pass.
        return;
    }
    let Some(cluster) = Cluster::start() else {
        panic!("the PostgreSQL server programs (initdb, pg_ctl) are needed for this test");
    };
    let mut settings = Settings::for_database(cluster.url());
    // Messages are written as files here (development); the dispatcher runs throughout.
    let data_dir = tempfile::tempdir().unwrap();
    settings.auth.data_dir = data_dir.path().to_owned();
    settings.messages.dispatch = true;
    settings.messages.poll_ms = 100;
    let mut claims = claims(Role::Coordinator);
    claims.sub = "servicebalie".into();
    let secret = settings.auth.jwt_secret.clone().unwrap();
    let token = crate::helpers::sign(&claims, &secret);
    let application = Application::build(settings).await.unwrap();
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::new();

    let up = ask(&client, &address, &token, "application/json").await;
    assert_eq!(up.status(), 200);

    cluster.stop();
    for accept in ["application/graphql-response+json", "application/json"] {
        for _ in 0..3 {
            let down = ask(&client, &address, &token, accept).await;
            assert_eq!(down.status(), 503, "{accept}");
            assert_eq!(down.headers()["retry-after"], "1");
            let body: Value = down.json().await.unwrap();
            let error = &body["errors"][0];
            assert_eq!(error["extensions"]["code"], "SERVICE_UNAVAILABLE", "{body}");
            assert_eq!(error["extensions"]["retryable"], true, "{body}");
            assert!(
                !body.to_string().contains("INTERNAL_SERVER_ERROR"),
                "{body}"
            );
        }
    }
    let ready = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);

    cluster.run();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let again = ask(&client, &address, &token, "application/json").await;
        if again.status() == 200 {
            let body: Value = again.json().await.unwrap();
            assert!(body["errors"].is_null(), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "the service did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    // The dispatcher paused through the outage and resumed by itself: a booking made now is
    // confirmed by e-mail.
    let db = sea_orm::Database::connect(cluster.url()).await.unwrap();
    let starts = Utc::now() + chrono::Duration::days(14);
    let session = insert_session(&db, brochure_course(&db).await, None, starts, 10).await;
    let person = insert_participant(&db).await.id;
    let session = SessionId(session.id).to_global();
    let booked = book(&client, &address, &token, &session, person, "na-de-storing").await;
    let Some((enrolment, _)) = settled(&booked) else {
        panic!("not booked after the outage: {booked}");
    };
    let enrolment = uuid_of(&json!(enrolment));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = outbox_event::Entity::find()
            .filter(outbox_event::Column::AggregateId.eq(enrolment))
            .filter(outbox_event::Column::Status.eq(OutboxStatus::Delivered))
            .count(&db)
            .await
            .unwrap();
        if sent > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the dispatcher did not resume");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn brochure_course(db: &sea_orm::DatabaseConnection) -> Uuid {
    course::Entity::find()
        .filter(course::Column::Slug.eq(BROCHURE_SLUG))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Books `person` into `session` as the service desk, with the idempotency key `key`.
async fn book(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    session: &str,
    person: Uuid,
    key: &str,
) -> Value {
    let input = json!({ "sessionId": session, "participantId": ParticipantId(person).to_global(),
                        "idempotencyKey": key });
    client
        .post(format!("{address}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": BOOK, "variables": { "input": input } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The codes a client may retry with the same key (see the README's error codes).
const RETRYABLE: [&str; 3] = ["SERVICE_UNAVAILABLE", "TRY_AGAIN", "IDEMPOTENCY_KEY_IN_USE"];

/// The booking's enrolment id and status, or None for an answer that says "retry".
fn settled(answer: &Value) -> Option<(String, String)> {
    if let Some(errors) = answer["errors"].as_array() {
        let code = errors[0]["extensions"]["code"].as_str().unwrap_or_default();
        assert!(
            RETRYABLE.contains(&code),
            "not a retryable answer: {answer}"
        );
        return None;
    }
    let payload = &answer["data"]["bookSeat"];
    assert_eq!(payload["userErrors"], json!([]), "{answer}");
    let enrolment = &payload["enrolment"];
    Some((
        enrolment["id"].as_str().unwrap().to_owned(),
        enrolment["status"].as_str().unwrap().to_owned(),
    ))
}

#[tokio::test]
async fn a_kill_during_a_booking_load_loses_no_answered_booking_and_retries_take_effect_once() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        return;
    }
    let Some(cluster) = Cluster::start() else {
        panic!("the PostgreSQL server programs (initdb, pg_ctl) are needed for this test");
    };
    let mut settings = Settings::for_database(cluster.url());
    settings.limits.rate_limit_per_minute = 0;
    let secret = settings.auth.jwt_secret.clone().unwrap();
    let token = crate::helpers::sign(&claims(Role::Coordinator), &secret);
    let application = Application::build(settings).await.unwrap();
    let address = format!("http://127.0.0.1:{}", application.port());
    tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::new();

    let db = sea_orm::Database::connect(cluster.url()).await.unwrap();
    let session = insert_session(
        &db,
        brochure_course(&db).await,
        None,
        Utc::now() + chrono::Duration::days(14),
        10,
    )
    .await;
    let session_id = SessionId(session.id).to_global();
    let mut people = Vec::new();
    for _ in 0..120 {
        people.push((insert_participant(&db).await.id, Uuid::new_v4().to_string()));
    }

    // The load: bookings arriving 5 ms apart; SIGKILL once twenty have been answered.
    let answered = Arc::new(AtomicUsize::new(0));
    let mut load = tokio::task::JoinSet::new();
    for (n, (person, key)) in people.iter().cloned().enumerate() {
        let (client, address, token, session_id, answered) = (
            client.clone(),
            address.clone(),
            token.clone(),
            session_id.clone(),
            answered.clone(),
        );
        load.spawn(async move {
            tokio::time::sleep(Duration::from_millis(5 * n as u64)).await;
            let answer = book(&client, &address, &token, &session_id, person, &key).await;
            if answer["errors"].is_null() {
                answered.fetch_add(1, Ordering::SeqCst);
            }
            (n, answer)
        });
    }
    while answered.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    cluster.kill();
    let mut first: Vec<Option<(String, String)>> = vec![None; people.len()];
    while let Some(done) = load.join_next().await {
        let (n, answer) = done.unwrap();
        first[n] = settled(&answer);
    }
    let done_before = first.iter().flatten().count();
    assert!(
        done_before >= 20 && done_before < people.len(),
        "the kill did not land mid-load: {done_before}"
    );

    cluster.run();
    // Every booking answered as done survived the crash, as answered.
    for (n, answer) in first.iter().enumerate() {
        if let Some((id, status)) = answer {
            let stored = enrolment::Entity::find_by_id(uuid_of(&json!(id)))
                .one(&db)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("booking {n} was answered {status} and is gone"));
            assert_eq!(stored.participant_id, people[n].0);
            assert_eq!(json!(stored.status), json!(status), "booking {n}");
        }
    }
    // Every booking again, with its key, until each is settled: answered ones are replayed as
    // they were; the rest take effect now, or were made before the crash and are replayed.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut retried: Vec<Option<(String, String)>> = vec![None; people.len()];
    // Made before the crash, though the client heard otherwise.
    let mut lost_answers = 0;
    while retried.iter().any(Option::is_none) {
        assert!(Instant::now() < deadline, "retries did not settle");
        for (n, (person, key)) in people.iter().enumerate() {
            if retried[n].is_none() {
                let answer = book(&client, &address, &token, &session_id, *person, key).await;
                retried[n] = settled(&answer);
                if first[n].is_none() && answer["data"]["bookSeat"]["replayed"] == true {
                    lost_answers += 1;
                }
                if let (Some(before), Some(now)) = (&first[n], &retried[n]) {
                    assert_eq!(before, now, "booking {n}");
                    assert_eq!(answer["data"]["bookSeat"]["replayed"], true, "{answer}");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "{done_before} answered as done before the kill, {} after retries, {lost_answers} of them made before it",
        people.len() - done_before
    );
    // Exactly one effect each: one enrolment per person, ten seats, a queue without repeats.
    let rows = enrolment::Entity::find()
        .filter(enrolment::Column::SessionId.eq(session.id))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(rows.len(), people.len());
    let persons: HashSet<Uuid> = rows.iter().map(|e| e.participant_id).collect();
    assert_eq!(persons.len(), people.len());
    let confirmed = rows
        .iter()
        .filter(|e| e.status == EnrolmentStatus::Confirmed)
        .count();
    assert_eq!(confirmed, 10);
    let queue: HashSet<Option<i64>> = rows
        .iter()
        .filter(|e| e.status == EnrolmentStatus::Waitlisted)
        .map(|e| e.queue_number)
        .collect();
    assert_eq!(queue.len(), people.len() - 10);
    // And once more: nothing changes.
    for (n, (person, key)) in people.iter().enumerate() {
        let answer = book(&client, &address, &token, &session_id, *person, key).await;
        assert_eq!(answer["data"]["bookSeat"]["replayed"], true, "{answer}");
        assert_eq!(settled(&answer), retried[n], "booking {n}");
    }
    let after = enrolment::Entity::find()
        .filter(enrolment::Column::SessionId.eq(session.id))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(after as usize, people.len());
}
