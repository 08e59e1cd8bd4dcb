//! Webhooks: source systems are told promptly when an enrolment in their scope changes.
//!
//! Administrators register an endpoint for a source (a URL, the topics, a secret shown once).
//! Every change of the feed writes, in its own transaction, an outbox event for each active
//! endpoint whose scope it falls in (`queue`); a dispatcher of its own delivers them
//! (`dispatcher`), in order per endpoint and enrolment, retrying over about three days, so a
//! failing receiver never holds back anyone's e-mail. Deliveries are signed as the Standard
//! Webhooks specification says (`signing`), their payloads are thin (ids, version, cursor; no
//! names), and they go only where the allow-list admits (`addresses`).

pub mod addresses;
pub mod dispatcher;
pub mod endpoints;
pub mod signing;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};
use serde_json::json;
use uuid::Uuid;

use super::feed::statement;
use crate::db::outbox::{self, NewEvent};

/// The one topic so far: an enrolment changed.
pub const ENROLMENT_CHANGED: &str = "enrolment.changed";
/// Outbox topics of webhook deliveries start with this; the mail dispatcher leaves them alone.
pub const OUTBOX_PREFIX: &str = "webhook.";

/// Writes, in the change's transaction, a delivery for every active endpoint that hears the
/// topic and whose scope the change falls in (an endpoint without a source hears every change).
pub async fn queue(
    txn: &impl ConnectionTrait,
    change_id: Uuid,
    enrolment_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let events = deliveries(txn, &[(change_id, enrolment_id)], now).await?;
    outbox::add(txn, events, now).await?;
    Ok(())
}

/// The deliveries of these changes (change id, enrolment id), for the outbox: one statement
/// while no endpoint is active, two otherwise, however many changes.
pub async fn deliveries(
    txn: &impl ConnectionTrait,
    changes: &[(Uuid, Uuid)],
    now: DateTime<Utc>,
) -> Result<Vec<NewEvent<'static>>, DbErr> {
    #[derive(FromQueryResult)]
    struct Endpoint {
        id: Uuid,
        topics: String,
        source: Option<String>,
    }
    #[derive(FromQueryResult)]
    struct InScope {
        change_id: Uuid,
        source: String,
    }
    let endpoints: Vec<Endpoint> = Endpoint::find_by_statement(statement(
        txn,
        "SELECT w.id, w.topics, w.source FROM webhook_endpoints w WHERE w.active",
        vec![],
    ))
    .all(txn)
    .await?
    .into_iter()
    .filter(|endpoint| endpoints::hears(&endpoint.topics, ENROLMENT_CHANGED))
    .collect();
    if endpoints.is_empty() || changes.is_empty() {
        return Ok(Vec::new());
    }
    let scoped = if endpoints.iter().any(|endpoint| endpoint.source.is_some()) {
        let placeholders: Vec<String> = (1..=changes.len()).map(|n| format!("${n}")).collect();
        InScope::find_by_statement(statement(
            txn,
            &format!(
                "SELECT s.change_id, s.source FROM enrolment_change_sources s \
                 WHERE s.change_id IN ({})",
                placeholders.join(", ")
            ),
            changes
                .iter()
                .map(|(change, _)| Value::from(*change))
                .collect(),
        ))
        .all(txn)
        .await?
    } else {
        Vec::new()
    };
    let mut events = Vec::new();
    for &(change_id, enrolment_id) in changes {
        for endpoint in &endpoints {
            let in_scope = match &endpoint.source {
                None => true,
                Some(source) => scoped
                    .iter()
                    .any(|s| s.change_id == change_id && &s.source == source),
            };
            if in_scope {
                events.push(NewEvent {
                    topic: "webhook.enrolment.changed",
                    // Deliveries wait for earlier ones of the same endpoint and enrolment, and
                    // only for those: one id for each pair.
                    aggregate_type: "Webhook",
                    aggregate_id: pair(endpoint.id, enrolment_id),
                    payload: json!({
                        "endpointId": endpoint.id,
                        "changeId": change_id,
                        "enrolmentId": enrolment_id,
                    }),
                    deliver_at: now,
                    dedupe_key: Some(format!("webhook:{}:{change_id}", endpoint.id)),
                });
            }
        }
    }
    Ok(events)
}

/// The id of an endpoint and enrolment pair, the order deliveries keep.
pub fn pair(endpoint: Uuid, enrolment: Uuid) -> Uuid {
    Uuid::new_v5(&endpoint, enrolment.as_bytes())
}
