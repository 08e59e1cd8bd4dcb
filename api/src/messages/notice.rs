//! What an outbox event tells whom: the facts are read when the message is sent (names,
//! addresses, the session as it now stands), so that an event holds ids and no personal data.

use chrono::{DateTime, Duration, Utc};
use lettre::{
    Message,
    message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType},
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    calendar::{self, Entry, Method, Person},
    render::Renderer,
};
use crate::{db::feedback::FEEDBACK_PERIOD_DAYS, domain::time::to_local};
use entity::{
    course, enrolment,
    enums::{EnrolmentStatus, SessionStatus},
    feedback, location, organisation, outbox_event, participant, session,
};

/// Topics of scheduled messages, written by `schedule`.
pub const REMINDER: &str = "enrolment.reminder";
pub const FEEDBACK_REQUEST: &str = "enrolment.feedback_requested";

/// The kinds of message people get; each has its templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Confirmed,
    Waitlisted,
    Promoted,
    Cancelled,
    Moved,
    SessionChanged,
    SessionCancelled,
    Reminder,
    FeedbackRequest,
}

impl Kind {
    /// The message for a topic; `None` for topics no one is e-mailed about (attendance).
    fn of(topic: &str) -> Option<Self> {
        Some(match topic {
            "enrolment.confirmed" => Self::Confirmed,
            "enrolment.waitlisted" => Self::Waitlisted,
            "enrolment.promoted" => Self::Promoted,
            "enrolment.cancelled" => Self::Cancelled,
            "enrolment.moved" => Self::Moved,
            "session.rescheduled" | "session.relocated" => Self::SessionChanged,
            "session.cancelled" => Self::SessionCancelled,
            REMINDER => Self::Reminder,
            FEEDBACK_REQUEST => Self::FeedbackRequest,
            _ => return None,
        })
    }

    fn template(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Waitlisted => "waitlisted",
            Self::Promoted => "promoted",
            Self::Cancelled => "cancelled",
            Self::Moved => "moved",
            Self::SessionChanged => "session_changed",
            Self::SessionCancelled => "session_cancelled",
            Self::Reminder => "reminder",
            Self::FeedbackRequest => "feedback_request",
        }
    }
}

