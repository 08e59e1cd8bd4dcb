//! Erasing a participant, in one transaction: their name, addresses, external ids, calendar
//! links, unsent messages and (unless they consented to its publication) what they wrote are
//! gone; the subject they signed in with is replaced by a pseudonym wherever it was kept as who
//! made a change; their role and their enrolments stay, as anonymous records, so alumni counts,
//! reports and capacity history do not change. The feed tells each source system so.

use entity::{
    audit_event, calendar_link, enrolment, enrolment_change, enums::OutboxStatus, erasure,
    external_id, feedback, outbox_event, participant,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect,
    sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    change::{Change, Outcome, update_and_read},
    transaction::TxError,
};
use crate::{
    audit,
    auth::Role,
    domain::booking::{Refusal, UserErrorCode},
    live::Live,
};

/// What an erased participant is called.
pub const ERASED_NAME: &str = "Verwijderde deelnemer";

/// Why someone is erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Cause {
    /// They (or someone on their behalf) asked.
    Request,
    /// Their last session is longer ago than personal data is kept.
    Retention,
}

impl Cause {
    fn code(self) -> &'static str {
        match self {
            Self::Request => "REQUEST",
            Self::Retention => "RETENTION",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Erasure {
    pub participant_id: Uuid,
    pub cause: Cause,
    /// Why, in the words of whoever asked for it; kept on the audit trail only.
    pub reason: String,
    /// Keep a comment they consented to publish as a testimonial.
    pub keep_consented_comment: bool,
}

/// The address an erased participant's row keeps: the column is unique and required, and this
/// says nothing about anyone (`.invalid` can never be delivered to).
pub fn placeholder_email(id: Uuid) -> String {
    format!("erased-{}@erased.invalid", id.simple())
}

/// The name a person's token subject is replaced by, wherever it was kept as an actor.
pub fn pseudonym(id: Uuid) -> String {
    format!("erased-participant:{}", id.simple())
}

/// Erases one participant (see the module's comment); refuses one erased before.
pub async fn erase(
    mut change: Change<'_>,
    live: &Live,
    erasure: &Erasure,
) -> Result<Outcome, TxError> {
    const FIELD: &str = "input.participantId";
    let id = erasure.participant_id;
    let txn = change.txn;
    let person = participant::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| Refusal::not_found("participant", FIELD))?;
    if person.erased_at.is_some() {
        return Err(already_erased().into());
    }
    let enrolments: Vec<Uuid> = enrolment::Entity::find()
        .select_only()
        .column(enrolment::Column::Id)
        .filter(enrolment::Column::ParticipantId.eq(id))
        .into_tuple()
        .all(txn)
        .await?;
    // Seats still to come go to the next person waiting (sessions are locked before the
    // participant, as a booking locks them).
    for enrolment in &enrolments {
        change.release_for_erasure(*enrolment).await?;
    }
    // The participant, locked; erased meanwhile by someone else is erased all the same.
    let lock = participant::Entity::update_many()
        .col_expr(participant::Column::UpdatedAt, Expr::value(change.now))
        .filter(participant::Column::Id.eq(id))
        .filter(participant::Column::ErasedAt.is_null());
    if update_and_read(txn, lock, id).await?.is_none() {
        return Err(already_erased().into());
    }
    let feedback_ids: Vec<Uuid> = feedback::Entity::find()
        .select_only()
        .column(feedback::Column::Id)
        .filter(feedback::Column::ParticipantId.eq(id))
        .into_tuple()
        .all(txn)
        .await?;
    pseudonymise_actor(&change, id, &enrolments, &feedback_ids).await?;
    // The feed says so while the source systems' external ids still put it in their scope.
    for enrolment in &enrolments {
        change.record_erased(*enrolment).await?;
    }
    external_id::Entity::delete_many()
        .filter(crate::sync::external_ids::of_person(id, &enrolments))
        .exec(txn)
        .await?;
    calendar_link::Entity::update_many()
        .col_expr(calendar_link::Column::RevokedAt, Expr::value(change.now))
        .filter(calendar_link::Column::ParticipantId.eq(id))
        .filter(calendar_link::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    // Messages to them that have not gone out never will; webhooks about the erasure do.
    let about_them = Condition::all()
        .add(outbox_event::Column::AggregateType.eq("Enrolment"))
        .add(outbox_event::Column::AggregateId.is_in(enrolments.clone()))
        .add(outbox_event::Column::Topic.not_like("webhook.%"));
    outbox_event::Entity::update_many()
        .col_expr(
            outbox_event::Column::Status,
            Expr::value(OutboxStatus::Cancelled),
        )
        .col_expr(
            outbox_event::Column::ClaimToken,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(about_them)
        .filter(outbox_event::Column::Status.eq(OutboxStatus::Pending))
        .exec(txn)
        .await?;
    let mut comments = feedback::Entity::update_many()
        .col_expr(
            feedback::Column::Comment,
            Expr::value(Option::<String>::None),
        )
        .filter(feedback::Column::ParticipantId.eq(id));
    if erasure.keep_consented_comment {
        comments = comments.filter(feedback::Column::ConsentToPublish.eq(false));
    }
    comments.exec(txn).await?;
    participant::Entity::update_many()
        .col_expr(participant::Column::FullName, Expr::value(ERASED_NAME))
        .col_expr(
            participant::Column::Email,
            Expr::value(placeholder_email(id)),
        )
        .col_expr(
            participant::Column::EmailSkeleton,
            Expr::value(placeholder_email(id)),
        )
        .col_expr(
            participant::Column::Phone,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            participant::Column::MunicipalityId,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(participant::Column::ErasedAt, Expr::value(change.now))
        .filter(participant::Column::Id.eq(id))
        .exec(txn)
        .await?;
    erasure::Entity::insert(erasure::ActiveModel {
        id: Set(Uuid::new_v4()),
        participant_id: Set(id),
        cause: Set(erasure.cause.code().to_owned()),
        erased_at: Set(change.now),
    })
    .exec_without_returning(txn)
    .await?;
    let details = serde_json::json!({
        "cause": erasure.cause.code(),
        "reason": erasure.reason,
        "keepConsentedComment": erasure.keep_consented_comment,
    });
    audit::record_event(
        txn,
        &change.actor,
        "eraseParticipant",
        "Participant",
        &[id],
        Some(details),
        change.now,
    )
    .await?;
    change.finish(live, Outcome::for_record(id)).await
}

fn already_erased() -> Refusal {
    Refusal::new(
        UserErrorCode::AlreadyErased,
        "this participant was erased before",
    )
    .at("input.participantId")
}

/// The subjects the person signed in with are found where they acted as a participant on their
/// own records (their bookings, cancellations and feedback) and replaced by a pseudonym there
/// and on the audit trail.
async fn pseudonymise_actor(
    change: &Change<'_>,
    id: Uuid,
    enrolments: &[Uuid],
    feedback: &[Uuid],
) -> Result<(), TxError> {
    let txn = change.txn;
    let as_participant = format!("{:?}", Role::Participant);
    let mut subjects: Vec<String> = enrolment_change::Entity::find()
        .select_only()
        .column(enrolment_change::Column::Actor)
        .distinct()
        .filter(enrolment_change::Column::EnrolmentId.is_in(enrolments.to_vec()))
        .filter(enrolment_change::Column::ActorRole.eq(as_participant.clone()))
        .into_tuple()
        .all(txn)
        .await?;
    let links: Vec<Uuid> = calendar_link::Entity::find()
        .select_only()
        .column(calendar_link::Column::Id)
        .filter(calendar_link::Column::ParticipantId.eq(id))
        .into_tuple()
        .all(txn)
        .await?;
    let records: Vec<Uuid> = std::iter::once(id)
        .chain(enrolments.iter().copied())
        .chain(feedback.iter().copied())
        .chain(links)
        .collect();
    let mentions = crate::privacy::export::about_any(&records);
    let audited: Vec<String> = audit_event::Entity::find()
        .select_only()
        .column(audit_event::Column::Actor)
        .distinct()
        .filter(audit_event::Column::ActorRole.eq(as_participant.clone()))
        .filter(mentions.clone())
        .into_tuple()
        .all(txn)
        .await?;
    subjects.extend(audited);
    subjects.sort();
    subjects.dedup();
    if subjects.is_empty() {
        return Ok(());
    }
    let pseudonym = pseudonym(id);
    // Only on their own records: a subject is the identity provider's, and nothing here says
    // that no one else ever signed in with it.
    enrolment_change::Entity::update_many()
        .col_expr(
            enrolment_change::Column::Actor,
            Expr::value(pseudonym.clone()),
        )
        .filter(enrolment_change::Column::EnrolmentId.is_in(enrolments.to_vec()))
        .filter(enrolment_change::Column::Actor.is_in(subjects.clone()))
        .exec(txn)
        .await?;
    audit_event::Entity::update_many()
        .col_expr(audit_event::Column::Actor, Expr::value(pseudonym))
        .filter(audit_event::Column::Actor.is_in(subjects))
        .filter(audit_event::Column::ActorRole.eq(as_participant))
        .filter(mentions)
        .exec(txn)
        .await?;
    Ok(())
}
