//! Telling people: outbox events are claimed by one dispatcher at a time and scheduled messages
//! are written once; calendar feeds are reached by secret links that can be revoked.

use sea_orm_migration::{prelude::*, schema::*};

use crate::conventions::{fk, index, one_of, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            // Which dispatcher holds the event, and until when: a dispatcher that died lets go.
            uuid_null("claim_token"),
            timestamp_with_time_zone_null("claimed_until"),
            // What makes a scheduled message unique, such as `reminder:<enrolment>:<start>`:
            // however many processes schedule it, the database keeps one.
            string_len_null("dedupe_key", 200),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("outbox_events")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(unique("outbox_events", &["dedupe_key"]))
            .await?;
        // Administrators list events by state, newest first.
        manager
            .create_index(index("outbox_events", &["status", "created_at"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("calendar_links")
                    .col(pk_uuid("id"))
                    // SHA-256 of the secret in the link; the secret itself is shown once.
                    .col(string_len("secret_hash", 64))
                    .col(
                        string_len("owner_type", 20)
                            .check(one_of("owner_type", &["PARTICIPANT", "ACTOR"])),
                    )
                    .col(uuid_null("participant_id"))
                    .col(uuid_null("actor_id"))
                    .check(
                        Expr::col("participant_id")
                            .is_not_null()
                            .and(Expr::col("actor_id").is_null())
                            .or(Expr::col("participant_id")
                                .is_null()
                                .and(Expr::col("actor_id").is_not_null())),
                    )
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut fk(
                        "calendar_links",
                        "participant_id",
                        "participants",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "calendar_links",
                        "actor_id",
                        "actors",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique("calendar_links", &["secret_hash"]))
            .await?;
        manager
            .create_index(index("calendar_links", &["participant_id"]))
            .await?;
        manager
            .create_index(index("calendar_links", &["actor_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("calendar_links").to_owned())
            .await?;
        for name in [
            "ix_outbox_events_status_created_at",
            "ux_outbox_events_dedupe_key",
        ] {
            manager
                .drop_index(Index::drop().name(name).table("outbox_events").to_owned())
                .await?;
        }
        for column in ["dedupe_key", "claimed_until", "claim_token"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("outbox_events")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
