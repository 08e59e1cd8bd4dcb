use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, NaiveTime, Utc};
use entity::course;

use crate::auth::{Viewer, policy};

use super::{
    Module, Organisation, SessionConnection,
    connection::{SessionTotal, session_connection},
    enums::{CourseStatus, ParticipantRole},
    session::CourseSessionFilter,
    testimonial::Testimonial,
};
use crate::{
    db::{
        self,
        loaders::{AttendeesOf, AudienceOf, GoalsOf, SessionsOf, TestimonialsOf},
        module::ModuleParent,
    },
    domain::{
        ids::{CourseId, OrganisationId},
        pagination::{Page, PageArgs, PageRequest},
        time,
    },
    error::{ApiError, FieldResult},
    graphql::context::loaders,
    sync::external_ids::RecordType,
};

/// A training the institute offers, such as "Omgaan met intimidatie en bedreiging voor
/// burgemeesters en wethouders". Each run of it on a date is a `Session`.
pub struct Course(pub course::Model);

impl Course {
    fn course_id(&self) -> CourseId {
        CourseId(self.0.id)
    }
}

#[Object]
impl Course {
    pub async fn id(&self) -> ID {
        ID(self.course_id().to_global())
    }

    /// The id the caller's source system knows the course by, as linked with
    /// `linkExternalId`; null for callers who do not sync or plan.
    async fn external_id(&self, ctx: &Context<'_>) -> FieldResult<Option<String>> {
        super::sync::public_external_id(ctx, RecordType::Course, self.0.id).await
    }

