//! Answers to anonymous queries, kept in memory and never stale.
//!
//! An anonymous caller sees only public data: the programme, sessions and their seats,
//! locations, testimonials. The database keeps a version of all of it, raised in the same
//! transaction as any change (migration `public_version`). An answer is kept with the version
//! read just before its resolvers ran (`graphql::public_version`, after parsing, validation and
//! the limits, so a refused query costs no statement). A request for a kept answer reads the
//! version (one statement) and reuses the answer only when it is the same: a change that
//! committed since, in any process, has raised it. An answer that depends on the clock (whether
//! a session accepts bookings now) says until when it holds, and is not reused after that.
//! Answers with errors are never kept.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use actix_web::web::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::lru::{Lru, Weigh};

/// What one kept answer costs besides its body: key, version, tag and bookkeeping.
const OVERHEAD: usize = 256;

/// Identifies a request whose answer can be reused: the document without insignificant
/// whitespace, the operation, the variables (keys sorted) and the media type of the answer.
pub type Key = [u8; 32];

pub struct Cached {
    /// The public version read before the answer was computed.
    pub version: i64,
    /// The answer holds until then (it depends on the clock), or as long as the version.
    pub fresh_until: Option<DateTime<Utc>>,
    pub body: Bytes,
    /// A strong entity tag of the body, for `If-None-Match`.
    pub etag: String,
}

impl Cached {
    /// Whether the answer is still the one a request at `now` would get, the public version
    /// being `version`.
    pub fn holds(&self, version: i64, now: DateTime<Utc>) -> bool {
        self.version == version && self.fresh_until.is_none_or(|until| now < until)
    }
}

impl Weigh for Arc<Cached> {
    fn weight(&self) -> usize {
        self.body.len() + self.etag.len() + OVERHEAD
    }
}

pub struct ResponseCache {
    entries: Mutex<Lru<Key, Arc<Cached>>>,
}

impl ResponseCache {
    /// A cache of at most `max_bytes`; none when that is 0.
    pub fn new(max_bytes: usize) -> Option<Self> {
        (max_bytes > 0).then(|| Self {
            entries: Mutex::new(Lru::new(usize::MAX, max_bytes)),
        })
    }

    pub fn key(
        query: &str,
        operation_name: Option<&str>,
        variables: Option<&serde_json::Value>,
        media_type: &str,
    ) -> Key {
        let mut hash = Sha256::new();
        for part in [
            normalise(query).as_bytes(),
            operation_name.unwrap_or_default().as_bytes(),
            // serde_json keeps an object's keys sorted: the same variables in any order are
            // the same text.
            variables
                .unwrap_or(&serde_json::Value::Null)
                .to_string()
                .as_bytes(),
            media_type.as_bytes(),
        ] {
            // Lengths first, so that no two different requests hash the same bytes.
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        hash.finalize().into()
    }

    /// The answer kept for `key`, whether or not it still holds (see `Cached::holds`).
    pub fn get(&self, key: &Key) -> Option<Arc<Cached>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(key)
    }

    pub fn forget(&self, key: &Key) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.remove(key);
    }

    pub fn put(&self, key: Key, cached: Arc<Cached>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.put(key, cached);
    }

    /// What the kept answers weigh, in bytes.
    pub fn bytes(&self) -> usize {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.bytes()
    }
}

/// The entity tag of a body.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` value names this tag (or is `*`).
pub fn matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match.split(',').map(str::trim).any(|tag| {
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == "*" || tag == etag
    })
}

/// What an answer that may be kept depends on: the public version read before its resolvers
/// ran, and until when it holds as far as the clock goes (resolvers whose answer changes at a
/// known instant, such as a booking window's end, narrow it).
#[derive(Default)]
pub struct Freshness {
    pub version: OnceLock<i64>,
    until: Mutex<Option<DateTime<Utc>>>,
}

impl Freshness {
    pub fn narrow(&self, until: DateTime<Utc>) {
        let mut current = self.until.lock().unwrap_or_else(PoisonError::into_inner);
        if current.is_none_or(|current| until < current) {
            *current = Some(until);
        }
    }

