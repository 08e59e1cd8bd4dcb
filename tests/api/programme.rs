use entity::enums::{EnrolmentStatus, ModerationStatus, ParticipantRole};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::json;

use crate::helpers::*;

const SAMPLE_QUERY: &str = r#"
{ courses(first: 10) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node {
    id slug title subtitle audience goals maxParticipants
    modules { title topics children { title topics } }
    sessions(first: 5) { edges { node { id startsAt endsAt seatsLeft location { name city } } } }
} } } }
"#;

#[tokio::test]
async fn the_sample_query_serves_the_brochure_course() {
    let app = spawn_app().await;

    let data = app.data(SAMPLE_QUERY, json!({})).await;

    let courses = &data["courses"];
    assert_eq!(courses["totalCount"], 1);
    assert_eq!(courses["pageInfo"]["hasNextPage"], false);
    let course = &courses["edges"][0]["node"];
    assert_eq!(
        course["title"],
        "Omgaan met intimidatie en bedreiging voor burgemeesters en wethouders"
    );
    assert_eq!(
        course["subtitle"],
        "Bereid u voor op diverse vormen van beïnvloeding, intimidatie en bedreiging"
    );
    assert_eq!(course["audience"], "Burgemeesters en wethouders");
    assert_eq!(course["maxParticipants"], 10);
    assert_eq!(course["goals"].as_array().unwrap().len(), 3);
    let modules = course["modules"].as_array().unwrap();
    let titles: Vec<_> = modules
        .iter()
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Preventieve focus",
            "Het ondersteunende netwerk",
            "Na afloop"
        ]
    );
    let angles: Vec<_> = modules[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        angles,
        [
            "Kennis van en alertheid op het verloop van het proces",
            "Risico's van het eigen gedrag",
            "Fysieke weerbaarheid"
        ]
    );
    assert_eq!(
        modules[0]["children"][0]["topics"][1],
        "signalen herkennen en beoordelen"
    );
    assert_eq!(modules[1]["topics"].as_array().unwrap().len(), 3);
    assert_eq!(modules[2]["topics"].as_array().unwrap().len(), 2);
    let sessions = course["sessions"]["edges"].as_array().unwrap();
    assert_eq!(sessions.len(), 3, "the demo sessions");
    assert_eq!(sessions[0]["node"]["seatsLeft"], 10);
    assert_eq!(sessions[0]["node"]["location"]["city"], "Den Haag");
}

#[tokio::test]
async fn every_fact_of_the_brochure_has_a_home() {
    let app = spawn_app().await;

    let data = app
        .data(
            r#"{ course(slug: "omgaan-met-intimidatie-en-bedreiging-burgemeesters-wethouders") {
                introduction method theme audienceRoles durationDays dailyStartTime dailyEndTime timeZone
                alumniCount alumniCountBeforePlatform status
                testimonials { quote attribution authorRole }
                provider { name serviceDeskName email phone website streetAddress postalCode city
                           registrationMethod registrationInstructions parent { name parent { name } } }
                sponsor { name }
            } }"#,
            json!({}),
        )
        .await;

    let course = &data["course"];
    assert!(
        course["introduction"]
            .as_str()
            .unwrap()
            .contains("120 burgemeesters")
    );
    assert!(
        course["method"]
            .as_str()
            .unwrap()
            .contains("maximaal tien per training")
    );
    assert_eq!(course["theme"], "Weerbaar Bestuur");
    assert_eq!(course["audienceRoles"], json!(["MAYOR", "ALDERMAN"]));
    assert_eq!(course["durationDays"], 1);
    assert_eq!(course["dailyStartTime"], "09:00:00");
    assert_eq!(course["dailyEndTime"], "16:00:00");
    assert_eq!(course["timeZone"], "Europe/Amsterdam");
    assert_eq!(course["alumniCountBeforePlatform"], 120);
    assert_eq!(course["alumniCount"], 120);
    assert_eq!(course["status"], "PUBLISHED");
    assert_eq!(course["testimonials"][0]["attribution"], "Een deelnemer");
    assert!(
        course["testimonials"][0]["quote"]
            .as_str()
            .unwrap()
            .starts_with("Je gaat meestal")
    );
    let provider = &course["provider"];
    assert_eq!(provider["name"], "Opleidingsinstituut DJI");
    assert_eq!(provider["serviceDeskName"], "Servicepunt");
    assert_eq!(provider["email"], "servicepunt@dji.minjus.nl");
    assert_eq!(provider["website"], "https://www.oidji.nl");
    assert_eq!(provider["streetAddress"], "Raamweg 9-11");
    assert_eq!(provider["postalCode"], "2596 HL");
    assert_eq!(provider["city"], "Den Haag");
    assert_eq!(provider["registrationMethod"], "EMAIL");
    assert_eq!(provider["parent"]["name"], "Dienst Justitiële Inrichtingen");
    assert_eq!(
        provider["parent"]["parent"]["name"],
        "Ministerie van Justitie en Veiligheid"
    );
    assert_eq!(
        course["sponsor"]["name"],
        "Ministerie van Binnenlandse Zaken en Koninkrijksrelaties"
    );
}

