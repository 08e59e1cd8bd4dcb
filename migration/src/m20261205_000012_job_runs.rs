//! Jobs that run once across all service processes (retention first): a row per job says when
//! it is next due, and the process whose update moves that time on is the one that runs it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("job_runs")
                    .col(string_len("name", 50).primary_key())
                    .col(timestamp_with_time_zone("due_at"))
                    .col(timestamp_with_time_zone_null("last_started_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("job_runs").to_owned())
            .await
    }
}
