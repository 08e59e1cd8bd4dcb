//! iCalendar (RFC 5545): invites that travel with e-mail (RFC 5546 REQUEST and CANCEL) and the
//! feeds calendar programs subscribe to. Times are Amsterdam local times with the zone's rules
//! included, so every program shows them right, also across daylight saving time.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike, EventStatus, Property};
use uuid::Uuid;

use crate::domain::time::{TIME_ZONE, to_local};

/// The rules of Europe/Amsterdam since 1996, as calendar programs expect them beside the TZID.
/// Written as text: the icalendar crate gives every component it writes a DTSTAMP and a UID,
/// which a VTIMEZONE must not have.
const AMSTERDAM: &str = "BEGIN:VTIMEZONE\r
TZID:Europe/Amsterdam\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
TZNAME:CEST\r
DTSTART:19700329T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
END:DAYLIGHT\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
TZNAME:CET\r
DTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
END:STANDARD\r
END:VTIMEZONE\r
";

/// The domain in UIDs: the platform's own, so that they never collide with another's.
const UID_DOMAIN: &str = "opleidingen.training-platform";

/// What an invite asks of the calendar program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Add the event, or update it when the UID is known.
    Request,
    /// Remove the event.
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// Someone named in an invite.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// One session in someone's calendar.
#[derive(Debug, Clone)]
pub struct Entry {
    pub uid: String,
    pub summary: String,
    pub description: String,
    pub location: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub cancelled: bool,
    /// Rises with every change, so that programs apply updates in order.
    pub sequence: u32,
    pub organizer: Option<Person>,
    pub attendee: Option<Person>,
}

/// The UID of a participant's seat: the same in every invite and feed.
pub fn enrolment_uid(enrolment: Uuid) -> String {
    format!("enrolment-{enrolment}@{UID_DOMAIN}")
}

/// The UID of an actor's part in a session.
pub fn actor_uid(session: Uuid, actor: Uuid) -> String {
    format!("session-{session}-actor-{actor}@{UID_DOMAIN}")
}

/// A sequence number from the time of a change, for entries without a history of their own (an
/// actor's part): later changes have higher numbers. Seconds since 2026 fit the 32 bits
/// calendar programs allow for over a century.
pub fn sequence_at(instant: DateTime<Utc>) -> u32 {
    const SINCE_2026: i64 = 1_767_225_600;
    u32::try_from(instant.timestamp() - SINCE_2026).unwrap_or(0)
}

/// An invite to send with an e-mail.
pub fn invite(method: Method, entry: &Entry) -> String {
    let mut calendar = calendar();
    calendar.append_property(Property::new("METHOD", method.as_str()));
    calendar.push(event(entry, method == Method::Cancel));
    with_zone(&calendar.done().to_string())
}

/// A feed to subscribe to: every entry as it stands.
pub fn feed(name: &str, entries: &[Entry]) -> String {
    let mut calendar = calendar();
    calendar.append_property(Property::new("METHOD", "PUBLISH"));
    calendar.name(name);
    calendar.append_property(Property::new("X-WR-TIMEZONE", TIME_ZONE.name()));
    // Calendar programs that honour it look for changes every hour.
    calendar.append_property(
        Property::new("REFRESH-INTERVAL", "PT1H")
            .add_parameter("VALUE", "DURATION")
            .done(),
    );
    calendar.append_property(Property::new("X-PUBLISHED-TTL", "PT1H"));
    for entry in entries {
        calendar.push(event(entry, entry.cancelled));
    }
    with_zone(&calendar.done().to_string())
}

/// Puts the zone's rules before the first event (or at the end of an empty calendar).
fn with_zone(calendar: &str) -> String {
    let at = calendar
        .find("BEGIN:VEVENT")
        .or_else(|| calendar.find("END:VCALENDAR"))
        .unwrap_or(calendar.len());
    let mut text = String::with_capacity(calendar.len() + AMSTERDAM.len());
    text.push_str(&calendar[..at]);
    text.push_str(AMSTERDAM);
    text.push_str(&calendar[at..]);
    text
}

fn calendar() -> Calendar {
    let mut calendar = Calendar::empty();
    calendar.append_property(Property::new("VERSION", "2.0"));
    calendar.append_property(Property::new(
        "PRODID",
        "-//Opleidingsinstituut//Trainingsplatform//NL",
    ));
    calendar.append_property(Property::new("CALSCALE", "GREGORIAN"));
    calendar
}

fn local(instant: DateTime<Utc>) -> CalendarDateTime {
    CalendarDateTime::WithTimezone {
        date_time: to_local(instant).naive_local(),
        tzid: TIME_ZONE.name().to_owned(),
    }
}

