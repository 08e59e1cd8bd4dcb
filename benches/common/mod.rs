//! What the benchmarks share: the real service on port 0, a database of their own on SQLite and
//! (with `TEST_DATABASE_URL`) on PostgreSQL, sessions to book into, and latency tables.

#![allow(dead_code)] // each benchmark uses its own part

use std::{
    future::Future,
    time::{Duration, Instant},
};

use api::{Application, Settings, auth::jwt::JwtKeys};
use chrono::Utc;
use entity::{course, enums::*, session};
use futures_util::{StreamExt, stream};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    QueryFilter,
};
use serde_json::Value;
use uuid::Uuid;

pub struct Service {
    pub address: String,
    pub jwt: JwtKeys,
    pub db: DatabaseConnection,
    pub client: reqwest::Client,
}

/// Starts the service on `database_url`, without rate limits (the load generator is one
/// caller), with a pool of 16.
pub async fn start(database_url: &str) -> anyhow::Result<Service> {
    let mut settings = Settings::for_database(database_url);
    settings.limits.rate_limit_per_minute = 0;
    settings.limits.rate_limit_anonymous_per_minute = 0;
    // The load generator is one address with up to a thousand requests in flight.
    settings.limits.max_connections_per_address = 10_000;
    settings.database_max_connections = 16;
    // One secret for every service a benchmark starts: a token works with each of them.
    settings.auth.jwt_secret = Some("benchmark-secret-shared-by-the-services".into());
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

/// `count` sessions of the demo course with `capacity` seats, open for booking.
pub async fn sessions(service: &Service, count: usize, capacity: i32) -> anyhow::Result<Vec<Uuid>> {
    let course = course::Entity::find()
        .filter(course::Column::Status.eq(CourseStatus::Published))
        .one(&service.db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no demo course"))?;
    let now = Utc::now();
    let ids: Vec<Uuid> = (0..count).map(|_| Uuid::new_v4()).collect();
    for chunk in ids.chunks(500) {
        let rows = chunk.iter().enumerate().map(|(index, id)| {
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
    }
    Ok(ids)
}

/// Posts a GraphQL request; an answer with errors is a failed run.
pub async fn post(service: &Service, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
    let mut request = service.client.post(&service.address).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer: Value = request.send().await?.json().await?;
    anyhow::ensure!(answer.get("errors").is_none(), "errors: {answer}");
    Ok(answer)
}

/// Latencies of one scenario, and how long it took in all.
pub struct Measured {
    pub name: &'static str,
    pub latencies: Vec<Duration>,
    pub wall: Duration,
}

impl Measured {
    pub fn row(&self, backend: &str) -> String {
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

/// Runs `jobs` with `in_flight` at a time; each job's latency is measured.
pub async fn run<F, Fut>(
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

/// Runs `measure` on a fresh SQLite file, then (with `TEST_DATABASE_URL`) on a fresh PostgreSQL
/// database; each is removed afterwards, also when the run fails.
pub async fn on_each_database<F, Fut>(measure: F) -> anyhow::Result<Vec<String>>
where
    F: Fn(&'static str, String) -> Fut,
    Fut: Future<Output = anyhow::Result<Vec<String>>>,
{
    let mut rows = Vec::new();
    let folder = std::env::temp_dir().join(format!("bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&folder)?;
    let sqlite = format!("sqlite://{}/bench.db?mode=rwc", folder.display());
    let result = measure("SQLite", sqlite).await;
    std::fs::remove_dir_all(&folder)?;
    rows.extend(result?);

    if let Some(admin_url) = postgres_admin_url() {
        let (url, name) = create_postgres_database(&admin_url).await?;
        let result = measure("PostgreSQL", url).await;
        drop_postgres_database(&admin_url, &name).await?;
        rows.extend(result?);
    }
    Ok(rows)
}

pub fn postgres_admin_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A new database on the server of `admin_url`: its URL and name.
pub async fn create_postgres_database(admin_url: &str) -> anyhow::Result<(String, String)> {
    let name = format!("bench_{}", Uuid::new_v4().simple());
    let admin = Database::connect(admin_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    admin.close().await?;
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
    Ok((format!("{base}/{name}"), name))
}

pub async fn drop_postgres_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let admin = Database::connect(admin_url).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    admin.close().await?;
    Ok(())
}

/// Peak resident memory of this process (service and load generator together), in MiB.
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
