//! Reports for dashboards, as a reporting key and an administrator read them: small counts are
//! hidden with what would give them away, public figures are published as they are, the CSV
//! says what the API says, every report is on the audit trail, and bad questions get codes.

use api::{
    auth::Role,
    db::api_key::create_api_key,
    domain::ids::CourseId,
    reporting::{self, Dimension, Measure, ProtectionCache, Question, periods::Unit},
};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use entity::{
    enums::{CourseStatus, EnrolmentStatus, MachineRole, ParticipantRole},
    municipality, participant,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

const REPORT: &str = "query($input: ReportInput!) { report(input: $input) {
    threshold suppressedCells
    cells { period { label start end } keys value status }
} }";

const K: f64 = 5.0;

/// A session in 2026 at nine in the morning, Amsterdam time.
fn at(month: u32, day: u32) -> DateTime<Utc> {
    // 08:00 UTC is 09:00 in winter, 10:00 in summer: either way the same local date.
    Utc.with_ymd_and_hms(2026, month, day, 8, 0, 0).unwrap()
}

async fn municipality_id(app: &TestApp, code: &str) -> Uuid {
    municipality::Entity::find()
        .filter(municipality::Column::CbsCode.eq(code))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{code} is shipped with the service"))
        .id
}

/// Made-up people with a role and (maybe) a municipality, enrolled with `status`.
async fn enrol(
    app: &TestApp,
    session: Uuid,
    count: usize,
    role: ParticipantRole,
    municipality: Option<&str>,
    status: EnrolmentStatus,
) {
    let municipality = match municipality {
        Some(code) => Some(municipality_id(app, code).await),
        None => None,
    };
    for _ in 0..count {
        let person = insert_participant(&app.db).await;
        let mut update: participant::ActiveModel = person.clone().into();
        update.role = Set(role);
        update.municipality_id = Set(municipality);
        update.update(&app.db).await.unwrap();
        insert_enrolment(&app.db, session, person.id, status).await;
    }
}

struct World {
    app: TestApp,
    course: String,
    /// The May session.
    may: Uuid,
    reporting_key: String,
}

/// One course with two sessions in 2026: in March one mayor (Zuid-Holland) and six aldermen
/// (Noord-Holland) attended, in May two people are booked.
async fn world() -> World {
    let app = spawn_app().await;
    let provider = app.brochure_course().await.provider_id;
    let course = insert_course(&app.db, provider, CourseStatus::Published, "Weerbaarheid").await;
    let march = insert_session(&app.db, course.id, None, at(3, 10), 10).await;
    let may = insert_session(&app.db, course.id, None, at(5, 12), 10).await;
    let attended = EnrolmentStatus::Attended;
    enrol(
        &app,
        march.id,
        1,
        ParticipantRole::Mayor,
        Some("GM0518"),
        attended,
    )
    .await;
    enrol(
        &app,
        march.id,
        6,
        ParticipantRole::Alderman,
        Some("GM0363"),
        attended,
    )
    .await;
    let confirmed = EnrolmentStatus::Confirmed;
    enrol(&app, may.id, 2, ParticipantRole::Alderman, None, confirmed).await;
    let (_, reporting_key) = create_api_key(&app.db, "Testdashboard", MachineRole::ReportingClient)
        .await
        .unwrap();
    World {
        course: CourseId(course.id).to_global(),
        may: may.id,
        reporting_key,
        app,
    }
}

fn input(measure: &str, dimensions: &[&str], unit: &str, from: &str, to: &str) -> Value {
    json!({ "input": {
        "measure": measure,
        "dimensions": dimensions,
        "period": { "unit": unit, "from": from, "to": to },
    } })
}

async fn report(world: &World, variables: Value) -> Value {
    world
        .app
        .data_as(&world.reporting_key, REPORT, variables)
        .await["report"]
        .clone()
}

fn cells(report: &Value) -> &Vec<Value> {
    report["cells"].as_array().unwrap()
}

