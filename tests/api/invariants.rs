//! The booking rules under random sequences of operations (proptest), through the real service
//! on either database: book (by oneself or by the service desk), cancel, move, capacity changes,
//! closing and reopening, attendance, sync, and retries with the same idempotency key. After
//! every step the database is read and checked:
//! - never more confirmed than the capacity, and no free seat while someone waits and booking is
//!   open;
//! - the waiting list in arrival order, its places 1, 2, 3, … without gaps as clients read them;
//!   promotions take the first in line, and only while booking is open;
//! - one active enrolment per person and course;
//! - every change in the history (versions without gaps, the last one the status), in the outbox
//!   and on the audit trail, written with it;
//! - a refused operation changes nothing, and a retry with the same key changes nothing.
//!
//! `PROPTEST_CASES` sets the number of sequences (256 by default, of up to 30 operations); a failure prints the shortest
//! sequence proptest could shrink it to.

use std::collections::{BTreeMap, HashMap};

use api::{
    auth::Role,
    domain::ids::{EnrolmentId, ParticipantId, SessionId},
};
use chrono::{DateTime, Duration, Utc};
use entity::{
    audit_event, enrolment, enrolment_change,
    enums::{EnrolmentChangeKind, EnrolmentStatus},
    outbox_event, session,
};
use proptest::{
    prelude::*,
    test_runner::{Config, TestCaseError, TestRunner},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    booking::{BOOK, CANCEL, uuid_of},
    helpers::*,
    sync::{SYNC_ENROLMENTS, SYNC_PARTICIPANTS, source_key},
};

const PEOPLE: usize = 5;
/// Sessions still to come, which people book; one more has started, for attendance.
const SESSIONS: usize = 2;
const SEATED_IN_STARTED: usize = 3;

const MOVE: &str = "mutation($input: MoveEnrolmentInput!) { moveEnrolment(input: $input) {
    replayed userErrors { code } enrolment { id status } previousEnrolment { id status } } }";
const CAPACITY: &str =
    "mutation($input: ChangeSessionCapacityInput!) { changeSessionCapacity(input: $input) {
    replayed userErrors { code } session { capacity } } }";
const BOOKING_OPEN: &str =
    "mutation($input: SetSessionBookingOpenInput!) { setSessionBookingOpen(input: $input) {
    replayed userErrors { code } session { bookingOpen } } }";
const ATTENDANCE: &str =
    "mutation($input: RecordAttendanceInput!) { recordAttendance(input: $input) {
    replayed userErrors { code } enrolments { id status } } }";
const PLACES: &str =
    "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Enrolment { id waitingListPlace } } }";

#[derive(Debug, Clone)]
enum Op {
    Book {
        who: usize,
        session: usize,
        by_staff: bool,
    },
    Cancel {
        who: usize,
        session: usize,
        by_staff: bool,
    },
    Move {
        who: usize,
        from: usize,
    },
    Capacity {
        session: usize,
        capacity: i32,
    },
    BookingOpen {
        session: usize,
        open: bool,
    },
    Attendance {
        seat: usize,
        attended: bool,
    },
    Sync {
        who: usize,
        session: usize,
        active: bool,
    },
    /// The previous mutation again, with its idempotency key.
    Retry,
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..PEOPLE;
    let session = 0..SESSIONS;
    prop_oneof![
        6 => (who.clone(), session.clone(), any::<bool>())
            .prop_map(|(who, session, by_staff)| Op::Book { who, session, by_staff }),
        3 => (who.clone(), session.clone(), any::<bool>())
            .prop_map(|(who, session, by_staff)| Op::Cancel { who, session, by_staff }),
        2 => (who.clone(), session.clone()).prop_map(|(who, from)| Op::Move { who, from }),
        2 => (session.clone(), 1..=4i32)
            .prop_map(|(session, capacity)| Op::Capacity { session, capacity }),
        2 => (session.clone(), any::<bool>())
            .prop_map(|(session, open)| Op::BookingOpen { session, open }),
        1 => (0..SEATED_IN_STARTED, any::<bool>())
            .prop_map(|(seat, attended)| Op::Attendance { seat, attended }),
        3 => (who, session, any::<bool>())
            .prop_map(|(who, session, active)| Op::Sync { who, session, active }),
        2 => Just(Op::Retry),
    ]
}

