//! Hardening: look-alike e-mail addresses are found by their skeleton, and audit events say
//! more than ids (how many unknown ids a refused read named).

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
        // Filled by the service for existing rows (the skeleton is computed in Rust).
        manager
            .alter_table(
                Table::alter()
                    .table("participants")
                    .add_column(text_null("email_skeleton"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("participants", &["email_skeleton"]))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("audit_events")
                    .add_column(text_null("details"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
