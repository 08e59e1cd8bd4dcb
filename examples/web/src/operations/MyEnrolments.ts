import { graphql } from "../graphql.js";

// A participant's own bookings, and one of them followed live.
export const MyEnrolmentsQuery = graphql`
  query MyEnrolmentsQuery {
    me {
      id
      fullName
      enrolments(status: [CONFIRMED, WAITLISTED]) {
        id
        status
        waitingListPlace
        cancellableUntil
        session {
          id
          startsAt
          course {
            id
            title
          }
        }
      }
    }
  }
`;

export const MyEnrolmentsSubscription = graphql`
  subscription MyEnrolmentsSubscription($id: ID!) {
    myEnrolmentUpdated(enrolmentId: $id) {
      id
      status
      waitingListPlace
    }
  }
`;
