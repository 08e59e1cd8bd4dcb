//! DataLoaders: every field that reads related rows asks here, and the loader answers all the
//! items of a response in one statement, so a query's statement count does not grow with its
//! page size. One `DbLoader` serves every key type; a fresh one is made for each request.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
};

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{
    actor, actor_availability, course, enrolment, enrolment_change, enums::ParticipantRole,
    feedback, location, module, municipality, organisation, participant, session, session_actor,
};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use super::{
    actors, booking, course as courses, feedback as feedbacks, location as locations,
    module as modules,
    module::ModuleParent,
    organisation as organisations, people,
    session::{self as sessions, Owner, SeatCounts, SessionFilter},
};
use crate::domain::{
    ids::{
        ActorId, CourseId, EnrolmentId, FeedbackId, LocationId, ModuleId, MunicipalityId,
        OrganisationId, ParticipantId, SessionId,
    },
    pagination::{Page, PageRequest, SessionCursor},
};
use crate::sync::external_ids::{self, RecordType, Source};

pub type Loaders = DataLoader<DbLoader>;

pub fn loaders(db: DatabaseConnection) -> Loaders {
    DataLoader::new(
        DbLoader {
            db,
            known: Known::default(),
        },
        tokio::spawn,
    )
}

pub struct DbLoader {
    db: DatabaseConnection,
    known: Known,
}

/// Values already known from a change (a subscription is handed the seats and the waiting list
/// of the change it follows): asked for, they are answered without a statement. The loaders keep
/// nothing else between batches (async-graphql's `NoCache`), so these are the only values that
/// outlive one; `forget_everything` forgets them too.
#[derive(Default)]
struct Known {
    seats: Mutex<HashMap<SeatsOf, SeatCounts>>,
    places: Mutex<HashMap<WaitingPlaceOf, i64>>,
}

/// Takes the known values out of `keys`: what is known, and the keys left to read.
fn known_first<K: Hash + Eq + Copy, V: Copy>(
    known: &Mutex<HashMap<K, V>>,
    keys: &[K],
) -> (HashMap<K, V>, Vec<K>) {
    let Ok(known) = known.lock() else {
        return (HashMap::new(), keys.to_vec());
    };
    let mut found = HashMap::new();
    let mut left = Vec::new();
    for key in keys {
        match known.get(key) {
            Some(value) => {
                found.insert(*key, *value);
            }
            None => left.push(*key),
        }
    }
    (found, left)
}

/// Makes the seats of a session known, as a change left them.
pub fn know_seats(loaders: &Loaders, key: SeatsOf, seats: SeatCounts) {
    if let Ok(mut known) = loaders.loader().known.seats.lock() {
        known.insert(key, seats);
    }
}

/// Makes the place of a waiting enrolment known, as a change left it.
pub fn know_place(loaders: &Loaders, key: WaitingPlaceOf, place: i64) {
    if let Ok(mut known) = loaders.loader().known.places.lock() {
        known.insert(key, place);
    }
}

type LoadResult<K, V> = Result<HashMap<K, V>, Arc<DbErr>>;

fn uuids<K: Copy>(keys: &[K], uuid: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|k| uuid(*k)).collect()
}

/// Groups rows under the key they belong to; keys without rows get an empty list.
fn group<K: Hash + Eq + Copy, V>(
    keys: &[K],
    rows: Vec<V>,
    key_of: impl Fn(&V) -> K,
) -> HashMap<K, Vec<V>> {
    let mut grouped: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        grouped.entry(key_of(&row)).or_default().push(row);
    }
    grouped
}

macro_rules! load_by_id {
    ($key:ident, $model:ty, $find:path) => {
        impl Loader<$key> for DbLoader {
            type Value = $model;
            type Error = Arc<DbErr>;

            async fn load(&self, keys: &[$key]) -> LoadResult<$key, $model> {
                let rows = $find(&self.db, &uuids(keys, |k| k.0)).await?;
                Ok(rows.into_iter().map(|row| ($key(row.id), row)).collect())
            }
        }
    };
}

