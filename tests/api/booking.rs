//! Booking seats: the rules, the waiting list, history, idempotent retries and concurrency.

use std::collections::BTreeSet;

use api::{
    auth::Role,
    domain::ids::{EnrolmentId, ParticipantId, SessionId},
};
use chrono::{Duration, Utc};
use entity::{
    course_audience_role, enrolment, enrolment_change,
    enums::{EnrolmentStatus, IdempotencyState, MachineRole, ParticipantRole},
    idempotency_key, outbox_event, participant, session,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

pub const BOOK: &str = "mutation($input: BookSeatInput!) { bookSeat(input: $input) {
    clientMutationId replayed status waitingListPlace
    userErrors { code message field }
    enrolment { id status waitingListPlace session { id } } } }";

pub const CANCEL: &str =
    "mutation($input: CancelEnrolmentInput!) { cancelEnrolment(input: $input) {
    replayed userErrors { code field } enrolment { id status } } }";

const MOVE: &str = "mutation($input: MoveEnrolmentInput!) { moveEnrolment(input: $input) {
    userErrors { code field }
    enrolment { id status session { id } } previousEnrolment { id status } } }";

const ATTENDANCE: &str =
    "mutation($input: RecordAttendanceInput!) { recordAttendance(input: $input) {
    userErrors { code field } enrolments { id status } } }";

const CAPACITY: &str =
    "mutation($input: ChangeSessionCapacityInput!) { changeSessionCapacity(input: $input) {
    userErrors { code field } session { capacity seatsLeft waitingListLength } } }";

const BOOKING_OPEN: &str =
    "mutation($input: SetSessionBookingOpenInput!) { setSessionBookingOpen(input: $input) {
    userErrors { code } session { bookingOpen acceptingBookings } } }";

/// A session of the brochure's course (for mayors and aldermen) starting in two weeks.
pub async fn bookable_session(app: &TestApp, capacity: i32) -> session::Model {
    let course = app.brochure_course().await;
    insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() + Duration::days(14),
        capacity,
    )
    .await
}

/// Another session of the same course, a month from now, with ten seats.
async fn a_month_later(app: &TestApp, session: &session::Model) -> session::Model {
    let starts = Utc::now() + Duration::days(30);
    insert_session(&app.db, session.course_id, None, starts, 10).await
}

pub fn global_session(session: &session::Model) -> String {
    SessionId(session.id).to_global()
}

/// Books the participant into the session with their own token; returns the payload.
pub async fn book_self(app: &TestApp, session: &session::Model, participant: Uuid) -> Value {
    let body = app
        .graphql_as(
            &app.participant_token(participant),
            BOOK,
            json!({ "input": { "sessionId": global_session(session) } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    body["data"]["bookSeat"].clone()
}

fn user_error(payload: &Value) -> &str {
    payload["userErrors"][0]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no user error in {payload}"))
}

async fn enrolments_of(app: &TestApp, session: &session::Model) -> Vec<enrolment::Model> {
    enrolment::Entity::find()
        .filter(enrolment::Column::SessionId.eq(session.id))
        .all(&app.db)
        .await
        .unwrap()
}

async fn status_of(app: &TestApp, id: Uuid) -> EnrolmentStatus {
    enrolment::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .status
}

pub fn uuid_of(global: &Value) -> Uuid {
    let decoded = api::domain::ids::GlobalId::decode(global.as_str().unwrap(), "id").unwrap();
    decoded.uuid
}

#[tokio::test]
async fn a_participant_books_a_seat_and_reads_it_back_with_its_history() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let mayor = insert_participant(&app.db).await;

    let token = app.participant_token(mayor.id);
    let booked = app
        .data_as(
            &token,
            BOOK,
            json!({ "input": { "sessionId": global_session(&session), "clientMutationId": "m1" } }),
        )
        .await["bookSeat"]
        .clone();
    assert_eq!(booked["status"], "CONFIRMED");
    assert_eq!(booked["clientMutationId"], "m1");
    assert_eq!(booked["replayed"], false);
    assert_eq!(booked["userErrors"], json!([]));
    assert_eq!(booked["enrolment"]["status"], "CONFIRMED");
    assert_eq!(booked["enrolment"]["waitingListPlace"], Value::Null);

    let mine = app
        .data_as(
            &token,
            "{ me { enrolments(status: [CONFIRMED, WAITLISTED]) { status cancellableUntil
                session { seatsLeft }
                history { change fromStatus toStatus byRole reason } } } }",
            json!({}),
        )
        .await;
    let enrolments = mine["me"]["enrolments"].as_array().unwrap();
    assert_eq!(enrolments.len(), 1);
    assert_eq!(enrolments[0]["session"]["seatsLeft"], 9);
    assert_eq!(
        enrolments[0]["history"],
        json!([{ "change": "BOOKED", "fromStatus": null, "toStatus": "CONFIRMED",
                 "byRole": "Participant", "reason": null }])
    );
    let deadline = session.starts_at - Duration::hours(48);
    let until: chrono::DateTime<Utc> = enrolments[0]["cancellableUntil"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // PostgreSQL keeps microseconds.
    assert!(
        (until - deadline).abs() < Duration::milliseconds(1),
        "{until} {deadline}"
    );

    // The change is waiting in the outbox, to be sent in its own issue.
    let events = outbox_event::Entity::find()
        .filter(outbox_event::Column::AggregateId.eq(uuid_of(&booked["enrolment"]["id"])))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].topic, "enrolment.confirmed");
}

