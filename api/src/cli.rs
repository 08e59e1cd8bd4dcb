//! The command line of the one binary: `serve` (the default), `migrate`, `schema`, and the jobs
//! an operator runs beside the service: tokens, API keys, CSV sync and the feed's epoch.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use entity::enums::MachineRole;
use sea_orm::DatabaseConnection;

use crate::{
    auth::{Role, jwt::JwtKeys},
    config::Settings,
    db, graphql,
    live::Live,
    privacy::retention::Retention,
    startup::Application,
    sync::{csv, external_ids::Source, feed, upsert::ErrorPolicy},
    telemetry,
};

#[derive(Debug, Parser)]
#[command(version, about = "GraphQL backend of the training-management platform")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    settings: Settings,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL), as checked in at `schema.graphql`.
    Schema,
    /// Bearer tokens for development and tests.
    #[command(subcommand)]
    Token(TokenCommand),
    /// API keys for machines: a ministry's sync job, a dashboard.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Participants and enrolments of a source system from and to CSV files.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// The change feed.
    #[command(subcommand)]
    Feed(FeedCommand),
    /// Privacy operations.
    #[command(subcommand)]
    Privacy(PrivacyCommand),
    /// Forgetting what has been kept long enough (RETAIN_* settings).
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// The data set of `benches/programme.py`, into an empty database: the demo data and
    /// copies of the brochure's course with sessions and seats taken. Not for production.
    #[command(hide = true)]
    BenchmarkData {
        #[arg(long, default_value_t = 50)]
        courses: u32,
        #[arg(long, default_value_t = 20)]
        sessions_per_course: u32,
        #[arg(long, default_value_t = 6)]
        seats_taken: u32,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Remove now what is due at an instant (by default now), as the scheduled job does;
    /// prints what was removed, by count.
    Run {
        /// The instant to judge by, such as 2027-01-31T00:00:00Z.
        #[arg(long)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
        /// Count what would go, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the counts as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PrivacyCommand {
    /// After restoring the database from a backup: erase again everyone in the erasure log
    /// (ERASURE_LOG) whom the restored database holds. Those erased already stay as they are.
    ReapplyErasures {
        /// The log to read, if not the service's own.
        #[arg(long)]
        log: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum SyncCommand {
    /// Import a CSV file through the same rules as `syncParticipants` and `syncEnrolments`, in
    /// batches of 1,000 rows. Exits 0 when every row went through, 2 when some were refused
    /// (listed), 1 when the file cannot be read.
    Import {
        /// The source system the file speaks for, such as `bzk`.
        #[arg(long)]
        source: String,
        #[arg(long, value_enum)]
        kind: csv::Kind,
        /// What a refused row does: refuse only itself, or refuse its whole batch of 1,000.
        #[arg(long, value_enum, default_value = "per-item")]
        error_policy: ErrorPolicyArg,
        /// Say what would happen and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// The file; `-` for standard input.
        file: PathBuf,
    },
    /// Export what a source's scope holds now, in the import's columns.
    Export {
        #[arg(long)]
        source: String,
        #[arg(long, value_enum)]
        kind: csv::Kind,
        /// Where to write; standard output by default. Created readable by its owner only:
        /// the file holds personal data.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ErrorPolicyArg {
    PerItem,
    AllOrNothing,
}

impl From<ErrorPolicyArg> for ErrorPolicy {
    fn from(policy: ErrorPolicyArg) -> Self {
        match policy {
            ErrorPolicyArg::PerItem => Self::PerItem,
            ErrorPolicyArg::AllOrNothing => Self::AllOrNothing,
        }
    }
}

#[derive(Debug, Subcommand)]
enum FeedCommand {
    /// Start a new feed epoch after restoring the database from a backup: every client's
    /// cursor then answers MUST_RESYNC, and clients start again from a snapshot, instead of
    /// missing the changes the restore undid.
    NewEpoch,
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Create a key and print it once; only its hash is kept.
    Create {
        /// Who the key is for, such as "BZK enrolment sync".
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: MachineRoleArg,
        /// For sync clients: the source system the key speaks for (its external ids, its scope
        /// of the feed), such as `bzk`. Without one, a sync client reaches every source.
        #[arg(long)]
        source: Option<String>,
    },
    /// List keys: id, prefix, role, name, last use and revocation.
    List,
    /// Revoke a key at once.
    Revoke { id: uuid::Uuid },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MachineRoleArg {
    SyncClient,
    ReportingClient,
}

impl From<MachineRoleArg> for MachineRole {
    fn from(role: MachineRoleArg) -> Self {
        match role {
            MachineRoleArg::SyncClient => Self::SyncClient,
            MachineRoleArg::ReportingClient => Self::ReportingClient,
        }
    }
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print a token signed with JWT_SECRET (or the development secret).
    Issue {
        #[arg(long, value_enum)]
        role: Role,
        /// The Participant record a participant's token speaks for (a UUID).
        #[arg(long, conflicts_with = "actor")]
        participant: Option<uuid::Uuid>,
        /// The Actor record an actor's token speaks for (a UUID).
        #[arg(long)]
        actor: Option<uuid::Uuid>,
        /// The token's subject; by default one of its own (`dev-<uuid>`), as an identity
        /// provider gives every person theirs.
        #[arg(long)]
        subject: Option<String>,
        /// How long the token stays valid, in minutes (a year at most).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=525_600))]
        valid_for_minutes: u64,
    },
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Token(TokenCommand::Issue {
            role,
            participant,
            actor,
            subject,
            valid_for_minutes,
        }) => {
            let keys = JwtKeys::from_settings(&cli.settings.auth)?;
            let subject =
                subject.unwrap_or_else(|| format!("dev-{}", uuid::Uuid::new_v4().simple()));
            anyhow::ensure!(!subject.trim().is_empty(), "--subject cannot be empty");
            println!(
                "{}",
                keys.issue(
                    &subject,
                    role,
                    participant.or(actor),
                    valid_for_minutes.saturating_mul(60)
                )?
            );
            Ok(())
        }
        Command::ApiKey(command) => {
            let db = db::connect(
                &cli.settings.database_url,
                1,
                cli.settings.limits.database_timeouts(),
                Default::default(),
            )
            .await?;
            db::migrate(&db).await?;
            api_key_command(&db, command).await
        }
        Command::Sync(command) => {
            let db = connect(&cli.settings).await?;
            sync_command(&db, command).await
        }
        Command::Feed(FeedCommand::NewEpoch) => {
            let db = connect(&cli.settings).await?;
            let epoch = feed::new_epoch(&db, chrono::Utc::now()).await?;
            println!("{epoch}");
            eprintln!("started feed epoch {epoch}; clients resync from a snapshot");
            Ok(())
        }
        Command::Privacy(PrivacyCommand::ReapplyErasures { log }) => {
            let path = log.unwrap_or_else(|| cli.settings.erasure_log_path());
            let entries = crate::privacy::log::read(&path).map_err(|error| {
                anyhow::anyhow!("reading the erasure log {}: {error}", path.display())
            })?;
            let db = connect(&cli.settings).await?;
            let done = crate::privacy::log::reapply(&db, &entries).await?;
            println!(
                "{} erased again, {} erased already, {} not in this database",
                done.erased, done.already, done.unknown
            );
            Ok(())
        }
        Command::Retention(RetentionCommand::Run {
            as_of,
            dry_run,
            json,
        }) => {
            let db = connect(&cli.settings).await?;
            let live = Live::publisher(db.get_database_backend());
            let retention = Retention::from_settings(&cli.settings, db, live);
            let swept = retention
                .run(as_of.unwrap_or_else(chrono::Utc::now), dry_run)
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&swept)?);
            } else {
                println!(
                    "{}{} participants anonymised, {} comments, {} audit events, {} messages, {} message files removed",
                    if dry_run {
                        "dry run, nothing changed: "
                    } else {
                        ""
                    },
                    swept.participants,
                    swept.comments,
                    swept.audit_events,
                    swept.messages,
                    swept.mail_files
                );
            }
            Ok(())
        }
        Command::BenchmarkData {
            courses,
            sessions_per_course,
            seats_taken,
        } => {
            let db = connect(&cli.settings).await?;
            db::seed::load_benchmark_data(
                &db,
                chrono::Utc::now(),
                courses,
                sessions_per_course,
                seats_taken,
            )
            .await?;
            eprintln!("loaded {courses} courses with {sessions_per_course} sessions each");
            Ok(())
        }
        Command::Migrate => {
            telemetry::init(cli.settings.log_format);
            let db = db::connect(
                &cli.settings.database_url,
                1,
                cli.settings.limits.database_timeouts(),
                Default::default(),
            )
            .await?;
            db::migrate(&db).await?;
            tracing::info!("the database is up to date");
            Ok(())
        }
        Command::Serve => {
            telemetry::init(cli.settings.log_format);
            let application = Application::build(cli.settings).await?;
            application.run_until_signalled().await?;
            Ok(())
        }
    }
}

/// A connection for a job beside the service, with the schema up to date.
async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let db = db::connect(
        &settings.database_url,
        1,
        settings.limits.database_timeouts(),
        Default::default(),
    )
    .await?;
    db::migrate(&db).await?;
    Ok(db)
}

