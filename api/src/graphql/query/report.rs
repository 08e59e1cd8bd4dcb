//! Reports for dashboards.

use async_graphql::{Context, Object};

use crate::{
    error::FieldResult,
    graphql::{
        context::request_data,
        types::report::{Report, ReportInput},
    },
    reporting::{Question, report_for},
};

#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// Counts, rates and means by period and up to two dimensions, with disclosure control: no
    /// published count lies between 1 and `threshold − 1`, and no suppressed cell can be worked
    /// out, or narrowed to fewer than `threshold` values, from the other cells, the totals, any
    /// other report, or the public programme. Reporting clients and administrators; every report
    /// is on the audit trail.
    async fn report(&self, ctx: &Context<'_>, input: ReportInput) -> FieldResult<Report> {
        let data = request_data(ctx)?;
        let question = Question::from(&input);
        let report = report_for(&data.viewer, &data.db, &data.reporting, &question).await?;
        Ok(report.into())
    }
}
