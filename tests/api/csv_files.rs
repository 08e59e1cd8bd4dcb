//! CSV sync on the command line, as an operator runs it beside the service: `training sync
//! import` and `export`, and `training feed new-epoch` after a restore.

use std::{io::Write, process::Output};

use entity::{audit_event, enrolment};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    booking::{bookable_session, global_session},
    helpers::*,
    sync::{CHANGES, source_key},
};

const PARTICIPANT_HEADER: &str =
    "sourcedId,status,dateLastModified,fullName,email,phone,role,municipalityCode";
const ENROLMENT_HEADER: &str =
    "sourcedId,status,dateLastModified,classSourcedId,userSourcedId,reason";

fn training(app: &TestApp, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_training"))
        .args(args)
        .env("DATABASE_URL", app.database.url())
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn import(app: &TestApp, kind: &str, file: &str, extra: &[&str]) -> Output {
    let mut args = vec!["sync", "import", "--source", "bzk", "--kind", kind];
    args.extend(extra);
    args.push("-");
    training(app, &args, file.as_bytes())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("a JSON report: {}", text(&output.stderr)))
}

/// Two made-up people: one with a phone number a spreadsheet would mangle and a comma in
/// their name, one with neither.
fn participants_file() -> String {
    format!(
        "\u{feff}{PARTICIPANT_HEADER}\r\n\
         p-1,active,2026-11-30T09:00:00Z,\"Testpersoon, Een\",p-1@example.invalid,+31 6 12345678,mayor,GM0518\r\n\
         p-2,active,,Testpersoon Twee,p-2@example.invalid,,ALDERMAN,\r\n"
    )
}

