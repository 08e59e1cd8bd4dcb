//! The booking rules that need no database: when a session takes bookings, when a participant
//! may still cancel, and the refusals a mutation answers with.

use chrono::{DateTime, Duration, Utc};
use entity::{enums::SessionStatus, session};
use serde::{Deserialize, Serialize};

/// Why a change was refused: each rule has its own code, documented in the README.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserErrorCode {
    /// An input value is not acceptable; `field` says which.
    BadUserInput,
    /// An id that is not an id of the expected type.
    InvalidId,
    /// No such record, or none the caller may change.
    NotFound,
    /// The session was cancelled.
    SessionCancelled,
    /// Booking for the session has not opened yet.
    BookingNotOpen,
    /// Booking has closed: its window ended, staff closed it or the session started.
    BookingClosed,
    /// The course is not meant for the participant's role.
    NotEligible,
    /// The participant already holds a seat or a waiting-list place in this session.
    AlreadyEnrolled,
    /// The participant already took, or is booked for, another session of this course.
    AlreadyEnrolledInCourse,
    /// A participant with this e-mail address exists; book with their id.
    ParticipantExists,
    /// Staff must give a reason for this change.
    ReasonRequired,
    /// Participants can no longer cancel themselves; the service desk can.
    CancellationDeadlinePassed,
    /// The enrolment is no longer confirmed or waiting.
    EnrolmentNotActive,
    /// The session has no free seat.
    SessionFull,
    /// The other session belongs to another course.
    DifferentCourse,
    /// The enrolment is already in that session.
    SameSession,
    /// A capacity below the seats already confirmed.
    CapacityBelowSeated,
    /// A capacity below one or above the course's maximum.
    CapacityOutOfRange,
    /// Attendance can only be recorded once the session has started.
    SessionNotStarted,
    /// Attendance is recorded for seated enrolments only, not for waiting or cancelled ones.
    EnrolmentNotSeated,
    /// The idempotency key was used before with a different input.
    IdempotencyKeyReused,
    /// Another course (or organisation) already has this slug.
    SlugTaken,
    /// An end that is not after its start.
    EndBeforeStart,
    /// The session has started (or taken place): its time and place are history.
    SessionStarted,
    /// A module named that belongs to another course.
    ModuleOfAnotherCourse,
    /// The actor plays elsewhere at that time, is not available then, or is not active.
    Conflict,
    /// Feedback comes from participants who attended the session.
    NotAttended,
    /// Feedback is given once per session.
    FeedbackAlreadyGiven,
    /// Feedback opens when the session starts and closes some days after it ends.
    FeedbackClosed,
    /// A rating outside 1 to 5.
    RatingOutOfRange,
    /// The message went out already: there is nothing to retry or cancel.
    AlreadyDelivered,
    /// A dispatcher is sending the message at this moment; look again shortly.
    BeingSent,
    /// The participant was erased before: there is nothing left to erase.
    AlreadyErased,
    /// The e-mail address looks like another participant's (a look-alike character); staff
    /// may accept it with `allowConfusable` and a reason.
    EmailConfusable,
    /// Another item of an all-or-nothing batch was refused, so this one was not kept either.
    BatchRejected,
    /// The batch has another item with this external id.
    DuplicateInBatch,
    /// A snapshot would cancel more of the source's enrolments than its guard allows.
    SnapshotGuard,
    /// The item kept colliding with other changes; nothing changed, send it again.
    TryAgain,
}

/// A refusal: nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub code: UserErrorCode,
    pub message: String,
    /// The input field at fault, as a path such as `input.sessionId`.
    pub field: Option<String>,
}

impl Refusal {
    pub fn new(code: UserErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn not_found(what: &str, field: &str) -> Self {
        Self::new(UserErrorCode::NotFound, format!("{what} not found")).at(field)
    }

    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        Self::new(UserErrorCode::BadUserInput, message).at(field)
    }
}

/// When booking for a session closes: at its own closing time, and never after the start.
pub fn booking_closes_at(session: &session::Model) -> DateTime<Utc> {
    session
        .booking_closes_at
        .map_or(session.starts_at, |closes| closes.min(session.starts_at))
}

/// The next instant after `now` at which the booking window opens or closes, if any.
pub fn window_changes_after(session: &session::Model, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    [session.booking_opens_at, Some(booking_closes_at(session))]
        .into_iter()
        .flatten()
        .filter(|at| *at > now)
        .min()
}

