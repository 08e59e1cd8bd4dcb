//! The only place that builds queries: one module per aggregate, `loaders` for batching.

pub mod actors;
pub mod api_key;
pub mod audit;
pub mod booking;
pub mod booking_queue;
pub mod booking_together;
pub mod calendar;
pub mod change;
pub mod course;
pub mod erasure;
pub mod feedback;
pub mod idempotency;
pub mod job_runs;
pub mod loaders;
pub mod location;
pub mod module;
pub mod organisation;
pub mod outbox;
pub mod people;
pub mod planning;
pub mod programme;
pub mod public_version;
pub mod seed;
pub mod session;
pub mod transaction;

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use prometheus_client::metrics::counter::Counter;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

/// How long the database may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Longest one statement may run (PostgreSQL).
    pub statement: Duration,
    /// Longest a statement waits for a lock: PostgreSQL's `lock_timeout`, SQLite's busy timeout.
    pub lock: Duration,
    /// Longest a request waits for a connection from a busy pool (or for a new one).
    pub acquire: Duration,
}

/// Opens the pool; creates the folder of a SQLite file when it does not exist yet. Every statement
/// run through the pool is counted in `statements`.
pub async fn connect(
    url: &str,
    max_connections: u32,
    timeouts: Timeouts,
    statements: Counter,
) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = sqlite_file(url)
        && let Some(folder) = std::path::Path::new(path).parent()
        && !folder.as_os_str().is_empty()
    {
        crate::private_files::create_dir_all(folder).with_context(|| {
            format!(
                "creating the folder of the SQLite database: {}",
                folder.display()
            )
        })?;
    }
    // The database holds personal data: its file is the service's alone (SQLite gives its
    // journal and WAL files the same permissions).
    if let Some(path) = sqlite_file(url) {
        let path = std::path::Path::new(path);
        crate::private_files::create_file_if_missing(path)
            .and_then(|()| crate::private_files::tighten(path))
            .with_context(|| format!("making the SQLite database {} private", path.display()))?;
        for suffix in ["-wal", "-shm"] {
            let mut companion = path.as_os_str().to_owned();
            companion.push(suffix);
            // They may not exist; when they do, they hold the same data.
            let _ = crate::private_files::tighten(std::path::Path::new(&companion));
        }
    }
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .acquire_timeout(timeouts.acquire)
        .connect_timeout(timeouts.acquire)
        // Statements are counted and timed by our own metrics, and never logged with values.
        .sqlx_logging(false)
        // A runaway statement is stopped by the database itself (PostgreSQL; SQLite has no such limit).
        .map_sqlx_postgres_opts(move |postgres| {
            postgres.options([
                (
                    "statement_timeout",
                    format!("{}ms", timeouts.statement.as_millis()),
                ),
                ("lock_timeout", format!("{}ms", timeouts.lock.as_millis())),
                // An answer that says done is on disk, whatever the server's default says.
                ("synchronous_commit", "on".to_owned()),
            ])
        })
        .map_sqlx_sqlite_opts(move |sqlite| {
            // WAL lets readers work while one connection writes; writers wait their turn.
            // FULL syncs the log at every commit: a booking answered as done survives a crash
            // of the machine, not only of the process (WAL's default, NORMAL, may lose the last).
            sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(timeouts.lock)
                .foreign_keys(true)
        });
    let mut db = Database::connect(options)
        .await
        .context("connecting to the database")?;
    db.set_metric_callback(move |_| {
        statements.inc();
    });
    Ok(db)
}

/// Applies every pending migration; each runs in a transaction.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("migrating the database")
}

fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Our statements are written with `$1`, `$2`, … as PostgreSQL takes them; SQLite takes `?1`.
pub fn statement(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Statement {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

#[cfg(test)]
mod tests {
    use super::sqlite_file;

    #[test]
    fn the_file_of_a_sqlite_url_is_found() {
        assert_eq!(
            sqlite_file("sqlite://data/training.db?mode=rwc"),
            Some("data/training.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://postgres@localhost/test"), None);
    }
}