load_by_id!(CourseId, course::Model, courses::find_courses_by_ids);
load_by_id!(SessionId, session::Model, sessions::find_sessions_by_ids);
load_by_id!(
    LocationId,
    location::Model,
    locations::find_locations_by_ids
);
load_by_id!(
    OrganisationId,
    organisation::Model,
    organisations::find_organisations_by_ids
);
load_by_id!(ModuleId, module::Model, modules::find_modules_by_ids);
load_by_id!(
    ParticipantId,
    participant::Model,
    people::find_participants_by_ids
);
load_by_id!(
    EnrolmentId,
    enrolment::Model,
    people::find_enrolments_by_ids
);
load_by_id!(ActorId, actor::Model, actors::find_actors_by_ids);
load_by_id!(FeedbackId, feedback::Model, feedbacks::find_feedback_by_ids);
load_by_id!(
    MunicipalityId,
    municipality::Model,
    people::find_municipalities_by_ids
);

/// The enrolments of a session, or of a participant, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnrolmentsOf {
    Session(SessionId),
    Participant(ParticipantId),
}

impl Loader<EnrolmentsOf> for DbLoader {
    type Value = Vec<enrolment::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[EnrolmentsOf]) -> LoadResult<EnrolmentsOf, Vec<enrolment::Model>> {
        let sessions: Vec<_> = keys
            .iter()
            .filter_map(|k| match k {
                EnrolmentsOf::Session(s) => Some(s.0),
                _ => None,
            })
            .collect();
        let participants: Vec<_> = keys
            .iter()
            .filter_map(|k| match k {
                EnrolmentsOf::Participant(p) => Some(p.0),
                _ => None,
            })
            .collect();
        let rows = people::find_enrolments_of(&self.db, &sessions, &participants).await?;
        let mut grouped: HashMap<EnrolmentsOf, Vec<enrolment::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            for key in [
                EnrolmentsOf::Session(SessionId(row.session_id)),
                EnrolmentsOf::Participant(ParticipantId(row.participant_id)),
            ] {
                if let Some(list) = grouped.get_mut(&key) {
                    list.push(row.clone());
                }
            }
        }
        Ok(grouped)
    }
}

/// The goals of a course, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GoalsOf(pub CourseId);

impl Loader<GoalsOf> for DbLoader {
    type Value = Vec<String>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[GoalsOf]) -> LoadResult<GoalsOf, Vec<String>> {
        let rows = courses::find_goals(&self.db, &uuids(keys, |k| k.0.0)).await?;
        Ok(group(keys, rows, |goal| GoalsOf(CourseId(goal.course_id)))
            .into_iter()
            .map(|(key, goals)| (key, goals.into_iter().map(|goal| goal.text).collect()))
            .collect())
    }
}

/// The participant roles a course is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudienceOf(pub CourseId);

impl Loader<AudienceOf> for DbLoader {
    type Value = Vec<ParticipantRole>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[AudienceOf]) -> LoadResult<AudienceOf, Vec<ParticipantRole>> {
        let rows = courses::find_audience_roles(&self.db, &uuids(keys, |k| k.0.0)).await?;
        Ok(
            group(keys, rows, |role| AudienceOf(CourseId(role.course_id)))
                .into_iter()
                .map(|(key, roles)| {
                    let mut roles: Vec<_> = roles.into_iter().map(|r| r.role).collect();
                    roles.sort();
                    (key, roles)
                })
                .collect(),
        )
    }
}

/// Published testimonials of a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TestimonialsOf(pub CourseId);

