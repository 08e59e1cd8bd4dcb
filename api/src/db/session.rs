//! Sessions: the list with its filters, per course in one statement, and seat counts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{course, enrolment, enums::*, session, session_actor};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    sea_query::{
        Alias, Asterisk, Expr, ExprTrait, Func, Order, Query, QueryStatementBuilder,
        SelectStatement,
    },
};
use uuid::Uuid;

use crate::domain::{
    ids::{CourseId, SessionId},
    pagination::{Direction, Page, PageRequest, SessionCursor},
};

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SessionFilter {
    pub course_id: Option<CourseId>,
    /// Sessions that start at or after this instant.
    pub starts_from: Option<DateTime<Utc>>,
    /// Sessions that start before this instant.
    pub starts_before: Option<DateTime<Utc>>,
    /// Empty means any status.
    pub statuses: Vec<SessionStatus>,
    pub has_seats_left: Option<bool>,
    /// Sessions of published courses only: what the public may see.
    pub published_courses_only: bool,
    /// Sessions with fewer (true) or at least as many (false) actors as they need.
    pub needs_actor: Option<bool>,
    /// Sessions this actor plays in.
    pub actor_id: Option<Uuid>,
}

/// The seats taken in a session, as a sub-select on `sessions`.
fn seats_taken() -> SelectStatement {
    Query::select()
        .expr(Func::count(Expr::col(Asterisk)))
        .from(enrolment::Entity)
        .and_where(
            Expr::col((enrolment::Entity, enrolment::Column::SessionId))
                .equals((session::Entity, session::Column::Id)),
        )
        .and_where(
            Expr::col((enrolment::Entity, enrolment::Column::Status))
                .is_in(EnrolmentStatus::SEATED),
        )
        .to_owned()
}

fn condition(filter: &SessionFilter) -> Condition {
    let mut condition = Condition::all();
    if let Some(course_id) = filter.course_id {
        condition = condition.add(session::Column::CourseId.eq(course_id.0));
    }
    if let Some(from) = filter.starts_from {
        condition = condition.add(session::Column::StartsAt.gte(from));
    }
    if let Some(before) = filter.starts_before {
        condition = condition.add(session::Column::StartsAt.lt(before));
    }
    if !filter.statuses.is_empty() {
        condition = condition.add(session::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if filter.published_courses_only {
        condition = condition.add(
            session::Column::CourseId.in_subquery(
                Query::select()
                    .column(course::Column::Id)
                    .from(course::Entity)
                    .and_where(course::Column::Status.eq(CourseStatus::Published))
                    .to_owned(),
            ),
        );
    }
    if let Some(actor_id) = filter.actor_id {
        condition = condition.add(
            session::Column::Id.in_subquery(
                Query::select()
                    .column(session_actor::Column::SessionId)
                    .from(session_actor::Entity)
                    .and_where(session_actor::Column::ActorId.eq(actor_id))
                    .to_owned(),
            ),
        );
    }
    if let Some(needs_actor) = filter.needs_actor {
        let needed = Expr::col((session::Entity, session::Column::ActorsNeeded));
        let assigned = Query::select()
            .expr(Func::count(Expr::col(Asterisk)))
            .from(session_actor::Entity)
            .and_where(
                Expr::col((session_actor::Entity, session_actor::Column::SessionId))
                    .equals((session::Entity, session::Column::Id)),
            )
            .to_owned();
        let assigned = Expr::SubQuery(None, Box::new(assigned.into_sub_query_statement()));
        condition = condition.add(if needs_actor {
            needed.gt(assigned)
        } else {
            needed.lte(assigned)
        });
    }
    if let Some(has_seats_left) = filter.has_seats_left {
        let capacity = Expr::col((session::Entity, session::Column::Capacity));
        let taken = Expr::SubQuery(None, Box::new(seats_taken().into_sub_query_statement()));
        condition = condition.add(if has_seats_left {
            capacity.gt(taken)
        } else {
            capacity.lte(taken)
        });
    }
    condition
}

/// Keeps the rows after `after` and before `before` in (starts_at, id) order.
fn cursor_condition(page: &PageRequest<SessionCursor>) -> Condition {
    let beyond = |key: &SessionCursor, later: bool| {
        let (past_start, past_id) = if later {
            (
                session::Column::StartsAt.gt(key.starts_at),
                session::Column::Id.gt(key.id),
            )
        } else {
            (
                session::Column::StartsAt.lt(key.starts_at),
                session::Column::Id.lt(key.id),
            )
        };
        Condition::any().add(past_start).add(
            Condition::all()
                .add(session::Column::StartsAt.eq(key.starts_at))
                .add(past_id),
        )
    };
    let mut condition = Condition::all();
    if let Some(after) = &page.after {
        condition = condition.add(beyond(after, true));
    }
    if let Some(before) = &page.before {
        condition = condition.add(beyond(before, false));
    }
    condition
}

fn order(page: &PageRequest<SessionCursor>) -> Order {
    match page.direction {
        Direction::Forward => Order::Asc,
        Direction::Backward => Order::Desc,
    }
}

#[tracing::instrument(skip_all)]
pub async fn list_sessions(
    db: &impl ConnectionTrait,
    filter: &SessionFilter,
    page: &PageRequest<SessionCursor>,
) -> Result<Page<session::Model>, DbErr> {
    let rows = session::Entity::find()
        .filter(condition(filter))
        .filter(cursor_condition(page))
        .order_by(session::Column::StartsAt, order(page))
        .order_by(session::Column::Id, order(page))
        .limit(page.fetch_limit())
        .all(db)
        .await?;
    Ok(page.into_page(rows))
}

#[tracing::instrument(skip_all)]
pub async fn count_sessions(
    db: &impl ConnectionTrait,
    filter: &SessionFilter,
) -> Result<u64, DbErr> {
    session::Entity::find()
        .filter(condition(filter))
        .count(db)
        .await
}

/// Whose sessions a page holds: a course's, or those an actor plays in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Course,
    Actor,
}

/// One page of sessions for each of many owners, in one statement: the rows are numbered per
/// owner in list order and each owner keeps its first `fetch_limit`.
#[tracing::instrument(skip_all, fields(owner = ?owner, owners = owner_ids.len()))]
pub async fn list_sessions_per_owner(
    db: &impl ConnectionTrait,
    owner: Owner,
    owner_ids: &[Uuid],
    filter: &SessionFilter,
    page: &PageRequest<SessionCursor>,
) -> Result<HashMap<Uuid, Page<session::Model>>, DbErr> {
    let direction = match page.direction {
        Direction::Forward => "ASC",
        Direction::Backward => "DESC",
    };
    let (owner_column, partition) = match owner {
        Owner::Course => (
            Expr::col((session::Entity, session::Column::CourseId)),
            "sessions.course_id",
        ),
        Owner::Actor => (
            Expr::col((session_actor::Entity, session_actor::Column::ActorId)),
            "session_actors.actor_id",
        ),
    };
    let mut ranked = session::Entity::find()
        .filter(condition(filter))
        .filter(cursor_condition(page))
        .filter(owner_column.clone().is_in(owner_ids.iter().copied()))
        .expr_as(owner_column, "page_owner")
        .expr_as(
            Expr::cust(format!(
                "ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY sessions.starts_at {direction}, sessions.id {direction})"
            )),
            "row_number",
        )
        .into_query();
    if owner == Owner::Actor {
        ranked.inner_join(
            session_actor::Entity,
            Expr::col((session_actor::Entity, session_actor::Column::SessionId))
                .equals((session::Entity, session::Column::Id)),
        );
    }
    let query = Query::select()
        .column(Asterisk)
        .from_subquery(ranked, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("row_number")).lte(page.fetch_limit()))
        .order_by(Alias::new("page_owner"), Order::Asc)
        .order_by(Alias::new("row_number"), Order::Asc)
        .to_owned();
    let mut rows_per_owner: HashMap<Uuid, Vec<session::Model>> = HashMap::new();
    for row in db.query_all(&query).await? {
        let owner: Uuid = row.try_get("", "page_owner")?;
        let session = session::Model::from_query_result(&row, "")?;
        rows_per_owner.entry(owner).or_default().push(session);
    }
    Ok(owner_ids
        .iter()
        .map(|id| {
            (
                *id,
                page.into_page(rows_per_owner.remove(id).unwrap_or_default()),
            )
        })
        .collect())
}

