//! The audit trail of reads of personal data by staff and machines. Resolvers note what they
//! read in the request's `AuditLog`; after the request the notes are written in one statement,
//! and if they cannot be written, the response is withheld: no unaudited personal read leaves.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use entity::audit_event;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use crate::auth::{Viewer, policy};

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
        let (actor, role) = match viewer {
            Viewer::Person { subject, role, .. } => (subject.clone(), *role),
            Viewer::Machine { api_key_id, role } => (format!("api-key:{api_key_id}"), *role),
            Viewer::Anonymous => return Ok(()),
        };
        let rows = entries.into_iter().map(|entry| audit_event::ActiveModel {
            id: Set(Uuid::new_v4()),
            occurred_at: Set(at),
            actor: Set(actor.clone()),
            actor_role: Set(format!("{role:?}")),
            action: Set(entry.action.to_owned()),
            record_type: Set(entry.record_type.to_owned()),
            record_ids: Set(
                serde_json::to_string(&entry.record_ids).unwrap_or_else(|_| "[]".into())
            ),
            outcome: Set(match entry.outcome {
                Outcome::Allowed => "ALLOWED",
                Outcome::Refused => "REFUSED",
            }
            .to_owned()),
        });
        audit_event::Entity::insert_many(rows).exec(db).await?;
        Ok(())
    }
}