    /// Stable, readable identifier for links: `course(slug:)` finds the course by it.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn subtitle(&self) -> Option<&str> {
        self.0.subtitle.as_deref()
    }

    /// Who the course is for, as the brochure says it ("Voor wie").
    async fn audience(&self) -> &str {
        &self.0.audience
    }

    /// The participant roles the course is meant for, and who may book it.
    async fn audience_roles(&self, ctx: &Context<'_>) -> FieldResult<Vec<ParticipantRole>> {
        let roles = loaders(ctx)?
            .load_one(AudienceOf(self.course_id()))
            .await?
            .unwrap_or_default();
        Ok(roles.into_iter().map(Into::into).collect())
    }

    async fn introduction(&self) -> &str {
        &self.0.introduction
    }

    /// What participants can do after the training, in order ("Doel").
    async fn goals(&self, ctx: &Context<'_>) -> FieldResult<Vec<String>> {
        Ok(loaders(ctx)?
            .load_one(GoalsOf(self.course_id()))
            .await?
            .unwrap_or_default())
    }

    /// How the training works ("Methode").
    async fn method(&self) -> &str {
        &self.0.method
    }

    /// The programme this course belongs to, such as "Weerbaar Bestuur".
    async fn theme(&self) -> Option<&str> {
        self.0.theme.as_deref()
    }

    async fn status(&self) -> CourseStatus {
        self.0.status.into()
    }

    /// The most participants a session of this course takes.
    async fn max_participants(&self) -> i32 {
        self.0.max_participants
    }

    /// Whether a participant may book more than one session of this course; a one-day
    /// training is usually taken once.
    async fn allow_repeat_enrolment(&self) -> bool {
        self.0.allow_repeat_enrolment
    }

    /// Participants may cancel themselves until this many hours before a session starts;
    /// after that, the service desk can.
    async fn cancellation_deadline_hours(&self) -> i32 {
        self.0.cancellation_deadline_hours
    }

    async fn duration_days(&self) -> i32 {
        self.0.duration_days
    }

    /// When a day of training usually starts, local time in `timeZone`; sessions have their own times.
    async fn daily_start_time(&self) -> NaiveTime {
        self.0.daily_start_time
    }

    async fn daily_end_time(&self) -> NaiveTime {
        self.0.daily_end_time
    }

    /// The IANA time zone of local times: Europe/Amsterdam.
    async fn time_zone(&self) -> &'static str {
        time::TIME_ZONE.name()
    }

    /// The programme: its parts in order, each with sub-parts and topics.
    async fn modules(&self, ctx: &Context<'_>) -> FieldResult<Vec<Module>> {
        let modules = loaders(ctx)?
            .load_one(ModuleParent::Course(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(modules.into_iter().map(Module).collect())
    }

    /// People who took the course: those from before the platform kept records, plus every
    /// person marked as attended since, each counted once.
    async fn alumni_count(&self, ctx: &Context<'_>) -> FieldResult<i64> {
        let attended = loaders(ctx)?
            .load_one(AttendeesOf(self.course_id()))
            .await?
            .unwrap_or(0);
        Ok(i64::from(self.0.alumni_count_before_platform) + attended)
    }

    /// People who took the course before the platform kept records.
    async fn alumni_count_before_platform(&self) -> i32 {
        self.0.alumni_count_before_platform
    }

    /// The organisation that gives the course, with its service desk.
    async fn provider(&self, ctx: &Context<'_>) -> FieldResult<Organisation> {
        let provider = loaders(ctx)?
            .load_one(OrganisationId(self.0.provider_id))
            .await?;
        provider.map(Organisation).ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("course without its provider")).into()
        })
    }

    /// The organisation that helps make the course possible.
    async fn sponsor(&self, ctx: &Context<'_>) -> FieldResult<Option<Organisation>> {
        let Some(id) = self.0.sponsor_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?
            .load_one(OrganisationId(id))
            .await?
            .map(Organisation))
    }

    /// What participants said, published with their consent and without their names.
    async fn testimonials(&self, ctx: &Context<'_>) -> FieldResult<Vec<Testimonial>> {
        let feedback = loaders(ctx)?
            .load_one(TestimonialsOf(self.course_id()))
            .await?
            .unwrap_or_default();
        Ok(feedback
            .into_iter()
            .filter_map(Testimonial::from_feedback)
            .collect())
    }

    /// The sessions of this course, by start time.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, last, child_complexity)")]
    async fn sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CourseSessionFilter>,
    ) -> FieldResult<SessionConnection> {
        let page = Arc::new(PageRequest::parse(PageArgs {
            first,
            after,
            last,
            before,
        })?);
        // The course is the loader's owner, not part of the filter: the sessions of every course
        // in the response are then read in one statement.
        let filter = Arc::new(filter.unwrap_or_default().into_db(None));
        let key = SessionsOf {
            course: self.course_id(),
            filter: filter.clone(),
            page,
        };
        let sessions = loaders(ctx)?.load_one(key).await?;
        let sessions = sessions.unwrap_or_else(Page::empty);
        Ok(session_connection(
            sessions,
            SessionTotal::OfCourse(self.course_id(), filter),
        ))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Which courses to list.
#[derive(InputObject, Debug, Default)]
pub struct CourseFilter {
    /// Courses in any of these states; by default only PUBLISHED ones.
    pub status: Option<Vec<CourseStatus>>,
    /// Courses of this theme, such as "Weerbaar Bestuur".
    pub theme: Option<String>,
    /// Courses meant for participants in this role.
    pub audience: Option<ParticipantRole>,
}

impl CourseFilter {
    /// The filter as asked; callers who may not see unpublished courses see published ones only.
    pub fn into_db(self, viewer: &Viewer) -> db::course::CourseFilter {
        db::course::CourseFilter {
            published_only: !policy::can_see_unpublished(viewer),
            statuses: self
                .status
                .unwrap_or_else(|| vec![CourseStatus::Published])
                .into_iter()
                .map(Into::into)
                .collect(),
            theme: self.theme,
            audience_role: self.audience.map(Into::into),
        }
    }
}

/// Whether the caller may see this course, and so its sessions and modules: published courses
/// are public, drafts and archived ones are for staff and sync clients only.
pub async fn course_visible(ctx: &Context<'_>, course_id: uuid::Uuid) -> FieldResult<bool> {
    if policy::can_see_unpublished(crate::graphql::context::viewer(ctx)?) {
        return Ok(true);
    }
    let course = loaders(ctx)?.load_one(CourseId(course_id)).await?;
    Ok(course.is_some_and(|c| c.status == entity::enums::CourseStatus::Published))
}
