//! Instants in, Europe/Amsterdam out: the local time is right on both sides of daylight saving.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn local_times_follow_daylight_saving_in_amsterdam() {
    let app = spawn_app().await;
    let course = app.brochure_course().await;
    let cases = [
        // Winter: UTC+1.
        (
            "2027-01-12T08:00:00Z",
            "2027-01-12T09:00:00+01:00",
            "2027-01-12",
        ),
        // The Sunday clocks go forward: 09:00 is already summer time, UTC+2.
        (
            "2027-03-28T07:00:00Z",
            "2027-03-28T09:00:00+02:00",
            "2027-03-28",
        ),
        // Summer: UTC+2.
        (
            "2027-06-15T07:00:00Z",
            "2027-06-15T09:00:00+02:00",
            "2027-06-15",
        ),
        // The Sunday clocks go back: 09:00 is winter time again.
        (
            "2027-10-31T08:00:00Z",
            "2027-10-31T09:00:00+01:00",
            "2027-10-31",
        ),
        // Late in the evening UTC is already the next day in Amsterdam.
        (
            "2027-06-15T22:30:00Z",
            "2027-06-16T00:30:00+02:00",
            "2027-06-16",
        ),
    ];

    for (instant, local, date) in cases {
        let starts_at: DateTime<Utc> = instant.parse().unwrap();
        let session = insert_session(&app.db, course.id, None, starts_at, 10).await;
        let id = api::domain::ids::SessionId(session.id).to_global();
        let data = app
            .data(
                "query($id: ID!) { session(id: $id) { startsAt localStartsAt date timeZone } }",
                json!({ "id": id }),
            )
            .await;
        let session = &data["session"];
        assert_eq!(session["localStartsAt"], local, "{instant}");
        assert_eq!(session["date"], date, "{instant}");
        assert_eq!(session["timeZone"], "Europe/Amsterdam");
        let served: DateTime<Utc> = session["startsAt"].as_str().unwrap().parse().unwrap();
        assert_eq!(served, starts_at);
    }
}
