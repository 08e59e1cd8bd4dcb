//! Privacy: a participant can be erased (anonymised where their records must stay for the
//! statistics), and every erasure is logged by ids only, so that it can be applied again after a
//! restore from an older backup.

use sea_orm_migration::{prelude::*, schema::*};

use crate::conventions::{one_of, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("participants")
                    .add_column(timestamp_with_time_zone_null("erased_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("erasures")
                    .col(pk_uuid("id"))
                    .col(uuid("participant_id"))
                    .col(string_len("cause", 20).check(one_of("cause", &["REQUEST", "RETENTION"])))
                    .col(timestamp_with_time_zone("erased_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique("erasures", &["participant_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("erasures").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("participants")
                    .drop_column("erased_at")
                    .to_owned(),
            )
            .await
    }
}