fn cell<'a>(report: &'a Value, period: &str, keys: &[&str]) -> &'a Value {
    cells(report)
        .iter()
        .find(|c| c["period"]["label"] == period && c["keys"] == json!(keys))
        .unwrap_or_else(|| panic!("no cell {period} {keys:?} in {report}"))
}

/// No published count lies in 1..k−1, and a suppressed cell shows no value.
fn assert_no_small_counts(report: &Value) {
    for cell in cells(report) {
        match cell["status"].as_str().unwrap() {
            "PUBLISHED" => {
                let value = cell["value"].as_f64().unwrap();
                assert!(value == 0.0 || value >= K, "published {value}: {cell}");
            }
            _ => assert_eq!(cell["value"], Value::Null, "{cell}"),
        }
    }
}

#[tokio::test]
async fn a_small_count_is_hidden_with_what_would_give_it_away() {
    let world = world().await;

    let answer = report(
        &world,
        input(
            "ATTENDED",
            &["ROLE_GROUP"],
            "QUARTER",
            "2026-01-01",
            "2026-12-31",
        ),
    )
    .await;

    assert_eq!(answer["threshold"], 5);
    assert_no_small_counts(&answer);
    let mayor = cell(&answer, "2026-Q1", &["MAYOR"]);
    assert_eq!(mayor["status"], "SUPPRESSED");
    // With the total and the other groups published, the one mayor would be a subtraction away.
    let hidden_in_q1 = ["MAYOR", "ALDERMAN", "OTHER", "TOTAL"]
        .iter()
        .filter(|key| cell(&answer, "2026-Q1", &[key])["status"] == "SUPPRESSED")
        .count();
    assert!(hidden_in_q1 >= 2, "{answer}");
    assert!(answer["suppressedCells"].as_i64().unwrap() >= 2);
}

/// Each cell's value, null where hidden or empty, in the order given.
fn values(report: &Value) -> Vec<Value> {
    cells(report).iter().map(|c| c["value"].clone()).collect()
}

#[tokio::test]
async fn a_report_follows_every_change_at_once() {
    // The service keeps protected tables between requests; an answer must never come from
    // counts that have since changed, and must be what a fresh computation gives.
    let world = world().await;
    let asked = || {
        input(
            "ATTENDED",
            &["ROLE_GROUP"],
            "QUARTER",
            "2026-01-01",
            "2026-12-31",
        )
    };
    let first = report(&world, asked()).await;
    assert_eq!(
        report(&world, asked()).await,
        first,
        "asked twice, answered alike"
    );

    assert_eq!(cell(&first, "2026-Q2", &["MAYOR"])["value"], json!(0.0));
    // One mayor attends in May: a pattern kept from before would publish that 1.
    let attended = EnrolmentStatus::Attended;
    enrol(
        &world.app,
        world.may,
        1,
        ParticipantRole::Mayor,
        None,
        attended,
    )
    .await;
    enrol(
        &world.app,
        world.may,
        5,
        ParticipantRole::Alderman,
        None,
        attended,
    )
    .await;
    let after = report(&world, asked()).await;

    assert_no_small_counts(&after);
    assert_eq!(cell(&after, "2026-Q2", &["MAYOR"])["status"], "SUPPRESSED");
    let question = Question {
        measure: Measure::Attended,
        dimensions: vec![Dimension::RoleGroup],
        unit: Unit::Quarter,
        from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
    };
    let fresh = reporting::answer(
        &world.app.db,
        &question,
        5,
        &ProtectionCache::default(),
        Utc::now(),
    )
    .await
    .unwrap();
    let fresh: Vec<Value> = fresh.cells.iter().map(|c| json!(c.value)).collect();
    assert_eq!(values(&after), fresh, "the same as computed afresh");
}

