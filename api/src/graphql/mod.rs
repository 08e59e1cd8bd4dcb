//! The GraphQL schema: built once at start-up, executed by `http::graphql` for each request.

mod context;
pub mod error_codes;
mod introspection_size;
pub mod limits;
pub(crate) mod mutation;
pub mod nesting;
mod nul_text;
mod public_version;
mod query;
mod subscription;
pub mod types;
mod variables;

use std::sync::Arc;

use async_graphql::Schema;

use crate::config::LimitSettings;

pub use context::{IdempotencySettings, ReportingSettings, RequestData, Services};
use mutation::Mutation;
use query::Query;
use subscription::Subscription;
pub use subscription::follows_public_sessions;

pub type AppSchema = Schema<Query, Mutation, Subscription>;

pub fn build_schema(limits: LimitSettings) -> AppSchema {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    // The only extension: see `limits` for why there is one.
    .extension(limits::Limits(Arc::new(limits)))
    // Suggestions ("did you mean ...") would help an attacker map a schema they cannot introspect.
    .disable_suggestions()
    .finish()
}

/// The schema in SDL, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    build_schema(LimitSettings::default()).sdl()
}