#[tokio::test]
async fn a_full_session_puts_bookings_on_its_waiting_list_in_arrival_order() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 2).await;
    let mut answers = Vec::new();
    for _ in 0..5 {
        let person = insert_participant(&app.db).await;
        answers.push(book_self(&app, &session, person.id).await);
    }
    let summary: Vec<_> = answers
        .iter()
        .map(|a| (a["status"].clone(), a["waitingListPlace"].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!("CONFIRMED"), Value::Null),
            (json!("CONFIRMED"), Value::Null),
            (json!("WAITLISTED"), json!(1)),
            (json!("WAITLISTED"), json!(2)),
            (json!("WAITLISTED"), json!(3)),
        ]
    );
    let seats = app
        .data(
            "query($id: ID!) { session(id: $id) { seatsLeft waitingListLength acceptingBookings } }",
            json!({ "id": global_session(&session) }),
        )
        .await;
    assert_eq!(
        seats["session"],
        json!({ "seatsLeft": 0, "waitingListLength": 3, "acceptingBookings": true })
    );
}

#[tokio::test]
async fn a_hundred_concurrent_bookings_fill_ten_seats_and_queue_ninety() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let mut people = Vec::new();
    for _ in 0..100 {
        people.push(insert_participant(&app.db).await.id);
    }
    let app = std::sync::Arc::new(app);
    let session = std::sync::Arc::new(session);
    let tasks: Vec<_> = people
        .into_iter()
        .map(|person| {
            let (app, session) = (app.clone(), session.clone());
            tokio::spawn(async move { book_self(&app, &session, person).await })
        })
        .collect();
    let mut confirmed = 0;
    let mut places = BTreeSet::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer["userErrors"], json!([]), "{answer}");
        match answer["status"].as_str().unwrap() {
            "CONFIRMED" => confirmed += 1,
            "WAITLISTED" => {
                places.insert(answer["waitingListPlace"].as_i64().unwrap());
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(confirmed, 10);
    assert_eq!(places, (1..=90).collect::<BTreeSet<_>>());

    let stored = enrolments_of(&app, &session).await;
    let seated = stored
        .iter()
        .filter(|e| e.status == EnrolmentStatus::Confirmed)
        .count();
    assert_eq!((stored.len(), seated), (100, 10));
}

/// Bookings that arrive while the session is locked wait in the process and are then made
/// together, in one transaction, by the rules of one booking at a time.
#[tokio::test]
async fn bookings_that_arrive_together_are_made_together_by_the_same_rules() {
    let app = std::sync::Arc::new(spawn_app().await);
    let session = bookable_session(&app, 3).await;
    let other = a_month_later(&app, &session).await;
    let mut mayors = Vec::new();
    for _ in 0..6 {
        mayors.push(insert_participant(&app.db).await.id);
    }
    let mut councillor: participant::ActiveModel = insert_participant(&app.db).await.into();
    councillor.role = Set(ParticipantRole::CouncilMember);
    let councillor = councillor.update(&app.db).await.unwrap().id;
    let elsewhere = insert_participant(&app.db).await.id;
    insert_enrolment(&app.db, other.id, elsewhere, EnrolmentStatus::Confirmed).await;
    let staff = app.token(Role::Coordinator);
    let target = global_session(&session);

    // Each request: a token, its input, and what it must be answered.
    let mut requests = Vec::new();
    // With keys on PostgreSQL only: on SQLite claiming a key is a write, which the held lock
    // would keep from reaching the queue in order.
    let keyed = app.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    for (index, mayor) in mayors.iter().enumerate() {
        let key = keyed.then(|| format!("samen-{index}"));
        requests.push((
            app.participant_token(*mayor),
            json!({ "input": { "sessionId": target, "idempotencyKey": key } }),
            "",
        ));
    }
    // Twice in the same group (the first booking goes alone: it waits for the lock).
    requests.push((
        app.participant_token(mayors[1]),
        json!({ "input": { "sessionId": target } }),
        "ALREADY_ENROLLED",
    ));
    requests.push((
        app.participant_token(councillor),
        json!({ "input": { "sessionId": target } }),
        "NOT_ELIGIBLE",
    ));
    requests.push((
        app.participant_token(elsewhere),
        json!({ "input": { "sessionId": target } }),
        "ALREADY_ENROLLED_IN_COURSE",
    ));
    requests.push((
        staff.clone(),
        json!({ "input": { "sessionId": target,
                           "participantId": ParticipantId(Uuid::new_v4()).to_global() } }),
        "NOT_FOUND",
    ));
    let expected = requests.clone();

    // Hold the session's lock (on SQLite the write lock) while they arrive.
    let holder = sea_orm::TransactionTrait::begin(&app.db).await.unwrap();
    session::Entity::update_many()
        .col_expr(
            session::Column::Capacity,
            sea_orm::sea_query::Expr::col(session::Column::Capacity),
        )
        .filter(session::Column::Id.eq(session.id))
        .exec(&holder)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for (token, variables, _) in requests {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.graphql_as(&token, BOOK, variables).await
        }));
        // In this order: the first waits for the lock, the others behind it in the process.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    holder.commit().await.unwrap();

    let mut confirmed = 0;
    let mut places = BTreeSet::new();
    for (task, (_, _, refusal)) in tasks.into_iter().zip(&expected) {
        let body = task.await.unwrap();
        let answer = &body["data"]["bookSeat"];
        if refusal.is_empty() {
            assert_eq!(answer["userErrors"], json!([]), "{body}");
            match answer["status"].as_str() {
                Some("CONFIRMED") => confirmed += 1,
                Some("WAITLISTED") => {
                    places.insert(answer["waitingListPlace"].as_i64().unwrap());
                }
                _ => panic!("unexpected answer {body}"),
            }
        } else {
            assert_eq!(user_error(answer), *refusal, "{body}");
            assert_eq!(answer["enrolment"], Value::Null);
        }
    }
    assert_eq!(confirmed, 3);
    assert_eq!(places, (1..=3).collect::<BTreeSet<_>>());

    // Written: the six bookings, each with its history, its message and its audit row.
    let stored = enrolments_of(&app, &session).await;
    assert_eq!(stored.len(), 6);
    let made: Vec<Uuid> = stored.iter().map(|e| e.id).collect();
    let history = enrolment_change::Entity::find()
        .filter(enrolment_change::Column::EnrolmentId.is_in(made.clone()))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(history.len(), 6);
    let messages = outbox_event::Entity::find()
        .filter(outbox_event::Column::AggregateId.is_in(made.clone()))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(messages, 6);
    let audited = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.eq("bookSeat"))
        .all(&app.db)
        .await
        .unwrap();
    let actors: BTreeSet<&str> = audited.iter().map(|a| a.actor.as_str()).collect();
    assert_eq!(actors.len(), 6, "each booking audited as its own caller");
    // Made together: after the first, the five waiting ones share one transaction's time.
    let moments: BTreeSet<_> = stored.iter().map(|e| e.created_at).collect();
    assert!(
        moments.len() < 6,
        "the waiting bookings were made one by one"
    );
    let queue: BTreeSet<_> = stored.iter().filter_map(|e| e.queue_number).collect();
    assert_eq!(queue.len(), 3, "distinct arrival numbers");

    // The keyed ones replay their answers.
    for (index, mayor) in mayors.iter().enumerate().filter(|_| keyed) {
        let again = app
            .data_as(
                &app.participant_token(*mayor),
                BOOK,
                json!({ "input": { "sessionId": target, "idempotencyKey": format!("samen-{index}") } }),
            )
            .await;
        assert_eq!(again["bookSeat"]["replayed"], true, "{again}");
        assert_eq!(again["bookSeat"]["userErrors"], json!([]));
    }
    assert_eq!(enrolments_of(&app, &session).await.len(), 6);
}

