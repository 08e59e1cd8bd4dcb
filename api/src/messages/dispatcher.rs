//! The dispatcher: a task in every service process (unless DISPATCH_MESSAGES is off) that
//! schedules what has come due, claims outbox events and delivers them, with retries.
//!
//! Logs name events by id and topic, and failures by their SMTP code: never an address, a name
//! or what a message says.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::time::Instant;

use super::{
    mailer::Mailer,
    notice::{Composer, PrepareError, Prepared},
    schedule,
};
use crate::{
    db::outbox::{self, Finish},
    metrics::{Metrics, OutboxLabels},
};
use entity::outbox_event;

/// Events claimed, and sent, at a time: no more than are sent at once, so that each is tried
/// well within its lease (a send is cut off after the SMTP time-out). Fewer than lettre's pool
/// of ten connections, so that no send waits for a connection.
const BATCH: usize = 8;
/// The longest pause between attempts.
const LONGEST_PAUSE: Duration = Duration::from_secs(6 * 3600);

pub struct DispatchSettings {
    pub poll: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    /// How long a claimed event stays this process's: well beyond a slow mail server.
    pub lease: chrono::Duration,
    pub reminder_days: u32,
    pub schedule_every: Duration,
}

pub struct Dispatcher {
    pub(super) db: DatabaseConnection,
    pub(super) mailer: Mailer,
    pub(super) composer: Composer,
    /// Where alerts about the service itself go.
    pub(super) admin_email: Option<String>,
    pub(super) settings: DispatchSettings,
    pub(super) metrics: Arc<Metrics>,
    /// Ends the loop when the process stops (see `shutdown`).
    pub(super) shutdown: crate::shutdown::Shutdown,
}

