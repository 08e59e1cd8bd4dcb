//! Booking: per-course booking rules, the session's lock and arrival counter, the waiting-list
//! queue, every enrolment change with who made it, idempotency keys for retried mutations, and
//! the outbox of changes someone must hear about.

use sea_orm_migration::{prelude::*, schema::*};

use crate::conventions::{fk, index, one_of, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// SQLite adds one column per `ALTER TABLE`.
async fn add_column(
    manager: &SchemaManager<'_>,
    table: &'static str,
    column: &mut ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).add_column(column).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A one-day training is taken once unless the course says otherwise.
        add_column(
            manager,
            "courses",
            boolean("allow_repeat_enrolment").default(false),
        )
        .await?;
        // Participants may cancel themselves until this many hours before the start.
        add_column(
            manager,
            "courses",
            integer("cancellation_deadline_hours")
                .default(48)
                .check(Expr::col("cancellation_deadline_hours").gte(0)),
        )
        .await?;
        // Staff close and reopen booking by hand, besides the booking window.
        add_column(manager, "sessions", boolean("booking_open").default(true)).await?;
        // Raised by every change to the session's seats, under the session's row lock: the lock
        // itself, the arrival order of its waiting list, and the order of availability updates.
        add_column(
            manager,
            "sessions",
            big_integer("availability_version").default(0),
        )
        .await?;
        // The place in the queue: the session's availability version when the person joined it.
        add_column(manager, "enrolments", &mut big_integer_null("queue_number")).await?;
        // Those already waiting keep their arrival order, ahead of anyone who joins later (new
        // numbers start at 1): the earliest gets the lowest number.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE enrolments SET queue_number = -1 - (
                    SELECT COUNT(*) FROM enrolments AS later
                    WHERE later.status = 'WAITLISTED'
                      AND (later.created_at > enrolments.created_at
                           OR (later.created_at = enrolments.created_at AND later.id > enrolments.id)))
                 WHERE status = 'WAITLISTED' AND queue_number IS NULL",
            )
            .await?;
        // The enrolment this one replaced when staff moved a booking.
        add_column(manager, "enrolments", &mut uuid_null("moved_from_id")).await?;
        manager
            .create_index(index("enrolments", &["session_id", "queue_number"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("enrolment_changes")
                    .col(pk_uuid("id"))
                    .col(uuid("enrolment_id"))
                    .col(string_len("change", 30).check(one_of(
                        "change",
                        &[
                            "BOOKED",
                            "WAITLISTED",
                            "PROMOTED",
                            "CANCELLED",
                            "MOVED_OUT",
                            "MOVED_IN",
                            "ATTENDED",
                            "NO_SHOW",
                        ],
                    )))
                    .col(string_len_null("from_status", 20))
                    .col(string_len("to_status", 20))
                    // The token's subject or the API key's id, as in the audit trail.
                    .col(string("actor"))
                    .col(string_len("actor_role", 20))
                    .col(text_null("reason"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .foreign_key(&mut fk(
                        "enrolment_changes",
                        "enrolment_id",
                        "enrolments",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("enrolment_changes", &["enrolment_id", "occurred_at"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .col(pk_uuid("id"))
                    // Whose key: a token's subject or an API key's id. Keys never cross callers.
                    .col(string_len("scope", 200))
                    .col(string_len("key", 200))
                    .col(string_len("operation", 60))
                    // SHA-256 of the operation's input, to refuse a key reused for another input.
                    .col(string_len("request_hash", 64))
                    .col(
                        string_len("state", 20)
                            .check(one_of("state", &["IN_PROGRESS", "COMPLETED"])),
                    )
                    // The first answer, as JSON, once completed.
                    .col(text_null("response"))
                    .col(timestamp_with_time_zone("created_at"))
                    // A request in progress past this instant was abandoned (its process died).
                    .col(timestamp_with_time_zone("locked_until"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique("idempotency_keys", &["scope", "key"]))
            .await?;
        manager
            .create_index(index("idempotency_keys", &["created_at"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("outbox_events")
                    .col(pk_uuid("id"))
                    // What happened, such as `enrolment.promoted`.
                    .col(string_len("topic", 60))
                    .col(string_len("aggregate_type", 30))
                    .col(uuid("aggregate_id"))
                    // Ids and facts as JSON; the dispatcher reads names and addresses when sending.
                    .col(text("payload"))
                    .col(string_len("status", 20).default("PENDING").check(one_of(
                        "status",
                        &["PENDING", "DELIVERED", "DEAD", "CANCELLED"],
                    )))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("delivered_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("outbox_events", &["status", "next_attempt_at"]))
            .await?;
        manager
            .create_index(index("outbox_events", &["aggregate_type", "aggregate_id"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["outbox_events", "idempotency_keys", "enrolment_changes"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for (table, column) in [
            ("enrolments", "moved_from_id"),
            ("enrolments", "queue_number"),
            ("sessions", "availability_version"),
            ("sessions", "booking_open"),
            ("courses", "cancellation_deadline_hours"),
            ("courses", "allow_repeat_enrolment"),
        ] {
            if table == "enrolments" && column == "queue_number" {
                manager
                    .drop_index(
                        Index::drop()
                            .name("ix_enrolments_session_id_queue_number")
                            .table(table)
                            .to_owned(),
                    )
                    .await?;
            }
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
