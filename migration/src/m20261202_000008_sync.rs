//! Keeping ministry systems in step: external ids per source system, a version on every
//! enrolment, the enrolment history as a change feed that never skips (each change with its
//! transaction and position, and the sources whose scope it falls in), and webhooks.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{ConnectionTrait, DbBackend},
};

use crate::conventions::{fk, index, one_of, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The kinds of change, ERASED included (an enrolment whose participant was erased).
const CHANGE_KINDS: &[&str] = &[
    "BOOKED",
    "WAITLISTED",
    "PROMOTED",
    "CANCELLED",
    "MOVED_OUT",
    "MOVED_IN",
    "ATTENDED",
    "NO_SHOW",
    "ERASED",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;

        // A sync client's key may belong to one source system, whose ids it speaks.
        manager
            .alter_table(
                Table::alter()
                    .table("api_keys")
                    .add_column(string_len_null("source", 50))
                    .to_owned(),
            )
            .await?;

        // The id a source system knows a record by: unique per source and kind of record, and a
        // record has at most one id in each source.
        manager
            .create_table(
                Table::create()
                    .table("external_ids")
                    .col(pk_uuid("id"))
                    .col(string_len("source", 50))
                    .col(string_len("record_type", 20).check(one_of(
                        "record_type",
                        &["PARTICIPANT", "COURSE", "SESSION", "ENROLMENT"],
                    )))
                    .col(string_len("external_id", 100))
                    .col(uuid("record_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique(
                "external_ids",
                &["source", "record_type", "external_id"],
            ))
            .await?;
        manager
            .create_index(unique(
                "external_ids",
                &["source", "record_type", "record_id"],
            ))
            .await?;
        manager
            .create_index(index("external_ids", &["record_type", "record_id"]))
            .await?;
        // Today's external ids (globally unique) move to the default source; the old columns
        // stay, empty, as SQLite cannot drop a column with a UNIQUE constraint.
        for (table, kind) in [("participants", "PARTICIPANT"), ("enrolments", "ENROLMENT")] {
            db.execute_unprepared(&format!(
                "INSERT INTO external_ids (id, source, record_type, external_id, record_id, created_at) \
                 SELECT id, 'default', '{kind}', external_id, id, created_at FROM {table} \
                 WHERE external_id IS NOT NULL"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "UPDATE {table} SET external_id = NULL WHERE external_id IS NOT NULL"
            ))
            .await?;
        }

        // Every change to an enrolment raises its version by one, starting at 1.
        manager
            .alter_table(
                Table::alter()
                    .table("enrolments")
                    .add_column(integer("version").default(0))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "UPDATE enrolments SET version = \
             (SELECT COUNT(*) FROM enrolment_changes c WHERE c.enrolment_id = enrolments.id)",
        )
        .await?;

        // The history, rebuilt as a feed: `version` per enrolment, `position` in the order of
        // writing, and (on PostgreSQL) `xact`, the writing transaction, so that a reader never
        // passes a transaction that may still commit. `ERASED` joins the kinds.
        manager
            .create_table(
                Table::create()
                    .table("enrolment_changes_feed")
                    .col(pk_uuid("id"))
                    .col(uuid("enrolment_id"))
                    .col(string_len("change", 30).check(one_of("change", CHANGE_KINDS)))
                    .col(string_len_null("from_status", 20))
                    .col(string_len("to_status", 20))
                    .col(string("actor"))
                    .col(string_len("actor_role", 20))
                    .col(text_null("reason"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(integer("version"))
                    .col(big_integer("xact").default(0))
                    .col(big_integer_null("position"))
                    .foreign_key(&mut fk(
                        "enrolment_changes_feed",
                        "enrolment_id",
                        "enrolments",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "INSERT INTO enrolment_changes_feed \
             (id, enrolment_id, change, from_status, to_status, actor, actor_role, reason, occurred_at, version, xact, position) \
             SELECT id, enrolment_id, change, from_status, to_status, actor, actor_role, reason, occurred_at, \
             ROW_NUMBER() OVER (PARTITION BY enrolment_id ORDER BY occurred_at, id), 0, \
             ROW_NUMBER() OVER (ORDER BY occurred_at, id) \
             FROM enrolment_changes",
        )
        .await?;
        manager
            .drop_table(Table::drop().table("enrolment_changes").to_owned())
            .await?;
        manager
            .rename_table(
                Table::rename()
                    .table("enrolment_changes_feed", "enrolment_changes")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("enrolment_changes", &["enrolment_id", "occurred_at"]))
            .await?;
        manager
            .create_index(unique("enrolment_changes", &["enrolment_id", "version"]))
            .await?;
        manager
            .create_index(unique("enrolment_changes", &["position"]))
            .await?;
        manager
            .create_index(index("enrolment_changes", &["xact", "position"]))
            .await?;
        if postgres {
            // Filled by the database as each change is written, in its transaction.
            db.execute_unprepared(
                "CREATE SEQUENCE enrolment_changes_position_seq OWNED BY enrolment_changes.position",
            )
            .await?;
            db.execute_unprepared(
                "SELECT setval('enrolment_changes_position_seq', \
                 COALESCE((SELECT MAX(position) FROM enrolment_changes), 0) + 1, false)",
            )
            .await?;
            db.execute_unprepared(
                "ALTER TABLE enrolment_changes \
                 ALTER COLUMN position SET DEFAULT nextval('enrolment_changes_position_seq'), \
                 ALTER COLUMN position SET NOT NULL, \
                 ALTER COLUMN xact SET DEFAULT (pg_current_xact_id()::text::bigint)",
            )
            .await?;
        } else {
            // One writer at a time holds SQLite's lock from BEGIN: the next position is the
            // highest so far plus one, in commit order.
            db.execute_unprepared(
                "CREATE TRIGGER enrolment_changes_position AFTER INSERT ON enrolment_changes \
                 WHEN NEW.position IS NULL BEGIN \
                 UPDATE enrolment_changes SET position = \
                 (SELECT COALESCE(MAX(position), 0) + 1 FROM enrolment_changes) WHERE id = NEW.id; \
                 END",
            )
            .await?;
        }

        // Which sources' scope each change falls in, kept when it is written: a change still
        // reaches its source after the participant's id there is gone.
        manager
            .create_table(
                Table::create()
                    .table("enrolment_change_sources")
                    .col(uuid("change_id"))
                    .col(string_len("source", 50))
                    .primary_key(Index::create().col("source").col("change_id"))
                    .foreign_key(&mut fk(
                        "enrolment_change_sources",
                        "change_id",
                        "enrolment_changes",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "INSERT INTO enrolment_change_sources (change_id, source) \
             SELECT c.id, x.source FROM enrolment_changes c \
             JOIN enrolments e ON e.id = c.enrolment_id \
             JOIN external_ids x ON x.record_type = 'PARTICIPANT' AND x.record_id = e.participant_id",
        )
        .await?;

        // The feed's epoch: cursors of another epoch (from before a restore) must resync.
        manager
            .create_table(
                Table::create()
                    .table("feed_state")
                    .col(integer("id").primary_key())
                    .col(uuid("epoch"))
                    .col(text_null("system_identifier"))
                    .col(timestamp_with_time_zone("started_at"))
                    .to_owned(),
            )
            .await?;

        // Webhooks: endpoints of a source, with a secret (and, while it is rotated, the one
        // before it), and the log of deliveries.
        manager
            .create_table(
                Table::create()
                    .table("webhook_endpoints")
                    .col(pk_uuid("id"))
                    .col(string_len_null("source", 50))
                    .col(string_len("url", 2000))
                    .col(text("topics"))
                    .col(string_len("secret", 100))
                    .col(string_len_null("previous_secret", 100))
                    .col(timestamp_with_time_zone_null("previous_secret_until"))
                    .col(boolean("active").default(true))
                    .col(text_null("disabled_reason"))
                    .col(timestamp_with_time_zone_null("failing_since"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("webhook_endpoints", &["source", "active"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .col(pk_uuid("id"))
                    .col(uuid("endpoint_id"))
                    .col(uuid("change_id"))
                    .col(integer("attempt"))
                    .col(integer_null("status_code"))
                    .col(integer("latency_ms"))
                    .col(text_null("error"))
                    .col(timestamp_with_time_zone("attempted_at"))
                    .foreign_key(&mut fk(
                        "webhook_deliveries",
                        "endpoint_id",
                        "webhook_endpoints",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "webhook_deliveries",
                &["endpoint_id", "attempted_at"],
            ))
            .await?;
        Ok(())
    }
}