impl Loader<TestimonialsOf> for DbLoader {
    type Value = Vec<feedback::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[TestimonialsOf],
    ) -> LoadResult<TestimonialsOf, Vec<feedback::Model>> {
        let rows = courses::find_published_testimonials(&self.db, &uuids(keys, |k| k.0.0)).await?;
        Ok(group(keys, rows, |f| TestimonialsOf(CourseId(f.course_id))))
    }
}

/// People who attended a session of a course since records began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttendeesOf(pub CourseId);

impl Loader<AttendeesOf> for DbLoader {
    type Value = i64;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[AttendeesOf]) -> LoadResult<AttendeesOf, i64> {
        let rows = courses::count_attendees(&self.db, &uuids(keys, |k| k.0.0)).await?;
        let mut counts: HashMap<_, _> = keys.iter().map(|k| (*k, 0)).collect();
        counts.extend(
            rows.into_iter()
                .map(|row| (AttendeesOf(CourseId(row.course_id)), row.attendees)),
        );
        Ok(counts)
    }
}

/// The modules directly under a course (its parts) or under a module, in order.
impl Loader<ModuleParent> for DbLoader {
    type Value = Vec<module::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[ModuleParent]) -> LoadResult<ModuleParent, Vec<module::Model>> {
        let rows = modules::find_modules_by_parents(&self.db, keys).await?;
        Ok(group(keys, rows, ModuleParent::of))
    }
}

/// The topics of a module, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicsOf(pub ModuleId);

impl Loader<TopicsOf> for DbLoader {
    type Value = Vec<String>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[TopicsOf]) -> LoadResult<TopicsOf, Vec<String>> {
        let rows = modules::find_topics(&self.db, &uuids(keys, |k| k.0.0)).await?;
        Ok(group(keys, rows, |t| TopicsOf(ModuleId(t.module_id)))
            .into_iter()
            .map(|(key, topics)| (key, topics.into_iter().map(|t| t.text).collect()))
            .collect())
    }
}

/// The id a source knows a record by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalIdOf {
    pub source: Arc<str>,
    pub kind: RecordType,
    pub record: Uuid,
}

impl Loader<ExternalIdOf> for DbLoader {
    type Value = String;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[ExternalIdOf]) -> LoadResult<ExternalIdOf, String> {
        // Keys of one response share their source and kind, nearly always: one statement each.
        let mut groups: HashMap<(Arc<str>, RecordType), Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.source.clone(), key.kind))
                .or_default()
                .push(key.record);
        }
        let mut found = HashMap::new();
        for ((source, kind), records) in groups {
            let ids = external_ids::find_external_ids(
                &self.db,
                &Source::parse(&source).unwrap_or_else(|_| Source::default_source()),
                kind,
                &records,
            )
            .await?;
            found.extend(ids.into_iter().map(|(record, id)| {
                (
                    ExternalIdOf {
                        source: source.clone(),
                        kind,
                        record,
                    },
                    id,
                )
            }));
        }
        Ok(found)
    }
}

/// Seats taken and waiting list of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeatsOf(pub SessionId);

impl Loader<SeatsOf> for DbLoader {
    type Value = SeatCounts;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[SeatsOf]) -> LoadResult<SeatsOf, SeatCounts> {
        let (mut found, keys) = known_first(&self.known.seats, keys);
        if keys.is_empty() {
            return Ok(found);
        }
        let mut counts = sessions::count_seats(&self.db, &uuids(&keys, |k| k.0.0)).await?;
        found.extend(
            keys.iter()
                .map(|k| (*k, counts.remove(&k.0.0).unwrap_or_default())),
        );
        Ok(found)
    }
}

/// A page of a course's sessions; courses asked with the same filter and page share a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionsOf {
    pub course: CourseId,
    pub filter: Arc<SessionFilter>,
    pub page: Arc<PageRequest<SessionCursor>>,
}