#[tokio::test]
async fn public_figures_are_published_as_they_are() {
    let world = world().await;

    let taken = report(
        &world,
        input(
            "ENROLMENTS",
            &["COURSE"],
            "MONTH",
            "2026-03-01",
            "2026-05-31",
        ),
    )
    .await;
    let seats = report(
        &world,
        input(
            "SEATS_OFFERED",
            &["COURSE"],
            "MONTH",
            "2026-05-01",
            "2026-05-31",
        ),
    )
    .await;

    // Two seats taken in May is on the public programme already.
    let may = cell(&taken, "2026-05", &[&world.course]);
    assert_eq!(
        (may["value"].as_f64(), may["status"].as_str()),
        (Some(2.0), Some("PUBLISHED"))
    );
    let march = cell(&taken, "2026-03", &[&world.course]);
    assert_eq!(march["value"].as_f64(), Some(7.0));
    assert_eq!(
        cell(&seats, "2026-05", &[&world.course])["value"].as_f64(),
        Some(10.0)
    );
    // Periods are whole months, by the sessions' local dates.
    assert_eq!(may["period"]["start"], "2026-05-01");
    assert_eq!(may["period"]["end"], "2026-05-31");
}

#[tokio::test]
async fn people_count_under_their_province_or_as_unknown() {
    let app = spawn_app().await;
    let provider = app.brochure_course().await.provider_id;
    let course = insert_course(&app.db, provider, CourseStatus::Published, "Weerbaarheid").await;
    let session = insert_session(&app.db, course.id, None, at(6, 2), 20).await;
    let confirmed = EnrolmentStatus::Confirmed;
    enrol(
        &app,
        session.id,
        5,
        ParticipantRole::Alderman,
        Some("GM0363"),
        confirmed,
    )
    .await;
    enrol(
        &app,
        session.id,
        5,
        ParticipantRole::Alderman,
        Some("GM0014"),
        confirmed,
    )
    .await;
    enrol(
        &app,
        session.id,
        5,
        ParticipantRole::Alderman,
        None,
        confirmed,
    )
    .await;
    let (_, key) = create_api_key(&app.db, "Testdashboard", MachineRole::ReportingClient)
        .await
        .unwrap();

    let answer = app
        .data_as(
            &key,
            REPORT,
            input(
                "ENROLMENTS",
                &["PROVINCE"],
                "YEAR",
                "2026-01-01",
                "2026-12-31",
            ),
        )
        .await["report"]
        .clone();

    assert_no_small_counts(&answer);
    // Amsterdam is in Noord-Holland (PV27), Groningen in Groningen (PV20).
    for (province, expected) in [
        ("PV27", 5.0),
        ("PV20", 5.0),
        ("UNKNOWN", 5.0),
        ("PV28", 0.0),
    ] {
        assert_eq!(
            cell(&answer, "2026", &[province])["value"].as_f64(),
            Some(expected),
            "{province}"
        );
    }
    assert_eq!(
        cell(&answer, "2026", &["TOTAL"])["value"].as_f64(),
        Some(15.0)
    );
}

#[tokio::test]
async fn a_count_that_others_would_give_away_is_hidden_too() {
    let world = world().await;

    let answer = report(
        &world,
        input(
            "ENROLMENTS",
            &["PROVINCE"],
            "YEAR",
            "2026-01-01",
            "2026-12-31",
        ),
    )
    .await;

    assert_no_small_counts(&answer);
    // One in Zuid-Holland and two without a municipality: hiding just those two would leave
    // their sum, 9 − 6 = 3, and with it each of them to four possible values. So the six in
    // Noord-Holland are hidden too, while the total of nine is public (seats taken).
    for province in ["PV28", "UNKNOWN", "PV27"] {
        assert_eq!(
            cell(&answer, "2026", &[province])["status"],
            "SUPPRESSED",
            "{province}"
        );
    }
    assert_eq!(
        cell(&answer, "2026", &["TOTAL"])["value"].as_f64(),
        Some(9.0)
    );
}

