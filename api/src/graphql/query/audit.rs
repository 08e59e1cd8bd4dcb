use async_graphql::{
    Context, ID, InputObject, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};
use entity::audit_event;

use crate::{
    auth::{Role, Viewer},
    db::audit::{AuditFilter, list_audit_events},
    domain::pagination::{AuditCursor, CursorKey, PageArgs, PageRequest},
    error::{ApiError, FieldResult},
    graphql::{
        context::{db, viewer},
        types::connection,
    },
};

#[derive(Default)]
pub struct AuditQuery;

/// One entry of the audit trail.
#[derive(SimpleObject)]
pub struct AuditEvent {
    pub id: ID,
    pub occurred_at: DateTime<Utc>,
    /// The token's subject, or `api-key:<id>`.
    pub actor: String,
    pub actor_role: String,
    pub action: String,
    pub record_type: String,
    /// The ids (UUIDs) of the records read.
    pub record_ids: Vec<String>,
    /// ALLOWED or REFUSED.
    pub outcome: String,
    /// More about the event, as a JSON object: such as `unknownIds`, how many ids asked for
    /// named no record (they are counted, never listed).
    pub details: Option<async_graphql::Json<serde_json::Value>>,
}

#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    pub actor: Option<String>,
    pub record_type: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl From<audit_event::Model> for AuditEvent {
    fn from(event: audit_event::Model) -> Self {
        Self {
            id: ID(event.id.to_string()),
            occurred_at: event.occurred_at,
            actor: event.actor,
            actor_role: event.actor_role,
            action: event.action,
            record_type: event.record_type,
            record_ids: serde_json::from_str(&event.record_ids).unwrap_or_default(),
            outcome: event.outcome,
            details: event
                .details
                .and_then(|text| serde_json::from_str(&text).ok())
                .map(async_graphql::Json),
        }
    }
}

#[Object]
impl AuditQuery {
    /// The audit trail, newest first: administrators only. Nothing in the API can change it.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<AuditEventFilter>,
    ) -> FieldResult<Connection<String, AuditEvent>> {
        match viewer(ctx)? {
            Viewer::Anonymous => return Err(ApiError::Unauthenticated.into()),
            v if v.role() != Some(Role::Administrator) => return Err(ApiError::Forbidden.into()),
            _ => {}
        }
        let page = PageRequest::<AuditCursor>::parse(PageArgs {
            first,
            after,
            last: None,
            before: None,
        })?;
        let filter = filter.unwrap_or_default();
        let filter = AuditFilter {
            actor: filter.actor,
            record_type: filter.record_type,
            from: filter.from,
            until: filter.until,
        };
        let rows = list_audit_events(db(ctx)?, &filter, page.after, page.fetch_limit()).await?;
        let cursor = |e: &audit_event::Model| {
            AuditCursor {
                occurred_at: e.occurred_at,
                id: e.id,
            }
            .encode()
        };
        Ok(connection(
            page.into_page(rows),
            EmptyFields,
            cursor,
            AuditEvent::from,
        ))
    }
}
