//! Booking a seat, cancelling, moving a booking and recording attendance.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use serde::Serialize;
use uuid::Uuid;

use super::{
    MutationOptions, MutationResult, Performed, parse_id as id, perform_checked, perform_with,
    require_staff,
};
use crate::{
    auth::{Role, Viewer, policy},
    db::{
        booking::{self, BookRequest, Booker, CancelledBy, NewParticipant},
        booking_together::Job,
    },
    domain::{
        booking::{Refusal, UserErrorCode, reason},
        email::EmailAddress,
        ids::{EnrolmentId, ParticipantId, SessionId},
        input::text,
    },
    error::{ApiError, FieldResult},
    graphql::{
        context::{request_data, viewer},
        types::{Enrolment, enums::EnrolmentStatus, enums::ParticipantRole, load_enrolment},
    },
    sync::external_ids::{MAX_EXTERNAL_ID, Source, scope_of, source_of},
};

#[derive(Default)]
pub struct BookingMutation;

/// A participant the service desk books who is not known yet.
#[derive(InputObject, Serialize, Debug, Clone)]
pub struct NewParticipantInput {
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: ParticipantRole,
    /// The id a ministry system knows them by.
    pub external_id: Option<String>,
    /// Staff only: accept an address that looks like another participant's (it differs in a
    /// look-alike character); needs the booking's `reason`.
    #[graphql(default)]
    pub allow_confusable: bool,
}

#[derive(InputObject, Serialize, Debug)]
pub struct BookSeatInput {
    pub session_id: ID,
    /// Staff and sync clients: who to book. Participants book themselves and leave it out.
    pub participant_id: Option<ID>,
    /// Staff and sync clients: book someone who is not known yet.
    pub new_participant: Option<NewParticipantInput>,
    /// Staff only: book although the course is not meant for the participant's role; needs a
    /// `reason`.
    #[graphql(default)]
    pub override_eligibility: bool,
    pub reason: Option<String>,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct BookSeatPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    /// CONFIRMED, or WAITLISTED when the session was full, as it was right after booking.
    pub status: Option<EnrolmentStatus>,
    /// The place on the waiting list right after booking (1 is next).
    pub waiting_list_place: Option<i64>,
    #[graphql(skip)]
    pub enrolment_id: Option<Uuid>,
}

#[ComplexObject]
impl BookSeatPayload {
    /// The enrolment as it is now.
    async fn enrolment(&self, ctx: &Context<'_>) -> FieldResult<Option<Enrolment>> {
        enrolment(ctx, self.enrolment_id).await
    }
}

#[derive(InputObject, Serialize, Debug)]
pub struct CancelEnrolmentInput {
    pub enrolment_id: ID,
    /// Required when staff or a sync client cancel on someone's behalf.
    pub reason: Option<String>,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct CancelEnrolmentPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub enrolment_id: Option<Uuid>,
}

#[ComplexObject]
impl CancelEnrolmentPayload {
    async fn enrolment(&self, ctx: &Context<'_>) -> FieldResult<Option<Enrolment>> {
        enrolment(ctx, self.enrolment_id).await
    }
}

#[derive(InputObject, Serialize, Debug)]
pub struct MoveEnrolmentInput {
    pub enrolment_id: ID,
    /// Another session of the same course, with a free seat.
    pub to_session_id: ID,
    pub reason: Option<String>,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct MoveEnrolmentPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub enrolment_id: Option<Uuid>,
    #[graphql(skip)]
    pub previous_enrolment_id: Option<Uuid>,
}

#[ComplexObject]
impl MoveEnrolmentPayload {
    /// The new, confirmed enrolment in the other session.
    async fn enrolment(&self, ctx: &Context<'_>) -> FieldResult<Option<Enrolment>> {
        enrolment(ctx, self.enrolment_id).await
    }

    /// The enrolment that was left, now CANCELLED.
    async fn previous_enrolment(&self, ctx: &Context<'_>) -> FieldResult<Option<Enrolment>> {
        enrolment(ctx, self.previous_enrolment_id).await
    }
}

