//! A report as CSV: a header row, then a row per cell, in UTF-8. Text a spreadsheet would take
//! for a formula is escaped, so a course title cannot run as one on a reader's machine.

use super::{Cell, Dimension, Report, Status};

fn dimension_name(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Course => "course",
        Dimension::Province => "province",
        Dimension::RoleGroup => "role_group",
    }
}

pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Published => "PUBLISHED",
        Status::Suppressed => "SUPPRESSED",
        Status::Empty => "EMPTY",
    }
}

/// The header row.
pub fn header(report: &Report) -> String {
    let mut fields = vec![
        "period".to_owned(),
        "period_start".into(),
        "period_end".into(),
    ];
    for dimension in &report.question.dimensions {
        let name = dimension_name(*dimension);
        fields.push(name.into());
        fields.push(format!("{name}_label"));
    }
    fields.extend(["value".into(), "status".into()]);
    line(&fields)
}

/// One cell's row.
pub fn row(cell: &Cell) -> String {
    let mut fields = match &cell.period {
        Some(period) => vec![
            period.label(),
            period.first_day().to_string(),
            period.last_day().to_string(),
        ],
        None => vec!["ALL_TIME".into(), String::new(), String::new()],
    };
    for key in &cell.keys {
        fields.push(key.code.clone());
        fields.push(key.label.clone());
    }
    fields.push(cell.value.map(|v| v.to_string()).unwrap_or_default());
    fields.push(status_name(cell.status).into());
    line(&fields)
}

fn line(fields: &[String]) -> String {
    let mut out = fields
        .iter()
        .map(|f| quote(&defuse(f)))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

/// A field that starts like a formula (`=`, `+`, `-`, `@`, a tab or a carriage return) gets a
/// leading apostrophe, as OWASP advises; numbers are written without sign, so none is touched.
fn defuse(field: &str) -> String {
    if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{field}")
    } else {
        field.to_owned()
    }
}

/// RFC 4180 quoting.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n', '\'']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formula_is_written_as_text() {
        assert_eq!(
            quote(&defuse("=HYPERLINK(\"x\")")),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(quote(&defuse("@SUM(A1)")), "\"'@SUM(A1)\"");
        assert_eq!(
            quote(&defuse("Omgaan met intimidatie")),
            "Omgaan met intimidatie"
        );
    }
}
