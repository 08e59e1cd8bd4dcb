use async_graphql::Enum;
use entity::enums;

/// Where a course is in its life: only PUBLISHED courses are open for booking.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::CourseStatus")]
pub enum CourseStatus {
    Draft,
    Published,
    Archived,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::SessionStatus")]
pub enum SessionStatus {
    Scheduled,
    Cancelled,
    Completed,
}

/// The public office a participant holds.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[graphql(remote = "enums::ParticipantRole")]
pub enum ParticipantRole {
    /// Burgemeester.
    Mayor,
    /// Wethouder.
    Alderman,
    /// Gemeentesecretaris.
    MunicipalSecretary,
    /// Gemeenteraadslid.
    CouncilMember,
    CivilServant,
    Other,
}

/// How people register for an organisation's courses.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[graphql(remote = "enums::RegistrationMethod")]
pub enum RegistrationMethod {
    /// Through this platform.
    Platform,
    /// By e-mail to the service desk.
    Email,
    /// By telephone to the service desk.
    Phone,
}

/// Where an enrolment stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::EnrolmentStatus")]
pub enum EnrolmentStatus {
    Confirmed,
    Waitlisted,
    Cancelled,
    Attended,
    NoShow,
}

/// What one step in an enrolment's history did.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "enums::EnrolmentChangeKind")]
pub enum EnrolmentChangeKind {
    /// Booked into a free seat.
    Booked,
    /// Booked onto the waiting list of a full session.
    Waitlisted,
    /// Given a seat that came free.
    Promoted,
    Cancelled,
    /// Left this session for another one of the same course.
    MovedOut,
    /// Came from another session of the same course.
    MovedIn,
    Attended,
    NoShow,
    /// The participant was erased; the enrolment stays, anonymous.
    Erased,
}

/// Where a comment stands on its way to publication.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[graphql(remote = "enums::ModerationStatus")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModerationStatus {
    Pending,
    Approved,
    Rejected,
}

/// Where an outbox event stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[graphql(remote = "enums::OutboxStatus")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutboxStatus {
    /// Waiting to be delivered, or to be tried again.
    Pending,
    Delivered,
    /// Failed for good, or too often: see `lastError`; an administrator may retry it.
    Dead,
    /// Not to be delivered: an administrator cancelled it, or it no longer applied.
    Cancelled,
}
