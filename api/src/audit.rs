//! The audit trail of reads of personal data by staff and machines. Resolvers note what they
//! read in the request's `AuditLog`; after the request the notes are written, one row for each
//! kind of read (ids grouped), and if they cannot be written, the response is withheld: no
//! unaudited personal read leaves. A request writes a bounded number of rows, and ids that name
//! nothing are counted, not listed, so nobody can flood the trail with made-up ids.
//! Changes are recorded by `record_change` inside the transaction that makes them.

use std::{collections::HashSet, sync::Mutex};

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

/// Rows one statement inserts at most: well within SQLite's limit of bound variables.
const ROWS_PER_INSERT: usize = 100;

#[derive(Debug, Clone)]
pub struct Entry {
    action: &'static str,
    record_type: &'static str,
    record_ids: Vec<Uuid>,
    /// The ids in `record_ids`, to keep each once without searching the list (a staff read of
    /// thousands of enrolments notes them in many calls).
    listed: HashSet<Uuid>,
    /// Ids asked for that name no record: counted, never listed, so made-up ids cannot fill
    /// the trail.
    unknown: usize,
    outcome: Outcome,
}

/// What one request read that must be audited, grouped per action, record type and outcome:
/// a request writes at most one row for each, however many ids it touched.
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
        self.add(viewer, action, record_type, ids, 0, outcome);
    }

    /// Notes that a read named records that do not exist.
    pub fn note_unknown(
        &self,
        viewer: &Viewer,
        action: &'static str,
        record_type: &'static str,
        count: usize,
        outcome: Outcome,
    ) {
        self.add(viewer, action, record_type, Vec::new(), count, outcome);
    }

    fn add(
        &self,
        viewer: &Viewer,
        action: &'static str,
        record_type: &'static str,
        ids: Vec<Uuid>,
        unknown: usize,
        outcome: Outcome,
    ) {
        if !policy::is_audited(viewer) {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let same =
            |e: &&Entry| e.action == action && e.record_type == record_type && e.outcome == outcome;
        let entry = match entries.iter().position(|e| same(&e)) {
            Some(index) => &mut entries[index],
            None => {
                entries.push(Entry {
                    action,
                    record_type,
                    record_ids: Vec::with_capacity(ids.len()),
                    listed: HashSet::with_capacity(ids.len()),
                    unknown: 0,
                    outcome,
                });
                let last = entries.len() - 1;
                &mut entries[last]
            }
        };
        for id in ids {
            if entry.listed.insert(id) {
                entry.record_ids.push(id);
            }
        }
        entry.unknown += unknown;
    }

    /// Writes the notes of a request, one row per group.
    pub async fn write(
        &self,
        db: &impl ConnectionTrait,
        viewer: &Viewer,
        at: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let entries = self.take()?;
        write_entries(db, entries, viewer, at).await
    }

    /// The notes so far, for whoever writes them (a subscription result shared by several
    /// subscribers is written on the trail of each).
    pub fn take(&self) -> Result<Vec<Entry>, DbErr> {
        match self.entries.lock() {
            Ok(mut entries) => Ok(std::mem::take(&mut *entries)),
            Err(_) => Err(DbErr::Custom("audit log poisoned".into())),
        }
    }
}

/// Writes notes as `viewer`'s reads, one row per group.
pub async fn write_entries(
    db: &impl ConnectionTrait,
    entries: Vec<Entry>,
    viewer: &Viewer,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    if entries.is_empty() {
        return Ok(());
    }
    let Some(actor) = viewer.actor() else {
        return Ok(());
    };
    let rows: Vec<_> = entries
        .into_iter()
        .map(|entry| {
            let details =
                (entry.unknown > 0).then(|| serde_json::json!({ "unknownIds": entry.unknown }));
            row(
                &actor,
                entry.action,
                entry.record_type,
                &entry.record_ids,
                entry.outcome,
                details,
                at,
            )
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        audit_event::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
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
    record_event(txn, actor, action, record_type, ids, None, at).await
}

/// `record_change` for many actors at once (bookings made together), in one statement.
pub async fn record_changes(
    txn: &impl ConnectionTrait,
    action: &'static str,
    record_type: &'static str,
    changes: &[(&Actor, Uuid)],
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    if changes.is_empty() {
        return Ok(());
    }
    let rows = changes.iter().map(|(actor, id)| {
        row(
            actor,
            action,
            record_type,
            &[*id],
            Outcome::Allowed,
            None,
            at,
        )
    });
    audit_event::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Records what an actor did, with details such as a batch's counts (never personal data: the
/// trail is read by more people than the records it points at).
pub async fn record_event(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    record_type: &str,
    ids: &[Uuid],
    details: Option<serde_json::Value>,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    audit_event::Entity::insert(row(
        actor,
        action,
        record_type,
        ids,
        Outcome::Allowed,
        details,
        at,
    ))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn row(
    actor: &Actor,
    action: &str,
    record_type: &str,
    ids: &[Uuid],
    outcome: Outcome,
    details: Option<serde_json::Value>,
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
        details: Set(details.map(|details| details.to_string())),
    }
}
