// GraphiQL in headless Chromium (Debian's, driven by playwright-core), as a new user opens it:
// no error, the documentation explorer lists the schema (introspection passed), autocompletion
// offers `courses`, the default query runs, and nothing is requested off the service's origin.
// Usage: node graphiql.mjs http://127.0.0.1:PORT/
import { chromium } from "playwright-core";

const url = process.argv[2];
if (!url) {
  console.error("usage: node graphiql.mjs <url of GraphiQL>");
  process.exit(2);
}
const origin = new URL(url).origin;
const timer = setTimeout(() => {
  console.error("graphiql: gave up after 50 s");
  process.exit(1);
}, 50_000);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const failures = [];
try {
  const page = await browser.newPage();
  const errors = [];
  const offsite = [];
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("request", (request) => {
    const target = request.url();
    if (!target.startsWith(origin) && !target.startsWith("data:")) offsite.push(target);
  });
  await page.goto(url, { waitUntil: "networkidle" });

  // The documentation explorer, on first open, shows the schema's types.
  await page.getByRole("button", { name: /documentation explorer/i }).click();
  await page.locator(".graphiql-doc-explorer-type-name", { hasText: /^Query$/ }).first().click();
  await page
    .locator(".graphiql-doc-explorer-type-name", { hasText: /^Course$/ })
    .first()
    .waitFor({ timeout: 10_000 });
  console.log("graphiql: the documentation explorer lists Course");

  // Autocompletion knows the root fields.
  const editor = page.locator(".graphiql-query-editor .CodeMirror").first();
  await editor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.type("{ cour");
  await page.keyboard.press("Control+Space");
  await page.locator(".CodeMirror-hint", { hasText: /^courses/ }).first().waitFor({ timeout: 10_000 });
  console.log("graphiql: autocompletion offers courses");

  // A query runs, and its answer has no error.
  await page.keyboard.press("Escape");
  await page.keyboard.press("Control+A");
  await page.keyboard.type("{ courses { totalCount } }");
  await page.keyboard.press("Control+Enter");
  const result = page.locator(".graphiql-response .CodeMirror-code");
  await result.filter({ hasText: "totalCount" }).waitFor({ timeout: 10_000 });
  const text = await result.innerText();
  if (/"errors"/.test(text)) failures.push(`the query answered with errors: ${text}`);
  console.log("graphiql: a query runs");

  if (errors.length) failures.push(`console errors: ${errors.join(" | ")}`);
  if (offsite.length) failures.push(`requests off ${origin}: ${offsite.join(", ")}`);
} catch (error) {
  failures.push(String(error));
} finally {
  await browser.close();
  clearTimeout(timer);
}
for (const failure of failures) console.log(`FAIL ${failure}`);
console.log(failures.length ? "graphiql: failed" : "graphiql: all well");
process.exit(failures.length ? 1 : 0);