#[tokio::test]
async fn a_course_is_found_by_id_or_slug_and_an_unknown_one_is_null() {
    let app = spawn_app().await;
    let id = app
        .data(
            &format!(r#"{{ course(slug: "{BROCHURE_SLUG}") {{ id }} }}"#),
            json!({}),
        )
        .await["course"]["id"]
        .clone();

    let by_id = app
        .data(
            "query($id: ID!) { course(id: $id) { slug } }",
            json!({ "id": id }),
        )
        .await;
    let unknown = app
        .data(r#"{ course(slug: "bestaat-niet") { slug } }"#, json!({}))
        .await;
    let neither = app.graphql("{ course { slug } }", json!({})).await;
    let both = app
        .graphql(r#"{ course(id: "x", slug: "y") { slug } }"#, json!({}))
        .await;

    assert_eq!(by_id["course"]["slug"], BROCHURE_SLUG);
    assert_eq!(unknown["course"], json!(null));
    assert_eq!(error_code(&neither), "BAD_USER_INPUT");
    assert_eq!(error_code(&both), "BAD_USER_INPUT");
}

#[tokio::test]
async fn seat_counts_follow_the_enrolments() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let session = insert_session(
        &app.db,
        course.id,
        None,
        chrono::Utc::now() + chrono::Duration::days(30),
        3,
    )
    .await;
    for status in [
        EnrolmentStatus::Confirmed,
        EnrolmentStatus::Confirmed,
        EnrolmentStatus::Waitlisted,
        EnrolmentStatus::Waitlisted,
        EnrolmentStatus::Cancelled,
    ] {
        let participant = insert_participant(&app.db).await;
        insert_enrolment(&app.db, session.id, participant.id, status).await;
    }
    let id = api::domain::ids::SessionId(session.id).to_global();
    let query =
        "query($id: ID!) { session(id: $id) { capacity seatsTaken seatsLeft waitingListLength } }";

    let before = app.data(query, json!({ "id": id })).await;
    let participant = insert_participant(&app.db).await;
    insert_enrolment(
        &app.db,
        session.id,
        participant.id,
        EnrolmentStatus::Attended,
    )
    .await;
    let participant = insert_participant(&app.db).await;
    insert_enrolment(&app.db, session.id, participant.id, EnrolmentStatus::NoShow).await;
    let after = app.data(query, json!({ "id": id })).await;

    assert_eq!(
        before["session"],
        json!({ "capacity": 3, "seatsTaken": 2, "seatsLeft": 1, "waitingListLength": 2 })
    );
    // More seats held than the capacity (data from before a capacity change) never shows a negative count.
    assert_eq!(
        after["session"],
        json!({ "capacity": 3, "seatsTaken": 4, "seatsLeft": 0, "waitingListLength": 2 })
    );
}

#[tokio::test]
async fn the_alumni_count_adds_each_attendee_once() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let past = chrono::Utc::now() - chrono::Duration::days(60);
    let first = insert_session(&app.db, course.id, None, past, 10).await;
    let second = insert_session(
        &app.db,
        course.id,
        None,
        past + chrono::Duration::days(7),
        10,
    )
    .await;
    let twice = insert_participant(&app.db).await;
    let once = insert_participant(&app.db).await;
    let absent = insert_participant(&app.db).await;
    insert_enrolment(&app.db, first.id, twice.id, EnrolmentStatus::Attended).await;
    insert_enrolment(&app.db, second.id, twice.id, EnrolmentStatus::Attended).await;
    insert_enrolment(&app.db, second.id, once.id, EnrolmentStatus::Attended).await;
    insert_enrolment(&app.db, first.id, absent.id, EnrolmentStatus::NoShow).await;

    let data = app
        .data(
            &format!(r#"{{ course(slug: "{BROCHURE_SLUG}") {{ alumniCount }} }}"#),
            json!({}),
        )
        .await;

    assert_eq!(data["course"]["alumniCount"], 122);
}

#[tokio::test]
async fn only_approved_feedback_with_consent_is_published_and_never_with_a_name() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let session = insert_session(
        &app.db,
        course.id,
        None,
        chrono::Utc::now() - chrono::Duration::days(9),
        10,
    )
    .await;
    let cases = [
        (
            "Goedgekeurd met toestemming.",
            true,
            ModerationStatus::Approved,
        ),
        ("Geen toestemming.", false, ModerationStatus::Approved),
        ("Nog niet beoordeeld.", true, ModerationStatus::Pending),
        ("Afgewezen.", true, ModerationStatus::Rejected),
    ];
    for (comment, consent, moderation) in cases {
        let participant = insert_participant(&app.db).await;
        let now = chrono::Utc::now();
        entity::feedback::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            course_id: Set(course.id),
            session_id: Set(Some(session.id)),
            participant_id: Set(Some(participant.id)),
            overall_rating: Set(Some(5)),
            relevance_rating: Set(None),
            actor_rating: Set(None),
            trainer_rating: Set(None),
            comment: Set(Some(comment.into())),
            consent_to_publish: Set(consent),
            moderation_status: Set(moderation),
            author_role: Set(Some(ParticipantRole::Alderman)),
            submitted_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&app.db)
        .await
        .unwrap();
    }

    let data = app
        .data(
            &format!(r#"{{ course(slug: "{BROCHURE_SLUG}") {{ testimonials {{ quote attribution authorRole }} }} }}"#),
            json!({}),
        )
        .await;

    let testimonials = data["course"]["testimonials"].as_array().unwrap();
    let quotes: Vec<_> = testimonials
        .iter()
        .map(|t| t["quote"].as_str().unwrap())
        .collect();
    assert_eq!(quotes.len(), 2, "{quotes:?}");
    assert!(quotes[0].starts_with("Je gaat meestal"));
    assert_eq!(quotes[1], "Goedgekeurd met toestemming.");
    assert_eq!(testimonials[1]["attribution"], "Een wethouder");
    assert_eq!(testimonials[1]["authorRole"], "ALDERMAN");
}
