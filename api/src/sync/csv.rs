//! CSV on the command line (`training sync import` and `export`), with OneRoster-like columns,
//! through the same code as `syncParticipants` and `syncEnrolments`: batches of 1,000 rows, each
//! row answered, a progress bar, and `--dry-run` to see what would happen.
//!
//! - participants: `sourcedId,status,dateLastModified,fullName,email,phone,role,municipalityCode`
//! - enrolments: `sourcedId,status,dateLastModified,classSourcedId,userSourcedId,reason`, where
//!   `classSourcedId` is the session (the source's id for it, or its global id) and
//!   `userSourcedId` the source's id of the participant
//!
//! `status` is `active` or `tobedeleted` (an enrolment to cancel). Files are UTF-8 (a byte-order
//! mark is allowed); values are written as they are, so phone numbers such as `+31 6 …` survive
//! a round trip (this CSV is for machines, not spreadsheets).

use std::{
    collections::HashMap,
    io::{Read, Write},
};

use chrono::{DateTime, Utc};
use entity::{
    enrolment,
    enums::{EnrolmentStatus, ParticipantRole},
    municipality,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde::Serialize;
use uuid::Uuid;

use super::{
    enrolments::{self, SessionRef, SyncedEnrolment, WantedStatus},
    external_ids::{self, RecordType, Source},
    participants::{self, ParticipantFields},
    upsert::{self, Counts, ErrorPolicy, ItemOutcome, SyncAction},
};
use crate::{
    auth::{Actor, Role},
    db::people,
    domain::{booking::Refusal, ids::SessionId},
    live::Live,
};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Participants,
    Enrolments,
}

const PARTICIPANT_COLUMNS: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "fullName",
    "email",
    "phone",
    "role",
    "municipalityCode",
];
const ENROLMENT_COLUMNS: &[&str] = &[
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "userSourcedId",
    "reason",
];

impl Kind {
    fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Participants => PARTICIPANT_COLUMNS,
            Self::Enrolments => ENROLMENT_COLUMNS,
        }
    }
}

/// Why a file cannot be read at all (a row's trouble is that row's).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is not UTF-8 (first bad byte near byte {0})")]
    NotUtf8(usize),
    #[error("the header must be {expected}; found {found}")]
    WrongHeader { expected: String, found: String },
    #[error("the file is empty")]
    Empty,
    #[error("the file cannot be read: {0}")]
    Io(#[from] std::io::Error),
}

/// A row of a file: its line, and its cells or why they cannot be read.
pub type Row = (usize, csv::Result<csv::StringRecord>);

/// One row's answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RowReport {
    /// The line of the file (the header is line 1).
    pub line: usize,
    pub sourced_id: String,
    pub action: SyncAction,
    pub code: Option<String>,
    pub field: Option<String>,
    pub message: Option<String>,
}

/// How an import went.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub counts: Counts,
    /// The rows that were refused, with why.
    pub refused: Vec<RowReport>,
}

/// Reads a file's rows: the header checked, a byte-order mark allowed.
pub fn read_rows(mut input: impl Read, kind: Kind) -> Result<Vec<Row>, FileError> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    if let Err(error) = std::str::from_utf8(bytes) {
        return Err(FileError::NotUtf8(error.valid_up_to()));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header = match reader.headers() {
        Ok(header) if !header.is_empty() => header.clone(),
        _ => return Err(FileError::Empty),
    };
    let expected = kind.columns();
    if header.iter().map(str::trim).collect::<Vec<_>>() != expected {
        return Err(FileError::WrongHeader {
            expected: expected.join(","),
            found: header.iter().collect::<Vec<_>>().join(","),
        });
    }
    // A quoted cell may span lines: a row is named by the line it starts on.
    let mut line = 2;
    let mut rows = Vec::new();
    for record in reader.records() {
        if let Some(position) = match &record {
            Ok(record) => record.position(),
            Err(error) => error.position(),
        } {
            line = position.line() as usize;
        }
        rows.push((line, record));
        line += 1;
    }
    Ok(rows)
}

fn role(value: &str) -> Option<ParticipantRole> {
    serde_json::from_value(serde_json::Value::String(value.trim().to_ascii_uppercase())).ok()
}

