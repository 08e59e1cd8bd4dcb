//! Black-box tests: each starts the real service on port 0 against a fresh database and talks
//! GraphQL over HTTP, as a client would. With `TEST_DATABASE_URL` pointing at a PostgreSQL server
//! every test makes (and drops) its own database there; without it, a temporary SQLite file.

// A test that cannot arrange its world should stop at once and say where.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on a broken arrangement"
)]

mod access;
mod actors;
mod api_keys;
mod auth;
mod booking;
mod calendar;
mod connections;
mod csv_files;
mod demo_data;
mod durability;
mod feed;
mod feedback;
mod forgotten;
mod graphiql;
mod hardening;
mod health;
mod helpers;
mod http;
mod introspection;
mod invariants;
mod limits;
mod live;
mod mail;
mod messages;
mod migrations;
mod nesting;
mod nodes;
mod outage;
mod pagination;
mod persisted;
mod planning;
mod privacy;
mod processes;
mod programme;
mod rebuild;
mod reports;
mod response_cache;
mod restore;
mod retention;
mod scheduling;
mod schema;
mod shutdown;
mod statements;
mod subscriptions;
mod sync;
mod time_zone;
mod timeouts;
mod visibility;
mod webhooks;
mod websockets;
