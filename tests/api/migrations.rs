use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, Database};

use crate::helpers::TestDatabase;

#[tokio::test]
async fn a_failing_migration_leaves_the_database_as_it_was() {
    let database = TestDatabase::create().await;
    let db = Database::connect(database.url()).await.unwrap();
    // A table in the way makes the migration fail half-way, after it created others.
    db.execute_unprepared("CREATE TABLE sessions (id INTEGER PRIMARY KEY, note TEXT)")
        .await
        .unwrap();
    db.execute_unprepared("INSERT INTO sessions (id, note) VALUES (1, 'kept')")
        .await
        .unwrap();

    let result = api::db::migrate(&db).await;

    assert!(result.is_err(), "the migration fails");
    let organisations = db
        .execute_unprepared("SELECT COUNT(*) FROM organisations")
        .await;
    assert!(
        organisations.is_err(),
        "tables created before the failure were rolled back"
    );
    let kept = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT note FROM sessions",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.try_get::<String>("", "note").unwrap(), "kept");
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_again_without_change() {
    let database = TestDatabase::create().await;
    let db = Database::connect(database.url()).await.unwrap();

    api::db::migrate(&db).await.unwrap();
    api::db::migrate(&db).await.unwrap();

    let count = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    let applied = migration::Migrator::migrations().len();
    assert_eq!(
        count.try_get::<i64>("", "n").unwrap(),
        i64::try_from(applied).unwrap()
    );
}

#[tokio::test]
async fn people_already_waiting_keep_their_order_when_the_queue_is_numbered() {
    use sea_orm::{DbBackend, Statement, Value};
    use uuid::Uuid;

    let database = TestDatabase::create().await;
    let db = Database::connect(database.url()).await.unwrap();
    // Up to the migration before the booking one.
    migration::Migrator::up(&db, Some(3)).await.unwrap();
    let backend = db.get_database_backend();
    // Rows as the service wrote them before: values bound, so ids and times are stored alike.
    let insert = |sql: &str, values: Vec<Value>| {
        let sql = match backend {
            DbBackend::Sqlite => (1..=values.len())
                .rev()
                .fold(sql.to_owned(), |sql, n| sql.replace(&format!("${n}"), "?")),
            _ => sql.to_owned(),
        };
        let db = &db;
        async move {
            db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await
                .unwrap();
        }
    };
    let at = |minute: u32| {
        Value::from(
            "2026-01-01T10:00:00Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap()
                + chrono::Duration::minutes(i64::from(minute)),
        )
    };
    let (org, course, session) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    insert(
        "INSERT INTO organisations (id, slug, name, registration_method, created_at, updated_at) VALUES ($1, 'o', 'O', 'PLATFORM', $2, $3)",
        vec![org.into(), at(0), at(0)],
    )
    .await;
    insert(
        "INSERT INTO courses (id, slug, title, introduction, method, audience, status, max_participants, duration_days, daily_start_time, daily_end_time, alumni_count_before_platform, provider_id, created_at, updated_at) VALUES ($1, 'c', 'C', 'i', 'm', 'a', 'PUBLISHED', 10, 1, '09:00:00', '16:00:00', 0, $2, $3, $4)",
        vec![course.into(), org.into(), at(0), at(0)],
    )
    .await;
    insert(
        "INSERT INTO sessions (id, course_id, starts_at, ends_at, capacity, status, is_demo, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, 'SCHEDULED', false, $5, $6)",
        vec![session.into(), course.into(), at(600), at(1000), at(0), at(0)],
    )
    .await;
    // Three waiting, inserted out of their arrival order.
    let mut waiting = Vec::new();
    for minute in [3, 1, 2] {
        let (person, enrolment) = (Uuid::new_v4(), Uuid::new_v4());
        insert(
            "INSERT INTO participants (id, full_name, email, role, created_at, updated_at) VALUES ($1, 'Test', $2, 'MAYOR', $3, $4)",
            vec![person.into(), format!("{person}@example.invalid").into(), at(0), at(0)],
        )
        .await;
        insert(
            "INSERT INTO enrolments (id, session_id, participant_id, status, waitlisted_at, created_at, updated_at) VALUES ($1, $2, $3, 'WAITLISTED', $4, $5, $6)",
            vec![enrolment.into(), session.into(), person.into(), at(minute), at(minute), at(minute)],
        )
        .await;
        waiting.push((minute, enrolment));
    }

    api::db::migrate(&db).await.unwrap();

    let ids: Vec<Uuid> = waiting.iter().map(|(_, id)| *id).collect();
    let places = api::db::booking::waiting_places(&db, &ids).await.unwrap();
    for (minute, id) in &waiting {
        let place = places.iter().find(|(e, _)| e == id).map(|(_, p)| *p);
        assert_eq!(place, Some(i64::from(*minute)), "{backend:?}");
    }
}
