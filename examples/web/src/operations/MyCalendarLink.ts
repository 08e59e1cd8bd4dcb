import { graphql } from "../graphql.js";

// A participant's calendar feed: the link in use (never its secret, which is shown once), and
// a new one, which replaces it.
export const MyCalendarLinkQuery = graphql`
  query MyCalendarLinkQuery {
    me {
      id
      calendarLink {
        id
        createdAt
        lastUsedAt
      }
    }
  }
`;

export const MyCalendarLinkCreateMutation = graphql`
  mutation MyCalendarLinkCreateMutation($input: CreateCalendarLinkInput!) {
    createCalendarLink(input: $input) {
      userErrors {
        code
        message
      }
      url
      calendarLink {
        id
        createdAt
      }
    }
  }
`;
