use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use entity::session;

use super::{
    Course, Enrolment, Location, actor::Assignment, enums::SessionStatus, session_assignments,
};
use crate::{
    audit::Outcome,
    auth::{Viewer, policy},
    db::{
        self,
        loaders::{AssignmentsOf, EnrolmentsOf, SeatsOf},
        session::SeatCounts,
    },
    domain::{
        booking,
        ids::{CourseId, LocationId, SessionId},
        time,
    },
    error::{ApiError, FieldResult},
    graphql::context::{audit_read, in_scope, loaders, null_with_error, viewer},
    sync::external_ids::RecordType,
};

/// One run of a course on a date, at a location, with a number of seats.
pub struct Session(pub session::Model);

impl Session {
    async fn seats(&self, ctx: &Context<'_>) -> FieldResult<SeatCounts> {
        Ok(loaders(ctx)?
            .load_one(SeatsOf(SessionId(self.0.id)))
            .await?
            .unwrap_or_default())
    }
}

#[Object]
impl Session {
    pub async fn id(&self) -> ID {
        ID(SessionId(self.0.id).to_global())
    }

    /// The id the caller's source system knows the session by, as linked with
    /// `linkExternalId`; null for callers who do not sync or plan.
    async fn external_id(&self, ctx: &Context<'_>) -> FieldResult<Option<String>> {
        super::sync::public_external_id(ctx, RecordType::Session, self.0.id).await
    }

    async fn course(&self, ctx: &Context<'_>) -> FieldResult<Course> {
        let course = loaders(ctx)?.load_one(CourseId(self.0.course_id)).await?;
        course
            .map(Course)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("session without its course")).into())
    }

    /// Rises with every change to the session's seats, time or place: a client that gets a
    /// lower version than it shows ignores the older news.
    async fn availability_version(&self) -> i32 {
        i32::try_from(self.0.availability_version).unwrap_or(i32::MAX)
    }

    /// When the session starts, as an instant (UTC).
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }

    /// When the session ends, as an instant (UTC).
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }

    /// The start in local time in `timeZone`, with its offset (+01:00 in winter, +02:00 in summer).
    async fn local_starts_at(&self) -> DateTime<FixedOffset> {
        time::to_local(self.0.starts_at).fixed_offset()
    }

    /// The end in local time in `timeZone`, with its offset.
    async fn local_ends_at(&self) -> DateTime<FixedOffset> {
        time::to_local(self.0.ends_at).fixed_offset()
    }

    /// The local date of the start.
    async fn date(&self) -> NaiveDate {
        time::to_local(self.0.starts_at).date_naive()
    }

    /// The local time of the start, such as 09:00:00.
    async fn start_time(&self) -> NaiveTime {
        time::to_local(self.0.starts_at).time()
    }

    /// The local time of the end, such as 16:00:00.
    async fn end_time(&self) -> NaiveTime {
        time::to_local(self.0.ends_at).time()
    }

    /// The IANA time zone of the local times: Europe/Amsterdam.
    async fn time_zone(&self) -> &'static str {
        time::TIME_ZONE.name()
    }

    async fn location(&self, ctx: &Context<'_>) -> FieldResult<Option<Location>> {
        let Some(id) = self.0.location_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.load_one(LocationId(id)).await?.map(Location))
    }

    /// Seats in this session.
    async fn capacity(&self) -> i32 {
        self.0.capacity
    }

    /// Seats held by confirmed (or attended) enrolments.
    async fn seats_taken(&self, ctx: &Context<'_>) -> FieldResult<i64> {
        Ok(self.seats(ctx).await?.taken)
    }

    /// The share of seats taken, from 0 to 1.
    async fn fill_rate(&self, ctx: &Context<'_>) -> FieldResult<f64> {
        let taken = self.seats(ctx).await?.taken as f64;
        Ok(if self.0.capacity > 0 {
            (taken / f64::from(self.0.capacity)).min(1.0)
        } else {
            1.0
        })
    }

    /// Seats still free; never below zero.
    async fn seats_left(&self, ctx: &Context<'_>) -> FieldResult<i64> {
        Ok((i64::from(self.0.capacity) - self.seats(ctx).await?.taken).max(0))
    }

    /// People on the waiting list.
    async fn waiting_list_length(&self, ctx: &Context<'_>) -> FieldResult<i64> {
        Ok(self.seats(ctx).await?.waiting)
    }

    async fn status(&self) -> SessionStatus {
        self.0.status.into()
    }

    /// When booking opens; empty means it is open now.
    async fn booking_opens_at(&self) -> Option<DateTime<Utc>> {
        self.0.booking_opens_at
    }

    /// False when the service desk closed booking by hand.
    async fn booking_open(&self) -> bool {
        self.0.booking_open
    }

    /// Whether a booking made now would be taken: the session is scheduled, its booking window
    /// is open and the service desk has not closed it. A full session still takes bookings,
    /// on its waiting list.
    async fn accepting_bookings(&self, ctx: &Context<'_>) -> FieldResult<bool> {
        let now = Utc::now();
        // The answer changes by itself when the window opens or closes: a kept answer holds
        // until then.
        let freshness = &crate::graphql::context::request_data(ctx)?.freshness;
        if let (Some(freshness), Some(next)) =
            (freshness, booking::window_changes_after(&self.0, now))
        {
            freshness.narrow(next);
        }
        Ok(booking::check_booking_window(&self.0, now).is_ok())
    }

    /// When booking closes; it always closes when the session starts.
    async fn booking_closes_at(&self) -> DateTime<Utc> {
        booking::booking_closes_at(&self.0)
    }

    /// Who is enrolled, oldest first: for coordinators, administrators and sync clients only.
    #[graphql(complexity = "crate::graphql::limits::list_cost(child_complexity)")]
    async fn enrolments(&self, ctx: &Context<'_>) -> FieldResult<Option<Vec<Enrolment>>> {
        let viewer = viewer(ctx)?;
        if !policy::can_list_enrolments(viewer) {
            audit_read(ctx, "Session.enrolments", vec![self.0.id], Outcome::Refused)?;
            let refusal = if *viewer == Viewer::Anonymous {
                ApiError::Unauthenticated
            } else {
                ApiError::Forbidden
            };
            return null_with_error(ctx, refusal);
        }
        let mut found = loaders(ctx)?
            .load_one(EnrolmentsOf::Session(SessionId(self.0.id)))
            .await?
            .unwrap_or_default();
        // A source system's client sees the enrolments of the participants it knows.
        let participants: Vec<_> = found.iter().map(|e| e.participant_id).collect();
        let reachable = in_scope(ctx, &participants).await?;
        found.retain(|e| reachable.contains(&e.participant_id));
        audit_read(
            ctx,
            "Enrolment",
            found.iter().map(|e| e.id).collect(),
            Outcome::Allowed,
        )?;
        Ok(Some(found.into_iter().map(Enrolment).collect()))
    }

    /// Role-play actors the exercises need.
    async fn actors_needed(&self) -> i32 {
        self.0.actors_needed
    }

    /// The actors playing, with their parts: for staff and the actors themselves; empty for
    /// everyone else.
    async fn actors(&self, ctx: &Context<'_>) -> FieldResult<Vec<Assignment>> {
        session_assignments(ctx, SessionId(self.0.id)).await
    }

    /// Whether fewer actors are assigned than needed (staff; false for everyone else).
    async fn needs_actor(&self, ctx: &Context<'_>) -> FieldResult<bool> {
        if !policy::can_manage_bookings(viewer(ctx)?) {
            return Ok(false);
        }
        let assigned = loaders(ctx)?
            .load_one(AssignmentsOf::Session(SessionId(self.0.id)))
            .await?
            .map_or(0, |rows| rows.len());
        Ok(i64::try_from(assigned).unwrap_or(i64::MAX) < i64::from(self.0.actors_needed))
    }

    /// True for the sessions of the demo data, which are not real trainings.
    async fn is_demo(&self) -> bool {
        self.0.is_demo
    }
}

