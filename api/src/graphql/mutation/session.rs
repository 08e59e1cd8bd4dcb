//! Staff plan sessions: schedule, reschedule, relocate and cancel them, change their capacity,
//! and close or reopen booking.

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{
    MutationOptions, MutationResult, Performed, parse_id, perform, perform_checked, require_staff,
};
use crate::{
    db::booking::{self, NewSession, Replan},
    domain::{
        booking::{Refusal, UserErrorCode, reason},
        ids::{CourseId, LocationId, SessionId},
        input::in_range,
        time,
    },
    error::FieldResult,
    graphql::{
        context::{loaders, viewer},
        types::Session,
    },
};

#[derive(Default)]
pub struct SessionBookingMutation;

/// When a session is held: either two instants, or a local date with local times in
/// Europe/Amsterdam (the offset of that date is applied, summer or winter).
#[derive(InputObject, Serialize, Debug, Clone)]
pub struct SessionTimesInput {
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub local_date: Option<NaiveDate>,
    pub local_start_time: Option<NaiveTime>,
    pub local_end_time: Option<NaiveTime>,
}

impl SessionTimesInput {
    /// The two instants, checked: one form only, an end after the start, a start ahead.
    fn instants(
        &self,
        field: &str,
        now: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), Refusal> {
        let (starts_at, ends_at) = match self {
            Self {
                starts_at: Some(start),
                ends_at: Some(end),
                local_date: None,
                local_start_time: None,
                local_end_time: None,
            } => (*start, *end),
            Self {
                starts_at: None,
                ends_at: None,
                local_date: Some(date),
                local_start_time: Some(start),
                local_end_time: Some(end),
            } => {
                let local = |time: NaiveTime, name: &str| {
                    time::from_local(*date, time).ok_or_else(|| {
                        Refusal::bad_input(
                            &format!("{field}.{name}"),
                            "this local time does not exist on that date (the clocks go forward)",
                        )
                    })
                };
                (
                    local(*start, "localStartTime")?,
                    local(*end, "localEndTime")?,
                )
            }
            _ => {
                return Err(Refusal::bad_input(
                    field,
                    "give `startsAt` and `endsAt`, or `localDate`, `localStartTime` and `localEndTime`",
                ));
            }
        };
        if ends_at <= starts_at {
            return Err(Refusal::new(
                UserErrorCode::EndBeforeStart,
                "the session must end after it starts",
            )
            .at(field));
        }
        if starts_at <= now {
            return Err(Refusal::bad_input(
                field,
                "a session is planned ahead: its start must be in the future",
            ));
        }
        Ok((starts_at, ends_at))
    }
}

