//! Delivers webhook events from the outbox, apart from e-mail: its own loop, its own attempts
//! and pauses (about three days of retries), so a receiver that fails or hangs holds back only
//! its own deliveries, and of those only the later ones of the same enrolment.
//!
//! A delivery answered 2xx is done. 410 Gone turns the endpoint off. Anything else (another
//! status, a time-out, a refused address, a redirect, which is not followed) is tried again
//! later; an endpoint that has failed for `WEBHOOK_DISABLE_AFTER_HOURS` without a success is
//! turned off, and administrators are told (an e-mail to `ADMIN_ALERT_EMAIL`, and the metric
//! `webhook_endpoints_disabled_total`). Every attempt is logged (kept 30 days) with its status
//! and latency, never the payload.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use entity::{outbox_event, webhook_endpoint};
use sea_orm::{DatabaseConnection, DbErr, FromQueryResult, Value};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{
    addresses::{AllowList, GuardedResolver},
    endpoints::{self, Attempt},
    signing,
};
use crate::{
    db::outbox::{self, Finish, NewEvent, Topics},
    domain::ids::EnrolmentId,
    metrics::{Metrics, OutboxLabels},
    sync::feed::{self, FeedChange, statement},
};

/// Deliveries claimed, and made, at a time.
const BATCH: usize = 16;
/// How long the delivery log is kept.
const LOG_DAYS: i64 = 30;
/// The longest pause between attempts.
const LONGEST_PAUSE: Duration = Duration::from_secs(6 * 3600);

pub struct WebhookSettings {
    pub poll: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub timeout: Duration,
    pub disable_after: chrono::Duration,
    pub allow: Arc<AllowList>,
    /// Who hears that an endpoint was turned off.
    pub admin_email: Option<String>,
}

pub struct WebhookDispatcher {
    db: DatabaseConnection,
    client: reqwest::Client,
    settings: WebhookSettings,
    metrics: Arc<Metrics>,
    /// Ends the loop when the process stops (see `shutdown`).
    shutdown: crate::shutdown::Shutdown,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    endpoint_id: Uuid,
    change_id: Uuid,
}

/// How one attempt went.
enum Sent {
    Ok(u16),
    Gone,
    Failed { status: Option<u16>, error: String },
}

