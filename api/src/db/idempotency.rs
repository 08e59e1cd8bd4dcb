//! Idempotency keys: a mutation retried with the same key gets the first answer, and changes
//! nothing again.
//!
//! The key is claimed (inserted as IN_PROGRESS) before the work starts, in its own statement, so
//! that a concurrent repeat sees it and is told to retry. The answer is stored in the work's own
//! transaction, so "changed" and "answer stored" commit together; a refusal, which changes
//! nothing, is stored after its rollback. A claim whose process died is taken over once its
//! lease has run out: its work never committed, or the key would be COMPLETED.

use chrono::{DateTime, Duration, Utc};
use entity::{enums::IdempotencyState, idempotency_key};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, OnConflict},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::Viewer;

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// The key is ours: do the work, then `complete` it.
    Fresh(Uuid),
    /// The work was done before: its stored answer.
    Replay(String),
    /// The same key was used for another operation or input.
    Reused,
    /// The first request with this key is still running.
    InProgress,
}

/// Identifies a request: its operation and its input as canonical JSON (object keys sorted).
pub fn request_hash(operation: &str, input: &serde_json::Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update([0]);
    hasher.update(input.to_string().as_bytes());
    format!("{:x}", hasher.finalize())
}

/// Whose keys, for which operation: the caller's whole identity (a token's subject, role and
/// the record it speaks for, or an API key) and the mutation, hashed. Two callers never share
/// a key, even when an identity provider gives them one subject, and one key used for two
/// operations is two keys.
pub fn scope_of(viewer: &Viewer, operation: &str) -> String {
    let identity = match viewer {
        Viewer::Anonymous => "anonymous".to_owned(),
        Viewer::Person {
            subject,
            role,
            participant_id,
            actor_id,
        } => format!("person\0{subject}\0{role:?}\0{participant_id:?}\0{actor_id:?}"),
        Viewer::Machine { api_key_id, .. } => format!("api-key\0{api_key_id}"),
    };
    let mut hasher = Sha256::new();
    hasher.update(identity.as_bytes());
    hasher.update([0]);
    hasher.update(operation.as_bytes());
    format!("{:x}", hasher.finalize())
}

pub struct KeyRequest<'a> {
    /// Whose key: keys of different callers never meet.
    pub scope: &'a str,
    pub key: &'a str,
    pub operation: &'a str,
    pub request_hash: &'a str,
}

/// Claims `key` for this request, or says why it cannot be.
pub async fn claim(
    db: &impl ConnectionTrait,
    request: &KeyRequest<'_>,
    now: DateTime<Utc>,
    lease: Duration,
    kept_for: Duration,
) -> Result<Claim, DbErr> {
    // Three rounds cover a row that expires or is released between our statements.
    for _ in 0..3 {
        let id = Uuid::new_v4();
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            id: Set(id),
            scope: Set(request.scope.to_owned()),
            key: Set(request.key.to_owned()),
            operation: Set(request.operation.to_owned()),
            request_hash: Set(request.request_hash.to_owned()),
            state: Set(IdempotencyState::InProgress),
            response: Set(None),
            created_at: Set(now),
            locked_until: Set(now + lease),
        })
        .on_conflict(
            OnConflict::columns([idempotency_key::Column::Scope, idempotency_key::Column::Key])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        if inserted == 1 {
            return Ok(Claim::Fresh(id));
        }

        let Some(existing) = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::Scope.eq(request.scope))
            .filter(idempotency_key::Column::Key.eq(request.key))
            .one(db)
            .await?
        else {
            continue;
        };
        if existing.created_at <= now - kept_for {
            delete(db, existing.id).await?;
            continue;
        }
        if existing.operation != request.operation || existing.request_hash != request.request_hash
        {
            return Ok(Claim::Reused);
        }
        match existing.state {
            IdempotencyState::Completed => {
                return Ok(existing.response.map_or(Claim::InProgress, Claim::Replay));
            }
            IdempotencyState::InProgress if existing.locked_until > now => {
                return Ok(Claim::InProgress);
            }
            IdempotencyState::InProgress => {
                // Abandoned: take it over, unless another repeat just did. The row gets a new
                // id, so the request that abandoned it can neither complete nor release it.
                let id = Uuid::new_v4();
                let taken = idempotency_key::Entity::update_many()
                    .col_expr(idempotency_key::Column::Id, Expr::value(id))
                    .col_expr(
                        idempotency_key::Column::LockedUntil,
                        Expr::value(now + lease),
                    )
                    .filter(idempotency_key::Column::Id.eq(existing.id))
                    .filter(idempotency_key::Column::State.eq(IdempotencyState::InProgress))
                    .filter(idempotency_key::Column::LockedUntil.eq(existing.locked_until))
                    .exec(db)
                    .await?;
                return Ok(if taken.rows_affected == 1 {
                    Claim::Fresh(id)
                } else {
                    Claim::InProgress
                });
            }
        }
    }
    Ok(Claim::InProgress)
}