#[derive(Enum, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Attendance {
    Attended,
    NoShow,
}

#[derive(InputObject, Serialize, Debug, Clone)]
pub struct AttendanceMark {
    pub enrolment_id: ID,
    pub attendance: Attendance,
}

#[derive(InputObject, Serialize, Debug)]
pub struct RecordAttendanceInput {
    pub session_id: ID,
    /// Each enrolment at most once; all are recorded, or none.
    pub marks: Vec<AttendanceMark>,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct RecordAttendancePayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    #[graphql(skip)]
    pub enrolment_ids: Vec<Uuid>,
}

#[ComplexObject]
impl RecordAttendancePayload {
    /// The enrolments marked, in the order given.
    async fn enrolments(&self, ctx: &Context<'_>) -> FieldResult<Vec<Enrolment>> {
        let mut found = Vec::with_capacity(self.enrolment_ids.len());
        for id in &self.enrolment_ids {
            if let Some(enrolment) = load_enrolment(ctx, EnrolmentId(*id)).await? {
                found.push(enrolment);
            }
        }
        Ok(found)
    }
}

async fn enrolment(ctx: &Context<'_>, id: Option<Uuid>) -> FieldResult<Option<Enrolment>> {
    match id {
        Some(id) => load_enrolment(ctx, EnrolmentId(id)).await,
        None => Ok(None),
    }
}