impl WebhookDispatcher {
    pub fn new(
        db: DatabaseConnection,
        settings: WebhookSettings,
        metrics: Arc<Metrics>,
        shutdown: crate::shutdown::Shutdown,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A redirect could lead anywhere, past the allow-list: it is a failure.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver(settings.allow.clone())))
            .user_agent("training-platform-webhooks/1")
            .build()?;
        Ok(Self {
            db,
            client,
            settings,
            metrics,
            shutdown,
        })
    }

    pub async fn run(self: Arc<Self>) {
        let lease = chrono::Duration::from_std(self.settings.timeout * 4)
            .unwrap_or(chrono::Duration::minutes(2))
            .max(chrono::Duration::minutes(1));
        let mut next_purge = tokio::time::Instant::now();
        let mut paused = outbox::Paused::new("webhooks");
        loop {
            if tokio::time::Instant::now() >= next_purge {
                let before = Utc::now() - chrono::Duration::days(LOG_DAYS);
                match endpoints::purge_log(&self.db, before).await {
                    Ok(0) => {}
                    Ok(purged) => {
                        tracing::info!(purged, "forgot webhook attempts older than 30 days")
                    }
                    Err(error) => tracing::warn!(error = %error, "could not purge the webhook log"),
                }
                next_purge = tokio::time::Instant::now() + Duration::from_secs(3600);
            }
            let claimed = paused
                .claimed(outbox::claim(&self.db, BATCH as u64, lease, Topics::Webhooks).await);
            let full = claimed.len() == BATCH;
            let handed_back =
                outbox::deliver_or_hand_back(&self.db, claimed, BATCH, &self.shutdown, |event| {
                    let this = self.clone();
                    async move { this.deliver(event).await }
                })
                .await;
            if handed_back || self.shutdown.is_stopping() {
                return;
            }
            if !full {
                tokio::select! {
                    () = tokio::time::sleep(self.settings.poll) => {}
                    () = self.shutdown.stopping() => return,
                }
            }
        }
    }

    async fn deliver(&self, event: outbox_event::Model) {
        let finish = match self.attempt(&event).await {
            Ok(finish) => finish,
            Err(error) => {
                tracing::warn!(event = %event.id, error = %error, "could not prepare a webhook delivery");
                self.retry_or_dead(&event, "the service could not prepare the delivery".into())
            }
        };
        let outcome = match &finish {
            Finish::Delivered => "delivered",
            Finish::Retry { .. } => "retry",
            Finish::Dead { .. } => "dead",
            Finish::Obsolete { .. } => "gone",
        };
        self.metrics
            .webhook_deliveries
            .get_or_create(&OutboxLabels { outcome })
            .inc();
        match outbox::finish(&self.db, &event, finish).await {
            Ok(true) => {
                tracing::info!(event = %event.id, attempt = event.attempts, outcome, "webhook delivery handled")
            }
            Ok(false) => {
                tracing::warn!(event = %event.id, outcome, "webhook delivery was no longer ours to finish")
            }
            Err(error) => {
                tracing::warn!(event = %event.id, error = %error, "could not record a webhook delivery")
            }
        }
    }

    async fn attempt(&self, event: &outbox_event::Model) -> Result<Finish, DbErr> {
        let payload: Payload = match serde_json::from_str(&event.payload) {
            Ok(payload) => payload,
            Err(_) => {
                return Ok(Finish::Dead {
                    error: "the delivery's payload does not parse".into(),
                });
            }
        };
        let Some(endpoint) = endpoints::find(&self.db, payload.endpoint_id).await? else {
            return Ok(Finish::Obsolete {
                why: "the endpoint is gone".into(),
            });
        };
        if !endpoint.active {
            return Ok(Finish::Obsolete {
                why: "the endpoint is turned off".into(),
            });
        }
        let Some(change) = find_change(&self.db, payload.change_id).await? else {
            return Ok(Finish::Obsolete {
                why: "the change is gone".into(),
            });
        };
        let epoch = feed::epoch(&self.db).await?;
        let body = json!({
            "type": super::ENROLMENT_CHANGED,
            "enrolmentId": EnrolmentId(change.enrolment_id).to_global(),
            "change": change.change,
            "status": change.to_status,
            "version": change.version,
            "occurredAt": change.occurred_at,
            "cursor": change.cursor(epoch).encode(),
        })
        .to_string();
        let now = Utc::now();
        let started = std::time::Instant::now();
        let sent = self
            .send(&endpoint, &change.id.to_string(), now.timestamp(), body)
            .await;
        let latency_ms = started.elapsed().as_millis();
        let (status_code, error) = match &sent {
            Sent::Ok(status) => (Some(*status), None),
            Sent::Gone => (Some(410), Some("the receiver answered 410 Gone".to_owned())),
            Sent::Failed { status, error } => (*status, Some(error.clone())),
        };
        endpoints::log(
            &self.db,
            Attempt {
                endpoint_id: endpoint.id,
                change_id: change.id,
                attempt: event.attempts,
                status_code,
                latency_ms,
                error: error.as_deref(),
                at: now,
            },
        )
        .await?;
        Ok(match sent {
            Sent::Ok(_) => {
                endpoints::note_success(&self.db, endpoint.id).await?;
                Finish::Delivered
            }
            Sent::Gone => {
                self.disable(&endpoint, "the receiver answered 410 Gone")
                    .await?;
                Finish::Obsolete {
                    why: "the receiver answered 410 Gone".into(),
                }
            }
            Sent::Failed { error, .. } => {
                let since = endpoints::note_failure(&self.db, endpoint.id, now).await?;
                if since.is_some_and(|since| now - since >= self.settings.disable_after) {
                    let why = format!(
                        "deliveries failed for more than {} hours",
                        self.settings.disable_after.num_hours()
                    );
                    self.disable(&endpoint, &why).await?;
                    Finish::Dead {
                        error: format!("{why}: {error}"),
                    }
                } else {
                    self.retry_or_dead(event, error)
                }
            }
        })
    }

    /// Posts one signed delivery; the address is checked against the allow-list on the way.
    async fn send(
        &self,
        endpoint: &webhook_endpoint::Model,
        id: &str,
        timestamp: i64,
        body: String,
    ) -> Sent {
        let failed = |error: &str| Sent::Failed {
            status: None,
            error: error.to_owned(),
        };
        let Ok(url) = reqwest::Url::parse(&endpoint.url) else {
            return failed("the endpoint's URL does not parse");
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        // Addresses written as such are not resolved: check them here.
        if let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>()
            && !self.settings.allow.admits(&host, ip)
        {
            return failed("the address is not one the allow-list admits");
        }
        if url.scheme() != "https" && !self.settings.allow.names(&host) {
            return failed("plain http only to hosts the allow-list names");
        }
        let secrets = endpoints::secrets_in_use(endpoint, Utc::now());
        let Ok(signature) = signing::signature_header(&secrets, id, timestamp, &body) else {
            return failed("the endpoint's secret cannot sign");
        };
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match response {
            Ok(response) if response.status().is_success() => Sent::Ok(response.status().as_u16()),
            Ok(response) if response.status().as_u16() == 410 => Sent::Gone,
            Ok(response) => {
                let status = response.status().as_u16();
                let error = if response.status().is_redirection() {
                    format!("the receiver redirected ({status}); redirects are not followed")
                } else {
                    format!("the receiver answered {status}")
                };
                Sent::Failed {
                    status: Some(status),
                    error,
                }
            }
            Err(error) if error.is_timeout() => failed("the receiver did not answer in time"),
            Err(error) if error.is_connect() => {
                failed("could not connect to the receiver (or its address is not admitted)")
            }
            Err(_) => failed("the delivery failed on the way"),
        }
    }

    async fn disable(&self, endpoint: &webhook_endpoint::Model, why: &str) -> Result<(), DbErr> {
        let now = Utc::now();
        if !endpoints::set_active(&self.db, endpoint.id, false, Some(why), now).await? {
            return Ok(());
        }
        self.metrics.webhook_endpoints_disabled.inc();
        tracing::warn!(endpoint = %endpoint.id, "turned a webhook endpoint off: {why}");
        if self.settings.admin_email.is_some() {
            outbox::add(
                &self.db,
                vec![NewEvent {
                    topic: "admin.webhook_disabled",
                    aggregate_type: "WebhookEndpoint",
                    aggregate_id: endpoint.id,
                    payload: json!({ "endpointId": endpoint.id, "url": endpoint.url, "reason": why }),
                    deliver_at: now,
                    dedupe_key: None,
                }],
                now,
            )
            .await?;
        }
        Ok(())
    }

    fn retry_or_dead(&self, event: &outbox_event::Model, error: String) -> Finish {
        let attempts = u32::try_from(event.attempts).unwrap_or(u32::MAX);
        if attempts >= self.settings.max_attempts {
            return Finish::Dead {
                error: format!("gave up after {attempts} attempts: {error}"),
            };
        }
        let doubled = self
            .settings
            .retry_base
            .saturating_mul(1 << attempts.saturating_sub(1).min(20));
        let pause = doubled.min(LONGEST_PAUSE);
        Finish::Retry {
            at: Utc::now()
                + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::hours(6)),
            error,
        }
    }
}

