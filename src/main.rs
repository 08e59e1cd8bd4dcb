//! The `training` binary: hands over to the `api` crate.

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    api::cli::run().await
}