async fn sync_command(db: &DatabaseConnection, command: SyncCommand) -> anyhow::Result<()> {
    match command {
        SyncCommand::Import {
            source,
            kind,
            error_policy,
            dry_run,
            json,
            file,
        } => {
            let source = Source::parse(&source).map_err(anyhow::Error::msg)?;
            let input: Box<dyn std::io::Read> = if file.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                Box::new(std::fs::File::open(&file)?)
            };
            let live = Live::publisher(db.get_database_backend());
            let report = csv::import(
                db,
                &live,
                &source,
                kind,
                input,
                error_policy.into(),
                dry_run,
                !json,
            )
            .await?;
            let report = match report {
                Ok(report) => report,
                Err(error) => anyhow::bail!("{}: {error}", file.display()),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for row in &report.refused {
                    println!(
                        "line {} ({}): {} {}: {}",
                        row.line,
                        row.sourced_id,
                        row.code.as_deref().unwrap_or("REFUSED"),
                        row.field.as_deref().unwrap_or("-"),
                        row.message.as_deref().unwrap_or_default()
                    );
                }
                let c = report.counts;
                eprintln!(
                    "{}{} created, {} updated, {} unchanged, {} cancelled, {} refused",
                    if dry_run {
                        "dry run, nothing written: "
                    } else {
                        ""
                    },
                    c.created,
                    c.updated,
                    c.unchanged,
                    c.cancelled,
                    c.rejected
                );
            }
            if report.counts.rejected > 0 {
                std::process::exit(2);
            }
            Ok(())
        }
        SyncCommand::Export {
            source,
            kind,
            output,
        } => {
            let source = Source::parse(&source).map_err(anyhow::Error::msg)?;
            let rows = match output {
                Some(path) => {
                    let file = crate::private_files::create(&path)?;
                    csv::export(db, &source, kind, std::io::BufWriter::new(file)).await?
                }
                None => csv::export(db, &source, kind, std::io::stdout().lock()).await?,
            };
            eprintln!("exported {rows} rows");
            Ok(())
        }
    }
}

