//! `ApiError`: every error a client can see, each with a stable `extensions.code`.
//!
//! Internal errors (database, bugs) are logged once with their cause chain and reach the client
//! only as "internal error", so no SQL or stack trace ever leaves the service.

use async_graphql::ErrorExtensions;

/// The stable codes clients can act on; documented in the README.
pub mod code {
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const INVALID_ID: &str = "INVALID_ID";
    pub const INVALID_CURSOR: &str = "INVALID_CURSOR";
    pub const INVALID_PAGE_SIZE: &str = "INVALID_PAGE_SIZE";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const INTERNAL: &str = "INTERNAL_SERVER_ERROR";
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
    pub const QUERY_TOO_COSTLY: &str = "QUERY_TOO_COSTLY";
    pub const TOO_MANY_ALIASES: &str = "TOO_MANY_ALIASES";
    pub const TOO_MANY_ROOT_FIELDS: &str = "TOO_MANY_ROOT_FIELDS";
    pub const TOO_MANY_DIRECTIVES: &str = "TOO_MANY_DIRECTIVES";
    pub const TIMEOUT: &str = "TIMEOUT";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    pub const NOT_ACCEPTABLE: &str = "NOT_ACCEPTABLE";
    pub const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";
    pub const TRY_AGAIN: &str = "TRY_AGAIN";
    /// The database (or something else the service needs) cannot be reached: retry later.
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    pub const IDEMPOTENCY_KEY_IN_USE: &str = "IDEMPOTENCY_KEY_IN_USE";
    pub const SUBSCRIPTIONS_ONLY: &str = "SUBSCRIPTIONS_ONLY";
    pub const DOCUMENT_TOO_NESTED: &str = "DOCUMENT_TOO_NESTED";
    pub const TOO_MANY_CONNECTIONS: &str = "TOO_MANY_CONNECTIONS";
    pub const TOO_MANY_SUBSCRIPTIONS: &str = "TOO_MANY_SUBSCRIPTIONS";
    pub const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
    pub const MUST_RESYNC: &str = "MUST_RESYNC";
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    pub const PERSISTED_QUERY_NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";
    pub const PERSISTED_QUERY_INVALID_HASH: &str = "PERSISTED_QUERY_INVALID_HASH";
    pub const PERSISTED_QUERY_HASH_MISMATCH: &str = "PERSISTED_QUERY_HASH_MISMATCH";
    pub const PERSISTED_QUERY_NOT_REGISTERED: &str = "PERSISTED_QUERY_NOT_REGISTERED";
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadUserInput {
        field: &'static str,
        message: String,
    },
    #[error("`{field}` is not a valid id")]
    InvalidId { field: &'static str },
    /// A question the service understands but will not answer as asked, with a code of its own
    /// (a report with too many dimensions, say).
    #[error("{message}")]
    Refused {
        code: &'static str,
        field: &'static str,
        message: String,
    },
    #[error("`{field}` is not a valid cursor")]
    InvalidCursor { field: &'static str },
    #[error("`{field}` must be between 0 and {max}")]
    InvalidPageSize { field: &'static str, max: u64 },
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("sign in to see this")]
    Unauthenticated,
    #[error("your role may not see this")]
    Forbidden,
    #[error("{0}")]
    ForbiddenTo(&'static str),
    /// The change kept colliding with others; nothing was changed.
    #[error("the service is busy; try again")]
    TryAgain,
    /// The first request with this idempotency key is still running.
    #[error("a request with this idempotency key is still running; try again shortly")]
    IdempotencyKeyInUse,
    /// A feed cursor of another epoch, or older than the feed's retention.
    #[error("the feed cannot continue from this cursor; start again from `enrolmentSnapshot`")]
    MustResync,
    #[error("internal error")]
    Database(#[from] sea_orm::DbErr),
    #[error("internal error")]
    Load(#[from] std::sync::Arc<sea_orm::DbErr>),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadUserInput { .. } => code::BAD_USER_INPUT,
            Self::InvalidId { .. } => code::INVALID_ID,
            Self::Refused { code, .. } => code,
            Self::InvalidCursor { .. } => code::INVALID_CURSOR,
            Self::InvalidPageSize { .. } => code::INVALID_PAGE_SIZE,
            Self::NotFound { .. } => code::NOT_FOUND,
            Self::Unauthenticated => code::UNAUTHENTICATED,
            Self::Forbidden | Self::ForbiddenTo(_) => code::FORBIDDEN,
            Self::TryAgain => code::TRY_AGAIN,
            Self::IdempotencyKeyInUse => code::IDEMPOTENCY_KEY_IN_USE,
            Self::MustResync => code::MUST_RESYNC,
            _ if self.is_outage() => code::SERVICE_UNAVAILABLE,
            _ if self.is_passing() => code::TRY_AGAIN,
            Self::Database(_) | Self::Load(_) | Self::Internal(_) => code::INTERNAL,
        }
    }

    fn database_error(&self) -> Option<&sea_orm::DbErr> {
        match self {
            Self::Database(error) => Some(error),
            Self::Load(error) => Some(error),
            _ => None,
        }
    }

    /// A database that cannot be reached, rather than a fault.
    fn is_outage(&self) -> bool {
        self.database_error()
            .is_some_and(crate::db::transaction::is_unreachable)
    }

    /// A statement or lock that ran out of time, a deadlock, a busy SQLite: the same request may
    /// well succeed when sent again.
    fn is_passing(&self) -> bool {
        self.database_error().is_some_and(|error| {
            crate::db::transaction::is_transient(error)
                || crate::db::transaction::is_timed_out(error)
        })
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::BadUserInput { field, .. }
            | Self::InvalidId { field }
            | Self::Refused { field, .. }
            | Self::InvalidCursor { field }
            | Self::InvalidPageSize { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        let outage = self.is_outage();
        let passing = self.is_passing();
        match self {
            Self::Database(_) | Self::Load(_) if outage => {
                tracing::warn!("a request met a database that cannot be reached");
            }
            Self::Database(_) | Self::Load(_) if passing => {
                tracing::warn!("a request ran out of time at the database, or collided");
            }
            Self::Database(error) => {
                tracing::error!(error = %error, "database error while resolving a request");
            }
            Self::Load(error) => {
                tracing::error!(error = %error, "database error while loading a batch");
            }
            Self::Internal(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    "internal error while resolving a request"
                );
            }
            _ => {}
        }
        let message = if outage {
            "the database cannot be reached right now; try again shortly".to_owned()
        } else {
            self.to_string()
        };
        async_graphql::Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", self.code());
            if let Some(field) = self.field() {
                extensions.set("field", field);
            }
            if outage || passing || matches!(self, Self::TryAgain | Self::IdempotencyKeyInUse) {
                extensions.set("retryable", true);
            }
        })
    }
}

/// Results of resolvers and of everything they call.
pub type ApiResult<T> = Result<T, ApiError>;

/// The error type of resolvers. async-graphql turns any `Display` error into a bare message,
/// which would lose the code and could leak a database error's text; this wrapper (which has no
/// `Display`) makes every `?` in a resolver go through `ApiError` and its extensions instead.
#[derive(Debug)]
pub struct FieldError(ApiError);

pub type FieldResult<T> = Result<T, FieldError>;

macro_rules! field_error_from {
    ($($source:ty),*) => {$(
        impl From<$source> for FieldError {
            fn from(error: $source) -> Self {
                Self(ApiError::from(error))
            }
        }
    )*};
}

field_error_from!(
    ApiError,
    sea_orm::DbErr,
    std::sync::Arc<sea_orm::DbErr>,
    anyhow::Error
);

impl From<FieldError> for async_graphql::Error {
    fn from(error: FieldError) -> Self {
        error.0.extend()
    }
}
