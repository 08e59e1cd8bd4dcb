//! The command line of the one binary: `serve` (the default), `migrate` and `schema`.

use clap::{Parser, Subcommand};

use crate::{config::Settings, db, graphql, startup::Application, telemetry};

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
}

pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Migrate => {
            telemetry::init(cli.settings.log_format);
            let db = db::connect(&cli.settings.database_url, 1, Default::default()).await?;
            db::migrate(&db).await?;
            tracing::info!("the database is up to date");
            Ok(())
        }
        Command::Serve => {
            telemetry::init(cli.settings.log_format);
            let application = Application::build(cli.settings).await?;
            application.run_until_stopped().await?;
            Ok(())
        }
    }
}
