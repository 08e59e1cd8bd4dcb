//! Relay cursor pagination: arguments parsed into a `PageRequest`, results as a `Page`.
//!
//! Cursors are opaque to clients (base64url) and carry the sort key of an item, so a page is a
//! keyset query: stable while rows are added, and as fast on page 100 as on page 1.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE_SIZE: u64 = 20;
pub const MAX_PAGE_SIZE: u64 = 100;

/// A sort key that can travel as a cursor.
pub trait CursorKey: Sized {
    fn to_text(&self) -> String;
    fn from_text(text: &str) -> Option<Self>;

    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_text())
    }

    fn decode(cursor: &str, field: &'static str) -> ApiResult<Self> {
        let invalid = || ApiError::InvalidCursor { field };
        if cursor.len() > 200 {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        Self::from_text(&text).ok_or_else(invalid)
    }
}

/// Courses are listed by slug, which is unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CourseCursor {
    pub slug: String,
}

impl CursorKey for CourseCursor {
    fn to_text(&self) -> String {
        format!("course:{}", self.slug)
    }

    fn from_text(text: &str) -> Option<Self> {
        let slug = text.strip_prefix("course:")?;
        (!slug.is_empty()).then(|| Self {
            slug: slug.to_owned(),
        })
    }
}

/// A snapshot lists enrolments by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnrolmentCursor {
    pub id: Uuid,
}

impl CursorKey for EnrolmentCursor {
    fn to_text(&self) -> String {
        format!("enrolment:{}", self.id.as_hyphenated())
    }

    fn from_text(text: &str) -> Option<Self> {
        let id = Uuid::try_parse(text.strip_prefix("enrolment:")?).ok()?;
        Some(Self { id })
    }
}

/// Sessions are listed by start, then id for sessions that start at the same moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionCursor {
    pub starts_at: DateTime<Utc>,
    pub id: Uuid,
}

/// An instant and an id as cursor text: nanoseconds, so that a stored instant compares equal to
/// its cursor whatever its precision.
fn instant_to_text(kind: &str, at: DateTime<Utc>, id: Uuid) -> String {
    format!(
        "{kind}:{}:{}",
        at.timestamp_nanos_opt().unwrap_or(i64::MAX),
        id.as_hyphenated()
    )
}

fn instant_from_text(kind: &str, text: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (nanos, id) = text
        .strip_prefix(kind)?
        .strip_prefix(':')?
        .split_once(':')?;
    Some((
        DateTime::from_timestamp_nanos(nanos.parse().ok()?),
        Uuid::try_parse(id).ok()?,
    ))
}

impl CursorKey for SessionCursor {
    fn to_text(&self) -> String {
        instant_to_text("session", self.starts_at, self.id)
    }

    fn from_text(text: &str) -> Option<Self> {
        let (starts_at, id) = instant_from_text("session", text)?;
        Some(Self { starts_at, id })
    }
}

/// Audit events are listed newest first: by time, then id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuditCursor {
    pub occurred_at: DateTime<Utc>,
    pub id: Uuid,
}

impl CursorKey for AuditCursor {
    fn to_text(&self) -> String {
        instant_to_text("audit", self.occurred_at, self.id)
    }

    fn from_text(text: &str) -> Option<Self> {
        let (occurred_at, id) = instant_from_text("audit", text)?;
        Some(Self { occurred_at, id })
    }
}

/// Outbox events are listed newest first: by creation time, then id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutboxCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl CursorKey for OutboxCursor {
    fn to_text(&self) -> String {
        instant_to_text("outbox", self.created_at, self.id)
    }

    fn from_text(text: &str) -> Option<Self> {
        let (created_at, id) = instant_from_text("outbox", text)?;
        Some(Self { created_at, id })
    }
}

/// Feedback waiting for moderation, oldest first: (submitted_at, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeedbackCursor {
    pub submitted_at: DateTime<Utc>,
    pub id: Uuid,
}

impl CursorKey for FeedbackCursor {
    fn to_text(&self) -> String {
        instant_to_text("feedback", self.submitted_at, self.id)
    }

    fn from_text(text: &str) -> Option<Self> {
        let (submitted_at, id) = instant_from_text("feedback", text)?;
        Some(Self { submitted_at, id })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `first`/`after`: from the start of the list.
    Forward,
    /// `last`/`before`: from the end of the list.
    Backward,
}

/// What a client asked for, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageRequest<K> {
    pub after: Option<K>,
    pub before: Option<K>,
    pub limit: u64,
    pub direction: Direction,
}

