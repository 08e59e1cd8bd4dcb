use async_graphql::{ID, Interface};

use super::{
    Actor, Course, Enrolment, Feedback, Location, Module, Organisation, Participant, Session,
};

/// An object with a global id (Relay): `node(id:)` finds any of them.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global id."))]
pub enum Node {
    Course(Course),
    Module(Module),
    Session(Session),
    Location(Location),
    Organisation(Organisation),
    Participant(Participant),
    Enrolment(Enrolment),
    Actor(Actor),
    Feedback(Feedback),
}
