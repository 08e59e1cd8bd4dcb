//! A lock or a statement that runs out of time at the database is answered `TRY_AGAIN`, with
//! `extensions.retryable`, for a query as for a mutation: the database was busy, not wrong.
//! PostgreSQL only (its `lock_timeout` and `statement_timeout`); a busy SQLite is covered in
//! `booking`.

use api::auth::Role;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;

use crate::{
    booking::{bookable_session, global_session},
    helpers::*,
};

const CAPACITY: &str = "mutation($input: ChangeSessionCapacityInput!) {
    changeSessionCapacity(input: $input) { userErrors { code } session { capacity } } }";

#[tokio::test]
async fn a_lock_or_a_statement_out_of_time_answers_try_again() {
    if std::env::var("TEST_DATABASE_URL").is_err() {
        return;
    }
    // First the lock's time-out ends the wait, then the statement's.
    for (lock_ms, statement_seconds) in [(200, 60), (60_000, 1)] {
        let app = spawn_app_with(|settings| {
            settings.limits.lock_timeout_ms = lock_ms;
            settings.limits.statement_timeout_seconds = statement_seconds;
        })
        .await;
        let staff = app.token(Role::Coordinator);
        let session = bookable_session(&app, 10).await;
        // Another transaction holds every course: reading one waits.
        let holder = app.db.begin().await.unwrap();
        holder
            .execute_unprepared("LOCK TABLE courses IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        let read = app
            .graphql_as(&staff, "{ courses { totalCount } }", json!({}))
            .await;
        let change = app
            .graphql_as(
                &staff,
                CAPACITY,
                json!({ "input": { "sessionId": global_session(&session), "capacity": 8 } }),
            )
            .await;
        for body in [read, change] {
            let extensions = &body["errors"][0]["extensions"];
            assert_eq!(
                extensions["code"], "TRY_AGAIN",
                "{lock_ms} ms, {statement_seconds} s: {body}"
            );
            assert_eq!(extensions["retryable"], true, "{body}");
        }
        holder.rollback().await.unwrap();
        let again = app
            .data_as(
                &staff,
                CAPACITY,
                json!({ "input": { "sessionId": global_session(&session), "capacity": 8 } }),
            )
            .await;
        assert_eq!(again["changeSessionCapacity"]["session"]["capacity"], 8);
    }
}
