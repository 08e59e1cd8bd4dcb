//! The erasure log: one line of ids per erasure (`{"participantId", "cause", "erasedAt"}`),
//! appended once the erasure has committed, in a file kept apart from the database's backups.
//! After a restore from a backup older than some erasures, `training privacy
//! reapply-erasures` erases those people again.

use std::{
    io::{self, BufRead, Write},
    path::Path,
};

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    auth::{Actor, Role},
    db::{
        change::{Change, Outcome},
        erasure::{self, Cause, Erasure},
        transaction::{self, TxError},
    },
    domain::booking::UserErrorCode,
    live::Live,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub participant_id: Uuid,
    pub cause: Cause,
    pub erased_at: DateTime<Utc>,
}

/// Appends one entry and waits until it is on disk. The file is the service's own (0600).
pub fn append(path: &Path, entry: &Entry) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::private_files::create_dir_all(dir)?;
    }
    crate::private_files::create_file_if_missing(path)?;
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_all()
}

/// Every entry of the log; a line that is not one says where.
pub fn read(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let file = std::fs::File::open(path)?;
    let mut entries = Vec::new();
    for (number, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let entry = serde_json::from_str(&line)
            .map_err(|error| anyhow::anyhow!("line {}: {error}", number + 1))?;
        entries.push(entry);
    }
    Ok(entries)
}

/// What applying the log again did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reapplied {
    /// Erased now: the database had them back.
    pub erased: usize,
    /// Erased already.
    pub already: usize,
    /// Not in the database at all (a backup older than the person).
    pub unknown: usize,
}

/// Erases again everyone in `entries` whom the database still holds, by the erasure's own code
/// path; those erased already are left as they are.
pub async fn reapply(db: &DatabaseConnection, entries: &[Entry]) -> anyhow::Result<Reapplied> {
    let live = Live::publisher(sea_orm::ConnectionTrait::get_database_backend(db));
    let actor = Actor {
        id: "cli:reapply-erasures".into(),
        role: Role::Administrator,
    };
    let mut done = Reapplied::default();
    for entry in entries {
        let erasure = Erasure {
            participant_id: entry.participant_id,
            cause: entry.cause,
            reason: "reapplied from the erasure log after a restore".into(),
            keep_consented_comment: false,
        };
        match erase_alone(db, &live, &actor, &erasure).await {
            Ok(_) => done.erased += 1,
            Err(TxError::Refused(refusal)) if refusal.code == UserErrorCode::AlreadyErased => {
                done.already += 1
            }
            Err(TxError::Refused(refusal)) if refusal.code == UserErrorCode::NotFound => {
                done.unknown += 1
            }
            Err(error) => anyhow::bail!("could not erase {}: {error:?}", entry.participant_id),
        }
    }
    Ok(done)
}

/// One erasure in a transaction of its own, for a job rather than a request.
pub async fn erase_alone(
    db: &DatabaseConnection,
    live: &Live,
    actor: &Actor,
    erasure: &Erasure,
) -> Result<Outcome, TxError> {
    transaction::write(db, |txn: &DatabaseTransaction| {
        let change = Change::new(txn, actor.clone());
        let (erasure, live) = (erasure.clone(), live.clone());
        Box::pin(async move { erasure::erase(change, &live, &erasure).await })
    })
    .await
}
