//! Who may read reports, and the audit trail of every report read.

use chrono::Utc;
use sea_orm::DatabaseConnection;

use super::{Question, Report, answer};
use crate::{
    audit,
    auth::{Role, Viewer},
    error::ApiError,
    graphql::ReportingSettings,
};

/// Answers `question` for `viewer`: reporting clients and administrators only. Each answer is on
/// the audit trail (in the main database, also when reports are counted on a replica) with the
/// question and how many cells it hid; an answer whose audit row cannot be written is not given.
pub async fn report_for(
    viewer: &Viewer,
    main_db: &DatabaseConnection,
    reporting: &ReportingSettings,
    question: &Question,
) -> Result<Report, ApiError> {
    let actor = match viewer.role() {
        None => return Err(ApiError::Unauthenticated),
        Some(Role::ReportingClient | Role::Administrator) => viewer.actor(),
        Some(_) => {
            return Err(ApiError::ForbiddenTo(
                "reports are for reporting clients and administrators",
            ));
        }
    };
    let now = Utc::now();
    let report = answer(
        &reporting.db,
        question,
        reporting.threshold,
        &reporting.protections,
        now,
    )
    .await?;
    if let Some(actor) = actor {
        audit::record_event(
            main_db,
            &actor,
            "report",
            "Report",
            &[],
            Some(question.details(Some(&report))),
            now,
        )
        .await?;
    }
    Ok(report)
}