/// Which sessions of a course to list.
#[derive(InputObject, Debug, Default, Clone)]
pub struct CourseSessionFilter {
    /// Sessions that start at or after this instant.
    pub starts_from: Option<DateTime<Utc>>,
    /// Sessions that start before this instant.
    pub starts_before: Option<DateTime<Utc>>,
    /// Sessions in any of these states; by default all.
    pub status: Option<Vec<SessionStatus>>,
    /// Only sessions with (true) or without (false) a free seat.
    pub has_seats_left: Option<bool>,
}

impl CourseSessionFilter {
    pub fn into_db(self, course_id: Option<CourseId>) -> db::session::SessionFilter {
        db::session::SessionFilter {
            course_id,
            starts_from: self.starts_from,
            starts_before: self.starts_before,
            statuses: self
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            has_seats_left: self.has_seats_left,
            // The course's own list: the course was visible, so are its sessions.
            published_courses_only: false,
            needs_actor: None,
            actor_id: None,
        }
    }
}

/// Which sessions to list.
#[derive(InputObject, Debug, Default)]
pub struct SessionFilter {
    /// Sessions of this course.
    pub course_id: Option<ID>,
    /// Staff: sessions that still need (true) or have all (false) their actors.
    pub needs_actor: Option<bool>,
    #[graphql(flatten)]
    pub sessions: CourseSessionFilter,
}

impl SessionFilter {
    /// The filter as asked; callers who may not see unpublished courses see their sessions
    /// nowhere.
    pub fn into_db(self, viewer: &Viewer) -> crate::error::ApiResult<db::session::SessionFilter> {
        let course_id = self
            .course_id
            .map(|id| CourseId::from_global(&id, "filter.courseId"))
            .transpose()?;
        if self.needs_actor.is_some() && !policy::can_manage_bookings(viewer) {
            return Err(ApiError::Forbidden);
        }
        Ok(db::session::SessionFilter {
            published_courses_only: !policy::can_see_unpublished(viewer),
            needs_actor: self.needs_actor,
            actor_id: None,
            ..self.sessions.into_db(course_id)
        })
    }
}
