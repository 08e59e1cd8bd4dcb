//! A source's feed in order without the whole history: each scope row carries its change's
//! place in the feed (transaction and position), indexed by source, so a page of one source's
//! changes is a range of that index instead of a walk through every source's changes.

use sea_orm_migration::{prelude::*, schema::*};

use crate::conventions::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            big_integer("xact").default(0).to_owned(),
            big_integer("position").default(0).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("enrolment_change_sources")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE enrolment_change_sources SET \
                 xact = COALESCE((SELECT c.xact FROM enrolment_changes c WHERE c.id = change_id), 0), \
                 position = COALESCE((SELECT c.position FROM enrolment_changes c WHERE c.id = change_id), 0)",
            )
            .await?;
        manager
            .create_index(index(
                "enrolment_change_sources",
                &["source", "xact", "position"],
            ))
            .await?;
        Ok(())
    }
}
