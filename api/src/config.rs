//! Typed settings, each read from an environment variable (or a flag) with a default that makes
//! `cargo run` just work: SQLite under `data/`, demo data, 127.0.0.1:8080.

use std::{net::SocketAddr, path::PathBuf};

use clap::{ArgAction, Args, ValueEnum};

use crate::http::{client_address::ForwardedHeader, persisted::PersistedQueries};

/// The defaults, in one place for the flags and for `Settings::for_database`.
mod defaults {
    pub const DATABASE_MAX_CONNECTIONS: u32 = 10;
    pub const MAX_BODY_BYTES: usize = 1024 * 1024;
    pub const MAX_QUERY_DEPTH: usize = 12;
    pub const MAX_QUERY_COST: usize = 5000;
    pub const MAX_ALIASES: usize = 30;
    pub const MAX_ROOT_FIELDS: usize = 10;
    pub const MAX_DIRECTIVES: usize = 20;
    pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
    pub const RATE_LIMIT_PER_MINUTE: u32 = 600;
    pub const RATE_LIMIT_ANONYMOUS_PER_MINUTE: u32 = 120;
    pub const DB_STATEMENT_TIMEOUT_SECONDS: u64 = 5;
    /// Six tries of this, with their pauses, end well within the request time-out.
    pub const DB_LOCK_TIMEOUT_MS: u64 = 1000;
    /// Within the request time-out, so a request that waits for a busy pool still answers.
    pub const DB_ACQUIRE_TIMEOUT_MS: u64 = 5000;
    pub const JWT_LEEWAY_SECONDS: u64 = 30;
    pub const JWT_ISSUER: &str = "training-platform";
    pub const JWT_AUDIENCE: &str = "training-api";
    pub const IDEMPOTENCY_KEY_HOURS: u32 = 24;
    /// Under the 30 s an orchestrator (Kubernetes' default) waits before it kills.
    pub const SHUTDOWN_GRACE_SECONDS: u64 = 25;
    pub const MAIL_FROM: &str = "Opleidingen <noreply@opleidingen.localhost>";
    pub const SMTP_TIMEOUT_SECONDS: u64 = 15;
    pub const OUTBOX_POLL_MS: u64 = 1000;
    pub const OUTBOX_MAX_ATTEMPTS: u32 = 10;
    pub const OUTBOX_RETRY_BASE_MS: u64 = 30_000;
    pub const REMINDER_DAYS_BEFORE: u32 = 2;
    pub const SCHEDULE_EVERY_SECONDS: u64 = 60;
    pub const METRICS_LISTEN_ADDR: &str = "127.0.0.1:9464";
    pub const RATE_LIMIT_FAILED_CREDENTIALS_PER_MINUTE: u32 = 30;
    /// Above the booking tests' 100 simultaneous requests from one address.
    pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 256;
    pub const REQUEST_HEADER_TIMEOUT_MS: u64 = 5_000;
    pub const REQUEST_BODY_TIMEOUT_MS: u64 = 10_000;
    pub const RESPONSE_STALL_TIMEOUT_MS: u64 = 60_000;
    pub const WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 20;
    pub const WS_MAX_CONNECTIONS_PER_CALLER: usize = 10;
    pub const WS_CONNECTION_INIT_TIMEOUT_MS: u64 = 10_000;
    pub const WS_API_KEY_CHECK_SECONDS: u64 = 60;
    pub const PERSISTED_QUERY_CACHE_ENTRIES: usize = 1000;
    pub const RESPONSE_CACHE_MAX_BYTES: usize = 64 * 1024 * 1024;
    pub const FEED_RETENTION_DAYS: u32 = 90;
    pub const REPORT_THRESHOLD: u64 = 5;
    /// With doubling pauses capped at six hours: about three days of retries.
    pub const WEBHOOK_MAX_ATTEMPTS: u32 = 20;
    pub const WEBHOOK_RETRY_BASE_MS: u64 = 30_000;
    pub const WEBHOOK_TIMEOUT_SECONDS: u64 = 10;
    pub const WEBHOOK_DISABLE_AFTER_HOURS: u32 = 72;
    pub const RETAIN_PARTICIPANT_MONTHS: u32 = 24;
    pub const RETAIN_FEEDBACK_DAYS: u32 = 365;
    pub const RETAIN_AUDIT_DAYS: u32 = 730;
    pub const RETAIN_MESSAGES_DAYS: u32 = 90;
    pub const RETENTION_EVERY_MINUTES: u32 = 60;
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database to use: `sqlite://PATH?mode=rwc` or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/training.db?mode=rwc"
    )]
    pub database_url: String,

    /// Most connections the pool opens.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = defaults::DATABASE_MAX_CONNECTIONS)]
    pub database_max_connections: u32,

    /// Address to serve on; port 0 picks a free port (the log says which).
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen_addr: SocketAddr,

    /// Load the brochure's course, a demo location and demo sessions (once; never duplicated).
    #[arg(long, env = "DEMO_DATA", default_value_t = true, action = ArgAction::Set)]
    pub demo_data: bool,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = defaults::MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// How long an idempotency key is remembered, in hours (24 to 720): a retry within this
    /// time gets the first answer.
    #[arg(long, env = "IDEMPOTENCY_KEY_HOURS", default_value_t = defaults::IDEMPOTENCY_KEY_HOURS, value_parser = clap::value_parser!(u32).range(24..=720))]
    pub idempotency_key_hours: u32,

    /// On SIGTERM, how long requests in progress, WebSockets and message deliveries get to end
    /// before the service stops at once (1 to 3600 seconds); a second SIGTERM stops it at once.
    #[arg(long, env = "SHUTDOWN_GRACE_SECONDS", default_value_t = defaults::SHUTDOWN_GRACE_SECONDS, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub shutdown_grace_seconds: u64,

    /// Address of the Prometheus metrics (`/metrics`), apart from the API so that only the
    /// machine itself (by default) or a monitoring network reaches it; `off` serves none.
    #[arg(long, env = "METRICS_LISTEN_ADDR", default_value = defaults::METRICS_LISTEN_ADDR, value_parser = metrics_address)]
    pub metrics_listen_addr: MetricsAddress,

    /// Persisted operations: `off`, `automatic` (clients send a document once, then its hash) or
    /// `registered` (callers without credentials run only the operations of the manifest).
    #[arg(long, env = "PERSISTED_QUERIES", value_enum, default_value_t = PersistedQueries::Automatic)]
    pub persisted_queries: PersistedQueries,

    /// An Apollo persisted query manifest (JSON): the operations that are known by their hash
    /// from the start, and in `registered` mode the only ones anonymous callers may run.
    #[arg(long, env = "PERSISTED_QUERY_MANIFEST")]
    pub persisted_query_manifest: Option<PathBuf>,

    /// Documents remembered by hash in `automatic` mode; the least recently used is forgotten.
    #[arg(long, env = "PERSISTED_QUERY_CACHE_ENTRIES", default_value_t = defaults::PERSISTED_QUERY_CACHE_ENTRIES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub persisted_query_cache_entries: usize,

    /// Memory for answers to anonymous queries of the public programme, in bytes; the least
    /// recently used answer is forgotten first. An answer is reused only while nothing it could
    /// show has changed, in any process. 0 keeps none.
    #[arg(long, env = "RESPONSE_CACHE_MAX_BYTES", default_value_t = defaults::RESPONSE_CACHE_MAX_BYTES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=(1u64 << 34)))]
    pub response_cache_max_bytes: usize,

    /// Reports publish no count below this (k), and nothing a count below it could be worked out
    /// from. Fewer than three would let two people recognise each other.
    #[arg(long, env = "REPORT_THRESHOLD", default_value_t = defaults::REPORT_THRESHOLD, value_parser = clap::value_parser!(u64).range(3..=100))]
    pub report_threshold: u64,

    /// A read-only database that reports are counted from, such as a PostgreSQL replica; by
    /// default the main database. The audit trail is always written to the main one.
    #[arg(long, env = "REPORTING_DATABASE_URL", hide_env_values = true)]
    pub reporting_database_url: Option<String>,

    /// How many days a change-feed cursor stays good: a client that has not read the feed for
    /// longer starts again from a snapshot (`MUST_RESYNC`).
    #[arg(long, env = "FEED_RETENTION_DAYS", default_value_t = defaults::FEED_RETENTION_DAYS, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub feed_retention_days: u32,

    /// The erasure log: a line of ids for each erasure, so that `training privacy
    /// reapply-erasures` can apply them again after a restore. Keep it apart from the
    /// database's backups. By default `erasures.jsonl` under DATA_DIR.
    #[arg(long, env = "ERASURE_LOG")]
    pub erasure_log: Option<PathBuf>,

    /// Log lines for people (`pretty`) or for log collectors (`json`). Levels come from `RUST_LOG`.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub auth: AuthSettings,

    #[command(flatten)]
    pub limits: LimitSettings,

    #[command(flatten)]
    pub messages: MessageSettings,

    #[command(flatten)]
    pub webhooks: WebhookSettings,

    #[command(flatten)]
    pub retention: RetentionSettings,
}

