// Apollo Client for the service: queries and mutations over HTTP as persisted operations (a
// hash first, the document only when the service asks for it), subscriptions over WebSocket
// (graphql-transport-ws), a normalised cache that updates objects by their id.
import { createHash } from "node:crypto";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import {
  generatePersistedQueryIdsAtRuntime,
  generatePersistedQueryIdsFromManifest,
  type PersistedQueryManifestForGeneratingPersistedQueryIds,
} from "@apollo/persisted-query-lists";
import { Kind, OperationTypeNode, type DocumentNode } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

import { documentTransform } from "./transform.js";

export interface ClientOptions {
  /** The service's GraphQL endpoint, such as http://127.0.0.1:8080/graphql. */
  url: string;
  /** A bearer token or API key; none for the public programme. */
  token?: string;
  /** With a persisted query manifest, operations are sent by their registered ids. */
  manifest?: PersistedQueryManifestForGeneratingPersistedQueryIds;
}

function isSubscription(query: DocumentNode): boolean {
  return query.definitions.some(
    (d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === OperationTypeNode.SUBSCRIPTION,
  );
}

export function createApolloClient({ url, token, manifest }: ClientOptions): ApolloClient {
  const authorization = token ? `Bearer ${token}` : undefined;
  const http = new HttpLink({
    uri: url,
    headers: authorization ? { authorization } : {},
  });
  const hashes = manifest
    ? generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest })
    : generatePersistedQueryIdsAtRuntime({
        sha256: (text: string) => createHash("sha256").update(text).digest("hex"),
      });
  const persisted = new PersistedQueryLink({ ...hashes, useGETForHashedQueries: true });
  const websocket = new GraphQLWsLink(
    createClient({
      url: url.replace(/^http/, "ws"),
      webSocketImpl: WebSocket,
      connectionParams: authorization ? { Authorization: authorization } : {},
      lazy: true,
    }),
  );
  const link = ApolloLink.split(
    ({ query }) => isSubscription(query),
    websocket,
    persisted.concat(http),
  );
  return new ApolloClient({ link, cache: new InMemoryCache(), documentTransform });
}