#[tokio::test]
async fn a_cell_is_the_same_whatever_range_or_level_it_is_asked_with() {
    let world = world().await;
    let ask = |to: &'static str| input("ATTENDED", &["ROLE_GROUP"], "MONTH", "2026-01-01", to);

    let first = report(&world, ask("2026-03-31")).await;
    let wider = report(&world, ask("2026-04-30")).await;
    let again = report(&world, ask("2026-03-31")).await;

    assert_eq!(first, again, "the same question, the same answer");
    for key in ["MAYOR", "ALDERMAN", "OTHER", "TOTAL"] {
        for month in ["2026-01", "2026-02", "2026-03"] {
            assert_eq!(cell(&first, month, &[key]), cell(&wider, month, &[key]));
        }
    }
}

#[tokio::test]
async fn each_report_is_on_the_audit_trail_with_its_question() {
    let world = world().await;
    let answer = report(
        &world,
        input(
            "ATTENDED",
            &["ROLE_GROUP", "COURSE"],
            "YEAR",
            "2026-01-01",
            "2026-12-31",
        ),
    )
    .await;

    let trail = world
        .app
        .data_as(
            &world.app.token(Role::Administrator),
            r#"{ auditEvents(first: 10, filter: { recordType: "Report" }) {
                edges { node { actor action outcome details } } } }"#,
            json!({}),
        )
        .await;

    let events = trail["auditEvents"]["edges"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{trail}");
    let event = &events[0]["node"];
    assert!(event["actor"].as_str().unwrap().starts_with("api-key:"));
    assert_eq!(event["action"], "report");
    let details = &event["details"];
    assert_eq!(details["measure"], "ATTENDED");
    assert_eq!(details["dimensions"], json!(["ROLE_GROUP", "COURSE"]));
    assert_eq!(details["unit"], "YEAR");
    assert_eq!(details["from"], "2026-01-01");
    assert_eq!(details["suppressedCells"], answer["suppressedCells"]);
}

#[tokio::test]
async fn reports_are_for_reporting_keys_and_administrators() {
    let world = world().await;
    let app = &world.app;
    let person = insert_participant(&app.db).await;
    let (_, sync) = create_api_key(&app.db, "Testkoppeling", MachineRole::SyncClient)
        .await
        .unwrap();
    let variables = input("ENROLMENTS", &[], "YEAR", "2026-01-01", "2026-12-31");

    assert_eq!(
        error_code(&app.graphql(REPORT, variables.clone()).await),
        "UNAUTHENTICATED"
    );
    for (who, credential) in [
        ("participant", app.participant_token(person.id)),
        ("coordinator", app.token(Role::Coordinator)),
        ("sync client", sync),
    ] {
        let body = app.graphql_as(&credential, REPORT, variables.clone()).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{who}");
    }
    app.data_as(&app.token(Role::Administrator), REPORT, variables.clone())
        .await;
    app.data_as(&world.reporting_key, REPORT, variables).await;
}

#[tokio::test]
async fn a_question_that_cannot_be_answered_gets_a_code() {
    let world = world().await;
    let app = &world.app;
    let cases = [
        (
            input(
                "ATTENDED",
                &["COURSE", "PROVINCE", "ROLE_GROUP"],
                "YEAR",
                "2026-01-01",
                "2026-12-31",
            ),
            "REPORT_TOO_MANY_DIMENSIONS",
        ),
        (
            input(
                "ATTENDED",
                &["COURSE", "COURSE"],
                "YEAR",
                "2026-01-01",
                "2026-12-31",
            ),
            "REPORT_DIMENSION_REPEATED",
        ),
        (
            input(
                "SEATS_OFFERED",
                &["ROLE_GROUP"],
                "YEAR",
                "2026-01-01",
                "2026-12-31",
            ),
            "REPORT_DIMENSION_NOT_APPLICABLE",
        ),
        (
            input("ATTENDED", &[], "MONTH", "2026-12-31", "2026-01-01"),
            "REPORT_PERIOD_REVERSED",
        ),
        (
            input("ATTENDED", &[], "YEAR", "2016-01-01", "2026-01-01"),
            "REPORT_PERIOD_TOO_LONG",
        ),
        (
            // Found by the fuzzer: in year 1 Amsterdam's local midnight is in year 0 in UTC,
            // which PostgreSQL cannot take.
            input("SEATS_OFFERED", &[], "QUARTER", "0001-01-02", "0002-01-01"),
            "REPORT_PERIOD_OUT_OF_RANGE",
        ),
        (
            input("SEATS_OFFERED", &[], "YEAR", "1899-12-31", "1900-01-01"),
            "REPORT_PERIOD_OUT_OF_RANGE",
        ),
        (
            // Closed enums: no such measure, no municipality dimension; and no 13th month.
            input("MUNICIPALITY_SIZE", &[], "YEAR", "2026-01-01", "2026-12-31"),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            input(
                "ATTENDED",
                &["MUNICIPALITY"],
                "YEAR",
                "2026-01-01",
                "2026-12-31",
            ),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            input("ATTENDED", &[], "YEAR", "2026-13-01", "2026-12-31"),
            "BAD_USER_INPUT",
        ),
    ];
    for (variables, code) in cases {
        let body = app
            .graphql_as(&world.reporting_key, REPORT, variables.clone())
            .await;
        assert_eq!(error_code(&body), code, "{variables}: {body}");
        assert_eq!(body["data"], Value::Null, "no partial table: {body}");
    }
}