/// How long personal data is kept. Every period is at least the feedback period (30 days after
/// a session): nothing a participant may still need, or still write, goes before it closes.
#[derive(Debug, Clone, Args)]
pub struct RetentionSettings {
    /// Months after their last session that a participant is anonymised (as an erasure, with
    /// the cause RETENTION); their enrolments stay as anonymous records for the statistics.
    #[arg(long, env = "RETAIN_PARTICIPANT_MONTHS", default_value_t = defaults::RETAIN_PARTICIPANT_MONTHS, value_parser = months)]
    pub participant_months: u32,

    /// Days after its session that a feedback comment is removed (the ratings stay), unless it
    /// is a published testimonial its writer consented to.
    #[arg(long, env = "RETAIN_FEEDBACK_DAYS", default_value_t = defaults::RETAIN_FEEDBACK_DAYS, value_parser = days)]
    pub feedback_days: u32,

    /// Days an audit event is kept.
    #[arg(long, env = "RETAIN_AUDIT_DAYS", default_value_t = defaults::RETAIN_AUDIT_DAYS, value_parser = days)]
    pub audit_days: u32,

    /// Days a message that was delivered (or cancelled, or given up) is kept in the outbox,
    /// and a message written as a file under MAIL_OUTBOX_DIR.
    #[arg(long, env = "RETAIN_MESSAGES_DAYS", default_value_t = defaults::RETAIN_MESSAGES_DAYS, value_parser = days)]
    pub messages_days: u32,

