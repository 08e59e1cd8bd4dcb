//! Bulk upserts for source systems: `syncParticipants` and `syncEnrolments` (see `sync::upsert`),
//! and `linkExternalId`, which tells the service the source's ids of sessions and courses.

use std::collections::HashMap;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use sea_orm::EntityTrait;
use serde::Serialize;
use uuid::Uuid;

use super::{MutationOptions, MutationResult, UserError, check_key};
use crate::{
    auth::{Role, Viewer},
    db::{
        idempotency::{self, Claim, KeyRequest},
        people,
        transaction::TxError,
    },
    domain::{
        booking::{Refusal, UserErrorCode},
        ids::{CourseId, EnrolmentId, GlobalId, NodeType, ParticipantId, SessionId},
        input,
    },
    error::{ApiError, FieldResult},
    graphql::{
        context::{request_data, viewer},
        types::enums::{EnrolmentStatus, ParticipantRole},
    },
    sync::{
        enrolments::{self, SessionRef, Snapshot, SyncedEnrolment, WantedStatus},
        external_ids::{self, AssignError, RecordType, source_of},
        participants::{self, ParticipantFields},
        upsert::{self, ErrorPolicy, Item, ItemOutcome, MAX_ITEMS, SyncAction},
    },
};

#[derive(Default)]
pub struct SyncMutation;

#[derive(InputObject)]
pub struct LinkExternalIdInput {
    /// A session or a course.
    pub id: ID,
    /// The id the caller's source system knows it by; null takes the link away.
    pub external_id: Option<String>,
    pub client_mutation_id: Option<String>,
}

#[derive(SimpleObject)]
pub struct LinkExternalIdPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    /// The id the record now has in the caller's source.
    pub external_id: Option<String>,
}

/// A participant as the source system knows them.
#[derive(InputObject, Serialize, Debug, Clone)]
pub struct SyncParticipantInput {
    /// The id the source knows them by.
    pub external_id: String,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: ParticipantRole,
    /// Their municipality's CBS code, such as GM0518.
    pub municipality_code: Option<String>,
}

#[derive(InputObject, Serialize, Debug)]
pub struct SyncParticipantsInput {
    /// At most 1,000.
    pub items: Vec<SyncParticipantInput>,
    /// `PER_ITEM` (the default): a refused item refuses only itself; `ALL_OR_NOTHING`: one
    /// refused item refuses the batch.
    #[graphql(default_with = "ErrorPolicy::PerItem")]
    pub error_policy: ErrorPolicy,
    /// Answer what would happen, and change nothing.
    #[graphql(default)]
    pub dry_run: bool,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

/// An enrolment as the source system knows it.
#[derive(InputObject, Serialize, Debug, Clone)]
pub struct SyncEnrolmentInput {
    /// The id the source knows the enrolment by.
    pub external_id: String,
    /// The id the source knows its participant by (sync them first).
    pub participant_external_id: String,
    /// The session, by its id, or `sessionExternalId`.
    pub session_id: Option<ID>,
    /// The session by the id the source knows it by.
    pub session_external_id: Option<String>,
    /// ACTIVE: booked (a seat, or the waiting list when full); CANCELLED.
    pub status: WantedStatus,
    /// Why, for a cancellation; kept in the enrolment's history.
    pub reason: Option<String>,
}

/// Lists all of the source's enrolments of one session or course: what it leaves out is
/// cancelled, unless that is more than `maxCancelShare` of the source's active enrolments there
/// (`SNAPSHOT_GUARD`) and the batch is not sent with `force`.
#[derive(InputObject, Serialize, Debug, Clone)]
pub struct SyncSnapshotInput {
    pub session_id: Option<ID>,
    pub course_id: Option<ID>,
    #[graphql(default = 0.2)]
    pub max_cancel_share: f64,
    #[graphql(default)]
    pub force: bool,
}

#[derive(InputObject, Serialize, Debug)]
pub struct SyncEnrolmentsInput {
    /// At most 1,000.
    pub items: Vec<SyncEnrolmentInput>,
    #[graphql(default_with = "ErrorPolicy::PerItem")]
    pub error_policy: ErrorPolicy,
    #[graphql(default)]
    pub dry_run: bool,
    pub snapshot: Option<SyncSnapshotInput>,
    #[graphql(flatten)]
    #[serde(skip)]
    pub options: MutationOptions,
}

/// What happened to one item.
#[derive(SimpleObject, Debug, Clone)]
pub struct SyncItemResult {
    /// Its place in the batch, from 0.
    pub index: i32,
    pub external_id: String,
    pub action: SyncAction,
    pub participant_id: Option<ID>,
    pub enrolment_id: Option<ID>,
    /// The enrolment's status and version after the batch.
    pub status: Option<EnrolmentStatus>,
    pub version: Option<i32>,
    /// Why it was refused, with the field at fault (such as `items.3.email`).
    pub error: Option<UserError>,
}

/// How many items went each way.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct SyncSummary {
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub cancelled: i32,
    pub rejected: i32,
}

