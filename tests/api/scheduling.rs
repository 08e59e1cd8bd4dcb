//! Staff plan sessions: schedule (in local time, across daylight saving), reschedule, relocate
//! and cancel, telling everyone booked.

use api::{
    auth::Role,
    domain::ids::{CourseId, LocationId, SessionId},
};
use chrono::{Duration, Utc};
use entity::{enrolment_change, enums::EnrolmentStatus, outbox_event};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    booking::{book_self, bookable_session, global_session},
    helpers::*,
};

const SCHEDULE: &str = "mutation($input: ScheduleSessionInput!) { scheduleSession(input: $input) {
    userErrors { code field } session { id startsAt endsAt localStartsAt capacity location { city } } } }";
pub const RESCHEDULE: &str =
    "mutation($input: RescheduleSessionInput!) { rescheduleSession(input: $input) {
    userErrors { code field } session { startsAt endsAt } } }";
const RELOCATE: &str = "mutation($input: RelocateSessionInput!) { relocateSession(input: $input) {
    userErrors { code field } session { location { city } } } }";
pub const CANCEL_SESSION: &str =
    "mutation($input: CancelSessionInput!) { cancelSession(input: $input) {
    userErrors { code field } session { status seatsTaken waitingListLength } } }";

fn errors(payload: &Value) -> Value {
    payload["userErrors"].clone()
}

