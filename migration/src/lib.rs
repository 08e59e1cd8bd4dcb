//! Database migrations. Each runs on SQLite and on PostgreSQL, inside one transaction, so a
//! failing migration leaves the database as it was. An applied migration is never edited.

pub use sea_orm_migration::prelude::*;

mod conventions;
mod m20261129_000001_create_programme;
mod m20261129_000002_create_api_keys;
mod m20261129_000003_create_audit_events;
mod m20261129_000004_booking;
mod m20261129_000005_actors;
mod m20261129_000006_messages;
mod m20261202_000007_hardening;
mod m20261202_000008_sync;
mod m20261202_000009_feed_scope_order;
mod m20261205_000010_reporting;
mod m20261205_000011_privacy;
mod m20261205_000012_job_runs;
mod m20261205_000013_public_version;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_programme::Migration),
            Box::new(m20261129_000002_create_api_keys::Migration),
            Box::new(m20261129_000003_create_audit_events::Migration),
            Box::new(m20261129_000004_booking::Migration),
            Box::new(m20261129_000005_actors::Migration),
            Box::new(m20261129_000006_messages::Migration),
            Box::new(m20261202_000007_hardening::Migration),
            Box::new(m20261202_000008_sync::Migration),
            Box::new(m20261202_000009_feed_scope_order::Migration),
            Box::new(m20261205_000010_reporting::Migration),
            Box::new(m20261205_000011_privacy::Migration),
            Box::new(m20261205_000012_job_runs::Migration),
            Box::new(m20261205_000013_public_version::Migration),
        ]
    }
}