impl Loader<SessionsOf> for DbLoader {
    type Value = Page<session::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[SessionsOf]) -> LoadResult<SessionsOf, Page<session::Model>> {
        let owned = keys
            .iter()
            .map(|k| (k.course.0, k.filter.clone(), k.page.clone()));
        let pages = pages_per_owner(&self.db, Owner::Course, owned).await?;
        Ok(pages
            .into_iter()
            .map(|((course, filter, page), found)| {
                let key = SessionsOf {
                    course: CourseId(course),
                    filter,
                    page,
                };
                (key, found)
            })
            .collect())
    }
}

type PageKey = (Uuid, Arc<SessionFilter>, Arc<PageRequest<SessionCursor>>);

/// Pages of sessions for many owners: one statement for each filter and page asked.
async fn pages_per_owner(
    db: &DatabaseConnection,
    owner: Owner,
    keys: impl Iterator<Item = PageKey>,
) -> Result<HashMap<PageKey, Page<session::Model>>, DbErr> {
    type Batch = (Arc<SessionFilter>, Arc<PageRequest<SessionCursor>>);
    let mut batches: HashMap<Batch, Vec<Uuid>> = HashMap::new();
    for (id, filter, page) in keys {
        batches.entry((filter, page)).or_default().push(id);
    }
    let mut pages = HashMap::new();
    for ((filter, page), ids) in batches {
        let found = sessions::list_sessions_per_owner(db, owner, &ids, &filter, &page).await?;
        for (id, owner_page) in found {
            pages.insert((id, filter.clone(), page.clone()), owner_page);
        }
    }
    Ok(pages)
}

/// A page of an actor's schedule; actors asked with the same filter and page share a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScheduleOf {
    pub actor: ActorId,
    pub filter: Arc<SessionFilter>,
    pub page: Arc<PageRequest<SessionCursor>>,
}

impl Loader<ScheduleOf> for DbLoader {
    type Value = Page<session::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[ScheduleOf]) -> LoadResult<ScheduleOf, Page<session::Model>> {
        let owned = keys
            .iter()
            .map(|k| (k.actor.0, k.filter.clone(), k.page.clone()));
        let pages = pages_per_owner(&self.db, Owner::Actor, owned).await?;
        Ok(pages
            .into_iter()
            .map(|((actor, filter, page), found)| {
                let key = ScheduleOf {
                    actor: ActorId(actor),
                    filter,
                    page,
                };
                (key, found)
            })
            .collect())
    }
}

/// How many sessions of a course match a filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionCountOf {
    pub course: CourseId,
    pub filter: Arc<SessionFilter>,
}

impl Loader<SessionCountOf> for DbLoader {
    type Value = u64;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[SessionCountOf]) -> LoadResult<SessionCountOf, u64> {
        let mut batches: HashMap<&SessionFilter, Vec<Uuid>> = HashMap::new();
        for key in keys {
            batches.entry(&key.filter).or_default().push(key.course.0);
        }
        let mut counts = HashMap::new();
        for (filter, course_ids) in batches {
            let found = sessions::count_sessions_per_course(&self.db, &course_ids, filter).await?;
            for course_id in course_ids {
                let key = SessionCountOf {
                    course: CourseId(course_id),
                    filter: Arc::new(filter.clone()),
                };
                counts.insert(key, found.get(&course_id).copied().unwrap_or(0));
            }
        }
        Ok(counts)
    }
}

/// The place of a waiting enrolment on its session's waiting list (1 is next).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WaitingPlaceOf(pub EnrolmentId);

impl Loader<WaitingPlaceOf> for DbLoader {
    type Value = i64;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[WaitingPlaceOf]) -> LoadResult<WaitingPlaceOf, i64> {
        let (mut found, keys) = known_first(&self.known.places, keys);
        if keys.is_empty() {
            return Ok(found);
        }
        let places = booking::waiting_places(&self.db, &uuids(&keys, |k| k.0.0)).await?;
        found.extend(
            places
                .into_iter()
                .map(|(id, place)| (WaitingPlaceOf(EnrolmentId(id)), place)),
        );
        Ok(found)
    }
}

