//! Subscriptions that normalised caches understand: `sessionUpdated` answers with the `Session`
//! and `myEnrolmentUpdated` with the `Enrolment`, by id; each change is resolved once for every
//! subscriber of one access class, and reads of personal data are audited per subscriber.

use api::{auth::Role, domain::ids::EnrolmentId};
use chrono::{Duration, Utc};
use entity::audit_event;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    booking::{book_self, bookable_session, global_session},
    helpers::*,
    live::Subscriber,
    scheduling::RESCHEDULE,
};

const SESSION_UPDATED: &str = "subscription($id: ID!) { sessionUpdated(sessionId: $id) {
    id seatsLeft seatsTaken waitingListLength availabilityVersion startsAt course { title } } }";

const ENROLMENT_UPDATED: &str = "subscription($id: ID!) { myEnrolmentUpdated(enrolmentId: $id) {
    id status waitingListPlace } }";

fn updated(message: &Value) -> &Value {
    &message["data"]["sessionUpdated"]
}

#[tokio::test]
async fn a_session_is_pushed_by_its_id_with_a_rising_version() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 1).await;
    let id = global_session(&session);
    let mut subscriber = Subscriber::connect(&app.address, None).await.unwrap();
    subscriber
        .subscribe("s", SESSION_UPDATED, json!({ "id": id }))
        .await;
    let first = subscriber.next().await;
    assert_eq!(updated(&first)["id"], id.as_str(), "{first}");
    assert_eq!(updated(&first)["seatsLeft"], 1);

    book_self(&app, &session, insert_participant(&app.db).await.id).await;
    let booked = subscriber.next().await;
    assert_eq!(updated(&booked)["id"], id.as_str());
    assert_eq!(
        (
            updated(&booked)["seatsLeft"].clone(),
            updated(&booked)["seatsTaken"].clone()
        ),
        (json!(0), json!(1))
    );
    assert!(
        updated(&booked)["availabilityVersion"].as_i64()
            > updated(&first)["availabilityVersion"].as_i64()
    );
    assert_eq!(
        updated(&booked)["course"]["title"],
        updated(&first)["course"]["title"],
        "other fields are resolved with each change"
    );

    // A new time reaches subscribers too.
    let starts = Utc::now() + Duration::days(30);
    let moved = app
        .data_as(
            &app.token(Role::Coordinator),
            RESCHEDULE,
            json!({ "input": { "sessionId": id, "times": {
                "startsAt": starts, "endsAt": starts + Duration::hours(7) } } }),
        )
        .await;
    assert_eq!(moved["rescheduleSession"]["userErrors"], json!([]));
    let rescheduled = subscriber.next().await;
    assert_ne!(
        updated(&rescheduled)["startsAt"],
        updated(&booked)["startsAt"]
    );
    assert!(
        updated(&rescheduled)["availabilityVersion"].as_i64()
            > updated(&booked)["availabilityVersion"].as_i64()
    );
}

#[tokio::test]
async fn a_participant_follows_their_enrolment_by_its_id() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 1).await;
    let seated = insert_participant(&app.db).await;
    let waiting = insert_participant(&app.db).await;
    let seat = book_self(&app, &session, seated.id).await;
    let place = book_self(&app, &session, waiting.id).await;
    let enrolment = place["enrolment"]["id"].clone();

    let mut subscriber =
        Subscriber::connect(&app.address, Some(&app.participant_token(waiting.id)))
            .await
            .unwrap();
    subscriber
        .subscribe("mine", ENROLMENT_UPDATED, json!({ "id": enrolment }))
        .await;
    assert_eq!(
        subscriber.next().await["data"]["myEnrolmentUpdated"],
        json!({ "id": enrolment, "status": "WAITLISTED", "waitingListPlace": 1 })
    );
    app.data_as(
        &app.participant_token(seated.id),
        "mutation($id: ID!) { cancelEnrolment(input: { enrolmentId: $id }) { userErrors { code } } }",
        json!({ "id": seat["enrolment"]["id"] }),
    )
    .await;
    assert_eq!(
        subscriber.next().await["data"]["myEnrolmentUpdated"],
        json!({ "id": enrolment, "status": "CONFIRMED", "waitingListPlace": null })
    );

    let mut other = Subscriber::connect(&app.address, Some(&app.participant_token(seated.id)))
        .await
        .unwrap();
    for id in [
        enrolment.as_str().unwrap().to_owned(),
        EnrolmentId(uuid::Uuid::new_v4()).to_global(),
    ] {
        other
            .subscribe(&id, ENROLMENT_UPDATED, json!({ "id": id }))
            .await;
        assert_eq!(error_code(&other.next().await), "NOT_FOUND");
    }
}

