//! Bulk upserts: a batch of up to 1,000 items, each answered on its own.
//!
//! Every item is looked up first, all at once by the ids the source knows them by; an item that
//! would change nothing is answered `UNCHANGED` without a write (so a batch sent twice writes
//! nothing, and the feed, the outbox and the audit trail stay quiet). The items that change
//! something run through the same code as single requests (an enrolment through
//! `db::booking::book` and `cancel`, with every rule and lock of a booking), under the batch's
//! error policy:
//!
//! - `ALL_OR_NOTHING`: one transaction; each item in a savepoint so every item is judged, and
//!   if one is refused, nothing is kept;
//! - `PER_ITEM`: each item in a savepoint, committed in chunks of 50 (a commit waits for the
//!   disk; one per item made a batch take seconds), so a refused item refuses only itself and an
//!   item holds its session's lock only until its chunk commits. A chunk that keeps colliding
//!   with other writers runs again an item a transaction, each retried on its own.
//!
//! `dryRun` runs the batch as `ALL_OR_NOTHING` would and rolls it back: it answers what would
//! happen, given the items before each one, and writes nothing.

use std::{future::Future, pin::Pin, sync::Arc};

use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::Actor,
    db::transaction::{self, TxError},
    domain::booking::{Refusal, UserErrorCode},
    live::{Live, LiveChange},
};

/// Most items in one batch.
pub const MAX_ITEMS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorPolicy {
    /// One refused item refuses the batch: nothing is kept.
    AllOrNothing,
    /// A refused item refuses only itself.
    PerItem,
}

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SyncAction {
    Created,
    Updated,
    Unchanged,
    Cancelled,
    Rejected,
}

/// The answer for one item, as stored for replays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOutcome {
    pub action: SyncAction,
    pub participant_id: Option<Uuid>,
    pub enrolment_id: Option<Uuid>,
    pub refusal: Option<Refusal>,
}

impl ItemOutcome {
    pub fn unchanged() -> Self {
        Self {
            action: SyncAction::Unchanged,
            participant_id: None,
            enrolment_id: None,
            refusal: None,
        }
    }

    pub fn rejected(refusal: Refusal) -> Self {
        Self {
            action: SyncAction::Rejected,
            participant_id: None,
            enrolment_id: None,
            refusal: Some(refusal),
        }
    }
}

/// Work that changes one item in a transaction; it may run more than once.
pub type ItemWork = Box<
    dyn for<'a> FnMut(
            &'a DatabaseTransaction,
            Actor,
            Live,
        ) -> Pin<
            Box<dyn Future<Output = Result<(ItemOutcome, Vec<LiveChange>), TxError>> + Send + 'a>,
        > + Send,
>;

/// An item: already answered (unchanged, refused by a check), or work to do.
pub enum Item {
    Answered(ItemOutcome),
    Work(ItemWork),
}

/// Items of a `PER_ITEM` batch committed together: each is in a savepoint of its own, so a
/// refused item still refuses only itself, and an item holds what it locked (a session, for a
/// booking) only until its chunk commits, some milliseconds; one commit for many items saves
/// the most of a batch's time (each commit waits for the disk).
const CHUNK: usize = 50;

/// Runs a batch's items under its policy and returns each item's outcome; what subscribers must
/// hear is delivered once it has committed.
pub async fn run(
    db: &DatabaseConnection,
    live: &Live,
    actor: &Actor,
    policy: ErrorPolicy,
    dry_run: bool,
    items: Vec<Item>,
) -> Result<Vec<ItemOutcome>, TxError> {
    if policy == ErrorPolicy::PerItem && !dry_run {
        return run_per_item(db, live, actor, items).await;
    }
    let items = Arc::new(tokio::sync::Mutex::new(items));
    let keep: Keep = Arc::new(move |outcomes: &[ItemOutcome]| {
        let refused = outcomes.iter().any(|o| o.action == SyncAction::Rejected);
        if dry_run || refused {
            // Nothing is kept: the answers say what would have happened.
            return Err(TxError::Refused(Refusal::new(
                UserErrorCode::BatchRejected,
                serde_json::to_string(&(outcomes, refused)).unwrap_or_default(),
            )));
        }
        Ok(())
    });
    match in_one_transaction(db, live, actor, &items, keep).await {
        Ok(outcomes) => Ok(outcomes),
        // The rollback carried the answers out.
        Err(TxError::Refused(refusal)) if refusal.code == UserErrorCode::BatchRejected => {
            let (outcomes, refused): (Vec<ItemOutcome>, bool) =
                serde_json::from_str(&refusal.message).map_err(|e| {
                    TxError::Db(sea_orm::DbErr::Custom(format!("a batch's answers: {e}")))
                })?;
            Ok(if refused && !dry_run {
                outcomes.into_iter().map(batch_rejected).collect()
            } else {
                outcomes
            })
        }
        Err(other) => Err(other),
    }
}

/// Whether the answers of a transaction's items may be kept (committed).
type Keep = Arc<dyn Fn(&[ItemOutcome]) -> Result<(), TxError> + Send + Sync>;

