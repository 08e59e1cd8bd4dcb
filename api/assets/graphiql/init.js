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
  var fetcher = GraphiQL.createFetcher({ url: "/graphql" });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
    })
  );
})();
