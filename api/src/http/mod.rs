//! The HTTP surface: GraphQL over HTTP, GraphiQL, health, readiness and metrics.

pub mod availability;
mod calendar;
pub mod client_address;
pub mod connections;
mod dashboard;
mod graphiql;
mod graphql;
mod health;
mod observe;
pub mod persisted;
pub mod rate_limit;
mod reports;
pub mod response_cache;
pub mod unread_body;
mod websocket;

use std::{sync::Arc, time::Duration};

use actix_web::{guard, web};

use crate::{
    auth::jwt::JwtKeys,
    config::Introspection,
    graphql::{AppSchema, Services},
    metrics::Metrics,
};

pub use observe::observe_requests;
pub use websocket::{Callers, SharedOperations};

/// What every handler shares; built once at start-up.
pub struct AppState {
    pub schema: AppSchema,
    pub services: Services,
    pub metrics: Arc<Metrics>,
    pub jwt: JwtKeys,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub introspection: Introspection,
    pub rate_limits: Arc<rate_limit::RateLimits>,
    pub trusted_proxies: client_address::TrustedProxies,
    /// Longest a request body may take to arrive.
    pub body_timeout: Duration,
    pub websocket: WebSocketLimits,
    pub persisted: persisted::PersistedDocuments,
    /// Answers to anonymous queries; none when RESPONSE_CACHE_MAX_BYTES is 0.
    pub responses: Option<response_cache::ResponseCache>,
    /// Whether the database answers; while it does not, requests get 503 at once.
    pub availability: Arc<availability::Availability>,
    /// The process's stop: WebSockets close with 1001 when it begins.
    pub shutdown: crate::shutdown::Shutdown,
}

/// The rules of WebSocket connections.
pub struct WebSocketLimits {
    pub init_timeout: Duration,
    pub max_subscriptions: usize,
    pub max_connections_per_caller: usize,
    /// How often a connection with an API key checks that the key still stands.
    pub api_key_check: Duration,
    pub callers: Arc<Callers>,
    /// Subscriptions followed by many, executed once.
    pub shared: Arc<SharedOperations>,
}

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/graphql")
                .route(web::post().to(graphql::post))
                // Subscriptions: a WebSocket upgrade on the same path, as graphql-ws clients expect.
                .route(
                    web::get()
                        .guard(guard::Header("upgrade", "websocket"))
                        .to(websocket::websocket),
                )
                .route(web::get().to(graphql::get))
                .default_service(web::to(graphql::method_not_allowed)),
        )
        .route("/", web::get().to(graphiql::page))
        .route("/graphiql/{file}", web::get().to(graphiql::asset))
        .route("/favicon.ico", web::get().to(graphiql::no_favicon))
        .route("/calendar/{secret}", web::get().to(calendar::feed_of))
        .route("/reports/report.csv", web::get().to(reports::report_csv))
        .route("/dashboard", web::get().to(dashboard::page))
        .route("/dashboard/{file}", web::get().to(dashboard::asset))
        .route("/healthz", web::get().to(health::alive))
        .route("/readyz", web::get().to(health::ready));
}

/// The routes of the metrics address, apart from the API's.
pub fn metrics_routes(config: &mut web::ServiceConfig) {
    config.route("/metrics", web::get().to(health::metrics));
}