#[tokio::test]
async fn cancelling_a_confirmed_seat_promotes_the_first_in_the_queue() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 1).await;
    let seated = insert_participant(&app.db).await;
    let first = insert_participant(&app.db).await;
    let second = insert_participant(&app.db).await;
    let seat = book_self(&app, &session, seated.id).await;
    let first_place = book_self(&app, &session, first.id).await;
    let second_place = book_self(&app, &session, second.id).await;
    assert_eq!(second_place["waitingListPlace"], 2);

    let cancelled = app
        .data_as(
            &app.participant_token(seated.id),
            CANCEL,
            json!({ "input": { "enrolmentId": seat["enrolment"]["id"] } }),
        )
        .await["cancelEnrolment"]
        .clone();
    assert_eq!(cancelled["userErrors"], json!([]));
    assert_eq!(cancelled["enrolment"]["status"], "CANCELLED");

    let promoted = uuid_of(&first_place["enrolment"]["id"]);
    assert_eq!(status_of(&app, promoted).await, EnrolmentStatus::Confirmed);
    let history: Vec<_> = enrolment_change::Entity::find()
        .filter(enrolment_change::Column::EnrolmentId.eq(promoted))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| format!("{:?}", c.change))
        .collect();
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(history.contains(&"Waitlisted".to_owned()) && history.contains(&"Promoted".to_owned()));
    let told = outbox_event::Entity::find()
        .filter(outbox_event::Column::AggregateId.eq(promoted))
        .filter(outbox_event::Column::Topic.eq("enrolment.promoted"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(told, 1, "the promotion is recorded for notification");

    // The second in line moves up to place 1.
    let mine = app
        .data_as(
            &app.participant_token(second.id),
            "{ me { enrolments { status waitingListPlace } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["me"]["enrolments"],
        json!([{ "status": "WAITLISTED", "waitingListPlace": 1 }])
    );
}

#[tokio::test]
async fn a_waiting_person_who_cancels_leaves_the_queue_and_the_others_move_up() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 1).await;
    let seated = insert_participant(&app.db).await;
    book_self(&app, &session, seated.id).await;
    let mut waiting = Vec::new();
    for _ in 0..3 {
        let person = insert_participant(&app.db).await;
        waiting.push((person.id, book_self(&app, &session, person.id).await));
    }
    let (first, first_answer) = &waiting[0];
    let cancelled = app
        .data_as(
            &app.participant_token(*first),
            CANCEL,
            json!({ "input": { "enrolmentId": first_answer["enrolment"]["id"] } }),
        )
        .await;
    assert_eq!(cancelled["cancelEnrolment"]["userErrors"], json!([]));
    for (expected, (person, _)) in [1, 2].into_iter().zip(&waiting[1..]) {
        let mine = app
            .data_as(
                &app.participant_token(*person),
                "{ me { enrolments { status waitingListPlace } } }",
                json!({}),
            )
            .await;
        assert_eq!(mine["me"]["enrolments"][0]["waitingListPlace"], expected);
    }
    // Nobody was promoted: the seat is still taken.
    let seated_count = enrolments_of(&app, &session)
        .await
        .iter()
        .filter(|e| e.status == EnrolmentStatus::Confirmed)
        .count();
    assert_eq!(seated_count, 1);
}

#[tokio::test]
async fn nobody_is_promoted_once_booking_has_closed() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 1).await;
    let seated = insert_participant(&app.db).await;
    let waiting = insert_participant(&app.db).await;
    let seat = book_self(&app, &session, seated.id).await;
    let place = book_self(&app, &session, waiting.id).await;

    let staff = app.token(Role::Coordinator);
    let closed = app
        .data_as(
            &staff,
            BOOKING_OPEN,
            json!({ "input": { "sessionId": global_session(&session), "open": false } }),
        )
        .await;
    assert_eq!(
        closed["setSessionBookingOpen"]["session"],
        json!({ "bookingOpen": false, "acceptingBookings": false })
    );
    let cancelled = app
        .data_as(
            &staff,
            CANCEL,
            json!({ "input": { "enrolmentId": seat["enrolment"]["id"], "reason": "ziek" } }),
        )
        .await;
    assert_eq!(cancelled["cancelEnrolment"]["userErrors"], json!([]));
    let waiting_id = uuid_of(&place["enrolment"]["id"]);
    assert_eq!(
        status_of(&app, waiting_id).await,
        EnrolmentStatus::Waitlisted
    );

    // A new booking is refused while closed; reopening gives the free seat to the queue.
    let latecomer = insert_participant(&app.db).await;
    assert_eq!(
        user_error(&book_self(&app, &session, latecomer.id).await),
        "BOOKING_CLOSED"
    );
    app.data_as(
        &staff,
        BOOKING_OPEN,
        json!({ "input": { "sessionId": global_session(&session), "open": true } }),
    )
    .await;
    assert_eq!(
        status_of(&app, waiting_id).await,
        EnrolmentStatus::Confirmed
    );
}

