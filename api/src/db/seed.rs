//! Demo data for a fresh install: the brochure's course (`api/seed/brochure.toml`), its
//! organisations, a demo location and a few demo sessions in the coming weeks.
//!
//! Loaded once: ids are derived from slugs, everything goes in one transaction, and a database
//! that already has the course is left alone, so restarts (or two processes starting at once)
//! never duplicate it.

use anyhow::Context;
use chrono::{DateTime, Datelike, Days, NaiveTime, Utc, Weekday};
use entity::{
    course, course_audience_role, course_goal, enrolment, enums::*, feedback, location, module,
    module_topic, organisation, participant, session,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait,
    TransactionTrait,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::time;

const BROCHURE: &str = include_str!("../../seed/brochure.toml");

/// Namespace of the ids of demo data, so the same row always gets the same id.
const SEED_NAMESPACE: Uuid = Uuid::from_u128(0x5d1c_0f2e_8a47_4c3b_9e61_0b7d_2a94_c3f8);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Brochure {
    pub organisations: Vec<OrganisationSeed>,
    pub demo_location: LocationSeed,
    pub demo_sessions: DemoSessions,
    pub demo_participant: ParticipantSeed,
    pub course: CourseSeed,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantSeed {
    pub key: String,
    pub full_name: String,
    pub email: String,
    pub role: ParticipantRole,
}

/// The id of the demo participant, the same in every install.
pub fn demo_participant_id() -> Uuid {
    seed_id("participant", "demo")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationSeed {
    pub slug: String,
    pub name: String,
    pub parent: Option<String>,
    pub service_desk_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub street_address: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub registration_method: RegistrationMethod,
    pub registration_instructions: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationSeed {
    pub name: String,
    pub street_address: String,
    pub postal_code: String,
    pub city: String,
    pub directions: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSessions {
    pub weeks_ahead: Vec<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseSeed {
    pub slug: String,
    pub title: String,
    pub subtitle: String,
    pub audience: String,
    pub audience_roles: Vec<ParticipantRole>,
    pub theme: String,
    pub status: CourseStatus,
    pub max_participants: i32,
    pub duration_days: i32,
    pub daily_start_time: NaiveTime,
    pub daily_end_time: NaiveTime,
    pub alumni_count_before_platform: i32,
    pub cancellation_deadline_hours: i32,
    #[serde(default)]
    pub allow_repeat_enrolment: bool,
    pub provider: String,
    pub sponsor: String,
    pub introduction: String,
    pub method: String,
    pub goals: Vec<String>,
    pub modules: Vec<ModuleSeed>,
    pub testimonials: Vec<TestimonialSeed>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleSeed {
    pub title: String,
    pub description: Option<String>,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub children: Vec<ModuleSeed>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestimonialSeed {
    pub quote: String,
}

pub fn brochure() -> anyhow::Result<Brochure> {
    toml::from_str(BROCHURE).context("reading the demo data in api/seed/brochure.toml")
}

fn seed_id(kind: &str, key: &str) -> Uuid {
    Uuid::new_v5(&SEED_NAMESPACE, format!("{kind}:{key}").as_bytes())
}

/// Loads the demo data unless the course is already there; returns whether it loaded.
#[tracing::instrument(skip_all)]
pub async fn load_demo_data(db: &DatabaseConnection, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let brochure = brochure()?;
    let course_id = seed_id("course", &brochure.course.slug);
    if course::Entity::find_by_id(course_id)
        .one(db)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    let txn = db.begin().await?;
    let result = insert_demo_data(&txn, &brochure, now).await;
    match result {
        Ok(()) => {
            txn.commit().await.context("committing the demo data")?;
            tracing::info!(course.id = %course_id, "loaded the demo data");
            Ok(true)
        }
        // Another process may have loaded it at the same moment: then all is well.
        Err(error) => {
            drop(txn);
            if course::Entity::find_by_id(course_id)
                .one(db)
                .await?
                .is_some()
            {
                Ok(false)
            } else {
                Err(error.context("loading the demo data"))
            }
        }
    }
}

async fn insert_demo_data(
    db: &impl ConnectionTrait,
    brochure: &Brochure,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for org in &brochure.organisations {
        organisation::ActiveModel {
            id: Set(seed_id("organisation", &org.slug)),
            slug: Set(org.slug.clone()),
            name: Set(org.name.clone()),
            parent_id: Set(org.parent.as_deref().map(|p| seed_id("organisation", p))),
            service_desk_name: Set(org.service_desk_name.clone()),
            email: Set(org.email.clone()),
            phone: Set(org.phone.clone()),
            website: Set(org.website.clone()),
            street_address: Set(org.street_address.clone()),
            postal_code: Set(org.postal_code.clone()),
            city: Set(org.city.clone()),
            registration_method: Set(org.registration_method),
            registration_instructions: Set(org.registration_instructions.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?;
    }

    let c = &brochure.course;
    insert_course(db, c, &c.slug, &c.title, now).await?;

    let p = &brochure.demo_participant;
    participant::ActiveModel {
        id: Set(seed_id("participant", &p.key)),
        full_name: Set(p.full_name.clone()),
        email: Set(p.email.clone()),
        email_skeleton: Set(Some(crate::domain::email::skeleton_of(&p.email))),
        phone: Set(None),
        role: Set(p.role),
        municipality_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        erased_at: Set(None),
    }
    .insert(db)
    .await?;

    let course_id = seed_id("course", &c.slug);
    let l = &brochure.demo_location;
    let location_id = seed_id("location", "demo");
    location::ActiveModel {
        id: Set(location_id),
        name: Set(l.name.clone()),
        street_address: Set(Some(l.street_address.clone())),
        postal_code: Set(Some(l.postal_code.clone())),
        city: Set(l.city.clone()),
        directions: Set(Some(l.directions.clone())),
        is_demo: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;

    for weeks in &brochure.demo_sessions.weeks_ahead {
        let date = next_tuesday(now)
            .checked_add_days(Days::new(weeks * 7 - 7))
            .context("demo session date")?;
        let starts_at = time::from_local(date, c.daily_start_time).context("demo session start")?;
        let ends_at = time::from_local(date, c.daily_end_time).context("demo session end")?;
        session::ActiveModel {
            id: Set(seed_id("demo-session", &date.to_string())),
            course_id: Set(course_id),
            location_id: Set(Some(location_id)),
            starts_at: Set(starts_at),
            ends_at: Set(ends_at),
            capacity: Set(c.max_participants),
            status: Set(SessionStatus::Scheduled),
            booking_opens_at: Set(Some(now)),
            booking_closes_at: Set(Some(starts_at)),
            is_demo: Set(true),
            booking_open: Set(true),
            availability_version: Set(0),
            actors_needed: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// The brochure's course (its goals, audience, modules and testimonials) under `slug`; its id.
async fn insert_course(
    db: &impl ConnectionTrait,
    c: &CourseSeed,
    slug: &str,
    title: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Uuid> {
    let course_id = seed_id("course", slug);
    course::ActiveModel {
        id: Set(course_id),
        slug: Set(slug.to_owned()),
        title: Set(title.to_owned()),
        subtitle: Set(Some(c.subtitle.clone())),
        introduction: Set(c.introduction.clone()),
        method: Set(c.method.clone()),
        audience: Set(c.audience.clone()),
        theme: Set(Some(c.theme.clone())),
        status: Set(c.status),
        max_participants: Set(c.max_participants),
        duration_days: Set(c.duration_days),
        daily_start_time: Set(c.daily_start_time),
        daily_end_time: Set(c.daily_end_time),
        alumni_count_before_platform: Set(c.alumni_count_before_platform),
        allow_repeat_enrolment: Set(c.allow_repeat_enrolment),
        cancellation_deadline_hours: Set(c.cancellation_deadline_hours),
        provider_id: Set(seed_id("organisation", &c.provider)),
        sponsor_id: Set(Some(seed_id("organisation", &c.sponsor))),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;

    for (position, text) in (0..).zip(&c.goals) {
        course_goal::ActiveModel {
            id: Set(seed_id("goal", &format!("{slug}:{position}"))),
            course_id: Set(course_id),
            position: Set(position),
            text: Set(text.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    for role in &c.audience_roles {
        course_audience_role::ActiveModel {
            id: Set(seed_id("audience", &format!("{slug}:{role:?}"))),
            course_id: Set(course_id),
            role: Set(*role),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    insert_modules(db, course_id, None, slug, &c.modules, now).await?;

    for (n, testimonial) in c.testimonials.iter().enumerate() {
        feedback::ActiveModel {
            id: Set(seed_id("testimonial", &format!("{slug}:{n}"))),
            course_id: Set(course_id),
            session_id: Set(None),
            participant_id: Set(None),
            overall_rating: Set(None),
            relevance_rating: Set(None),
            actor_rating: Set(None),
            trainer_rating: Set(None),
            comment: Set(Some(testimonial.quote.clone())),
            consent_to_publish: Set(true),
            moderation_status: Set(ModerationStatus::Approved),
            author_role: Set(None),
            submitted_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?;
    }
    Ok(course_id)
}

/// The benchmark's data set (`benches/programme.py`): the demo data, and the brochure's course
/// copied until there are `courses`, each with `sessions` sessions at the demo location in which
/// `taken` seats are taken by made-up participants. Written in one transaction.
pub async fn load_benchmark_data(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    courses: u32,
    sessions: u32,
    taken: u32,
) -> anyhow::Result<()> {
    load_demo_data(db, now).await?;
    let brochure = brochure()?;
    let c = &brochure.course;
    let location_id = seed_id("location", "demo");
    let txn = db.begin().await?;
    for n in 0..courses {
        let course_id = if n == 0 {
            seed_id("course", &c.slug)
        } else {
            let slug = format!("{}-{n}", c.slug);
            insert_course(&txn, c, &slug, &format!("{} ({n})", c.title), now).await?
        };
        for s in 0..sessions {
            let date = next_tuesday(now)
                .checked_add_days(Days::new(u64::from(s) * 7 + u64::from(n % 4)))
                .context("benchmark session date")?;
            let starts_at = time::from_local(date, c.daily_start_time).context("session start")?;
            let ends_at = time::from_local(date, c.daily_end_time).context("session end")?;
            let session_id = seed_id("benchmark-session", &format!("{n}:{s}"));
            session::ActiveModel {
                id: Set(session_id),
                course_id: Set(course_id),
                location_id: Set(Some(location_id)),
                starts_at: Set(starts_at),
                ends_at: Set(ends_at),
                capacity: Set(c.max_participants),
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
            .insert(&txn)
            .await?;
            for t in 0..taken {
                let key = format!("{n}-{s}-{t}");
                let participant_id = seed_id("benchmark-participant", &key);
                let email = format!("benchmark-{key}@example.invalid");
                participant::ActiveModel {
                    id: Set(participant_id),
                    full_name: Set(format!("Benchmark deelnemer {key}")),
                    email_skeleton: Set(Some(crate::domain::email::skeleton_of(&email))),
                    email: Set(email),
                    phone: Set(None),
                    role: Set(ParticipantRole::Alderman),
                    municipality_id: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    erased_at: Set(None),
                }
                .insert(&txn)
                .await?;
                enrolment::ActiveModel {
                    id: Set(seed_id("benchmark-enrolment", &key)),
                    session_id: Set(session_id),
                    participant_id: Set(participant_id),
                    status: Set(EnrolmentStatus::Confirmed),
                    waitlisted_at: Set(None),
                    queue_number: Set(None),
                    moved_from_id: Set(None),
                    version: Set(0),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await?;
            }
        }
    }
    txn.commit()
        .await
        .context("committing the benchmark data")?;
    Ok(())
}

/// The first Tuesday after today, in Amsterdam.
fn next_tuesday(now: DateTime<Utc>) -> chrono::NaiveDate {
    let today = time::to_local(now).date_naive();
    let days =
        (7 + Weekday::Tue.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
    today + Days::new(if days == 0 { 7 } else { u64::from(days) })
}

fn insert_modules<'a>(
    db: &'a impl ConnectionTrait,
    course_id: Uuid,
    parent_id: Option<Uuid>,
    path: &'a str,
    modules: &'a [ModuleSeed],
    now: DateTime<Utc>,
) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>> {
    Box::pin(async move {
        for (position, m) in (0..).zip(modules) {
            let path = format!("{path}/{position}");
            let id = seed_id("module", &path);
            module::ActiveModel {
                id: Set(id),
                course_id: Set(course_id),
                parent_id: Set(parent_id),
                position: Set(position),
                title: Set(m.title.clone()),
                description: Set(m.description.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
            for (topic_position, text) in (0..).zip(&m.topics) {
                module_topic::ActiveModel {
                    id: Set(seed_id("topic", &format!("{path}:{topic_position}"))),
                    module_id: Set(id),
                    position: Set(topic_position),
                    text: Set(text.clone()),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(db)
                .await?;
            }
            insert_modules(db, course_id, Some(id), &path, &m.children, now).await?;
        }
        Ok(())
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test stops at the first broken step")]
mod tests {
    use super::*;

    #[test]
    fn the_brochure_has_three_parts_the_first_with_three_sub_parts() {
        let brochure = brochure().unwrap();
        assert_eq!(brochure.course.modules.len(), 3);
        assert_eq!(brochure.course.modules[0].children.len(), 3);
        assert_eq!(brochure.course.goals.len(), 3);
        assert_eq!(brochure.course.max_participants, 10);
    }

    #[test]
    fn the_demo_participant_has_the_id_the_readme_gives() {
        assert_eq!(
            demo_participant_id().to_string(),
            "3cb4b7f9-5906-5dd5-86de-2b2f84e1d95e"
        );
    }

    #[test]
    fn the_next_tuesday_is_always_ahead() {
        let monday = DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .to_utc();
        let tuesday = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(next_tuesday(monday).to_string(), "2026-12-01");
        assert_eq!(next_tuesday(tuesday).to_string(), "2026-12-08");
    }
}
