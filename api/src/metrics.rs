//! Prometheus metrics on `/metrics`: request counts by outcome and the SQL statements run, which
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

pub struct Metrics {
    registry: Registry,
    pub db_statements: Counter,
    pub http_requests: Family<HttpLabels, Counter>,
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
        Self {
            registry,
            db_statements,
            http_requests,
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
