// The `graphql` tag of this example. relay-compiler and graphql-codegen read the tagged
// documents from the source; at run time the tag parses them, and `operation()` hands Apollo
// Client an operation with every fragment it spreads (Relay keeps fragments apart, by name).
import { Kind, parse, visit, type DocumentNode, type FragmentDefinitionNode } from "graphql";

const fragments = new Map<string, FragmentDefinitionNode>();

export function graphql(strings: TemplateStringsArray): DocumentNode {
  const document = parse(strings.join(""));
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.set(definition.name.value, definition);
    }
  }
  return document;
}

/** The operation with the fragments it spreads, directly or through other fragments. */
export function operation(document: DocumentNode): DocumentNode {
  const needed = new Map<string, FragmentDefinitionNode>();
  const collect = (node: DocumentNode | FragmentDefinitionNode) => {
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        const fragment = fragments.get(name);
        if (!fragment) throw new Error(`unknown fragment ${name}`);
        if (!needed.has(name)) {
          needed.set(name, fragment);
          collect(fragment);
        }
      },
    });
  };
  collect(document);
  const own = document.definitions.filter((d) => d.kind !== Kind.FRAGMENT_DEFINITION);
  return { kind: Kind.DOCUMENT, definitions: [...own, ...needed.values()] };
}
