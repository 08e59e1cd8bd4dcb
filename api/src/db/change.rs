//! What every write shares: one transaction, who makes the change and when, what subscribers
//! must hear, and the answer that is stored for idempotent replays.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    idempotency,
    transaction::{self, TxError, TxFuture},
};
use crate::{
    audit,
    auth::Actor,
    domain::booking::Refusal,
    live::{Live, LiveChange},
};
use entity::enums::EnrolmentStatus;

/// The answer of a mutation, as stored for idempotent replays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The record a planning mutation created or changed.
    #[serde(default)]
    pub record_id: Option<Uuid>,
    pub enrolment_id: Option<Uuid>,
    /// For a move: the enrolment that was left.
    pub previous_enrolment_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    /// For attendance: the enrolments marked.
    #[serde(default)]
    pub enrolment_ids: Vec<Uuid>,
    /// The enrolment's status right after the change.
    pub status: Option<EnrolmentStatus>,
    /// The place on the waiting list right after the change (1 is next).
    pub waiting_list_place: Option<i64>,
    pub refusal: Option<Refusal>,
    /// What subscribers must hear once the change has committed; not part of the answer.
    #[serde(skip)]
    pub live: Vec<LiveChange>,
}

impl Outcome {
    pub fn for_record(id: Uuid) -> Self {
        Self {
            record_id: Some(id),
            ..Self::default()
        }
    }

    pub fn refused(refusal: Refusal) -> Self {
        Self {
            refusal: Some(refusal),
            ..Self::default()
        }
    }
}

/// One transaction's changes, with who makes them and when.
pub struct Change<'a> {
    pub(super) txn: &'a DatabaseTransaction,
    pub(super) actor: Actor,
    /// When the change is made; read again once the locks it needs are held.
    pub(super) now: DateTime<Utc>,
    pub(super) live: Vec<LiveChange>,
}

impl<'a> Change<'a> {
    pub fn new(txn: &'a DatabaseTransaction, actor: Actor) -> Self {
        Self {
            txn,
            actor,
            now: Utc::now(),
            live: Vec::new(),
        }
    }

    /// Records the change on the audit trail, in its own transaction.
    pub(super) async fn audit_change(
        &self,
        action: &'static str,
        record_type: &'static str,
        ids: &[Uuid],
    ) -> Result<(), DbErr> {
        audit::record_change(self.txn, &self.actor, action, record_type, ids, self.now).await
    }

    /// Announces this transaction's changes (on PostgreSQL they leave on commit) and hands them
    /// to the caller, who delivers them in-process after the commit where the database does not.
    pub(super) async fn finish(
        self,
        live: &Live,
        mut outcome: Outcome,
    ) -> Result<Outcome, TxError> {
        live.announce(self.txn, &self.live).await?;
        outcome.live = self.live;
        Ok(outcome)
    }
}

/// Runs one change in its transaction (retried after a transient conflict), storing its answer
/// for its idempotency key, when it has one, in the same transaction. `work` may run more than
/// once, so it must do nothing but its transaction.
pub async fn commit<F>(
    db: &DatabaseConnection,
    live: &Live,
    actor: Actor,
    claimed: Option<Uuid>,
    mut work: F,
) -> Result<Outcome, TxError>
where
    F: for<'t> FnMut(Change<'t>, Live) -> TxFuture<'t, Outcome> + Send,
{
    transaction::write(db, |txn: &DatabaseTransaction| {
        let made = work(Change::new(txn, actor.clone()), live.clone());
        Box::pin(async move {
            let outcome = made.await?;
            if let Some(id) = claimed {
                let answer =
                    serde_json::to_string(&outcome).map_err(|e| DbErr::Custom(e.to_string()))?;
                // Another request took the key over (our lease ran out): it does the work.
                if !idempotency::complete(txn, id, &answer).await? {
                    return Err(TxError::Busy);
                }
            }
            Ok(outcome)
        })
    })
    .await
}

/// Runs an UPDATE of one row (by `id`, which `update` filters on) and reads the row back in the
/// same transaction: on PostgreSQL the UPDATE takes the row lock the rest of the transaction
/// relies on; SQLite holds its write lock from BEGIN. Not `UPDATE … RETURNING`: SQLite
/// sometimes answered that without a column an `ALTER TABLE` had added (seen in this project).
pub(super) async fn update_and_read<E>(
    txn: &DatabaseTransaction,
    update: sea_orm::UpdateMany<E>,
    id: Uuid,
) -> Result<Option<E::Model>, DbErr>
where
    E: sea_orm::EntityTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<Uuid>,
{
    if update.exec(txn).await?.rows_affected == 0 {
        return Ok(None);
    }
    E::find_by_id(id).one(txn).await
}
