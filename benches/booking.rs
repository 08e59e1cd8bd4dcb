//! The booking path under load, end to end: the real service on port 0, GraphQL over HTTP.
//!
//! `cargo bench --bench booking` measures on SQLite (a temporary file) and, with
//! `TEST_DATABASE_URL` set, on PostgreSQL too (in a database of its own, dropped afterwards).
//! It prints a Markdown table; BENCHMARKS.md keeps the figures with the machine they came from.
//!
//! Scenarios:
//! - spread: 1000 participants book into 100 sessions of 10 seats, 32 requests in flight;
//! - contended: 200 participants book one 10-seat session at once (10 seats, 190 waiting);
//! - read: the programme page (`sessions(first: 20)` with course, location and seats), 32 in flight;
//! - messages: a second service process on the same database, dispatching, sends the backlog the
//!   bookings left in the outbox (1200 messages) to an SMTP server on loopback.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use api::{Application, Settings, auth::Role, auth::jwt::JwtKeys, domain::ids::SessionId};
use chrono::Utc;
use entity::{course, enums::*, outbox_event, participant, session};
use futures_util::{StreamExt, stream};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;

const BOOK: &str = "mutation($s: ID!) { bookSeat(input: { sessionId: $s }) { status waitingListPlace userErrors { code } } }";
const PROGRAMME: &str = "{ sessions(first: 20) { edges { node { id localStartsAt seatsLeft waitingListLength course { title } location { name city } } } } }";

struct Service {
    address: String,
    jwt: JwtKeys,
    db: DatabaseConnection,
    client: reqwest::Client,
}

/// Latencies of one scenario, and how long it took in all.
struct Measured {
    name: &'static str,
    latencies: Vec<Duration>,
    wall: Duration,
}

impl Measured {
    fn row(&self, backend: &str) -> String {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let at = |q: f64| {
            let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
            sorted[index].as_secs_f64() * 1000.0
        };
        format!(
            "| {backend} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} |",
            self.name,
            sorted.len(),
            sorted.len() as f64 / self.wall.as_secs_f64(),
            at(0.5),
            at(0.95),
            at(0.99),
        )
    }
}

async fn start(database_url: &str) -> anyhow::Result<Service> {
    let mut settings = Settings::for_database(database_url);
    // The benchmark is one caller per participant at most, but the read scenario is anonymous.
    settings.limits.rate_limit_per_minute = 0;
    settings.limits.rate_limit_anonymous_per_minute = 0;
    settings.database_max_connections = 16;
    let jwt = JwtKeys::from_settings(&settings.auth)?;
    let application = Application::build(settings).await?;
    let address = format!("http://127.0.0.1:{}/graphql", application.port());
    tokio::spawn(application.run_until_stopped());
    let db = Database::connect(database_url).await?;
    Ok(Service {
        address,
        jwt,
        db,
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?,
    })
}

