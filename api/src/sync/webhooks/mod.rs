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
    #[derive(FromQueryResult)]
    struct Endpoint {
        id: Uuid,
        topics: String,
    }
    let endpoints = Endpoint::find_by_statement(statement(
        txn,
        "SELECT w.id, w.topics FROM webhook_endpoints w WHERE w.active AND (w.source IS NULL \
         OR w.source IN (SELECT s.source FROM enrolment_change_sources s WHERE s.change_id = $1))",
        vec![Value::from(change_id)],
    ))
    .all(txn)
    .await?;
    let events: Vec<NewEvent<'_>> = endpoints
        .into_iter()
        .filter(|endpoint| endpoints::hears(&endpoint.topics, ENROLMENT_CHANGED))
        .map(|endpoint| NewEvent {
            topic: "webhook.enrolment.changed",
            // Deliveries wait for earlier ones of the same endpoint and enrolment, and only
            // for those: one id for each pair.
            aggregate_type: "Webhook",
            aggregate_id: pair(endpoint.id, enrolment_id),
            payload: json!({
                "endpointId": endpoint.id,
                "changeId": change_id,
                "enrolmentId": enrolment_id,
            }),
            deliver_at: now,
            dedupe_key: Some(format!("webhook:{}:{change_id}", endpoint.id)),
        })
        .collect();
    outbox::add(txn, events, now).await?;
    Ok(())
}

/// The id of an endpoint and enrolment pair, the order deliveries keep.
pub fn pair(endpoint: Uuid, enrolment: Uuid) -> Uuid {
    Uuid::new_v5(&endpoint, enrolment.as_bytes())
}
