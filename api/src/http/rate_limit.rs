//! Rate limits: a token bucket per API key, per token subject and (for anonymous callers) per IP
//! address. Buckets live in this process: with several processes each allows its own share.

use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use crate::auth::Viewer;

pub struct RateLimits {
    identified: Option<DefaultKeyedRateLimiter<String>>,
    anonymous: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

fn limiter(per_minute: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::dashmap(Quota::per_minute(n)))
}

impl RateLimits {
    /// Requests a minute for callers with credentials and for anonymous ones; 0 turns a limit off.
    pub fn new(per_minute: u32, anonymous_per_minute: u32) -> Arc<Self> {
        let limits = Arc::new(Self {
            identified: limiter(per_minute),
            anonymous: limiter(anonymous_per_minute),
            clock: DefaultClock::default(),
        });
        // Forget idle callers now and then, so the buckets do not grow without end.
        let weak = Arc::downgrade(&limits);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                let Some(limits) = weak.upgrade() else { break };
                for limiter in [&limits.identified, &limits.anonymous]
                    .into_iter()
                    .flatten()
                {
                    limiter.retain_recent();
                }
            }
        });
        limits
    }

    /// Takes a token from the caller's bucket, or says how long to wait for one.
    pub fn check(&self, viewer: &Viewer, ip: Option<IpAddr>) -> Result<(), Duration> {
        let (limiter, key) = match viewer {
            Viewer::Person { subject, .. } => (&self.identified, format!("subject:{subject}")),
            Viewer::Machine { api_key_id, .. } => (&self.identified, format!("key:{api_key_id}")),
            Viewer::Anonymous => (
                &self.anonymous,
                ip.map_or_else(|| "ip:unknown".to_owned(), |ip| format!("ip:{ip}")),
            ),
        };
        let Some(limiter) = limiter else {
            return Ok(());
        };
        limiter
            .check_key(&key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}
