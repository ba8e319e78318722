"""Domain errors: what went wrong, in words for people and details by row and field, and never an HTTP status;
each protocol maps them to its answers at the web layer's edge."""

from __future__ import annotations

from typing import Any

MAX_DETAILS = 100  # the details one error lists at most
SHOWN_LENGTH = 40  # the longest value an error message repeats whole


def shown(text: str) -> str:
    """A value as an error message repeats it: cut short when long, saying how long it was."""
    if len(text) <= SHOWN_LENGTH:
        return text
    return f"{text[: SHOWN_LENGTH - 8]}… ({len(text)} characters)"


class DomainError(Exception):
    """A request the service cannot answer as asked: a sentence, and a detail per row and field where they apply."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class ReadingsError(DomainError, ValueError):
    """A body that cannot become readings: a sentence for people, and a detail per bad row and field."""


class TooManyReadings(ReadingsError):
    """More readings than one request may hold. `count` is the readings sent; for a body refused by its values
    unread, the limit in the proportion of its values to what that many readings have."""

    def __init__(self, count: int, limit: int, why: str | None = None) -> None:
        super().__init__(f"{why or f'{count} readings sent'}; at most {limit} are accepted per request.")
        self.count = count
        self.limit = limit
        self.setting = "MAX_ROWS"


class TooManyToExplain(TooManyReadings):
    """More readings asked to be explained than one request may hold: each costs far more than a score (tens of
    milliseconds for hundreds of trees), and the bound keeps a request within its client's patience."""

    def __init__(self, count: int, limit: int) -> None:
        ReadingsError.__init__(
            self,
            f"{count} readings sent to be explained; at most {limit} are explained in one request (MAX_EXPLAIN_ROWS): "
            f"send {limit} or fewer per request, or leave explanations off.",
        )
        self.count = count
        self.limit = limit
        self.setting = "MAX_EXPLAIN_ROWS"


class UnsupportedBody(ReadingsError):
    """A content type or charset no codec reads."""


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
