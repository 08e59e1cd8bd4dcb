//! Feedback after a session: given once by those who attended, moderated before any of it is
//! shown, and shown only as "a participant" with at most the role.

use chrono::Duration;
use entity::{
    course, enrolment,
    enums::{CourseStatus, EnrolmentStatus, ModerationStatus},
    feedback, participant, session,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, SqlErr, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    change::{Change, Outcome},
    transaction::TxError,
};
use crate::{
    domain::{
        booking::{Refusal, UserErrorCode},
        pagination::FeedbackCursor,
    },
    live::Live,
};

/// Feedback can be given until this long after the session ends.
pub const FEEDBACK_PERIOD_DAYS: i64 = 30;

#[derive(Debug, Clone)]
pub struct NewFeedback {
    pub session_id: Uuid,
    pub overall_rating: i32,
    pub relevance_rating: Option<i32>,
    pub actor_rating: Option<i32>,
    pub trainer_rating: Option<i32>,
    pub comment: Option<String>,
    pub consent_to_publish: bool,
}

fn already_given() -> TxError {
    Refusal::new(
        UserErrorCode::FeedbackAlreadyGiven,
        "you gave feedback on this session already",
    )
    .into()
}

/// A participant's feedback on a session they attended.
pub async fn give_feedback(
    change: Change<'_>,
    live: &Live,
    participant_id: Uuid,
    new: &NewFeedback,
) -> Result<Outcome, TxError> {
    let Some(session) = session::Entity::find_by_id(new.session_id)
        .one(change.txn)
        .await?
    else {
        return Err(Refusal::not_found("session", "input.sessionId").into());
    };
    let attended = enrolment::Entity::find()
        .filter(enrolment::Column::SessionId.eq(session.id))
        .filter(enrolment::Column::ParticipantId.eq(participant_id))
        .filter(enrolment::Column::Status.eq(EnrolmentStatus::Attended))
        .one(change.txn)
        .await?;
    // A session of an unpublished course does not exist for a participant who was not there:
    // the answer is the one for an unknown session.
    let published = course::Entity::find_by_id(session.course_id)
        .one(change.txn)
        .await?
        .is_some_and(|course| course.status == CourseStatus::Published);
    if attended.is_none() && !published {
        return Err(Refusal::not_found("session", "input.sessionId").into());
    }
    if attended.is_none() {
        return Err(Refusal::new(
            UserErrorCode::NotAttended,
            "feedback comes from those who attended the session",
        )
        .into());
    }
    let closes = session.ends_at + Duration::days(FEEDBACK_PERIOD_DAYS);
    if change.now < session.starts_at || change.now > closes {
        return Err(Refusal::new(
            UserErrorCode::FeedbackClosed,
            format!(
                "feedback is open from the start until {FEEDBACK_PERIOD_DAYS} days after the end"
            ),
        )
        .into());
    }
    let Some(author) = participant::Entity::find_by_id(participant_id)
        .one(change.txn)
        .await?
    else {
        return Err(Refusal::not_found("participant", "input.sessionId").into());
    };
    let id = Uuid::new_v4();
    feedback::Entity::insert(feedback::ActiveModel {
        id: Set(id),
        course_id: Set(session.course_id),
        session_id: Set(Some(session.id)),
        participant_id: Set(Some(participant_id)),
        overall_rating: Set(Some(new.overall_rating)),
        relevance_rating: Set(new.relevance_rating),
        actor_rating: Set(new.actor_rating),
        trainer_rating: Set(new.trainer_rating),
        comment: Set(new.comment.clone()),
        consent_to_publish: Set(new.consent_to_publish),
        moderation_status: Set(ModerationStatus::Pending),
        // The only attribution a testimonial may carry.
        author_role: Set(Some(author.role)),
        submitted_at: Set(change.now),
        created_at: Set(change.now),
        updated_at: Set(change.now),
    })
    .exec_without_returning(change.txn)
    .await
    .map_err(|error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => already_given(),
        _ => TxError::from(error),
    })?;
    change
        .audit_change("giveFeedback", "Feedback", &[id])
        .await?;
    change.finish(live, Outcome::for_record(id)).await
}

