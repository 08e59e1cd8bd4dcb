//! The root query, merged from one object per area.

mod actor;
mod audit;
mod course;
mod feedback;
mod node;
mod outbox;
mod privacy;
mod report;
mod session;
mod sync;
mod viewer;
mod webhooks;

use async_graphql::MergedObject;

pub use outbox::OutboxEvent;

#[derive(MergedObject, Default)]
pub struct Query(
    actor::ActorQuery,
    audit::AuditQuery,
    course::CourseQuery,
    feedback::FeedbackQuery,
    session::SessionQuery,
    node::NodeQuery,
    outbox::OutboxQuery,
    privacy::PrivacyQuery,
    report::ReportQuery,
    sync::SyncQuery,
    webhooks::WebhookQuery,
    viewer::ViewerQuery,
);
