//! Participants as a source system sends them: found by the id the source knows them by, else
//! by their e-mail address (someone the service desk booked before the source did), else new.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::{enums::ParticipantRole, municipality, participant};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, SqlErr,
};
use uuid::Uuid;

use super::{
    external_ids::{self, AssignError, RecordType, Source},
    upsert::{Item, ItemOutcome, SyncAction},
};
use crate::{
    audit,
    db::{
        booking::{NewParticipant, create_participant},
        people,
        transaction::TxError,
    },
    domain::{
        booking::{Refusal, UserErrorCode},
        email::EmailAddress,
        input,
    },
};

/// One participant as the source describes them, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedParticipant {
    pub external_id: String,
    pub full_name: String,
    pub email: EmailAddress,
    pub phone: Option<String>,
    pub role: ParticipantRole,
    /// A municipality's CBS code, such as GM0518.
    pub municipality_code: Option<String>,
}

/// What a client sent for one participant, before it is checked.
pub struct ParticipantFields<'a> {
    pub external_id: &'a str,
    pub full_name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub role: ParticipantRole,
    pub municipality_code: Option<&'a str>,
}

/// Checks one item; refusals name the item's field (`items.3.email`).
pub fn check(index: usize, fields: &ParticipantFields<'_>) -> Result<SyncedParticipant, Refusal> {
    let field = |name: &str| format!("items.{index}.{name}");
    Ok(SyncedParticipant {
        external_id: input::required(
            fields.external_id,
            &field("externalId"),
            external_ids::MAX_EXTERNAL_ID,
            false,
        )?,
        full_name: input::required(fields.full_name, &field("fullName"), 200, false)?,
        email: EmailAddress::parse(fields.email, &field("email"))?,
        phone: input::text(fields.phone, &field("phone"), 40, false)?,
        role: fields.role,
        municipality_code: input::text(
            fields.municipality_code,
            &field("municipalityCode"),
            10,
            false,
        )?,
    })
}

/// Puts an item-level refusal's field under its item: `input.newParticipant.email` of a
/// booking becomes `items.3.email`.
pub fn at_item(mut refusal: Refusal, index: usize) -> Refusal {
    let field = refusal.field.take().unwrap_or_default();
    let name = field
        .rsplit('.')
        .next()
        .filter(|name| !name.is_empty() && *name != "newParticipant")
        .unwrap_or("externalId");
    refusal.field = Some(format!("items.{index}.{name}"));
    refusal
}

