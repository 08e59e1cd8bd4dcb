//! Subscriptions followed by many are executed once.
//!
//! Subscribers whose operation is the same (document, variables, operation name) and whose
//! callers are of one access class (`policy::access_class`: everything that decides what they
//! may see) share one execution: each change is resolved once for all of them, then handed to
//! each. A subscriber that joins later is shown the latest result first. What the execution read
//! of personal data is written on the audit trail of every subscriber it is handed to, as if each
//! had read it. The execution stops when its last subscriber goes.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::{sync::broadcast, task::AbortHandle};

use crate::audit;

/// Results a slow subscriber may fall behind by before it skips to newer ones.
const BACKLOG: usize = 16;

/// One result of a shared execution.
#[derive(Debug)]
pub struct Item {
    pub event: Event,
    /// What resolving it read, for each subscriber's audit trail.
    pub audit: Vec<audit::Entry>,
}

#[derive(Debug, Clone)]
pub enum Event {
    Next(Value),
    /// Errors before any result: the operation is over, with no `complete` after it.
    Error(Value),
    Complete,
}

impl Event {
    pub fn is_last(&self) -> bool {
        !matches!(self, Self::Next(_))
    }
}

/// The executions running in this process, by what they execute and for whom.
#[derive(Default)]
pub struct SharedOperations {
    running: Mutex<HashMap<String, Weak<Shared>>>,
}

struct Shared {
    state: Mutex<State>,
    task: Mutex<Option<AbortHandle>>,
}

struct State {
    last: Option<Arc<Item>>,
    sender: broadcast::Sender<Arc<Item>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Ok(mut task) = self.task.lock()
            && let Some(task) = task.take()
        {
            task.abort();
        }
    }
}

/// Hands an execution's results to its subscribers.
pub struct Publisher(Weak<Shared>);

impl Publisher {
    /// Publishes a result; false when nobody follows any more.
    pub fn publish(&self, item: Item) -> bool {
        let Some(shared) = self.0.upgrade() else {
            return false;
        };
        let Ok(mut state) = shared.state.lock() else {
            return false;
        };
        let item = Arc::new(item);
        state.last = Some(item.clone());
        // Nobody listening right now is fine: a late subscriber reads `last`.
        let _ = state.sender.send(item);
        true
    }
}

/// One subscriber's view of a shared execution; the execution lives while it has followers.
pub struct Follower {
    shared: Arc<Shared>,
    receiver: broadcast::Receiver<Arc<Item>>,
    first: Option<Arc<Item>>,
}

impl Follower {
    /// The next result, or `None` once the execution is gone.
    pub async fn next(&mut self) -> Option<Arc<Item>> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        loop {
            match self.receiver.recv().await {
                Ok(item) => return Some(item),
                // Fell behind: what is still buffered follows, newest last.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Whether two followers share one execution.
    pub fn shares_with(&self, other: &Follower) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// What identifies an execution: the operation as sent, canonical variables (object keys are
/// sorted) and the access class of its callers.
pub fn key(
    access_class: &str,
    query: &str,
    variables: Option<&Value>,
    operation_name: Option<&str>,
    extensions: Option<&Value>,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        access_class,
        query,
        &variables.map(Value::to_string).unwrap_or_default(),
        operation_name.unwrap_or_default(),
        &extensions.map(Value::to_string).unwrap_or_default(),
    ] {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

impl SharedOperations {
    /// Follows the execution of `key`, starting it with `start` when none runs (or the one that
    /// ran has ended).
    pub fn follow(&self, key: String, start: impl FnOnce(Publisher) -> AbortHandle) -> Follower {
        let mut running = match self.running.lock() {
            Ok(running) => running,
            Err(poisoned) => poisoned.into_inner(),
        };
        running.retain(|_, shared| shared.strong_count() > 0);
        if let Some(shared) = running.get(&key).and_then(Weak::upgrade)
            && let Ok(state) = shared.state.lock()
            && state.last.as_ref().is_none_or(|last| !last.event.is_last())
        {
            let follower = Follower {
                receiver: state.sender.subscribe(),
                first: state.last.clone(),
                shared: shared.clone(),
            };
            drop(state);
            return follower;
        }
        let (sender, receiver) = broadcast::channel(BACKLOG);
        let shared = Arc::new(Shared {
            state: Mutex::new(State { last: None, sender }),
            task: Mutex::new(None),
        });
        running.insert(key, Arc::downgrade(&shared));
        drop(running);
        let task = start(Publisher(Arc::downgrade(&shared)));
        if let Ok(mut slot) = shared.task.lock() {
            *slot = Some(task);
        }
        Follower {
            shared,
            receiver,
            first: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(n: i64) -> Item {
        Item {
            event: Event::Next(Value::from(n)),
            audit: Vec::new(),
        }
    }

    #[tokio::test]
    async fn followers_of_one_key_share_an_execution_and_a_late_one_sees_the_latest() {
        let operations = SharedOperations::default();
        let publisher = Arc::new(Mutex::new(None));
        let slot = publisher.clone();
        let mut first = operations.follow("k".into(), move |p| {
            if let Ok(mut slot) = slot.lock() {
                *slot = Some(p);
            }
            tokio::spawn(std::future::pending::<()>()).abort_handle()
        });
        let publish = |n| {
            publisher
                .lock()
                .ok()
                .and_then(|p| p.as_ref().map(|p| p.publish(next(n))))
        };
        assert_eq!(publish(1), Some(true));
        let mut late = operations.follow("k".into(), |_| never_started());
        assert!(late.shares_with(&first));
        assert!(
            matches!(late.next().await.map(|i| i.event.clone()), Some(Event::Next(v)) if v == 1)
        );
        assert!(
            matches!(first.next().await.map(|i| i.event.clone()), Some(Event::Next(v)) if v == 1)
        );
        let other = operations.follow("other".into(), |_| {
            tokio::spawn(std::future::pending::<()>()).abort_handle()
        });
        assert!(!other.shares_with(&first));
        drop((first, late));
        assert_eq!(publish(2), Some(false), "gone with its last follower");
    }

    fn never_started() -> AbortHandle {
        tokio::spawn(async {}).abort_handle()
    }
}