/// An enrolment's history, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChangesOf(pub EnrolmentId);

impl Loader<ChangesOf> for DbLoader {
    type Value = Vec<enrolment_change::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[ChangesOf]) -> LoadResult<ChangesOf, Self::Value> {
        let rows = people::find_enrolment_changes(&self.db, &uuids(keys, |k| k.0.0)).await?;
        Ok(group(keys, rows, |row| {
            ChangesOf(EnrolmentId(row.enrolment_id))
        }))
    }
}

/// An actor's availability, earliest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AvailabilityOf(pub ActorId);

impl Loader<AvailabilityOf> for DbLoader {
    type Value = Vec<actor_availability::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[AvailabilityOf]) -> LoadResult<AvailabilityOf, Self::Value> {
        let rows = actors::availability_of(&self.db, &uuids(keys, |k| k.0.0)).await?;
        Ok(group(keys, rows, |row| {
            AvailabilityOf(ActorId(row.actor_id))
        }))
    }
}

/// The actors of a session, or the sessions of an actor, in the sessions' order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignmentsOf {
    Session(SessionId),
    Actor(ActorId),
}

impl Loader<AssignmentsOf> for DbLoader {
    type Value = Vec<(session_actor::Model, session::Model)>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[AssignmentsOf]) -> LoadResult<AssignmentsOf, Self::Value> {
        let sessions: Vec<_> = keys
            .iter()
            .filter_map(|k| match k {
                AssignmentsOf::Session(s) => Some(s.0),
                AssignmentsOf::Actor(_) => None,
            })
            .collect();
        let actors: Vec<_> = keys
            .iter()
            .filter_map(|k| match k {
                AssignmentsOf::Actor(a) => Some(a.0),
                AssignmentsOf::Session(_) => None,
            })
            .collect();
        let rows = actors::assignments(&self.db, &sessions, &actors).await?;
        let mut grouped: HashMap<AssignmentsOf, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (row, session) in rows {
            for key in [
                AssignmentsOf::Session(SessionId(row.session_id)),
                AssignmentsOf::Actor(ActorId(row.actor_id)),
            ] {
                if let Some(list) = grouped.get_mut(&key) {
                    list.push((row.clone(), session.clone()));
                }
            }
        }
        Ok(grouped)
    }
}

/// Forgets everything loaded so far: after a mutation, the rest of the request reads anew.
pub fn forget_everything(loaders: &Loaders) {
    let known = &loaders.loader().known;
    if let Ok(mut seats) = known.seats.lock() {
        seats.clear();
    }
    if let Ok(mut places) = known.places.lock() {
        places.clear();
    }
    loaders.clear::<CourseId>();
    loaders.clear::<SessionId>();
    loaders.clear::<LocationId>();
    loaders.clear::<OrganisationId>();
    loaders.clear::<ModuleId>();
    loaders.clear::<ParticipantId>();
    loaders.clear::<EnrolmentId>();
    loaders.clear::<MunicipalityId>();
    loaders.clear::<EnrolmentsOf>();
    loaders.clear::<GoalsOf>();
    loaders.clear::<AudienceOf>();
    loaders.clear::<TestimonialsOf>();
    loaders.clear::<AttendeesOf>();
    loaders.clear::<ModuleParent>();
    loaders.clear::<TopicsOf>();
    loaders.clear::<SeatsOf>();
    loaders.clear::<SessionsOf>();
    loaders.clear::<SessionCountOf>();
    loaders.clear::<WaitingPlaceOf>();
    loaders.clear::<ChangesOf>();
    loaders.clear::<ActorId>();
    loaders.clear::<FeedbackId>();
    loaders.clear::<ExternalIdOf>();
    loaders.clear::<AvailabilityOf>();
    loaders.clear::<AssignmentsOf>();
    loaders.clear::<ScheduleOf>();
}
