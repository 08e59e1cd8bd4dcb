//! Actors: what they can play, when they are available, and how many a session needs.

use sea_orm_migration::{prelude::*, schema::*};

use crate::conventions::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["scenarios", "playable_roles"] {
            // A JSON array of short texts: shown and edited whole, never searched.
            manager
                .alter_table(
                    Table::alter()
                        .table("actors")
                        .add_column(text(column).default("[]"))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("sessions")
                    .add_column(
                        integer("actors_needed")
                            .default(1)
                            .check(Expr::col("actors_needed").gte(0)),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("actor_availability")
                    .col(pk_uuid("id"))
                    .col(uuid("actor_id"))
                    .col(timestamp_with_time_zone("starts_at"))
                    .col(timestamp_with_time_zone("ends_at"))
                    .check(Expr::col("ends_at").gt(Expr::col("starts_at")))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk(
                        "actor_availability",
                        "actor_id",
                        "actors",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("actor_availability", &["actor_id", "starts_at"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("actor_availability").to_owned())
            .await?;
        for (table, column) in [
            ("sessions", "actors_needed"),
            ("actors", "playable_roles"),
            ("actors", "scenarios"),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