#[derive(InputObject, Serialize, Debug)]
pub struct ScheduleSessionInput {
    pub course_id: ID,
    pub times: SessionTimesInput,
    pub location_id: Option<ID>,
    /// The course's maximum when left out.
    pub capacity: Option<i32>,
    /// When booking opens; open at once when left out.
    pub booking_opens_at: Option<DateTime<Utc>>,
    /// When booking closes; at the start when left out (and never later).
    pub booking_closes_at: Option<DateTime<Utc>>,
    /// Role-play actors the exercises need.
    #[graphql(default = 1)]
    pub actors_needed: i32,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct RescheduleSessionInput {
    pub session_id: ID,
    pub times: SessionTimesInput,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct RelocateSessionInput {
    pub session_id: ID,
    pub location_id: ID,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct CancelSessionInput {
    pub session_id: ID,
    /// Why: kept with every cancelled enrolment and told to those booked.
    pub reason: String,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct ChangeSessionCapacityInput {
    pub session_id: ID,
    /// At least the seats already confirmed, at most the course's maximum.
    pub capacity: i32,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(InputObject, Serialize, Debug)]
pub struct SetSessionBookingOpenInput {
    pub session_id: ID,
    /// False closes booking; true reopens it within the booking window.
    pub open: bool,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

/// The answer of a change to a session.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SessionPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub session_id: Option<Uuid>,
}

#[ComplexObject]
impl SessionPayload {
    /// The session as it is now.
    async fn session(&self, ctx: &Context<'_>) -> FieldResult<Option<Session>> {
        let Some(id) = self.session_id else {
            return Ok(None);
        };
        Ok(loaders(ctx)?.load_one(SessionId(id)).await?.map(Session))
    }
}

fn session_id(id: &ID) -> Result<SessionId, Refusal> {
    parse_id(
        SessionId::from_global(id, "input.sessionId"),
        "input.sessionId",
    )
}

async fn replan<I: Serialize>(
    ctx: &Context<'_>,
    operation: &'static str,
    input: &I,
    key: Option<&str>,
    parsed: Result<(SessionId, Replan), Refusal>,
) -> FieldResult<Performed> {
    match parsed {
        Err(refusal) => Ok(Performed::refused(refusal)),
        Ok((session, replan)) => {
            perform(ctx, operation, key, input, move |change, live| {
                Box::pin(
                    async move { booking::replan_session(change, &live, session.0, replan).await },
                )
            })
            .await
        }
    }
}

fn payload(performed: &Performed, client_mutation_id: Option<String>) -> SessionPayload {
    SessionPayload {
        result: performed.result(client_mutation_id),
        session_id: performed.made().and_then(|o| o.session_id.or(o.record_id)),
    }
}

#[Object]
impl SessionBookingMutation {
    /// Staff: schedules a session of a course.
    async fn schedule_session(
        &self,
        ctx: &Context<'_>,
        input: ScheduleSessionInput,
    ) -> FieldResult<SessionPayload> {
        require_staff(viewer(ctx)?)?;
        let parsed = (|| {
            let course = parse_id(
                CourseId::from_global(&input.course_id, "input.courseId"),
                "input.courseId",
            )?;
            let (starts_at, ends_at) = input.times.instants("input.times", Utc::now())?;
            let location_id = input
                .location_id
                .as_ref()
                .map(|id| {
                    parse_id(
                        LocationId::from_global(id, "input.locationId"),
                        "input.locationId",
                    )
                })
                .transpose()?
                .map(|id| id.0);
            if let (Some(opens), Some(closes)) = (input.booking_opens_at, input.booking_closes_at)
                && closes <= opens
            {
                return Err(Refusal::new(
                    UserErrorCode::EndBeforeStart,
                    "booking must close after it opens",
                )
                .at("input.bookingClosesAt"));
            }
            Ok(NewSession {
                course_id: course.0,
                starts_at,
                ends_at,
                location_id,
                capacity: input.capacity,
                booking_opens_at: input.booking_opens_at,
                booking_closes_at: input.booking_closes_at,
                actors_needed: in_range(input.actors_needed, 0..=10, "input.actorsNeeded")?,
            })
        })();
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "scheduleSession",
            key,
            &input,
            parsed,
            move |change, live, new| {
                Box::pin(async move { booking::schedule_session(change, &live, &new).await })
            },
        )
        .await?;
        Ok(payload(&performed, input.options.client_mutation_id))
    }

    /// Staff: moves a session to other times before it starts; everyone booked is told.
    async fn reschedule_session(
        &self,
        ctx: &Context<'_>,
        input: RescheduleSessionInput,
    ) -> FieldResult<SessionPayload> {
        require_staff(viewer(ctx)?)?;
        let parsed = session_id(&input.session_id).and_then(|session| {
            let (starts_at, ends_at) = input.times.instants("input.times", Utc::now())?;
            Ok((session, Replan::Times { starts_at, ends_at }))
        });
        replan(
            ctx,
            "rescheduleSession",
            &input,
            input.options.idempotency_key.as_deref(),
            parsed,
        )
        .await
        .map(|performed| payload(&performed, input.options.client_mutation_id.clone()))
    }

    /// Staff: moves a session to another location before it starts; everyone booked is told.
    async fn relocate_session(
        &self,
        ctx: &Context<'_>,
        input: RelocateSessionInput,
    ) -> FieldResult<SessionPayload> {
        require_staff(viewer(ctx)?)?;
        let parsed = session_id(&input.session_id).and_then(|session| {
            let location = parse_id(
                LocationId::from_global(&input.location_id, "input.locationId"),
                "input.locationId",
            )?;
            Ok((session, Replan::Location(location.0)))
        });
        replan(
            ctx,
            "relocateSession",
            &input,
            input.options.idempotency_key.as_deref(),
            parsed,
        )
        .await
        .map(|performed| payload(&performed, input.options.client_mutation_id.clone()))
    }

    /// Staff: cancels a session before it starts, with every enrolment in it; each keeps the
    /// reason, and everyone booked is told.
    async fn cancel_session(
        &self,
        ctx: &Context<'_>,
        input: CancelSessionInput,
    ) -> FieldResult<SessionPayload> {
        require_staff(viewer(ctx)?)?;
        let parsed = session_id(&input.session_id).and_then(|session| {
            let reason = reason(Some(&input.reason), "input.reason")?.ok_or_else(|| {
                Refusal::new(
                    UserErrorCode::ReasonRequired,
                    "say why the session is cancelled",
                )
                .at("input.reason")
            })?;
            Ok((session, reason))
        });
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "cancelSession",
            key,
            &input,
            parsed,
            move |change, live, (session, reason)| {
                Box::pin(
                    async move { booking::cancel_session(change, &live, session.0, &reason).await },
                )
            },
        )
        .await?;
        Ok(payload(&performed, input.options.client_mutation_id))
    }

    /// Staff: changes a session's capacity. Extra seats go to the waiting list at once.
    async fn change_session_capacity(
        &self,
        ctx: &Context<'_>,
        input: ChangeSessionCapacityInput,
    ) -> FieldResult<SessionPayload> {
        require_staff(viewer(ctx)?)?;
        let capacity = input.capacity;
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "changeSessionCapacity",
            key,
            &input,
            session_id(&input.session_id),
            move |change, live, session| {
                Box::pin(async move {
                    booking::change_capacity(change, &live, session.0, capacity).await
                })
            },
        )
        .await?;
        Ok(payload(&performed, input.options.client_mutation_id))
    }

    /// Staff: closes booking for a session, or reopens it. Reopening gives free seats to the
    /// waiting list.
    async fn set_session_booking_open(
        &self,
        ctx: &Context<'_>,
        input: SetSessionBookingOpenInput,
    ) -> FieldResult<SessionPayload> {
        require_staff(viewer(ctx)?)?;
        let open = input.open;
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "setSessionBookingOpen",
            key,
            &input,
            session_id(&input.session_id),
            move |change, live, session| {
                Box::pin(
                    async move { booking::set_booking_open(change, &live, session.0, open).await },
                )
            },
        )
        .await?;
        Ok(payload(&performed, input.options.client_mutation_id))
    }
}
