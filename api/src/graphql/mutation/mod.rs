//! The root mutation, merged from one object per area, and what every mutation shares: who may
//! change things, idempotency keys, retried transactions, answers with machine-readable
//! `userErrors`, and live updates once the change has committed.
//!
//! A rule that refuses a change answers in `userErrors` (with a code from `UserErrorCode`) and
//! changes nothing. Who the caller is (`UNAUTHENTICATED`, `FORBIDDEN`) and failures that pass
//! (`TRY_AGAIN`, `IDEMPOTENCY_KEY_IN_USE`, both with `extensions.retryable`) are GraphQL errors.

mod actors;
mod booking;
mod calendar;
mod feedback;
mod outbox;
mod places;
mod planning;
mod privacy;
mod programme;
mod session;
mod sync;
mod webhooks;

use async_graphql::{Context, InputObject, MergedObject, SimpleObject};
use chrono::Utc;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use serde::Serialize;
use uuid::Uuid;

use crate::{
    auth::{Actor, Viewer, policy},
    db::{
        booking::{Change, Outcome},
        change,
        idempotency::{self, Claim, KeyRequest},
        loaders,
        transaction::{self, TxError, TxFuture},
    },
    domain::booking::{Refusal, UserErrorCode},
    error::{ApiError, ApiResult, FieldResult},
    graphql::context::request_data,
    live::Live,
};

#[derive(MergedObject, Default)]
pub struct Mutation(
    booking::BookingMutation,
    session::SessionBookingMutation,
    planning::PlanningMutation,
    places::PlacesMutation,
    programme::ProgrammeMutation,
    actors::ActorMutation,
    feedback::FeedbackMutation,
    outbox::OutboxMutation,
    privacy::PrivacyMutation,
    calendar::CalendarMutation,
    sync::SyncMutation,
    webhooks::WebhookMutation,
);

/// Why a mutation changed nothing.
#[derive(SimpleObject, Debug, Clone)]
pub struct UserError {
    pub code: UserErrorCode,
    pub message: String,
    /// The input field at fault, such as `input.sessionId`.
    pub field: Option<String>,
}

/// What every mutation's input takes besides its own fields.
#[derive(InputObject, Debug, Default)]
pub struct MutationOptions {
    /// Repeating a request with the same key (a UUID, say) returns the first answer and changes
    /// nothing; keys are remembered for at least 24 hours, per caller.
    pub idempotency_key: Option<String>,
    /// Returned unchanged in the payload.
    pub client_mutation_id: Option<String>,
}

/// What every payload carries.
#[derive(SimpleObject, Debug, Clone)]
pub struct MutationResult {
    /// The `clientMutationId` of the input, unchanged.
    pub client_mutation_id: Option<String>,
    /// True when this answer is the stored answer to an earlier request with the same
    /// idempotency key: nothing was changed this time.
    pub replayed: bool,
    /// Empty when the change was made.
    pub user_errors: Vec<UserError>,
}

/// A mutation's outcome, with whether it was replayed.
pub struct Performed {
    pub outcome: Outcome,
    pub replayed: bool,
}

impl Performed {
    pub fn refused(refusal: Refusal) -> Self {
        Self {
            outcome: Outcome::refused(refusal),
            replayed: false,
        }
    }

    pub fn result(&self, client_mutation_id: Option<String>) -> MutationResult {
        MutationResult {
            client_mutation_id,
            replayed: self.replayed,
            user_errors: self
                .outcome
                .refusal
                .iter()
                .map(|refusal| UserError {
                    code: refusal.code,
                    message: refusal.message.clone(),
                    field: refusal.field.clone(),
                })
                .collect(),
        }
    }

    /// The outcome's ids, only when the change was made.
    pub fn made(&self) -> Option<&Outcome> {
        self.outcome.refusal.is_none().then_some(&self.outcome)
    }
}

/// The caller as the actor of a change; anonymous callers change nothing.
pub fn actor(ctx: &Context<'_>) -> FieldResult<Actor> {
    Ok(request_data(ctx)?
        .viewer
        .actor()
        .ok_or(ApiError::Unauthenticated)?)
}