#[derive(SimpleObject)]
pub struct SyncPayload {
    #[graphql(flatten)]
    pub result: MutationResult,
    /// True when nothing was changed on purpose (`dryRun`).
    pub dry_run: bool,
    pub results: Vec<SyncItemResult>,
    /// Enrolments a snapshot left out, cancelled (or, in a dry run, to be cancelled).
    pub cancelled_by_snapshot: Vec<ID>,
    pub summary: SyncSummary,
}

/// Sync clients and administrators; a key of a source speaks that source's ids.
fn require_sync_writer(viewer: &Viewer) -> FieldResult<()> {
    match viewer.role() {
        None => Err(ApiError::Unauthenticated.into()),
        Some(Role::SyncClient | Role::Administrator) => Ok(()),
        Some(_) => Err(ApiError::ForbiddenTo("only sync clients and administrators sync").into()),
    }
}

/// The session or course an id names.
fn linkable(id: &ID) -> Result<(RecordType, Uuid), Refusal> {
    let refused =
        || Refusal::new(UserErrorCode::InvalidId, "the id of a session or a course").at("input.id");
    let global = GlobalId::decode(id, "id").map_err(|_| refused())?;
    match global.node_type {
        NodeType::Session => Ok((RecordType::Session, global.uuid)),
        NodeType::Course => Ok((RecordType::Course, global.uuid)),
        _ => Err(refused()),
    }
}

fn too_many(count: usize) -> Option<Refusal> {
    (count == 0 || count > MAX_ITEMS)
        .then(|| Refusal::bad_input("input.items", format!("send 1 to {MAX_ITEMS} items")))
}

/// The stored answer of a batch, for replays.
#[derive(Serialize, serde::Deserialize)]
struct StoredAnswer {
    outcomes: Vec<ItemOutcome>,
}