    /// How often the retention job runs, in minutes; one process runs each turn, however many
    /// there are. 0 leaves it to `training retention run`.
    #[arg(long, env = "RETENTION_EVERY_MINUTES", default_value_t = defaults::RETENTION_EVERY_MINUTES, value_parser = clap::value_parser!(u32).range(0..=10_080))]
    pub every_minutes: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            participant_months: defaults::RETAIN_PARTICIPANT_MONTHS,
            feedback_days: defaults::RETAIN_FEEDBACK_DAYS,
            audit_days: defaults::RETAIN_AUDIT_DAYS,
            messages_days: defaults::RETAIN_MESSAGES_DAYS,
            every_minutes: defaults::RETENTION_EVERY_MINUTES,
        }
    }
}

/// The longest any retention period may be: a hundred years.
const MOST_DAYS: u32 = 36_500;

/// A retention period in days: a whole number, no shorter than the feedback period.
fn days(text: &str) -> Result<u32, String> {
    let least = u32::try_from(crate::db::feedback::FEEDBACK_PERIOD_DAYS).unwrap_or(30);
    period(text, least, MOST_DAYS, "days")
}

/// A retention period in months: at least two, so never shorter than the feedback period.
fn months(text: &str) -> Result<u32, String> {
    period(text, 2, MOST_DAYS / 30, "months")
}

