// What Apollo Client does to every document before it leaves, and what the persisted query
// manifest is generated with, so that the two agree to the byte: Relay's compile-time
// directives go (the service does not know them), and top-level definitions are sorted (so a
// document's hash does not depend on the order its fragments were written in).
import { DocumentTransform } from "@apollo/client";
import { sortTopLevelDefinitions } from "@apollo/persisted-query-lists";
import { visit, type DocumentNode } from "graphql";

const RELAY_ONLY = new Set(["connection", "refetchable", "argumentDefinitions", "arguments"]);

export function withoutRelayDirectives(document: DocumentNode): DocumentNode {
  return visit(document, {
    Directive(node) {
      return RELAY_ONLY.has(node.name.value) ? null : undefined;
    },
  });
}

export function prepare(document: DocumentNode): DocumentNode {
  return sortTopLevelDefinitions(withoutRelayDirectives(document));
}

export const documentTransform = new DocumentTransform(prepare);
