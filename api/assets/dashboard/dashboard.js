// The reporting dashboard: asks the service's `report` query with the key or token given at
// sign-in (kept in this tab only), draws a chart and the table. Everything comes from this origin.
"use strict";

const QUERY = `query Report($input: ReportInput!) {
  report(input: $input) {
    threshold suppressedCells
    cells { period { label } keys keyDetails { label } value status }
  }
}`;

const STORE = "training-report-credential";
let chart = null;

function $(id) { return document.getElementById(id); }

function say(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", Boolean(isError));
}

function credential() { return sessionStorage.getItem(STORE); }

function showSignedIn(signedIn) {
  $("signin").hidden = signedIn;
  $("question").hidden = !signedIn;
  if (!signedIn) { $("result").hidden = true; }
}

function question() {
  const dimensions = [$("dimension1").value, $("dimension2").value].filter(Boolean);
  return {
    measure: $("measure").value,
    dimensions: dimensions,
    period: { unit: $("unit").value, from: $("from").value, to: $("to").value },
  };
}

async function ask(input) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "Accept": "application/graphql-response+json, application/json",
      "Authorization": "Bearer " + credential(),
    },
    body: JSON.stringify({ query: QUERY, variables: { input: input } }),
  });
  const body = await response.json();
  if (body.errors && body.errors.length) {
    const error = body.errors[0];
    const code = error.extensions && error.extensions.code;
    throw new Error((code ? code + ": " : "") + error.message);
  }
  return body.data.report;
}

function keyLabel(cell) {
  return cell.keyDetails.map((k) => k.label).join(" · ") || "Totaal";
}

function draw(report) {
  const periods = [];
  const series = new Map();
  for (const cell of report.cells) {
    const period = cell.period ? cell.period.label : "alle jaren";
    if (!periods.includes(period)) { periods.push(period); }
    const label = keyLabel(cell);
    if (!series.has(label)) { series.set(label, new Map()); }
    series.get(label).set(period, cell.status === "PUBLISHED" ? cell.value : null);
  }
  const palette = ["#154273", "#e17000", "#39870c", "#a90061", "#007bc7", "#673327", "#8fcae7", "#ffb612"];
  const datasets = Array.from(series.entries()).map(([label, values], i) => ({
    label: label,
    data: periods.map((p) => (values.has(p) ? values.get(p) : null)),
    backgroundColor: palette[i % palette.length],
  }));
  if (chart) { chart.destroy(); }
  chart = new Chart($("chart"), {
    type: "bar",
    data: { labels: periods, datasets: datasets },
    options: {
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: datasets.length <= 16 } },
    },
  });
}

function table(report) {
  const head = $("cells").querySelector("thead");
  const body = $("cells").querySelector("tbody");
  head.replaceChildren();
  body.replaceChildren();
  const dimensions = report.cells.length ? report.cells[0].keyDetails.length : 0;
  const row = document.createElement("tr");
  for (const name of ["Periode"].concat(Array.from({ length: dimensions }, (_, i) => "Sleutel " + (i + 1)), ["Waarde"])) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    row.append(th);
  }
  head.append(row);
  for (const cell of report.cells) {
    const tr = document.createElement("tr");
    const period = document.createElement("th");
    period.scope = "row";
    period.textContent = cell.period ? cell.period.label : "alle jaren";
    tr.append(period);
    for (const key of cell.keyDetails) {
      const td = document.createElement("td");
      td.textContent = key.label;
      tr.append(td);
    }
    const value = document.createElement("td");
    value.className = "value";
    if (cell.status === "SUPPRESSED") {
      value.classList.add("suppressed");
      value.textContent = "onderdrukt";
    } else if (cell.status === "EMPTY") {
      value.textContent = "–";
    } else {
      value.textContent = String(cell.value);
    }
    tr.append(value);
    body.append(tr);
  }
}

async function show(event) {
  event.preventDefault();
  say("Bezig…");
  try {
    const report = await ask(question());
    $("result").hidden = false;
    $("summary").textContent = report.cells.length + " cellen, waarvan " + report.suppressedCells +
      " onderdrukt (drempel " + report.threshold + ").";
    draw(report);
    table(report);
    say("Klaar.");
  } catch (error) {
    say("Dat lukte niet: " + error.message, true);
  }
}

async function download() {
  const input = question();
  const params = new URLSearchParams({
    measure: input.measure,
    unit: input.period.unit,
    from: input.period.from,
    to: input.period.to,
  });
  if (input.dimensions.length) { params.set("dimensions", input.dimensions.join(",")); }
  const response = await fetch("/reports/report.csv?" + params, {
    headers: { "Authorization": "Bearer " + credential() },
  });
  if (!response.ok) {
    say("Downloaden lukte niet (" + response.status + ").", true);
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = "rapportage-" + input.measure.toLowerCase() + ".csv";
  link.click();
  URL.revokeObjectURL(link.href);
}

document.addEventListener("DOMContentLoaded", () => {
  const year = new Date().getFullYear();
  $("from").value = year + "-01-01";
  $("to").value = year + "-12-31";
  showSignedIn(Boolean(credential()));
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(STORE, $("credential").value.trim());
    $("credential").value = "";
    showSignedIn(true);
    say("Aangemeld.");
  });
  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(STORE);
    showSignedIn(false);
    say("Afgemeld.");
  });
  $("report-form").addEventListener("submit", show);
  $("download").addEventListener("click", download);
});
