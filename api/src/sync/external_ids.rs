//! Source systems and the ids they know records by.
//!
//! A sync client's API key may belong to one source system (`api-key create --source NAME`). A
//! participant, course, session or enrolment carries at most one id in each source, and an id
//! names one record per source and kind. Staff, and keys without a source, speak for the
//! `default` source, where the ids of before sources were kept.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::external_id;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, SqlErr,
};
use uuid::Uuid;

use crate::auth::Viewer;

/// The source of ids from before there were sources, and of staff.
pub const DEFAULT_SOURCE: &str = "default";
/// Longest external id.
pub const MAX_EXTERNAL_ID: usize = 100;

/// A source system's name: 1 to 50 lower-case letters, digits, `.`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source(String);

impl Source {
    pub fn parse(name: &str) -> Result<Self, String> {
        let name = name.trim();
        let fine = (1..=50).contains(&name.len())
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
            && name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric());
        if fine {
            Ok(Self(name.to_owned()))
        } else {
            Err(format!(
                "`{name}` is not a source name: 1 to 50 lower-case letters, digits, '.', '_' and '-'"
            ))
        }
    }

    pub fn default_source() -> Self {
        Self(DEFAULT_SOURCE.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The source a caller's external ids belong to.
pub fn source_of(viewer: &Viewer) -> Source {
    match viewer {
        Viewer::Machine {
            source: Some(source),
            ..
        } => Source(source.clone()),
        _ => Source::default_source(),
    }
}

/// The source whose scope a caller is confined to, if any (a key with a source).
pub fn scope_of(viewer: &Viewer) -> Option<Source> {
    match viewer {
        Viewer::Machine {
            source: Some(source),
            ..
        } => Some(Source(source.clone())),
        _ => None,
    }
}

/// What kind of record an external id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    Participant,
    Course,
    Session,
    Enrolment,
}

impl RecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Participant => "PARTICIPANT",
            Self::Course => "COURSE",
            Self::Session => "SESSION",
            Self::Enrolment => "ENROLMENT",
        }
    }
}

/// The record a source's id names.
pub async fn find_record(
    db: &impl ConnectionTrait,
    source: &Source,
    kind: RecordType,
    external_id: &str,
) -> Result<Option<Uuid>, DbErr> {
    Ok(external_id::Entity::find()
        .filter(external_id::Column::Source.eq(source.as_str()))
        .filter(external_id::Column::RecordType.eq(kind.as_str()))
        .filter(external_id::Column::ExternalId.eq(external_id))
        .one(db)
        .await?
        .map(|row| row.record_id))
}

