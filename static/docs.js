// Renders openapi.json as a plain list of operations; every value goes in through textContent.

import { $, element } from "./dom.js";

function schemaText(schema) {
  return JSON.stringify(schema, null, 2);
}

function operation(path, method, spec) {
  const parts = [element("h2", { textContent: `${method.toUpperCase()} ${path}` }), element("p", { textContent: spec.summary || "" })];
  if (spec.security && spec.security.some((s) => Object.keys(s).length)) {
    parts.push(element("p", { className: "hint", textContent: "Needs X-API-Key when the service is configured with API keys." }));
  }
  for (const parameter of spec.parameters || []) {
    parts.push(element("p", { textContent: `Query ${parameter.name}: ${parameter.description || ""}` }));
  }
  if (spec.requestBody) {
    parts.push(element("h3", { textContent: "Request body" }));
    for (const [type, media] of Object.entries(spec.requestBody.content)) {
      parts.push(element("details", {}, [element("summary", { textContent: type }), element("pre", { textContent: schemaText(media.schema) })]));
    }
  }
  parts.push(element("h3", { textContent: "Responses" }));
  parts.push(
    element(
      "ul",
      {},
      Object.entries(spec.responses).map(([status, response]) => element("li", { textContent: `${status}: ${response.description}` })),
    ),
  );
  return element("section", { className: "panel" }, parts);
}

async function render() {
  try {
    const response = await fetch(new URL("openapi.json", document.baseURI));
    const doc = await response.json();
    $("intro").textContent = `${doc.info.description} Version ${doc.info.version}. The machine-readable description is openapi.json.`;
    const sections = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, spec] of Object.entries(methods)) sections.push(operation(path, method, spec));
    }
    const schemas = Object.entries(doc.components.schemas).map(([name, schema]) =>
      element("details", {}, [element("summary", { textContent: name }), element("pre", { textContent: schemaText(schema) })]),
    );
    $("operations").replaceChildren(...sections, element("section", { className: "panel" }, [element("h2", { textContent: "Schemas" }), ...schemas]));
  } catch (error) {
    $("intro").textContent = `Could not load openapi.json: ${error.message}`;
  }
}

render();
