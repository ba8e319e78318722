"""Every route the app serves, in one table: the OpenAPI document is built from it, and a test holds it to the
app's URL map, so a route cannot go undescribed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.codecs.sagemaker import ANSWERS as INVOCATION_ANSWERS
from app.codecs.sagemaker import CUSTOM_ATTRIBUTES
from app.web.docs import ENDPOINT as SWAGGER_UI_ENDPOINT
from app.web.security import OPEN_ENDPOINTS

CSV_AND_JSON = ("text/csv", "text/plain", "application/json")
SCORING_ERRORS = ("400", "413", "415", "429", "500", "502", "503", "504")


@dataclass(frozen=True)
class Answer:
    """The successful answer: what it is, its media types and the name of its body's schema in the document."""

    description: str
    media_types: tuple[str, ...]
    body: str
    status: str = "200"


@dataclass(frozen=True)
class Route:
    rule: str  # as Flask writes it
    endpoint: str
    method: str
    summary: str
    answer: Answer
    bodies: tuple[str, ...] = ()  # the request body's media types
    body: str = "readings"  # the request body's schema in the document: readings, an infer request, or feedback
    errors: tuple[str, ...] = ()  # the error statuses it may answer; 401 is added for a keyed route with keys on
    parameters: tuple[str, ...] = ()  # its query and header parameters' names
    when: tuple[str, str] | None = None  # (setting, value): served only with that setting
    documented: bool = True  # False for the files of a page, which are not part of the API

    def served(self, config: Mapping[str, Any]) -> bool:
        return self.when is None or config[self.when[0]] == self.when[1]

    @property
    def keyed(self) -> bool:
        """Needs an API key when keys are on."""
        return self.endpoint not in OPEN_ENDPOINTS


ROUTES = (
    Route("/", "pages.page", "GET", "The demo page", Answer("HTML", ("text/html",), "text")),
    Route(
        "/",
        "api.predict_classic",
        "POST",
        "Score readings (SageMaker linear-learner answer shape)",
        Answer("One prediction per reading, in input order", ("application/json",), "classic"),
        bodies=CSV_AND_JSON,
        errors=SCORING_ERRORS,
    ),
    Route(
        "/v1/predictions",
        "api.predict_v1",
        "POST",
        "Score readings, with text labels and optional explanations",
        Answer("One prediction per reading, in input order", ("application/json",), "versioned"),
        bodies=CSV_AND_JSON,
        errors=SCORING_ERRORS,
        parameters=("explain",),
    ),
    Route(
        "/v1/feedback",
        "api.feedback",
        "POST",
        "Send ground truth back: the label a scored reading turned out to have (kept with the capture)",
        Answer("Accepted: written to the capture, off the request path", ("application/json",), "accepted", "202"),
        bodies=("application/json",),
        body="feedback",
        errors=("400", "409", "413", "415", "429", "500"),
    ),
    Route(
        "/invocations",
        "sagemaker.invocations",
        "POST",
        "Score readings as a SageMaker container does: JSON, CSV or JSON Lines, as Accept asks",
        Answer(
            "One prediction per reading, in input order: JSON as POST / answers, or a line per reading (CSV: score,"
            "predicted_label, then the contributions in field order when asked)",
            INVOCATION_ANSWERS,
            "invocations",
        ),
        bodies=CSV_AND_JSON,
        errors=(*SCORING_ERRORS, "406"),
        parameters=(CUSTOM_ATTRIBUTES,),
    ),
    *(
        Route(f"/v2{rule}", f"v2.{name}", "GET", summary, Answer(description, ("application/json",), body))
        for rule, name, summary, description, body in (
            ("", "server", "Open Inference Protocol: the server's metadata", "Name, version, extensions", "object"),
            ("/health/live", "live", "Open Inference Protocol: live", "Live", "object"),
            ("/health/ready", "ready", "Open Inference Protocol: ready once the model is loaded", "Ready", "object"),
        )
    ),
    *(
        Route(
            f"/v2/models/<name>{version}{rule}",
            f"v2.{endpoint}",
            method,
            summary,
            Answer(
                description,
                ("application/json", "application/octet-stream") if method == "POST" else ("application/json",),
                body,
            ),
            bodies=("application/json",) if method == "POST" else (),
            body="infer" if method == "POST" else "readings",
            # Any content type is read as an infer request: no 415.
            errors=(*(e for e in SCORING_ERRORS if e != "415"), "404") if method == "POST" else ("404", "429"),
        )
        for version in ("", "/versions/<version>")
        for rule, endpoint, method, summary, description, body in (
            ("", "model", "GET", "Open Inference Protocol: the model's inputs and outputs", "Metadata", "object"),
            ("/ready", "model_ready", "GET", "Open Inference Protocol: the model is ready", "Ready", "object"),
            (
                "/config",
                "model_config",
                "GET",
                "The model's configuration, as Triton's clients read it",
                "Configuration",
                "object",
            ),
            (
                "/infer",
                "infer",
                "POST",
                "Open Inference Protocol: score readings",
                "Output tensors: JSON, or with binary outputs an octet stream whose first "
                "Inference-Header-Content-Length bytes are the JSON (Triton's binary tensor extension, which "
                "requests may use too)",
                "infer",
            ),
        )
    ),
    Route(
        "/ping",
        "api.ping",
        "GET",
        "Health: 200 once the model is loaded",
        Answer("Up", ("application/json",), "object"),
    ),
    Route(
        "/version",
        "mlflow.version",
        "GET",
        "The server's version, as MLflow's scoring clients read it",
        Answer("The version", ("text/plain",), "text"),
    ),
    Route(
        "/v1/model",
        "api.model",
        "GET",
        "The model, its metrics and the reading's fields",
        Answer("Model description", ("application/json",), "object"),
        errors=("429",),
    ),
    Route(
        "/openapi.json", "pages.openapi", "GET", "This document", Answer("OpenAPI 3.1", ("application/json",), "object")
    ),
    Route("/docs", "pages.docs", "GET", "Human-readable API docs", Answer("HTML", ("text/html",), "text")),
    Route(
        "/metrics",
        "metrics",
        "GET",
        "Request, latency, row and label metrics",
        Answer("Prometheus text format", ("text/plain",), "text"),
        errors=("429",),
        when=("METRICS", "prometheus"),
    ),
    Route(
        "/docs/<name>",
        SWAGGER_UI_ENDPOINT,
        "GET",
        "A file of Swagger UI, loaded by /docs",
        Answer("The file", ("text/css", "text/javascript"), "text"),
        errors=("404",),
        documented=False,
    ),
)
