//! Sync at the scale of a ministry's first load, end to end: the real service on port 0, GraphQL
//! over HTTP, beside a ceiling of the same rows written by the database alone.
//!
//! `cargo bench --bench sync` measures on SQLite and, with `TEST_DATABASE_URL`, on PostgreSQL.
//!
//! - load: 10,000 participants (`syncParticipants`), then 10,000 enrolments into 1,000 sessions
//!   of 10 seats (`syncEnrolments`, every one a booking with its rules, history, outbox row and
//!   audit row), in batches of 1,000, one request at a time, as a sync job sends them;
//! - resend: the same participant batches again: every row UNCHANGED, nothing written;
//! - ceiling: the same participant and enrolment rows copied into tables of the same shape
//!   (`COPY` on PostgreSQL; `INSERT … SELECT` in one transaction on SQLite, which has no COPY);
//! - feed: 100,000 changes (the 10,000 bookings and nine more changes each) read in pages of
//!   500, by the source's key (its scope, a join) and by an administrator (the whole feed); the
//!   ceiling is the same statement with the same cursors, by pgbench on PostgreSQL and straight
//!   through the driver on SQLite.

mod common;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use api::{
    auth::Role,
    domain::ids::SessionId,
    sync::{
        external_ids::Source,
        feed::{self, FeedCursor},
    },
};
use chrono::Utc;
use common::{Service, on_each_database, peak_memory_mib, post, sessions, start};
use entity::{
    enrolment, enrolment_change,
    enums::{EnrolmentChangeKind, EnrolmentStatus, MachineRole},
};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DbBackend, EntityTrait, Statement, TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

const ROWS: usize = 10_000;
const BATCH: usize = 1_000;
/// Changes per enrolment in the feed scenario: the booking and nine more.
const CHANGES_EACH: i32 = 10;
const PAGE: usize = 500;
const SOURCE: &str = "bench";

const SYNC_PARTICIPANTS: &str = "mutation($input: SyncParticipantsInput!) { syncParticipants(input: $input) { summary { created updated unchanged rejected } } }";
const SYNC_ENROLMENTS: &str = "mutation($input: SyncEnrolmentsInput!) { syncEnrolments(input: $input) { summary { created unchanged rejected } results { error { code message } } } }";
const CHANGES: &str = "query($after: String) { enrolmentChanges(first: 500, after: $after) { pageInfo { hasNextPage } edges { cursor node { enrolmentId change version } } } }";

fn row(backend: &str, scenario: &str, rows: usize, wall: Duration, note: &str) -> String {
    format!(
        "| {backend} | {scenario} | {rows} | {:.2} | {:.0} | {note} |",
        wall.as_secs_f64(),
        rows as f64 / wall.as_secs_f64()
    )
}

fn participant(n: usize) -> Value {
    json!({ "externalId": format!("p-{n}"), "fullName": format!("Bench {n}"),
            "email": format!("bench-{n}@example.invalid"), "role": "MAYOR" })
}

/// Sends `items` in batches of 1,000, one at a time; the total time and the slowest batch.
async fn send(
    service: &Service,
    key: &str,
    mutation: &str,
    field: &str,
    items: &[Value],
    expect: &str,
) -> anyhow::Result<(Duration, Duration)> {
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for batch in items.chunks(BATCH) {
        let begun = Instant::now();
        let answer = post(
            service,
            Some(key),
            json!({ "query": mutation, "variables": { "input": { "items": batch } } }),
        )
        .await?;
        slowest = slowest.max(begun.elapsed());
        let summary = &answer["data"][field]["summary"];
        anyhow::ensure!(
            summary[expect] == json!(batch.len()),
            "expected every row {expect}: {}",
            answer["data"][field]
        );
    }
    Ok((started.elapsed(), slowest))
}

async fn load(backend: &str, service: &Service, key: &str) -> anyhow::Result<Vec<String>> {
    let sessions = sessions(service, ROWS / 10, 10).await?;
    let people: Vec<Value> = (0..ROWS).map(participant).collect();
    let enrolments: Vec<Value> = (0..ROWS)
        .map(|n| {
            json!({ "externalId": format!("e-{n}"), "participantExternalId": format!("p-{n}"),
                    "sessionId": SessionId(sessions[n / 10]).to_global(), "status": "ACTIVE" })
        })
        .collect();
    let (people_wall, people_slowest) = send(
        service,
        key,
        SYNC_PARTICIPANTS,
        "syncParticipants",
        &people,
        "created",
    )
    .await?;
    let (enrolments_wall, enrolments_slowest) = send(
        service,
        key,
        SYNC_ENROLMENTS,
        "syncEnrolments",
        &enrolments,
        "created",
    )
    .await?;
    let (resend_wall, _) = send(
        service,
        key,
        SYNC_PARTICIPANTS,
        "syncParticipants",
        &people,
        "unchanged",
    )
    .await?;
    let slowest = |d: Duration| format!("slowest batch {:.2} s", d.as_secs_f64());
    Ok(vec![
        row(
            backend,
            "load: participants",
            ROWS,
            people_wall,
            &slowest(people_slowest),
        ),
        row(
            backend,
            "load: enrolments (bookings)",
            ROWS,
            enrolments_wall,
            &slowest(enrolments_slowest),
        ),
        row(
            backend,
            "load: both",
            2 * ROWS,
            people_wall + enrolments_wall,
            "",
        ),
        row(
            backend,
            "resend: participants, all unchanged",
            ROWS,
            resend_wall,
            "",
        ),
    ])
}

