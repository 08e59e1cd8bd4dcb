use async_graphql::{Context, ID, InputObject, Object, SimpleObject, connection::Connection};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use entity::audit_event;
use uuid::Uuid;

use crate::{
    auth::{Role, Viewer},
    db::audit::{AuditFilter, list_audit_events},
    domain::pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE},
    error::{ApiError, FieldResult},
    graphql::context::{db, viewer},
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
}

#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    pub actor: Option<String>,
    pub record_type: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

fn cursor(event: &audit_event::Model) -> String {
    let nanos = event.occurred_at.timestamp_nanos_opt().unwrap_or(i64::MAX);
    URL_SAFE_NO_PAD.encode(format!("audit:{nanos}:{}", event.id))
}

fn decode_cursor(text: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
    let (nanos, id) = text.strip_prefix("audit:")?.split_once(':')?;
    Some((
        DateTime::from_timestamp_nanos(nanos.parse().ok()?),
        Uuid::try_parse(id).ok()?,
    ))
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
        let limit = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) => u64::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_PAGE_SIZE)
                .ok_or(ApiError::InvalidPageSize {
                    field: "first",
                    max: MAX_PAGE_SIZE,
                })?,
        };
        let after = after
            .map(|c| decode_cursor(&c).ok_or(ApiError::InvalidCursor { field: "after" }))
            .transpose()?;
        let filter = filter.unwrap_or_default();
        let filter = AuditFilter {
            actor: filter.actor,
            record_type: filter.record_type,
            from: filter.from,
            until: filter.until,
        };
        let mut rows = list_audit_events(db(ctx)?, &filter, after, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges.extend(rows.into_iter().map(|event| {
            let edge_cursor = cursor(&event);
            let node = AuditEvent {
                id: ID(event.id.to_string()),
                occurred_at: event.occurred_at,
                actor: event.actor,
                actor_role: event.actor_role,
                action: event.action,
                record_type: event.record_type,
                record_ids: serde_json::from_str(&event.record_ids).unwrap_or_default(),
                outcome: event.outcome,
            };
            async_graphql::connection::Edge::new(edge_cursor, node)
        }));
        Ok(connection)
    }
}
