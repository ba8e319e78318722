// The demo page: builds the reading form from GET v1/model, scores one reading or a CSV file.
// Every value from the user or the API is rendered with textContent, never as markup.

import { $, element } from "./dom.js";

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const STORAGE_KEY = "turbine-status.api-url";

let fields = [];
let batchRows = [];
let batchHeader = null;
let sortByRisk = true;

function apiUrl(path) {
  let base = $("api-url").value.trim();
  if (!base.endsWith("/")) base += "/";
  try {
    return new URL(path, base).href;
  } catch {
    throw new Error(`"${$("api-url").value.trim()}" is not a web address. Enter the API URL in full, such as ${new URL(".", document.baseURI).href}`);
  }
}

// Calls the API; resolves to {status, body}; throws an Error with a plain message when the API cannot be reached.
async function call(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  const key = $("api-key").value.trim();
  if (key) headers["X-API-Key"] = key;
  let response;
  try {
    response = await fetch(apiUrl(path), { ...options, headers });
  } catch {
    throw new Error(`Could not reach the API at ${apiUrl("")}. Check the API URL and your connection.`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new Error(`The API answered ${response.status} without JSON. Is ${apiUrl("")} the API URL?`);
  }
  return { status: response.status, body };
}

function fieldProblem(field, text) {
  if (text === "") return "Required.";
  if (field.type === "category") return field.categories.includes(text) ? "" : `Choose one of ${field.categories.join(", ")}.`;
  if (!NUMBER.test(text)) return "Enter a number.";
  const value = Number(text);
  if (!Number.isFinite(value) || value < field.minimum || value > field.maximum) {
    return `Enter a number from ${field.minimum} to ${field.maximum}.`;
  }
  return "";
}

function showFieldError(name, message) {
  const control = $(`field-${name}`);
  const slot = $(`error-${name}`);
  if (!control || !slot) return false;
  slot.textContent = message;
  control.setAttribute("aria-invalid", message ? "true" : "false");
  return true;
}

function buildForm(schema, sample) {
  fields = schema.fields;
  const values = sample.split(",");
  const container = $("fields");
  container.replaceChildren();
  fields.forEach((field, index) => {
    const id = `field-${field.name}`;
    let control;
    if (field.type === "category") {
      control = element("select", { id, name: field.name }, field.categories.map((c) => element("option", { value: c, textContent: c })));
    } else {
      control = element("input", { id, name: field.name, type: "number", step: "any", min: field.minimum, max: field.maximum, required: true });
    }
    control.value = values[index] ?? "";
    control.setAttribute("aria-describedby", `hint-${field.name} error-${field.name}`);
    control.addEventListener("change", () => showFieldError(field.name, fieldProblem(field, control.value.trim())));
    const unit = field.unit ? ` (${field.unit})` : "";
    const hint = field.type === "category" ? field.description : `${field.minimum} to ${field.maximum}${unit}`;
    container.append(
      element("div", { className: "field" }, [
        element("label", { htmlFor: id, textContent: field.label + unit }),
        control,
        element("small", { id: `hint-${field.name}`, className: "hint", textContent: hint }),
        element("span", { id: `error-${field.name}`, className: "error field-error" }),
      ]),
    );
  });
  $("check").disabled = false;
  $("score-file").disabled = false;
}

async function connect() {
  localStorage.setItem(STORAGE_KEY, $("api-url").value.trim());
  $("connection-status").textContent = "Loading the model description…";
  try {
    const { status, body } = await call("v1/model");
    if (status !== 200) throw new Error(body.message || `The API answered ${status}.`);
    buildForm(body.schema, body.sample);
    const name = body.name || body.endpoint;
    document.title = `${name}: maintenance status`;
    $("title").textContent = name;
    $("connection-status").textContent = `Connected: ${body.name || body.endpoint} (${body.backend}${body.version ? ", version " + body.version : ""}).`;
  } catch (error) {
    $("connection-status").textContent = error.message;
  }
}

// Shows an API error's message, and each detail next to its field where the form has one.
function showApiError(body, target) {
  let rest = [];
  for (const detail of body.details || []) {
    if (!(detail.field && showFieldError(detail.field, detail.message))) rest.push(detail.message);
  }
  target.textContent = [body.message, ...rest].filter(Boolean).join(" ");
}

function percent(score) {
  return `${(score * 100).toFixed(1)} %`;
}

function showResult(prediction) {
  const required = prediction.predicted_label === 1;
  $("result").hidden = false;
  $("verdict").textContent = required ? "Maintenance required" : "Healthy";
  $("verdict").className = `verdict ${required ? "danger" : "ok"}`;
  $("score-bar").style.width = percent(prediction.score).replace(" ", "");
  $("score-bar").className = `bar-fill ${required ? "danger" : "ok"}`;
  $("score-text").textContent = `Breakdown score: ${percent(prediction.score)}`;
  const contributions = Object.entries(prediction.contributions || {});
  const largest = Math.max(...contributions.map(([, v]) => Math.abs(v)), 1e-9);
  $("contributions").replaceChildren(
    ...contributions.map(([name, value]) => {
      const field = fields.find((f) => f.name === name);
      const bar = element("span", { className: `contribution-bar ${value > 0 ? "up" : "down"}` });
      bar.style.width = `${(Math.abs(value) / largest) * 50}%`;
      return element("li", { className: "contribution" }, [
        element("span", { className: "contribution-name", textContent: field ? field.label : name }),
        element("span", { className: "contribution-track" }, [bar]),
        element("span", { className: "contribution-value", textContent: `${value > 0 ? "+" : ""}${value.toFixed(2)}` }),
      ]);
    }),
  );
}

async function checkReading(event) {
  event.preventDefault();
  $("reading-error").textContent = "";
  $("result").hidden = true;
  const reading = {};
  let valid = true;
  for (const field of fields) {
    const text = $(`field-${field.name}`).value.trim();
    const problem = fieldProblem(field, text);
    showFieldError(field.name, problem);
    if (problem) valid = false;
    reading[field.name] = field.type === "category" ? text : Number(text);
  }
  if (!valid) {
    $("reading-error").textContent = "Some values need fixing: see the messages next to the fields.";
    return;
  }
  try {
    const { status, body } = await call("v1/predictions?explain=true", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(reading),
    });
    if (status !== 200) return showApiError(body, $("reading-error"));
    showResult(body.predictions[0]);
  } catch (error) {
    $("reading-error").textContent = error.message;
  }
}

