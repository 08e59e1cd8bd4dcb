//! SeaORM entities: one module a table, in the style sea-orm-cli generates. Behaviour lives in `api`.

pub mod actor;
pub mod actor_availability;
pub mod api_key;
pub mod audit_event;
pub mod calendar_link;
pub mod course;
pub mod course_audience_role;
pub mod course_goal;
pub mod enrolment;
pub mod enrolment_change;
pub mod enums;
pub mod feedback;
pub mod idempotency_key;
pub mod location;
pub mod module;
pub mod module_topic;
pub mod municipality;
pub mod organisation;
pub mod outbox_event;
pub mod participant;
pub mod prelude;
pub mod session;
pub mod session_actor;
