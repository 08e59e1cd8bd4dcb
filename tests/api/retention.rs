//! Retention, run by hand with `training retention run --as-of`: for each kind of data, a record
//! just inside its period stays and one just outside goes; a dry run only counts; a second run
//! finds nothing; a period that is zero, negative or shorter than the feedback period is refused
//! with a clear message; and each turn of the scheduled job goes to one process only.

use std::path::Path;

use chrono::{DateTime, Duration, Months, Utc};
use entity::{
    audit_event, enrolment,
    enums::{EnrolmentStatus, ModerationStatus, OutboxStatus, ParticipantRole},
    erasure, feedback, outbox_event, participant,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

/// Runs `training retention run` with these arguments and settings; its output, or its error.
fn retention(
    database_url: &str,
    folder: &Path,
    args: &[&str],
    settings: &[(&str, &str)],
) -> Result<String, String> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_training"))
        .args(["retention", "run"])
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("DATA_DIR", folder)
        .env("ERASURE_LOG", folder.join("erasures.jsonl"))
        .env("MAIL_OUTBOX_DIR", folder.join("outbox"))
        .env("RUST_LOG", "error")
        .envs(settings.iter().copied())
        .output()
        .unwrap();
    if output.status.success() {
        Ok(String::from_utf8(output.stdout).unwrap())
    } else {
        Err(String::from_utf8(output.stderr).unwrap())
    }
}

/// A participant known since well before `since`, enrolled in a session that ended at `ended`.
async fn alumnus(app: &TestApp, course: Uuid, since: DateTime<Utc>, ended: DateTime<Utc>) -> Uuid {
    let session = insert_session(&app.db, course, None, ended - Duration::hours(7), 10).await;
    let person = insert_participant(&app.db).await;
    let mut known = person.clone().into_active_model();
    known.created_at = Set(since - Duration::days(1));
    known.update(&app.db).await.unwrap();
    insert_enrolment(&app.db, session.id, person.id, EnrolmentStatus::Attended).await;
    person.id
}

async fn comment(app: &TestApp, course: Uuid, ended: DateTime<Utc>, published: bool) -> Uuid {
    let session = insert_session(&app.db, course, None, ended - Duration::hours(7), 10).await;
    let person = insert_participant(&app.db).await;
    let id = Uuid::new_v4();
    feedback::ActiveModel {
        id: Set(id),
        course_id: Set(course),
        session_id: Set(Some(session.id)),
        participant_id: Set(Some(person.id)),
        overall_rating: Set(Some(4)),
        relevance_rating: Set(None),
        actor_rating: Set(None),
        trainer_rating: Set(None),
        comment: Set(Some("Leerzaam, vooral de oefeningen met de acteur.".into())),
        consent_to_publish: Set(published),
        moderation_status: Set(if published {
            ModerationStatus::Approved
        } else {
            ModerationStatus::Pending
        }),
        author_role: Set(Some(ParticipantRole::Alderman)),
        submitted_at: Set(ended),
        created_at: Set(ended),
        updated_at: Set(ended),
    }
    .insert(&app.db)
    .await
    .unwrap();
    id
}

async fn audit_event_at(app: &TestApp, at: DateTime<Utc>) -> Uuid {
    let id = Uuid::new_v4();
    audit_event::ActiveModel {
        id: Set(id),
        occurred_at: Set(at),
        actor: Set("staff-subject".into()),
        actor_role: Set("Coordinator".into()),
        action: Set("participants".into()),
        record_type: Set("Participant".into()),
        record_ids: Set(json!([Uuid::new_v4()]).to_string()),
        outcome: Set("ALLOWED".into()),
        details: Set(None),
    }
    .insert(&app.db)
    .await
    .unwrap();
    id
}

async fn message_at(app: &TestApp, at: DateTime<Utc>, status: OutboxStatus) -> Uuid {
    let id = Uuid::new_v4();
    outbox_event::ActiveModel {
        id: Set(id),
        topic: Set("enrolment.confirmed".into()),
        aggregate_type: Set("Enrolment".into()),
        aggregate_id: Set(Uuid::new_v4()),
        payload: Set(json!({ "enrolmentId": Uuid::new_v4() }).to_string()),
        status: Set(status),
        attempts: Set(1),
        next_attempt_at: Set(at),
        last_error: Set(None),
        created_at: Set(at - Duration::minutes(1)),
        delivered_at: Set((status == OutboxStatus::Delivered).then_some(at)),
        claim_token: Set(None),
        claimed_until: Set(None),
        dedupe_key: Set(None),
    }
    .insert(&app.db)
    .await
    .unwrap();
    id
}

fn file_at(folder: &Path, name: &str, at: DateTime<Utc>) -> std::path::PathBuf {
    std::fs::create_dir_all(folder).unwrap();
    let path = folder.join(name);
    std::fs::write(&path, "Subject: Bevestiging\r\n\r\nTot ziens.\r\n").unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(at.into()).unwrap();
    path
}

