//! Draft and archived courses, with their sessions and modules, are for staff and sync clients
//! only: to anyone else they do not exist, by any path.

use api::{
    auth::Role,
    domain::ids::{CourseId, SessionId},
};
use chrono::{Duration, Utc};
use entity::enums::CourseStatus;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn unpublished_courses_and_their_sessions_are_invisible_to_the_public() {
    let app = spawn_app().await;
    let provider = app.brochure_course().await.provider_id;
    let participant = insert_participant(&app.db).await;
    for status in [CourseStatus::Draft, CourseStatus::Archived] {
        let course = insert_course(&app.db, provider, status, "Test").await;
        let session =
            insert_session(&app.db, course.id, None, Utc::now() + Duration::days(3), 8).await;
        let course_id = CourseId(course.id).to_global();
        let session_id = SessionId(session.id).to_global();
        let query = "query($course: ID!, $slug: String!, $session: ID!) {
            byId: course(id: $course) { slug }
            bySlug: course(slug: $slug) { slug }
            courseNode: node(id: $course) { id }
            session(id: $session) { id }
            sessionNode: node(id: $session) { id }
            sessions(first: 100) { edges { node { id } } } }";
        let variables = json!({ "course": course_id, "slug": course.slug, "session": session_id });
        let listed = |data: &Value| {
            data["sessions"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["node"]["id"] == json!(session_id))
        };

        let participant_token = app.participant_token(participant.id);
        for public in [
            app.data(query, variables.clone()).await,
            app.data_as(&participant_token, query, variables.clone())
                .await,
        ] {
            for field in ["byId", "bySlug", "courseNode", "session", "sessionNode"] {
                assert_eq!(public[field], Value::Null, "{status:?} {field}");
            }
            assert!(!listed(&public), "{status:?}: listed");
        }

        let staff = app
            .data_as(&app.token(Role::Coordinator), query, variables.clone())
            .await;
        assert_eq!(staff["byId"]["slug"], json!(course.slug));
        assert_eq!(staff["session"]["id"], json!(session_id));
        assert!(listed(&staff));
    }
}
