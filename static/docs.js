// Swagger UI on openapi.json. "Try it out" calls the API where this page is served, under a stage prefix too.

const documentUrl = new URL("openapi.json", document.baseURI).href;

// With no servers, Swagger UI would call the host's root and miss a stage prefix such as /dev: a server
// relative to the document (or none, meaning the document's folder) is made absolute here.
function withServers(spec) {
  const servers = spec.servers && spec.servers.length ? spec.servers : [{ url: "." }];
  return { ...spec, servers: servers.map((server) => ({ ...server, url: new URL(server.url, documentUrl).href })) };
}

async function start() {
  const root = document.getElementById("swagger-ui");
  try {
    const response = await fetch(documentUrl);
    if (!response.ok) throw new Error(`it answered ${response.status}`);
    window.SwaggerUIBundle({
      spec: withServers(await response.json()),
      domNode: root,
      presets: [window.SwaggerUIBundle.presets.apis],
      validatorUrl: null, // the public validator is another site: nothing leaves for it
      defaultModelsExpandDepth: 1,
    });
  } catch (error) {
    root.replaceChildren();
    root.textContent = `Could not load openapi.json: ${error.message}`;
  }
}

start();