async fn sessions(service: &Service, count: usize, capacity: i32) -> anyhow::Result<Vec<Uuid>> {
    let course = course::Entity::find()
        .filter(course::Column::Status.eq(CourseStatus::Published))
        .one(&service.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no demo course"))?;
    let now = Utc::now();
    let ids: Vec<Uuid> = (0..count).map(|_| Uuid::new_v4()).collect();
    let rows = ids.iter().enumerate().map(|(index, id)| {
        let starts_at = now + chrono::Duration::days(7 + index as i64);
        session::ActiveModel {
            id: Set(*id),
            course_id: Set(course.id),
            location_id: Set(None),
            starts_at: Set(starts_at),
            ends_at: Set(starts_at + chrono::Duration::hours(7)),
            capacity: Set(capacity),
            status: Set(SessionStatus::Scheduled),
            booking_opens_at: Set(None),
            booking_closes_at: Set(None),
            is_demo: Set(false),
            booking_open: Set(true),
            availability_version: Set(0),
            actors_needed: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
    });
    session::Entity::insert_many(rows)
        .exec_without_returning(&service.db)
        .await?;
    Ok(ids)
}

/// Made-up participants (mayors), each with their own token.
async fn participants(service: &Service, count: usize) -> anyhow::Result<Vec<String>> {
    let now = Utc::now();
    let ids: Vec<Uuid> = (0..count).map(|_| Uuid::new_v4()).collect();
    for chunk in ids.chunks(200) {
        let rows = chunk.iter().map(|id| participant::ActiveModel {
            id: Set(*id),
            full_name: Set(format!("Bench {}", id.simple())),
            email: Set(format!("bench-{}@example.invalid", id.simple())),
            email_skeleton: Set(None),
            phone: Set(None),
            role: Set(ParticipantRole::Mayor),
            municipality_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        });
        participant::Entity::insert_many(rows)
            .exec_without_returning(&service.db)
            .await?;
    }
    ids.iter()
        .map(|id| {
            service
                .jwt
                .issue(&format!("bench-{id}"), Role::Participant, Some(*id), 3600)
        })
        .collect()
}

async fn post(service: &Service, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
    let mut request = service.client.post(&service.address).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer: Value = request.send().await?.json().await?;
    anyhow::ensure!(answer.get("errors").is_none(), "errors: {answer}");
    Ok(answer)
}

/// Runs `jobs` with `in_flight` at a time; each job's latency is measured.
async fn run<F, Fut>(
    name: &'static str,
    jobs: usize,
    in_flight: usize,
    job: F,
) -> anyhow::Result<Measured>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Value>>,
{
    let started = Instant::now();
    let latencies: Vec<anyhow::Result<Duration>> = stream::iter(0..jobs)
        .map(|index| {
            let future = job(index);
            async move {
                let begun = Instant::now();
                future.await?;
                Ok(begun.elapsed())
            }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let wall = started.elapsed();
    Ok(Measured {
        name,
        latencies: latencies.into_iter().collect::<anyhow::Result<_>>()?,
        wall,
    })
}

async fn scenarios(backend: &str, database_url: &str) -> anyhow::Result<Vec<String>> {
    let service = Arc::new(start(database_url).await?);
    let mut rows = Vec::new();

    let spread = sessions(&service, 100, 10).await?;
    let tokens = participants(&service, 1000).await?;
    let measured = run("spread: 1000 bookings, 100 sessions", 1000, 32, |index| {
        let service = service.clone();
        let token = tokens[index].clone();
        let session = SessionId(spread[index % spread.len()]).to_global();
        async move {
            post(
                &service,
                Some(&token),
                json!({ "query": BOOK, "variables": { "s": session } }),
            )
            .await
        }
    })
    .await?;
    rows.push(measured.row(backend));

    let one = sessions(&service, 1, 10).await?;
    let tokens = participants(&service, 200).await?;
    let session = SessionId(one[0]).to_global();
    let measured = run("contended: 200 bookings, 1 session", 200, 200, |index| {
        let service = service.clone();
        let token = tokens[index].clone();
        let session = session.clone();
        async move {
            post(
                &service,
                Some(&token),
                json!({ "query": BOOK, "variables": { "s": session } }),
            )
            .await
        }
    })
    .await?;
    rows.push(measured.row(backend));

    let measured = run("read: programme page", 2000, 32, |_| {
        let service = service.clone();
        async move { post(&service, None, json!({ "query": PROGRAMME })).await }
    })
    .await?;
    rows.push(measured.row(backend));
    Ok(rows)
}

/// An SMTP server on loopback that counts what it receives (mailin-embedded).
#[derive(Clone)]
struct Counting(Arc<AtomicUsize>);

impl mailin_embedded::Handler for Counting {
    fn data_end(&mut self) -> mailin_embedded::Response {
        self.0.fetch_add(1, Ordering::Relaxed);
        mailin_embedded::response::OK
    }
}

fn smtp_server() -> anyhow::Result<(u16, Arc<AtomicUsize>)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let received = Arc::new(AtomicUsize::new(0));
    let mut server = mailin_embedded::Server::new(Counting(received.clone()));
    server.with_num_threads(16).with_tcp_listener(listener);
    // Serves until the benchmark ends.
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    Ok((port, received))
}

/// Starts a dispatching service on the database and times how long it takes to send what is
/// waiting in the outbox.
async fn messages(backend: &str, database_url: &str) -> anyhow::Result<String> {
    let db = Database::connect(database_url).await?;
    let pending = outbox_event::Entity::find()
        .filter(outbox_event::Column::Status.eq(OutboxStatus::Pending))
        .count(&db)
        .await?;
    let pending = usize::try_from(pending)?;
    let (port, received) = smtp_server()?;
    let mut settings = Settings::for_database(database_url);
    settings.messages.dispatch = true;
    settings.messages.smtp_host = Some("127.0.0.1".into());
    settings.messages.smtp_port = Some(port);
    settings.messages.smtp_tls = api::config::SmtpTls::None;
    settings.messages.poll_ms = 50;
    let started = Instant::now();
    let application = Application::build(settings).await?;
    tokio::spawn(application.run_until_stopped());
    while received.load(Ordering::Relaxed) < pending {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {} of {pending} messages in ten minutes",
            received.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall = started.elapsed();
    Ok(format!(
        "| {backend} | messages: {pending} waiting, sent to SMTP on loopback | {pending} | {:.0} | | | |",
        pending as f64 / wall.as_secs_f64()
    ))
}

/// Peak resident memory of this process (service and load generator together), in MiB.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut rows = Vec::new();

    let folder = std::env::temp_dir().join(format!("booking-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&folder)?;
    let sqlite = format!("sqlite://{}/bench.db?mode=rwc", folder.display());
    let mut result = scenarios("SQLite", &sqlite).await;
    if let Ok(rows) = &mut result {
        rows.push(messages("SQLite", &sqlite).await?);
    }
    std::fs::remove_dir_all(&folder)?;
    rows.extend(result?);

    if let Some(admin_url) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        let name = format!("bench_{}", Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        let mut result = scenarios("PostgreSQL", &url).await;
        if let Ok(rows) = &mut result {
            rows.push(messages("PostgreSQL", &url).await?);
        }
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
        rows.extend(result?);
    }

    println!("| database | scenario | requests | per second | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    if let Some(peak) = peak_memory_mib() {
        println!(
            "\nPeak resident memory of the process (service and load generator): {peak:.0} MiB"
        );
    }
    Ok(())
}
