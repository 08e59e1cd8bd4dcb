//! The HTTP surface: GraphQL over HTTP, GraphiQL, health, readiness and metrics.

mod calendar;
mod graphiql;
mod graphql;
mod health;
mod observe;
pub mod rate_limit;
mod subscription;

use std::{sync::Arc, time::Duration};

use actix_web::{guard, web};

use crate::{
    auth::jwt::JwtKeys,
    config::Introspection,
    graphql::{AppSchema, Services},
    metrics::Metrics,
};

pub use observe::observe_requests;

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
                        .to(subscription::websocket),
                )
                .route(web::get().to(graphql::get))
                .default_service(web::to(graphql::method_not_allowed)),
        )
        .route("/", web::get().to(graphiql::page))
        .route("/graphiql/{file}", web::get().to(graphiql::asset))
        .route("/favicon.ico", web::get().to(graphiql::no_favicon))
        .route("/calendar/{secret}", web::get().to(calendar::feed_of))
        .route("/healthz", web::get().to(health::alive))
        .route("/readyz", web::get().to(health::ready))
        .route("/metrics", web::get().to(health::metrics));
}
