//! The audit trail of reads of personal data by staff and machines. Resolvers note what they
//! read in the request's `AuditLog`; after the request the notes are written in one statement,
//! and if they cannot be written, the response is withheld: no unaudited personal read leaves.
//! Changes are recorded by `record_change` inside the transaction that makes them.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use entity::audit_event;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use crate::auth::{Actor, Viewer, policy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    Refused,
}

#[derive(Debug)]
struct Entry {
    action: &'static str,
    record_type: &'static str,
    record_ids: Vec<Uuid>,
    outcome: Outcome,
}

/// What one request read that must be audited.
#[derive(Debug, Default)]
pub struct AuditLog {
    entries: Mutex<Vec<Entry>>,
}

impl AuditLog {
    /// Notes a read, if this viewer's reads are audited.
    pub fn note(
        &self,
        viewer: &Viewer,
        action: &'static str,
        record_type: &'static str,
        ids: Vec<Uuid>,
        outcome: Outcome,
    ) {
        if !policy::is_audited(viewer) {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            entries.push(Entry {
                action,
                record_type,
                record_ids: ids,
                outcome,
            });
        }
    }

    /// Writes the notes of a request in one statement.
    pub async fn write(
        &self,
        db: &impl ConnectionTrait,
        viewer: &Viewer,
        at: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let entries = match self.entries.lock() {
            Ok(mut entries) => std::mem::take(&mut *entries),
            Err(_) => return Err(DbErr::Custom("audit log poisoned".into())),
        };
        if entries.is_empty() {
            return Ok(());
        }
        let Some(actor) = viewer.actor() else {
            return Ok(());
        };
        let rows = entries.into_iter().map(|entry| {
            row(
                &actor,
                entry.action,
                entry.record_type,
                &entry.record_ids,
                entry.outcome,
                at,
            )
        });
        audit_event::Entity::insert_many(rows).exec(db).await?;
        Ok(())
    }
}

/// Records a change in the transaction that makes it, so the trail and the change stand or fall
/// together.
pub async fn record_change(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    action: &'static str,
    record_type: &'static str,
    ids: &[Uuid],
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    audit_event::Entity::insert(row(actor, action, record_type, ids, Outcome::Allowed, at))
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

fn row(
    actor: &Actor,
    action: &str,
    record_type: &str,
    ids: &[Uuid],
    outcome: Outcome,
    at: DateTime<Utc>,
) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        occurred_at: Set(at),
        actor: Set(actor.id.clone()),
        actor_role: Set(actor.role_name()),
        action: Set(action.to_owned()),
        record_type: Set(record_type.to_owned()),
        record_ids: Set(serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())),
        outcome: Set(match outcome {
            Outcome::Allowed => "ALLOWED",
            Outcome::Refused => "REFUSED",
        }
        .to_owned()),
    }
}
