//! The `training` binary: hands over to the `api` crate.

use std::process::ExitCode;

/// Executing a query allocates and frees many small values; mimalloc does that with less time
/// and less contention between worker threads than the system allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