// The readings of a CSV file, numbered as the API numbers them: empty lines are skipped, and a first line that
// names a field is the header, sent ahead of every batch since it gives the order of the values.
function readingsOf(text) {
  const lines = text.split(/\r?\n/).filter((line) => line !== "");
  const names = new Set(fields.map((field) => field.name.toLowerCase()));
  const namesField = (value) => names.has(value.trim().replace(/^"|"$/g, "").toLowerCase());
  batchHeader = lines.length && lines[0].split(",").some(namesField) ? lines.shift() : null;
  return lines.map((line, index) => ({ row: index + 1, line, score: null, label: null, error: "" }));
}

async function scoreLines(rows) {
  const lines = [...(batchHeader === null ? [] : [batchHeader]), ...rows.map((r) => r.line)];
  return call("v1/predictions", { method: "POST", headers: { "Content-Type": "text/csv" }, body: lines.join("\n") });
}

async function scoreFile(event) {
  event.preventDefault();
  $("batch-error").textContent = "";
  $("batch-result").hidden = true;
  const file = $("batch-file").files[0];
  if (!file) {
    $("batch-error").textContent = "Choose a CSV file first.";
    return;
  }
  const rows = readingsOf(await file.text());
  if (!rows.length) {
    $("batch-error").textContent = "The file holds no readings.";
    return;
  }
  try {
    let pending = rows;
    let { status, body } = await scoreLines(pending);
    if (status === 400 && (body.details || []).some((d) => d.row)) {
      // Mark the rows the API rejected, then score the others.
      for (const detail of body.details) {
        const row = pending[detail.row - 1];
        if (row) row.error = [row.error, detail.field ? `${detail.field}: ${detail.message}` : detail.message].filter(Boolean).join("; ");
      }
      pending = pending.filter((r) => !r.error);
      if (body.details.length < 100 && pending.length) ({ status, body } = await scoreLines(pending));
      else if (pending.length) {
        $("batch-error").textContent = `${body.message} Fix the marked rows and score the file again.`;
        pending = [];
      }
    }
    if (pending.length && status !== 200) {
      showApiError(body, $("batch-error"));
      return;
    }
    pending.forEach((row, i) => {
      row.score = body.predictions[i].score;
      row.label = body.predictions[i].predicted_label;
    });
    batchRows = rows;
    renderBatch();
  } catch (error) {
    $("batch-error").textContent = error.message;
  }
}

function renderBatch() {
  const ordered = [...batchRows];
  if (sortByRisk) ordered.sort((a, b) => (b.error ? 2 : b.score) - (a.error ? 2 : a.score) || a.row - b.row);
  $("rows").replaceChildren(
    ...ordered.map((r) => {
      const status = r.error ? `Rejected: ${r.error}` : r.label === 1 ? "Maintenance required" : "Healthy";
      return element("tr", { className: r.error ? "rejected" : r.label === 1 ? "danger" : "ok" }, [
        element("td", { textContent: String(r.row) }),
        element("td", { className: "reading", textContent: r.line }),
        element("td", { textContent: status }),
        element("td", { textContent: r.error ? "" : percent(r.score) }),
      ]);
    }),
  );
  const scored = batchRows.filter((r) => !r.error);
  const required = scored.filter((r) => r.label === 1).length;
  const rejected = batchRows.length - scored.length;
  $("summary").textContent = `${scored.length} readings scored, ${required} need maintenance` + (rejected ? `, ${rejected} rejected.` : ".");
  $("sort").textContent = sortByRisk ? "Show in file order" : "Sort by risk";
  $("batch-result").hidden = false;
}

function csvCell(value) {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function download() {
  const header = ["row", "reading", "status", "score", "error"];
  const lines = batchRows.map((r) =>
    [r.row, r.line, r.error ? "rejected" : r.label === 1 ? "maintenance_required" : "healthy", r.error ? "" : r.score, r.error].map(csvCell).join(","),
  );
  const blob = new Blob([[header.join(","), ...lines].join("\n") + "\n"], { type: "text/csv" });
  const link = element("a", { href: URL.createObjectURL(blob), download: "turbine-status-results.csv" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

$("api-url").value = localStorage.getItem(STORAGE_KEY) || new URL(".", document.baseURI).href;
$("connection").addEventListener("submit", (event) => {
  event.preventDefault();
  connect();
});
$("reading").addEventListener("submit", checkReading);
$("batch").addEventListener("submit", scoreFile);
$("sort").addEventListener("click", () => {
  sortByRisk = !sortByRisk;
  renderBatch();
});
$("download").addEventListener("click", download);
connect();
