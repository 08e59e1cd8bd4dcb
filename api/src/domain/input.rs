//! Checks of client input that every mutation shares; each refusal names its field.

use std::ops::RangeInclusive;

use super::booking::Refusal;

/// Characters that change how text around them is shown without showing themselves: bidi
/// overrides and isolates, which can make `gpj.exe` read as `exe.jpg`, and marks. Never allowed.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Invisible characters: Unicode's Default_Ignorable_Code_Point (zero-width spaces and
/// joiners, word joiners, fillers, variation selectors, tags, the byte-order mark, the soft
/// hyphen). In a name or an address they make two that look the same differ; free text may keep
/// the joiners and selectors that emoji and some scripts need.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Characters no name or address needs that show as a blank or as whatever a font puts there:
/// interlinear annotation marks, the blank Braille pattern, private-use characters (their look
/// is a font's choice) and noncharacters. Two names that differ only in these look alike.
fn is_unshowable(c: char) -> bool {
    matches!(c,
        '\u{FFF9}'..='\u{FFFB}' | '\u{2800}' | '\u{E000}'..='\u{F8FF}'
        | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}' | '\u{FDD0}'..='\u{FDEF}')
        || (u32::from(c) & 0xFFFE) == 0xFFFE
}

/// Free text from a client: trimmed, empty as none, at most `max` characters, and no control
/// characters (PostgreSQL refuses NUL outright; the rest have no place in a name or a reason).
/// Bidi controls are refused everywhere, and invisible characters in single-line text (names,
/// addresses, titles).
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
    // Unicode's line and paragraph separators are not control characters, but they break a
    // line all the same: no place in a name, an address or a title.
    if !multiline && value.chars().any(|c| matches!(c, '\u{2028}' | '\u{2029}')) {
        return Err(Refusal::bad_input(
            field,
            "line breaks are not allowed here",
        ));
    }
    if value.chars().any(is_bidi_control) {
        return Err(Refusal::bad_input(
            field,
            "characters that reverse the direction of text are not allowed",
        ));
    }
    if !multiline && value.chars().any(is_invisible) {
        return Err(Refusal::bad_input(
            field,
            "invisible characters (zero-width spaces, joiners) are not allowed",
        ));
    }
    if !multiline && value.chars().any(is_unshowable) {
        return Err(Refusal::bad_input(
            field,
            "characters that show as nothing, or as anything a font likes, are not allowed",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_bidi_controls_and_invisible_characters() {
        for name in [
            "Jan\u{202E}seirV",
            "Jan\u{200B}Vries",
            "\u{FEFF}Jan",
            "Jan\u{2067}x",
            "Jan\u{2028}Vries",
            "Jan\u{2029}Vries",
            "Jan\u{FFF9}Vries",
            "Jan\u{2800}",
            "Jan\u{E000}",
            "Jan\u{FDD0}",
            "Jan\u{1FFFE}",
        ] {
            assert!(text(Some(name), "name", 100, false).is_err(), "{name:?}");
        }
        assert!(text(Some("Zoë d'Hondt-Ünal"), "name", 100, false).is_ok());
    }

    #[test]
    fn free_text_keeps_joiners_but_not_bidi_controls() {
        assert!(text(Some("Goed 👍\u{200D}👍"), "comment", 100, true).is_ok());
        assert!(text(Some("Goed \u{202E}"), "comment", 100, true).is_err());
    }
}