#[tokio::test]
async fn each_refusal_has_its_own_code_and_changes_nothing() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let now = Utc::now();
    let open = bookable_session(&app, 10).await;
    let later = insert_session(&app.db, course.id, None, now + Duration::days(30), 10).await;
    let mut not_yet: session::ActiveModel =
        insert_session(&app.db, course.id, None, now + Duration::days(40), 10)
            .await
            .into();
    not_yet.booking_opens_at = Set(Some(now + Duration::days(1)));
    let not_yet = not_yet.update(&app.db).await.unwrap();
    let mut closed: session::ActiveModel =
        insert_session(&app.db, course.id, None, now + Duration::days(50), 10)
            .await
            .into();
    closed.booking_closes_at = Set(Some(now - Duration::hours(1)));
    let closed = closed.update(&app.db).await.unwrap();
    let mut cancelled: session::ActiveModel =
        insert_session(&app.db, course.id, None, now + Duration::days(60), 10)
            .await
            .into();
    cancelled.status = Set(entity::enums::SessionStatus::Cancelled);
    let cancelled = cancelled.update(&app.db).await.unwrap();

    let mayor = insert_participant(&app.db).await;
    let mut councillor: participant::ActiveModel = insert_participant(&app.db).await.into();
    councillor.role = Set(ParticipantRole::CouncilMember);
    let councillor = councillor.update(&app.db).await.unwrap();

    assert_eq!(
        user_error(&book_self(&app, &not_yet, mayor.id).await),
        "BOOKING_NOT_OPEN"
    );
    assert_eq!(
        user_error(&book_self(&app, &closed, mayor.id).await),
        "BOOKING_CLOSED"
    );
    assert_eq!(
        user_error(&book_self(&app, &cancelled, mayor.id).await),
        "SESSION_CANCELLED"
    );
    assert_eq!(
        user_error(&book_self(&app, &open, councillor.id).await),
        "NOT_ELIGIBLE"
    );

    assert_eq!(
        book_self(&app, &open, mayor.id).await["status"],
        "CONFIRMED"
    );
    assert_eq!(
        user_error(&book_self(&app, &open, mayor.id).await),
        "ALREADY_ENROLLED"
    );
    assert_eq!(
        user_error(&book_self(&app, &later, mayor.id).await),
        "ALREADY_ENROLLED_IN_COURSE"
    );

    let token = app.participant_token(mayor.id);
    let malformed = app
        .data_as(
            &token,
            BOOK,
            json!({ "input": { "sessionId": "not-an-id" } }),
        )
        .await;
    assert_eq!(
        malformed["bookSeat"]["userErrors"],
        json!([{ "code": "INVALID_ID", "message": "`input.sessionId` is not a valid id", "field": "input.sessionId" }])
    );
    let unknown = SessionId(Uuid::new_v4()).to_global();
    let missing = app
        .data_as(&token, BOOK, json!({ "input": { "sessionId": unknown } }))
        .await;
    assert_eq!(user_error(&missing["bookSeat"]), "NOT_FOUND");
    assert_eq!(missing["bookSeat"]["enrolment"], Value::Null);

    // Who the caller is decides before any rule.
    let anonymous = app
        .graphql(
            BOOK,
            json!({ "input": { "sessionId": global_session(&open) } }),
        )
        .await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    let (_, report) =
        api::db::api_key::create_api_key(&app.db, "Testdashboard", MachineRole::ReportingClient)
            .await
            .unwrap();
    let dashboard = app
        .graphql_as(
            &report,
            BOOK,
            json!({ "input": { "sessionId": global_session(&open) } }),
        )
        .await;
    assert_eq!(error_code(&dashboard), "FORBIDDEN");
    let someone_else = app
        .graphql_as(
            &token,
            BOOK,
            json!({ "input": { "sessionId": global_session(&later),
                               "participantId": ParticipantId(councillor.id).to_global() } }),
        )
        .await;
    assert_eq!(error_code(&someone_else), "FORBIDDEN");

    // Nothing but the one good booking was written.
    let all = enrolment::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(all, 1);
    let changes = enrolment_change::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(changes, 1);
}

#[tokio::test]
async fn staff_book_on_behalf_and_may_override_eligibility_with_a_reason() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let staff = app.token(Role::Coordinator);
    let details = json!({ "fullName": "Test Wethouder", "email": " Wethouder-Test@Example.invalid ",
                          "role": "ALDERMAN" });
    let new = app
        .data_as(
            &staff,
            BOOK,
            json!({ "input": { "sessionId": global_session(&session), "newParticipant": details } }),
        )
        .await;
    assert_eq!(new["bookSeat"]["status"], "CONFIRMED", "{new}");
    let stored = participant::Entity::find()
        .filter(participant::Column::Email.eq("wethouder-test@example.invalid"))
        .one(&app.db)
        .await
        .unwrap();
    assert!(
        stored.is_some(),
        "the new participant's address is kept trimmed, in lower case"
    );

    let again = app
        .data_as(
            &staff,
            BOOK,
            json!({ "input": { "sessionId": global_session(&session), "newParticipant": details } }),
        )
        .await;
    assert_eq!(user_error(&again["bookSeat"]), "PARTICIPANT_EXISTS");

    let mut councillor: participant::ActiveModel = insert_participant(&app.db).await.into();
    councillor.role = Set(ParticipantRole::CouncilMember);
    let councillor = councillor.update(&app.db).await.unwrap();
    let input = |reason: Option<&str>| {
        json!({ "input": { "sessionId": global_session(&session),
                           "participantId": ParticipantId(councillor.id).to_global(),
                           "overrideEligibility": true, "reason": reason } })
    };
    let without_reason = app.data_as(&staff, BOOK, input(None)).await;
    assert_eq!(user_error(&without_reason["bookSeat"]), "REASON_REQUIRED");
    let with_reason = app
        .data_as(
            &staff,
            BOOK,
            input(Some("griffier op verzoek van de burgemeester")),
        )
        .await;
    assert_eq!(with_reason["bookSeat"]["status"], "CONFIRMED");
    let change = enrolment_change::Entity::find()
        .filter(
            enrolment_change::Column::EnrolmentId
                .eq(uuid_of(&with_reason["bookSeat"]["enrolment"]["id"])),
        )
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(change.actor_role, "Coordinator");
    assert_eq!(
        change.reason.as_deref(),
        Some("griffier op verzoek van de burgemeester")
    );

    // A participant cannot override.
    let own = app
        .graphql_as(
            &app.participant_token(councillor.id),
            BOOK,
            json!({ "input": { "sessionId": global_session(&session), "overrideEligibility": true, "reason": "x" } }),
        )
        .await;
    assert_eq!(error_code(&own), "FORBIDDEN");
}

