// The reporting dashboard in headless Chromium (Debian's, driven by playwright-core): it signs
// in, asks a report, draws a chart and the table, logs no console error (a content-security-policy
// violation is one), requests nothing off the service's origin, and axe-core finds no serious or
// critical accessibility violation (WCAG 2.1 AA rules).
// Usage: node dashboard.mjs http://127.0.0.1:PORT/dashboard TOKEN
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error("usage: node dashboard.mjs <url of the dashboard> <administrator token or reporting key>");
  process.exit(2);
}
const origin = new URL(url).origin;
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const timer = setTimeout(() => {
  console.error("dashboard: gave up after 50 s");
  process.exit(1);
}, 50_000);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
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
    if (!target.startsWith(origin) && !/^(data|blob):/.test(target)) offsite.push(target);
  });
  await page.goto(url, { waitUntil: "networkidle" });

  await page.getByLabel("Rapportagesleutel of token van een beheerder").fill(token);
  await page.getByRole("button", { name: "Aanmelden" }).click();
  await page.getByLabel("Maat", { exact: true }).selectOption("SEATS_OFFERED");
  await page.getByLabel("Uitsplitsen naar", { exact: true }).selectOption("COURSE");
  await page.getByLabel("Per", { exact: true }).selectOption("QUARTER");
  const year = new Date().getFullYear();
  await page.getByLabel("Van", { exact: true }).fill(`${year}-01-01`);
  await page.getByLabel("Tot en met", { exact: true }).fill(`${year + 1}-12-31`);
  await page.getByRole("button", { name: "Toon" }).click();
  await page.locator("#cells tbody tr").first().waitFor({ timeout: 10_000 });
  const status = await page.locator("#status").innerText();
  if (!/Klaar/.test(status)) failures.push(`the report was not shown: ${status}`);
  const drawn = await page.evaluate(() => {
    const canvas = document.getElementById("chart");
    const chart = window.Chart && window.Chart.getChart(canvas);
    return Boolean(chart) && canvas.width > 0 && chart.data.datasets.length > 0;
  });
  if (!drawn) failures.push("no chart was drawn");
  const rows = await page.locator("#cells tbody tr").count();
  console.log(`dashboard: signed in, a chart and a table of ${rows} rows`);

  // axe-core, evaluated by the driver (the page's own policy allows no injected script).
  await page.evaluate(axeSource);
  const results = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const violation of serious) {
    failures.push(`axe: ${violation.id} (${violation.impact}): ${violation.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }
  console.log(`dashboard: axe-core found ${results.violations.length} violations, ${serious.length} serious or critical`);

  if (errors.length) failures.push(`console errors: ${errors.join(" | ")}`);
  if (offsite.length) failures.push(`requests off ${origin}: ${offsite.join(", ")}`);
} catch (error) {
  failures.push(String(error));
} finally {
  await browser.close();
  clearTimeout(timer);
}
if (failures.length) {
  for (const failure of failures) console.error(`dashboard: ${failure}`);
  process.exit(1);
}
console.log("dashboard: passed");
