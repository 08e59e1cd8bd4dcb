//! The GraphQL schema: built once at start-up, executed by `http::graphql` for each request.

mod context;
mod error_codes;
mod query;
pub mod types;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

pub use context::RequestData;
use query::Query;

pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

pub fn build_schema() -> AppSchema {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .extension(error_codes::ErrorCodes)
        // Suggestions ("did you mean ...") would help an attacker map a schema they cannot introspect.
        .disable_suggestions()
        .finish()
}

/// The schema in SDL, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    build_schema().sdl()
}
