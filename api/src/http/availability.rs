//! Whether the database answers, as the last request that needed it found. While it does not,
//! GraphQL requests are answered `503 SERVICE_UNAVAILABLE` at once, instead of each waiting for
//! a connection that will not come, and a prober pings the database until it answers again; then
//! requests go through as before, without a restart.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sea_orm::DatabaseConnection;

/// How often the prober asks while the database is down.
const PROBE_EVERY: Duration = Duration::from_millis(250);

#[derive(Default)]
pub struct Availability {
    down: AtomicBool,
}

impl Availability {
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// A request found the database unreachable.
    pub fn mark_down(&self) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!("the database cannot be reached; answering 503 until it can");
        }
    }

    /// Pings the database while it is down, and marks it up once it answers.
    pub fn spawn_prober(self: &Arc<Self>, db: DatabaseConnection) {
        let availability = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PROBE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(availability) = availability.upgrade() else {
                    return;
                };
                if !availability.is_down() {
                    continue;
                }
                let answered = tokio::time::timeout(Duration::from_secs(1), db.ping()).await;
                if matches!(answered, Ok(Ok(()))) {
                    availability.down.store(false, Ordering::Relaxed);
                    tracing::info!("the database answers again");
                }
            }
        });
    }
}