fn period(text: &str, least: u32, most: u32, unit: &str) -> Result<u32, String> {
    let number: i64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number of {unit}"))?;
    if number < i64::from(least) {
        return Err(format!(
            "{number} {unit} is too short: data must be kept at least {least} {unit}, until the \
             feedback period after a session ({} days) has closed",
            crate::db::feedback::FEEDBACK_PERIOD_DAYS
        ));
    }
    u32::try_from(number)
        .ok()
        .filter(|n| *n <= most)
        .ok_or_else(|| format!("{number} {unit} is longer than the most allowed ({most})"))
}

/// Webhooks to source systems: where they may go, and how long they are retried.
#[derive(Debug, Clone, Args)]
pub struct WebhookSettings {
    /// Hosts webhooks may go to, comma-separated: names (`hooks.example.nl`), wildcards
    /// (`*.example.nl`, or `*` for any public host), addresses or networks. Private, loopback
    /// and link-local addresses are refused unless listed by name or address.
    #[arg(
        long,
        env = "WEBHOOK_ALLOWED_HOSTS",
        value_delimiter = ',',
        default_value = "*"
    )]
    pub webhook_allowed_hosts: Vec<String>,

    /// Attempts before a delivery is given up (dead, for an administrator to look at).
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = defaults::WEBHOOK_MAX_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub webhook_max_attempts: u32,

    /// Pause before the first retry, in milliseconds; it doubles with each attempt, six hours
    /// at most.
    #[arg(long, env = "WEBHOOK_RETRY_BASE_MS", default_value_t = defaults::WEBHOOK_RETRY_BASE_MS, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub webhook_retry_base_ms: u64,

    /// Longest a receiver may take to answer, in seconds.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECONDS", default_value_t = defaults::WEBHOOK_TIMEOUT_SECONDS, value_parser = clap::value_parser!(u64).range(1..=120))]
    pub webhook_timeout_seconds: u64,

    /// An endpoint failing this many hours without a success is turned off.
    #[arg(long, env = "WEBHOOK_DISABLE_AFTER_HOURS", default_value_t = defaults::WEBHOOK_DISABLE_AFTER_HOURS, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub webhook_disable_after_hours: u32,

    /// Where administrators are told of trouble (an endpoint turned off); unset, only the log
    /// and the metrics tell.
    #[arg(long, env = "ADMIN_ALERT_EMAIL")]
    pub admin_alert_email: Option<String>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            webhook_allowed_hosts: vec!["*".into()],
            webhook_max_attempts: defaults::WEBHOOK_MAX_ATTEMPTS,
            webhook_retry_base_ms: defaults::WEBHOOK_RETRY_BASE_MS,
            webhook_timeout_seconds: defaults::WEBHOOK_TIMEOUT_SECONDS,
            webhook_disable_after_hours: defaults::WEBHOOK_DISABLE_AFTER_HOURS,
            admin_alert_email: None,
        }
    }
}

/// Where metrics are served, if anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsAddress(pub Option<SocketAddr>);

fn metrics_address(text: &str) -> Result<MetricsAddress, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(MetricsAddress(None));
    }
    text.trim()
        .parse()
        .map(|address| MetricsAddress(Some(address)))
        .map_err(|_| format!("`{text}` is not an address such as 127.0.0.1:9464, or `off`"))
}

/// E-mail: where it goes, who it is from, and how the outbox delivers it.
#[derive(Debug, Clone, Args)]
pub struct MessageSettings {
    /// Mail server to send through. Without one, each message is written as a `.eml` file under
    /// MAIL_OUTBOX_DIR instead (in development; production refuses to start without it).
    #[arg(long, env = "SMTP_HOST")]
    pub smtp_host: Option<String>,

    /// The mail server's port; by default 587 with STARTTLS, 465 with TLS, 25 without.
    #[arg(long, env = "SMTP_PORT")]
    pub smtp_port: Option<u16>,

    /// `starttls` (upgrade a plain connection, required), `tls` (TLS from the start) or `none`
    /// (plain text: only for a server on the same machine).
    #[arg(long, env = "SMTP_TLS", value_enum, default_value_t = SmtpTls::Starttls)]
    pub smtp_tls: SmtpTls,

