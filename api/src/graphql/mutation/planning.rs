//! Administrators plan the programme: courses with their goals, audience and hours.

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::NaiveTime;
use serde::Serialize;
use uuid::Uuid;

use super::{
    MutationOptions, MutationResult, Performed, parse_id, perform_checked, require_administrator,
};
use crate::{
    db::planning::{self, CourseDetails},
    domain::{
        booking::{Refusal, UserErrorCode},
        ids::{CourseId, OrganisationId},
        input::{in_range, required, slug, text},
    },
    error::FieldResult,
    graphql::{
        context::{loaders, viewer},
        types::{Course, enums::ParticipantRole},
    },
};

#[derive(Default)]
pub struct PlanningMutation;

/// A course as the leaflet describes it.
#[derive(InputObject, Serialize, Debug, Clone)]
pub struct CourseDetailsInput {
    /// Lower-case letters, digits and hyphens, 3 to 100 characters; unique.
    pub slug: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub introduction: String,
    pub method: String,
    /// Who it is for, in words ("Burgemeesters en wethouders").
    pub audience: String,
    pub theme: Option<String>,
    /// What participants take away, in the leaflet's order.
    pub goals: Vec<String>,
    /// The roles that may book; empty means anyone.
    pub audience_roles: Vec<ParticipantRole>,
    pub max_participants: i32,
    pub duration_days: i32,
    /// Local time in Europe/Amsterdam, such as 09:00.
    pub daily_start_time: NaiveTime,
    pub daily_end_time: NaiveTime,
    #[graphql(default)]
    pub alumni_count_before_platform: i32,
    #[graphql(default = 48)]
    pub cancellation_deadline_hours: i32,
    #[graphql(default)]
    pub allow_repeat_enrolment: bool,
    pub provider_id: ID,
    pub sponsor_id: Option<ID>,
}

#[derive(InputObject, Serialize, Debug)]
pub struct CreateCourseInput {
    pub details: CourseDetailsInput,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct UpdateCourseInput {
    pub course_id: ID,
    /// The course's details, all of them: what is left out is cleared.
    pub details: CourseDetailsInput,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct CourseStatusInput {
    pub course_id: ID,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CoursePayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub course_id: Option<Uuid>,
}

#[ComplexObject]
impl CoursePayload {
    /// The course as it is now.
    async fn course(&self, ctx: &Context<'_>) -> FieldResult<Option<Course>> {
        let Some(id) = self.course_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.load_one(CourseId(id)).await?.map(Course))
    }
}

fn payload(performed: &Performed, client_mutation_id: Option<String>) -> CoursePayload {
    CoursePayload {
        result: performed.result(client_mutation_id),
        course_id: performed.made().and_then(|o| o.record_id),
    }
}

/// Checks a course's details; every refusal names its field.
fn course_details(input: &CourseDetailsInput) -> Result<CourseDetails, Refusal> {
    let field = |name: &str| format!("input.details.{name}");
    let slug = slug(&input.slug, &field("slug"))?;
    if input.daily_end_time <= input.daily_start_time {
        return Err(Refusal::new(
            UserErrorCode::EndBeforeStart,
            "the day must end after it starts",
        )
        .at(field("dailyEndTime")));
    }
    if input.goals.len() > 30 {
        return Err(Refusal::bad_input(&field("goals"), "at most 30 goals"));
    }
    let goals = input
        .goals
        .iter()
        .enumerate()
        .map(|(index, goal)| required(goal, &field(&format!("goals.{index}")), 1000, false))
        .collect::<Result<Vec<_>, _>>()?;
    let mut audience_roles: Vec<_> = input.audience_roles.iter().map(|r| (*r).into()).collect();
    audience_roles.sort();
    audience_roles.dedup();
    Ok(CourseDetails {
        slug,
        title: required(&input.title, &field("title"), 200, false)?,
        subtitle: text(input.subtitle.as_deref(), &field("subtitle"), 300, false)?,
        introduction: required(&input.introduction, &field("introduction"), 10_000, true)?,
        method: required(&input.method, &field("method"), 10_000, true)?,
        audience: required(&input.audience, &field("audience"), 300, false)?,
        theme: text(input.theme.as_deref(), &field("theme"), 100, false)?,
        goals,
        audience_roles,
        max_participants: in_range(input.max_participants, 1..=100, &field("maxParticipants"))?,
        duration_days: in_range(input.duration_days, 1..=30, &field("durationDays"))?,
        daily_start_time: input.daily_start_time,
        daily_end_time: input.daily_end_time,
        alumni_count_before_platform: in_range(
            input.alumni_count_before_platform,
            0..=1_000_000,
            &field("alumniCountBeforePlatform"),
        )?,
        cancellation_deadline_hours: in_range(
            input.cancellation_deadline_hours,
            0..=720,
            &field("cancellationDeadlineHours"),
        )?,
        allow_repeat_enrolment: input.allow_repeat_enrolment,
        provider_id: parse_id(
            OrganisationId::from_global(&input.provider_id, "input.details.providerId"),
            &field("providerId"),
        )?
        .0,
        sponsor_id: input
            .sponsor_id
            .as_ref()
            .map(|id| {
                parse_id(
                    OrganisationId::from_global(id, "input.details.sponsorId"),
                    &field("sponsorId"),
                )
            })
            .transpose()?
            .map(|id| id.0),
    })
}

#[Object]
impl PlanningMutation {
    /// Administrators: a new course, as a DRAFT that only staff see until it is published.
    async fn create_course(
        &self,
        ctx: &Context<'_>,
        input: CreateCourseInput,
    ) -> FieldResult<CoursePayload> {
        require_administrator(viewer(ctx)?)?;
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "createCourse",
            key,
            &input,
            course_details(&input.details),
            move |change, live, details| {
                Box::pin(async move { planning::save_course(change, &live, None, &details).await })
            },
        )
        .await?;
        Ok(payload(&performed, input.options.client_mutation_id))
    }