/// An administrator approves or rejects a comment for publication.
pub async fn moderate(
    change: Change<'_>,
    live: &Live,
    id: Uuid,
    decision: ModerationStatus,
) -> Result<Outcome, TxError> {
    let changed = feedback::Entity::update_many()
        .col_expr(feedback::Column::ModerationStatus, Expr::value(decision))
        .col_expr(feedback::Column::UpdatedAt, Expr::value(change.now))
        .filter(feedback::Column::Id.eq(id))
        .exec(change.txn)
        .await?;
    if changed.rows_affected == 0 {
        return Err(Refusal::not_found("feedback", "input.feedbackId").into());
    }
    change
        .audit_change("moderateFeedback", "Feedback", &[id])
        .await?;
    change.finish(live, Outcome::for_record(id)).await
}

/// The author withdraws consent: the testimonial disappears at once.
pub async fn withdraw_consent(
    change: Change<'_>,
    live: &Live,
    participant_id: Uuid,
    id: Uuid,
) -> Result<Outcome, TxError> {
    let changed = feedback::Entity::update_many()
        .col_expr(feedback::Column::ConsentToPublish, Expr::value(false))
        .col_expr(feedback::Column::UpdatedAt, Expr::value(change.now))
        .filter(feedback::Column::Id.eq(id))
        // Someone else's feedback looks the same as none at all.
        .filter(feedback::Column::ParticipantId.eq(participant_id))
        .exec(change.txn)
        .await?;
    if changed.rows_affected == 0 {
        return Err(Refusal::not_found("feedback", "input.feedbackId").into());
    }
    change
        .audit_change("withdrawConsent", "Feedback", &[id])
        .await?;
    change.finish(live, Outcome::for_record(id)).await
}

pub async fn find_feedback_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<feedback::Model>, DbErr> {
    feedback::Entity::find()
        .filter(feedback::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Comments whose authors consented to publication, waiting for an administrator, oldest first:
/// a page of `limit` after `after`, of one course or all.
pub async fn awaiting_moderation(
    db: &impl ConnectionTrait,
    course_id: Option<Uuid>,
    after: Option<FeedbackCursor>,
    limit: u64,
) -> Result<Vec<feedback::Model>, DbErr> {
    let mut query = feedback::Entity::find()
        .filter(feedback::Column::ModerationStatus.eq(ModerationStatus::Pending))
        .filter(feedback::Column::ConsentToPublish.eq(true))
        .filter(feedback::Column::Comment.is_not_null());
    if let Some(course_id) = course_id {
        query = query.filter(feedback::Column::CourseId.eq(course_id));
    }
    if let Some(FeedbackCursor { submitted_at, id }) = after {
        query = query.filter(
            Condition::any()
                .add(feedback::Column::SubmittedAt.gt(submitted_at))
                .add(
                    Condition::all()
                        .add(feedback::Column::SubmittedAt.eq(submitted_at))
                        .add(feedback::Column::Id.gt(id)),
                ),
        );
    }
    query
        .order_by_asc(feedback::Column::SubmittedAt)
        .order_by_asc(feedback::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// A participant's own feedback, newest first.
pub async fn feedback_of(
    db: &impl ConnectionTrait,
    participant_id: Uuid,
) -> Result<Vec<feedback::Model>, DbErr> {
    feedback::Entity::find()
        .filter(feedback::Column::ParticipantId.eq(participant_id))
        .order_by_desc(feedback::Column::SubmittedAt)
        .all(db)
        .await
}

/// A testimonial from before the platform kept records (the leaflet's quote): published as it
/// was given, with consent, attributed to a participant or at most a role.
pub async fn record_testimonial(
    change: Change<'_>,
    live: &Live,
    course_id: Uuid,
    quote: &str,
    author_role: Option<entity::enums::ParticipantRole>,
) -> Result<Outcome, TxError> {
    if course::Entity::find_by_id(course_id)
        .one(change.txn)
        .await?
        .is_none()
    {
        return Err(Refusal::not_found("course", "input.courseId").into());
    }
    let id = Uuid::new_v4();
    feedback::Entity::insert(feedback::ActiveModel {
        id: Set(id),
        course_id: Set(course_id),
        session_id: Set(None),
        participant_id: Set(None),
        overall_rating: Set(None),
        relevance_rating: Set(None),
        actor_rating: Set(None),
        trainer_rating: Set(None),
        comment: Set(Some(quote.to_owned())),
        consent_to_publish: Set(true),
        moderation_status: Set(ModerationStatus::Approved),
        author_role: Set(author_role),
        submitted_at: Set(change.now),
        created_at: Set(change.now),
        updated_at: Set(change.now),
    })
    .exec_without_returning(change.txn)
    .await?;
    change
        .audit_change("recordTestimonial", "Feedback", &[id])
        .await?;
    change.finish(live, Outcome::for_record(id)).await
}
