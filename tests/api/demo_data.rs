use chrono::{Duration, Utc};
use serde_json::json;

use crate::helpers::*;

const DEMO: &str = r#"{ courses { totalCount edges { node { modules { id } } } }
    sessions { totalCount edges { node { isDemo startsAt localStartsAt endTime capacity location { isDemo name } } } } }"#;

#[tokio::test]
async fn demo_sessions_are_marked_and_lie_in_the_coming_weeks() {
    let app = spawn_app().await;

    let data = app.data(DEMO, json!({})).await;

    let sessions = data["sessions"]["edges"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    for session in sessions {
        let node = &session["node"];
        assert_eq!(node["isDemo"], true);
        assert_eq!(node["location"]["isDemo"], true);
        assert_eq!(node["capacity"], 10);
        assert_eq!(node["endTime"], "16:00:00");
        assert!(
            node["localStartsAt"]
                .as_str()
                .unwrap()
                .contains("T09:00:00+0")
        );
        let starts =
            chrono::DateTime::parse_from_rfc3339(node["startsAt"].as_str().unwrap()).unwrap();
        assert!(
            starts > Utc::now() && starts < Utc::now() + Duration::weeks(8),
            "{starts}"
        );
    }
}

#[tokio::test]
async fn a_restart_never_duplicates_the_demo_data() {
    let first = spawn_app().await;
    let before = first.data(DEMO, json!({})).await;
    let settings = api::Settings::for_database(first.database.url());
    let TestApp { database, .. } = first;

    let second = start(settings, database).await;
    let after = second.data(DEMO, json!({})).await;

    assert_eq!(after["courses"]["totalCount"], 1);
    assert_eq!(after["sessions"]["totalCount"], 3);
    assert_eq!(before, after);
}

#[tokio::test]
async fn demo_data_can_be_switched_off() {
    let app = spawn_app_with(|settings| settings.demo_data = false).await;

    let data = app.data(DEMO, json!({})).await;

    assert_eq!(data["courses"]["totalCount"], 0);
    assert_eq!(data["sessions"]["totalCount"], 0);
}
