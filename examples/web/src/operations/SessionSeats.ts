import { graphql } from "../graphql.js";

// A session with its seats, kept live: the subscription answers with the Session itself, so a
// normalised cache (Relay's, Apollo's) updates the page by the session's id.
export const SessionSeatsQuery = graphql`
  query SessionSeatsQuery($id: ID!) {
    session(id: $id) {
      id
      ...SessionSeats_session
    }
  }
`;

export const SessionSeatsSession = graphql`
  fragment SessionSeats_session on Session
  @refetchable(queryName: "SessionSeatsRefetchQuery") {
    id
    startsAt
    seatsLeft
    waitingListLength
    bookingOpen
    availabilityVersion
  }
`;

export const SessionSeatsSubscription = graphql`
  subscription SessionSeatsSubscription($id: ID!) {
    sessionUpdated(sessionId: $id) {
      id
      ...SessionSeats_session
    }
  }
`;
