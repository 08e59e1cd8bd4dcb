//! Output objects, the `Node` interface and connections. Entity models never reach the schema
//! directly: each type here wraps one and chooses what is public.

mod actor;
mod calendar;
mod connection;
mod course;
pub(crate) mod enums;
mod feedback;
mod location;
mod module;
mod node;
mod organisation;
mod participant;
pub mod report;
mod session;
pub mod sync;
mod testimonial;
pub mod webhooks;

pub use actor::{Actor, load_actor, session_assignments};
pub use calendar::{CalendarLink, active_link};
pub(crate) use connection::connection;
pub use connection::{
    CourseConnection, SessionConnection, SessionTotal, course_connection, session_connection,
};
pub use course::{Course, CourseFilter, course_visible};
pub use feedback::{Feedback, load_feedback};
pub use location::Location;
pub use module::Module;
pub use node::Node;
pub use organisation::Organisation;
pub use participant::{Enrolment, Participant, load_enrolment, load_participant};
pub use session::{CourseSessionFilter, Session, SessionFilter};