fn rows_without_dates(csv: &str) -> Vec<Vec<String>> {
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            record
                .iter()
                .enumerate()
                .map(|(n, cell)| {
                    if n == 2 {
                        String::new()
                    } else {
                        cell.to_owned()
                    }
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn participants_go_in_and_come_out_the_same_and_a_second_import_changes_nothing() {
    let app = spawn_app().await;

    let first = import(&app, "participants", &participants_file(), &["--json"]);

    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(report(&first)["created"], 2);
    let exported = training(
        &app,
        &[
            "sync",
            "export",
            "--source",
            "bzk",
            "--kind",
            "participants",
        ],
        b"",
    );
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let exported = text(&exported.stdout);
    assert!(exported.starts_with(PARTICIPANT_HEADER), "{exported}");
    assert_eq!(
        rows_without_dates(&exported),
        [
            [
                "p-1",
                "active",
                "",
                "Testpersoon, Een",
                "p-1@example.invalid",
                "+31 6 12345678",
                "MAYOR",
                "GM0518"
            ],
            [
                "p-2",
                "active",
                "",
                "Testpersoon Twee",
                "p-2@example.invalid",
                "",
                "ALDERMAN",
                ""
            ],
        ],
        "values come back as they went in: {exported}"
    );

    let again = import(&app, "participants", &exported, &["--json"]);

    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(
        report(&again)["unchanged"],
        2,
        "the export is an import that changes nothing"
    );
}

#[tokio::test]
async fn enrolments_are_booked_refused_rows_are_listed_by_line_and_the_batch_is_on_the_trail() {
    let app = spawn_app().await;
    assert!(
        import(&app, "participants", &participants_file(), &[])
            .status
            .success()
    );
    let session = bookable_session(&app, 5).await;
    let class = global_session(&session);
    let file = format!(
        "{ENROLMENT_HEADER}\n\
         e-1,active,,{class},p-1,\n\
         e-2,active,,{class},p-unknown,\n\
         e-3,active,,{class},p-2,\n"
    );

    let output = import(&app, "enrolments", &file, &[]);

    assert_eq!(output.status.code(), Some(2), "some rows were refused");
    let listed = text(&output.stdout);
    assert!(listed.starts_with("line 3 (e-2): "), "{listed}");
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        text(&output.stderr).contains("2 created"),
        "{}",
        text(&output.stderr)
    );
    let booked = enrolment::Entity::find()
        .filter(enrolment::Column::SessionId.eq(session.id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(booked, 2);
    let batch = audit_event::Entity::find()
        .filter(audit_event::Column::RecordType.eq("SyncBatch"))
        .filter(audit_event::Column::Action.eq("syncEnrolments"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("a row for the batch");
    let details: Value = serde_json::from_str(batch.details.as_deref().unwrap()).unwrap();
    assert_eq!(
        (details["created"].clone(), details["rejected"].clone()),
        (json!(2), json!(1))
    );
    assert!(!batch.details.unwrap().contains("p-1"), "counts, no people");

    let cancel = format!("{ENROLMENT_HEADER}\ne-1,tobedeleted,,{class},p-1,\n");
    let cancelled = import(&app, "enrolments", &cancel, &["--json"]);

    assert_eq!(
        report(&cancelled)["cancelled"],
        1,
        "{}",
        text(&cancelled.stderr)
    );
}

#[tokio::test]
async fn a_dry_run_says_what_would_happen_and_writes_nothing() {
    let app = spawn_app().await;
    let people_before = entity::participant::Entity::find()
        .count(&app.db)
        .await
        .unwrap();

    let output = import(
        &app,
        "participants",
        // No municipality has this code.
        &participants_file().replace("GM0518", "GM9999"),
        &["--dry-run", "--json"],
    );

    assert_eq!(
        output.status.code(),
        Some(2),
        "GM9999 is unknown: {}",
        text(&output.stdout)
    );
    let answer = report(&output);
    assert_eq!(
        (answer["created"].clone(), answer["rejected"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(answer["refused"][0]["field"], "municipalityCode");
    let people = entity::participant::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    let trail = audit_event::Entity::find()
        .filter(audit_event::Column::RecordType.eq("SyncBatch"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!((people, trail), (people_before, 0));
}

#[tokio::test]
async fn a_file_that_cannot_be_read_is_refused_whole_with_why() {
    let app = spawn_app().await;
    let people_before = entity::participant::Entity::find()
        .count(&app.db)
        .await
        .unwrap();

    let wrong_header = import(&app, "participants", "id,name\n1,x\n", &[]);
    let mut latin1 = format!("{PARTICIPANT_HEADER}\np-1,active,,Jos").into_bytes();
    latin1.extend(b"\xe9,p-1@example.invalid,,MAYOR,\n");
    let latin1 = training(
        &app,
        &[
            "sync",
            "import",
            "--source",
            "bzk",
            "--kind",
            "participants",
            "-",
        ],
        &latin1,
    );
    let bad_quote = import(
        &app,
        "participants",
        &format!("{PARTICIPANT_HEADER}\n\"p-1,active,,Een,p-1@example.invalid,,MAYOR,\n"),
        &["--json"],
    );

    assert_eq!(wrong_header.status.code(), Some(1));
    assert!(
        text(&wrong_header.stderr).contains(PARTICIPANT_HEADER),
        "{}",
        text(&wrong_header.stderr)
    );
    assert_eq!(latin1.status.code(), Some(1));
    assert!(
        text(&latin1.stderr).contains("UTF-8"),
        "{}",
        text(&latin1.stderr)
    );
    assert_eq!(
        bad_quote.status.code(),
        Some(2),
        "an unclosed quote is not a person"
    );
    let refused = &report(&bad_quote)["refused"][0];
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("cannot be read"),
        "{refused}"
    );
    assert_eq!(
        entity::participant::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        people_before
    );
}

#[tokio::test]
async fn a_new_epoch_from_the_command_line_sends_every_client_back_to_a_snapshot() {
    let app = spawn_app().await;
    let key = source_key(&app, "bzk").await;
    let start = app
        .data_as(
            &key,
            "{ enrolmentSnapshot(first: 1) { feedCursor } }",
            Value::Null,
        )
        .await;
    let cursor = start["enrolmentSnapshot"]["feedCursor"].clone();
    assert!(cursor.is_string(), "{start}");

    let output = training(&app, &["feed", "new-epoch"], b"");

    assert!(output.status.success(), "{}", text(&output.stderr));
    let stale = app
        .graphql_as(&key, CHANGES, json!({ "after": cursor, "first": 10 }))
        .await;
    assert_eq!(error_code(&stale), "MUST_RESYNC");
}
