//! Checks of client input that every mutation shares; each refusal names its field.

use std::ops::RangeInclusive;

use super::booking::Refusal;

/// Free text from a client: trimmed, empty as none, at most `max` characters, and no control
/// characters (PostgreSQL refuses NUL outright; the rest have no place in a name or a reason).
pub fn text(
    value: Option<&str>,
    field: &str,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, Refusal> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(Refusal::bad_input(
            field,
            format!("at most {max} characters"),
        ));
    }
    let allowed = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'));
    if !value.chars().all(allowed) {
        return Err(Refusal::bad_input(
            field,
            "control characters are not allowed",
        ));
    }
    Ok(Some(value.to_owned()))
}

/// Text that must be there.
pub fn required(value: &str, field: &str, max: usize, multiline: bool) -> Result<String, Refusal> {
    text(Some(value), field, max, multiline)?
        .ok_or_else(|| Refusal::bad_input(field, "this cannot be empty"))
}

/// A slug for addresses: 3 to 100 lower-case letters, digits and hyphens, not at either end.
pub fn slug(value: &str, field: &str) -> Result<String, Refusal> {
    let slug = value.trim();
    let fine = (3..=100).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if fine {
        Ok(slug.to_owned())
    } else {
        Err(Refusal::bad_input(
            field,
            "3 to 100 lower-case letters, digits and hyphens",
        ))
    }
}

/// A whole number within a range.
pub fn in_range(value: i32, range: RangeInclusive<i32>, field: &str) -> Result<i32, Refusal> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(Refusal::bad_input(
            field,
            format!("must be between {} and {}", range.start(), range.end()),
        ))
    }
}
