"""Every setting the service reads from the environment, with defaults and validation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app.backends.embedded import DEFAULT_MODEL_PATH


class ConfigError(ValueError):
    """A setting has a value the service cannot use."""


def _positive_int(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _threshold(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {text!r}") from None
    if not 0 < value < 1:
        raise ConfigError(f"{name} must lie between 0 and 1, got {text}")
    return value


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def check(name: str, text: str) -> str:
        if text not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {text!r}")
        return text

    return check


def _switch(name: str, text: str) -> bool:
    if text not in ("on", "off"):
        raise ConfigError(f"{name} must be on or off, got {text!r}")
    return text == "on"


def _text(name: str, text: str) -> str:
    return text.strip()


def _key_hashes(name: str, text: str) -> tuple[str, ...]:
    hashes = tuple(h.strip().lower() for h in text.split(",") if h.strip())
    for value in hashes:
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ConfigError(f"{name} must hold SHA-256 hex digests (flask hash-key makes them), not keys")
    return hashes


def _rate_limit(name: str, text: str) -> str:
    if not text.strip():
        return ""
    from limits import parse_many  # flask-limiter's parser, loaded only when a limit is set

    try:
        parse_many(text)
    except ValueError:
        raise ConfigError(f"{name} must read like '600 per minute' or '10/second;600/hour', got {text!r}") from None
    return text


def _origins(name: str, text: str) -> str | list[str]:
    origins = [o.strip() for o in text.split(",") if o.strip()]
    if not origins:
        raise ConfigError(f"{name} must name at least one origin, or *")
    return "*" if origins == ["*"] else origins


# name: (default, parser, description); the README's configuration table follows this.
SETTINGS: dict[str, tuple[Any, Callable[[str, str], Any], str]] = {
    "MODEL_BACKEND": ("embedded", _choice("embedded", "sagemaker"), "embedded or sagemaker"),
    "MODEL_PATH": (str(DEFAULT_MODEL_PATH), _text, "the embedded model's JSON artifact"),
    "SAGEMAKER_ENDPOINT_NAME": ("", _text, "endpoint to call when MODEL_BACKEND=sagemaker"),
    "SCHEMA_PATH": ("", _text, "the SageMaker backend's reading schema: a schema file or a model artifact"),
    "SAGEMAKER_THRESHOLD": (0.5, _threshold, "label threshold for endpoints that answer scores only"),
    "CORS_ORIGINS": ("*", _origins, "comma-separated origins allowed to call the API, or *"),
    "MAX_CONTENT_LENGTH": (6 * 1024 * 1024, _positive_int, "largest request body in bytes"),
    "MAX_ROWS": (10_000, _positive_int, "most readings in one request"),
    "API_KEYS": ((), _key_hashes, "comma-separated SHA-256 hashes of accepted X-API-Key values; empty: no keys"),
    "RATELIMIT_DEFAULT": ("", _rate_limit, "limit per API key, or per client address without keys; empty: none"),
    "RATELIMIT_STORAGE_URI": ("memory://", _text, "where limits are counted; redis://host:6379 to share them"),
    "ACCESS_LOG": (True, _switch, "on or off: one JSON line per request, logger turbine_status.access"),
    "LOG_LEVEL": ("INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "the turbine_status loggers'"),
    "METRICS": ("off", _choice("off", "prometheus", "emf"), "off, prometheus (GET /metrics) or emf (CloudWatch lines)"),
    "PROMETHEUS_MULTIPROC_DIR": ("", _text, "with METRICS=prometheus under gunicorn: the workers' shared directory"),
}


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Parsed settings for the variables that are set; raises ConfigError naming the bad one."""
    return {name: parse(name, environ[name]) for name, (_, parse, _) in SETTINGS.items() if name in environ}


def defaults() -> dict[str, Any]:
    return {name: default for name, (default, _, _) in SETTINGS.items()}