#[tokio::test]
async fn participants_cancel_until_the_deadline_and_staff_with_a_reason() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    // Starts in a day: past the 48-hour deadline for participants.
    let soon = insert_session(&app.db, course.id, None, Utc::now() + Duration::days(1), 10).await;
    let mayor = insert_participant(&app.db).await;
    let other = insert_participant(&app.db).await;
    let seat = book_self(&app, &soon, mayor.id).await;
    let input = json!({ "input": { "enrolmentId": seat["enrolment"]["id"] } });

    let late = app
        .data_as(&app.participant_token(mayor.id), CANCEL, input.clone())
        .await;
    assert_eq!(
        user_error(&late["cancelEnrolment"]),
        "CANCELLATION_DEADLINE_PASSED"
    );
    let not_theirs = app
        .data_as(&app.participant_token(other.id), CANCEL, input.clone())
        .await;
    assert_eq!(user_error(&not_theirs["cancelEnrolment"]), "NOT_FOUND");
    let staff = app.token(Role::Coordinator);
    let no_reason = app.data_as(&staff, CANCEL, input.clone()).await;
    assert_eq!(user_error(&no_reason["cancelEnrolment"]), "REASON_REQUIRED");
    // A NUL byte is bad input, not a database failure to retry: refused before anything runs.
    let nul = app
        .graphql_as(
            &staff,
            CANCEL,
            json!({ "input": { "enrolmentId": seat["enrolment"]["id"], "reason": "ziek\u{0}" } }),
        )
        .await;
    assert_eq!(
        nul["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{nul}"
    );
    assert_eq!(
        nul["errors"][0]["extensions"]["field"], "input.reason",
        "{nul}"
    );
    let id = uuid_of(&seat["enrolment"]["id"]);
    assert_eq!(status_of(&app, id).await, EnrolmentStatus::Confirmed);

    let with_reason = app
        .data_as(
            &staff,
            CANCEL,
            json!({ "input": { "enrolmentId": seat["enrolment"]["id"], "reason": "verhinderd" } }),
        )
        .await;
    assert_eq!(
        with_reason["cancelEnrolment"]["enrolment"]["status"],
        "CANCELLED"
    );
    let twice = app
        .data_as(
            &staff,
            CANCEL,
            json!({ "input": { "enrolmentId": seat["enrolment"]["id"], "reason": "verhinderd" } }),
        )
        .await;
    assert_eq!(
        user_error(&twice["cancelEnrolment"]),
        "ENROLMENT_NOT_ACTIVE"
    );
}

#[tokio::test]
async fn staff_move_a_booking_taking_the_new_seat_before_freeing_the_old() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let from = bookable_session(&app, 1).await;
    let to = insert_session(&app.db, course.id, None, Utc::now() + Duration::days(21), 1).await;
    let mover = insert_participant(&app.db).await;
    let waiting = insert_participant(&app.db).await;
    let seat = book_self(&app, &from, mover.id).await;
    let place = book_self(&app, &from, waiting.id).await;
    let staff = app.token(Role::Administrator);

    let moved = app
        .data_as(
            &staff,
            MOVE,
            json!({ "input": { "enrolmentId": seat["enrolment"]["id"], "toSessionId": global_session(&to) } }),
        )
        .await["moveEnrolment"]
        .clone();
    assert_eq!(moved["userErrors"], json!([]));
    assert_eq!(moved["enrolment"]["status"], "CONFIRMED");
    assert_eq!(moved["enrolment"]["session"]["id"], global_session(&to));
    assert_eq!(moved["previousEnrolment"]["status"], "CANCELLED");
    // The freed seat went to the waiting list.
    assert_eq!(
        status_of(&app, uuid_of(&place["enrolment"]["id"])).await,
        EnrolmentStatus::Confirmed
    );

    // `to` is now full: moving the promoted person there changes nothing.
    let full = app
        .data_as(
            &staff,
            MOVE,
            json!({ "input": { "enrolmentId": place["enrolment"]["id"], "toSessionId": global_session(&to) } }),
        )
        .await;
    assert_eq!(user_error(&full["moveEnrolment"]), "SESSION_FULL");
    assert_eq!(
        status_of(&app, uuid_of(&place["enrolment"]["id"])).await,
        EnrolmentStatus::Confirmed
    );

    let provider = course.provider_id;
    let other_course = insert_course(
        &app.db,
        provider,
        entity::enums::CourseStatus::Published,
        "Test",
    )
    .await;
    let elsewhere = insert_session(
        &app.db,
        other_course.id,
        None,
        Utc::now() + Duration::days(9),
        5,
    )
    .await;
    let different = app
        .data_as(
            &staff,
            MOVE,
            json!({ "input": { "enrolmentId": place["enrolment"]["id"], "toSessionId": global_session(&elsewhere) } }),
        )
        .await;
    assert_eq!(user_error(&different["moveEnrolment"]), "DIFFERENT_COURSE");

    let participant = app
        .graphql_as(
            &app.participant_token(mover.id),
            MOVE,
            json!({ "input": { "enrolmentId": place["enrolment"]["id"], "toSessionId": global_session(&from) } }),
        )
        .await;
    assert_eq!(error_code(&participant), "FORBIDDEN");
}