async fn find_change(db: &DatabaseConnection, id: Uuid) -> Result<Option<FeedChange>, DbErr> {
    FeedChange::find_by_statement(statement(
        db,
        "SELECT id, enrolment_id, change, to_status, occurred_at, version, xact, position \
         FROM enrolment_changes WHERE id = $1",
        vec![Value::from(id)],
    ))
    .one(db)
    .await
}

/// Queues the changes of an endpoint's scope between two feed cursors again (after a receiver
/// lost them). Returns how many.
pub async fn replay(
    db: &DatabaseConnection,
    endpoint: &webhook_endpoint::Model,
    after: Option<feed::FeedCursor>,
    until: Option<feed::FeedCursor>,
    now: chrono::DateTime<Utc>,
) -> Result<u64, feed::FeedError> {
    let source = endpoint
        .source
        .as_deref()
        .map(crate::sync::external_ids::Source::parse)
        .transpose()
        .map_err(|e| feed::FeedError::Db(DbErr::Custom(e)))?;
    let mut after = after;
    let mut queued = 0;
    loop {
        let page = feed::read(
            db,
            source.as_ref(),
            after,
            500,
            chrono::Duration::days(36500),
            now,
        )
        .await?;
        let epoch = page.epoch;
        let mut events = Vec::new();
        let mut done = !page.has_next_page;
        for change in &page.changes {
            let cursor = change.cursor(epoch);
            if until
                .is_some_and(|until| (cursor.xact, cursor.position) > (until.xact, until.position))
            {
                done = true;
                break;
            }
            events.push(NewEvent {
                topic: "webhook.enrolment.changed",
                aggregate_type: "Webhook",
                aggregate_id: super::pair(endpoint.id, change.enrolment_id),
                payload: json!({ "endpointId": endpoint.id, "changeId": change.id, "enrolmentId": change.enrolment_id }),
                deliver_at: now,
                dedupe_key: Some(format!("webhook:{}:{}:replay:{}", endpoint.id, change.id, Uuid::new_v4().simple())),
            });
        }
        queued += outbox::add(db, events, now).await?;
        after = page.changes.last().map(|c| c.cursor(epoch)).or(after);
        if done || page.changes.is_empty() {
            return Ok(queued);
        }
    }
}