#[test]
fn booking_rules_hold_under_random_operations() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app_with(|settings| {
        settings.limits.rate_limit_per_minute = 0;
    }));
    let key = runtime.block_on(source_key(&app, "eigenschappen"));
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    // How often each operation took effect or was refused: a run that refuses everything
    // would check little.
    let tally = std::sync::Mutex::new(BTreeMap::<String, [u32; 2]>::new());
    let result = runner.run(&proptest::collection::vec(op(), 1..=30), |ops| {
        runtime.block_on(async {
            let mut world = World::arrange(&app, &key).await;
            for op in ops {
                let refused = world.step(&op).await?;
                let name = format!("{op:?}");
                let name = name.split([' ', '{']).next().unwrap_or_default().to_owned();
                tally.lock().unwrap().entry(name).or_default()[usize::from(refused)] += 1;
            }
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let tally = tally.into_inner().unwrap();
    eprintln!("operations [took effect, refused]: {tally:?}");
    for (name, [done, refused]) in &tally {
        assert!(
            *done > 0 || name == "Retry",
            "{name} never took effect ({refused} refused)"
        );
    }
}

/// One case's sessions and people, and the last mutation sent.
struct World<'a> {
    app: &'a TestApp,
    sync_key: &'a str,
    coordinator: String,
    sessions: Vec<Uuid>,
    started: Uuid,
    seated: Vec<Uuid>,
    people: Vec<(Uuid, String)>,
    last: Option<(String, &'static str, Value)>,
    snapshot: Snapshot,
}

impl<'a> World<'a> {
    async fn arrange(app: &'a TestApp, sync_key: &'a str) -> World<'a> {
        let course = app.brochure_course().await;
        let mut sessions = Vec::new();
        for days in [14, 21] {
            let starts = Utc::now() + Duration::days(days);
            sessions.push(insert_session(&app.db, course.id, None, starts, 2).await.id);
        }
        let started = insert_session(
            &app.db,
            course.id,
            None,
            Utc::now() - Duration::hours(1),
            SEATED_IN_STARTED as i32,
        )
        .await
        .id;
        let mut seated = Vec::new();
        for _ in 0..SEATED_IN_STARTED {
            let person = insert_participant(&app.db).await;
            let seat =
                insert_enrolment(&app.db, started, person.id, EnrolmentStatus::Confirmed).await;
            seated.push(seat.id);
        }
        // The people come from a ministry's system, so that sync can enrol them too.
        let prefix = Uuid::new_v4().simple().to_string();
        let items: Vec<Value> = (0..PEOPLE)
            .map(|n| {
                json!({ "externalId": format!("{prefix}-{n}"),
                        "fullName": format!("Testpersoon {n}"),
                        "email": format!("{prefix}-{n}@example.invalid"),
                        "role": "MAYOR" })
            })
            .collect();
        let synced = app
            .data_as(
                sync_key,
                SYNC_PARTICIPANTS,
                json!({ "input": { "items": items } }),
            )
            .await;
        let people = synced["syncParticipants"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|result| {
                (
                    uuid_of(&result["participantId"]),
                    result["externalId"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let mut world = World {
            app,
            sync_key,
            coordinator: app.token(Role::Coordinator),
            sessions,
            started,
            seated,
            people,
            last: None,
            snapshot: Snapshot::default(),
        };
        world.snapshot = world.read().await;
        world
    }

    async fn read(&self) -> Snapshot {
        let mut ids = self.sessions.clone();
        ids.push(self.started);
        Snapshot::read(self.app, &ids).await
    }

    /// The person's enrolments in a session, the active one (if any) first.
    fn enrolment_of(&self, who: usize, session: usize) -> Option<&enrolment::Model> {
        let person = self.people[who].0;
        let mut theirs: Vec<&enrolment::Model> = self
            .snapshot
            .enrolments
            .values()
            .filter(|e| e.participant_id == person && e.session_id == self.sessions[session])
            .collect();
        theirs.sort_by_key(|e| (!is_active(e.status), std::cmp::Reverse(e.created_at)));
        theirs.first().copied()
    }

    /// The request an operation makes, or none when it has nothing to act on.
    fn request(&self, op: &Op) -> Option<(String, &'static str, Value)> {
        let key = Uuid::new_v4().to_string();
        let session_id = |n: usize| SessionId(self.sessions[n]).to_global();
        let staff = self.coordinator.clone();
        Some(match *op {
            Op::Book {
                who,
                session,
                by_staff,
            } => {
                let person = self.people[who].0;
                if by_staff {
                    let input = json!({ "sessionId": session_id(session), "idempotencyKey": key,
                                        "participantId": ParticipantId(person).to_global() });
                    (staff, BOOK, input)
                } else {
                    let input = json!({ "sessionId": session_id(session), "idempotencyKey": key });
                    (self.app.participant_token(person), BOOK, input)
                }
            }
            Op::Cancel {
                who,
                session,
                by_staff,
            } => {
                let enrolment = self.enrolment_of(who, session)?;
                let mut input = json!({ "enrolmentId": EnrolmentId(enrolment.id).to_global(),
                                        "idempotencyKey": key });
                if by_staff {
                    input["reason"] = json!("op verzoek");
                    (staff, CANCEL, input)
                } else {
                    (
                        self.app.participant_token(self.people[who].0),
                        CANCEL,
                        input,
                    )
                }
            }
            Op::Move { who, from } => {
                let enrolment = self.enrolment_of(who, from)?;
                let input = json!({ "enrolmentId": EnrolmentId(enrolment.id).to_global(),
                                    "toSessionId": session_id(1 - from),
                                    "reason": "op verzoek", "idempotencyKey": key });
                (staff, MOVE, input)
            }
            Op::Capacity { session, capacity } => {
                let input = json!({ "sessionId": session_id(session), "capacity": capacity,
                                    "idempotencyKey": key });
                (staff, CAPACITY, input)
            }
            Op::BookingOpen { session, open } => {
                let input = json!({ "sessionId": session_id(session), "open": open, "idempotencyKey": key });
                (staff, BOOKING_OPEN, input)
            }
            Op::Attendance { seat, attended } => {
                let marks = [
                    json!({ "enrolmentId": EnrolmentId(self.seated[seat]).to_global(),
                                     "attendance": if attended { "ATTENDED" } else { "NO_SHOW" } }),
                ];
                let input = json!({ "sessionId": SessionId(self.started).to_global(),
                                    "marks": marks, "idempotencyKey": key });
                (staff, ATTENDANCE, input)
            }
            Op::Sync {
                who,
                session,
                active,
            } => {
                let item = json!({
                    "externalId": format!("{}-{session}", self.people[who].1),
                    "participantExternalId": self.people[who].1,
                    "sessionId": session_id(session),
                    "status": if active { "ACTIVE" } else { "CANCELLED" },
                    "reason": "uit het bronsysteem",
                });
                let input = json!({ "items": [item], "idempotencyKey": key });
                (self.sync_key.to_owned(), SYNC_ENROLMENTS, input)
            }
            Op::Retry => return self.last.clone(),
        })
    }

    /// Sends the operation's request and checks the world after it; returns whether it was
    /// refused (or had nothing to act on).
    async fn step(&mut self, op: &Op) -> Result<bool, TestCaseError> {
        let Some((token, mutation, input)) = self.request(op) else {
            return Ok(true);
        };
        let since = Utc::now();
        let body = self
            .app
            .graphql_as(&token, mutation, json!({ "input": input }))
            .await;
        prop_assert!(body.get("errors").is_none(), "{op:?}: {body}");
        let payload = body["data"]
            .as_object()
            .and_then(|data| data.values().next())
            .cloned()
            .unwrap_or_default();
        let next = self.read().await;
        let refused = payload["userErrors"]
            .as_array()
            .is_some_and(|errors| !errors.is_empty())
            || payload["results"][0]["action"] == "REJECTED";
        if matches!(op, Op::Retry) {
            prop_assert_eq!(&payload["replayed"], &json!(true), "{}", body);
            prop_assert!(next == self.snapshot, "a retry changed something: {body}");
        } else if refused {
            prop_assert!(
                next == self.snapshot,
                "{op:?} was refused but changed something: {body}"
            );
        }
        for answered in [&payload["enrolment"], &payload["previousEnrolment"]] {
            if let Some(id) = answered["id"].as_str() {
                let status = &next.enrolments[&uuid_of(&json!(id))].status;
                prop_assert_eq!(&answered["status"], &json!(status), "{}", body);
            }
        }
        self.check(&next, since).await?;
        self.snapshot = next;
        if !matches!(op, Op::Retry) {
            self.last = Some((token, mutation, input));
        }
        Ok(refused)
    }

    async fn check(&self, next: &Snapshot, since: DateTime<Utc>) -> Result<(), TestCaseError> {
        let before = &self.snapshot;
        for id in &self.sessions {
            let session = &next.sessions[id];
            let of_session = |status: EnrolmentStatus| {
                next.enrolments
                    .values()
                    .filter(move |e| e.session_id == *id && e.status == status)
            };
            let confirmed = of_session(EnrolmentStatus::Confirmed).count();
            let mut waiting: Vec<&enrolment::Model> =
                of_session(EnrolmentStatus::Waitlisted).collect();
            waiting.sort_by_key(|e| e.queue_number);
            prop_assert!(
                confirmed <= session.capacity as usize,
                "overbooked: {session:?}"
            );
            if session.booking_open && !waiting.is_empty() {
                prop_assert_eq!(
                    confirmed,
                    session.capacity as usize,
                    "a seat free while people wait"
                );
            }
            // Arrival order: queue numbers distinct and in the order people joined.
            for pair in waiting.windows(2) {
                prop_assert!(pair[0].queue_number < pair[1].queue_number, "{pair:?}");
                prop_assert!(pair[0].waitlisted_at <= pair[1].waitlisted_at, "{pair:?}");
            }
            let places = self.places(&waiting).await;
            let expected: Vec<i64> = (1..=waiting.len() as i64).collect();
            prop_assert_eq!(places, expected, "waiting places as clients read them");
            // Promotions: only while open, and the first in line first.
            for promoted in next.enrolments.values().filter(|e| {
                e.session_id == *id
                    && e.status == EnrolmentStatus::Confirmed
                    && before.enrolments.get(&e.id).map(|b| b.status)
                        == Some(EnrolmentStatus::Waitlisted)
            }) {
                prop_assert!(session.booking_open, "promoted while closed: {promoted:?}");
                if let Some(first) = waiting.first() {
                    prop_assert!(promoted.queue_number < first.queue_number, "{promoted:?}");
                }
            }
        }
        let mut active_per_person: HashMap<Uuid, usize> = HashMap::new();
        for enrolment in next.enrolments.values() {
            if is_active(enrolment.status) && enrolment.session_id != self.started {
                *active_per_person
                    .entry(enrolment.participant_id)
                    .or_default() += 1;
            }
        }
        prop_assert!(
            active_per_person.values().all(|count| *count <= 1),
            "more than one active enrolment for the course: {active_per_person:?}"
        );
        let audit = audit_since(self.app, since).await;
        let fresh_outbox: Vec<&String> = next
            .outbox
            .iter()
            .filter(|(id, _)| !before.outbox.contains_key(id))
            .map(|(_, payload)| payload)
            .collect();
        for (id, enrolment) in &next.enrolments {
            let history = next.history.get(id).map(Vec::as_slice).unwrap_or_default();
            let versions: Vec<i32> = history.iter().map(|c| c.version).collect();
            prop_assert_eq!(
                versions,
                (1..=enrolment.version).collect::<Vec<_>>(),
                "{}",
                id
            );
            if let Some(last) = history.last() {
                prop_assert_eq!(last.to_status, enrolment.status, "{}", id);
            }
            let earlier = before.history.get(id).map(Vec::len).unwrap_or_default();
            prop_assert!(history.len() >= earlier, "history rewritten: {id}");
            for change in &history[earlier..] {
                // Every change but a no-show is someone's news: in the outbox, same transaction.
                if change.to_status != EnrolmentStatus::NoShow {
                    prop_assert!(
                        fresh_outbox
                            .iter()
                            .any(|payload| payload.contains(&id.to_string())),
                        "no outbox event for {change:?}"
                    );
                }
                // Promotions follow from the change that freed the seat, which is audited.
                if change.change != EnrolmentChangeKind::Promoted {
                    prop_assert!(
                        audit
                            .iter()
                            .any(|event| event.record_ids.contains(&id.to_string())),
                        "no audit event for {change:?}"
                    );
                }
            }
        }
        for id in &self.sessions {
            let (was, is) = (&before.sessions[id], &next.sessions[id]);
            if (was.capacity, was.booking_open) != (is.capacity, is.booking_open) {
                prop_assert!(
                    audit
                        .iter()
                        .any(|event| event.record_ids.contains(&id.to_string())),
                    "no audit event for the change of {id}"
                );
            }
        }
        Ok(())
    }

    /// The waiting-list places the service gives, in queue order.
    async fn places(&self, waiting: &[&enrolment::Model]) -> Vec<i64> {
        if waiting.is_empty() {
            return Vec::new();
        }
        let ids: Vec<String> = waiting
            .iter()
            .map(|e| EnrolmentId(e.id).to_global())
            .collect();
        let data = self
            .app
            .data_as(&self.coordinator, PLACES, json!({ "ids": ids }))
            .await;
        data["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| node["waitingListPlace"].as_i64().unwrap_or(-1))
            .collect()
    }
}

fn is_active(status: EnrolmentStatus) -> bool {
    matches!(
        status,
        EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted
    )
}

/// What the checks read from the database after each step.
#[derive(Default, PartialEq)]
struct Snapshot {
    sessions: HashMap<Uuid, session::Model>,
    enrolments: BTreeMap<Uuid, enrolment::Model>,
    history: HashMap<Uuid, Vec<enrolment_change::Model>>,
    /// The outbox events about these enrolments: their payloads by id.
    outbox: BTreeMap<Uuid, String>,
}

impl Snapshot {
    async fn read(app: &TestApp, sessions: &[Uuid]) -> Snapshot {
        let sessions: HashMap<Uuid, session::Model> = session::Entity::find()
            .filter(session::Column::Id.is_in(sessions.iter().copied()))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let enrolments: BTreeMap<Uuid, enrolment::Model> = enrolment::Entity::find()
            .filter(enrolment::Column::SessionId.is_in(sessions.keys().copied()))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let mut history: HashMap<Uuid, Vec<enrolment_change::Model>> = HashMap::new();
        for change in enrolment_change::Entity::find()
            .filter(enrolment_change::Column::EnrolmentId.is_in(enrolments.keys().copied()))
            .all(&app.db)
            .await
            .unwrap()
        {
            history.entry(change.enrolment_id).or_default().push(change);
        }
        for changes in history.values_mut() {
            changes.sort_by_key(|c| c.version);
        }
        let outbox = outbox_event::Entity::find()
            .filter(outbox_event::Column::AggregateId.is_in(enrolments.keys().copied()))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|event| (event.id, event.payload))
            .collect();
        Snapshot {
            sessions,
            enrolments,
            history,
            outbox,
        }
    }
}

async fn audit_since(app: &TestApp, since: DateTime<Utc>) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::OccurredAt.gte(since))
        .all(&app.db)
        .await
        .unwrap()
}
