"""Domain errors: what went wrong, in words for people and details by row and field, and never an HTTP status;
each protocol maps them to its answers at the web layer's edge."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the service cannot answer as asked: a sentence, and a detail per row and field where they apply."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class ModelNotFound(DomainError):
    """No model of that name (and version) is served."""


class ExplainUnsupported(DomainError):
    """The model cannot explain its scores."""


class CaptureOff(DomainError):
    """Ground truth was sent, but nothing keeps it."""


class ModelFailure(DomainError):
    """The model could not score: `kind` is "failed" (it broke or answered nonsense), "unavailable" (it refused for
    now: throttled, no access) or "timeout"; `code` names the failure for callers and metrics; `retry_after` is in
    seconds, when a retry may help."""

    def __init__(self, message: str, code: str, kind: str = "failed", retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.kind = kind
        self.retry_after = retry_after
