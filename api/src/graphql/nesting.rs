//! A bound on how deeply a document nests, checked before anything parses it.
//!
//! The GraphQL parser recurses once for every level of a list, an object value or a selection
//! set, and bounds none of them before it has recursed: a few kilobytes of `[[[[…` overflow a
//! worker's stack and abort the whole process, every connection with it. So every path that
//! parses a document (POST, GET and its mutation check, WebSocket `subscribe`) first counts
//! brackets with this scan, which uses no recursion and skips what cannot nest: strings, block
//! strings and comments. The same scan bounds JSON (request bodies, variables), where a `#`
//! outside a string is a syntax error anyway.
//!
//! The bound is fixed, and far above `MAX_QUERY_DEPTH`: the standard introspection query nests
//! about a dozen levels.

/// Deepest nesting of `{`, `[` and `(` a document may have.
pub const MAX_NESTING: usize = 100;

/// Whether `text` nests brackets deeper than `limit`.
pub fn exceeds(text: &str, limit: usize) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'#' => at = end_of_line(bytes, at),
            b'"' if bytes[at..].starts_with(b"\"\"\"") => at = end_of_block_string(bytes, at + 3),
            b'"' => at = end_of_string(bytes, at + 1),
            _ => {}
        }
        at += 1;
    }
    false
}

/// The position of the line break that ends a comment (or the end of the text).
fn end_of_line(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|b| matches!(b, b'\n' | b'\r'))
        .map_or(bytes.len(), |offset| from + offset)
}

/// The position of the quote that closes a string opened just before `from`. A string cannot
/// span lines in GraphQL, so a line break ends an unterminated one (the parser will refuse it).
fn end_of_string(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' | b'\n' | b'\r' => return at,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// The position of the last quote of the `"""` that closes a block string; `\"""` is escaped.
fn end_of_block_string(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() {
        if bytes[at..].starts_with(b"\\\"\"\"") {
            at += 4;
        } else if bytes[at..].starts_with(b"\"\"\"") {
            return at + 2;
        } else {
            at += 1;
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, levels: usize) -> String {
        format!("{}1{}", open.repeat(levels), close.repeat(levels))
    }

    #[test]
    fn brackets_of_every_kind_count() {
        for (open, close) in [("[", "]"), ("{", "}"), ("(", ")"), ("{a:[", "]}")] {
            assert!(!exceeds(&nested(open, close, 4), 8), "{open}");
            assert!(exceeds(&nested(open, close, 100_000), 8), "{open}");
        }
    }

    #[test]
    fn the_limit_itself_is_allowed() {
        assert!(!exceeds(&nested("[", "]", 10), 10));
        assert!(exceeds(&nested("[", "]", 11), 10));
    }

    #[test]
    fn brackets_in_strings_block_strings_and_comments_do_not_count() {
        let deep = "[".repeat(50);
        for text in [
            format!(r#"{{ a(x: "{deep}") }}"#),
            format!(r#"{{ a(x: "\"{deep}") }}"#),
            format!("{{ a(x: \"\"\"{deep}\\\"\"\"{deep}\"\"\") }}"),
            format!("# {deep}\n{{ a }}"),
            format!("# {deep}\r{{ a }}"),
            format!(r#"{{"query": "{deep}", "variables": {{"a": "{deep}"}}}}"#),
        ] {
            assert!(!exceeds(&text, 8), "{text}");
        }
    }

    #[test]
    fn what_follows_a_string_still_counts() {
        let text = format!(r#"{{ a(x: "\\", y: {}) }}"#, nested("[", "]", 20));
        assert!(exceeds(&text, 8));
        let text = format!("{{ a(x: \"\"\"x\"\"\", y: {}) }}", nested("[", "]", 20));
        assert!(exceeds(&text, 8));
        let text = format!("# note\n{}", nested("{", "}", 20));
        assert!(exceeds(&text, 8));
    }

    #[test]
    fn an_unterminated_string_ends_at_its_line() {
        let text = format!("{{ a(x: \"open\n{}", nested("[", "]", 20));
        assert!(exceeds(&text, 8));
    }

    #[test]
    fn the_standard_introspection_query_is_well_within_the_bound() {
        let typeref = "ofType { kind name ".repeat(9) + &"}".repeat(9);
        let query = format!(
            "query IntrospectionQuery {{ __schema {{ types {{ ...FullType }} }} }} \
             fragment FullType on __Type {{ fields(includeDeprecated: true) {{ type {{ ...TypeRef }} }} }} \
             fragment TypeRef on __Type {{ kind name {typeref} }}"
        );
        assert!(!exceeds(&query, 16));
    }
}