/// The four Relay arguments, as a client sent them.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl<K: CursorKey> PageRequest<K> {
    pub fn parse(args: PageArgs) -> ApiResult<Self> {
        let size = |value: Option<i32>, field: &'static str| -> ApiResult<Option<u64>> {
            value
                .map(|n| {
                    u64::try_from(n).ok().filter(|n| *n <= MAX_PAGE_SIZE).ok_or(
                        ApiError::InvalidPageSize {
                            field,
                            max: MAX_PAGE_SIZE,
                        },
                    )
                })
                .transpose()
        };
        let first = size(args.first, "first")?;
        let last = size(args.last, "last")?;
        let (limit, direction) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::BadUserInput {
                    field: "last",
                    message: "pass either `first` or `last`, not both".into(),
                });
            }
            (Some(first), None) => (first, Direction::Forward),
            (None, Some(last)) => (last, Direction::Backward),
            // Without a size, `before` alone reads backwards from that cursor.
            (None, None) if args.before.is_some() && args.after.is_none() => {
                (DEFAULT_PAGE_SIZE, Direction::Backward)
            }
            (None, None) => (DEFAULT_PAGE_SIZE, Direction::Forward),
        };
        Ok(Self {
            after: args
                .after
                .as_deref()
                .map(|c| K::decode(c, "after"))
                .transpose()?,
            before: args
                .before
                .as_deref()
                .map(|c| K::decode(c, "before"))
                .transpose()?,
            limit,
            direction,
        })
    }

    /// How many rows to fetch: one more than the page, to learn whether there is more.
    pub fn fetch_limit(&self) -> u64 {
        self.limit + 1
    }

    /// Turns the rows of a query (ordered in the direction of reading, `fetch_limit` at most)
    /// into a page in list order.
    pub fn into_page<T>(&self, mut rows: Vec<T>) -> Page<T> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(usize::try_from(self.limit).unwrap_or(usize::MAX));
        match self.direction {
            Direction::Forward => Page {
                items: rows,
                // An `after` cursor names an item, so something comes before this page.
                has_previous_page: self.after.is_some(),
                has_next_page: more,
            },
            Direction::Backward => {
                rows.reverse();
                Page {
                    items: rows,
                    has_previous_page: more,
                    has_next_page: self.before.is_some(),
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
}

impl<T> Page<T> {
    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            has_previous_page: false,
            has_next_page: false,
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test stops at the first broken step")]
mod tests {
    use super::*;

    fn args(first: Option<i32>, last: Option<i32>) -> PageArgs {
        PageArgs {
            first,
            last,
            ..PageArgs::default()
        }
    }

    #[test]
    fn the_default_page_is_twenty_forward() {
        let page = PageRequest::<CourseCursor>::parse(PageArgs::default()).unwrap();
        assert_eq!(
            (page.limit, page.direction),
            (DEFAULT_PAGE_SIZE, Direction::Forward)
        );
    }

    #[test]
    fn page_sizes_outside_zero_to_a_hundred_are_refused() {
        for (first, last) in [
            (Some(-1), None),
            (Some(101), None),
            (None, Some(-5)),
            (None, Some(1000)),
        ] {
            let result = PageRequest::<CourseCursor>::parse(args(first, last));
            assert!(
                matches!(result, Err(ApiError::InvalidPageSize { .. })),
                "{first:?} {last:?}"
            );
        }
        assert!(PageRequest::<CourseCursor>::parse(args(Some(100), None)).is_ok());
        assert!(PageRequest::<CourseCursor>::parse(args(Some(0), None)).is_ok());
    }

    #[test]
    fn a_session_cursor_round_trips() {
        let key = SessionCursor {
            starts_at: Utc::now(),
            id: Uuid::new_v4(),
        };
        let decoded = SessionCursor::decode(&key.encode(), "after").unwrap();
        assert_eq!(decoded.id, key.id);
        assert_eq!(decoded.starts_at, key.starts_at);
    }

    #[test]
    fn a_cursor_of_another_list_is_refused() {
        let course = CourseCursor { slug: "x".into() }.encode();
        assert!(SessionCursor::decode(&course, "after").is_err());
        assert!(SessionCursor::decode("not base64!", "after").is_err());
    }

    #[test]
    fn a_backward_page_is_returned_in_list_order() {
        let request = PageRequest::<CourseCursor>::parse(args(None, Some(2))).unwrap();
        let page = request.into_page(vec![3, 2, 1]);
        assert_eq!(page.items, vec![2, 3]);
        assert!(page.has_previous_page);
        assert!(!page.has_next_page);
    }
}