/// What the dispatcher should do with an event.
pub enum Prepared {
    /// Nothing to send for this topic.
    Nothing,
    /// No longer true (a reminder for a seat that was cancelled since, say).
    Obsolete(String),
    Message {
        message: Box<Message>,
        file_name: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Reading the facts failed; another attempt may succeed.
    #[error(transparent)]
    Db(#[from] DbErr),
    /// The event cannot become a message (a missing record, a bad address, a template that
    /// lacks a value): retrying will not help.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(reason: impl Into<String>) -> PrepareError {
    PrepareError::Invalid(reason.into())
}

/// The ids an event carries.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    enrolment_id: Uuid,
    previous_enrolment_id: Option<Uuid>,
    from_session_id: Option<Uuid>,
    waiting_list_place: Option<i64>,
    #[serde(default)]
    by_participant: bool,
    previous_starts_at: Option<DateTime<Utc>>,
    previous_location_id: Option<Uuid>,
    reason: Option<String>,
    previous_status: Option<EnrolmentStatus>,
}

/// Everything a message about one enrolment may mention.
struct Facts {
    enrolment: enrolment::Model,
    participant: participant::Model,
    session: session::Model,
    course: course::Model,
    provider: organisation::Model,
    location: Option<location::Model>,
}

async fn facts(db: &impl ConnectionTrait, enrolment: Uuid) -> Result<Facts, PrepareError> {
    let enrolment = enrolment::Entity::find_by_id(enrolment)
        .one(db)
        .await?
        .ok_or_else(|| invalid("the enrolment no longer exists"))?;
    let participant = participant::Entity::find_by_id(enrolment.participant_id)
        .one(db)
        .await?
        .ok_or_else(|| invalid("the participant no longer exists"))?;
    let session = session::Entity::find_by_id(enrolment.session_id)
        .one(db)
        .await?
        .ok_or_else(|| invalid("the session no longer exists"))?;
    let course = course::Entity::find_by_id(session.course_id)
        .one(db)
        .await?
        .ok_or_else(|| invalid("the course no longer exists"))?;
    let provider = organisation::Entity::find_by_id(course.provider_id)
        .one(db)
        .await?
        .ok_or_else(|| invalid("the course's provider no longer exists"))?;
    let location = match session.location_id {
        Some(id) => location::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    Ok(Facts {
        enrolment,
        participant,
        session,
        course,
        provider,
        location,
    })
}

/// What the templates see.
#[derive(Serialize)]
struct TemplateFacts {
    participant: Named,
    course: Titled,
    session: When,
    location: Option<Place>,
    desk: Desk,
    cancel_until: Option<String>,
    waiting_list_place: Option<i64>,
    previous: Option<Previous>,
    reason: Option<String>,
    by_participant: bool,
    calendar_attached: bool,
    feedback_until: Option<String>,
}

#[derive(Serialize)]
struct Named {
    name: String,
}

#[derive(Serialize)]
struct Titled {
    title: String,
}

#[derive(Serialize)]
struct When {
    date: String,
    starts: String,
    ends: String,
}

#[derive(Serialize)]
struct Place {
    name: String,
    address: String,
    directions: Option<String>,
}

#[derive(Serialize)]
struct Desk {
    name: String,
    email: Option<String>,
    phone: Option<String>,
    website: Option<String>,
}

#[derive(Serialize)]
struct Previous {
    date: String,
    starts: String,
    ends: String,
    location: Option<String>,
}

/// "dinsdag 8 december 2026", in Amsterdam.
pub fn dutch_date(instant: DateTime<Utc>) -> String {
    to_local(instant)
        .format_localized("%A %-d %B %Y", chrono::Locale::nl_NL)
        .to_string()
}

fn clock(instant: DateTime<Utc>) -> String {
    to_local(instant).format("%H:%M").to_string()
}

fn when(session: &session::Model) -> When {
    When {
        date: dutch_date(session.starts_at),
        starts: clock(session.starts_at),
        ends: clock(session.ends_at),
    }
}

fn address(location: &location::Model) -> String {
    let town = match &location.postal_code {
        Some(code) => format!("{code} {}", location.city),
        None => location.city.clone(),
    };
    match &location.street_address {
        Some(street) => format!("{street}, {town}"),
        None => town,
    }
}

fn place(location: &location::Model) -> Place {
    Place {
        name: location.name.clone(),
        address: address(location),
        directions: location.directions.clone(),
    }
}

fn desk_name(provider: &organisation::Model) -> String {
    provider
        .service_desk_name
        .clone()
        .unwrap_or_else(|| provider.name.clone())
}

/// Builds the messages of outbox events.
pub struct Composer {
    renderer: Renderer,
    sender: Mailbox,
    /// The domain of Message-IDs: the sender's.
    domain: String,
}

impl Composer {
    pub fn new(renderer: Renderer, sender: Mailbox) -> Self {
        let domain = sender.email.domain().to_owned();
        Self {
            renderer,
            sender,
            domain,
        }
    }

    /// A message to administrators about the service itself (a webhook endpoint turned off):
    /// plain text with ids and the endpoint's address, nothing about anyone.
    pub fn alert(&self, event: &outbox_event::Model, to: &str) -> Result<Prepared, PrepareError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Alert {
            endpoint_id: Uuid,
            url: String,
            reason: String,
        }
        let alert: Alert = serde_json::from_str(&event.payload)
            .map_err(|error| invalid(format!("the alert's payload does not parse: {error}")))?;
        let to: Mailbox = to
            .parse()
            .map_err(|_| invalid("ADMIN_ALERT_EMAIL is not a valid address"))?;
        let text = format!(
            "Het webhook-endpoint {} ({}) is uitgeschakeld: {}.\n\n\
             Herstel de ontvanger, en zet het endpoint weer aan met setWebhookEndpointActive; \
             gemiste wijzigingen stuurt replayWebhookDeliveries opnieuw.\n",
            alert.endpoint_id, alert.url, alert.reason
        );
        let message = Message::builder()
            .message_id(Some(format!("<{}@{}>", event.id, self.domain)))
            .from(self.sender.clone())
            .to(to)
            .subject("Webhook uitgeschakeld")
            .date(Utc::now().into())
            .singlepart(SinglePart::plain(text))
            .map_err(|error| invalid(format!("the message could not be built: {error}")))?;
        Ok(Prepared::Message {
            message: Box::new(message),
            file_name: format!(
                "{}-webhook-uitgeschakeld-{}.eml",
                event.created_at.format("%Y%m%d-%H%M%S"),
                event.id
            ),
        })
    }

    pub async fn prepare(
        &self,
        db: &impl ConnectionTrait,
        event: &outbox_event::Model,
        now: DateTime<Utc>,
    ) -> Result<Prepared, PrepareError> {
        let Some(kind) = Kind::of(&event.topic) else {
            return Ok(Prepared::Nothing);
        };
        let payload: Payload = serde_json::from_str(&event.payload)
            .map_err(|error| invalid(format!("the event's payload does not parse: {error}")))?;
        let facts = facts(db, payload.enrolment_id).await?;
        if let Some(why) = obsolete(db, kind, &facts, now).await? {
            return Ok(Prepared::Obsolete(why));
        }
        let left = left_session(db, kind, &payload).await?;
        let previous = previous(db, kind, &payload, &facts, left.as_ref()).await?;
        let invites = self
            .invites(db, kind, &payload, &facts, left.as_ref(), event)
            .await?;
        let seated = facts.enrolment.status == EnrolmentStatus::Confirmed;
        let deadline = facts.session.starts_at
            - Duration::hours(i64::from(facts.course.cancellation_deadline_hours));
        let template_facts = TemplateFacts {
            participant: Named {
                name: facts.participant.full_name.clone(),
            },
            course: Titled {
                title: facts.course.title.clone(),
            },
            session: when(&facts.session),
            location: facts.location.as_ref().map(place),
            desk: Desk {
                name: desk_name(&facts.provider),
                email: facts.provider.email.clone(),
                phone: facts.provider.phone.clone(),
                website: facts.provider.website.clone(),
            },
            cancel_until: (seated && now < deadline)
                .then(|| format!("{} om {}", dutch_date(deadline), clock(deadline))),
            waiting_list_place: payload.waiting_list_place,
            previous,
            reason: payload.reason.clone(),
            by_participant: payload.by_participant,
            calendar_attached: !invites.is_empty(),
            feedback_until: Some(dutch_date(
                facts.session.ends_at + Duration::days(FEEDBACK_PERIOD_DAYS),
            )),
        };
        let rendered = self
            .renderer
            .render(kind.template(), &template_facts)
            .map_err(|error| {
                invalid(format!(
                    "the template {} failed: {error:#}",
                    kind.template()
                ))
            })?;

        let to = facts
            .participant
            .email
            .parse()
            .map(|address| Mailbox::new(Some(facts.participant.full_name.clone()), address))
            .map_err(|_| invalid("the participant's e-mail address is not valid"))?;
        let mut builder = Message::builder()
            .message_id(Some(format!("<{}@{}>", event.id, self.domain)))
            .from(self.sender.clone())
            .to(to)
            .subject(rendered.subject)
            .date(now.into());
        if let Some(address) = facts.provider.email.as_deref().and_then(|a| a.parse().ok()) {
            builder = builder.reply_to(Mailbox::new(Some(desk_name(&facts.provider)), address));
        }
        let mut alternative = MultiPart::alternative()
            .singlepart(SinglePart::plain(rendered.text))
            .singlepart(SinglePart::html(rendered.html));
        // The first invite also goes inline, where mail programs offer to accept it.
        if let Some((method, ics, _)) = invites.first() {
            alternative = alternative.singlepart(
                SinglePart::builder()
                    .header(content_type(&format!(
                        "text/calendar; charset=utf-8; method={}",
                        method.as_str()
                    ))?)
                    .body(ics.clone()),
            );
        }
        let body = if invites.is_empty() {
            alternative
        } else {
            let mut mixed = MultiPart::mixed().multipart(alternative);
            for (_, ics, file) in invites {
                mixed = mixed.singlepart(
                    Attachment::new((*file).to_owned()).body(ics, content_type("application/ics")?),
                );
            }
            mixed
        };
        let message = builder
            .multipart(body)
            .map_err(|error| invalid(format!("the message could not be built: {error}")))?;
        let file_name = format!(
            "{}-{}-{}.eml",
            event.created_at.format("%Y%m%d-%H%M%S"),
            kind.template(),
            event.id
        );
        Ok(Prepared::Message {
            message: Box::new(message),
            file_name,
        })
    }

    /// The calendar invites a message carries: method, text and file name.
    async fn invites(
        &self,
        db: &impl ConnectionTrait,
        kind: Kind,
        payload: &Payload,
        facts: &Facts,
        left: Option<&Left>,
        event: &outbox_event::Model,
    ) -> Result<Vec<(Method, String, &'static str)>, PrepareError> {
        let sequence = revision(db, facts.enrolment.id, event.created_at).await?;
        let entry = |uid: String, session: &session::Model, location: Option<&location::Model>| {
            self.entry(uid, facts, session, location, sequence)
        };
        let this = || {
            entry(
                calendar::enrolment_uid(facts.enrolment.id),
                &facts.session,
                facts.location.as_ref(),
            )
        };
        let was_seated = payload.previous_status != Some(EnrolmentStatus::Waitlisted);
        Ok(match kind {
            Kind::Confirmed | Kind::Promoted => {
                vec![(
                    Method::Request,
                    calendar::invite(Method::Request, &this()),
                    "uitnodiging.ics",
                )]
            }
            Kind::SessionChanged if facts.enrolment.status == EnrolmentStatus::Confirmed => {
                vec![(
                    Method::Request,
                    calendar::invite(Method::Request, &this()),
                    "uitnodiging.ics",
                )]
            }
            Kind::Cancelled | Kind::SessionCancelled if was_seated => {
                vec![(
                    Method::Cancel,
                    calendar::invite(Method::Cancel, &this()),
                    "afmelding.ics",
                )]
            }
            Kind::Moved => {
                let mut invites = vec![(
                    Method::Request,
                    calendar::invite(Method::Request, &this()),
                    "uitnodiging.ics",
                )];
                if let (Some(previous), Some((from, location))) =
                    (payload.previous_enrolment_id, left)
                {
                    // One more than the last invite of the seat that was left.
                    let revision_left = revision(db, previous, event.created_at).await? + 1;
                    let old = self.entry(
                        calendar::enrolment_uid(previous),
                        facts,
                        from,
                        location.as_ref(),
                        revision_left,
                    );
                    invites.push((
                        Method::Cancel,
                        calendar::invite(Method::Cancel, &old),
                        "afmelding.ics",
                    ));
                }
                invites
            }
            _ => Vec::new(),
        })
    }

    fn entry(
        &self,
        uid: String,
        facts: &Facts,
        session: &session::Model,
        location: Option<&location::Model>,
        sequence: u32,
    ) -> Entry {
        let session_facts = SessionFacts {
            session,
            course: &facts.course,
            provider: &facts.provider,
            location,
        };
        let attendee = Person {
            name: facts.participant.full_name.clone(),
            email: facts.participant.email.clone(),
        };
        calendar_entry(uid, &session_facts, None, Some(attendee), sequence)
    }
}

/// A session with what a calendar entry tells of it.
pub struct SessionFacts<'a> {
    pub session: &'a session::Model,
    pub course: &'a course::Model,
    pub provider: &'a organisation::Model,
    pub location: Option<&'a location::Model>,
}

