//! Reports at the scale of years of trainings: 100,000 enrolments of 20,000 made-up officials
//! (each with a role and one of the 342 municipalities) in 1,000 sessions of 50 courses in 2026.
//! Measured: a year × course × province table over HTTP, as a dashboard asks it, one request at a
//! time, suppression included; and the same answer computed in-process (`reporting::answer`),
//! without HTTP and GraphQL, to see where the time goes: with the protection computed (new
//! counts) and reused (counts unchanged since the last answer).
//!
//! `cargo bench --bench reports` measures on SQLite and, with `TEST_DATABASE_URL`, on PostgreSQL.

mod common;

use std::time::{Duration, Instant};

use api::{
    auth::Role,
    reporting::{self, Dimension, Measure, ProtectionCache, Question, periods::Unit},
};
use chrono::{NaiveDate, TimeZone, Utc};
use common::{Measured, on_each_database, peak_memory_mib, post, run, start};
use entity::{
    course, enrolment,
    enums::{EnrolmentStatus, ParticipantRole, SessionStatus},
    municipality, participant, session,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

const COURSES: usize = 50;
const SESSIONS_PER_COURSE: usize = 20;
const PEOPLE: usize = 20_000;
const PER_SESSION: usize = 100;
const REQUESTS: usize = 20;

const REPORT: &str = "query($input: ReportInput!) { report(input: $input) { suppressedCells cells { keys value status } } }";

/// xorshift64*, seeded: the same data on every run.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
}