#[tokio::test]
async fn attendance_is_recorded_after_the_start_and_counts_towards_the_alumni() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let future = bookable_session(&app, 10).await;
    let started = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() - Duration::hours(2),
        10,
    )
    .await;
    let present = insert_participant(&app.db).await;
    let absent = insert_participant(&app.db).await;
    let waiting = insert_participant(&app.db).await;
    let present_seat =
        insert_enrolment(&app.db, started.id, present.id, EnrolmentStatus::Confirmed).await;
    let absent_seat =
        insert_enrolment(&app.db, started.id, absent.id, EnrolmentStatus::Confirmed).await;
    let waiting_place =
        insert_enrolment(&app.db, started.id, waiting.id, EnrolmentStatus::Waitlisted).await;
    let staff = app.token(Role::Coordinator);
    let before = app
        .data("{ courses { nodes { alumniCount } } }", json!({}))
        .await["courses"]["nodes"][0]["alumniCount"]
        .as_i64()
        .unwrap();

    let mark = |id: Uuid, attendance: &str| json!({ "enrolmentId": EnrolmentId(id).to_global(), "attendance": attendance });
    let too_early = app
        .data_as(
            &staff,
            ATTENDANCE,
            json!({ "input": { "sessionId": global_session(&future), "marks": [mark(present_seat.id, "ATTENDED")] } }),
        )
        .await;
    assert_eq!(
        user_error(&too_early["recordAttendance"]),
        "SESSION_NOT_STARTED"
    );
    let not_seated = app
        .data_as(
            &staff,
            ATTENDANCE,
            json!({ "input": { "sessionId": global_session(&started),
                               "marks": [mark(present_seat.id, "ATTENDED"), mark(waiting_place.id, "ATTENDED")] } }),
        )
        .await;
    assert_eq!(
        not_seated["recordAttendance"]["userErrors"],
        json!([{ "code": "ENROLMENT_NOT_SEATED", "field": "input.marks.1.enrolmentId" }])
    );
    assert_eq!(
        status_of(&app, present_seat.id).await,
        EnrolmentStatus::Confirmed,
        "all marks or none"
    );

    let recorded = app
        .data_as(
            &staff,
            ATTENDANCE,
            json!({ "input": { "sessionId": global_session(&started),
                               "marks": [mark(present_seat.id, "ATTENDED"), mark(absent_seat.id, "NO_SHOW")] } }),
        )
        .await;
    assert_eq!(
        recorded["recordAttendance"]["enrolments"],
        json!([
            { "id": EnrolmentId(present_seat.id).to_global(), "status": "ATTENDED" },
            { "id": EnrolmentId(absent_seat.id).to_global(), "status": "NO_SHOW" },
        ])
    );
    let after = app
        .data("{ courses { nodes { alumniCount } } }", json!({}))
        .await["courses"]["nodes"][0]["alumniCount"]
        .as_i64()
        .unwrap();
    assert_eq!(after, before + 1);
    let _ = course;
}

#[tokio::test]
async fn capacity_never_drops_below_the_confirmed_seats_and_growth_promotes() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 2).await;
    for _ in 0..4 {
        let person = insert_participant(&app.db).await;
        book_self(&app, &session, person.id).await;
    }
    let staff = app.token(Role::Coordinator);
    let change = |capacity: i32| json!({ "input": { "sessionId": global_session(&session), "capacity": capacity } });
    let below = app.data_as(&staff, CAPACITY, change(1)).await;
    assert_eq!(
        user_error(&below["changeSessionCapacity"]),
        "CAPACITY_BELOW_SEATED"
    );
    let above = app.data_as(&staff, CAPACITY, change(11)).await;
    assert_eq!(
        user_error(&above["changeSessionCapacity"]),
        "CAPACITY_OUT_OF_RANGE"
    );
    let grown = app.data_as(&staff, CAPACITY, change(3)).await;
    assert_eq!(
        grown["changeSessionCapacity"]["session"],
        json!({ "capacity": 3, "seatsLeft": 0, "waitingListLength": 1 })
    );
    let participant = insert_participant(&app.db).await;
    let refused = app
        .graphql_as(&app.participant_token(participant.id), CAPACITY, change(5))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
}

/// The input's canonical form, as the service hashes it for idempotency keys.
fn book_input_hash(session: &str) -> String {
    api::db::idempotency::request_hash(
        "bookSeat",
        &json!({ "session_id": session, "participant_id": null, "new_participant": null,
                 "override_eligibility": false, "reason": null }),
    )
}

#[tokio::test]
async fn a_retried_booking_with_its_idempotency_key_changes_nothing() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let other = a_month_later(&app, &session).await;
    let mayor = insert_participant(&app.db).await;
    let token = app.participant_token(mayor.id);
    let input = |session: &session::Model, id: &str| json!({ "input": { "sessionId": global_session(session), "idempotencyKey": "boeking-1", "clientMutationId": id } });

    let first = app.data_as(&token, BOOK, input(&session, "a")).await["bookSeat"].clone();
    let again = app.data_as(&token, BOOK, input(&session, "b")).await["bookSeat"].clone();
    assert_eq!(first["replayed"], false);
    assert_eq!(again["replayed"], true);
    assert_eq!(again["clientMutationId"], "b");
    assert_eq!(again["status"], first["status"]);
    assert_eq!(again["enrolment"]["id"], first["enrolment"]["id"]);
    assert_eq!(
        again["userErrors"],
        json!([]),
        "not ALREADY_ENROLLED: the first answer"
    );
    assert_eq!(enrolments_of(&app, &session).await.len(), 1);

    let reused = app.data_as(&token, BOOK, input(&other, "c")).await;
    assert_eq!(user_error(&reused["bookSeat"]), "IDEMPOTENCY_KEY_REUSED");
    assert!(enrolments_of(&app, &other).await.is_empty());

    // Keys are per caller: another participant's identical key is their own.
    let neighbour = insert_participant(&app.db).await;
    let theirs = app
        .data_as(
            &app.participant_token(neighbour.id),
            BOOK,
            input(&session, "d"),
        )
        .await;
    assert_eq!(theirs["bookSeat"]["replayed"], false);
    assert_eq!(enrolments_of(&app, &session).await.len(), 2);
}