/// The calendar entry of a session: the course, where, and whom to ask. `part` says what the
/// attendee does there when that is not simply taking part (an actor's role).
pub fn calendar_entry(
    uid: String,
    facts: &SessionFacts<'_>,
    part: Option<String>,
    attendee: Option<Person>,
    sequence: u32,
) -> Entry {
    let desk = desk_name(facts.provider);
    let contact = [
        facts.provider.email.as_deref(),
        facts.provider.phone.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let contact = if contact.is_empty() {
        String::new()
    } else {
        format!(": {contact}")
    };
    Entry {
        uid,
        summary: match part {
            Some(part) => format!("{} ({part})", facts.course.title),
            None => facts.course.title.clone(),
        },
        description: format!(
            "Training van {}. Vragen of verhinderd? {desk}{contact}.",
            facts.provider.name
        ),
        location: facts
            .location
            .map(|l| format!("{}, {}", l.name, address(l))),
        starts_at: facts.session.starts_at,
        ends_at: facts.session.ends_at,
        cancelled: false,
        sequence,
        organizer: facts
            .provider
            .email
            .clone()
            .map(|email| Person { name: desk, email }),
        attendee,
    }
}

/// The revisions of many enrolments' calendar entries as they stand, in one statement.
pub async fn revision_of(
    db: &impl ConnectionTrait,
    enrolments: impl Iterator<Item = Uuid>,
) -> Result<std::collections::HashMap<Uuid, u32>, DbErr> {
    use sea_orm::QuerySelect;
    let ids: Vec<Uuid> = enrolments.collect();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let counts: Vec<(Uuid, i64)> = outbox_event::Entity::find()
        .select_only()
        .column(outbox_event::Column::AggregateId)
        .column_as(outbox_event::Column::Id.count(), "events")
        .filter(outbox_event::Column::AggregateType.eq("Enrolment"))
        .filter(outbox_event::Column::AggregateId.is_in(ids))
        .group_by(outbox_event::Column::AggregateId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(counts
        .into_iter()
        .map(|(id, events)| (id, u32::try_from(events).unwrap_or(u32::MAX)))
        .collect())
}

/// A session that was left, with its location.
type Left = (session::Model, Option<location::Model>);

/// For a move: the session it left, read once for the text and the invites.
async fn left_session(
    db: &impl ConnectionTrait,
    kind: Kind,
    payload: &Payload,
) -> Result<Option<Left>, PrepareError> {
    if kind != Kind::Moved {
        return Ok(None);
    }
    let Some(from) = payload.from_session_id else {
        return Err(invalid("a move without the session it came from"));
    };
    let from = session::Entity::find_by_id(from)
        .one(db)
        .await?
        .ok_or_else(|| invalid("the previous session no longer exists"))?;
    let location = match from.location_id {
        Some(id) => location::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    Ok(Some((from, location)))
}

/// Where and when it was before a move or a change.
async fn previous(
    db: &impl ConnectionTrait,
    kind: Kind,
    payload: &Payload,
    facts: &Facts,
    left: Option<&Left>,
) -> Result<Option<Previous>, PrepareError> {
    let describe = |l: &location::Model| format!("{}, {}", l.name, address(l));
    let (starts_at, ends_at, location) = match (kind, left) {
        (Kind::Moved, Some((from, location))) => (
            from.starts_at,
            from.ends_at,
            location.as_ref().map(describe),
        ),
        (Kind::SessionChanged, _) => {
            let starts = payload
                .previous_starts_at
                .unwrap_or(facts.session.starts_at);
            let length = facts.session.ends_at - facts.session.starts_at;
            let location = match payload.previous_location_id {
                Some(id) => location::Entity::find_by_id(id)
                    .one(db)
                    .await?
                    .map(|l| describe(&l)),
                None => None,
            };
            (starts, starts + length, location)
        }
        _ => return Ok(None),
    };
    Ok(Some(Previous {
        date: dutch_date(starts_at),
        starts: clock(starts_at),
        ends: clock(ends_at),
        location,
    }))
}

/// The revision of an enrolment's calendar entry as of `at`: how many events it has had by
/// then. Every change raises it, so calendar programs apply updates in order (RFC 5545
/// SEQUENCE), and the feed tells the same number as the last invite.
pub async fn revision(
    db: &impl ConnectionTrait,
    enrolment: Uuid,
    at: DateTime<Utc>,
) -> Result<u32, DbErr> {
    let events = outbox_event::Entity::find()
        .filter(outbox_event::Column::AggregateType.eq("Enrolment"))
        .filter(outbox_event::Column::AggregateId.eq(enrolment))
        .filter(outbox_event::Column::CreatedAt.lte(at))
        .count(db)
        .await?;
    Ok(u32::try_from(events).unwrap_or(u32::MAX))
}

fn content_type(text: &str) -> Result<ContentType, PrepareError> {
    ContentType::parse(text).map_err(|error| invalid(format!("content type {text}: {error}")))
}

/// Why a scheduled message no longer applies, if it does not.
async fn obsolete(
    db: &impl ConnectionTrait,
    kind: Kind,
    facts: &Facts,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    let status = facts.enrolment.status;
    Ok(match kind {
        Kind::FeedbackRequest if status != EnrolmentStatus::Attended => {
            Some("no feedback request: the participant did not attend".into())
        }
        Kind::FeedbackRequest
            if now > facts.session.ends_at + Duration::days(FEEDBACK_PERIOD_DAYS) =>
        {
            Some("no feedback request: feedback has closed".into())
        }
        Kind::FeedbackRequest => {
            let given = feedback::Entity::find()
                .filter(feedback::Column::SessionId.eq(facts.session.id))
                .filter(feedback::Column::ParticipantId.eq(facts.participant.id))
                .count(db)
                .await?;
            (given > 0).then(|| "no feedback request: feedback was given already".into())
        }
        // News of a booking is history once the session has begun; only the request for
        // feedback comes after it.
        _ if facts.session.starts_at <= now => Some("no message: the session has begun".into()),
        // A confirmation that did not go out before the seat was given up (cancelled, moved)
        // would tell what is no longer true; the later message tells what is.
        Kind::Confirmed | Kind::Promoted if status != EnrolmentStatus::Confirmed => {
            Some("no message: the seat is no longer confirmed".into())
        }
        Kind::Waitlisted if status != EnrolmentStatus::Waitlisted => {
            Some("no message: the enrolment is no longer waiting".into())
        }
        Kind::Reminder if status != EnrolmentStatus::Confirmed => {
            Some("no reminder: the enrolment is no longer confirmed".into())
        }
        Kind::Reminder if facts.session.status != SessionStatus::Scheduled => {
            Some("no reminder: the session was cancelled".into())
        }
        _ => None,
    })
}