/// Runs a batch with its idempotency key: a replay answers the stored outcomes; a dry run
/// neither uses nor keeps a key.
async fn run_batch<I: Serialize>(
    ctx: &Context<'_>,
    operation: &'static str,
    input: &I,
    key: Option<&str>,
    dry_run: bool,
    policy: ErrorPolicy,
    plan: impl AsyncFnOnce() -> Result<Result<Vec<Item>, Refusal>, ApiError>,
) -> FieldResult<Result<(Vec<ItemOutcome>, bool), Refusal>> {
    let data = request_data(ctx)?;
    let actor = data.viewer.actor().ok_or(ApiError::Unauthenticated)?;
    let now = Utc::now();
    let claimed = match key.filter(|_| !dry_run) {
        None => None,
        Some(key) => {
            if let Err(refusal) = check_key(key) {
                return Ok(Err(refusal));
            }
            let input = serde_json::to_value(input).map_err(anyhow::Error::from)?;
            let hash = idempotency::request_hash(operation, &input);
            let scope = idempotency::scope_of(&data.viewer, operation);
            let request = KeyRequest {
                scope: &scope,
                key,
                operation,
                request_hash: &hash,
            };
            let settings = data.idempotency;
            match idempotency::claim(&data.db, &request, now, settings.lease, settings.kept_for)
                .await
                .map_err(ApiError::from)?
            {
                Claim::Fresh(id) => Some(id),
                Claim::Replay(answer) => {
                    let stored: StoredAnswer =
                        serde_json::from_str(&answer).map_err(anyhow::Error::from)?;
                    return Ok(Ok((stored.outcomes, true)));
                }
                Claim::Reused => {
                    return Ok(Err(Refusal::new(
                        UserErrorCode::IdempotencyKeyReused,
                        "this idempotency key was used for a different request",
                    )
                    .at("input.idempotencyKey")));
                }
                Claim::InProgress => return Err(ApiError::IdempotencyKeyInUse.into()),
            }
        }
    };
    let release = async |db: &sea_orm::DatabaseConnection| {
        if let Some(id) = claimed {
            super::release(db, id).await;
        }
    };
    let items = match plan().await {
        Ok(Ok(items)) => items,
        Ok(Err(refusal)) => {
            release(&data.db).await;
            return Ok(Err(refusal));
        }
        Err(error) => {
            release(&data.db).await;
            return Err(error.into());
        }
    };
    // The batch runs to its end in a task of its own, like a single change: a client that gives
    // up must not cut commits off from the answer stored for its key.
    let db = data.db.clone();
    let live = data.live.clone();
    let finished = tokio::spawn(async move {
        let outcomes = upsert::run(&db, &live, &actor, policy, dry_run, items).await;
        if let (Ok(outcomes), false) = (&outcomes, dry_run) {
            let counts = upsert::Counts::of(outcomes);
            if let Err(error) = upsert::record_batch(&db, &actor, operation, policy, counts).await {
                tracing::warn!(error = %error, "could not record a batch on the audit trail");
            }
        }
        if let (Ok(outcomes), Some(id)) = (&outcomes, claimed) {
            let answer = serde_json::to_string(&StoredAnswer {
                outcomes: outcomes.clone(),
            })
            .unwrap_or_default();
            if let Err(error) = idempotency::complete(&db, id, &answer).await {
                tracing::warn!(error = %error, "could not store a batch's answer for its key");
            }
        } else if let Some(id) = claimed {
            super::release(&db, id).await;
        }
        outcomes
    })
    .await
    .map_err(|error| ApiError::Internal(anyhow::anyhow!("a batch panicked: {error}")))?;
    crate::db::loaders::forget_everything(&data.loaders);
    match finished {
        Ok(outcomes) => Ok(Ok((outcomes, false))),
        Err(TxError::Busy) => Err(ApiError::TryAgain.into()),
        Err(TxError::Refused(refusal)) => Ok(Err(refusal)),
        Err(TxError::Db(error)) => Err(ApiError::Database(error).into()),
    }
}