#[tokio::test]
async fn a_repeat_while_the_first_is_running_is_told_to_retry_and_an_abandoned_key_is_taken_over() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let mayor = insert_participant(&app.db).await;
    let token = app.participant_token(mayor.id);
    let now = Utc::now();
    // As if a first request with this key were running now in another process.
    let running = idempotency_key::ActiveModel {
        id: Set(Uuid::new_v4()),
        scope: Set(api::db::idempotency::scope_of(
            &participant_viewer(mayor.id),
            "bookSeat",
        )),
        key: Set("sleutel".into()),
        operation: Set("bookSeat".into()),
        request_hash: Set(book_input_hash(&global_session(&session))),
        state: Set(IdempotencyState::InProgress),
        response: Set(None),
        created_at: Set(now),
        locked_until: Set(now + Duration::minutes(1)),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let input =
        json!({ "input": { "sessionId": global_session(&session), "idempotencyKey": "sleutel" } });
    let busy = app.graphql_as(&token, BOOK, input.clone()).await;
    assert_eq!(error_code(&busy), "IDEMPOTENCY_KEY_IN_USE", "{busy}");
    assert_eq!(busy["errors"][0]["extensions"]["retryable"], true);
    assert!(enrolments_of(&app, &session).await.is_empty());

    // Its process died: once the lease has run out, the retry does the work.
    let mut abandoned: idempotency_key::ActiveModel = running.into();
    abandoned.locked_until = Set(now - Duration::seconds(1));
    abandoned.update(&app.db).await.unwrap();
    let taken_over = app.data_as(&token, BOOK, input).await;
    assert_eq!(taken_over["bookSeat"]["status"], "CONFIRMED");
    let stored = idempotency_key::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, IdempotencyState::Completed);
}

#[tokio::test]
async fn audience_roles_come_from_the_course() {
    // The brochure's course is for mayors and aldermen; a course without roles is for anyone.
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let roles = course_audience_role::Entity::find()
        .filter(course_audience_role::Column::CourseId.eq(course.id))
        .all(&app.db)
        .await
        .unwrap();
    let mut roles: Vec<_> = roles.into_iter().map(|r| r.role).collect();
    roles.sort();
    assert_eq!(
        roles,
        vec![ParticipantRole::Mayor, ParticipantRole::Alderman]
    );

    let open_course = insert_course(
        &app.db,
        course.provider_id,
        entity::enums::CourseStatus::Published,
        "Test",
    )
    .await;
    let session = insert_session(
        &app.db,
        open_course.id,
        None,
        Utc::now() + Duration::days(5),
        5,
    )
    .await;
    let mut secretary: participant::ActiveModel = insert_participant(&app.db).await.into();
    secretary.role = Set(ParticipantRole::MunicipalSecretary);
    let secretary = secretary.update(&app.db).await.unwrap();
    assert_eq!(
        book_self(&app, &session, secretary.id).await["status"],
        "CONFIRMED"
    );

    // A draft course takes no bookings; for a participant its sessions do not exist at all:
    // the answer is exactly the one for an unknown session, whatever the session's window.
    let draft = insert_course(
        &app.db,
        course.provider_id,
        entity::enums::CourseStatus::Draft,
        "Test",
    )
    .await;
    let draft_session =
        insert_session(&app.db, draft.id, None, Utc::now() + Duration::days(5), 5).await;
    let mut unknown = draft_session.clone();
    unknown.id = Uuid::new_v4();
    let hidden = book_self(&app, &draft_session, secretary.id).await;
    let missing = book_self(&app, &unknown, secretary.id).await;
    assert_eq!(hidden["userErrors"][0]["code"], "NOT_FOUND", "{hidden}");
    assert_eq!(hidden["userErrors"], missing["userErrors"]);
    let mut past: session::ActiveModel = draft_session.clone().into();
    past.booking_open = Set(false);
    past.update(&app.db).await.unwrap();
    assert_eq!(
        book_self(&app, &draft_session, secretary.id).await["userErrors"],
        missing["userErrors"],
        "not even a closed window gives it away"
    );

    // Staff, who see drafts, are told why.
    let staff = app
        .graphql_as(
            &app.token(Role::Coordinator),
            BOOK,
            json!({ "input": { "sessionId": global_session(&draft_session),
                               "participantId": ParticipantId(secretary.id).to_global() } }),
        )
        .await;
    assert_eq!(user_error(&staff["data"]["bookSeat"]), "BOOKING_CLOSED");
}

#[tokio::test]
async fn a_write_that_keeps_waiting_for_a_lock_is_refused_as_retryable_and_changes_nothing() {
    use sea_orm::{ConnectionTrait, SqliteTransactionMode, TransactionOptions, TransactionTrait};

    let app = spawn_app_with(|settings| settings.limits.lock_timeout_ms = 50).await;
    let session = bookable_session(&app, 10).await;
    let mayor = insert_participant(&app.db).await;
    // Another writer holds the session (PostgreSQL) or the database (SQLite) and does not let go.
    let holder = app
        .db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await
        .unwrap();
    if holder.get_database_backend() == sea_orm::DbBackend::Postgres {
        holder
            .execute_unprepared(&format!(
                "SELECT id FROM sessions WHERE id = '{}' FOR UPDATE",
                session.id
            ))
            .await
            .unwrap();
    }
    let token = app.participant_token(mayor.id);
    let input =
        json!({ "input": { "sessionId": global_session(&session), "idempotencyKey": "wacht" } });
    let without_key = json!({ "input": { "sessionId": global_session(&session) } });
    for attempt in [without_key, input.clone()] {
        let busy = app.graphql_as(&token, BOOK, attempt).await;
        assert_eq!(error_code(&busy), "TRY_AGAIN", "{busy}");
        assert_eq!(busy["errors"][0]["extensions"]["retryable"], true);
    }
    holder.rollback().await.unwrap();

    assert!(enrolments_of(&app, &session).await.is_empty());
    // The key was given up, so the retry does the work.
    let retried = app.data_as(&token, BOOK, input).await;
    assert_eq!(retried["bookSeat"]["status"], "CONFIRMED");
    assert_eq!(retried["bookSeat"]["replayed"], false);
}

