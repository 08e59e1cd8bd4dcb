//! Courses: the list with its filters, and lookups by id and slug.

use entity::{course, course_audience_role, course_goal, enrolment, enums::*, feedback, session};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait, Func, Query},
};
use uuid::Uuid;

use crate::domain::{
    ids::CourseId,
    pagination::{CourseCursor, Direction, Page, PageRequest},
};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CourseFilter {
    /// Empty means any status.
    pub statuses: Vec<CourseStatus>,
    pub theme: Option<String>,
    pub audience_role: Option<ParticipantRole>,
    /// Published courses only, whatever `statuses` asks: what the public may see.
    pub published_only: bool,
}

fn condition(filter: &CourseFilter) -> Condition {
    let mut condition = Condition::all();
    if !filter.statuses.is_empty() {
        condition = condition.add(course::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if filter.published_only {
        condition = condition.add(course::Column::Status.eq(CourseStatus::Published));
    }
    if let Some(theme) = &filter.theme {
        condition = condition.add(course::Column::Theme.eq(theme.as_str()));
    }
    if let Some(role) = filter.audience_role {
        condition = condition.add(
            course::Column::Id.in_subquery(
                Query::select()
                    .column(course_audience_role::Column::CourseId)
                    .from(course_audience_role::Entity)
                    .and_where(course_audience_role::Column::Role.eq(role))
                    .to_owned(),
            ),
        );
    }
    condition
}

#[tracing::instrument(skip_all)]
pub async fn list_courses(
    db: &impl ConnectionTrait,
    filter: &CourseFilter,
    page: &PageRequest<CourseCursor>,
) -> Result<Page<course::Model>, DbErr> {
    let query = course::Entity::find()
        .filter(condition(filter))
        .apply_if(page.after.as_ref(), |q, after| {
            q.filter(course::Column::Slug.gt(after.slug.as_str()))
        })
        .apply_if(page.before.as_ref(), |q, before| {
            q.filter(course::Column::Slug.lt(before.slug.as_str()))
        });
    let query = match page.direction {
        Direction::Forward => query.order_by_asc(course::Column::Slug),
        Direction::Backward => query.order_by_desc(course::Column::Slug),
    };
    let rows = query.limit(page.fetch_limit()).all(db).await?;
    Ok(page.into_page(rows))
}

#[tracing::instrument(skip_all)]
pub async fn count_courses(db: &impl ConnectionTrait, filter: &CourseFilter) -> Result<u64, DbErr> {
    course::Entity::find()
        .filter(condition(filter))
        .count(db)
        .await
}

#[tracing::instrument(skip_all, fields(course.id = %id.0))]
pub async fn find_course_by_id(
    db: &impl ConnectionTrait,
    id: CourseId,
) -> Result<Option<course::Model>, DbErr> {
    course::Entity::find_by_id(id.0).one(db).await
}

#[tracing::instrument(skip_all)]
pub async fn find_course_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<course::Model>, DbErr> {
    course::Entity::find()
        .filter(course::Column::Slug.eq(slug))
        .one(db)
        .await
}

pub async fn find_courses_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<course::Model>, DbErr> {
    course::Entity::find()
        .filter(course::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// The goals of each course, in order.
pub async fn find_goals(
    db: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> Result<Vec<course_goal::Model>, DbErr> {
    course_goal::Entity::find()
        .filter(course_goal::Column::CourseId.is_in(course_ids.iter().copied()))
        .order_by_asc(course_goal::Column::CourseId)
        .order_by_asc(course_goal::Column::Position)
        .all(db)
        .await
}

pub async fn find_audience_roles(
    db: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> Result<Vec<course_audience_role::Model>, DbErr> {
    course_audience_role::Entity::find()
        .filter(course_audience_role::Column::CourseId.is_in(course_ids.iter().copied()))
        .order_by_asc(course_audience_role::Column::Role)
        .all(db)
        .await
}

/// Feedback that may be shown publicly: its author consented and an administrator approved it.
pub async fn find_published_testimonials(
    db: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> Result<Vec<feedback::Model>, DbErr> {
    feedback::Entity::find()
        .filter(feedback::Column::CourseId.is_in(course_ids.iter().copied()))
        .filter(feedback::Column::ConsentToPublish.eq(true))
        .filter(feedback::Column::ModerationStatus.eq(ModerationStatus::Approved))
        .filter(feedback::Column::Comment.is_not_null())
        .order_by_asc(feedback::Column::SubmittedAt)
        .order_by_asc(feedback::Column::Id)
        .all(db)
        .await
}

#[derive(Debug, FromQueryResult)]
pub struct AttendeeCount {
    pub course_id: Uuid,
    pub attendees: i64,
}

/// How many distinct people attended a session of each course since records began.
pub async fn count_attendees(
    db: &impl ConnectionTrait,
    course_ids: &[Uuid],
) -> Result<Vec<AttendeeCount>, DbErr> {
    let query = Query::select()
        .column((session::Entity, session::Column::CourseId))
        .expr_as(
            Func::count_distinct(Expr::col((
                enrolment::Entity,
                enrolment::Column::ParticipantId,
            ))),
            "attendees",
        )
        .from(enrolment::Entity)
        .inner_join(
            session::Entity,
            Expr::col((session::Entity, session::Column::Id))
                .equals((enrolment::Entity, enrolment::Column::SessionId)),
        )
        .and_where(
            Expr::col((enrolment::Entity, enrolment::Column::Status)).eq(EnrolmentStatus::Attended),
        )
        .and_where(
            Expr::col((session::Entity, session::Column::CourseId))
                .is_in(course_ids.iter().copied()),
        )
        .group_by_col((session::Entity, session::Column::CourseId))
        .to_owned();
    let rows = db.query_all(&query).await?;
    rows.iter()
        .map(|row| AttendeeCount::from_query_result(row, ""))
        .collect()
}