/// The payload of a batch: one result per item (then the snapshot's cancellations), with the
/// enrolments' status and version as they now stand.
async fn payload(
    ctx: &Context<'_>,
    client_mutation_id: Option<String>,
    external_ids: Vec<String>,
    answered: FieldResult<Result<(Vec<ItemOutcome>, bool), Refusal>>,
    dry_run: bool,
) -> FieldResult<SyncPayload> {
    let (outcomes, replayed) = match answered? {
        Ok(done) => done,
        Err(refusal) => {
            return Ok(SyncPayload {
                result: MutationResult {
                    client_mutation_id,
                    replayed: false,
                    user_errors: vec![UserError {
                        code: refusal.code,
                        message: refusal.message,
                        field: refusal.field,
                    }],
                },
                dry_run,
                results: Vec::new(),
                cancelled_by_snapshot: Vec::new(),
                summary: SyncSummary::default(),
            });
        }
    };
    let ids: Vec<Uuid> = outcomes.iter().filter_map(|o| o.enrolment_id).collect();
    let db = &request_data(ctx)?.db;
    let mut standing: HashMap<Uuid, (EnrolmentStatus, i32)> = HashMap::new();
    for chunk in ids.chunks(500) {
        for row in people::find_enrolments_by_ids(db, chunk).await? {
            standing.insert(row.id, (row.status.into(), row.version));
        }
    }
    let mut summary = SyncSummary::default();
    let mut results = Vec::new();
    let mut cancelled_by_snapshot = Vec::new();
    for (index, outcome) in outcomes.into_iter().enumerate() {
        let counter = match outcome.action {
            SyncAction::Created => &mut summary.created,
            SyncAction::Updated => &mut summary.updated,
            SyncAction::Unchanged => &mut summary.unchanged,
            SyncAction::Cancelled => &mut summary.cancelled,
            SyncAction::Rejected => &mut summary.rejected,
        };
        *counter += 1;
        let Some(external_id) = external_ids.get(index) else {
            if let Some(id) = outcome.enrolment_id {
                cancelled_by_snapshot.push(ID(EnrolmentId(id).to_global()));
            }
            continue;
        };
        let stands = outcome
            .enrolment_id
            .and_then(|id| standing.get(&id))
            .copied();
        results.push(SyncItemResult {
            index: i32::try_from(index).unwrap_or(i32::MAX),
            external_id: external_id.clone(),
            action: outcome.action,
            participant_id: outcome
                .participant_id
                .map(|id| ID(ParticipantId(id).to_global())),
            enrolment_id: outcome
                .enrolment_id
                .map(|id| ID(EnrolmentId(id).to_global())),
            status: stands.map(|(status, _)| status),
            version: stands.map(|(_, version)| version),
            error: outcome.refusal.map(|refusal| UserError {
                code: refusal.code,
                message: refusal.message,
                field: refusal.field,
            }),
        });
    }
    Ok(SyncPayload {
        result: MutationResult {
            client_mutation_id,
            replayed,
            user_errors: Vec::new(),
        },
        dry_run,
        results,
        cancelled_by_snapshot,
        summary,
    })
}

/// Checks an enrolment item.
fn check_enrolment(index: usize, item: &SyncEnrolmentInput) -> Result<SyncedEnrolment, Refusal> {
    let (external_id, participant_external_id) =
        enrolments::check_ids(index, &item.external_id, &item.participant_external_id)?;
    let field = |name: &str| format!("items.{index}.{name}");
    let session = match (&item.session_id, &item.session_external_id) {
        (Some(id), None) => SessionRef::Id(
            SessionId::from_global(id, "sessionId")
                .map_err(|_| {
                    Refusal::new(UserErrorCode::InvalidId, "not a session id")
                        .at(field("sessionId"))
                })?
                .0,
        ),
        (None, Some(external)) => SessionRef::External(input::required(
            external,
            &field("sessionExternalId"),
            external_ids::MAX_EXTERNAL_ID,
            false,
        )?),
        _ => {
            return Err(Refusal::bad_input(
                &field("sessionId"),
                "give either `sessionId` or `sessionExternalId`",
            ));
        }
    };
    Ok(SyncedEnrolment {
        external_id,
        participant_external_id,
        session,
        status: item.status,
        reason: input::text(item.reason.as_deref(), &field("reason"), 500, true)?,
    })
}

