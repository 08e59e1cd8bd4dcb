//! `Application`: connects, migrates, loads demo data, binds and serves.

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_cors::Cors;
use actix_web::{App, HttpServer, dev::Server, http::header, middleware, web};
use anyhow::Context;
use chrono::Utc;
use sea_orm::DatabaseConnection;

use crate::{
    auth::jwt::JwtKeys,
    config::{Environment, Introspection, Settings},
    db,
    graphql::{IdempotencySettings, ReportingSettings, Services, build_schema},
    http::{
        AppState, WebSocketLimits,
        availability::Availability,
        client_address::TrustedProxies,
        connections::{ConnectionCounts, refuse_crowded},
        metrics_routes, observe_requests,
        persisted::PersistedDocuments,
        rate_limit::RateLimits,
        response_cache::ResponseCache,
        routes, unread_body,
    },
    live::Live,
    metrics::Metrics,
    privacy::retention::{self, Retention},
    shutdown::Shutdown,
};

pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    metrics_server: Option<Server>,
    shutdown: Shutdown,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let jwt = JwtKeys::from_settings(&settings.auth)?;
        let metrics = Arc::new(Metrics::default());
        let db = db::connect(
            &settings.database_url,
            settings.database_max_connections,
            settings.limits.database_timeouts(),
            metrics.db_statements.clone(),
        )
        .await?;
        db::migrate(&db).await?;
        let filled = db::people::fill_missing_skeletons(&db)
            .await
            .context("computing the skeletons of e-mail addresses")?;
        if filled > 0 {
            tracing::info!(
                participants = filled,
                "computed look-alike skeletons of e-mail addresses"
            );
        }
        crate::sync::feed::check_epoch(&db, Utc::now())
            .await
            .context("checking the change feed's epoch")?;
        if settings.demo_data {
            db::seed::load_demo_data(&db, Utc::now()).await?;
        }
        let shutdown = Shutdown::new(Duration::from_secs(settings.shutdown_grace_seconds));
        crate::messages::start(db.clone(), &settings, metrics.clone(), &shutdown)?;

        let origins = allowed_origins(&settings.limits.cors_allowed_origins)?;
        let introspection =
            settings
                .limits
                .introspection
                .unwrap_or(match settings.auth.environment {
                    Environment::Development => Introspection::Everyone,
                    Environment::Production => Introspection::Authenticated,
                });
        let trusted_proxies = TrustedProxies::parse(
            &settings.limits.trusted_proxies,
            settings.limits.forwarded_header,
        )?;
        let listener = TcpListener::bind(settings.listen_addr)
            .with_context(|| format!("binding {}", settings.listen_addr))?;
        let address = listener.local_addr().context("reading the bound address")?;
        // An answer a client stopped reading holds its connection no longer than this: the
        // kernel gives up on data left unacknowledged (accepted sockets inherit it).
        #[cfg(target_os = "linux")]
        socket2::SockRef::from(&listener)
            .set_tcp_user_timeout(Some(Duration::from_millis(
                settings.limits.response_stall_timeout_ms,
            )))
            .context("setting TCP_USER_TIMEOUT")?;
        let live = Live::start(&settings.database_url, db.get_database_backend()).await?;
        let kept_for = chrono::Duration::hours(i64::from(settings.idempotency_key_hours));
        spawn_idempotency_purge(db.clone(), kept_for);
        if settings.retention.every_minutes > 0 {
            retention::spawn(
                Retention::from_settings(&settings, db.clone(), live.clone()),
                Duration::from_secs(u64::from(settings.retention.every_minutes) * 60),
                &shutdown,
            );
        }
        spawn_feed_lag(db.clone(), metrics.clone());
        let request_timeout = Duration::from_millis(settings.limits.request_timeout_ms);
        let public_url = public_url(settings.messages.public_url.as_deref(), address)?;
        let reporting_db = match &settings.reporting_database_url {
            Some(url) => db::connect(
                url,
                settings.database_max_connections,
                settings.limits.database_timeouts(),
                metrics.db_statements.clone(),
            )
            .await
            .context("connecting to the reporting database")?,
            None => db.clone(),
        };
        let services = Services {
            reporting: ReportingSettings {
                db: reporting_db,
                threshold: settings.report_threshold,
                protections: Arc::default(),
            },
            erasure_log: Arc::from(settings.erasure_log_path()),
            bookings: db::booking_queue::BookingQueue::new(db.clone(), live.clone()),
            db,
            live,
            public_url,
            feed_retention: chrono::Duration::days(i64::from(settings.feed_retention_days)),
            webhook_allow: Arc::new(crate::sync::webhooks::addresses::AllowList::parse(
                &settings.webhooks.webhook_allowed_hosts,
            )?),
            idempotency: IdempotencySettings {
                kept_for,
                // A claimed key whose request has certainly ended (it timed out) is free again.
                lease: chrono::Duration::from_std(request_timeout * 2)
                    .unwrap_or(chrono::Duration::minutes(1))
                    .max(chrono::Duration::seconds(30)),
            },
        };
        let availability = Arc::new(Availability::default());
        // One connection of the prober's own, uncounted: pings are not the requests' statements.
        let probe = db::connect(
            &settings.database_url,
            1,
            db::Timeouts {
                acquire: Duration::from_secs(1),
                ..settings.limits.database_timeouts()
            },
            prometheus_client::metrics::counter::Counter::default(),
        )
        .await
        .context("connecting the database's prober")?;
        availability.spawn_prober(probe);
        let state = web::Data::new(AppState {
            schema: build_schema(settings.limits.clone()),
            services,
            metrics,
            jwt,
            max_body_bytes: settings.max_body_bytes,
            request_timeout,
            introspection,
            rate_limits: RateLimits::new(
                settings.limits.rate_limit_per_minute,
                settings.limits.rate_limit_anonymous_per_minute,
                settings.limits.failed_credentials_per_minute,
            ),
            trusted_proxies: trusted_proxies.clone(),
            body_timeout: Duration::from_millis(settings.limits.body_timeout_ms),
            persisted: PersistedDocuments::new(
                settings.persisted_queries,
                settings.persisted_query_manifest.as_deref(),
                settings.persisted_query_cache_entries,
                // Documents are bounded by the body limit; the store by a few hundred of those.
                settings.max_body_bytes.saturating_mul(16),
            )?,
            responses: ResponseCache::new(settings.response_cache_max_bytes),
            availability: availability.clone(),
            shutdown: shutdown.clone(),
            websocket: WebSocketLimits {
                init_timeout: Duration::from_millis(settings.limits.ws_init_timeout_ms),
                max_subscriptions: settings.limits.ws_max_subscriptions,
                max_connections_per_caller: settings.limits.ws_max_connections_per_caller,
                api_key_check: Duration::from_secs(settings.limits.ws_api_key_check_seconds),
                callers: Arc::default(),
                shared: Arc::default(),
            },
        });
        let metrics_server = match settings.metrics_listen_addr.0 {
            None => None,
            Some(address) => Some(metrics_server(address, state.clone())?),
        };
        let connections =
            ConnectionCounts::new(settings.limits.max_connections_per_address, trusted_proxies);
        let server = HttpServer::new(move || {
            // Only listed origins' pages may call the API from a browser; by default none.
            let cors = origins
                .iter()
                .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
                .allowed_methods(["GET", "POST"])
                .allowed_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT])
                .max_age(3600);
            App::new()
                .app_data(state.clone())
                .wrap(cors)
                .wrap(middleware::from_fn(observe_requests))
                // Answers are what their Content-Type says; browsers must not guess otherwise.
                .wrap(middleware::DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
                .wrap(middleware::Compress::default())
                // A crowded connection is answered before anything else runs.
                .wrap(middleware::from_fn(refuse_crowded))
                // Outermost: a chunked body left unread closes its connection (`unread_body`).
                .wrap(middleware::from_fn(unread_body::hold_unread_body))
                .configure(routes)
        })
        .on_connect(connections.on_connect())
        // The headers must arrive in time too (HTTP 408); the body has its own deadline.
        .client_request_timeout(Duration::from_millis(settings.limits.header_timeout_ms))
        // A connection closed with a body still unread lingers this long for the client to stop
        // sending, then goes (not at once: the client would get a reset instead of its answer).
        .client_disconnect_timeout(Duration::from_secs(2))
        // Signals are the service's own (see `run_until_signalled`); after the grace period,
        // connections still open are dropped.
        .disable_signals()
        .shutdown_timeout(settings.shutdown_grace_seconds)
        .listen(listener)
        .context("starting the HTTP server")?
        .run();
        tracing::info!(address = %address, "serving GraphQL at http://{address}/graphql and GraphiQL at http://{address}/");
        let (metrics_server, metrics_port) = match metrics_server {
            Some((server, port)) => (Some(server), Some(port)),
            None => (None, None),
        };
        Ok(Self {
            port: address.port(),
            metrics_port,
            server,
            metrics_server,
            shutdown,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics address, when metrics are served.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if let Some(metrics) = self.metrics_server {
            tokio::spawn(metrics);
        }
        self.server.await
    }

    /// Serves until SIGTERM or SIGINT, then stops as `shutdown` describes: requests in progress
    /// finish, WebSockets close with 1001, the dispatchers end or hand their claims back.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let shutdown = self.shutdown.clone();
        let handle = self.server.handle();
        tokio::spawn(shutdown.clone().on_signals(async move {
            handle.stop(true).await;
        }));
        self.run_until_stopped().await?;
        shutdown.workers_done().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Serves `/metrics` on an address of its own, so the API's address never shows them.
fn metrics_server(
    address: std::net::SocketAddr,
    state: web::Data<AppState>,
) -> anyhow::Result<(Server, u16)> {
    let listener = TcpListener::bind(address)
        .with_context(|| format!("binding METRICS_LISTEN_ADDR {address}"))?;
    let bound = listener
        .local_addr()
        .context("reading the metrics address")?;
    let server =
        HttpServer::new(move || App::new().app_data(state.clone()).configure(metrics_routes))
            .workers(1)
            .listen(listener)
            .context("starting the metrics server")?
            .run();
    tracing::info!(metrics.address = %bound, "serving metrics at http://{bound}/metrics");
    Ok((server, bound.port()))
}

/// Keeps the feed's lag on `/metrics` current: how many changes are written but not yet
/// visible, and how old the transaction is that holds them back.
fn spawn_feed_lag(db: DatabaseConnection, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(15));
        loop {
            every.tick().await;
            match crate::sync::feed::lag(&db).await {
                Ok(lag) => {
                    metrics.feed_lag_changes.set(lag.changes);
                    metrics
                        .feed_oldest_transaction_seconds
                        .set(lag.oldest_transaction_seconds);
                }
                Err(error) => tracing::debug!(error = %error, "could not read the feed's lag"),
            }
        }
    });
}