/// Staff only: coordinators and administrators.
pub fn require_staff(viewer: &Viewer) -> FieldResult<()> {
    match viewer {
        Viewer::Anonymous => Err(ApiError::Unauthenticated.into()),
        _ if policy::can_manage_bookings(viewer) => Ok(()),
        _ => Err(ApiError::ForbiddenTo("only the service desk can do this").into()),
    }
}

/// Administrators only.
pub fn require_administrator(viewer: &Viewer) -> FieldResult<()> {
    match viewer.role() {
        None => Err(ApiError::Unauthenticated.into()),
        Some(crate::auth::Role::Administrator) if matches!(viewer, Viewer::Person { .. }) => Ok(()),
        Some(_) => Err(ApiError::ForbiddenTo("only administrators can do this").into()),
    }
}

/// Reads a global id from the input; a malformed one is a user error, like any other bad input.
pub fn parse_id<T>(parsed: ApiResult<T>, field: &str) -> Result<T, Refusal> {
    parsed.map_err(|_| {
        Refusal::new(
            UserErrorCode::InvalidId,
            format!("`{field}` is not a valid id"),
        )
        .at(field)
    })
}

/// Idempotency keys are what clients make them, within reason.
pub(crate) fn check_key(key: &str) -> Result<(), Refusal> {
    let fine = (1..=200).contains(&key.len()) && key.chars().all(|c| c.is_ascii_graphic());
    if fine {
        Ok(())
    } else {
        Err(Refusal::bad_input(
            "input.idempotencyKey",
            "an idempotency key is 1 to 200 visible ASCII characters, such as a UUID",
        ))
    }
}

/// `perform` for input that was checked first: a refusal of the check answers at once and
/// changes nothing; otherwise `work` gets (a copy of) the checked value on every run.
pub async fn perform_checked<I, T, F>(
    ctx: &Context<'_>,
    operation: &'static str,
    key: Option<&str>,
    input: &I,
    checked: Result<T, Refusal>,
    mut work: F,
) -> FieldResult<Performed>
where
    I: Serialize,
    T: Clone + Send + 'static,
    F: for<'a> FnMut(Change<'a>, Live, T) -> TxFuture<'a, Outcome> + Send + 'static,
{
    match checked {
        Err(refusal) => Ok(Performed::refused(refusal)),
        Ok(value) => {
            perform(ctx, operation, key, input, move |change, live| {
                work(change, live, value.clone())
            })
            .await
        }
    }
}

/// Runs one mutation's transaction, with its idempotency key if it has one.
///
/// `input` is what identifies the request for the key (without the key itself). `work` may run
/// more than once (a transient conflict is retried), so it must do nothing but its transaction.
pub async fn perform<I, F>(
    ctx: &Context<'_>,
    operation: &'static str,
    key: Option<&str>,
    input: &I,
    work: F,
) -> FieldResult<Performed>
where
    I: Serialize,
    F: for<'a> FnMut(Change<'a>, Live) -> TxFuture<'a, Outcome> + Send + 'static,
{
    let data = request_data(ctx)?;
    let (db, live) = (data.db.clone(), data.live.clone());
    perform_with(ctx, operation, key, input, move |actor, claimed| {
        Box::pin(async move { change::commit(&db, &live, actor, claimed, work).await })
    })
    .await
}

