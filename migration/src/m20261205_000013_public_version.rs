//! A version of everything anonymous callers can read (the programme, sessions and their seats,
//! locations, testimonials): a response cache keeps an answer only while the version is the one
//! it read before computing it. The database raises the version in the same transaction as any
//! change to those tables, whoever makes it, so no process can miss one.
//!
//! On PostgreSQL the version is spread over 16 rows, chosen by transaction id, and raised once
//! per transaction at its commit (a deferred trigger): concurrent bookings of different
//! sessions seldom wait for each other, and the row is locked last, so it cannot deadlock with
//! the locks a booking takes. The version is the sum of the rows. SQLite has one writer at a
//! time and one row.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables whose rows an anonymous answer can show or count.
const PUBLIC_TABLES: &[&str] = &[
    "organisations",
    "locations",
    "municipalities",
    "courses",
    "course_goals",
    "course_audience_roles",
    "modules",
    "module_topics",
    "sessions",
    "session_actors",
    "actors",
    "enrolments",
    "feedback",
];

const SHARDS: i32 = 16;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("public_versions")
                    .col(integer("shard").primary_key())
                    .col(big_integer("version").default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let postgres = manager.get_database_backend() == DbBackend::Postgres;
        let shards = if postgres { SHARDS } else { 1 };
        let mut rows = Query::insert();
        rows.into_table("public_versions")
            .columns(["shard", "version"]);
        for shard in 0..shards {
            rows.values_panic([shard.into(), 0i64.into()]);
        }
        manager.exec_stmt(rows).await?;
        if postgres {
            db.execute_unprepared(&format!(
                "CREATE FUNCTION public_changed() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                   IF current_setting('training.public_changed', true) IS DISTINCT FROM 'yes' THEN \
                     PERFORM set_config('training.public_changed', 'yes', true); \
                     UPDATE public_versions SET version = version + 1 \
                       WHERE shard = pg_current_xact_id()::text::bigint % {SHARDS}; \
                   END IF; \
                   RETURN NULL; \
                 END $$"
            ))
            .await?;
            for table in PUBLIC_TABLES {
                db.execute_unprepared(&format!(
                    "CREATE CONSTRAINT TRIGGER public_changed \
                     AFTER INSERT OR UPDATE OR DELETE ON {table} \
                     DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public_changed()"
                ))
                .await?;
            }
        } else {
            for table in PUBLIC_TABLES {
                for event in ["insert", "update", "delete"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER public_changed_{table}_{event} AFTER {event} ON {table} \
                         BEGIN UPDATE public_versions SET version = version + 1; END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            for table in PUBLIC_TABLES {
                db.execute_unprepared(&format!("DROP TRIGGER public_changed ON {table}"))
                    .await?;
            }
            db.execute_unprepared("DROP FUNCTION public_changed()")
                .await?;
        } else {
            for table in PUBLIC_TABLES {
                for event in ["insert", "update", "delete"] {
                    db.execute_unprepared(&format!("DROP TRIGGER public_changed_{table}_{event}"))
                        .await?;
                }
            }
        }
        manager
            .drop_table(Table::drop().table("public_versions").to_owned())
            .await
    }
}
