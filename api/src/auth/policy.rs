//! What each role may read. Every resolver of personal data asks here; a refusal looks the same
//! as a record that does not exist wherever the schema allows null.

use uuid::Uuid;

use super::{Role, Viewer};

/// A participant's own record, or staff and sync clients (who match enrolments to their own
/// records). Dashboards never see a person.
pub fn can_read_participant(viewer: &Viewer, participant_id: Uuid) -> bool {
    match viewer {
        Viewer::Anonymous => false,
        Viewer::Person {
            role: Role::Participant,
            participant_id: own,
            ..
        } => *own == Some(participant_id),
        Viewer::Person { role, .. } | Viewer::Machine { role, .. } => {
            matches!(
                role,
                Role::Coordinator | Role::Administrator | Role::SyncClient
            )
        }
    }
}

/// Who attends a session: staff and sync clients only.
pub fn can_list_enrolments(viewer: &Viewer) -> bool {
    matches!(
        viewer.role(),
        Some(Role::Coordinator | Role::Administrator | Role::SyncClient)
    )
}

/// Staff: book and cancel on anyone's behalf, move bookings, record attendance, change seats.
pub fn can_manage_bookings(viewer: &Viewer) -> bool {
    matches!(
        viewer,
        Viewer::Person {
            role: Role::Coordinator | Role::Administrator,
            ..
        }
    )
}

/// Book and cancel on someone's behalf: staff, and ministry systems keeping enrolments in step.
pub fn can_book_for_others(viewer: &Viewer) -> bool {
    can_manage_bookings(viewer) || matches!(viewer.role(), Some(Role::SyncClient))
}

/// Draft and archived courses, and their sessions and modules: staff and sync clients. For
/// everyone else they do not exist.
pub fn can_see_unpublished(viewer: &Viewer) -> bool {
    matches!(
        viewer.role(),
        Some(Role::Coordinator | Role::Administrator | Role::SyncClient)
    )
}

/// An actor's profile, availability and schedule: staff, and the actor themselves.
pub fn can_read_actor(viewer: &Viewer, actor_id: Uuid) -> bool {
    match viewer {
        Viewer::Person {
            role: Role::Actor,
            actor_id: own,
            ..
        } => *own == Some(actor_id),
        _ => can_manage_bookings(viewer),
    }
}

/// What someone wrote: its author, and administrators, who moderate it. Nobody else, not even
/// coordinators or sync clients.
pub fn can_read_feedback(viewer: &Viewer, author: Option<Uuid>) -> bool {
    match viewer {
        Viewer::Person {
            role: Role::Administrator,
            ..
        } => true,
        Viewer::Person {
            role: Role::Participant,
            participant_id: Some(own),
            ..
        } => author == Some(*own),
        _ => false,
    }
}

/// Reads of personal data by staff or machines are written to the audit trail; a participant
/// reading their own record is not.
pub fn is_audited(viewer: &Viewer) -> bool {
    matches!(
        viewer.role(),
        Some(Role::Coordinator | Role::Administrator | Role::SyncClient | Role::ReportingClient)
    )
}

/// Everything that decides what a caller may see, and nothing else: two callers of one class
/// are shown the same by every rule here. Results of one execution may be shared within a class
/// (a subscription followed by many), never across classes. Participants and actors are a class
/// each (they see their own records); staff by role; machines by role.
pub fn access_class(viewer: &Viewer) -> String {
    match viewer {
        Viewer::Anonymous => "anonymous".to_owned(),
        Viewer::Person {
            role: Role::Participant,
            participant_id,
            ..
        } => format!("participant:{participant_id:?}"),
        Viewer::Person {
            role: Role::Actor,
            actor_id,
            ..
        } => format!("actor:{actor_id:?}"),
        Viewer::Person { role, .. } => format!("person:{role:?}"),
        Viewer::Machine { role, source, .. } => format!("machine:{role:?}:{source:?}"),
    }
}

/// `access_class` for what every participant is shown alike: public sessions, whose every
/// field a participant sees is either public or refused to all participants (`enrolments`,
/// `actors`). Participants share one class there; everyone else keeps theirs.
pub fn public_view_class(viewer: &Viewer) -> String {
    match viewer {
        Viewer::Person {
            role: Role::Participant,
            ..
        } => "participants".to_owned(),
        _ => access_class(viewer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(role: Role, participant_id: Option<Uuid>) -> Viewer {
        Viewer::Person {
            subject: "s".into(),
            role,
            participant_id,
            actor_id: None,
        }
    }

    #[test]
    fn who_may_read_a_participant() {
        let id = Uuid::new_v4();
        let machine = |role| Viewer::Machine {
            api_key_id: Uuid::new_v4(),
            role,
            source: None,
        };
        let table = [
            (Viewer::Anonymous, false),
            (person(Role::Participant, Some(id)), true),
            (person(Role::Participant, Some(Uuid::new_v4())), false),
            (person(Role::Participant, None), false),
            (person(Role::Coordinator, None), true),
            (person(Role::Administrator, None), true),
            (machine(Role::SyncClient), true),
            (machine(Role::ReportingClient), false),
        ];
        for (viewer, allowed) in table {
            assert_eq!(can_read_participant(&viewer, id), allowed, "{viewer:?}");
        }
    }
}
