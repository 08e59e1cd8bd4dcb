// Writes the persisted query manifest of this example's operations, with the same document
// transform the client applies, for the service's PERSISTED_QUERY_MANIFEST.
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";

import { generatePersistedQueryManifest } from "@apollo/generate-persisted-query-manifest";

import { prepare } from "./transform.js";

// The generator is a CommonJS module and wants Apollo Client's CommonJS DocumentTransform.
type Config = NonNullable<Parameters<typeof generatePersistedQueryManifest>[0]>;
const { DocumentTransform } = createRequire(import.meta.url)("@apollo/client") as {
  DocumentTransform: new (transform: typeof prepare) => Config["documentTransform"];
};
const documentTransform = new DocumentTransform(prepare);

const output = process.argv[2] ?? "persisted-query-manifest.json";
const manifest = await generatePersistedQueryManifest(
  { documents: ["src/operations/*.ts"], documentTransform, output },
  undefined,
);
await writeFile(output, JSON.stringify(manifest, null, 2) + "\n");
console.log(`wrote ${manifest.operations.length} operations to ${output}`);
