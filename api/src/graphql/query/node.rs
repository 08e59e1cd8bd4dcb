use async_graphql::{Context, ID, Object};

use crate::{
    domain::ids::{
        ActorId, CourseId, EnrolmentId, FeedbackId, GlobalId, LocationId, ModuleId, NodeType,
        OrganisationId, ParticipantId, SessionId,
    },
    error::{ApiError, FieldResult},
    graphql::{
        context::loaders,
        types::{
            Course, Location, Module, Node, Organisation, Session, course_visible, load_actor,
            load_enrolment, load_feedback, load_participant,
        },
    },
};

/// Most ids `nodes(ids:)` takes at once.
const MAX_NODES: usize = 100;

#[derive(Default)]
pub struct NodeQuery;

async fn load_node(ctx: &Context<'_>, id: GlobalId) -> FieldResult<Option<Node>> {
    let loaders = loaders(ctx)?;
    let uuid = id.uuid;
    Ok(match id.node_type {
        NodeType::Course => match loaders.load_one(CourseId(uuid)).await? {
            Some(m) if course_visible(ctx, m.id).await? => Some(Node::Course(Course(m))),
            _ => None,
        },
        NodeType::Module => match loaders.load_one(ModuleId(uuid)).await? {
            Some(m) if course_visible(ctx, m.course_id).await? => Some(Node::Module(Module(m))),
            _ => None,
        },
        NodeType::Session => match loaders.load_one(SessionId(uuid)).await? {
            Some(m) if course_visible(ctx, m.course_id).await? => Some(Node::Session(Session(m))),
            _ => None,
        },
        NodeType::Location => loaders
            .load_one(LocationId(uuid))
            .await?
            .map(|m| Node::Location(Location(m))),
        NodeType::Participant => load_participant(ctx, ParticipantId(uuid))
            .await?
            .map(Node::Participant),
        NodeType::Enrolment => load_enrolment(ctx, EnrolmentId(uuid))
            .await?
            .map(Node::Enrolment),
        NodeType::Actor => load_actor(ctx, ActorId(uuid)).await?.map(Node::Actor),
        NodeType::Feedback => load_feedback(ctx, FeedbackId(uuid))
            .await?
            .map(Node::Feedback),
        // Administrative records, read through their own fields, are not nodes.
        NodeType::OutboxEvent | NodeType::CalendarLink | NodeType::WebhookEndpoint => None,
        NodeType::Organisation => loaders
            .load_one(OrganisationId(uuid))
            .await?
            .map(|m| Node::Organisation(Organisation(m))),
    })
}

#[Object]
impl NodeQuery {
    /// Any object by its global id; null when there is none.
    #[graphql(complexity = "child_complexity.max(1)")]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> FieldResult<Option<Node>> {
        load_node(ctx, GlobalId::decode(&id, "id")?).await
    }

    /// Objects by their global ids, in the same order; null for each that does not exist.
    /// Every id costs at least 1, whatever is asked of it.
    #[graphql(complexity = "ids.len().max(1).saturating_mul(child_complexity.max(1))")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> FieldResult<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(ApiError::BadUserInput {
                field: "ids",
                message: format!("at most {MAX_NODES} ids at once"),
            }
            .into());
        }
        let ids = ids
            .iter()
            .map(|id| GlobalId::decode(id, "ids"))
            .collect::<Result<Vec<_>, _>>()?;
        // Loads run concurrently, so the DataLoader batches them into one statement per type.
        futures_util::future::try_join_all(ids.into_iter().map(|id| load_node(ctx, id))).await
    }
}