#[derive(Debug, FromQueryResult)]
struct CourseSessionCount {
    course_id: Uuid,
    sessions: i64,
}

pub async fn count_sessions_per_course(
    db: &impl ConnectionTrait,
    course_ids: &[Uuid],
    filter: &SessionFilter,
) -> Result<HashMap<Uuid, u64>, DbErr> {
    let counts = session::Entity::find()
        .select_only()
        .column(session::Column::CourseId)
        .column_as(Expr::from(Func::count(Expr::col(Asterisk))), "sessions")
        .filter(condition(filter))
        .filter(session::Column::CourseId.is_in(course_ids.iter().copied()))
        .group_by(session::Column::CourseId)
        .into_model::<CourseSessionCount>()
        .all(db)
        .await?;
    Ok(counts
        .into_iter()
        .map(|c| (c.course_id, u64::try_from(c.sessions).unwrap_or(0)))
        .collect())
}

pub async fn find_sessions_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<session::Model>, DbErr> {
    session::Entity::find()
        .filter(session::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

#[tracing::instrument(skip_all, fields(session.id = %id.0))]
pub async fn find_session_by_id(
    db: &impl ConnectionTrait,
    id: SessionId,
) -> Result<Option<session::Model>, DbErr> {
    session::Entity::find_by_id(id.0).one(db).await
}

/// Seats taken and the length of the waiting list of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeatCounts {
    pub taken: i64,
    pub waiting: i64,
}

#[derive(Debug, FromQueryResult)]
struct SeatCountRow {
    session_id: Uuid,
    status: EnrolmentStatus,
    enrolments: i64,
}

pub async fn count_seats(
    db: &impl ConnectionTrait,
    session_ids: &[Uuid],
) -> Result<HashMap<Uuid, SeatCounts>, DbErr> {
    let rows = enrolment::Entity::find()
        .select_only()
        .column(enrolment::Column::SessionId)
        .column(enrolment::Column::Status)
        .column_as(Expr::from(Func::count(Expr::col(Asterisk))), "enrolments")
        .filter(enrolment::Column::SessionId.is_in(session_ids.iter().copied()))
        .filter(enrolment::Column::Status.ne(EnrolmentStatus::Cancelled))
        .group_by(enrolment::Column::SessionId)
        .group_by(enrolment::Column::Status)
        .into_model::<SeatCountRow>()
        .all(db)
        .await?;
    let mut counts: HashMap<Uuid, SeatCounts> = HashMap::new();
    for row in rows {
        let entry = counts.entry(row.session_id).or_default();
        if row.status == EnrolmentStatus::Waitlisted {
            entry.waiting += row.enrolments;
        } else if EnrolmentStatus::SEATED.contains(&row.status) {
            entry.taken += row.enrolments;
        }
    }
    Ok(counts)
}
