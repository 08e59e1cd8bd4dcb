//! The service's stop. On SIGTERM (or SIGINT) it takes no new connections, lets requests in
//! progress finish, closes WebSockets with 1001 (going away), and lets the outbox dispatchers and
//! the retention job end their work in hand; what they still hold when `SHUTDOWN_GRACE_SECONDS`
//! have passed is handed back (outbox claims), so another process takes it over at once instead
//! of after its lease. Then it exits 0. A second signal, or the end of the grace period, stops it
//! at once.

use std::{sync::Arc, time::Duration};

use tokio::{sync::watch, time::Instant};
use tokio_util::task::TaskTracker;

#[derive(Clone)]
pub struct Shutdown(Arc<Inner>);

struct Inner {
    /// When the stop began, once it has.
    began: watch::Sender<Option<Instant>>,
    grace: Duration,
    /// The background work that hands things back before the process ends.
    workers: TaskTracker,
}

impl Shutdown {
    pub fn new(grace: Duration) -> Self {
        Self(Arc::new(Inner {
            began: watch::Sender::new(None),
            grace,
            workers: TaskTracker::new(),
        }))
    }

    pub fn grace(&self) -> Duration {
        self.0.grace
    }

    /// Starts the stop; the grace period runs from the first call.
    pub fn begin(&self) {
        self.0.began.send_if_modified(|began| {
            let first = began.is_none();
            if first {
                *began = Some(Instant::now());
            }
            first
        });
    }

    pub fn is_stopping(&self) -> bool {
        self.0.began.borrow().is_some()
    }

    /// Resolves once the stop has begun.
    pub async fn stopping(&self) {
        let _ = self.began().await;
    }

    /// Resolves when the grace period is over: work still in hand must be handed back now.
    pub async fn overdue(&self) {
        let began = self.began().await;
        tokio::time::sleep_until(began + self.0.grace).await;
    }

    async fn began(&self) -> Instant {
        let mut began = self.0.began.subscribe();
        // The guard is dropped before any other await.
        let at = began
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|at| *at);
        match at {
            Some(at) => at,
            // The sender lives as long as `self`: this cannot happen, and never resolves early.
            None => std::future::pending().await,
        }
    }

    /// Runs background work that the stop waits for (up to the grace period).
    pub fn spawn_worker<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.workers.spawn(work);
    }

    /// Waits for the background work to end, but not beyond the grace period.
    pub async fn workers_done(&self) {
        self.0.workers.close();
        tokio::select! {
            () = self.0.workers.wait() => {}
            () = self.overdue() => {
                // A moment more, for the hand-back each worker makes when the grace ends.
                let _ = tokio::time::timeout(Duration::from_secs(2), self.0.workers.wait()).await;
            }
        }
    }

    /// Begins the stop on the first SIGTERM or SIGINT and tells `stop` (the HTTP server's
    /// graceful stop); exits the process at once on the second.
    pub async fn on_signals(self, stop: impl Future<Output = ()> + Send + 'static) {
        let mut stop = Some(stop);
        loop {
            let name = signal().await;
            if let Some(stop) = stop.take() {
                tracing::info!(
                    signal = name,
                    grace_seconds = self.0.grace.as_secs(),
                    "stopping: finishing what is in progress"
                );
                self.begin();
                tokio::spawn(stop);
            } else {
                tracing::warn!(signal = name, "stopping at once");
                std::process::exit(1);
            }
        }
    }
}

#[cfg(unix)]
async fn signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

#[cfg(not(unix))]
async fn signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_grace_period_runs_from_the_first_begin() {
        let shutdown = Shutdown::new(Duration::from_millis(300));
        assert!(!shutdown.is_stopping());
        let overdue = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { shutdown.overdue().await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!overdue.is_finished(), "overdue before the stop began");
        let began = Instant::now();
        shutdown.begin();
        assert!(shutdown.is_stopping());
        tokio::time::sleep(Duration::from_millis(100)).await;
        // A second begin does not move the deadline.
        shutdown.begin();
        let Ok(()) = overdue.await else {
            panic!("the wait ended otherwise");
        };
        assert!(began.elapsed() >= Duration::from_millis(300));
    }
}