#[Object]
impl SyncMutation {
    /// Creates or updates up to 1,000 participants as a source system knows them: by the id the
    /// source knows them by, else by their e-mail address. One result per item; an item that
    /// changes nothing is `UNCHANGED` and writes nothing. Sync clients (their source's ids) and
    /// administrators (the default source's).
    async fn sync_participants(
        &self,
        ctx: &Context<'_>,
        input: SyncParticipantsInput,
    ) -> FieldResult<SyncPayload> {
        let viewer = viewer(ctx)?;
        require_sync_writer(viewer)?;
        let source = source_of(viewer);
        let scoped = external_ids::scope_of(viewer).is_some();
        let external_ids: Vec<String> = input.items.iter().map(|i| i.external_id.clone()).collect();
        let answered = if let Some(refusal) = too_many(input.items.len()) {
            Ok(Err(refusal))
        } else {
            let checked: Vec<_> = input
                .items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    participants::check(
                        index,
                        &ParticipantFields {
                            external_id: &item.external_id,
                            full_name: &item.full_name,
                            email: &item.email,
                            phone: item.phone.as_deref(),
                            role: item.role.into(),
                            municipality_code: item.municipality_code.as_deref(),
                        },
                    )
                })
                .collect();
            let db = request_data(ctx)?.db.clone();
            let key = input.options.idempotency_key.as_deref();
            run_batch(
                ctx,
                "syncParticipants",
                &input,
                key,
                input.dry_run,
                input.error_policy,
                async || Ok(Ok(participants::plan(&db, &source, scoped, checked).await?)),
            )
            .await
        };
        payload(
            ctx,
            input.options.client_mutation_id.clone(),
            external_ids,
            answered,
            input.dry_run,
        )
        .await
    }

    /// Gives a session or a course the id the caller's source system knows it by (or takes
    /// it away), so that `syncEnrolments` can name sessions by `sessionExternalId` and CSV files
    /// by `classSourcedId`. One id per record and source; an id already naming another record
    /// is `CONFLICT`. Sync clients (their source) and administrators (the default source).
    async fn link_external_id(
        &self,
        ctx: &Context<'_>,
        input: LinkExternalIdInput,
    ) -> FieldResult<LinkExternalIdPayload> {
        let viewer = viewer(ctx)?;
        require_sync_writer(viewer)?;
        let source = source_of(viewer);
        let data = request_data(ctx)?;
        let actor = data.viewer.actor().ok_or(ApiError::Unauthenticated)?;
        let answer = |result: Result<Option<String>, Refusal>| LinkExternalIdPayload {
            result: MutationResult {
                client_mutation_id: input.client_mutation_id.clone(),
                replayed: false,
                user_errors: result
                    .as_ref()
                    .err()
                    .map(|refusal| UserError {
                        code: refusal.code,
                        message: refusal.message.clone(),
                        field: refusal.field.clone(),
                    })
                    .into_iter()
                    .collect(),
            },
            external_id: result.ok().flatten(),
        };
        let target = match linkable(&input.id) {
            Ok(target) => target,
            Err(refusal) => return Ok(answer(Err(refusal))),
        };
        let external_id = match input
            .external_id
            .as_deref()
            .map(|id| input::required(id, "input.externalId", external_ids::MAX_EXTERNAL_ID, false))
            .transpose()
        {
            Ok(id) => id,
            Err(refusal) => return Ok(answer(Err(refusal))),
        };
        let (kind, record) = target;
        let linked = crate::db::transaction::write(&data.db, |txn| {
            let (source, actor, external_id) = (source.clone(), actor.clone(), external_id.clone());
            Box::pin(async move {
                let exists = match kind {
                    RecordType::Session => entity::session::Entity::find_by_id(record)
                        .one(txn)
                        .await?
                        .is_some(),
                    _ => entity::course::Entity::find_by_id(record)
                        .one(txn)
                        .await?
                        .is_some(),
                };
                if !exists {
                    return Err(TxError::Refused(
                        Refusal::new(UserErrorCode::NotFound, "no such session or course")
                            .at("input.id"),
                    ));
                }
                external_ids::unlink(txn, &source, kind, record).await?;
                if let Some(id) = &external_id {
                    external_ids::assign(txn, &source, kind, id, record, Utc::now())
                        .await
                        .map_err(|error| match error {
                            AssignError::Taken => TxError::Refused(
                                Refusal::new(
                                    UserErrorCode::Conflict,
                                    "this id names another record in your source",
                                )
                                .at("input.externalId"),
                            ),
                            AssignError::Db(error) => error.into(),
                        })?;
                }
                crate::audit::record_change(
                    txn,
                    &actor,
                    "linkExternalId",
                    if kind == RecordType::Session {
                        "Session"
                    } else {
                        "Course"
                    },
                    &[record],
                    Utc::now(),
                )
                .await?;
                Ok(external_id)
            })
        })
        .await;
        match linked {
            Ok(id) => Ok(answer(Ok(id))),
            Err(TxError::Refused(refusal)) => Ok(answer(Err(refusal))),
            Err(TxError::Busy) => Err(ApiError::TryAgain.into()),
            Err(TxError::Db(error)) => Err(ApiError::from(error).into()),
        }
    }

    /// Books or cancels up to 1,000 enrolments as a source system knows them, through the same
    /// rules as `bookSeat` and `cancelEnrolment` (capacity, the waiting list, eligibility, the
    /// booking window). With `snapshot`, the batch lists all of the source's enrolments of a
    /// session or course, and what it leaves out is cancelled. Sync clients and administrators.
    async fn sync_enrolments(
        &self,
        ctx: &Context<'_>,
        input: SyncEnrolmentsInput,
    ) -> FieldResult<SyncPayload> {
        let viewer = viewer(ctx)?;
        require_sync_writer(viewer)?;
        let source = source_of(viewer);
        let external_ids: Vec<String> = input.items.iter().map(|i| i.external_id.clone()).collect();
        let answered = if let Some(refusal) = too_many(input.items.len()) {
            Ok(Err(refusal))
        } else {
            let checked: Vec<_> = input
                .items
                .iter()
                .enumerate()
                .map(|(index, item)| check_enrolment(index, item))
                .collect();
            let snapshot = match &input.snapshot {
                None => Ok(None),
                Some(snapshot) => snapshot_scope(snapshot),
            };
            let db = request_data(ctx)?.db.clone();
            let key = input.options.idempotency_key.as_deref();
            run_batch(
                ctx,
                "syncEnrolments",
                &input,
                key,
                input.dry_run,
                input.error_policy,
                async || {
                    let snapshot = match snapshot {
                        Err(refusal) => return Ok(Err(refusal)),
                        Ok(None) => None,
                        Ok(Some((session, course, share, force))) => Some(Snapshot {
                            sessions: enrolments::snapshot_sessions(&db, session, course).await?,
                            max_cancel_share: share,
                            force,
                        }),
                    };
                    Ok(enrolments::plan(&db, &source, checked, snapshot).await?)
                },
            )
            .await
        };
        payload(
            ctx,
            input.options.client_mutation_id.clone(),
            external_ids,
            answered,
            input.dry_run,
        )
        .await
    }
}

