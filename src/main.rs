//! The `training` binary: hands over to the `api` crate.

use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    match api::cli::run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The cause chain, without a backtrace: start-up errors are for operators.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
