//! Prometheus metrics on `/metrics`: request counts by outcome, outbox deliveries, and the SQL statements run, which
//! is also how the tests see that a query's statement count does not grow with its page size.

use std::sync::atomic::AtomicU64;

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route pattern, never the raw path or query string.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutboxLabels {
    /// `delivered`, `retry`, `dead` or `obsolete`.
    pub outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub db_statements: Counter,
    pub http_requests: Family<HttpLabels, Counter>,
    /// Attempts to deliver outbox events, by how they ended: alert on `dead`.
    pub outbox_attempts: Family<OutboxLabels, Counter>,
    /// Webhook deliveries by how they ended (`delivered`, `retry`, `dead`, `gone`).
    pub webhook_deliveries: Family<OutboxLabels, Counter>,
    /// Webhook endpoints turned off for failing too long, or for answering 410: alert on it.
    pub webhook_endpoints_disabled: Counter,
    /// Changes of the feed written but not yet visible, and the age of the oldest transaction
    /// that holds the feed's visible end back.
    pub feed_lag_changes: Gauge,
    pub feed_oldest_transaction_seconds: Gauge<f64, AtomicU64>,
    /// Anonymous queries answered from the response cache, and those computed.
    pub response_cache_hits: Counter,
    pub response_cache_misses: Counter,
    /// What the kept answers weigh; never above RESPONSE_CACHE_MAX_BYTES.
    pub response_cache_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let db_statements = Counter::default();
        registry.register("db_statements", "SQL statements run", db_statements.clone());
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered",
            http_requests.clone(),
        );
        let outbox_attempts = Family::<OutboxLabels, Counter>::default();
        registry.register(
            "outbox_attempts",
            "Attempts to deliver outbox events, by outcome",
            outbox_attempts.clone(),
        );
        let webhook_deliveries = Family::<OutboxLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Attempts to deliver webhooks, by outcome",
            webhook_deliveries.clone(),
        );
        let webhook_endpoints_disabled = Counter::default();
        registry.register(
            "webhook_endpoints_disabled",
            "Webhook endpoints turned off for failing too long or answering 410",
            webhook_endpoints_disabled.clone(),
        );
        let feed_lag_changes = Gauge::default();
        registry.register(
            "feed_lag_changes",
            "Changes written to the feed but not yet visible to its readers",
            feed_lag_changes.clone(),
        );
        let feed_oldest_transaction_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "feed_oldest_transaction_seconds",
            "Age of the oldest open transaction, which holds the feed's visible end back",
            feed_oldest_transaction_seconds.clone(),
        );
        let response_cache_hits = Counter::default();
        registry.register(
            "response_cache_hits",
            "Anonymous queries answered from the response cache",
            response_cache_hits.clone(),
        );
        let response_cache_misses = Counter::default();
        registry.register(
            "response_cache_misses",
            "Anonymous queries the response cache could not answer",
            response_cache_misses.clone(),
        );
        let response_cache_bytes = Gauge::default();
        registry.register(
            "response_cache_bytes",
            "Bytes of the answers the response cache keeps",
            response_cache_bytes.clone(),
        );
        Self {
            registry,
            db_statements,
            http_requests,
            outbox_attempts,
            webhook_deliveries,
            webhook_endpoints_disabled,
            feed_lag_changes,
            feed_oldest_transaction_seconds,
            response_cache_hits,
            response_cache_misses,
            response_cache_bytes,
        }
    }
}

impl Metrics {
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