/// Reads a CSV answer into rows of fields.
fn rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn the_csv_says_what_the_api_says_and_defuses_formulas() {
    let world = world().await;
    let app = &world.app;
    // A title a spreadsheet would run as a formula.
    let course = entity::course::Entity::find()
        .filter(entity::course::Column::Title.starts_with("Testcursus"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut update: entity::course::ActiveModel = course.into();
    update.title = Set("=HYPERLINK(\"http://example.invalid\")".into());
    update.update(&app.db).await.unwrap();
    let api = report(
        &world,
        input(
            "ATTENDED",
            &["COURSE", "ROLE_GROUP"],
            "QUARTER",
            "2026-01-01",
            "2026-06-30",
        ),
    )
    .await;

    let response = app
        .client
        .get(app.url(
            "/reports/report.csv?measure=ATTENDED&dimensions=COURSE,ROLE_GROUP&unit=QUARTER&from=2026-01-01&to=2026-06-30",
        ))
        .bearer_auth(&world.reporting_key)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let rows = rows(&response.text().await.unwrap());
    assert_eq!(
        rows[0],
        [
            "period",
            "period_start",
            "period_end",
            "course",
            "course_label",
            "role_group",
            "role_group_label",
            "value",
            "status"
        ]
    );
    let body = &rows[1..];
    assert_eq!(body.len(), cells(&api).len());
    for (row, cell) in body.iter().zip(cells(&api)) {
        assert_eq!(row[0], cell["period"]["label"].as_str().unwrap());
        assert_eq!(row[3], cell["keys"][0].as_str().unwrap());
        assert_eq!(row[5], cell["keys"][1].as_str().unwrap());
        assert_eq!(row[8], cell["status"].as_str().unwrap());
        let value = cell["value"]
            .as_f64()
            .map(|v| v.to_string())
            .unwrap_or_default();
        assert_eq!(row[7], value);
    }
    let labels: Vec<&str> = body.iter().map(|row| row[4].as_str()).collect();
    assert!(
        labels.contains(&"'=HYPERLINK(\"http://example.invalid\")"),
        "{labels:?}"
    );
    assert!(labels.iter().all(|label| !label.starts_with('=')));
}

#[tokio::test]
async fn the_csv_refuses_as_the_api_does() {
    let world = world().await;
    let app = &world.app;
    let get = |query: &str, credential: Option<String>| {
        let mut request = app
            .client
            .get(app.url(&format!("/reports/report.csv?{query}")));
        if let Some(credential) = credential {
            request = request.bearer_auth(credential);
        }
        request.send()
    };
    let fine = "measure=ATTENDED&unit=YEAR&from=2026-01-01&to=2026-12-31";

    let anonymous = get(fine, None).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    let coordinator = get(fine, Some(app.token(Role::Coordinator))).await.unwrap();
    assert_eq!(coordinator.status(), 403);
    let key = Some(world.reporting_key.clone());
    let unknown = get(
        "measure=NAMES&unit=YEAR&from=2026-01-01&to=2026-12-31",
        key.clone(),
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), 400);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(
        (
            error_code(&body),
            body["errors"][0]["extensions"]["field"].as_str()
        ),
        ("BAD_USER_INPUT", Some("measure"))
    );
    let reversed = get(
        "measure=ATTENDED&unit=YEAR&from=2026-12-31&to=2026-01-01",
        key,
    )
    .await
    .unwrap();
    assert_eq!(reversed.status(), 400);
    let body: Value = reversed.json().await.unwrap();
    assert_eq!(error_code(&body), "REPORT_PERIOD_REVERSED");
}

#[tokio::test]
async fn alumni_from_before_the_platform_appear_only_in_the_all_time_total() {
    let world = world().await;
    let app = &world.app;
    let brochure = app.brochure_course().await;
    let brochure_id = CourseId(brochure.id).to_global();

    let answer = report(
        &world,
        input("ALUMNI", &["COURSE"], "YEAR", "2026-01-01", "2026-12-31"),
    )
    .await;

    let all_time: Vec<&Value> = cells(&answer)
        .iter()
        .filter(|c| c["period"].is_null())
        .collect();
    let brochure_total = all_time
        .iter()
        .find(|c| c["keys"] == json!([brochure_id]))
        .unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(
        brochure_total["value"].as_f64(),
        Some(f64::from(brochure.alumni_count_before_platform))
    );
    let ours = all_time
        .iter()
        .find(|c| c["keys"] == json!([world.course]))
        .unwrap();
    assert_eq!(ours["value"].as_f64(), Some(7.0), "seven attended in March");
    // In 2026 itself they are counted like attendance, protected at every level: with one mayor
    // among seven, even the course's year may be hidden.
    let in_2026: Vec<&Value> = cells(&answer)
        .iter()
        .filter(|c| !c["period"].is_null())
        .collect();
    assert_no_small_counts(&json!({ "cells": in_2026 }));
    let year = cell(&answer, "2026", &[&world.course]);
    assert!(
        year["value"].is_null() || year["value"].as_f64() == Some(7.0),
        "{year}"
    );
}

#[tokio::test]
async fn reports_can_be_counted_on_a_read_only_database() {
    let database = TestDatabase::create().await;
    let read_only = match &database {
        TestDatabase::Sqlite { url, .. } => url.replace("mode=rwc", "mode=ro"),
        TestDatabase::Postgres { url, admin_url, .. } => {
            // One role for every run: roles belong to the cluster, not the test's database.
            let admin = sea_orm::Database::connect(admin_url.as_str())
                .await
                .unwrap();
            use sea_orm::ConnectionTrait;
            admin
                .execute_unprepared(
                    "DO $$ BEGIN \
                     IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'report_reader') THEN \
                     CREATE ROLE report_reader LOGIN IN ROLE pg_read_all_data; END IF; END $$; \
                     ALTER ROLE report_reader SET default_transaction_read_only = on",
                )
                .await
                .unwrap();
            url.replacen("postgres@", "report_reader@", 1)
        }
    };
    // The main database first (it migrates), then the app reading reports from the copy that
    // cannot be written.
    let mut settings = api::Settings::for_database(database.url());
    settings.reporting_database_url = Some(read_only);
    let app = start(settings, database).await;
    let (_, key) = create_api_key(&app.db, "Testdashboard", MachineRole::ReportingClient)
        .await
        .unwrap();

    let answer = app
        .data_as(
            &key,
            REPORT,
            input(
                "SEATS_OFFERED",
                &["COURSE"],
                "YEAR",
                "2026-01-01",
                "2027-12-31",
            ),
        )
        .await;

    assert!(!cells(&answer["report"]).is_empty());
    let written = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::RecordType.eq("Report"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(written.len(), 1, "the audit row went to the main database");
}