fn event(entry: &Entry, cancelled: bool) -> Event {
    let mut event = Event::new();
    event
        .uid(&entry.uid)
        .timestamp(Utc::now())
        .sequence(entry.sequence)
        .summary(&entry.summary)
        .description(&entry.description)
        .starts(local(entry.starts_at))
        .ends(local(entry.ends_at))
        .status(if cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        });
    if let Some(location) = &entry.location {
        event.location(location);
    }
    if let Some(organizer) = &entry.organizer {
        event.append_property(
            Property::new("ORGANIZER", format!("mailto:{}", organizer.email))
                .add_parameter("CN", &parameter_value(&organizer.name))
                .done(),
        );
    }
    if let Some(attendee) = &entry.attendee {
        event.append_property(
            Property::new("ATTENDEE", format!("mailto:{}", attendee.email))
                .add_parameter("CN", &parameter_value(&attendee.name))
                .add_parameter("ROLE", "REQ-PARTICIPANT")
                .add_parameter("PARTSTAT", "ACCEPTED")
                .done(),
        );
    }
    event.done()
}

/// A parameter value (such as a name in `CN=`) that cannot break out of its parameter: RFC 5545
/// allows no `"` in one at all, so RFC 6868's caret escapes stand in (`^'` for `"`, `^n` for a
/// line break, `^^` for `^`), other control characters go, and the value is always quoted, so
/// `:`, `;` and `,` are text. Calendar programs that know RFC 6868 show the quote again.
fn parameter_value(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '^' => quoted.push_str("^^"),
            '"' => quoted.push_str("^'"),
            '\n' => quoted.push_str("^n"),
            c if c.is_control() => {}
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn entry() -> Entry {
        Entry {
            uid: enrolment_uid(Uuid::nil()),
            summary: "Omgaan met intimidatie".into(),
            description: "Een training; met komma's, en regels\nzoals deze".into(),
            location: Some("Zaal 1, Straat 1, 1234 AB Utrecht".into()),
            starts_at: Utc
                .with_ymd_and_hms(2026, 12, 8, 8, 0, 0)
                .single()
                .unwrap_or_default(),
            ends_at: Utc
                .with_ymd_and_hms(2026, 12, 8, 15, 0, 0)
                .single()
                .unwrap_or_default(),
            cancelled: false,
            sequence: 7,
            organizer: Some(Person {
                name: "Servicedesk".into(),
                email: "servicedesk@example.nl".into(),
            }),
            attendee: None,
        }
    }

    #[test]
    fn the_zone_carries_only_what_a_vtimezone_may() {
        let text = feed("Mijn trainingen", &[entry()]);
        let zone = &text
            [text.find("BEGIN:VTIMEZONE").unwrap_or(0)..text.find("END:VTIMEZONE").unwrap_or(0)];
        assert!(zone.contains("TZID:Europe/Amsterdam"), "{text}");
        assert!(
            !zone.contains("UID:") && !zone.contains("DTSTAMP:"),
            "{text}"
        );
        assert!(
            text.find("END:VTIMEZONE") < text.find("BEGIN:VEVENT"),
            "{text}"
        );
        assert!(feed("Leeg", &[]).contains("END:VTIMEZONE\r\nEND:VCALENDAR"));
    }

    #[test]
    fn an_invite_has_local_times_with_their_zone_and_survives_a_round_trip() {
        let text = invite(Method::Request, &entry());
        assert!(text.contains("METHOD:REQUEST"), "{text}");
        assert!(text.contains("BEGIN:VTIMEZONE"), "{text}");
        assert!(
            text.contains("DTSTART;TZID=Europe/Amsterdam:20261208T090000"),
            "{text}"
        );
        assert!(
            text.contains("DTEND;TZID=Europe/Amsterdam:20261208T160000"),
            "{text}"
        );
        let parsed = text.parse::<Calendar>();
        assert!(parsed.is_ok(), "{parsed:?}");
        let parsed = parsed.unwrap_or_default();
        let event = parsed.events().next().cloned().unwrap_or_default();
        assert_eq!(event.get_uid(), Some(enrolment_uid(Uuid::nil()).as_str()));
        assert_eq!(event.get_description(), Some(entry().description.as_str()));
    }

    #[test]
    fn a_name_cannot_smuggle_another_address_into_an_invite() {
        let mut entry = entry();
        entry.attendee = Some(Person {
            name: "Jan\":mailto:kwaad@example.org;ROLE=CHAIR;CN=\"x".into(),
            email: "jan@example.nl".into(),
        });
        let text = invite(Method::Request, &entry).replace("\r\n ", "");
        let attendee = text
            .lines()
            .find(|line| line.starts_with("ATTENDEE"))
            .unwrap_or_default();
        assert_eq!(attendee.matches("mailto:").count(), 2, "{attendee}");
        assert!(attendee.ends_with(":mailto:jan@example.nl"), "{attendee}");
        assert!(
            attendee.contains("CN=\"Jan^':mailto:kwaad@example.org;ROLE=CHAIR;CN=^'x\""),
            "{attendee}"
        );
        let parsed = text.parse::<Calendar>();
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn a_cancel_keeps_the_uid_and_says_cancelled() {
        // Long lines are folded (RFC 5545 3.1); unfold before looking.
        let text = invite(Method::Cancel, &entry()).replace("\r\n ", "");
        assert!(text.contains("METHOD:CANCEL"));
        assert!(text.contains("STATUS:CANCELLED"));
        assert!(text.contains(&format!("UID:{}", enrolment_uid(Uuid::nil()))));
    }
}