/// The same rows written by the database alone, into tables of the same shape and indexes.
async fn ceiling(backend: &str, database_url: &str, service: &Service) -> anyhow::Result<String> {
    let db = &service.db;
    let wall = if db.get_database_backend() == DbBackend::Postgres {
        let folder = tempfile::tempdir()?;
        let (people, enrolments) = (folder.path().join("p.csv"), folder.path().join("e.csv"));
        for table in ["participants", "enrolments"] {
            db.execute_unprepared(&format!(
                "CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)"
            ))
            .await?;
        }
        psql(
            database_url,
            &[
                format!("\\copy participants TO '{}' CSV", people.display()),
                format!("\\copy enrolments TO '{}' CSV", enrolments.display()),
            ],
        )?;
        let started = Instant::now();
        psql(
            database_url,
            &[
                format!("\\copy bench_participants FROM '{}' CSV", people.display()),
                format!(
                    "\\copy bench_enrolments FROM '{}' CSV",
                    enrolments.display()
                ),
            ],
        )?;
        started.elapsed()
    } else {
        for table in ["participants", "enrolments"] {
            let ddl: Vec<String> = db
                .query_all_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    format!(
                        "SELECT sql FROM sqlite_master WHERE tbl_name = '{table}' AND sql IS NOT NULL \
                         AND type IN ('table', 'index') ORDER BY type DESC"
                    ),
                ))
                .await?
                .into_iter()
                .map(|row| row.try_get::<String>("", "sql"))
                .collect::<Result<_, _>>()?;
            for statement in ddl {
                let statement = statement
                    .replace(&format!("\"{table}\""), &format!("\"bench_{table}\""))
                    .replacen("INDEX \"", "INDEX \"bench_", 1);
                db.execute_unprepared(&statement).await?;
            }
        }
        let started = Instant::now();
        let txn = db.begin().await?;
        txn.execute_unprepared("INSERT INTO bench_participants SELECT * FROM participants")
            .await?;
        txn.execute_unprepared("INSERT INTO bench_enrolments SELECT * FROM enrolments")
            .await?;
        txn.commit().await?;
        started.elapsed()
    };
    let how = if backend == "PostgreSQL" {
        "ceiling: COPY of the same rows"
    } else {
        "ceiling: INSERT … SELECT of the same rows"
    };
    Ok(row(backend, how, 2 * ROWS, wall, ""))
}