async fn load(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    let mut random = Random(0x5eed_0014);
    let now = Utc::now();
    let brochure = course::Entity::find()
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no demo course"))?;
    let courses: Vec<Uuid> = (0..COURSES).map(|_| Uuid::new_v4()).collect();
    let rows = courses.iter().enumerate().map(|(i, id)| {
        let mut copy: course::ActiveModel = brochure.clone().into();
        copy.id = Set(*id);
        copy.slug = Set(format!("{}-{i}", brochure.slug));
        copy.title = Set(format!("{} ({i})", brochure.title));
        copy
    });
    course::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    let mut sessions = Vec::new();
    for course_id in &courses {
        for s in 0..SESSIONS_PER_COURSE {
            // Spread over January to November 2026, all in the past.
            let day = 5 + (s * 320 / SESSIONS_PER_COURSE) as i64 + random.below(5) as i64;
            let starts_at =
                Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap() + chrono::Duration::days(day);
            sessions.push(session::ActiveModel {
                id: Set(Uuid::new_v4()),
                course_id: Set(*course_id),
                location_id: Set(None),
                starts_at: Set(starts_at),
                ends_at: Set(starts_at + chrono::Duration::hours(7)),
                capacity: Set(PER_SESSION as i32),
                status: Set(SessionStatus::Completed),
                booking_opens_at: Set(None),
                booking_closes_at: Set(None),
                is_demo: Set(false),
                booking_open: Set(false),
                availability_version: Set(0),
                actors_needed: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
    }
    let session_ids: Vec<Uuid> = sessions.iter().map(|s| *s.id.as_ref()).collect();
    for chunk in sessions.chunks(500) {
        session::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    let municipalities: Vec<Uuid> = municipality::Entity::find()
        .filter(municipality::Column::ProvinceCode.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let roles = [
        ParticipantRole::Mayor,
        ParticipantRole::Alderman,
        ParticipantRole::Alderman,
        ParticipantRole::Alderman,
        ParticipantRole::MunicipalSecretary,
    ];
    let people: Vec<participant::ActiveModel> = (0..PEOPLE)
        .map(|i| participant::ActiveModel {
            id: Set(Uuid::new_v4()),
            full_name: Set(format!("Deelnemer {i}")),
            email: Set(format!("deelnemer-{i}@example.invalid")),
            email_skeleton: Set(None),
            phone: Set(None),
            role: Set(roles[random.below(roles.len())]),
            // One in twenty without a municipality.
            municipality_id: Set(
                (random.below(20) > 0).then(|| municipalities[random.below(municipalities.len())])
            ),
            created_at: Set(now),
            updated_at: Set(now),
            erased_at: Set(None),
        })
        .collect();
    let person_ids: Vec<Uuid> = people.iter().map(|p| *p.id.as_ref()).collect();
    for chunk in people.chunks(1000) {
        participant::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    let mut enrolments = Vec::with_capacity(session_ids.len() * PER_SESSION);
    for (s, session_id) in session_ids.iter().enumerate() {
        for seat in 0..PER_SESSION {
            // Each person takes five sessions, none twice.
            let person = person_ids[(s * PER_SESSION + seat) % PEOPLE];
            let status = match random.below(20) {
                0 => EnrolmentStatus::NoShow,
                1 => EnrolmentStatus::Cancelled,
                _ => EnrolmentStatus::Attended,
            };
            enrolments.push(enrolment::ActiveModel {
                id: Set(Uuid::new_v4()),
                session_id: Set(*session_id),
                participant_id: Set(person),
                status: Set(status),
                waitlisted_at: Set(None),
                queue_number: Set(None),
                moved_from_id: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
    }
    for chunk in enrolments.chunks(1000) {
        enrolment::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

fn question(measure: Measure) -> Question {
    Question {
        measure,
        dimensions: vec![Dimension::Course, Dimension::Province],
        unit: Unit::Year,
        from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
        to: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(),
    }
}

fn in_process(name: &'static str, latencies: Vec<Duration>, wall: Duration) -> Measured {
    Measured {
        name,
        latencies,
        wall,
    }
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rows = runtime.block_on(on_each_database(|backend, url| async move {
        let service = start(&url).await?;
        let begun = Instant::now();
        load(&service.db).await?;
        eprintln!(
            "{backend}: loaded in {:.1} s",
            begun.elapsed().as_secs_f64()
        );
        let token = service
            .jwt
            .issue("bench", Role::Administrator, None, 3600)?;
        let mut rows = Vec::new();
        for (measure, cold, warm, http_name) in [
            (
                Measure::Enrolments,
                "in-process, computed: ENROLMENTS year × course × province",
                "in-process, counts unchanged: ENROLMENTS year × course × province",
                "HTTP: ENROLMENTS year × course × province",
            ),
            (
                Measure::Attended,
                "in-process, computed: ATTENDED year × course × province",
                "in-process, counts unchanged: ATTENDED year × course × province",
                "HTTP: ATTENDED year × course × province",
            ),
        ] {
            let q = question(measure);
            let variables = json!({ "input": {
                "measure": measure.code(),
                "dimensions": ["COURSE", "PROVINCE"],
                "period": { "unit": "YEAR", "from": "2026-01-01", "to": "2026-12-31" },
            } });
            // Warm up, and say how much the answer hides.
            let kept = ProtectionCache::default();
            let answer = reporting::answer(&service.db, &q, 5, &kept, Utc::now()).await?;
            eprintln!(
                "{backend}: {} cells, {} suppressed",
                answer.cells.len(),
                answer.suppressed()
            );
            // Every answer counts in the database; the protection is computed when the counts
            // are new (a fresh cache each time) or reused when they are not.
            for (name, fresh) in [(cold, true), (warm, false)] {
                let mut latencies = Vec::new();
                let started = Instant::now();
                for _ in 0..REQUESTS {
                    let new = ProtectionCache::default();
                    let cache = if fresh { &new } else { &kept };
                    let begun = Instant::now();
                    reporting::answer(&service.db, &q, 5, cache, Utc::now()).await?;
                    latencies.push(begun.elapsed());
                }
                rows.push(in_process(name, latencies, started.elapsed()).row(backend));
            }
            let body = json!({ "query": REPORT, "variables": variables });
            let measured = run(http_name, REQUESTS, 1, |_| {
                post(&service, Some(&token), body.clone())
            })
            .await?;
            rows.push(measured.row(backend));
        }
        Ok(rows)
    }))?;
    println!("| database | scenario | requests | per second | p50 ms | p95 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    if let Some(peak) = peak_memory_mib() {
        println!("\npeak resident memory (service and load generator): {peak:.0} MiB");
    }
    Ok(())
}