/// Plans a batch: every item looked up at once, answered `UNCHANGED` where nothing differs, and
/// work for the rest. A key `scoped` to its source adopts by e-mail address only people no other
/// source system keeps: it may not take over (rename, book, cancel) someone another ministry
/// system is responsible for.
pub async fn plan(
    db: &impl ConnectionTrait,
    source: &Source,
    scoped: bool,
    items: Vec<Result<SyncedParticipant, Refusal>>,
) -> Result<Vec<Item>, DbErr> {
    let known_ids: Vec<&str> = items
        .iter()
        .filter_map(|item| item.as_ref().ok().map(|p| p.external_id.as_str()))
        .collect();
    let by_external =
        external_ids::find_records(db, source, RecordType::Participant, &known_ids).await?;
    let emails: Vec<&str> = items
        .iter()
        .filter_map(|item| item.as_ref().ok().map(|p| p.email.as_str()))
        .collect();
    let mut existing: HashMap<Uuid, participant::Model> = HashMap::new();
    let ids: Vec<Uuid> = by_external.values().copied().collect();
    for chunk in ids.chunks(500) {
        for row in people::find_participants_by_ids(db, chunk).await? {
            existing.insert(row.id, row);
        }
    }
    let mut by_email: HashMap<String, participant::Model> = HashMap::new();
    for chunk in emails.chunks(500) {
        let rows = participant::Entity::find()
            .filter(participant::Column::Email.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        by_email.extend(rows.into_iter().map(|row| (row.email.clone(), row)));
    }
    // Whom the source knows already, among those found by e-mail.
    let emailed: Vec<Uuid> = by_email.values().map(|p| p.id).collect();
    let known_elsewhere =
        external_ids::find_external_ids(db, source, RecordType::Participant, &emailed).await?;
    let kept_by_others = if scoped {
        external_ids::known_to_other_sources(db, source, RecordType::Participant, &emailed).await?
    } else {
        HashSet::new()
    };
    let codes: Vec<&str> = items
        .iter()
        .filter_map(|item| {
            item.as_ref()
                .ok()
                .and_then(|p| p.municipality_code.as_deref())
        })
        .collect();
    let municipalities: HashMap<String, Uuid> = if codes.is_empty() {
        HashMap::new()
    } else {
        municipality::Entity::find()
            .filter(municipality::Column::CbsCode.is_in(codes))
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.cbs_code, m.id))
            .collect()
    };

    let mut seen = HashSet::new();
    let mut planned = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let wanted = match item {
            Ok(wanted) => wanted,
            Err(refusal) => {
                planned.push(Item::Answered(ItemOutcome::rejected(refusal)));
                continue;
            }
        };
        if !seen.insert(wanted.external_id.clone()) {
            planned.push(Item::Answered(ItemOutcome::rejected(
                Refusal::new(
                    UserErrorCode::DuplicateInBatch,
                    "an earlier item of this batch has this external id",
                )
                .at(format!("items.{index}.externalId")),
            )));
            continue;
        }
        let municipality_id = match &wanted.municipality_code {
            None => None,
            Some(code) => match municipalities.get(code) {
                Some(id) => Some(*id),
                None => {
                    planned.push(Item::Answered(ItemOutcome::rejected(Refusal::bad_input(
                        &format!("items.{index}.municipalityCode"),
                        "no municipality has this CBS code (such as GM0518)",
                    ))));
                    continue;
                }
            },
        };
        let found = by_external
            .get(&wanted.external_id)
            .and_then(|id| existing.get(id))
            .cloned();
        let item = match found {
            Some(current) if same(&current, &wanted, municipality_id) => {
                Item::Answered(ItemOutcome {
                    participant_id: Some(current.id),
                    ..ItemOutcome::unchanged()
                })
            }
            Some(current) => update(index, current.id, wanted, municipality_id, None),
            None => match by_email.get(wanted.email.as_str()) {
                Some(other) if known_elsewhere.contains_key(&other.id) => {
                    Item::Answered(ItemOutcome::rejected(
                        Refusal::new(
                            UserErrorCode::Conflict,
                            "a participant with this e-mail address is known to this source by another external id",
                        )
                        .at(format!("items.{index}.email")),
                    ))
                }
                Some(other) if kept_by_others.contains(&other.id) => {
                    Item::Answered(ItemOutcome::rejected(
                        Refusal::new(
                            UserErrorCode::Conflict,
                            "a participant with this e-mail address is kept by another source system; ask the institute to link them",
                        )
                        .at(format!("items.{index}.email")),
                    ))
                }
                // Booked before the source knew them: the source's id is given to them.
                Some(other) => update(index, other.id, wanted, municipality_id, Some(source.clone())),
                None => create(index, wanted, municipality_id, source.clone()),
            },
        };
        planned.push(item);
    }
    Ok(planned)
}

fn same(
    current: &participant::Model,
    wanted: &SyncedParticipant,
    municipality: Option<Uuid>,
) -> bool {
    current.full_name == wanted.full_name
        && current.email == wanted.email.as_str()
        && current.phone == wanted.phone
        && current.role == wanted.role
        && (wanted.municipality_code.is_none() || current.municipality_id == municipality)
}

