import { graphql } from "../graphql.js";

export const CancelEnrolmentMutation = graphql`
  mutation CancelEnrolmentMutation($input: CancelEnrolmentInput!) {
    cancelEnrolment(input: $input) {
      replayed
      userErrors {
        code
        message
        field
      }
      enrolment {
        id
        status
      }
    }
  }
`;