/// Imports a file for a source, in batches of 1,000, with a progress bar on the terminal.
#[allow(clippy::too_many_arguments)]
pub async fn import(
    db: &DatabaseConnection,
    live: &Live,
    source: &Source,
    kind: Kind,
    input: impl Read,
    policy: ErrorPolicy,
    dry_run: bool,
    progress: bool,
) -> anyhow::Result<Result<Report, FileError>> {
    let rows = match read_rows(input, kind) {
        Ok(rows) => rows,
        Err(error) => return Ok(Err(error)),
    };
    let bar = ProgressBar::with_draw_target(
        Some(rows.len() as u64),
        if progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let actor = Actor {
        id: format!("cli:sync-import:{}", source.as_str()),
        role: Role::Administrator,
    };
    let mut report = Report::default();
    for batch in rows.chunks(upsert::MAX_ITEMS) {
        let lines: Vec<(usize, String)> = batch
            .iter()
            .map(|(line, record)| {
                let id = record
                    .as_ref()
                    .ok()
                    .and_then(|r| r.get(0))
                    .unwrap_or_default();
                (*line, id.trim().to_owned())
            })
            .collect();
        let outcomes = match kind {
            Kind::Participants => {
                let items = batch
                    .iter()
                    .enumerate()
                    .map(|(index, (_, record))| participant_item(index, record))
                    .collect();
                // The command line is the institute's own: it may link anyone.
                let planned = participants::plan(db, source, false, items).await?;
                upsert::run(db, live, &actor, policy, dry_run, planned).await
            }
            Kind::Enrolments => {
                let items = batch
                    .iter()
                    .enumerate()
                    .map(|(index, (_, record))| enrolment_item(index, record))
                    .collect();
                match enrolments::plan(db, source, items, None).await? {
                    Ok(planned) => upsert::run(db, live, &actor, policy, dry_run, planned).await,
                    Err(refusal) => anyhow::bail!("{}", refusal.message),
                }
            }
        }
        .map_err(|error| anyhow::anyhow!("the batch failed: {error}"))?;
        for ((line, sourced_id), outcome) in lines.into_iter().zip(outcomes) {
            tally(&mut report, line, sourced_id, outcome);
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    if !dry_run {
        let operation = match kind {
            Kind::Participants => "syncParticipants",
            Kind::Enrolments => "syncEnrolments",
        };
        upsert::record_batch(db, &actor, operation, policy, report.counts).await?;
    }
    Ok(Ok(report))
}

fn tally(report: &mut Report, line: usize, sourced_id: String, outcome: ItemOutcome) {
    report.counts.add(outcome.action);
    if let Some(refusal) = outcome.refusal {
        report.refused.push(RowReport {
            line,
            sourced_id,
            action: outcome.action,
            code: serde_json::to_value(refusal.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned)),
            field: refusal
                .field
                .map(|f| f.rsplit('.').next().unwrap_or_default().to_owned()),
            message: Some(refusal.message),
        });
    }
}

fn bad_row(index: usize, message: &str) -> Refusal {
    Refusal::bad_input(&format!("items.{index}.sourcedId"), message)
}

fn participant_item(
    index: usize,
    record: &csv::Result<csv::StringRecord>,
) -> Result<participants::SyncedParticipant, Refusal> {
    let record = record
        .as_ref()
        .map_err(|error| bad_row(index, &format!("the row cannot be read: {error}")))?;
    let cell = |n: usize| record.get(n).map(str::trim).unwrap_or_default();
    if !cell(1).eq_ignore_ascii_case("active") {
        return Err(Refusal::bad_input(
            &format!("items.{index}.status"),
            "participants are `active`; a person is forgotten by erasure, not by sync",
        ));
    }
    let role = role(cell(6)).ok_or_else(|| {
        Refusal::bad_input(
            &format!("items.{index}.role"),
            "a role such as MAYOR or ALDERMAN",
        )
    })?;
    participants::check(
        index,
        &ParticipantFields {
            external_id: cell(0),
            full_name: cell(3),
            email: cell(4),
            phone: Some(cell(5)).filter(|v| !v.is_empty()),
            role,
            municipality_code: Some(cell(7)).filter(|v| !v.is_empty()),
        },
    )
}

fn enrolment_item(
    index: usize,
    record: &csv::Result<csv::StringRecord>,
) -> Result<SyncedEnrolment, Refusal> {
    let record = record
        .as_ref()
        .map_err(|error| bad_row(index, &format!("the row cannot be read: {error}")))?;
    let cell = |n: usize| record.get(n).map(str::trim).unwrap_or_default();
    let status = match cell(1).to_ascii_lowercase().as_str() {
        "active" => WantedStatus::Active,
        "tobedeleted" => WantedStatus::Cancelled,
        _ => {
            return Err(Refusal::bad_input(
                &format!("items.{index}.status"),
                "`active` or `tobedeleted`",
            ));
        }
    };
    let (external_id, participant_external_id) = enrolments::check_ids(index, cell(0), cell(4))?;
    let class = cell(3);
    let session = match SessionId::from_global(class, "classSourcedId") {
        Ok(id) => SessionRef::Id(id.0),
        Err(_) if !class.is_empty() => SessionRef::External(class.to_owned()),
        Err(_) => {
            return Err(Refusal::bad_input(
                &format!("items.{index}.classSourcedId"),
                "the session: the source's id for it, or its id",
            ));
        }
    };
    Ok(SyncedEnrolment {
        external_id,
        participant_external_id,
        session,
        status,
        reason: Some(cell(5).to_owned()).filter(|r| !r.is_empty()),
    })
}

/// Writes what the source's scope holds now, in the import's columns: its participants, or
/// their enrolments (an enrolment the source did not make, booked at the service desk say, has
/// an empty `sourcedId`).
pub async fn export(
    db: &DatabaseConnection,
    source: &Source,
    kind: Kind,
    output: impl Write,
) -> anyhow::Result<usize> {
    let mut writer = csv::Writer::from_writer(output);
    writer.write_record(kind.columns())?;
    let stamp = |at: DateTime<Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let known = external_ids::records_of_source(db, source, RecordType::Participant).await?;
    let ids: Vec<Uuid> = known.keys().copied().collect();
    let mut rows = 0;
    match kind {
        Kind::Participants => {
            let codes: HashMap<Uuid, String> = municipality::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|m| (m.id, m.cbs_code))
                .collect();
            let mut persons = Vec::new();
            for chunk in ids.chunks(500) {
                persons.extend(people::find_participants_by_ids(db, chunk).await?);
            }
            // In the order of the source's ids, as someone reading a diff expects.
            persons.sort_by(|a, b| known.get(&a.id).cmp(&known.get(&b.id)));
            for person in persons {
                writer.write_record([
                    known
                        .get(&person.id)
                        .map(String::as_str)
                        .unwrap_or_default(),
                    "active",
                    &stamp(person.updated_at),
                    &person.full_name,
                    &person.email,
                    person.phone.as_deref().unwrap_or_default(),
                    role_name(person.role).as_str(),
                    person
                        .municipality_id
                        .and_then(|id| codes.get(&id))
                        .map(String::as_str)
                        .unwrap_or_default(),
                ])?;
                rows += 1;
            }
        }
        Kind::Enrolments => {
            let mut enrolments = Vec::new();
            for chunk in ids.chunks(500) {
                enrolments.extend(people::find_enrolments_of(db, &[], chunk).await?);
            }
            let enrolment_ids: Vec<_> = enrolments.iter().map(|e| e.id).collect();
            let session_ids: Vec<_> = enrolments.iter().map(|e| e.session_id).collect();
            let theirs =
                external_ids::find_external_ids(db, source, RecordType::Enrolment, &enrolment_ids)
                    .await?;
            enrolments.sort_by(|a: &enrolment::Model, b| {
                (theirs.get(&a.id), a.id).cmp(&(theirs.get(&b.id), b.id))
            });
            let sessions =
                external_ids::find_external_ids(db, source, RecordType::Session, &session_ids)
                    .await?;
            for enrolment in enrolments {
                let active = matches!(
                    enrolment.status,
                    EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted
                );
                let class = sessions
                    .get(&enrolment.session_id)
                    .cloned()
                    .unwrap_or_else(|| SessionId(enrolment.session_id).to_global());
                writer.write_record([
                    theirs
                        .get(&enrolment.id)
                        .map(String::as_str)
                        .unwrap_or_default(),
                    if active { "active" } else { "tobedeleted" },
                    &stamp(enrolment.updated_at),
                    &class,
                    known
                        .get(&enrolment.participant_id)
                        .map(String::as_str)
                        .unwrap_or_default(),
                    "",
                ])?;
                rows += 1;
            }
        }
    }
    writer.flush()?;
    Ok(rows)
}

fn role_name(role: ParticipantRole) -> String {
    serde_json::to_value(role)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "sourcedId,status,dateLastModified,classSourcedId,userSourcedId,reason";

    #[test]
    fn a_bom_is_fine_and_a_wrong_header_or_encoding_is_not() {
        let good = format!("\u{feff}{HEADER}\na,active,,s,u,\n");
        assert_eq!(
            read_rows(good.as_bytes(), Kind::Enrolments)
                .map(|r| r.len())
                .ok(),
            Some(1)
        );
        let wrong = "id,status\n1,active\n";
        assert!(matches!(
            read_rows(wrong.as_bytes(), Kind::Enrolments),
            Err(FileError::WrongHeader { .. })
        ));
        let latin1: &[u8] = b"sourcedId,status\n\xe9,active\n";
        assert!(matches!(
            read_rows(latin1, Kind::Enrolments),
            Err(FileError::NotUtf8(_))
        ));
        assert!(matches!(
            read_rows(&b""[..], Kind::Enrolments),
            Err(FileError::Empty)
        ));
    }

    #[test]
    fn rows_are_numbered_by_their_line_in_the_file() {
        let file = format!("{HEADER}\na,active,,s,u,\"two\nlines\"\nb,active,,s,u,\n\"c,active\n");
        let rows = read_rows(file.as_bytes(), Kind::Enrolments).unwrap_or_default();
        let lines: Vec<_> = rows
            .iter()
            .map(|(line, row)| (*line, row.is_ok()))
            .collect();
        assert_eq!(
            lines,
            [(2, true), (4, true), (5, false)],
            "bad quoting is that row's error"
        );
    }
}
