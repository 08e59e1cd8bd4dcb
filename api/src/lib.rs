//! The training platform's GraphQL service: actix-web and async-graphql over sea-orm.

pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod live;
pub mod lru;
pub mod messages;
pub mod metrics;
pub mod privacy;
pub mod private_files;
pub mod reporting;
pub mod shutdown;
pub mod startup;
pub mod sync;
pub mod telemetry;

pub use config::Settings;
pub use startup::Application;