fn create(
    index: usize,
    wanted: SyncedParticipant,
    municipality_id: Option<Uuid>,
    source: Source,
) -> Item {
    Item::Work(Box::new(move |txn, actor, _live| {
        let details = NewParticipant {
            full_name: wanted.full_name.clone(),
            email: wanted.email.clone(),
            phone: wanted.phone.clone(),
            role: wanted.role,
            external_id: Some(wanted.external_id.clone()),
            source: source.clone(),
            allow_confusable: false,
            municipality_id,
        };
        Box::pin(async move {
            let now = Utc::now();
            let created = create_participant(txn, &details, now)
                .await
                .map_err(|error| item_error(error, index))?;
            audit::record_change(
                txn,
                &actor,
                "syncParticipants",
                "Participant",
                &[created.id],
                now,
            )
            .await?;
            Ok((
                ItemOutcome {
                    action: SyncAction::Created,
                    participant_id: Some(created.id),
                    enrolment_id: None,
                    refusal: None,
                },
                Vec::new(),
            ))
        })
    }))
}

fn update(
    index: usize,
    id: Uuid,
    wanted: SyncedParticipant,
    municipality_id: Option<Uuid>,
    link: Option<Source>,
) -> Item {
    Item::Work(Box::new(move |txn, actor, _live| {
        let wanted = wanted.clone();
        let link = link.clone();
        Box::pin(async move {
            let now = Utc::now();
            update_participant(txn, id, &wanted, municipality_id, now)
                .await
                .map_err(|error| item_error(error, index))?;
            if let Some(source) = &link {
                external_ids::assign(
                    txn,
                    source,
                    RecordType::Participant,
                    &wanted.external_id,
                    id,
                    now,
                )
                .await
                .map_err(|error| match error {
                    AssignError::Taken => TxError::Refused(
                        Refusal::new(
                            UserErrorCode::Conflict,
                            "the source knows this participant by another external id",
                        )
                        .at(format!("items.{index}.externalId")),
                    ),
                    AssignError::Db(error) => error.into(),
                })?;
            }
            audit::record_change(txn, &actor, "syncParticipants", "Participant", &[id], now)
                .await?;
            Ok((
                ItemOutcome {
                    action: SyncAction::Updated,
                    participant_id: Some(id),
                    enrolment_id: None,
                    refusal: None,
                },
                Vec::new(),
            ))
        })
    }))
}

fn item_error(error: TxError, index: usize) -> TxError {
    match error {
        TxError::Refused(refusal) => TxError::Refused(at_item(refusal, index)),
        other => other,
    }
}

/// Brings a participant's record to what the source says; an e-mail address that another
/// participant has, or one that looks like another's, is refused as when booking.
async fn update_participant(
    txn: &DatabaseTransaction,
    id: Uuid,
    wanted: &SyncedParticipant,
    municipality_id: Option<Uuid>,
    now: chrono::DateTime<Utc>,
) -> Result<(), TxError> {
    let Some(current) = participant::Entity::find_by_id(id).one(txn).await? else {
        return Err(Refusal::not_found("participant", "externalId").into());
    };
    let mut change = participant::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id),
        full_name: Set(wanted.full_name.clone()),
        phone: Set(wanted.phone.clone()),
        role: Set(wanted.role),
        updated_at: Set(now),
        ..Default::default()
    };
    if wanted.municipality_code.is_some() {
        change.municipality_id = Set(municipality_id);
    }
    if current.email != wanted.email.as_str() {
        let skeleton = wanted.email.skeleton();
        people::lock_skeleton(txn, &skeleton).await?;
        let others = participant::Entity::find()
            .filter(participant::Column::EmailSkeleton.eq(skeleton.as_str()))
            .filter(participant::Column::Id.ne(id))
            .all(txn)
            .await?;
        if let Some(other) = others.first() {
            let code = if other.email == wanted.email.as_str() {
                UserErrorCode::ParticipantExists
            } else {
                UserErrorCode::EmailConfusable
            };
            return Err(Refusal::new(
                code,
                "another participant has this e-mail address, or one that looks like it",
            )
            .at("email")
            .into());
        }
        change.email = Set(wanted.email.as_str().to_owned());
        change.email_skeleton = Set(Some(skeleton));
    }
    participant::Entity::update(change)
        .exec(txn)
        .await
        .map_err(|error| match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => TxError::Refused(
                Refusal::new(
                    UserErrorCode::ParticipantExists,
                    "another participant has this e-mail address",
                )
                .at("email"),
            ),
            _ => error.into(),
        })?;
    Ok(())
}
