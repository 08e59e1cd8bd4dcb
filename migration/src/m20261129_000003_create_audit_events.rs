//! The audit trail: who read or changed what, when, and with what outcome. Nothing in the API
//! changes or deletes it.

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
                    .table("audit_events")
                    .col(pk_uuid("id"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    // The token's subject or the API key's id: never a name or an e-mail address.
                    .col(string("actor"))
                    .col(string_len("actor_role", 20))
                    .col(string_len("action", 60))
                    .col(string_len("record_type", 30))
                    // The ids of the records, as a JSON array.
                    .col(text("record_ids"))
                    .col(
                        string_len("outcome", 10)
                            .check(Expr::col("outcome").is_in(["ALLOWED", "REFUSED"])),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_events_occurred_at_id")
                    .table("audit_events")
                    .col("occurred_at")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_events_actor")
                    .table("audit_events")
                    .col("actor")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("audit_events").to_owned())
            .await
    }
}