/// Whether the session takes bookings at `now`, and if not, why.
pub fn check_booking_window(session: &session::Model, now: DateTime<Utc>) -> Result<(), Refusal> {
    match session.status {
        SessionStatus::Cancelled => {
            return Err(Refusal::new(
                UserErrorCode::SessionCancelled,
                "this session was cancelled",
            ));
        }
        SessionStatus::Completed => {
            return Err(Refusal::new(
                UserErrorCode::BookingClosed,
                "this session has taken place",
            ));
        }
        SessionStatus::Scheduled => {}
    }
    if let Some(opens) = session.booking_opens_at
        && now < opens
    {
        return Err(Refusal::new(
            UserErrorCode::BookingNotOpen,
            format!("booking opens at {}", opens.to_rfc3339()),
        ));
    }
    if now >= booking_closes_at(session) {
        return Err(Refusal::new(
            UserErrorCode::BookingClosed,
            "booking for this session has closed",
        ));
    }
    if !session.booking_open {
        return Err(Refusal::new(
            UserErrorCode::BookingClosed,
            "booking for this session was closed by the service desk",
        ));
    }
    Ok(())
}

/// Whether a freed seat may go to the waiting list now: only while the session takes bookings.
pub fn may_promote(session: &session::Model, now: DateTime<Utc>) -> bool {
    check_booking_window(session, now).is_ok()
}

/// Until when a participant may cancel their own enrolment.
pub fn cancellable_until(session: &session::Model, deadline_hours: i32) -> DateTime<Utc> {
    session.starts_at - Duration::hours(i64::from(deadline_hours))
}

/// A reason given by staff: free text of at most 1000 characters, lines allowed.
pub fn reason(value: Option<&str>, field: &str) -> Result<Option<String>, Refusal> {
    super::input::text(value, field, 1000, true)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn session(starts_at: DateTime<Utc>) -> session::Model {
        session::Model {
            id: Uuid::new_v4(),
            course_id: Uuid::new_v4(),
            location_id: None,
            starts_at,
            ends_at: starts_at + Duration::hours(7),
            capacity: 10,
            status: SessionStatus::Scheduled,
            booking_opens_at: None,
            booking_closes_at: None,
            is_demo: false,
            booking_open: true,
            availability_version: 0,
            actors_needed: 1,
            created_at: starts_at,
            updated_at: starts_at,
        }
    }

    fn code(result: Result<(), Refusal>) -> Option<UserErrorCode> {
        result.err().map(|r| r.code)
    }

    #[test]
    fn the_booking_window() {
        let now = Utc::now();
        let mut s = session(now + Duration::days(7));
        assert_eq!(code(check_booking_window(&s, now)), None);

        s.booking_opens_at = Some(now + Duration::hours(1));
        assert_eq!(
            code(check_booking_window(&s, now)),
            Some(UserErrorCode::BookingNotOpen)
        );
        s.booking_opens_at = Some(now);
        assert_eq!(code(check_booking_window(&s, now)), None);

        s.booking_closes_at = Some(now);
        assert_eq!(
            code(check_booking_window(&s, now)),
            Some(UserErrorCode::BookingClosed)
        );
        // A closing time after the start still closes at the start.
        s.booking_closes_at = Some(now + Duration::days(30));
        assert_eq!(booking_closes_at(&s), s.starts_at);
        assert_eq!(
            code(check_booking_window(&s, s.starts_at)),
            Some(UserErrorCode::BookingClosed)
        );

        s.booking_open = false;
        assert_eq!(
            code(check_booking_window(&s, now)),
            Some(UserErrorCode::BookingClosed)
        );
        assert!(!may_promote(&s, now));
        s.booking_open = true;
        s.status = SessionStatus::Cancelled;
        assert_eq!(
            code(check_booking_window(&s, now)),
            Some(UserErrorCode::SessionCancelled)
        );
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(reason(Some("  "), "r").unwrap(), None);
        assert_eq!(
            reason(Some(" ziek "), "r").unwrap().as_deref(),
            Some("ziek")
        );
        let long = "x".repeat(1001);
        assert_eq!(
            reason(Some(&long), "r").unwrap_err().code,
            UserErrorCode::BadUserInput
        );
        assert_eq!(
            reason(Some("twee\nregels"), "r").unwrap().as_deref(),
            Some("twee\nregels")
        );
        assert!(reason(Some("nul\0byte"), "r").is_err());
        assert!(super::super::input::text(Some("naam\nmet regel"), "n", 200, false).is_err());
    }
}