/// Who may book whom, and the booking request the input describes.
fn book_request(
    viewer: &Viewer,
    input: &BookSeatInput,
) -> FieldResult<Result<BookRequest, Refusal>> {
    let Some(role) = viewer.role() else {
        return Err(ApiError::Unauthenticated.into());
    };
    let staff = policy::can_manage_bookings(viewer);
    let on_behalf = policy::can_book_for_others(viewer);
    let session_id = match id(
        SessionId::from_global(&input.session_id, "input.sessionId"),
        "input.sessionId",
    ) {
        Ok(session) => session,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if input.override_eligibility && !staff {
        return Err(
            ApiError::ForbiddenTo("only staff can book outside a course's audience").into(),
        );
    }
    let booker = if role == Role::Participant {
        let Viewer::Person {
            participant_id: Some(own),
            ..
        } = viewer
        else {
            return Err(ApiError::ForbiddenTo("this token names no participant").into());
        };
        if input.new_participant.is_some() {
            return Err(ApiError::ForbiddenTo("participants book for themselves only").into());
        }
        if let Some(given) = &input.participant_id {
            match id(
                ParticipantId::from_global(given, "input.participantId"),
                "input.participantId",
            ) {
                Ok(given) if given.0 == *own => {}
                Ok(_) => {
                    return Err(
                        ApiError::ForbiddenTo("participants book for themselves only").into(),
                    );
                }
                Err(refusal) => return Ok(Err(refusal)),
            }
        }
        Booker::Myself(*own)
    } else if on_behalf {
        match (&input.participant_id, &input.new_participant) {
            (Some(given), None) => {
                match id(
                    ParticipantId::from_global(given, "input.participantId"),
                    "input.participantId",
                ) {
                    Ok(given) => Booker::Existing(given.0),
                    Err(refusal) => return Ok(Err(refusal)),
                }
            }
            (None, Some(details)) => match new_participant(details, source_of(viewer)) {
                Ok(details) => Booker::New(details),
                Err(refusal) => return Ok(Err(refusal)),
            },
            _ => {
                return Ok(Err(Refusal::bad_input(
                    "input.participantId",
                    "give either `participantId` or `newParticipant`",
                )));
            }
        }
    } else {
        return Err(ApiError::ForbiddenTo("your role cannot book seats").into());
    };
    let reason = match reason(input.reason.as_deref(), "input.reason") {
        Ok(reason) => reason,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if let Booker::New(details) = &booker
        && details.allow_confusable
    {
        if !staff {
            return Err(ApiError::ForbiddenTo(
                "only staff can accept an address that looks like another",
            )
            .into());
        }
        if reason.is_none() {
            return Ok(Err(Refusal::new(
                UserErrorCode::ReasonRequired,
                "say why this look-alike address is right",
            )
            .at("input.reason")));
        }
    }
    Ok(Ok(BookRequest {
        session_id: session_id.0,
        booker,
        override_eligibility: input.override_eligibility,
        reason,
        sees_unpublished: policy::can_see_unpublished(viewer),
        scope: scope_of(viewer),
    }))
}

/// Checks the details of a new participant; e-mail addresses are kept in normal form.
fn new_participant(input: &NewParticipantInput, source: Source) -> Result<NewParticipant, Refusal> {
    let field = |name: &str| format!("input.newParticipant.{name}");
    let full_name = text(Some(&input.full_name), &field("fullName"), 200, false)?
        .ok_or_else(|| Refusal::bad_input(&field("fullName"), "a name is required"))?;
    let email = EmailAddress::parse(&input.email, &field("email"))?;
    Ok(NewParticipant {
        source,
        municipality_id: None,
        allow_confusable: input.allow_confusable,
        full_name,
        email,
        phone: text(input.phone.as_deref(), &field("phone"), 40, false)?,
        role: input.role.into(),
        external_id: text(
            input.external_id.as_deref(),
            &field("externalId"),
            MAX_EXTERNAL_ID,
            false,
        )?,
    })
}

#[Object]
impl BookingMutation {
    /// Books a seat in a session, or a place on its waiting list when it is full. Participants
    /// book themselves; staff and sync clients book an existing participant or a new one.
    async fn book_seat(
        &self,
        ctx: &Context<'_>,
        input: BookSeatInput,
    ) -> FieldResult<BookSeatPayload> {
        let key = input.options.idempotency_key.as_deref();
        let performed = match book_request(viewer(ctx)?, &input)? {
            Err(refusal) => Performed::refused(refusal),
            // Someone who exists: made together with the session's other bookings of the moment.
            Ok(request) if !matches!(request.booker, Booker::New(_)) => {
                let queue = request_data(ctx)?.bookings.clone();
                perform_with(ctx, "bookSeat", key, &input, move |actor, claimed| {
                    Box::pin(async move {
                        let job = Job {
                            request,
                            actor,
                            claimed,
                        };
                        queue.book(job).await
                    })
                })
                .await?
            }
            checked @ Ok(_) => {
                perform_checked(
                    ctx,
                    "bookSeat",
                    key,
                    &input,
                    checked,
                    move |change, live, request| {
                        Box::pin(async move { booking::book(change, &live, &request).await })
                    },
                )
                .await?
            }
        };
        Ok(BookSeatPayload {
            result: performed.result(input.options.client_mutation_id),
            status: performed.made().and_then(|o| o.status).map(Into::into),
            waiting_list_place: performed.made().and_then(|o| o.waiting_list_place),
            enrolment_id: performed.made().and_then(|o| o.enrolment_id),
        })
    }

    /// Cancels an enrolment. Participants cancel their own until the course's cancellation
    /// deadline; staff and sync clients at any time, with a reason. A freed seat goes to the
    /// first person on the waiting list.
    async fn cancel_enrolment(
        &self,
        ctx: &Context<'_>,
        input: CancelEnrolmentInput,
    ) -> FieldResult<CancelEnrolmentPayload> {
        let viewer = viewer(ctx)?;
        let by = match viewer {
            Viewer::Anonymous => return Err(ApiError::Unauthenticated.into()),
            Viewer::Person {
                role: Role::Participant,
                participant_id: Some(own),
                ..
            } => CancelledBy::Participant(*own),
            _ if policy::can_book_for_others(viewer) => match scope_of(viewer) {
                Some(source) => CancelledBy::SourceSystem(source),
                None => CancelledBy::Staff,
            },
            _ => return Err(ApiError::ForbiddenTo("your role cannot cancel enrolments").into()),
        };
        let parsed = id(
            EnrolmentId::from_global(&input.enrolment_id, "input.enrolmentId"),
            "input.enrolmentId",
        )
        .and_then(|enrolment| Ok((enrolment, reason(input.reason.as_deref(), "input.reason")?)));
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "cancelEnrolment",
            key,
            &input,
            parsed,
            move |change, live, (enrolment, reason)| {
                let by = by.clone();
                Box::pin(async move {
                    booking::cancel(change, &live, enrolment.0, by, reason.as_deref()).await
                })
            },
        )
        .await?;
        Ok(CancelEnrolmentPayload {
            result: performed.result(input.options.client_mutation_id),
            enrolment_id: performed.made().and_then(|o| o.enrolment_id),
        })
    }

    /// Staff: moves a booking to another session of the same course in one step. The new seat
    /// is taken before the old one is freed, or nothing changes.
    async fn move_enrolment(
        &self,
        ctx: &Context<'_>,
        input: MoveEnrolmentInput,
    ) -> FieldResult<MoveEnrolmentPayload> {
        require_staff(viewer(ctx)?)?;
        let parsed = id(
            EnrolmentId::from_global(&input.enrolment_id, "input.enrolmentId"),
            "input.enrolmentId",
        )
        .and_then(|enrolment| {
            let to = id(
                SessionId::from_global(&input.to_session_id, "input.toSessionId"),
                "input.toSessionId",
            )?;
            Ok((
                enrolment,
                to,
                reason(input.reason.as_deref(), "input.reason")?,
            ))
        });
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "moveEnrolment",
            key,
            &input,
            parsed,
            move |change, live, (enrolment, to, reason)| {
                Box::pin(async move {
                    booking::move_enrolment(change, &live, enrolment.0, to.0, reason.as_deref())
                        .await
                })
            },
        )
        .await?;
        Ok(MoveEnrolmentPayload {
            result: performed.result(input.options.client_mutation_id),
            enrolment_id: performed.made().and_then(|o| o.enrolment_id),
            previous_enrolment_id: performed.made().and_then(|o| o.previous_enrolment_id),
        })
    }

    /// Staff: marks the enrolments of a session that has started as ATTENDED or NO_SHOW.
    async fn record_attendance(
        &self,
        ctx: &Context<'_>,
        input: RecordAttendanceInput,
    ) -> FieldResult<RecordAttendancePayload> {
        require_staff(viewer(ctx)?)?;
        let key = input.options.idempotency_key.as_deref();
        let performed = perform_checked(
            ctx,
            "recordAttendance",
            key,
            &input,
            attendance_marks(&input),
            move |change, live, (session, marks)| {
                Box::pin(async move {
                    booking::record_attendance(change, &live, session.0, &marks).await
                })
            },
        )
        .await?;
        Ok(RecordAttendancePayload {
            result: performed.result(input.options.client_mutation_id),
            enrolment_ids: performed
                .made()
                .map(|o| o.enrolment_ids.clone())
                .unwrap_or_default(),
        })
    }
}

/// At most this many marks in one call: a session has a handful of seats.
const MAX_MARKS: usize = 200;

fn attendance_marks(
    input: &RecordAttendanceInput,
) -> Result<(SessionId, Vec<(Uuid, bool)>), Refusal> {
    let session = id(
        SessionId::from_global(&input.session_id, "input.sessionId"),
        "input.sessionId",
    )?;
    if input.marks.is_empty() || input.marks.len() > MAX_MARKS {
        return Err(Refusal::bad_input(
            "input.marks",
            format!("give 1 to {MAX_MARKS} marks"),
        ));
    }
    let mut marks: Vec<(Uuid, bool)> = Vec::with_capacity(input.marks.len());
    for (index, mark) in input.marks.iter().enumerate() {
        let field = format!("input.marks.{index}.enrolmentId");
        let enrolment = id(
            EnrolmentId::from_global(&mark.enrolment_id, "input.marks"),
            &field,
        )?;
        if marks.iter().any(|(seen, _)| *seen == enrolment.0) {
            return Err(Refusal::bad_input(
                &field,
                "each enrolment is marked at most once",
            ));
        }
        marks.push((enrolment.0, mark.attendance == Attendance::Attended));
    }
    Ok((session, marks))
}
