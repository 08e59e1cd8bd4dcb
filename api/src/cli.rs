//! The command line of the one binary: `serve` (the default), `migrate` and `schema`.

use clap::{Parser, Subcommand};

use crate::{
    auth::{Role, jwt::JwtKeys},
    config::Settings,
    db, graphql,
    startup::Application,
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
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print a token signed with JWT_SECRET (or the development secret).
    Issue {
        #[arg(long, value_enum)]
        role: Role,
        /// The Participant record a participant's token speaks for (a UUID).
        #[arg(long)]
        participant: Option<uuid::Uuid>,
        /// The token's subject.
        #[arg(long, default_value = "dev-user")]
        subject: String,
        /// How long the token stays valid, in minutes.
        #[arg(long, default_value_t = 60)]
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
            subject,
            valid_for_minutes,
        }) => {
            let keys = JwtKeys::from_settings(&cli.settings.auth)?;
            println!(
                "{}",
                keys.issue(&subject, role, participant, valid_for_minutes * 60)?
            );
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
