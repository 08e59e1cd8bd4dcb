//! Prometheus metrics on `/metrics`: request counts by outcome, outbox deliveries, and the SQL statements run, which
//! is also how the tests see that a query's statement count does not grow with its page size.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family},
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
        Self {
            registry,
            db_statements,
            http_requests,
            outbox_attempts,
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
