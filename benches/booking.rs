//! The booking path under load, end to end: the real service on port 0, GraphQL over HTTP.
//!
//! `cargo bench --bench booking` measures on SQLite (a temporary file) and, with
//! `TEST_DATABASE_URL` set, on PostgreSQL too (in a database of its own, dropped afterwards).
//! It prints a Markdown table; BENCHMARKS.md keeps the figures with the machine they came from.
//!
//! Scenarios:
//! - spread: 1000 participants book into 100 sessions of 10 seats, 32 requests in flight;
//! - contended: 200 participants book one 10-seat session at once (10 seats, 190 waiting);
//! - rush: 1000 participants book one 10-seat session at once through two service processes
//!   (10 seats, 990 waiting with distinct places, checked);
//! - read: the programme page (`sessions(first: 20)` with course, location and seats), 32 in flight;
//! - messages: a second service process on the same database, dispatching, sends the backlog the
//!   bookings left in the outbox to an SMTP server on loopback.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use api::{Application, Settings, auth::Role, domain::ids::SessionId};
use chrono::Utc;
use common::{Service, on_each_database, peak_memory_mib, post, run, sessions, start};
use entity::{enrolment, enums::*, outbox_event, participant};
use sea_orm::{ActiveValue::Set, ColumnTrait, Database, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

const BOOK: &str = "mutation($s: ID!) { bookSeat(input: { sessionId: $s }) { status waitingListPlace userErrors { code } } }";
const PROGRAMME: &str = "{ sessions(first: 20) { edges { node { id localStartsAt seatsLeft waitingListLength course { title } location { name city } } } } }";

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
            erased_at: Set(None),
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

/// A participant books `session` with their own token, through `service`.
async fn book(
    service: Arc<Service>,
    token: String,
    session: String,
) -> anyhow::Result<serde_json::Value> {
    post(
        &service,
        Some(&token),
        json!({ "query": BOOK, "variables": { "s": session } }),
    )
    .await
}

async fn scenarios(backend: &str, database_url: &str) -> anyhow::Result<Vec<String>> {
    let service = Arc::new(start(database_url).await?);
    let mut rows = Vec::new();

    let spread = sessions(&service, 100, 10).await?;
    let tokens = participants(&service, 1000).await?;
    let measured = run("spread: 1000 bookings, 100 sessions", 1000, 32, |index| {
        let session = SessionId(spread[index % spread.len()]).to_global();
        book(service.clone(), tokens[index].clone(), session)
    })
    .await?;
    rows.push(measured.row(backend));

    let one = sessions(&service, 1, 10).await?;
    let tokens = participants(&service, 200).await?;
    let session = SessionId(one[0]).to_global();
    let measured = run("contended: 200 bookings, 1 session", 200, 200, |index| {
        book(service.clone(), tokens[index].clone(), session.clone())
    })
    .await?;
    rows.push(measured.row(backend));

    // The rush: 1000 at once into one session, through two processes (a second service on the
    // same database); every booking waits for the same session lock.
    let second = Arc::new(start(database_url).await?);
    let one = sessions(&service, 1, 10).await?;
    let tokens = participants(&service, 1000).await?;
    let session = SessionId(one[0]).to_global();
    let measured = run(
        "rush: 1000 bookings, 1 session, 2 processes",
        1000,
        1000,
        |index| {
            let through = if index % 2 == 0 { &service } else { &second };
            book(through.clone(), tokens[index].clone(), session.clone())
        },
    )
    .await?;
    let settled = enrolment::Entity::find()
        .filter(enrolment::Column::SessionId.eq(one[0]))
        .all(&service.db)
        .await?;
    let confirmed = settled
        .iter()
        .filter(|e| e.status == EnrolmentStatus::Confirmed)
        .count();
    let places: std::collections::HashSet<_> = settled
        .iter()
        .filter(|e| e.status == EnrolmentStatus::Waitlisted)
        .map(|e| e.queue_number)
        .collect();
    anyhow::ensure!(
        confirmed == 10 && places.len() == 990,
        "the rush was not settled right: {confirmed} confirmed, {} distinct places",
        places.len()
    );
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rows = on_each_database(|backend, url| async move {
        let mut rows = scenarios(backend, &url).await?;
        rows.push(messages(backend, &url).await?);
        Ok(rows)
    })
    .await?;
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