/// Stores the answer of a claimed key; false when the claim was lost to another request.
pub async fn complete(db: &impl ConnectionTrait, id: Uuid, response: &str) -> Result<bool, DbErr> {
    let stored = idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::State,
            Expr::value(IdempotencyState::Completed),
        )
        .col_expr(idempotency_key::Column::Response, Expr::value(response))
        .filter(idempotency_key::Column::Id.eq(id))
        .filter(idempotency_key::Column::State.eq(IdempotencyState::InProgress))
        .exec(db)
        .await?;
    Ok(stored.rows_affected == 1)
}

/// `complete` for many keys (key id, answer) in one statement; false unless every one of them
/// was still ours.
pub async fn complete_many(
    db: &impl ConnectionTrait,
    answers: &[(Uuid, String)],
) -> Result<bool, DbErr> {
    let Some(((first, first_answer), rest)) = answers.split_first() else {
        return Ok(true);
    };
    let mut response = Expr::case(
        idempotency_key::Column::Id.eq(*first),
        first_answer.as_str(),
    );
    for (id, answer) in rest {
        response = response.case(idempotency_key::Column::Id.eq(*id), answer.as_str());
    }
    let stored = idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::State,
            Expr::value(IdempotencyState::Completed),
        )
        .col_expr(idempotency_key::Column::Response, response.into())
        .filter(idempotency_key::Column::Id.is_in(answers.iter().map(|(id, _)| *id)))
        .filter(idempotency_key::Column::State.eq(IdempotencyState::InProgress))
        .exec(db)
        .await?;
    Ok(stored.rows_affected == answers.len() as u64)
}

/// Gives a claimed key up after a failure that may pass, so a retry can run the work.
pub async fn release(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Id.eq(id))
        .filter(idempotency_key::Column::State.eq(IdempotencyState::InProgress))
        .exec(db)
        .await?;
    Ok(())
}

async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    idempotency_key::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Forgets keys made before `before`; returns how many.
pub async fn purge(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let deleted = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(before))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::{request_hash, scope_of};
    use crate::auth::{Role, Viewer};

    #[test]
    fn callers_sharing_a_subject_and_operations_sharing_a_key_do_not_meet() {
        let participant = |id: u128| Viewer::Person {
            subject: "dev-user".into(),
            role: Role::Participant,
            participant_id: Some(uuid::Uuid::from_u128(id)),
            actor_id: None,
        };
        assert_ne!(
            scope_of(&participant(1), "bookSeat"),
            scope_of(&participant(2), "bookSeat")
        );
        assert_ne!(
            scope_of(&participant(1), "bookSeat"),
            scope_of(&participant(1), "cancelEnrolment")
        );
        assert_eq!(
            scope_of(&participant(1), "bookSeat"),
            scope_of(&participant(1), "bookSeat")
        );
    }

    #[test]
    fn the_hash_depends_on_operation_and_input_not_on_key_order() {
        let a: serde_json::Value = serde_json::from_str(r#"{"a":1,"b":[2,3]}"#).unwrap_or_default();
        let b: serde_json::Value = serde_json::from_str(r#"{"b":[2,3],"a":1}"#).unwrap_or_default();
        assert_eq!(request_hash("bookSeat", &a), request_hash("bookSeat", &b));
        assert_ne!(
            request_hash("bookSeat", &a),
            request_hash("cancelEnrolment", &a)
        );
        let c: serde_json::Value = serde_json::from_str(r#"{"a":2,"b":[2,3]}"#).unwrap_or_default();
        assert_ne!(request_hash("bookSeat", &a), request_hash("bookSeat", &c));
    }
}