/// Forgets expired idempotency keys now and then; any process may do it, and doing it twice
/// is harmless.
fn spawn_idempotency_purge(db: DatabaseConnection, kept_for: chrono::Duration) {
    tokio::spawn(async move {
        // The first run is one period after the start, not at it: a start stays quiet.
        let period = Duration::from_secs(600);
        let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            every.tick().await;
            match db::idempotency::purge(&db, Utc::now() - kept_for).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "forgot expired idempotency keys"),
                Err(error) => tracing::warn!(error = %error, "could not purge idempotency keys"),
            }
        }
    });
}

/// Where clients reach the service: PUBLIC_URL, or the address it listens on.
fn public_url(
    configured: Option<&str>,
    listening: std::net::SocketAddr,
) -> anyhow::Result<Arc<str>> {
    let Some(url) = configured.map(str::trim).filter(|url| !url.is_empty()) else {
        return Ok(format!("http://{listening}").into());
    };
    let url = url.trim_end_matches('/');
    let uri: actix_web::http::Uri = url.parse().context("PUBLIC_URL")?;
    anyhow::ensure!(
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some(),
        "PUBLIC_URL: `{url}` is not an address like https://opleidingen.example.nl"
    );
    Ok(url.into())
}

/// Checks the CORS origins at start-up, so a typo stops the service instead of every request.
fn allowed_origins(origins: &[String]) -> anyhow::Result<Vec<String>> {
    origins
        .iter()
        .map(|origin| origin.trim().trim_end_matches('/').to_owned())
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let uri: header::HeaderValue = origin.parse().context("CORS_ALLOWED_ORIGINS")?;
            let uri: actix_web::http::Uri = uri
                .to_str()
                .context("CORS_ALLOWED_ORIGINS")?
                .parse()
                .context("CORS_ALLOWED_ORIGINS")?;
            let plain = uri.scheme().is_some()
                && uri.host().is_some()
                && uri.path() == "/"
                && uri.query().is_none();
            anyhow::ensure!(
                plain,
                "CORS_ALLOWED_ORIGINS: `{origin}` is not an origin like https://example.nl"
            );
            Ok(origin)
        })
        .collect()
}
