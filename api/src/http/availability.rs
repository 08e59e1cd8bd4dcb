//! Whether the database answers. While it does not, GraphQL requests are answered
//! `503 SERVICE_UNAVAILABLE` at once, instead of each waiting for a connection that will not come,
//! and requests already waiting on it are answered the same way; once it answers again, requests
//! go through as before, without a restart.
//!
//! A prober asks the database every quarter of a second over a connection of its own. Its own,
//! because the pool's connections may all be busy under load, which is no outage, and because a
//! request cannot tell a refused connection from a busy pool until its acquire time-out (sqlx
//! keeps trying to connect until then). A request that finds the database unreachable marks it
//! down too.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;

/// How often the prober asks.
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// Longest the prober waits for an answer before it calls the database down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub struct Availability {
    down: watch::Sender<bool>,
}

impl Default for Availability {
    fn default() -> Self {
        Self {
            down: watch::Sender::new(false),
        }
    }
}

impl Availability {
    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// A request, or the prober, found the database unreachable.
    pub fn mark_down(&self) {
        if !self.down.send_replace(true) {
            tracing::warn!("the database cannot be reached; answering 503 until it can");
        }
    }

    fn mark_up(&self) {
        if self.down.send_replace(false) {
            tracing::info!("the database answers again");
        }
    }

    /// Resolves once the database is found unreachable (at once if it is now).
    pub async fn went_down(&self) {
        let mut down = self.down.subscribe();
        // Err only when the sender is gone, with the service.
        if down.wait_for(|down| *down).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Pings the database over `probe`, a connection of the prober's own, as long as the
    /// service runs.
    pub fn spawn_prober(self: &std::sync::Arc<Self>, probe: DatabaseConnection) {
        let availability = std::sync::Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PROBE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let answered = tokio::time::timeout(PROBE_TIMEOUT, probe.ping()).await;
                let Some(availability) = availability.upgrade() else {
                    return;
                };
                match answered {
                    Ok(Ok(())) => availability.mark_up(),
                    Ok(Err(error)) => {
                        tracing::debug!(error = %error, "the database did not answer the probe");
                        availability.mark_down();
                    }
                    Err(_) => availability.mark_down(),
                }
            }
        });
    }
}