    /// User name for the mail server, if it wants one.
    #[arg(long, env = "SMTP_USERNAME")]
    pub smtp_username: Option<String>,

    /// Password for the mail server.
    #[arg(long, env = "SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,

    /// Longest a conversation with the mail server may take, in seconds.
    #[arg(long, env = "SMTP_TIMEOUT_SECONDS", default_value_t = defaults::SMTP_TIMEOUT_SECONDS, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub smtp_timeout_seconds: u64,

    /// Sender of every message, such as `Opleidingen <noreply@example.nl>`; replies go to the
    /// course provider's service desk.
    #[arg(long, env = "MAIL_FROM", default_value = defaults::MAIL_FROM)]
    pub mail_from: String,

    /// Folder for messages written as files when no SMTP_HOST is set; DATA_DIR/outbox by default.
    #[arg(long, env = "MAIL_OUTBOX_DIR")]
    pub mail_outbox_dir: Option<PathBuf>,

    /// Whether this process delivers messages. Several processes may; each message goes out once.
    #[arg(long, env = "DISPATCH_MESSAGES", default_value_t = true, action = ArgAction::Set)]
    pub dispatch: bool,

    /// How often the dispatcher looks for messages to send, in milliseconds.
    #[arg(long, env = "OUTBOX_POLL_MS", default_value_t = defaults::OUTBOX_POLL_MS, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub poll_ms: u64,

    /// Attempts before a message is marked dead, for an administrator to look at.
    #[arg(long, env = "OUTBOX_MAX_ATTEMPTS", default_value_t = defaults::OUTBOX_MAX_ATTEMPTS, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: u32,

    /// Pause before the first retry, in milliseconds; it doubles with every attempt (up to six
    /// hours).
    #[arg(long, env = "OUTBOX_RETRY_BASE_MS", default_value_t = defaults::OUTBOX_RETRY_BASE_MS, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub retry_base_ms: u64,

    /// Days before a session that its reminder goes out.
    #[arg(long, env = "REMINDER_DAYS_BEFORE", default_value_t = defaults::REMINDER_DAYS_BEFORE, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub reminder_days_before: u32,

    /// How often reminders and feedback requests that have come due are scheduled, in seconds.
    #[arg(long, env = "SCHEDULE_EVERY_SECONDS", default_value_t = defaults::SCHEDULE_EVERY_SECONDS, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub schedule_every_seconds: u64,

    /// The address clients reach this service at, such as `https://opleidingen.example.nl`:
    /// calendar links start with it. By default the address the service listens on.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
}

impl Default for MessageSettings {
    fn default() -> Self {
        Self {
            smtp_host: None,
            smtp_port: None,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_timeout_seconds: defaults::SMTP_TIMEOUT_SECONDS,
            mail_from: defaults::MAIL_FROM.into(),
            mail_outbox_dir: None,
            dispatch: true,
            poll_ms: defaults::OUTBOX_POLL_MS,
            max_attempts: defaults::OUTBOX_MAX_ATTEMPTS,
            retry_base_ms: defaults::OUTBOX_RETRY_BASE_MS,
            reminder_days_before: defaults::REMINDER_DAYS_BEFORE,
            schedule_every_seconds: defaults::SCHEDULE_EVERY_SECONDS,
            public_url: None,
        }
    }
}

