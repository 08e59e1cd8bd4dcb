//! Planning: courses with their goals and audience, organisations and locations. Each write is one
//! transaction through `Change`, audited in it, and answered like a booking.

use chrono::NaiveTime;
use entity::{
    course, course_audience_role, course_goal,
    enums::{CourseStatus, ParticipantRole, RegistrationMethod},
    location, organisation,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, SqlErr, sea_query::Expr};
use uuid::Uuid;

use super::{
    change::{Change, Outcome},
    transaction::TxError,
};
use crate::{
    domain::booking::{Refusal, UserErrorCode},
    live::{Live, LiveChange},
};

/// Everything a course says about itself, checked by the caller.
#[derive(Debug, Clone)]
pub struct CourseDetails {
    pub slug: String,
    pub title: String,
    pub subtitle: Option<String>,
    pub introduction: String,
    pub method: String,
    pub audience: String,
    pub theme: Option<String>,
    pub goals: Vec<String>,
    pub audience_roles: Vec<ParticipantRole>,
    pub max_participants: i32,
    pub duration_days: i32,
    pub daily_start_time: NaiveTime,
    pub daily_end_time: NaiveTime,
    pub alumni_count_before_platform: i32,
    pub cancellation_deadline_hours: i32,
    pub allow_repeat_enrolment: bool,
    pub provider_id: Uuid,
    pub sponsor_id: Option<Uuid>,
}

/// Creates a course (as a DRAFT) or replaces an existing course's details.
pub async fn save_course(
    change: Change<'_>,
    live: &Live,
    existing: Option<Uuid>,
    details: &CourseDetails,
) -> Result<Outcome, TxError> {
    let txn = change.txn;
    let id = match existing {
        Some(id) => {
            // Locks the course against a concurrent edit of its goals and roles.
            let locked = course::Entity::update_many()
                .col_expr(course::Column::UpdatedAt, Expr::value(change.now))
                .filter(course::Column::Id.eq(id))
                .exec(txn)
                .await?;
            if locked.rows_affected == 0 {
                return Err(Refusal::not_found("course", "input.courseId").into());
            }
            id
        }
        None => Uuid::new_v4(),
    };
    let taken = course::Entity::find()
        .filter(course::Column::Slug.eq(details.slug.as_str()))
        .filter(course::Column::Id.ne(id))
        .one(txn)
        .await?;
    if taken.is_some() {
        return Err(slug_taken());
    }
    for (organisation, field) in [
        (Some(details.provider_id), "input.details.providerId"),
        (details.sponsor_id, "input.details.sponsorId"),
    ] {
        if let Some(organisation) = organisation
            && organisation::Entity::find_by_id(organisation)
                .one(txn)
                .await?
                .is_none()
        {
            return Err(Refusal::not_found("organisation", field).into());
        }
    }

    let model = course::ActiveModel {
        id: Set(id),
        slug: Set(details.slug.clone()),
        title: Set(details.title.clone()),
        subtitle: Set(details.subtitle.clone()),
        introduction: Set(details.introduction.clone()),
        method: Set(details.method.clone()),
        audience: Set(details.audience.clone()),
        theme: Set(details.theme.clone()),
        max_participants: Set(details.max_participants),
        duration_days: Set(details.duration_days),
        daily_start_time: Set(details.daily_start_time),
        daily_end_time: Set(details.daily_end_time),
        alumni_count_before_platform: Set(details.alumni_count_before_platform),
        allow_repeat_enrolment: Set(details.allow_repeat_enrolment),
        cancellation_deadline_hours: Set(details.cancellation_deadline_hours),
        provider_id: Set(details.provider_id),
        sponsor_id: Set(details.sponsor_id),
        updated_at: Set(change.now),
        ..Default::default()
    };
    let written = if existing.is_some() {
        course::Entity::update(model).exec(txn).await.map(|_| ())
    } else {
        course::Entity::insert(course::ActiveModel {
            status: Set(CourseStatus::Draft),
            created_at: Set(change.now),
            ..model
        })
        .exec_without_returning(txn)
        .await
        .map(|_| ())
    };
    written.map_err(|error| match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => slug_taken(),
        _ => TxError::from(error),
    })?;

    course_goal::Entity::delete_many()
        .filter(course_goal::Column::CourseId.eq(id))
        .exec(txn)
        .await?;
    if !details.goals.is_empty() {
        course_goal::Entity::insert_many((0..).zip(&details.goals).map(|(position, text)| {
            course_goal::ActiveModel {
                id: Set(Uuid::new_v4()),
                course_id: Set(id),
                position: Set(position),
                text: Set(text.clone()),
                created_at: Set(change.now),
                updated_at: Set(change.now),
            }
        }))
        .exec_without_returning(txn)
        .await?;
    }
    course_audience_role::Entity::delete_many()
        .filter(course_audience_role::Column::CourseId.eq(id))
        .exec(txn)
        .await?;
    if !details.audience_roles.is_empty() {
        course_audience_role::Entity::insert_many(details.audience_roles.iter().map(|role| {
            course_audience_role::ActiveModel {
                id: Set(Uuid::new_v4()),
                course_id: Set(id),
                role: Set(*role),
                created_at: Set(change.now),
                updated_at: Set(change.now),
            }
        }))
        .exec_without_returning(txn)
        .await?;
    }
    let action = if existing.is_some() {
        "updateCourse"
    } else {
        "createCourse"
    };
    change.audit_change(action, "Course", &[id]).await?;
    change.finish(live, Outcome::for_record(id)).await
}