async fn api_key_command(db: &DatabaseConnection, command: ApiKeyCommand) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Create { name, role, source } => {
            let source = source
                .map(|name| Source::parse(&name).map_err(anyhow::Error::msg))
                .transpose()?;
            let (key, plain) =
                db::api_key::create_api_key_for(db, &name, role.into(), source.as_ref()).await?;
            println!("{plain}");
            eprintln!(
                "created API key {} ({:?}); this is the only time it is shown",
                key.id, key.role
            );
        }
        ApiKeyCommand::List => {
            for key in db::api_key::list_api_keys(db).await? {
                let used = key
                    .last_used_at
                    .map_or("never used".to_owned(), |t| format!("last used {t}"));
                let revoked = key
                    .revoked_at
                    .map_or(String::new(), |t| format!(", revoked {t}"));
                let source = key
                    .source
                    .map_or(String::new(), |source| format!("  source {source}"));
                println!(
                    "{}  {}…  {:?}{source}  {}  ({used}{revoked})",
                    key.id, key.prefix, key.role, key.name
                );
            }
        }
        ApiKeyCommand::Revoke { id } => {
            if db::api_key::revoke_api_key(db, id).await? {
                println!("revoked {id}");
            } else {
                anyhow::bail!("no live API key {id}");
            }
        }
    }
    Ok(())
}
