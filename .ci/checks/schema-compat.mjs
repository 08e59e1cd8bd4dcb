// The schema's changes since the last release, judged by graphql-inspector: a breaking change
// fails CI unless SCHEMA_CHANGES.md lists it (its path, such as `Participant.email`, in the
// "Breaking:" block of "Unreleased"), so no client is broken silently.
// Usage: node schema-compat.mjs <released.graphql> <current.graphql> <SCHEMA_CHANGES.md>
import { readFile } from "node:fs/promises";

import { CriticalityLevel, diff } from "@graphql-inspector/core";
import { buildSchema } from "graphql";

const [releasedPath, currentPath, changesPath] = process.argv.slice(2);
if (!changesPath) {
  console.error("usage: node schema-compat.mjs <released.graphql> <current.graphql> <SCHEMA_CHANGES.md>");
  process.exit(2);
}
const load = async (path) => buildSchema(await readFile(path, "utf8"));
const changes = await diff(await load(releasedPath), await load(currentPath));
const notes = await readFile(changesPath, "utf8");
const unreleased = notes.split(/^## /m).find((section) => section.startsWith("Unreleased")) ?? "";
// Only the "Breaking:" block counts: a path mentioned elsewhere (a field deprecated under
// "Deprecated:", say) has not told clients it is gone.
const breaking = (unreleased.split(/^Breaking:\s*$/m)[1] ?? "").split(/^[A-Z][\w ]*:\s*$/m)[0];

const by = (level) => changes.filter((c) => c.criticality.level === level);
const unlisted = by(CriticalityLevel.Breaking).filter(
  (change) => !change.path || !breaking.includes(`\`${change.path}\``),
);
for (const change of by(CriticalityLevel.Breaking)) {
  const listed = !unlisted.includes(change);
  console.log(`BREAKING ${listed ? "(listed)" : "(NOT LISTED)"} ${change.path ?? ""}: ${change.message}`);
}
for (const change of by(CriticalityLevel.Dangerous)) {
  console.log(`dangerous ${change.path ?? ""}: ${change.message}`);
}
console.log(
  `schema changes since the release: ${by(CriticalityLevel.Breaking).length} breaking, ` +
    `${by(CriticalityLevel.Dangerous).length} dangerous, ${by(CriticalityLevel.NonBreaking).length} safe`,
);
if (unlisted.length > 0) {
  console.log(`${unlisted.length} breaking change(s) not listed under "Breaking:" in "Unreleased" of ${changesPath}`);
  process.exit(1);
}
