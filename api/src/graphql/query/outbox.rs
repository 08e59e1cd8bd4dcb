//! The outbox as administrators see it: what is waiting, what went out, what failed and why.

use async_graphql::{
    Context, ID, InputObject, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};
use entity::outbox_event;

use crate::{
    db::outbox::{self, OutboxFilter},
    domain::{
        ids::{EnrolmentId, OutboxEventId},
        pagination::{CursorKey, OutboxCursor, PageArgs, PageRequest},
    },
    error::FieldResult,
    graphql::{
        context::{db, viewer},
        mutation::require_administrator,
        types::{connection, enums::OutboxStatus},
    },
};

#[derive(Default)]
pub struct OutboxQuery;

/// A change someone must hear about, and how its delivery went. It holds ids, not names or
/// addresses: those are read when the message is sent.
#[derive(SimpleObject)]
pub struct OutboxEvent {
    pub id: ID,
    /// What happened, such as `enrolment.confirmed` or `enrolment.reminder`.
    pub topic: String,
    /// The kind of record it is about, such as `Enrolment`.
    pub aggregate_type: String,
    /// The global id of that record.
    pub aggregate_id: ID,
    pub status: OutboxStatus,
    /// Deliveries tried so far.
    pub attempts: i32,
    /// When it is (or was) due to be tried.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed, or why it no longer applied.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<outbox_event::Model> for OutboxEvent {
    fn from(event: outbox_event::Model) -> Self {
        let aggregate_id = match event.aggregate_type.as_str() {
            "Enrolment" => EnrolmentId(event.aggregate_id).to_global(),
            _ => event.aggregate_id.to_string(),
        };
        Self {
            id: ID(OutboxEventId(event.id).to_global()),
            topic: event.topic,
            aggregate_type: event.aggregate_type,
            aggregate_id: ID(aggregate_id),
            status: event.status.into(),
            attempts: event.attempts,
            next_attempt_at: event.next_attempt_at,
            last_error: event.last_error,
            created_at: event.created_at,
            delivered_at: event.delivered_at,
        }
    }
}

#[derive(InputObject, Default)]
pub struct OutboxEventFilter {
    /// Only events in these states; all when left out.
    #[graphql(validator(max_items = 4))]
    pub status: Option<Vec<OutboxStatus>>,
    #[graphql(validator(max_length = 60))]
    pub topic: Option<String>,
    /// Only events about this record (an enrolment's global id).
    pub aggregate_id: Option<ID>,
}

#[Object]
impl OutboxQuery {
    /// Outbox events, newest first: administrators only.
    #[graphql(complexity = "crate::graphql::limits::page_cost(first, None, child_complexity)")]
    async fn outbox_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<OutboxEventFilter>,
    ) -> FieldResult<Connection<String, OutboxEvent>> {
        require_administrator(viewer(ctx)?)?;
        let page = PageRequest::<OutboxCursor>::parse(PageArgs {
            first,
            after,
            last: None,
            before: None,
        })?;
        let filter = filter.unwrap_or_default();
        let aggregate_id = match &filter.aggregate_id {
            Some(id) => Some(EnrolmentId::from_global(id, "filter.aggregateId")?.0),
            None => None,
        };
        let filter = OutboxFilter {
            statuses: filter
                .status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            topic: filter.topic,
            aggregate_id,
        };
        let rows = outbox::list(db(ctx)?, &filter, page.after, page.fetch_limit()).await?;
        let cursor = |e: &outbox_event::Model| {
            OutboxCursor {
                created_at: e.created_at,
                id: e.id,
            }
            .encode()
        };
        Ok(connection(
            page.into_page(rows),
            EmptyFields,
            cursor,
            OutboxEvent::from,
        ))
    }
}
