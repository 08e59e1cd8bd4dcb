//! Live changes for subscriptions: a session's availability and an enrolment's status.
//!
//! A change is announced inside the transaction that makes it. On PostgreSQL that is a `NOTIFY`,
//! which the database delivers to every service process listening, only on commit and in commit
//! order; each process forwards what it hears to its own subscribers. On SQLite (one process) the
//! change goes straight to this process's subscribers once the transaction has committed.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use entity::enums::EnrolmentStatus;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, sqlx::postgres::PgListener};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, broadcast};
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
    /// A course was published, unpublished or archived: who may see it, and its sessions, has
    /// changed. It says which way, so no subscriber has to read the course again.
    Course {
        id: Uuid,
        published: bool,
    },
    /// Changes may have been missed (a subscriber fell behind, the database connection was
    /// lost): every subscriber re-reads what it shows.
    Resync,
}

/// A change as this process heard it, numbered in the order heard.
#[derive(Debug, Clone, Copy)]
pub struct Heard {
    pub seq: u64,
    pub change: LiveChange,
}

/// This process's hub of live changes; cheap to clone.
#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<Heard>,
    through_database: bool,
    heard: Arc<AtomicU64>,
    /// Where each enrolment of a session stands, read once per change for every subscriber.
    pub standings: Arc<SharedReads<Standings>>,
}

/// The enrolments of one session: status, and place on the waiting list while waiting.
pub type Standings = Arc<HashMap<Uuid, (EnrolmentStatus, Option<i64>)>>;

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
            heard: Arc::default(),
            standings: Arc::default(),
        }
    }

    /// Announces changes without listening: for a command-line job sharing the database with
    /// running services, whose subscribers hear its changes on PostgreSQL.
    pub fn publisher(backend: DbBackend) -> Self {
        Self {
            through_database: backend == DbBackend::Postgres,
            ..Self::in_process()
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
            heard: Arc::default(),
            standings: Arc::default(),
        };
        tokio::spawn(forward(listener, live.clone()));
        Ok(live)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Heard> {
        self.sender.subscribe()
    }

    /// The number of the latest change heard; a read begun now reflects at least that change.
    pub fn latest(&self) -> u64 {
        self.heard.load(Ordering::SeqCst)
    }

    fn hear(&self, change: LiveChange) {
        let seq = self.heard.fetch_add(1, Ordering::SeqCst) + 1;
        // No subscriber is not an error.
        let _ = self.sender.send(Heard { seq, change });
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
        // One statement for up to 1000 changes: `SELECT pg_notify($1, $2), pg_notify($1, $3), …`
        // (PostgreSQL evaluates them in order and allows 1664 entries in a select list; each
        // payload stays one change, well below the limit of 8000 bytes).
        for chunk in changes.chunks(1000) {
            let mut values = vec![sea_orm::Value::from(CHANNEL)];
            let mut calls = Vec::with_capacity(chunk.len());
            for change in chunk {
                let payload = serde_json::to_string(change)
                    .map_err(|error| DbErr::Custom(format!("live change: {error}")))?;
                values.push(payload.into());
                calls.push(format!("pg_notify($1, ${})", values.len()));
            }
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                format!("SELECT {}", calls.join(", ")),
                values,
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
            self.hear(*change);
        }
    }
}

/// One read shared by every subscriber that reacts to the same change, so a change costs one
/// read per process however many subscribers follow it: a subscriber reacting to change `n`
/// reuses a read begun after the process heard `n`, or begins one.
pub struct SharedReads<V> {
    reads: Mutex<HashMap<Uuid, SharedRead<V>>>,
}

/// A read and the number of the latest change heard when it began.
type SharedRead<V> = (u64, Arc<OnceCell<V>>);

/// Keys remembered at most; beyond it the memory starts afresh (a read more, never a stale one).
const SHARED_READS: usize = 4096;

impl<V: Clone> Default for SharedReads<V> {
    fn default() -> Self {
        Self {
            reads: Mutex::default(),
        }
    }
}

impl<V: Clone> SharedReads<V> {
    /// The value of `key` as read after change `heard`: shared with other readers, or read now.
    pub async fn read<E, F, Fut>(&self, live: &Live, key: Uuid, heard: u64, read: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let cell = {
            let Ok(mut reads) = self.reads.lock() else {
                return read().await;
            };
            match reads.get(&key) {
                Some((begun, cell)) if *begun >= heard => cell.clone(),
                _ => {
                    if reads.len() >= SHARED_READS {
                        reads.clear();
                    }
                    let cell = Arc::new(OnceCell::new());
                    reads.insert(key, (live.latest(), cell.clone()));
                    cell
                }
            }
        };
        cell.get_or_try_init(read).await.cloned()
    }
}

/// Forwards notifications to this process's subscribers until the process stops.
async fn forward(mut listener: PgListener, live: Live) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                match serde_json::from_str::<LiveChange>(notification.payload()) {
                    Ok(change) => live.hear(change),
                    Err(error) => tracing::warn!(error = %error, "ignored a malformed live change"),
                }
            }
            // The connection was lost: what was announced meanwhile is gone. Listen again
            // first, then have subscribers re-read, so that nothing committed after their
            // re-read goes unheard.
            Ok(None) | Err(_) => {
                tracing::warn!("live changes: lost the database connection, listening again");
                listen_again(&mut listener).await;
                live.hear(LiveChange::Resync);
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
