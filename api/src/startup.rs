//! `Application`: connects, migrates, loads demo data, binds and serves.

use std::{net::TcpListener, sync::Arc};

use actix_web::{App, HttpServer, dev::Server, middleware, web};
use anyhow::Context;
use chrono::Utc;

use crate::{
    auth::jwt::JwtKeys,
    config::Settings,
    db,
    graphql::build_schema,
    http::{AppState, observe_requests, routes},
    metrics::Metrics,
};

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let jwt = JwtKeys::from_settings(&settings.auth)?;
        let metrics = Arc::new(Metrics::default());
        let db = db::connect(
            &settings.database_url,
            settings.database_max_connections,
            metrics.db_statements.clone(),
        )
        .await?;
        db::migrate(&db).await?;
        if settings.demo_data {
            db::seed::load_demo_data(&db, Utc::now()).await?;
        }

        let listener = TcpListener::bind(settings.listen_addr)
            .with_context(|| format!("binding {}", settings.listen_addr))?;
        let address = listener.local_addr().context("reading the bound address")?;
        let state = web::Data::new(AppState {
            schema: build_schema(),
            db,
            metrics,
            jwt,
            max_body_bytes: settings.max_body_bytes,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(middleware::from_fn(observe_requests))
                // Answers are what their Content-Type says; browsers must not guess otherwise.
                .wrap(middleware::DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
                .wrap(middleware::Compress::default())
                .configure(routes)
        })
        .listen(listener)
        .context("starting the HTTP server")?
        .run();
        tracing::info!(address = %address, "serving GraphQL at http://{address}/graphql and GraphiQL at http://{address}/");
        Ok(Self {
            port: address.port(),
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
