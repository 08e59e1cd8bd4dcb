//! API keys for machines (a ministry's sync job, a dashboard). Only a hash of each key is kept.

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
                    .table("api_keys")
                    .col(pk_uuid("id"))
                    .col(string("name"))
                    // The first characters of the key, shown in lists so people can tell keys apart.
                    .col(string_len("prefix", 16))
                    // SHA-256 of the whole key, in hex: keys are random, so a fast hash suffices.
                    .col(string_len_uniq("secret_hash", 64))
                    .col(
                        string_len("role", 20)
                            .check(Expr::col("role").is_in(["SYNC_CLIENT", "REPORTING_CLIENT"])),
                    )
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("api_keys").to_owned())
            .await
    }
}