    /// Administrators: replaces a course's details, goals and audience roles.
    async fn update_course(
        &self,
        ctx: &Context<'_>,
        input: UpdateCourseInput,
    ) -> FieldResult<CoursePayload> {
        require_administrator(viewer(ctx)?)?;
        let parsed = parse_id(
            CourseId::from_global(&input.course_id, "input.courseId"),
            "input.courseId",
        )
        .and_then(|course| Ok((course, course_details(&input.details)?)));
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "updateCourse",
            key,
            &input,
            parsed,
            move |change, live, (course, details)| {
                Box::pin(async move {
                    planning::save_course(change, &live, Some(course.0), &details).await
                })
            },
        )
        .await?;
        Ok(payload(&performed, input.options.client_mutation_id))
    }

    /// Administrators: makes a course public, so it can be booked.
    async fn publish_course(
        &self,
        ctx: &Context<'_>,
        input: CourseStatusInput,
    ) -> FieldResult<CoursePayload> {
        set_status(
            ctx,
            input,
            "publishCourse",
            entity::enums::CourseStatus::Published,
        )
        .await
    }

    /// Administrators: withdraws a course from the public; its history stays.
    async fn archive_course(
        &self,
        ctx: &Context<'_>,
        input: CourseStatusInput,
    ) -> FieldResult<CoursePayload> {
        set_status(
            ctx,
            input,
            "archiveCourse",
            entity::enums::CourseStatus::Archived,
        )
        .await
    }
}

async fn set_status(
    ctx: &Context<'_>,
    input: CourseStatusInput,
    operation: &'static str,
    status: entity::enums::CourseStatus,
) -> FieldResult<CoursePayload> {
    require_administrator(viewer(ctx)?)?;
    let course = parse_id(
        CourseId::from_global(&input.course_id, "input.courseId"),
        "input.courseId",
    );
    let key = input.options.idempotency_key.as_deref();
    let performed = perform_checked(
        ctx,
        operation,
        key,
        &input,
        course,
        move |change, live, course| {
            Box::pin(
                async move { planning::set_course_status(change, &live, course.0, status).await },
            )
        },
    )
    .await?;
    Ok(payload(&performed, input.options.client_mutation_id))
}
