//! Bookings wait for their session in a queue of this process, and those that arrive while
//! one group is being made are made together next, in one transaction (`booking_together`).
//!
//! A booking alone goes straight through, as one group of one; in a rush, the first booking
//! of a session starts a group, and everyone arriving meanwhile joins the next one (at most
//! `GROUP` bookings each). No booking waits for a timer, and the order of arrival is the order
//! of the groups and within each. Other processes make their own groups: the session's lock in
//! the database keeps them apart, as it keeps single bookings apart. Should a group fail as a
//! whole (the database refuses something the rules did not foresee), its bookings are made one
//! by one with `booking::book`, so none is answered with another's failure (so too when another
//! request took one of their idempotency keys over); when the database is gone, timed out or
//! still busy after every retry, each is told so at once instead.

use std::{
    collections::{HashMap, hash_map::Entry},
    sync::{Arc, Mutex, PoisonError},
};

use sea_orm::{ConnAcquireErr, DatabaseConnection, DatabaseTransaction, DbErr};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{
    booking::{self, Outcome},
    booking_together::{Job, Made, book_together},
    change,
    transaction::{self, TxError},
};
use crate::live::Live;

/// At most this many bookings in one transaction: its statements stay well within the
/// databases' limits on parameters, and a group's answers do not wait for a very long one.
const GROUP: usize = 64;

/// Bookings waiting for their session, per session.
#[derive(Clone)]
pub struct BookingQueue {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    live: Live,
    /// A session is here while a task makes its groups; its bookings wait in the list.
    waiting: Mutex<HashMap<Uuid, Vec<Waiting>>>,
}

struct Waiting {
    job: Job,
    answer: oneshot::Sender<Result<Outcome, TxError>>,
}

impl BookingQueue {
    pub fn new(db: DatabaseConnection, live: Live) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                live,
                waiting: Mutex::default(),
            }),
        }
    }

    /// Makes the booking with whichever others of its session are waiting. Its live changes
    /// have been delivered by the time it answers (a refusal is `TxError::Refused`).
    pub async fn book(&self, job: Job) -> Result<Outcome, TxError> {
        let session = job.request.session_id;
        let (answer, answered) = oneshot::channel();
        let first = {
            let mut waiting = self.inner.lock();
            match waiting.entry(session) {
                Entry::Occupied(mut queue) => {
                    queue.get_mut().push(Waiting { job, answer });
                    false
                }
                Entry::Vacant(queue) => {
                    queue.insert(vec![Waiting { job, answer }]);
                    true
                }
            }
        };
        if first {
            let inner = self.inner.clone();
            tokio::spawn(async move { inner.make_groups(session).await });
        }
        // The task that held it ended without answering (it panicked): nothing was committed
        // for it that its key would not replay, so trying again is safe.
        answered.await.unwrap_or(Err(TxError::Busy))
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Vec<Waiting>>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the session's waiting bookings, group after group, until none is left.
    async fn make_groups(self: Arc<Self>, session: Uuid) {
        let mut leaving = Leaving {
            inner: &self,
            session,
            left: false,
        };
        loop {
            let group: Vec<Waiting> = {
                let mut waiting = self.lock();
                let Some(queue) = waiting.get_mut(&session) else {
                    leaving.left = true;
                    return;
                };
                if queue.is_empty() {
                    waiting.remove(&session);
                    leaving.left = true;
                    return;
                }
                let take = queue.len().min(GROUP);
                queue.drain(..take).collect()
            };
            self.make(group).await;
        }
    }

    async fn make(&self, group: Vec<Waiting>) {
        let jobs: Arc<[Job]> = group.iter().map(|waiting| waiting.job.clone()).collect();
        let made = transaction::write_if(
            &self.db,
            |txn: &DatabaseTransaction| {
                let (jobs, live) = (jobs.clone(), self.live.clone());
                Box::pin(async move { book_together(txn, &live, &jobs).await })
            },
            Made::to_commit,
        )
        .await;
        match made {
            // Rolled back: their answers would be another request's to give.
            Ok(made) if made.key_taken_over => self.make_one_by_one(group).await,
            Ok(made) => {
                self.live.committed(&made.live);
                for (waiting, answer) in group.into_iter().zip(made.answers) {
                    let _ = waiting.answer.send(answer.map_err(TxError::Refused));
                }
            }
            // Nothing to gain from one by one, and every booking would wait its turn to fail:
            // each is answered with the outage (or the time-out) at once.
            Err(TxError::Db(error)) if transaction::is_unreachable(&error) => {
                tracing::warn!(error = %error, bookings = group.len(), "bookings made together could not reach the database");
                let gone = || DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed);
                for waiting in group {
                    let _ = waiting.answer.send(Err(TxError::Db(gone())));
                }
            }
            // Still conflicting after every retry (or out of time): one by one, each would
            // wait as long again; the caller may try again (TRY_AGAIN).
            Err(TxError::Busy) => Self::answer_busy(group),
            Err(TxError::Db(error)) if transaction::is_timed_out(&error) => {
                Self::answer_busy(group);
            }
            Err(error) => {
                tracing::warn!(error = %error, bookings = group.len(), "bookings made together failed; making them one by one");
                self.make_one_by_one(group).await;
            }
        }
    }

    fn answer_busy(group: Vec<Waiting>) {
        for waiting in group {
            let _ = waiting.answer.send(Err(TxError::Busy));
        }
    }

    async fn make_one_by_one(&self, group: Vec<Waiting>) {
        for waiting in group {
            let answer = self.make_alone(waiting.job).await;
            let _ = waiting.answer.send(answer);
        }
    }

    async fn make_alone(&self, job: Job) -> Result<Outcome, TxError> {
        let request = job.request;
        change::commit(
            &self.db,
            &self.live,
            job.actor,
            job.claimed,
            move |change, live| {
                let request = request.clone();
                Box::pin(async move { booking::book(change, &live, &request).await })
            },
        )
        .await
    }
}

/// Takes the session out of the queue should its task end without doing so (a panic), and
/// with it the bookings still waiting: they answer `TRY_AGAIN` instead of waiting forever.
struct Leaving<'a> {
    inner: &'a Inner,
    session: Uuid,
    left: bool,
}

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        if !self.left {
            self.inner.lock().remove(&self.session);
        }
    }
}