impl MessageSettings {
    /// Where messages are written as files: nowhere when a mail server takes them.
    pub fn file_folder(&self, data_dir: &std::path::Path) -> Option<PathBuf> {
        let smtp = self
            .smtp_host
            .as_deref()
            .is_some_and(|h| !h.trim().is_empty());
        (!smtp).then(|| {
            self.mail_outbox_dir
                .clone()
                .unwrap_or_else(|| data_dir.join("outbox"))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

/// Abuse limits; each refusal has its own error code.
#[derive(Debug, Clone, Args)]
pub struct LimitSettings {
    /// Deepest nesting of fields a query may have.
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = defaults::MAX_QUERY_DEPTH)]
    pub max_depth: usize,

    /// Highest cost a query may have: a field costs 1, a list its page size times its items.
    #[arg(long, env = "MAX_QUERY_COST", default_value_t = defaults::MAX_QUERY_COST)]
    pub max_cost: usize,

    /// Most aliases in one document.
    #[arg(long, env = "MAX_ALIASES", default_value_t = defaults::MAX_ALIASES)]
    pub max_aliases: usize,

    /// Most root fields in one operation.
    #[arg(long, env = "MAX_ROOT_FIELDS", default_value_t = defaults::MAX_ROOT_FIELDS)]
    pub max_root_fields: usize,

    /// Most directives in one document.
    #[arg(long, env = "MAX_DIRECTIVES", default_value_t = defaults::MAX_DIRECTIVES)]
    pub max_directives: usize,

    /// Longest a request may run, in milliseconds.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = defaults::REQUEST_TIMEOUT_MS)]
    pub request_timeout_ms: u64,

    /// Who may use introspection (`__schema`, `__type`): `everyone`, `authenticated` or `nobody`.
    /// By default everyone in development and authenticated callers in production.
    #[arg(long, env = "INTROSPECTION", value_enum)]
    pub introspection: Option<Introspection>,

    /// Web origins (such as `https://opleidingen.example.nl`) whose pages may call the API, comma-separated.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,

    /// Requests a minute for each API key or token subject; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = defaults::RATE_LIMIT_PER_MINUTE)]
    pub rate_limit_per_minute: u32,

    /// Requests a minute for each IP address without credentials; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_ANONYMOUS_PER_MINUTE", default_value_t = defaults::RATE_LIMIT_ANONYMOUS_PER_MINUTE)]
    pub rate_limit_anonymous_per_minute: u32,

    /// Refused credentials (API keys, tokens) a minute for each IP address; after that every
    /// credential from it answers 429 until it may try again. 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_FAILED_CREDENTIALS_PER_MINUTE", default_value_t = defaults::RATE_LIMIT_FAILED_CREDENTIALS_PER_MINUTE)]
    pub failed_credentials_per_minute: u32,

    /// Proxies (addresses or networks such as 10.0.0.0/8, comma-separated) whose `Forwarded`
    /// and `X-Forwarded-For` headers say who the client is; nobody else's are believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// The header trusted proxies write the client's address in: `x-forwarded-for` or
    /// `forwarded` (RFC 7239); the other one is ignored.
    #[arg(long, env = "FORWARDED_HEADER", value_enum, default_value_t = ForwardedHeader::XForwardedFor)]
    pub forwarded_header: ForwardedHeader,

    /// Open connections one client address may have (trusted proxies excepted); more answer 429.
    #[arg(long, env = "MAX_CONNECTIONS_PER_ADDRESS", default_value_t = defaults::MAX_CONNECTIONS_PER_ADDRESS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub max_connections_per_address: usize,

    /// Longest a client may take to send a request's headers, in milliseconds (HTTP 408).
    #[arg(long, env = "REQUEST_HEADER_TIMEOUT_MS", default_value_t = defaults::REQUEST_HEADER_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub header_timeout_ms: u64,

    /// Longest a client may take to send a request's body, in milliseconds (HTTP 408).
    #[arg(long, env = "REQUEST_BODY_TIMEOUT_MS", default_value_t = defaults::REQUEST_BODY_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub body_timeout_ms: u64,

    /// Longest an answer may wait for a client that stopped reading it, in milliseconds: the
    /// connection is then dropped (TCP_USER_TIMEOUT, on Linux).
    #[arg(long, env = "RESPONSE_STALL_TIMEOUT_MS", default_value_t = defaults::RESPONSE_STALL_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1_000..=600_000))]
    pub response_stall_timeout_ms: u64,

    /// Subscriptions one WebSocket connection may run at once.
    #[arg(long, env = "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", default_value_t = defaults::WS_MAX_SUBSCRIPTIONS_PER_CONNECTION, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000))]
    pub ws_max_subscriptions: usize,

    /// WebSocket connections one caller (token subject, API key, or address without
    /// credentials) may hold open at once.
    #[arg(long, env = "WS_MAX_CONNECTIONS_PER_CALLER", default_value_t = defaults::WS_MAX_CONNECTIONS_PER_CALLER, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub ws_max_connections_per_caller: usize,

    /// Longest a WebSocket may stay open without `connection_init`, in milliseconds (then it is
    /// closed with 4408).
    #[arg(long, env = "WS_CONNECTION_INIT_TIMEOUT_MS", default_value_t = defaults::WS_CONNECTION_INIT_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub ws_init_timeout_ms: u64,

    /// How often a WebSocket opened with an API key checks that the key has not been revoked,
    /// in seconds; a revoked key's connection is closed with 4403.
    #[arg(long, env = "WS_API_KEY_CHECK_SECONDS", default_value_t = defaults::WS_API_KEY_CHECK_SECONDS, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ws_api_key_check_seconds: u64,

    /// Longest one SQL statement may run on PostgreSQL, in seconds.
    #[arg(long, env = "DB_STATEMENT_TIMEOUT_SECONDS", default_value_t = defaults::DB_STATEMENT_TIMEOUT_SECONDS)]
    pub statement_timeout_seconds: u64,

    /// Longest a write waits for a lock (PostgreSQL `lock_timeout`, SQLite's busy timeout), in
    /// milliseconds; a write that waits longer is retried, and after a few tries refused with
    /// TRY_AGAIN.
    #[arg(long, env = "DB_LOCK_TIMEOUT_MS", default_value_t = defaults::DB_LOCK_TIMEOUT_MS)]
    pub lock_timeout_ms: u64,

    /// Longest a request waits for a database connection when the pool is busy, in
    /// milliseconds. A database that cannot be reached at all is answered sooner: see
    /// SERVICE_UNAVAILABLE in the README.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = defaults::DB_ACQUIRE_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub acquire_timeout_ms: u64,
}

impl LimitSettings {
    pub fn database_timeouts(&self) -> crate::db::Timeouts {
        crate::db::Timeouts {
            statement: std::time::Duration::from_secs(self.statement_timeout_seconds),
            lock: std::time::Duration::from_millis(self.lock_timeout_ms),
            acquire: std::time::Duration::from_millis(self.acquire_timeout_ms),
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_depth: defaults::MAX_QUERY_DEPTH,
            max_cost: defaults::MAX_QUERY_COST,
            max_aliases: defaults::MAX_ALIASES,
            max_root_fields: defaults::MAX_ROOT_FIELDS,
            max_directives: defaults::MAX_DIRECTIVES,
            request_timeout_ms: defaults::REQUEST_TIMEOUT_MS,
            introspection: None,
            cors_allowed_origins: Vec::new(),
            rate_limit_per_minute: defaults::RATE_LIMIT_PER_MINUTE,
            rate_limit_anonymous_per_minute: defaults::RATE_LIMIT_ANONYMOUS_PER_MINUTE,
            failed_credentials_per_minute: defaults::RATE_LIMIT_FAILED_CREDENTIALS_PER_MINUTE,
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
            max_connections_per_address: defaults::MAX_CONNECTIONS_PER_ADDRESS,
            header_timeout_ms: defaults::REQUEST_HEADER_TIMEOUT_MS,
            body_timeout_ms: defaults::REQUEST_BODY_TIMEOUT_MS,
            response_stall_timeout_ms: defaults::RESPONSE_STALL_TIMEOUT_MS,
            ws_max_subscriptions: defaults::WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
            ws_max_connections_per_caller: defaults::WS_MAX_CONNECTIONS_PER_CALLER,
            ws_init_timeout_ms: defaults::WS_CONNECTION_INIT_TIMEOUT_MS,
            ws_api_key_check_seconds: defaults::WS_API_KEY_CHECK_SECONDS,
            statement_timeout_seconds: defaults::DB_STATEMENT_TIMEOUT_SECONDS,
            lock_timeout_ms: defaults::DB_LOCK_TIMEOUT_MS,
            acquire_timeout_ms: defaults::DB_ACQUIRE_TIMEOUT_MS,
        }
    }
}

/// How callers prove who they are.
#[derive(Debug, Clone, Args)]
pub struct AuthSettings {
    /// `development` generates what is missing (a token secret under DATA_DIR); `production`
    /// refuses to start without real keys.
    #[arg(long, env = "ENVIRONMENT", value_enum, default_value_t = Environment::Development)]
    pub environment: Environment,

    /// Where the service keeps files of its own, such as the development token secret.
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// HS256 secret that bearer tokens are signed with (at least 32 bytes).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// A PEM file with an RS256 or ES256 public key, or a JWKS file with several.
    #[arg(long, env = "JWT_PUBLIC_KEYS")]
    pub jwt_public_keys: Option<PathBuf>,

    /// The `iss` every token must carry.
    #[arg(long, env = "JWT_ISSUER", default_value = defaults::JWT_ISSUER)]
    pub jwt_issuer: String,

    /// The `aud` every token must carry.
    #[arg(long, env = "JWT_AUDIENCE", default_value = defaults::JWT_AUDIENCE)]
    pub jwt_audience: String,

    /// Clock skew allowed when checking `exp` and `nbf`, in seconds.
    #[arg(long, env = "JWT_LEEWAY_SECONDS", default_value_t = defaults::JWT_LEEWAY_SECONDS)]
    pub jwt_leeway_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Introspection {
    Everyone,
    Authenticated,
    Nobody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Settings {
    /// The settings for a test or a tool: the defaults on the given database, on a free port,
    /// with a token secret of its own.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            database_max_connections: defaults::DATABASE_MAX_CONNECTIONS,
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            demo_data: true,
            max_body_bytes: defaults::MAX_BODY_BYTES,
            idempotency_key_hours: defaults::IDEMPOTENCY_KEY_HOURS,
            shutdown_grace_seconds: defaults::SHUTDOWN_GRACE_SECONDS,
            metrics_listen_addr: MetricsAddress(Some(SocketAddr::from(([127, 0, 0, 1], 0)))),
            persisted_queries: PersistedQueries::Automatic,
            persisted_query_manifest: None,
            persisted_query_cache_entries: defaults::PERSISTED_QUERY_CACHE_ENTRIES,
            response_cache_max_bytes: defaults::RESPONSE_CACHE_MAX_BYTES,
            feed_retention_days: defaults::FEED_RETENTION_DAYS,
            report_threshold: defaults::REPORT_THRESHOLD,
            reporting_database_url: None,
            erasure_log: None,
            log_format: LogFormat::Pretty,
            auth: AuthSettings {
                environment: Environment::Development,
                data_dir: PathBuf::from("data"),
                jwt_secret: Some(format!("test-secret-{}", uuid::Uuid::new_v4().simple())),
                jwt_public_keys: None,
                jwt_issuer: defaults::JWT_ISSUER.into(),
                jwt_audience: defaults::JWT_AUDIENCE.into(),
                jwt_leeway_seconds: defaults::JWT_LEEWAY_SECONDS,
            },
            limits: LimitSettings::default(),
            // A test or a tool that wants messages sent turns them on.
            messages: MessageSettings {
                dispatch: false,
                ..MessageSettings::default()
            },
            webhooks: WebhookSettings::default(),
            retention: RetentionSettings::default(),
        }
    }
}

impl Settings {
    /// Where the erasure log is.
    pub fn erasure_log_path(&self) -> PathBuf {
        self.erasure_log
            .clone()
            .unwrap_or_else(|| self.auth.data_dir.join("erasures.jsonl"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_listen_on_loopback_unless_told_otherwise() {
        let Ok(MetricsAddress(Some(address))) = metrics_address(defaults::METRICS_LISTEN_ADDR)
        else {
            panic!("the default metrics address parses");
        };
        assert!(address.ip().is_loopback(), "{address}");
        assert!(matches!(metrics_address("off"), Ok(MetricsAddress(None))));
    }
}