    pub fn until(&self) -> Option<DateTime<Utc>> {
        *self.until.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The document without insignificant characters (white space, commas, comments) except one
/// space where two tokens would otherwise run together; strings are kept as they are. Two
/// spellings of one document share answers, and two documents never share a spelling.
fn normalise(query: &str) -> String {
    // Tokens that would merge with the next one without a space between them.
    let joins = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '"';
    let mut out = String::with_capacity(query.len());
    let mut chars = query.chars().peekable();
    let mut gap = false;
    let separate = |out: &mut String, gap: &mut bool, next: char| {
        if *gap
            && out.chars().last().is_some_and(joins)
            && (joins(next) || next == '-' || next == '.')
        {
            out.push(' ');
        }
        *gap = false;
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' | ',' | '\u{feff}' => gap = true,
            '#' => {
                gap = true;
                while chars.next_if(|c| *c != '\n' && *c != '\r').is_some() {}
            }
            '"' => {
                separate(&mut out, &mut gap, c);
                out.push('"');
                // A block string ("""…""") or a plain one; either is copied whole.
                let block = chars.peek() == Some(&'"') && {
                    let mut ahead = chars.clone();
                    ahead.next();
                    ahead.peek() == Some(&'"')
                };
                if block {
                    out.push_str("\"\"");
                    chars.next();
                    chars.next();
                    let mut quotes = 0;
                    for c in chars.by_ref() {
                        out.push(c);
                        quotes = if c == '"' { quotes + 1 } else { 0 };
                        if quotes == 3 {
                            break;
                        }
                    }
                } else {
                    let mut escaped = false;
                    for c in chars.by_ref() {
                        out.push(c);
                        match c {
                            '\\' if !escaped => escaped = true,
                            '"' if !escaped => break,
                            _ => escaped = false,
                        }
                    }
                }
            }
            c => {
                separate(&mut out, &mut gap, c);
                out.push(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_document_share_a_key_and_strings_stay() {
        let key = |q: &str| ResponseCache::key(q, None, None, "application/json");
        assert_eq!(
            key("{ courses(first: 10) { edges { node { title } } } }"),
            key("query{courses(first:10){edges{node{title}}}}"
                .replace("query", "")
                .as_str()),
        );
        assert_eq!(
            key("{\n  courses(first: 10, after: null) {\n totalCount } # a comment\n}"),
            key("{ courses(first: 10 after: null) { totalCount } }"),
        );
        assert_ne!(
            key("{ course(slug: \"a  b\") { id } }"),
            key("{ course(slug: \"a b\") { id } }"),
            "white space inside a string matters"
        );
        assert_ne!(key("{ a { b c } }"), key("{ a { bc } }"));
        assert_ne!(key("{ a(l: [\"\", \"x\"]) }"), key("{ a(l: [\"\"\"x\"]) }"));
        assert_ne!(key("{ a(l: [1 -2]) }"), key("{ a(l: [1-2]) }"));
        assert_ne!(
            key("{ course(slug: \"\"\"a  # b\"\"\") { id } }"),
            key("{ course(slug: \"\"\"a \"\"\") { id } }"),
        );
        let with = |v: serde_json::Value| ResponseCache::key("{ a }", None, Some(&v), "x");
        assert_eq!(
            with(serde_json::json!({ "a": 1, "b": { "d": 2, "c": 3 } })),
            with(serde_json::json!({ "b": { "c": 3, "d": 2 }, "a": 1 })),
        );
        assert_ne!(
            with(serde_json::json!({ "a": 1 })),
            with(serde_json::json!({ "a": 2 }))
        );
    }

    #[test]
    fn an_answer_holds_for_its_version_and_until_its_clock_says() {
        let Some(cache) = ResponseCache::new(10_000) else {
            panic!("a cache of 10,000 bytes");
        };
        let key = ResponseCache::key("{ a }", None, None, "x");
        let now = Utc::now();
        let until = now + chrono::Duration::seconds(5);
        cache.put(
            key,
            Arc::new(Cached {
                version: 7,
                fresh_until: Some(until),
                body: Bytes::from_static(b"{}"),
                etag: etag_of(b"{}"),
            }),
        );
        let Some(kept) = cache.get(&key) else {
            panic!("the answer was not kept");
        };
        assert!(kept.holds(7, now));
        assert!(!kept.holds(7, until), "past its clock");
        assert!(!kept.holds(8, now), "another version");
        cache.forget(&key);
        assert!(cache.get(&key).is_none());
    }

    #[test]
    fn tags_are_matched_as_http_says() {
        let tag = etag_of(b"body");
        assert!(matches(&tag, &tag));
        assert!(matches(&format!("\"x\", W/{tag}"), &tag));
        assert!(matches("*", &tag));
        assert!(!matches("\"x\"", &tag));
    }
}
