//! Reading the audit trail (writing is `crate::audit`).

use chrono::{DateTime, Utc};
use entity::audit_event;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::domain::pagination::AuditCursor;

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub record_type: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Newest first; `after` is the last event of the previous page.
pub async fn list_audit_events(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    after: Option<AuditCursor>,
    limit: u64,
) -> Result<Vec<audit_event::Model>, DbErr> {
    let mut condition = Condition::all();
    if let Some(actor) = &filter.actor {
        condition = condition.add(audit_event::Column::Actor.eq(actor.as_str()));
    }
    if let Some(record_type) = &filter.record_type {
        condition = condition.add(audit_event::Column::RecordType.eq(record_type.as_str()));
    }
    if let Some(from) = filter.from {
        condition = condition.add(audit_event::Column::OccurredAt.gte(from));
    }
    if let Some(until) = filter.until {
        condition = condition.add(audit_event::Column::OccurredAt.lt(until));
    }
    if let Some(AuditCursor {
        occurred_at: at,
        id,
    }) = after
    {
        condition = condition.add(
            Condition::any()
                .add(audit_event::Column::OccurredAt.lt(at))
                .add(
                    Condition::all()
                        .add(audit_event::Column::OccurredAt.eq(at))
                        .add(audit_event::Column::Id.lt(id)),
                ),
        );
    }
    audit_event::Entity::find()
        .filter(condition)
        .order_by_desc(audit_event::Column::OccurredAt)
        .order_by_desc(audit_event::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