/// Runs items in one transaction, each in a savepoint so that a refused one is undone alone and
/// the next are still judged; `keep` sees every answer before the commit and may refuse it.
/// Work may run again when the transaction is retried after a passing conflict. What
/// subscribers must hear is delivered once it has committed.
async fn in_one_transaction(
    db: &DatabaseConnection,
    live: &Live,
    actor: &Actor,
    items: &Arc<tokio::sync::Mutex<Vec<Item>>>,
    keep: Keep,
) -> Result<Vec<ItemOutcome>, TxError> {
    let (outcomes, heard) = transaction::write(db, |txn| {
        let items = items.clone();
        let keep = keep.clone();
        let actor = actor.clone();
        let live = live.clone();
        Box::pin(async move {
            let mut items = items.lock().await;
            let mut outcomes = Vec::with_capacity(items.len());
            let mut heard = Vec::new();
            for item in items.iter_mut() {
                match item {
                    Item::Answered(outcome) => outcomes.push(outcome.clone()),
                    Item::Work(work) => {
                        let savepoint = txn.begin().await?;
                        match work(&savepoint, actor.clone(), live.clone()).await {
                            Ok((outcome, changes)) => {
                                savepoint.commit().await?;
                                heard.extend(changes);
                                outcomes.push(outcome);
                            }
                            Err(TxError::Refused(refusal)) => {
                                savepoint.rollback().await?;
                                outcomes.push(ItemOutcome::rejected(refusal));
                            }
                            Err(other) => return Err(other),
                        }
                    }
                }
            }
            keep(&outcomes)?;
            // Each item's changes were announced in its own savepoint (PostgreSQL delivers
            // them on commit, those of an undone savepoint never).
            Ok((outcomes, heard))
        })
    })
    .await?;
    live.committed(&heard);
    Ok(outcomes)
}

/// In a refused all-or-nothing batch, the items that were fine are refused with the batch.
fn batch_rejected(outcome: ItemOutcome) -> ItemOutcome {
    if outcome.action == SyncAction::Rejected {
        return outcome;
    }
    ItemOutcome::rejected(Refusal::new(
        UserErrorCode::BatchRejected,
        "another item of the batch was refused, so nothing was changed",
    ))
}

/// `PER_ITEM`: chunks of items, each committed on its own; a chunk that keeps colliding with
/// other writers runs again an item at a time, so that one busy item cannot fail the others.
async fn run_per_item(
    db: &DatabaseConnection,
    live: &Live,
    actor: &Actor,
    items: Vec<Item>,
) -> Result<Vec<ItemOutcome>, TxError> {
    let mut outcomes = Vec::with_capacity(items.len());
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let chunk = Arc::new(tokio::sync::Mutex::new(
            items.by_ref().take(CHUNK).collect::<Vec<_>>(),
        ));
        match in_one_transaction(
            db,
            live,
            actor,
            &chunk,
            Arc::new(|_: &[ItemOutcome]| Ok(())),
        )
        .await
        {
            Ok(answers) => outcomes.extend(answers),
            Err(TxError::Busy) => {
                let chunk = std::mem::take(&mut *chunk.lock().await);
                outcomes.extend(one_by_one(db, live, actor, chunk).await?);
            }
            Err(other) => return Err(other),
        }
    }
    Ok(outcomes)
}

/// Items a transaction each; one that keeps colliding is answered `TRY_AGAIN`.
async fn one_by_one(
    db: &DatabaseConnection,
    live: &Live,
    actor: &Actor,
    items: Vec<Item>,
) -> Result<Vec<ItemOutcome>, TxError> {
    let mut outcomes = Vec::with_capacity(items.len());
    for item in items {
        let mut work = match item {
            Item::Answered(outcome) => {
                outcomes.push(outcome);
                continue;
            }
            Item::Work(work) => work,
        };
        let result = transaction::write(db, |txn| work(txn, actor.clone(), live.clone())).await;
        match result {
            Ok((outcome, changes)) => {
                live.committed(&changes);
                outcomes.push(outcome);
            }
            Err(TxError::Refused(refusal)) => outcomes.push(ItemOutcome::rejected(refusal)),
            Err(TxError::Busy) => outcomes.push(ItemOutcome::rejected(Refusal::new(
                UserErrorCode::TryAgain,
                "this item kept colliding with other changes; send it again",
            ))),
            Err(other) => return Err(other),
        }
    }
    Ok(outcomes)
}

/// How many items of a batch ended how.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub cancelled: usize,
    pub rejected: usize,
}

impl Counts {
    pub fn add(&mut self, action: SyncAction) {
        let counter = match action {
            SyncAction::Created => &mut self.created,
            SyncAction::Updated => &mut self.updated,
            SyncAction::Unchanged => &mut self.unchanged,
            SyncAction::Cancelled => &mut self.cancelled,
            SyncAction::Rejected => &mut self.rejected,
        };
        *counter += 1;
    }

    pub fn of(outcomes: &[ItemOutcome]) -> Self {
        let mut counts = Self::default();
        for outcome in outcomes {
            counts.add(outcome.action);
        }
        counts
    }
}

/// One row on the audit trail for a batch, with its counts (each change it made has its own
/// row too, written with the change): who synced what, when, and how it went. A batch that
/// changed and refused nothing leaves no row: a job that resends its records every few minutes
/// must not bury the trail.
pub async fn record_batch(
    db: &DatabaseConnection,
    actor: &Actor,
    operation: &str,
    policy: ErrorPolicy,
    counts: Counts,
) -> Result<(), sea_orm::DbErr> {
    if counts.unchanged
        == counts.created + counts.updated + counts.cancelled + counts.rejected + counts.unchanged
    {
        return Ok(());
    }
    crate::audit::record_event(
        db,
        actor,
        operation,
        "SyncBatch",
        &[],
        Some(serde_json::json!({
            "errorPolicy": policy,
            "created": counts.created,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "cancelled": counts.cancelled,
            "rejected": counts.rejected,
        })),
        chrono::Utc::now(),
    )
    .await
}