#[tokio::test]
async fn idempotency_keys_are_kept_a_day_and_then_forgotten() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let mayor = insert_participant(&app.db).await;
    let scope = api::db::idempotency::scope_of(&participant_viewer(mayor.id), "bookSeat");
    let key = |name: &str, age: Duration| idempotency_key::ActiveModel {
        id: Set(Uuid::new_v4()),
        scope: Set(scope.clone()),
        key: Set(name.into()),
        operation: Set("bookSeat".into()),
        request_hash: Set(book_input_hash(&global_session(&session))),
        state: Set(IdempotencyState::Completed),
        // A stored refusal: replaying it would answer BOOKING_CLOSED.
        response: Set(Some(
            r#"{"refusal":{"code":"BOOKING_CLOSED","message":"closed","field":null}}"#.into(),
        )),
        created_at: Set(Utc::now() - age),
        locked_until: Set(Utc::now() - age),
    };
    key("gisteren", Duration::hours(23))
        .insert(&app.db)
        .await
        .unwrap();
    key("eergisteren", Duration::hours(25))
        .insert(&app.db)
        .await
        .unwrap();
    let token = app.participant_token(mayor.id);
    let book = |name: &str| json!({ "input": { "sessionId": global_session(&session), "idempotencyKey": name } });

    // Within a day the stored answer is the answer.
    let replayed = app.data_as(&token, BOOK, book("gisteren")).await;
    assert_eq!(replayed["bookSeat"]["replayed"], true);
    assert_eq!(user_error(&replayed["bookSeat"]), "BOOKING_CLOSED");
    // After a day the key is forgotten and the request runs.
    let fresh = app.data_as(&token, BOOK, book("eergisteren")).await;
    assert_eq!(fresh["bookSeat"]["replayed"], false);
    assert_eq!(fresh["bookSeat"]["status"], "CONFIRMED");

    // The purge every process runs now and then forgets keys older than a day.
    key("oud", Duration::hours(30))
        .insert(&app.db)
        .await
        .unwrap();
    let purged = api::db::idempotency::purge(&app.db, Utc::now() - Duration::hours(24))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let left: Vec<String> = idempotency_key::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.key)
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.contains(&"oud".to_owned()));
}

#[tokio::test]
async fn a_ministry_system_books_and_cancels_on_behalf_but_cannot_override() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let (_, sync) =
        api::db::api_key::create_api_key(&app.db, "Testkoppeling", MachineRole::SyncClient)
            .await
            .unwrap();
    let mayor = insert_participant(&app.db).await;
    let booked = app
        .data_as(
            &sync,
            BOOK,
            json!({ "input": { "sessionId": global_session(&session),
                               "participantId": ParticipantId(mayor.id).to_global() } }),
        )
        .await;
    assert_eq!(booked["bookSeat"]["status"], "CONFIRMED");
    let id = booked["bookSeat"]["enrolment"]["id"].clone();
    let change = enrolment_change::Entity::find()
        .filter(enrolment_change::Column::EnrolmentId.eq(uuid_of(&id)))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(change.actor_role, "SyncClient");
    assert!(
        change.actor.starts_with("api-key:"),
        "a key id, never a name"
    );

    let cancelled = app
        .data_as(
            &sync,
            CANCEL,
            json!({ "input": { "enrolmentId": id, "reason": "afgemeld in het ministeriesysteem" } }),
        )
        .await;
    assert_eq!(
        cancelled["cancelEnrolment"]["enrolment"]["status"],
        "CANCELLED"
    );

    let override_attempt = app
        .graphql_as(
            &sync,
            BOOK,
            json!({ "input": { "sessionId": global_session(&session),
                               "participantId": ParticipantId(mayor.id).to_global(),
                               "overrideEligibility": true, "reason": "x" } }),
        )
        .await;
    assert_eq!(error_code(&override_attempt), "FORBIDDEN");
    let moved = app
        .graphql_as(
            &sync,
            MOVE,
            json!({ "input": { "enrolmentId": id, "toSessionId": global_session(&session) } }),
        )
        .await;
    assert_eq!(
        error_code(&moved),
        "FORBIDDEN",
        "moves are for the service desk"
    );
}

#[tokio::test]
async fn a_course_may_allow_booking_more_than_one_session() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let mut repeatable: entity::course::ActiveModel = course.clone().into();
    repeatable.allow_repeat_enrolment = Set(true);
    repeatable.update(&app.db).await.unwrap();
    let first = bookable_session(&app, 10).await;
    let second = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() + Duration::days(40),
        10,
    )
    .await;
    let mayor = insert_participant(&app.db).await;
    assert_eq!(
        book_self(&app, &first, mayor.id).await["status"],
        "CONFIRMED"
    );
    assert_eq!(
        book_self(&app, &second, mayor.id).await["status"],
        "CONFIRMED"
    );
    // Still once per session.
    assert_eq!(
        user_error(&book_self(&app, &second, mayor.id).await),
        "ALREADY_ENROLLED"
    );
}

/// The caller `TestApp::participant_token` speaks for.
fn participant_viewer(id: Uuid) -> api::auth::Viewer {
    api::auth::Viewer::Person {
        subject: format!("participant-{id}"),
        role: Role::Participant,
        participant_id: Some(id),
        actor_id: None,
    }
}
