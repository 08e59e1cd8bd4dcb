// Renders GraphiQL against this service's own endpoint, starting with a query that shows the programme.
(function () {
  var defaultQuery = [
    "# The programme: courses, their modules and upcoming sessions.",
    "{",
    "  courses(first: 10) {",
    "    totalCount",
    "    pageInfo { hasNextPage endCursor }",
    "    edges {",
    "      cursor",
    "      node {",
    "        id slug title subtitle audience goals maxParticipants",
    "        modules { title topics children { title topics } }",
    "        sessions(first: 5) {",
    "          edges { node { id startsAt endsAt seatsLeft location { name city } } }",
    "        }",
    "      }",
    "    }",
    "  }",
    "}",
    "",
  ].join("\n");
  // Subscriptions go over a WebSocket on the same path; the Headers tab's Authorization is sent
  // in the connection's first message.
  var socket = (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host;
  var fetcher = GraphiQL.createFetcher({ url: "/graphql", subscriptionUrl: socket + "/graphql" });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
    })
  );
})();