/// Publishes or archives a course; a draft or archived course is invisible to the public.
pub async fn set_course_status(
    mut change: Change<'_>,
    live: &Live,
    id: Uuid,
    status: CourseStatus,
) -> Result<Outcome, TxError> {
    let changed = course::Entity::update_many()
        .col_expr(course::Column::Status, Expr::value(status))
        .col_expr(course::Column::UpdatedAt, Expr::value(change.now))
        .filter(course::Column::Id.eq(id))
        .exec(change.txn)
        .await?;
    if changed.rows_affected == 0 {
        return Err(Refusal::not_found("course", "input.courseId").into());
    }
    let action = match status {
        CourseStatus::Published => "publishCourse",
        CourseStatus::Archived => "archiveCourse",
        CourseStatus::Draft => "unpublishCourse",
    };
    change.audit_change(action, "Course", &[id]).await?;
    // Subscribers to its sessions check again whether they may still see them.
    change.live.push(LiveChange::Course {
        id,
        published: status == CourseStatus::Published,
    });
    change.finish(live, Outcome::for_record(id)).await
}

fn slug_taken() -> TxError {
    Refusal::new(UserErrorCode::SlugTaken, "another course has this slug")
        .at("input.details.slug")
        .into()
}

/// An organisation: a provider, a sponsor or a parent of either, with its service desk.
#[derive(Debug, Clone)]
pub struct OrganisationDetails {
    pub slug: String,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub service_desk_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub street_address: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub registration_method: RegistrationMethod,
    pub registration_instructions: Option<String>,
}

/// Creates an organisation or replaces one's details.
pub async fn save_organisation(
    change: Change<'_>,
    live: &Live,
    existing: Option<Uuid>,
    details: &OrganisationDetails,
) -> Result<Outcome, TxError> {
    let txn = change.txn;
    let id = existing.unwrap_or_else(Uuid::new_v4);
    if existing.is_some()
        && organisation::Entity::find_by_id(id)
            .one(txn)
            .await?
            .is_none()
    {
        return Err(Refusal::not_found("organisation", "input.organisationId").into());
    }
    let taken = organisation::Entity::find()
        .filter(organisation::Column::Slug.eq(details.slug.as_str()))
        .filter(organisation::Column::Id.ne(id))
        .one(txn)
        .await?;
    if taken.is_some() {
        return Err(Refusal::new(
            UserErrorCode::SlugTaken,
            "another organisation has this slug",
        )
        .at("input.details.slug")
        .into());
    }
    // The parent chain must exist and must not lead back here.
    let mut next = details.parent_id;
    while let Some(parent) = next {
        if parent == id {
            return Err(Refusal::bad_input(
                "input.details.parentId",
                "an organisation cannot be its own parent, directly or further up",
            )
            .into());
        }
        let Some(found) = organisation::Entity::find_by_id(parent).one(txn).await? else {
            return Err(Refusal::not_found("organisation", "input.details.parentId").into());
        };
        next = found.parent_id;
    }
    let model = organisation::ActiveModel {
        id: Set(id),
        slug: Set(details.slug.clone()),
        name: Set(details.name.clone()),
        parent_id: Set(details.parent_id),
        service_desk_name: Set(details.service_desk_name.clone()),
        email: Set(details.email.clone()),
        phone: Set(details.phone.clone()),
        website: Set(details.website.clone()),
        street_address: Set(details.street_address.clone()),
        postal_code: Set(details.postal_code.clone()),
        city: Set(details.city.clone()),
        registration_method: Set(details.registration_method),
        registration_instructions: Set(details.registration_instructions.clone()),
        updated_at: Set(change.now),
        ..Default::default()
    };
    if existing.is_some() {
        organisation::Entity::update(model).exec(txn).await?;
    } else {
        organisation::Entity::insert(organisation::ActiveModel {
            created_at: Set(change.now),
            ..model
        })
        .exec_without_returning(txn)
        .await?;
    }
    let action = if existing.is_some() {
        "updateOrganisation"
    } else {
        "createOrganisation"
    };
    change.audit_change(action, "Organisation", &[id]).await?;
    change.finish(live, Outcome::for_record(id)).await
}

/// Where sessions are held.
#[derive(Debug, Clone)]
pub struct LocationDetails {
    pub name: String,
    pub street_address: Option<String>,
    pub postal_code: Option<String>,
    pub city: String,
    pub directions: Option<String>,
}

/// Creates a location or replaces one's details.
pub async fn save_location(
    change: Change<'_>,
    live: &Live,
    existing: Option<Uuid>,
    details: &LocationDetails,
) -> Result<Outcome, TxError> {
    let txn = change.txn;
    let id = existing.unwrap_or_else(Uuid::new_v4);
    let model = location::ActiveModel {
        id: Set(id),
        name: Set(details.name.clone()),
        street_address: Set(details.street_address.clone()),
        postal_code: Set(details.postal_code.clone()),
        city: Set(details.city.clone()),
        directions: Set(details.directions.clone()),
        updated_at: Set(change.now),
        ..Default::default()
    };
    if existing.is_some() {
        let updated = location::Entity::update_many()
            .set(model)
            .filter(location::Column::Id.eq(id))
            .exec(txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(Refusal::not_found("location", "input.locationId").into());
        }
    } else {
        location::Entity::insert(location::ActiveModel {
            is_demo: Set(false),
            created_at: Set(change.now),
            ..model
        })
        .exec_without_returning(txn)
        .await?;
    }
    let action = if existing.is_some() {
        "updateLocation"
    } else {
        "createLocation"
    };
    change.audit_change(action, "Location", &[id]).await?;
    change.finish(live, Outcome::for_record(id)).await
}
