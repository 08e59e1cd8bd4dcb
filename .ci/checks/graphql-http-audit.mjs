// The GraphQL-over-HTTP audit of graphql-http (the reference implementation's own checks),
// against a started service: every audit must pass, with no warnings.
// Usage: node graphql-http-audit.mjs http://127.0.0.1:PORT/graphql
import { auditServer } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node graphql-http-audit.mjs <url of /graphql>");
  process.exit(2);
}
const results = await auditServer({ url });
const by = (status) => results.filter((r) => r.status === status);
for (const result of [...by("warn"), ...by("error")]) {
  const response = result.response;
  const body = response ? await response.text().catch(() => "") : "";
  console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}`);
  if (body) console.log(`  answer ${response.status}: ${body.slice(0, 300)}`);
}
const summary = `${by("ok").length} passed, ${by("warn").length} warnings, ${by("error").length} errors`;
console.log(`graphql-http audit: ${summary}`);
process.exit(by("warn").length + by("error").length === 0 ? 0 : 1);
