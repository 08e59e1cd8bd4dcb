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