/// Statements one booking costs while `subscribers` callers follow the session: anonymous
/// ones, or participants (each their own).
async fn booking_cost(app: &TestApp, subscribers: usize, participants: bool) -> u64 {
    let session = bookable_session(app, 50).await;
    let id = global_session(&session);
    let mut followers = Vec::new();
    for _ in 0..subscribers {
        let token = if participants {
            Some(app.participant_token(insert_participant(&app.db).await.id))
        } else {
            None
        };
        let mut subscriber = Subscriber::connect(&app.address, token.as_deref())
            .await
            .unwrap();
        subscriber
            .subscribe("s", SESSION_UPDATED, json!({ "id": id }))
            .await;
        assert_eq!(updated(&subscriber.next().await)["seatsLeft"], 50);
        followers.push(subscriber);
    }
    let participant = insert_participant(&app.db).await;
    let before = app.statements().await;
    book_self(app, &session, participant.id).await;
    for subscriber in &mut followers {
        assert_eq!(updated(&subscriber.next().await)["seatsLeft"], 49);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.statements().await - before
}

#[tokio::test]
async fn one_change_is_resolved_once_for_every_subscriber_of_a_class() {
    let app = spawn_app_with(|settings| {
        settings.limits.ws_max_connections_per_caller = 100;
        settings.limits.rate_limit_anonymous_per_minute = 0;
    })
    .await;
    let one = booking_cost(&app, 1, false).await;
    let twenty = booking_cost(&app, 20, false).await;
    assert!(
        twenty <= one + 1,
        "twenty subscribers cost {twenty} statements, one {one}"
    );
    // Every participant is shown a public session alike: twenty participants are one class.
    let one = booking_cost(&app, 1, true).await;
    let twenty = booking_cost(&app, 20, true).await;
    assert!(
        twenty <= one + 1,
        "twenty participants cost {twenty} statements, one {one}"
    );
}

/// Statements one cancellation costs while `waiting` participants follow their own places on
/// the waiting list, every one of which moves.
async fn queue_cost(app: &TestApp, waiting: usize) -> u64 {
    let session = bookable_session(app, 1).await;
    let seated = insert_participant(&app.db).await;
    let seat = book_self(app, &session, seated.id).await;
    let mut followers = Vec::new();
    for place in 1..=waiting {
        let person = insert_participant(&app.db).await;
        let booked = book_self(app, &session, person.id).await;
        let token = app.participant_token(person.id);
        let mut subscriber = Subscriber::connect(&app.address, Some(&token))
            .await
            .unwrap();
        subscriber
            .subscribe(
                "mine",
                ENROLMENT_UPDATED,
                json!({ "id": booked["enrolment"]["id"] }),
            )
            .await;
        let first = subscriber.next().await;
        assert_eq!(
            first["data"]["myEnrolmentUpdated"]["waitingListPlace"], place,
            "{first}"
        );
        followers.push(subscriber);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let before = app.statements().await;
    app.data_as(
        &app.participant_token(seated.id),
        "mutation($id: ID!) { cancelEnrolment(input: { enrolmentId: $id }) { userErrors { code } } }",
        json!({ "id": seat["enrolment"]["id"] }),
    )
    .await;
    for subscriber in &mut followers {
        subscriber.next().await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.statements().await - before
}

#[tokio::test]
async fn a_change_to_a_queue_costs_the_same_however_many_follow_their_places() {
    let app = spawn_app_with(|settings| {
        settings.limits.ws_max_connections_per_caller = 100;
    })
    .await;
    let two = queue_cost(&app, 2).await;
    let twenty = queue_cost(&app, 20).await;
    assert!(
        twenty <= two + 1,
        "twenty followers cost {twenty} statements, two {two}"
    );
}

#[tokio::test]
async fn staff_subscribers_reading_personal_data_are_each_audited() {
    let app = spawn_app_with(|settings| settings.limits.ws_max_connections_per_caller = 10).await;
    let session = bookable_session(&app, 5).await;
    let id = global_session(&session);
    let query = "subscription($id: ID!) { sessionUpdated(sessionId: $id) {
        seatsTaken enrolments { participant { fullName } } } }";
    let mut subscribers = Vec::new();
    for subject in ["coordinator-een", "coordinator-twee"] {
        let token = app
            .jwt
            .issue(subject, Role::Coordinator, None, 600)
            .unwrap();
        let mut subscriber = Subscriber::connect(&app.address, Some(&token))
            .await
            .unwrap();
        subscriber.subscribe("s", query, json!({ "id": id })).await;
        let first = subscriber.next().await;
        assert_eq!(first["data"]["sessionUpdated"]["seatsTaken"], 0, "{first}");
        subscribers.push(subscriber);
    }
    book_self(&app, &session, insert_participant(&app.db).await.id).await;
    for subscriber in &mut subscribers {
        let booked = subscriber.next().await;
        assert_eq!(
            booked["data"]["sessionUpdated"]["enrolments"]
                .as_array()
                .map(Vec::len),
            Some(1),
            "{booked}"
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    for subject in ["coordinator-een", "coordinator-twee"] {
        let audited = audit_event::Entity::find()
            .filter(audit_event::Column::Actor.eq(subject))
            .filter(audit_event::Column::RecordType.eq("Participant"))
            .count(&app.db)
            .await
            .unwrap();
        assert!(
            audited >= 1,
            "{subject}'s read of a participant is on the trail"
        );
    }
}

#[tokio::test]
async fn the_replaced_subscriptions_are_deprecated_in_the_schema() {
    let app = spawn_app().await;
    let fields = app
        .data(
            "{ __type(name: \"Subscription\") { fields(includeDeprecated: true) { name isDeprecated } } }",
            json!({}),
        )
        .await;
    let deprecated = |name: &str| {
        fields["__type"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["isDeprecated"].clone())
    };
    assert_eq!(deprecated("sessionAvailability"), Some(json!(true)));
    assert_eq!(deprecated("myEnrolment"), Some(json!(true)));
    assert_eq!(deprecated("sessionUpdated"), Some(json!(false)));
    assert_eq!(deprecated("myEnrolmentUpdated"), Some(json!(false)));
}

/// A transaction may announce more changes than one statement can carry (cancelling a session
/// with a long waiting list): PostgreSQL allows 1664 entries in a select list.
#[tokio::test]
async fn thousands_of_changes_in_one_transaction_are_announced() {
    let app = spawn_app().await;
    let backend = sea_orm::ConnectionTrait::get_database_backend(&app.db);
    let live = api::live::Live::publisher(backend);
    let changes: Vec<_> = (0..2500)
        .map(|_| api::live::LiveChange::Enrolment {
            id: uuid::Uuid::new_v4(),
            status: entity::enums::EnrolmentStatus::Cancelled,
        })
        .collect();
    let txn = sea_orm::TransactionTrait::begin(&app.db).await.unwrap();
    live.announce(&txn, &changes).await.unwrap();
    txn.commit().await.unwrap();
}

#[tokio::test]
async fn participants_sharing_a_sessions_updates_see_no_one_elses_enrolment() {
    let app = spawn_app().await;
    let session = bookable_session(&app, 10).await;
    let id = global_session(&session);
    // The first subscriber is booked, so an execution made for them could show their seat.
    let booked = insert_participant(&app.db).await;
    book_self(&app, &session, booked.id).await;
    let other = insert_participant(&app.db).await;
    let prying = "subscription($id: ID!) { sessionUpdated(sessionId: $id) {
        seatsTaken enrolments { id participant { fullName email } } } }";
    let mut answers = Vec::new();
    for person in [&booked, &other] {
        let token = app.participant_token(person.id);
        let mut subscriber = Subscriber::connect(&app.address, Some(&token))
            .await
            .unwrap();
        subscriber.subscribe("s", prying, json!({ "id": id })).await;
        answers.push((subscriber.next().await, subscriber));
    }
    let newcomer = insert_participant(&app.db).await;
    book_self(&app, &session, newcomer.id).await;
    for (first, subscriber) in &mut answers {
        let next = subscriber.next().await;
        for answer in [&*first, &next] {
            let text = answer.to_string();
            assert!(
                answer["data"]["sessionUpdated"]["enrolments"].is_null(),
                "{answer}"
            );
            assert_eq!(error_code(answer), "FORBIDDEN", "{answer}");
            for person in [&booked, &other, &newcomer] {
                assert!(!text.contains(&person.full_name), "{answer}");
                assert!(!text.contains(&person.email), "{answer}");
            }
        }
        assert_eq!(next["data"]["sessionUpdated"]["seatsTaken"], 2, "{next}");
    }
}