fn psql(database_url: &str, commands: &[String]) -> anyhow::Result<()> {
    let mut command = Command::new("psql");
    command.args(["-q", "-v", "ON_ERROR_STOP=1", database_url]);
    for line in commands {
        command.args(["-c", line]);
    }
    let output = command.output()?;
    anyhow::ensure!(
        output.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Nine more changes for each enrolment, in the source's scope, written straight to the tables.
async fn more_changes(service: &Service) -> anyhow::Result<usize> {
    let enrolments = enrolment::Entity::find().all(&service.db).await?;
    let now = Utc::now();
    let mut rows = Vec::new();
    for enrolment in &enrolments {
        for version in 2..=CHANGES_EACH {
            rows.push(enrolment_change::ActiveModel {
                id: Set(Uuid::new_v4()),
                enrolment_id: Set(enrolment.id),
                change: Set(EnrolmentChangeKind::Attended),
                from_status: Set(Some(EnrolmentStatus::Confirmed)),
                to_status: Set(EnrolmentStatus::Confirmed),
                actor: Set("bench".into()),
                actor_role: Set("administrator".into()),
                reason: Set(None),
                occurred_at: Set(now),
                version: Set(version),
                xact: NotSet,
                position: NotSet,
            });
        }
    }
    let txn = service.db.begin().await?;
    for chunk in rows.chunks(1000) {
        enrolment_change::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    // In the source's scope, as the service records it, with the places the database gave.
    txn.execute_unprepared(&format!(
        "INSERT INTO enrolment_change_sources (change_id, source, xact, position) \
         SELECT c.id, '{SOURCE}', c.xact, c.position FROM enrolment_changes c \
         WHERE c.actor = 'bench'"
    ))
    .await?;
    txn.commit().await?;
    // Statistics as autovacuum would soon have them: both the service and the ceiling then
    // read with the plans a settled database gets.
    service.db.execute_unprepared("ANALYZE").await?;
    Ok(rows.len() + enrolments.len())
}

/// Reads the whole feed in pages of 500; the cursors each page started after.
async fn read_feed(service: &Service, token: &str) -> anyhow::Result<(usize, Vec<FeedCursor>)> {
    let (mut after, mut seen, mut cursors) = (Value::Null, 0, Vec::new());
    loop {
        let answer = post(
            service,
            Some(token),
            json!({ "query": CHANGES, "variables": { "after": after } }),
        )
        .await?;
        let page = &answer["data"]["enrolmentChanges"];
        let edges = page["edges"].as_array().cloned().unwrap_or_default();
        cursors.push(
            after
                .as_str()
                .and_then(FeedCursor::decode)
                // Before every change (the feed's own start is i64::MIN, which pgbench's
                // expressions cannot spell).
                .unwrap_or(FeedCursor {
                    epoch: Uuid::nil(),
                    xact: -1,
                    position: -1,
                }),
        );
        seen += edges.len();
        if let Some(last) = edges.last() {
            after = last["cursor"].clone();
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return Ok((seen, cursors));
        }
    }
}

/// The same page statements with the same cursors, without the service: pgbench on
/// PostgreSQL (prepared, as the driver does), the driver itself on SQLite.
async fn feed_ceiling(
    service: &Service,
    database_url: &str,
    cursors: &[FeedCursor],
    scoped: bool,
) -> anyhow::Result<Duration> {
    let limit = (PAGE + 1) as i64;
    if service.db.get_database_backend() == DbBackend::Postgres {
        let sql = feed::page_sql(true, scoped)
            .replace("$1", ":x")
            .replace("$2", ":p")
            .replace("$3", if scoped { ":s" } else { ":l" })
            .replace("$4", ":l");
        let mut script = format!("\\set l {limit}\n");
        for cursor in cursors {
            script.push_str(&format!(
                "\\set x {}\n\\set p {}\n{sql};\n",
                cursor.xact, cursor.position
            ));
        }
        script = script.replace(":s", &format!("'{SOURCE}'"));
        let folder = tempfile::tempdir()?;
        let file = folder.path().join("pages.sql");
        std::fs::write(&file, script)?;
        let runs = 5;
        let output = Command::new("pgbench")
            .args([
                "-n",
                "-M",
                "prepared",
                "-c",
                "1",
                "-t",
                &runs.to_string(),
                "-f",
            ])
            .arg(&file)
            .arg(database_url)
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "pgbench: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report = String::from_utf8_lossy(&output.stdout);
        let latency_ms: f64 = report
            .lines()
            .find_map(|line| line.strip_prefix("latency average = "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|ms| ms.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("no latency in pgbench's report: {report}"))?;
        Ok(Duration::from_secs_f64(latency_ms / 1000.0))
    } else {
        let sql = feed::page_sql(false, scoped).replace('$', "?");
        let started = Instant::now();
        for cursor in cursors {
            let mut values: Vec<sea_orm::Value> = vec![cursor.xact.into(), cursor.position.into()];
            if scoped {
                values.push(SOURCE.into());
            }
            values.push(limit.into());
            service
                .db
                .query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    &sql,
                    values,
                ))
                .await?;
        }
        Ok(started.elapsed())
    }
}

async fn feed_scenarios(
    backend: &str,
    database_url: &str,
    service: &Service,
    key: &str,
) -> anyhow::Result<Vec<String>> {
    let total = more_changes(service).await?;
    let admin = service
        .jwt
        .issue("bench-administrator", Role::Administrator, None, 3600)?;
    let mut rows = Vec::new();
    for (who, token, scoped) in [
        ("source's key", key, true),
        ("administrator", &admin, false),
    ] {
        let started = Instant::now();
        let (seen, cursors) = read_feed(service, token).await?;
        let wall = started.elapsed();
        anyhow::ensure!(seen >= total, "read {seen} of {total} changes");
        let note = format!("{} pages", cursors.len());
        rows.push(row(
            backend,
            &format!("feed: read by the {who}"),
            seen,
            wall,
            &note,
        ));
        let ceiling = feed_ceiling(service, database_url, &cursors, scoped).await?;
        let how = if backend == "PostgreSQL" {
            "pgbench, same statements"
        } else {
            "driver, same statements"
        };
        rows.push(row(
            backend,
            &format!("feed ceiling ({who}): {how}"),
            seen,
            ceiling,
            "",
        ));
    }
    Ok(rows)
}

async fn measure(backend: &'static str, database_url: String) -> anyhow::Result<Vec<String>> {
    let service = start(&database_url).await?;
    let source = Source::parse(SOURCE).map_err(anyhow::Error::msg)?;
    let (_, key) = api::db::api_key::create_api_key_for(
        &service.db,
        "Bench sync",
        MachineRole::SyncClient,
        Some(&source),
    )
    .await?;
    let mut rows = load(backend, &service, &key).await?;
    rows.push(ceiling(backend, &database_url, &service).await?);
    rows.extend(feed_scenarios(backend, &database_url, &service, &key).await?);
    Ok(rows)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rows = on_each_database(measure).await?;
    println!("| database | scenario | rows | seconds | rows per second | note |");
    println!("|---|---|---|---|---|---|");
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
