//! Everything held about one participant, as they may ask for it (GDPR article 15): their
//! record, external ids, enrolments with their history, feedback, calendar links, the messages
//! about them and the audit events about their records. Who read or changed something is given
//! by role only, never by identity: the export is about the person, not about staff.

use chrono::{DateTime, Utc};
use entity::{
    audit_event, calendar_link, course, enrolment, enrolment_change, external_id, feedback,
    municipality, outbox_event, participant, session,
};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// The export of `id`, or `None` when there is no such participant.
pub async fn export(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Value>, DbErr> {
    let Some(person) = participant::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let municipality = match person.municipality_id {
        Some(m) => municipality::Entity::find_by_id(m)
            .one(db)
            .await?
            .map(|m| json!({ "cbsCode": m.cbs_code, "name": m.name })),
        None => None,
    };
    let erased = person.erased_at.is_some();
    let enrolments = enrolment::Entity::find()
        .filter(enrolment::Column::ParticipantId.eq(id))
        .order_by_asc(enrolment::Column::CreatedAt)
        .all(db)
        .await?;
    let enrolment_ids: Vec<Uuid> = enrolments.iter().map(|e| e.id).collect();
    let sessions = session::Entity::find()
        .filter(session::Column::Id.is_in(enrolments.iter().map(|e| e.session_id)))
        .all(db)
        .await?;
    let courses = course::Entity::find()
        .filter(course::Column::Id.is_in(sessions.iter().map(|s| s.course_id)))
        .all(db)
        .await?;
    let changes = enrolment_change::Entity::find()
        .filter(enrolment_change::Column::EnrolmentId.is_in(enrolment_ids.clone()))
        .order_by_asc(enrolment_change::Column::Version)
        .all(db)
        .await?;
    let enrolments: Vec<Value> = enrolments
        .iter()
        .map(|e| {
            let session = sessions.iter().find(|s| s.id == e.session_id);
            let course = session.and_then(|s| courses.iter().find(|c| c.id == s.course_id));
            let history: Vec<Value> = changes
                .iter()
                .filter(|c| c.enrolment_id == e.id)
                .map(|c| {
                    json!({
                        "change": c.change.to_value(),
                        "fromStatus": c.from_status.map(|s| s.to_value()),
                        "toStatus": c.to_status.to_value(),
                        "byRole": c.actor_role,
                        "reason": c.reason,
                        "at": c.occurred_at,
                    })
                })
                .collect();
            json!({
                "id": e.id,
                "status": e.status.to_value(),
                "course": course.map(|c| c.title.clone()),
                "sessionStartsAt": session.map(|s| s.starts_at),
                "createdAt": e.created_at,
                "history": history,
            })
        })
        .collect();
    let feedback = feedback::Entity::find()
        .filter(feedback::Column::ParticipantId.eq(id))
        .all(db)
        .await?;
    let feedback_ids: Vec<Uuid> = feedback.iter().map(|f| f.id).collect();
    let feedback: Vec<Value> = feedback
        .iter()
        .map(|f| {
            json!({
                "sessionId": f.session_id,
                "overallRating": f.overall_rating,
                "relevanceRating": f.relevance_rating,
                "actorRating": f.actor_rating,
                "trainerRating": f.trainer_rating,
                "comment": f.comment,
                "consentToPublish": f.consent_to_publish,
                "moderationStatus": f.moderation_status.to_value(),
                "submittedAt": f.submitted_at,
            })
        })
        .collect();
    let links = calendar_link::Entity::find()
        .filter(calendar_link::Column::ParticipantId.eq(id))
        .all(db)
        .await?;
    let link_ids: Vec<Uuid> = links.iter().map(|l| l.id).collect();
    let links: Vec<Value> = links
        .iter()
        .map(|l| {
            json!({
                "createdAt": l.created_at,
                "lastUsedAt": l.last_used_at,
                "revokedAt": l.revoked_at,
            })
        })
        .collect();
    let messages: Vec<Value> = outbox_event::Entity::find()
        .filter(outbox_event::Column::AggregateType.eq("Enrolment"))
        .filter(outbox_event::Column::AggregateId.is_in(enrolment_ids.clone()))
        .filter(outbox_event::Column::Topic.not_like("webhook.%"))
        .order_by_asc(outbox_event::Column::CreatedAt)
        .all(db)
        .await?
        .iter()
        .map(|m| {
            json!({
                "topic": m.topic,
                "status": m.status.to_value(),
                "createdAt": m.created_at,
                "deliveredAt": m.delivered_at,
            })
        })
        .collect();
    let external_ids: Vec<Value> = external_id::Entity::find()
        .filter(crate::sync::external_ids::of_person(id, &enrolment_ids))
        .all(db)
        .await?
        .iter()
        .map(|x| {
            json!({
                "source": x.source,
                "recordType": x.record_type,
                "recordId": x.record_id,
                "externalId": x.external_id,
            })
        })
        .collect();
    let records: Vec<Uuid> = std::iter::once(id)
        .chain(enrolment_ids)
        .chain(feedback_ids)
        .chain(link_ids)
        .collect();
    let audit: Vec<Value> = audit_event::Entity::find()
        .filter(about_any(&records))
        .order_by_asc(audit_event::Column::OccurredAt)
        .all(db)
        .await?
        .iter()
        .map(|a| {
            json!({
                "action": a.action,
                "recordType": a.record_type,
                "byRole": a.actor_role,
                "outcome": a.outcome,
                "at": a.occurred_at,
            })
        })
        .collect();
    Ok(Some(json!({
        "exportedAt": now,
        "participant": {
            "id": person.id,
            "fullName": person.full_name,
            "email": (!erased).then_some(person.email),
            "phone": person.phone,
            "role": person.role.to_value(),
            "municipality": municipality,
            "createdAt": person.created_at,
            "erasedAt": person.erased_at,
        },
        "externalIds": external_ids,
        "enrolments": enrolments,
        "feedback": feedback,
        "calendarLinks": links,
        "messages": messages,
        "auditEvents": audit,
    })))
}

/// Audit events that name any of `records` among their ids.
pub fn about_any(records: &[Uuid]) -> Condition {
    records.iter().fold(Condition::any(), |any, record| {
        any.add(audit_event::Column::RecordIds.contains(record.to_string()))
    })
}
