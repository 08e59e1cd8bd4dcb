import { graphql } from "../graphql.js";

// The programme page: courses a page at a time, each with its next sessions and seats left.
// Relay pages through `courses` with the connection below; Apollo with `fetchMore`.
export const ProgrammeQuery = graphql`
  query ProgrammeQuery($first: Int!, $after: String, $sessions: Int!) {
    ...Programme_courses @arguments(first: $first, after: $after, sessions: $sessions)
  }
`;

export const ProgrammeCourses = graphql`
  fragment Programme_courses on Query
  @argumentDefinitions(
    first: { type: "Int!" }
    after: { type: "String" }
    sessions: { type: "Int!" }
  )
  @refetchable(queryName: "ProgrammeCoursesPaginationQuery") {
    courses(first: $first, after: $after) @connection(key: "Programme_courses") {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          id
          slug
          title
          subtitle
          maxParticipants
          sessions(first: $sessions) {
            edges {
              node {
                id
                startsAt
                localStartsAt
                seatsLeft
                availabilityVersion
                location {
                  name
                  city
                }
              }
            }
          }
        }
      }
    }
  }
`;