#[tokio::test]
async fn data_just_inside_its_period_stays_and_just_outside_goes() {
    let app = spawn_app().await;
    let folder = tempfile::tempdir().unwrap();
    let course = app.brochure_course().await.id;
    // Whole seconds: the instant goes through the command line.
    let as_of = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    let minute = Duration::minutes(1);

    // The default periods: 24 months, 365, 730 and 90 days.
    let people = as_of.checked_sub_months(Months::new(24)).unwrap();
    let gone = alumnus(&app, course, people, people - minute).await;
    let kept = alumnus(&app, course, people, people + minute).await;
    let comments = as_of - Duration::days(365);
    let old_comment = comment(&app, course, comments - minute, false).await;
    let new_comment = comment(&app, course, comments + minute, false).await;
    let testimonial = comment(&app, course, comments - minute, true).await;
    let audit = as_of - Duration::days(730);
    let old_event = audit_event_at(&app, audit - minute).await;
    let new_event = audit_event_at(&app, audit + minute).await;
    let messages = as_of - Duration::days(90);
    let old_message = message_at(&app, messages - minute, OutboxStatus::Delivered).await;
    let new_message = message_at(&app, messages + minute, OutboxStatus::Delivered).await;
    let unsent = message_at(&app, messages - minute, OutboxStatus::Pending).await;
    let outbox = folder.path().join("outbox");
    let old_file = file_at(&outbox, &format!("a-{old_message}.eml"), messages - minute);
    let new_file = file_at(&outbox, &format!("b-{new_message}.eml"), messages + minute);

    let url = app.database.url().to_owned();
    let at = as_of.to_rfc3339();
    let expected = json!({
        "participants": 1, "comments": 1, "auditEvents": 1, "messages": 1, "mailFiles": 1
    });
    let dry = retention(
        &url,
        folder.path(),
        &["--as-of", &at, "--dry-run", "--json"],
        &[],
    )
    .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&dry).unwrap(), expected);
    assert!(old_file.exists(), "a dry run removed a file");
    let person = participant::Entity::find_by_id(gone)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(person.erased_at.is_none(), "a dry run anonymised someone");

    let done = retention(&url, folder.path(), &["--as-of", &at, "--json"], &[]).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&done).unwrap(), expected);

    // The participant outside the period is anonymised by the erasure's path, with its cause;
    // their attendance stays for the statistics.
    let person = participant::Entity::find_by_id(gone)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person.full_name, "Verwijderde deelnemer");
    assert!(person.erased_at.is_some());
    let recorded = erasure::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (recorded[0].participant_id, recorded[0].cause.as_str()),
        (gone, "RETENTION")
    );
    let log = std::fs::read_to_string(folder.path().join("erasures.jsonl")).unwrap();
    assert!(
        log.contains(&gone.to_string()) && log.contains("RETENTION"),
        "{log}"
    );
    let seats = enrolment::Entity::find().all(&app.db).await.unwrap();
    assert!(
        seats
            .iter()
            .any(|e| e.participant_id == gone && e.status == EnrolmentStatus::Attended)
    );
    let other = participant::Entity::find_by_id(kept)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(other.erased_at.is_none() && other.full_name.starts_with("Test "));

    let db = &app.db;
    let text = |id| async move {
        let row = feedback::Entity::find_by_id(id).one(db).await.unwrap();
        row.unwrap().comment
    };
    assert_eq!(text(old_comment).await, None);
    assert!(text(new_comment).await.is_some());
    assert!(
        text(testimonial).await.is_some(),
        "a published testimonial was removed"
    );
    let event = |id| audit_event::Entity::find_by_id(id).one(&app.db);
    assert!(event(old_event).await.unwrap().is_none());
    assert!(event(new_event).await.unwrap().is_some());
    let message = |id| outbox_event::Entity::find_by_id(id).one(&app.db);
    assert!(message(old_message).await.unwrap().is_none());
    assert!(message(new_message).await.unwrap().is_some());
    assert!(
        message(unsent).await.unwrap().is_some(),
        "a pending message was removed"
    );
    assert!(!old_file.exists() && new_file.exists());

    // Everything due is gone: a second run finds nothing.
    let again = retention(&url, folder.path(), &["--as-of", &at, "--json"], &[]).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&again).unwrap(),
        json!({ "participants": 0, "comments": 0, "auditEvents": 0, "messages": 0, "mailFiles": 0 })
    );
}

#[tokio::test]
async fn periods_that_are_zero_negative_or_too_short_are_refused() {
    let app = spawn_app().await;
    let folder = tempfile::tempdir().unwrap();
    let url = app.database.url().to_owned();
    for (setting, value) in [
        ("RETAIN_PARTICIPANT_MONTHS", "0"),
        ("RETAIN_PARTICIPANT_MONTHS", "1"),
        ("RETAIN_FEEDBACK_DAYS", "-5"),
        ("RETAIN_FEEDBACK_DAYS", "29"),
        ("RETAIN_AUDIT_DAYS", "0"),
        ("RETAIN_MESSAGES_DAYS", "tien"),
    ] {
        let refused = retention(&url, folder.path(), &["--dry-run"], &[(setting, value)])
            .expect_err(&format!("{setting}={value} was accepted"));
        assert!(
            refused.contains(value)
                && (refused.contains("too short") || refused.contains("whole number")),
            "{setting}={value}: {refused}"
        );
    }
    // The shortest periods allowed are accepted.
    let shortest = [
        ("RETAIN_PARTICIPANT_MONTHS", "2"),
        ("RETAIN_FEEDBACK_DAYS", "30"),
    ];
    retention(&url, folder.path(), &["--dry-run"], &shortest).unwrap();
}

#[tokio::test]
async fn each_turn_of_the_scheduled_job_goes_to_one_caller() {
    let app = spawn_app().await;
    let now = Utc::now();
    let hour = Duration::hours(1);
    let asks = (0..8).map(|_| api::db::job_runs::claim(&app.db, "retention", now, hour));
    let granted = futures_util::future::join_all(asks)
        .await
        .into_iter()
        .filter(|claimed| *claimed.as_ref().unwrap())
        .count();
    assert_eq!(granted, 1);
    let later = api::db::job_runs::claim(&app.db, "retention", now + hour, hour);
    assert!(later.await.unwrap(), "the next turn was not given");
}