/// `perform`, where `run` makes the change, given its actor and claimed key: it commits the
/// key's answer with the change, and delivers live changes it hands back in the outcome.
pub async fn perform_with<I, R>(
    ctx: &Context<'_>,
    operation: &'static str,
    key: Option<&str>,
    input: &I,
    run: R,
) -> FieldResult<Performed>
where
    I: Serialize,
    R: FnOnce(Actor, Option<Uuid>) -> BoxFuture<'static, Result<Outcome, TxError>> + Send + 'static,
{
    let data = request_data(ctx)?;
    let actor = actor(ctx)?;
    let now = Utc::now();

    let claimed = match key {
        None => None,
        Some(key) => {
            if let Err(refusal) = check_key(key) {
                return Ok(Performed::refused(refusal));
            }
            let input = serde_json::to_value(input).map_err(anyhow::Error::from)?;
            let hash = idempotency::request_hash(operation, &input);
            let scope = idempotency::scope_of(&data.viewer, operation);
            let request = KeyRequest {
                scope: &scope,
                key,
                operation,
                request_hash: &hash,
            };
            let settings = data.idempotency;
            let claim =
                idempotency::claim(&data.db, &request, now, settings.lease, settings.kept_for)
                    .await
                    .map_err(db_failure)?;
            match claim {
                Claim::Fresh(id) => Some(id),
                Claim::Replay(answer) => {
                    let outcome = serde_json::from_str(&answer).map_err(anyhow::Error::from)?;
                    return Ok(Performed {
                        outcome,
                        replayed: true,
                    });
                }
                Claim::Reused => {
                    return Ok(Performed::refused(
                        Refusal::new(
                            UserErrorCode::IdempotencyKeyReused,
                            "this idempotency key was used for a different request",
                        )
                        .at("input.idempotencyKey"),
                    ));
                }
                Claim::InProgress => return Err(ApiError::IdempotencyKeyInUse.into()),
            }
        }
    };

    // The change runs to its end in a task of its own: a client that gives up (or a request
    // that times out) must not cut a commit off from its idempotency answer or its live update.
    let db = data.db.clone();
    let live = data.live.clone();
    let finished = tokio::spawn(async move {
        let result = run(actor, claimed).await;
        settle(&db, &live, claimed, result).await
    })
    .await;
    // What this request loaded before may have changed.
    loaders::forget_everything(&data.loaders);
    let outcome = finished
        .map_err(|error| ApiError::Internal(anyhow::anyhow!("a change panicked: {error}")))??;
    Ok(Performed {
        outcome,
        replayed: false,
    })
}

/// After the transaction: delivers live changes, stores a refusal for its key, or frees the key
/// after a failure that may pass.
async fn settle(
    db: &DatabaseConnection,
    live: &Live,
    claimed: Option<Uuid>,
    result: Result<Outcome, TxError>,
) -> Result<Outcome, ApiError> {
    match result {
        Ok(outcome) => {
            live.committed(&outcome.live);
            Ok(outcome)
        }
        Err(TxError::Refused(refusal)) => {
            let outcome = Outcome::refused(refusal);
            if let Some(id) = claimed {
                // A refusal changes nothing, so it is stored on its own; if that fails, the
                // key is freed and a retry is simply refused again.
                let stored = match serde_json::to_string(&outcome) {
                    Ok(answer) => idempotency::complete(db, id, &answer).await.map(|_| ()),
                    Err(error) => Err(sea_orm::DbErr::Custom(error.to_string())),
                };
                if let Err(error) = stored {
                    tracing::warn!(error = %error, "could not store a refusal for its idempotency key");
                    release(db, id).await;
                }
            }
            Ok(outcome)
        }
        Err(failure) => {
            if let Some(id) = claimed {
                release(db, id).await;
            }
            Err(match failure {
                TxError::Db(error) => db_failure(error),
                TxError::Busy | TxError::Refused(_) => ApiError::TryAgain,
            })
        }
    }
}

/// A database failure that may pass (a lock held too long) is the caller's to retry.
fn db_failure(error: sea_orm::DbErr) -> ApiError {
    if transaction::is_transient(&error) || transaction::is_timed_out(&error) {
        ApiError::TryAgain
    } else {
        ApiError::Database(error)
    }
}

/// Frees a claimed key after a failure that may pass. When the failure was the database going
/// away, the key is freed once it is back (tried every quarter second for a minute), so that a
/// retry need not wait out the lease; otherwise the lease frees it.
pub(crate) async fn release(db: &DatabaseConnection, id: Uuid) {
    const EVERY: std::time::Duration = std::time::Duration::from_millis(250);
    const TRIES: u32 = 240;
    let Err(error) = idempotency::release(db, id).await else {
        return;
    };
    if !transaction::is_unreachable(&error) {
        tracing::warn!(error = %error, "could not release an idempotency key; it frees itself when its lease ends");
        return;
    }
    let db = db.clone();
    tokio::spawn(async move {
        for _ in 0..TRIES {
            tokio::time::sleep(EVERY).await;
            if idempotency::release(&db, id).await.is_ok() {
                return;
            }
        }
        tracing::warn!("could not release an idempotency key; it frees itself when its lease ends");
    });
}