async fn topics(app: &TestApp, topic: &str) -> usize {
    outbox_event::Entity::find()
        .filter(outbox_event::Column::Topic.eq(topic))
        .all(&app.db)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn sessions_are_scheduled_in_local_time_on_either_side_of_daylight_saving() {
    let app = spawn_app().await;
    let course = CourseId(app.brochure_course().await.id).to_global();
    let location = insert_location(&app.db, "Utrecht").await;
    let staff = app.token(Role::Coordinator);
    let schedule = |date: &str| {
        json!({ "input": { "courseId": course, "locationId": LocationId(location.id).to_global(),
            "times": { "localDate": date, "localStartTime": "09:00:00", "localEndTime": "16:00:00" } } })
    };
    let winter =
        app.data_as(&staff, SCHEDULE, schedule("2030-03-26")).await["scheduleSession"].clone();
    assert_eq!(errors(&winter), json!([]));
    assert_eq!(winter["session"]["startsAt"], "2030-03-26T08:00:00+00:00");
    assert_eq!(
        winter["session"]["localStartsAt"],
        "2030-03-26T09:00:00+01:00"
    );
    assert_eq!(winter["session"]["capacity"], 10, "the course's maximum");
    assert_eq!(winter["session"]["location"]["city"], "Utrecht");
    // The clocks go forward on 31 March 2030.
    let summer =
        app.data_as(&staff, SCHEDULE, schedule("2030-04-02")).await["scheduleSession"].clone();
    assert_eq!(summer["session"]["startsAt"], "2030-04-02T07:00:00+00:00");
    assert_eq!(
        summer["session"]["localStartsAt"],
        "2030-04-02T09:00:00+02:00"
    );

    let instants = app
        .data_as(
            &staff,
            SCHEDULE,
            json!({ "input": { "courseId": course, "capacity": 6,
                "times": { "startsAt": "2030-05-07T07:00:00Z", "endsAt": "2030-05-07T14:00:00Z" } } }),
        )
        .await;
    assert_eq!(instants["scheduleSession"]["session"]["capacity"], 6);
}

#[tokio::test]
async fn a_schedule_that_makes_no_sense_is_refused_and_nothing_is_added() {
    let app = spawn_app().await;
    let course = CourseId(app.brochure_course().await.id).to_global();
    let staff = app.token(Role::Coordinator);
    let before = entity::session::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .len();
    let local = |date: &str, start: &str, end: &str| json!({ "localDate": date, "localStartTime": start, "localEndTime": end });
    let cases = [
        (
            json!({ "courseId": course, "times": local("2030-03-26", "16:00:00", "09:00:00") }),
            json!([{ "code": "END_BEFORE_START", "field": "input.times" }]),
        ),
        (
            json!({ "courseId": course, "times": local("2030-03-31", "02:30:00", "16:00:00") }),
            json!([{ "code": "BAD_USER_INPUT", "field": "input.times.localStartTime" }]),
        ),
        (
            json!({ "courseId": course, "times": { "startsAt": "2030-05-07T07:00:00Z", "localDate": "2030-05-07" } }),
            json!([{ "code": "BAD_USER_INPUT", "field": "input.times" }]),
        ),
        (
            json!({ "courseId": course, "times": local("2020-01-07", "09:00:00", "16:00:00") }),
            json!([{ "code": "BAD_USER_INPUT", "field": "input.times" }]),
        ),
        (
            json!({ "courseId": course, "capacity": 11, "times": local("2030-03-26", "09:00:00", "16:00:00") }),
            json!([{ "code": "CAPACITY_OUT_OF_RANGE", "field": "input.capacity" }]),
        ),
        (
            json!({ "courseId": CourseId(uuid::Uuid::new_v4()).to_global(), "times": local("2030-03-26", "09:00:00", "16:00:00") }),
            json!([{ "code": "NOT_FOUND", "field": "input.courseId" }]),
        ),
        (
            json!({ "courseId": course, "locationId": LocationId(uuid::Uuid::new_v4()).to_global(), "times": local("2030-03-26", "09:00:00", "16:00:00") }),
            json!([{ "code": "NOT_FOUND", "field": "input.locationId" }]),
        ),
    ];
    for (input, expected) in cases {
        let answer = app
            .data_as(&staff, SCHEDULE, json!({ "input": input }))
            .await;
        assert_eq!(errors(&answer["scheduleSession"]), expected, "{input}");
    }
    let after = entity::session::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .len();
    assert_eq!(after, before);

    let participant = insert_participant(&app.db).await;
    let refused = app
        .graphql_as(
            &app.participant_token(participant.id),
            SCHEDULE,
            json!({ "input": { "courseId": course, "times": local("2030-03-26", "09:00:00", "16:00:00") } }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
}

#[tokio::test]
async fn rescheduling_and_relocating_tell_everyone_booked() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 1).await;
    for _ in 0..2 {
        let person = insert_participant(&app.db).await;
        book_self(&app, &session, person.id).await;
    }
    let staff = app.token(Role::Coordinator);
    let starts = Utc::now() + Duration::days(30);
    let moved = app
        .data_as(
            &staff,
            RESCHEDULE,
            json!({ "input": { "sessionId": global_session(&session), "times": {
                "startsAt": starts.to_rfc3339(), "endsAt": (starts + Duration::hours(7)).to_rfc3339() } } }),
        )
        .await;
    assert_eq!(errors(&moved["rescheduleSession"]), json!([]));
    assert_eq!(
        topics(&app, "session.rescheduled").await,
        2,
        "the seat and the waiting place"
    );

    let location = insert_location(&app.db, "Zwolle").await;
    let relocated = app
        .data_as(
            &staff,
            RELOCATE,
            json!({ "input": { "sessionId": global_session(&session), "locationId": LocationId(location.id).to_global() } }),
        )
        .await;
    assert_eq!(
        relocated["relocateSession"]["session"]["location"]["city"],
        "Zwolle"
    );
    assert_eq!(topics(&app, "session.relocated").await, 2);

    // A session that has started keeps its time and place.
    let course = app.brochure_course().await;
    let started = insert_session(
        &app.db,
        course.id,
        None,
        Utc::now() - Duration::hours(1),
        10,
    )
    .await;
    let late = app
        .data_as(
            &staff,
            RELOCATE,
            json!({ "input": { "sessionId": SessionId(started.id).to_global(), "locationId": LocationId(location.id).to_global() } }),
        )
        .await;
    assert_eq!(
        errors(&late["relocateSession"])[0]["code"],
        "SESSION_STARTED"
    );
}

#[tokio::test]
async fn cancelling_a_session_cancels_its_enrolments_with_the_reason() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 1).await;
    let mut booked = Vec::new();
    for _ in 0..2 {
        let person = insert_participant(&app.db).await;
        booked.push((person.id, book_self(&app, &session, person.id).await));
    }
    let staff = app.token(Role::Coordinator);
    let input = |reason: &str| json!({ "input": { "sessionId": global_session(&session), "reason": reason } });
    let no_reason = app.data_as(&staff, CANCEL_SESSION, input(" ")).await;
    assert_eq!(
        errors(&no_reason["cancelSession"])[0]["code"],
        "REASON_REQUIRED"
    );

    let cancelled = app
        .data_as(&staff, CANCEL_SESSION, input("trainer ziek"))
        .await;
    assert_eq!(
        cancelled["cancelSession"]["session"],
        json!({ "status": "CANCELLED", "seatsTaken": 0, "waitingListLength": 0 })
    );
    for (_, answer) in &booked {
        let id =
            api::domain::ids::GlobalId::decode(answer["enrolment"]["id"].as_str().unwrap(), "id")
                .unwrap()
                .uuid;
        let last = enrolment_change::Entity::find()
            .filter(enrolment_change::Column::EnrolmentId.eq(id))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .max_by_key(|c| c.occurred_at)
            .unwrap();
        assert_eq!(last.to_status, EnrolmentStatus::Cancelled);
        assert_eq!(last.reason.as_deref(), Some("trainer ziek"));
    }
    assert_eq!(topics(&app, "session.cancelled").await, 2);

    let again = app.data_as(&staff, CANCEL_SESSION, input("nogmaals")).await;
    assert_eq!(
        errors(&again["cancelSession"])[0]["code"],
        "SESSION_CANCELLED"
    );
    let latecomer = insert_participant(&app.db).await;
    let refused = book_self(&app, &session, latecomer.id).await;
    assert_eq!(refused["userErrors"][0]["code"], "SESSION_CANCELLED");
}
