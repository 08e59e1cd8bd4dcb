//! `GET /reports/report.csv?measure=…&dimensions=…&unit=…&from=…&to=…`: a report as CSV, for
//! spreadsheets and dashboard tools, with the same bearer credentials, cells and statuses as the
//! `report` query, and on the audit trail the same way.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, http::header, web};
use chrono::NaiveDate;
use futures_util::stream;

use super::{
    AppState,
    graphql::{ResponseType, admit, refuse},
};
use crate::{
    error::{ApiError, code},
    reporting::{Dimension, Measure, Question, csv, periods::Unit, report_for},
};

/// Rows per chunk of the streamed body.
const ROWS_PER_CHUNK: usize = 256;

pub async fn report_csv(request: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let json = ResponseType::Json;
    let viewer = match admit(&request, &state, json).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let question = match question(request.query_string()) {
        Ok(question) => question,
        Err((field, message)) => {
            return HttpResponse::BadRequest().json(serde_json::json!({ "errors": [{
                "message": message,
                "extensions": { "code": code::BAD_USER_INPUT, "field": field },
            }] }));
        }
    };
    let services = &state.services;
    let answer = tokio::time::timeout(
        state.request_timeout,
        report_for(&viewer, &services.db, &services.reporting, &question),
    )
    .await;
    let report = match answer {
        Ok(Ok(report)) => report,
        Ok(Err(error)) => return failed(&error),
        Err(_) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                code::TIMEOUT,
                "the report took too long; try again later",
                json,
            );
        }
    };
    let mut lines = vec![csv::header(&report)];
    lines.extend(report.cells.iter().map(csv::row));
    let chunks: Vec<Result<web::Bytes, actix_web::Error>> = lines
        .chunks(ROWS_PER_CHUNK)
        .map(|chunk| Ok(web::Bytes::from(chunk.concat())))
        .collect();
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"report-{}.csv\"",
                question.measure.code().to_lowercase()
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(stream::iter(chunks))
}

/// The answer to a report that could not be given, with the code the API would give.
fn failed(error: &ApiError) -> HttpResponse {
    let status = match error {
        ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
        ApiError::Forbidden | ApiError::ForbiddenTo(_) => StatusCode::FORBIDDEN,
        ApiError::Refused { .. } | ApiError::BadUserInput { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    let message = if status == StatusCode::SERVICE_UNAVAILABLE {
        tracing::error!(error = %error, "a report could not be counted");
        "the report cannot be counted right now; try again later".to_owned()
    } else {
        error.to_string()
    };
    HttpResponse::build(status).json(serde_json::json!({ "errors": [{
        "message": message,
        "extensions": { "code": error.code() },
    }] }))
}

/// Reads the question from the query string; dimensions come comma-separated or repeated.
fn question(query: &str) -> Result<Question, (&'static str, String)> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|_| ("query", "the query string cannot be read".to_owned()))?
        .into_inner();
    let one = |name: &'static str| -> Result<&str, (&'static str, String)> {
        let mut values = pairs.iter().filter(|(k, _)| k == name);
        match (values.next(), values.next()) {
            (Some((_, value)), None) => Ok(value.as_str()),
            (None, _) => Err((name, format!("`{name}` is required"))),
            (Some(_), Some(_)) => Err((name, format!("`{name}` is given more than once"))),
        }
    };
    let choices = |all: &[&str]| all.join(", ");
    let measure = one("measure")?;
    let measure = Measure::parse(measure).ok_or_else(|| {
        let names: Vec<&str> = Measure::ALL.iter().map(|(_, c)| *c).collect();
        (
            "measure",
            format!("`measure` is one of {}", choices(&names)),
        )
    })?;
    let mut dimensions = Vec::new();
    for (_, value) in pairs.iter().filter(|(k, _)| k == "dimensions") {
        for name in value.split(',').filter(|n| !n.is_empty()) {
            let dimension = Dimension::parse(name).ok_or_else(|| {
                let names: Vec<&str> = Dimension::ALL.iter().map(|(_, c)| *c).collect();
                (
                    "dimensions",
                    format!("`dimensions` are from {}", choices(&names)),
                )
            })?;
            dimensions.push(dimension);
        }
    }
    let unit = Unit::parse(one("unit")?)
        .ok_or_else(|| ("unit", "`unit` is MONTH, QUARTER or YEAR".to_owned()))?;
    let date = |name: &'static str| -> Result<NaiveDate, (&'static str, String)> {
        NaiveDate::parse_from_str(one(name)?, "%Y-%m-%d")
            .map_err(|_| (name, format!("`{name}` is a date, YYYY-MM-DD")))
    };
    Ok(Question {
        measure,
        dimensions,
        unit,
        from: date("from")?,
        to: date("to")?,
    })
}
