//! Live changes for subscriptions: a session's availability and an enrolment's status.
//!
//! A change is announced inside the transaction that makes it. On PostgreSQL that is a `NOTIFY`,
//! which the database delivers to every service process listening, only on commit and in commit
//! order; each process forwards what it hears to its own subscribers. On SQLite (one process) the
//! change goes straight to this process's subscribers once the transaction has committed.

use std::time::Duration;

use entity::enums::EnrolmentStatus;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, sqlx::postgres::PgListener};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

/// The PostgreSQL channel every process listens on.
const CHANNEL: &str = "training_live";

/// Changes a slow subscriber may fall behind by before it is told to re-read.
const BUFFER: usize = 1024;

/// A session's seats, as they were when a change committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    pub session_id: Uuid,
    /// Rises with every change to the session's seats: older news is never shown after newer.
    pub version: i64,
    pub capacity: i32,
    pub taken: i64,
    pub waiting: i64,
    pub booking_open: bool,
}

/// One change, as subscribers hear of it. It carries ids and counts only, never a person's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveChange {
    Availability(Availability),
    Enrolment {
        id: Uuid,
        status: EnrolmentStatus,
    },
    /// Changes may have been missed (a subscriber fell behind, the database connection was
    /// lost): every subscriber re-reads what it shows.
    Resync,
}

/// This process's hub of live changes; cheap to clone.
#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<LiveChange>,
    through_database: bool,
}

impl Default for Live {
    fn default() -> Self {
        Self::in_process()
    }
}

impl Live {
    /// Delivers changes within this process only (SQLite, and the schema printer).
    pub fn in_process() -> Self {
        Self {
            sender: broadcast::channel(BUFFER).0,
            through_database: false,
        }
    }

    /// On PostgreSQL, listens for the changes of every process sharing the database.
    pub async fn start(database_url: &str, backend: DbBackend) -> anyhow::Result<Self> {
        if backend != DbBackend::Postgres {
            return Ok(Self::in_process());
        }
        let mut listener = PgListener::connect(database_url).await?;
        listener.listen(CHANNEL).await?;
        let live = Self {
            sender: broadcast::channel(BUFFER).0,
            through_database: true,
        };
        tokio::spawn(forward(listener, live.sender.clone()));
        Ok(live)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveChange> {
        self.sender.subscribe()
    }

    /// Announces changes from inside their transaction: on PostgreSQL they go out on commit,
    /// and never for a rollback.
    pub async fn announce(
        &self,
        txn: &impl ConnectionTrait,
        changes: &[LiveChange],
    ) -> Result<(), DbErr> {
        if !self.through_database {
            return Ok(());
        }
        for change in changes {
            let payload = serde_json::to_string(change)
                .map_err(|error| DbErr::Custom(format!("live change: {error}")))?;
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            ))
            .await?;
        }
        Ok(())
    }

    /// Delivers changes once their transaction has committed, where the database does not.
    pub fn committed(&self, changes: &[LiveChange]) {
        if self.through_database {
            return;
        }
        for change in changes {
            // No subscriber is not an error.
            let _ = self.sender.send(*change);
        }
    }
}

/// Forwards notifications to this process's subscribers until the process stops.
async fn forward(mut listener: PgListener, sender: broadcast::Sender<LiveChange>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                match serde_json::from_str::<LiveChange>(notification.payload()) {
                    Ok(change) => {
                        let _ = sender.send(change);
                    }
                    Err(error) => tracing::warn!(error = %error, "ignored a malformed live change"),
                }
            }
            // The connection was lost: what was announced meanwhile is gone. Listen again
            // first, then have subscribers re-read, so that nothing committed after their
            // re-read goes unheard.
            Ok(None) | Err(_) => {
                tracing::warn!("live changes: lost the database connection, listening again");
                listen_again(&mut listener).await;
                let _ = sender.send(LiveChange::Resync);
            }
        }
    }
}

/// Reconnects and listens again, waiting a second between tries.
async fn listen_again(listener: &mut PgListener) {
    loop {
        // Forget the channel (without a connection this only forgets it), then listen on a
        // fresh connection; sqlx would otherwise list the channel twice.
        let _ = listener.unlisten(CHANNEL).await;
        match listener.listen(CHANNEL).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(error = %error, "live changes: cannot listen yet, retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
