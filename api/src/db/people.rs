//! Participants, their municipalities and their enrolments: personal data, read only through
//! resolvers that check `auth::policy` first.

use entity::{enrolment, enrolment_change, municipality, participant};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, sea_query::Expr,
};
use uuid::Uuid;

pub async fn find_participants_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<participant::Model>, DbErr> {
    participant::Entity::find()
        .filter(participant::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

pub async fn find_municipalities_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<municipality::Model>, DbErr> {
    municipality::Entity::find()
        .filter(municipality::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

pub async fn find_enrolments_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<enrolment::Model>, DbErr> {
    enrolment::Entity::find()
        .filter(enrolment::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// The enrolments of these sessions and of these participants, oldest first.
pub async fn find_enrolments_of(
    db: &impl ConnectionTrait,
    session_ids: &[Uuid],
    participant_ids: &[Uuid],
) -> Result<Vec<enrolment::Model>, DbErr> {
    enrolment::Entity::find()
        .filter(
            Condition::any()
                .add(enrolment::Column::SessionId.is_in(session_ids.iter().copied()))
                .add(enrolment::Column::ParticipantId.is_in(participant_ids.iter().copied())),
        )
        .order_by_asc(enrolment::Column::CreatedAt)
        .order_by_asc(enrolment::Column::Id)
        .all(db)
        .await
}

pub async fn find_enrolment_changes(
    db: &impl ConnectionTrait,
    enrolment_ids: &[Uuid],
) -> Result<Vec<enrolment_change::Model>, DbErr> {
    enrolment_change::Entity::find()
        .filter(enrolment_change::Column::EnrolmentId.is_in(enrolment_ids.iter().copied()))
        .order_by_asc(enrolment_change::Column::OccurredAt)
        .order_by_asc(enrolment_change::Column::Id)
        .all(db)
        .await
}

/// Whether a participant's address looks like one with this skeleton (the exact address was
/// checked before: this finds the look-alikes).
pub async fn has_look_alike(db: &impl ConnectionTrait, skeleton: &str) -> Result<bool, DbErr> {
    let found = participant::Entity::find()
        .filter(participant::Column::EmailSkeleton.eq(skeleton))
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Holds, until the transaction ends, the right to add an address with this skeleton: on
/// PostgreSQL an advisory lock on its hash; SQLite's write lock is held from BEGIN already.
pub async fn lock_skeleton(db: &impl ConnectionTrait, skeleton: &str) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))",
        [skeleton.into()],
    ))
    .await?;
    Ok(())
}

/// Brings addresses stored before they were normalised into their normal form (unless another
/// record has that form already) and computes their skeletons; run at start, one statement when
/// there is nothing to do.
pub async fn fill_missing_skeletons(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use crate::domain::email::{normalise, skeleton_of};
    let missing: Vec<(Uuid, String)> = participant::Entity::find()
        .select_only()
        .column(participant::Column::Id)
        .column(participant::Column::Email)
        .filter(participant::Column::EmailSkeleton.is_null())
        .into_tuple()
        .all(db)
        .await?;
    for (id, email) in &missing {
        let normal = normalise(email);
        let mut update = participant::Entity::update_many()
            .col_expr(
                participant::Column::EmailSkeleton,
                Expr::value(skeleton_of(&normal)),
            )
            .filter(participant::Column::Id.eq(*id));
        let taken = participant::Entity::find()
            .filter(participant::Column::Email.eq(normal.as_str()))
            .filter(participant::Column::Id.ne(*id))
            .one(db)
            .await?
            .is_some();
        if normal != *email && !taken {
            update = update.col_expr(participant::Column::Email, Expr::value(normal));
        }
        update.exec(db).await?;
    }
    Ok(missing.len() as u64)
}
