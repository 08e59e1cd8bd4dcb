import { graphql } from "../graphql.js";

// Booking with an idempotency key: a retry after a lost answer gets the first answer back
// (`replayed: true`) and books nothing twice. Rule violations come back in `userErrors`.
export const BookSeatMutation = graphql`
  mutation BookSeatMutation($input: BookSeatInput!) {
    bookSeat(input: $input) {
      status
      waitingListPlace
      replayed
      userErrors {
        code
        message
        field
      }
      enrolment {
        id
        status
        waitingListPlace
        session {
          id
          seatsLeft
          availabilityVersion
        }
      }
    }
  }
`;