/// The records many ids of one source name, by id.
pub async fn find_records(
    db: &impl ConnectionTrait,
    source: &Source,
    kind: RecordType,
    external_ids: &[&str],
) -> Result<HashMap<String, Uuid>, DbErr> {
    let mut found = HashMap::new();
    // Chunked: SQLite binds a bounded number of values in one statement.
    for chunk in external_ids.chunks(500) {
        let rows = external_id::Entity::find()
            .filter(external_id::Column::Source.eq(source.as_str()))
            .filter(external_id::Column::RecordType.eq(kind.as_str()))
            .filter(external_id::Column::ExternalId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        found.extend(rows.into_iter().map(|row| (row.external_id, row.record_id)));
    }
    Ok(found)
}

/// The ids a source knows records by, by record.
pub async fn find_external_ids(
    db: &impl ConnectionTrait,
    source: &Source,
    kind: RecordType,
    record_ids: &[Uuid],
) -> Result<HashMap<Uuid, String>, DbErr> {
    let mut found = HashMap::new();
    for chunk in record_ids.chunks(500) {
        let rows = external_id::Entity::find()
            .filter(external_id::Column::Source.eq(source.as_str()))
            .filter(external_id::Column::RecordType.eq(kind.as_str()))
            .filter(external_id::Column::RecordId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        found.extend(rows.into_iter().map(|row| (row.record_id, row.external_id)));
    }
    Ok(found)
}

/// Which of these records some source other than `source` (and other than `default`, the
/// institute's own) knows.
pub async fn known_to_other_sources(
    db: &impl ConnectionTrait,
    source: &Source,
    kind: RecordType,
    record_ids: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    let mut found = HashSet::new();
    for chunk in record_ids.chunks(500) {
        let rows = external_id::Entity::find()
            .filter(external_id::Column::Source.ne(source.as_str()))
            .filter(external_id::Column::Source.ne(DEFAULT_SOURCE))
            .filter(external_id::Column::RecordType.eq(kind.as_str()))
            .filter(external_id::Column::RecordId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        found.extend(rows.into_iter().map(|row| row.record_id));
    }
    Ok(found)
}

/// Every record of a kind a source knows, with the id it knows it by.
pub async fn records_of_source(
    db: &impl ConnectionTrait,
    source: &Source,
    kind: RecordType,
) -> Result<HashMap<Uuid, String>, DbErr> {
    Ok(external_id::Entity::find()
        .filter(external_id::Column::Source.eq(source.as_str()))
        .filter(external_id::Column::RecordType.eq(kind.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.record_id, row.external_id))
        .collect())
}

/// Why an id could not be given to a record.
#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    /// The id names another record in this source, or the record has another id there.
    #[error("the external id is taken in this source")]
    Taken,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Gives a record its id in a source.
pub async fn assign(
    db: &impl ConnectionTrait,
    source: &Source,
    kind: RecordType,
    external_id: &str,
    record_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), AssignError> {
    external_id::Entity::insert(external_id::ActiveModel {
        id: Set(Uuid::new_v4()),
        source: Set(source.as_str().to_owned()),
        record_type: Set(kind.as_str().to_owned()),
        external_id: Set(external_id.to_owned()),
        record_id: Set(record_id),
        created_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .map_err(|error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => AssignError::Taken,
        _ => AssignError::Db(error),
    })?;
    Ok(())
}

/// Takes a source's id from the record it named (it is about to name another).
pub async fn forget(
    db: &impl ConnectionTrait,
    source: &Source,
    kind: RecordType,
    external_id: &str,
) -> Result<(), DbErr> {
    external_id::Entity::delete_many()
        .filter(external_id::Column::Source.eq(source.as_str()))
        .filter(external_id::Column::RecordType.eq(kind.as_str()))
        .filter(external_id::Column::ExternalId.eq(external_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Takes away the id a source knows a record by, if it has one.
pub async fn unlink(
    db: &impl ConnectionTrait,
    source: &Source,
    kind: RecordType,
    record_id: Uuid,
) -> Result<(), DbErr> {
    external_id::Entity::delete_many()
        .filter(external_id::Column::Source.eq(source.as_str()))
        .filter(external_id::Column::RecordType.eq(kind.as_str()))
        .filter(external_id::Column::RecordId.eq(record_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The external ids of a participant and of their enrolments, in every source.
pub fn of_person(participant: Uuid, enrolments: &[Uuid]) -> sea_orm::Condition {
    use sea_orm::{ColumnTrait, Condition};
    Condition::any()
        .add(
            Condition::all()
                .add(external_id::Column::RecordType.eq(RecordType::Participant.as_str()))
                .add(external_id::Column::RecordId.eq(participant)),
        )
        .add(
            Condition::all()
                .add(external_id::Column::RecordType.eq(RecordType::Enrolment.as_str()))
                .add(external_id::Column::RecordId.is_in(enrolments.to_vec())),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_are_plain() {
        assert!(Source::parse("bzk-sync").is_ok());
        assert!(Source::parse("gemeente.utrecht_2").is_ok());
        for name in ["", "BZK", "bzk sync", "-bzk", &"a".repeat(51), "bzk/sync"] {
            assert!(Source::parse(name).is_err(), "{name}");
        }
    }
}
