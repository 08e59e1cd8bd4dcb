//! Rate limits: a token bucket per API key, per token subject and (for anonymous callers) per
//! client address, and one per address for failed credentials, so keys and tokens cannot be
//! guessed at the speed of the network. Buckets live in this process: with several processes
//! each allows its own share.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use super::client_address::limit_key;
use crate::auth::Viewer;

pub struct RateLimits {
    identified: Option<DefaultKeyedRateLimiter<String>>,
    anonymous: Option<DefaultKeyedRateLimiter<String>>,
    failed_credentials: Option<DefaultKeyedRateLimiter<String>>,
    /// Addresses that guessed too often, and until when all their credentials are refused.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    clock: DefaultClock,
}

fn limiter(per_minute: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::dashmap(Quota::per_minute(n)))
}

/// The bucket a caller draws from: its API key, its token's subject, or its address.
pub fn caller_key(viewer: &Viewer, ip: Option<IpAddr>) -> String {
    match viewer {
        Viewer::Person { subject, .. } => format!("subject:{subject}"),
        Viewer::Machine { api_key_id, .. } => format!("key:{api_key_id}"),
        Viewer::Anonymous => address_key(ip),
    }
}

fn address_key(ip: Option<IpAddr>) -> String {
    ip.map_or_else(
        || "ip:unknown".to_owned(),
        |ip| format!("ip:{}", limit_key(ip)),
    )
}

impl RateLimits {
    /// Requests a minute for callers with credentials, for anonymous ones, and failed
    /// credentials a minute per address; 0 turns a limit off.
    pub fn new(
        per_minute: u32,
        anonymous_per_minute: u32,
        failed_credentials_per_minute: u32,
    ) -> Arc<Self> {
        let limits = Arc::new(Self {
            identified: limiter(per_minute),
            anonymous: limiter(anonymous_per_minute),
            failed_credentials: limiter(failed_credentials_per_minute),
            blocked: Mutex::default(),
            clock: DefaultClock::default(),
        });
        // Forget idle callers now and then, so the buckets do not grow without end.
        let weak = Arc::downgrade(&limits);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                let Some(limits) = weak.upgrade() else { break };
                for limiter in [
                    &limits.identified,
                    &limits.anonymous,
                    &limits.failed_credentials,
                ]
                .into_iter()
                .flatten()
                {
                    limiter.retain_recent();
                }
                if let Ok(mut blocked) = limits.blocked.lock() {
                    let now = Instant::now();
                    blocked.retain(|_, until| *until > now);
                }
            }
        });
        limits
    }

    /// Takes a token from the caller's bucket, or says how long to wait for one.
    pub fn check(&self, viewer: &Viewer, ip: Option<IpAddr>) -> Result<(), Duration> {
        let limiter = match viewer {
            Viewer::Person { .. } | Viewer::Machine { .. } => &self.identified,
            Viewer::Anonymous => &self.anonymous,
        };
        self.take(limiter, &caller_key(viewer, ip))
    }

    /// Whether this address may present credentials now: after too many refused ones, every
    /// credential it sends, right or wrong, is answered 429 until the wait is over, so the answer
    /// tells nothing about a guess.
    pub fn check_credentials_allowed(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        let (Some(ip), Ok(blocked)) = (ip.map(limit_key), self.blocked.lock()) else {
            return Ok(());
        };
        match blocked.get(&ip) {
            Some(until) => match until.checked_duration_since(Instant::now()) {
                Some(wait) if !wait.is_zero() => Err(wait),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Counts a refused credential from this address; once too many were, says how long the
    /// address must wait.
    pub fn note_failed_credentials(&self, ip: Option<IpAddr>) -> Result<(), Duration> {
        let result = self.take(&self.failed_credentials, &address_key(ip));
        if let (Err(wait), Some(ip)) = (result, ip.map(limit_key))
            && let Ok(mut blocked) = self.blocked.lock()
        {
            blocked.insert(ip, Instant::now() + wait);
        }
        result
    }

    fn take(
        &self,
        limiter: &Option<DefaultKeyedRateLimiter<String>>,
        key: &str,
    ) -> Result<(), Duration> {
        let Some(limiter) = limiter else {
            return Ok(());
        };
        limiter
            .check_key(&key.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}