impl Dispatcher {
    pub async fn run(self: Arc<Self>) {
        let mut next_schedule = Instant::now();
        // Erasures from this instant on still have files to remove: all of them at the start.
        let mut forget_since = chrono::DateTime::<Utc>::UNIX_EPOCH;
        let mut paused = outbox::Paused::new("mail");
        loop {
            if Instant::now() >= next_schedule {
                let started = Utc::now();
                match self.forget_erased(forget_since).await {
                    // An erasure that committed a little out of order is looked at again.
                    Ok(()) => forget_since = started - chrono::Duration::minutes(10),
                    Err(error) => {
                        tracing::warn!(error = %error, "could not remove erased messages")
                    }
                }
                match schedule::schedule_due(&self.db, Utc::now(), self.settings.reminder_days)
                    .await
                {
                    Ok(0) => {}
                    Ok(scheduled) => {
                        tracing::info!(scheduled, "scheduled reminders and feedback requests")
                    }
                    Err(error) => tracing::warn!(error = %error, "could not schedule messages"),
                }
                next_schedule = Instant::now() + self.settings.schedule_every;
            }
            let claimed = paused.claimed(
                outbox::claim(
                    &self.db,
                    BATCH as u64,
                    self.settings.lease,
                    outbox::Topics::Mail,
                )
                .await,
            );
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

    /// Removes the stored messages (`.eml` files) of people erased since `since`: the files are
    /// this process's, so the dispatcher that wrote them removes them.
    async fn forget_erased(&self, since: chrono::DateTime<Utc>) -> anyhow::Result<()> {
        if !matches!(self.mailer, Mailer::Files(_)) {
            return Ok(());
        }
        let events = outbox::about_erased_since(&self.db, since).await?;
        let removed = self.mailer.forget(&events).await?;
        if removed > 0 {
            tracing::info!(
                removed,
                "removed the stored messages of erased participants"
            );
        }
        Ok(())
    }

    async fn deliver(&self, event: outbox_event::Model) {
        let finish = self.attempt(&event).await;
        let outcome = match &finish {
            Finish::Delivered => "delivered",
            Finish::Retry { .. } => "retry",
            Finish::Dead { .. } => "dead",
            Finish::Obsolete { .. } => "obsolete",
        };
        self.metrics
            .outbox_attempts
            .get_or_create(&OutboxLabels { outcome })
            .inc();
        for pause in [0, 100, 500, 2000] {
            tokio::time::sleep(Duration::from_millis(pause)).await;
            match outbox::finish(&self.db, &event, finish.clone()).await {
                Ok(true) => {
                    tracing::info!(event = %event.id, topic = %event.topic, attempt = event.attempts, outcome, "outbox event handled");
                    return;
                }
                Ok(false) => {
                    // An administrator cancelled or retried it meanwhile, or the lease ran out.
                    tracing::warn!(event = %event.id, topic = %event.topic, outcome, "outbox event was no longer ours to finish");
                    return;
                }
                Err(error) => {
                    tracing::warn!(event = %event.id, error = %error, "could not record how an outbox event ended");
                }
            }
        }
    }

    async fn attempt(&self, event: &outbox_event::Model) -> Finish {
        let now = Utc::now();
        let prepared = if event.topic.starts_with("admin.") {
            match &self.admin_email {
                Some(to) => self.composer.alert(event, to),
                None => Ok(Prepared::Obsolete("no ADMIN_ALERT_EMAIL to tell".into())),
            }
        } else {
            self.composer.prepare(&self.db, event, now).await
        };
        let (message, file_name) = match prepared {
            Ok(Prepared::Nothing) => return Finish::Delivered,
            Ok(Prepared::Obsolete(why)) => return Finish::Obsolete { why },
            Ok(Prepared::Message { message, file_name }) => (message, file_name),
            Err(PrepareError::Invalid(error)) => return Finish::Dead { error },
            Err(PrepareError::Db(error)) => return self.retry_or_dead(event, error.to_string()),
        };
        match self.mailer.send(*message, &file_name).await {
            Ok(()) => Finish::Delivered,
            Err(error) => {
                tracing::warn!(
                    event = %event.id,
                    topic = %event.topic,
                    attempt = event.attempts,
                    smtp_code = error.code.as_deref().unwrap_or("none"),
                    permanent = error.permanent,
                    "a message did not go out"
                );
                if error.permanent {
                    Finish::Dead {
                        error: error.reason,
                    }
                } else {
                    self.retry_or_dead(event, error.reason)
                }
            }
        }
    }

    fn retry_or_dead(&self, event: &outbox_event::Model, error: String) -> Finish {
        let attempts = u32::try_from(event.attempts).unwrap_or(u32::MAX);
        if attempts >= self.settings.max_attempts {
            return Finish::Dead {
                error: format!("gave up after {attempts} attempts: {error}"),
            };
        }
        let pause = backoff(self.settings.retry_base, attempts);
        Finish::Retry {
            at: Utc::now()
                + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::hours(6)),
            error,
        }
    }
}

/// The base pause doubled for every attempt after the first, at most six hours, with up to a
/// fifth more at random so that retries of many events spread out.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let doubled = base.saturating_mul(1 << attempts.saturating_sub(1).min(20));
    let pause = doubled.min(LONGEST_PAUSE);
    let mut byte = [0u8; 1];
    let jitter = getrandom::fill(&mut byte).map_or(0.0, |()| f64::from(byte[0]) / 255.0 / 5.0);
    pause.mul_f64(1.0 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_and_stop_growing_at_six_hours() {
        let base = Duration::from_secs(30);
        let first = backoff(base, 1);
        assert!(first >= base && first <= base.mul_f64(1.2), "{first:?}");
        let third = backoff(base, 3);
        assert!(
            third >= base * 4 && third <= (base * 4).mul_f64(1.2),
            "{third:?}"
        );
        let late = backoff(base, 40);
        assert!(
            late >= LONGEST_PAUSE && late <= LONGEST_PAUSE.mul_f64(1.2),
            "{late:?}"
        );
    }
}