/// A snapshot's session or course, and its guard.
#[allow(clippy::type_complexity)]
fn snapshot_scope(
    snapshot: &SyncSnapshotInput,
) -> Result<Option<(Option<Uuid>, Option<Uuid>, f64, bool)>, Refusal> {
    let share = snapshot.max_cancel_share;
    if !(0.0..=1.0).contains(&share) {
        return Err(Refusal::bad_input(
            "input.snapshot.maxCancelShare",
            "a share between 0 and 1",
        ));
    }
    let invalid = |field: &str| Refusal::new(UserErrorCode::InvalidId, "not a valid id").at(field);
    match (&snapshot.session_id, &snapshot.course_id) {
        (Some(id), None) => Ok(Some((
            Some(
                SessionId::from_global(id, "sessionId")
                    .map_err(|_| invalid("input.snapshot.sessionId"))?
                    .0,
            ),
            None,
            share,
            snapshot.force,
        ))),
        (None, Some(id)) => Ok(Some((
            None,
            Some(
                CourseId::from_global(id, "courseId")
                    .map_err(|_| invalid("input.snapshot.courseId"))?
                    .0,
            ),
            share,
            snapshot.force,
        ))),
        _ => Err(Refusal::bad_input(
            "input.snapshot",
            "name either the session or the course whose enrolments the batch lists",
        )),
    }
}
