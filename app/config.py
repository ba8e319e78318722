"""Every setting the service reads, with defaults and validation: from the environment or create_app(config),
through the same parsers."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import click

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "model" / "model.json"


class ConfigError(click.ClickException, ValueError):
    """A setting has a value the service cannot use. The flask command shows it as one line,
    `error: NAME: why`, and exits with status 2; LOG_LEVEL=DEBUG adds the traceback."""

    exit_code = 2

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name}: {why}")
        self.name = name
        self.debug = False  # create_app sets it from the LOG_LEVEL it resolved

    def show(self, file: IO[Any] | None = None) -> None:
        if self.debug:
            click.echo("".join(traceback.format_exception(self)), file=file, err=True)
        click.echo(f"error: {self.message}", file=file, err=True)


def _whole(minimum: int, maximum: int | None = None) -> Callable[[str, str], int]:
    """A parser of whole numbers from `minimum` (1: positive), up to `maximum` if given."""

    def check(name: str, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(name, f"must be a whole number, got {text!r}") from None
        if maximum is not None and not minimum <= value <= maximum:
            raise ConfigError(name, f"must be from {minimum} to {maximum}, got {value}")
        if value < minimum:
            raise ConfigError(name, f"must be positive, got {value}")
        return value

    return check


_positive_int = _whole(1)


def _threshold(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(name, f"must be a number, got {text!r}") from None
    if not 0 < value < 1:
        raise ConfigError(name, f"must lie between 0 and 1, got {text}")
    return value


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def check(name: str, text: str) -> str:
        if text not in allowed:
            raise ConfigError(name, f"must be one of {', '.join(allowed)}, got {text!r}")
        return text

    return check


def _switch(name: str, text: str) -> bool:
    if text not in ("on", "off"):
        raise ConfigError(name, f"must be on or off, got {text!r}")
    return text == "on"


def _true_false(name: str, text: str) -> bool:
    if text.strip().lower() not in ("true", "false"):
        raise ConfigError(name, f"must be true or false, got {text!r}")
    return text.strip().lower() == "true"


def _text(name: str, text: str) -> str:
    return text.strip()


def _key_hashes(name: str, text: str) -> tuple[str, ...]:
    hashes = tuple(h.strip().lower() for h in text.split(",") if h.strip())
    for value in hashes:
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ConfigError(name, "must hold SHA-256 hex digests (flask hash-key makes them), not keys")
    return hashes


def _rate_limit(name: str, text: str) -> str:
    if not text.strip():
        return ""
    from limits import parse_many  # flask-limiter's parser, loaded only when a limit is set

    try:
        parse_many(text)
    except ValueError:
        raise ConfigError(name, f"must read like '600 per minute' or '10/second;600/hour', got {text!r}") from None
    return text


def _capture_uri(name: str, text: str) -> str:
    uri = text.strip()
    if uri in ("", "log:") or (uri.startswith("s3://") and uri[len("s3://") :].partition("/")[0]):
        return uri
    if uri.startswith("file://") and uri[len("file://") :].startswith("/"):
        return uri
    raise ConfigError(name, f"must be file:///ABSOLUTE/DIR, s3://BUCKET/PREFIX or log:, got {text!r}")


# InvokeEndpoint's own pattern for EndpointName; it also names the capture's folder.
ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}")


def _endpoint_name(name: str, text: str) -> str:
    endpoint = text.strip()
    if endpoint and not ENDPOINT_NAME.fullmatch(endpoint):
        raise ConfigError(name, f"must be a SageMaker endpoint name (letters, digits and -, at most 63), got {text!r}")
    return endpoint


SECRET_LENGTH = 32  # characters: a shorter secret could be guessed


def _secret(name: str, text: str) -> str:
    secret = text.strip()
    if secret and len(secret) < SECRET_LENGTH:
        raise ConfigError(
            name,
            f"must be at least {SECRET_LENGTH} characters (python3 -c 'import secrets; "
            "print(secrets.token_hex(32))' makes one)",
        )
    return secret


def _s3_uri(name: str, text: str) -> str:
    uri = text.strip()
    if uri and not (uri.startswith("s3://") and uri[len("s3://") :].partition("/")[0]):
        raise ConfigError(name, f"must be s3://BUCKET/PREFIX, got {text!r}")
    return uri


# An origin as a browser sends it: scheme://host[:port], nothing after (no path, not even "/").
ORIGIN = re.compile(
    r"[a-z][a-z0-9+.-]*://(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)


def _origins(name: str, text: str) -> str | list[str]:
    """`*` alone, or origins each as a browser sends them; an entry that is neither stops start-up, since it
    would match no origin (example.com, a path) or, beside `*`, every one."""
    origins = [o.strip() for o in text.split(",")]
    if not any(origins):
        raise ConfigError(name, "must name at least one origin, or *")
    for origin in origins:
        if not origin:
            raise ConfigError(name, f"has an empty entry in {text!r}: separate origins with one comma")
        if origin == "*":
            if len(origins) > 1:
                raise ConfigError(name, "* allows every origin and stands alone, not beside other origins")
            continue
        match = ORIGIN.fullmatch(origin)
        if match is None or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
            raise ConfigError(
                name,
                f"entry {origin[:80]!r} is not an origin: write scheme://host[:port] in lower case, with no path, "
                "as https://maintenance.example.com",
            )
    return "*" if origins == ["*"] else origins


# name: (default, parser, description); the README's configuration table follows this.
SETTINGS: dict[str, tuple[Any, Callable[[str, str], Any], str]] = {
    "MODEL_BACKEND": ("embedded", _choice("embedded", "sagemaker"), "embedded or sagemaker"),
    "MODEL_PATH": (str(DEFAULT_MODEL_PATH), _text, "the embedded model's JSON artifact"),
    "TREES_NATIVE": (False, _switch, "on: an imported tree model scores with onnxruntime (requirements-native.txt)"),
    "SAGEMAKER_ENDPOINT_NAME": ("", _endpoint_name, "endpoint to call when MODEL_BACKEND=sagemaker"),
    "SAGEMAKER_REGION": ("", _text, "the endpoint's AWS region; empty: AWS_REGION, then boto3's configuration"),
    "SCHEMA_PATH": ("", _text, "the SageMaker backend's reading schema: a schema file or a model artifact"),
    "SAGEMAKER_THRESHOLD": (0.5, _threshold, "label threshold for endpoints that answer scores only"),
    "CORS_ORIGINS": ("*", _origins, "comma-separated origins allowed to call the API, or *"),
    "MAX_CONTENT_LENGTH": (6 * 1024 * 1024, _positive_int, "largest request body in bytes"),
    "MAX_ROWS": (10_000, _positive_int, "most readings in one request"),
    "MAX_EXPLAIN_ROWS": (100, _positive_int, "most readings in one request that asks for explanations"),
    "API_KEYS": ((), _key_hashes, "comma-separated SHA-256 hashes of accepted X-API-Key values; empty: no keys"),
    "RATELIMIT_DEFAULT": ("", _rate_limit, "limit per API key, or per client address without keys; empty: none"),
    "RATELIMIT_STORAGE_URI": ("memory://", _text, "where limits are counted; redis://host:6379 to share them"),
    "TRUSTED_PROXY_HOPS": (0, _whole(0, 5), "proxies in front whose X-Forwarded-For is trusted for the client address"),
    "ACCESS_LOG": (True, _switch, "on or off: one JSON line per request, logger turbine_status.access"),
    "LOG_LEVEL": ("INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), "the turbine_status loggers'"),
    "METRICS": ("off", _choice("off", "prometheus", "emf"), "off, prometheus (GET /metrics) or emf (CloudWatch lines)"),
    "PROMETHEUS_MULTIPROC_DIR": ("", _text, "with METRICS=prometheus under gunicorn: the workers' shared directory"),
    "CAPTURE_URI": (
        "",
        _capture_uri,
        "capture predictions and ground truth to file:///DIR, s3://BUCKET/PREFIX or log:",
    ),
    "CAPTURE_SAMPLE": (100, _whole(0, 100), "percentage of scoring requests captured"),
    "CAPTURE_BUFFER": (10_000, _positive_int, "records held for a slow or failing sink; beyond, new ones are dropped"),
    "INFERENCE_ID_SECRET": (
        "",
        _secret,
        "signs X-Inference-Id so /v1/feedback takes only ids this service gave; the same on every worker and "
        "instance; empty: one made at start, for that process alone",
    ),
    "MONITOR_CAPTURE_URI": ("", _s3_uri, "the scheduled report (Lambda): the capture to read, s3://BUCKET/PREFIX"),
    "MONITOR_REPORT_URI": ("", _s3_uri, "the scheduled report (Lambda): where to write it, s3://BUCKET/PREFIX"),
    "MONITOR_HOURS": (24, _positive_int, "the scheduled report (Lambda): the hours before each run it covers"),
    # SageMaker's container contract: set by SageMaker, read by `flask serve-sagemaker` and by the limits.
    "SAGEMAKER_BASE_DIR": ("/opt/ml", _text, "serve-sagemaker: the model is the artifact in its model/ folder"),
    "SAGEMAKER_BIND_TO_PORT": (8080, _whole(1, 65535), "serve-sagemaker: the port gunicorn binds on 0.0.0.0"),
    "SAGEMAKER_MODEL_SERVER_WORKERS": (0, _whole(0, 1024), "serve-sagemaker: gunicorn workers; 0: one per core"),
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": (60, _positive_int, "serve-sagemaker: seconds a request may take"),
    "SAGEMAKER_BATCH": (False, _true_false, "true under Batch Transform: MAX_ROWS, unless set, never binds"),
    "SAGEMAKER_MAX_PAYLOAD_IN_MB": (
        0,
        _whole(0, 100),
        "Batch Transform's MaxPayloadInMB: MAX_CONTENT_LENGTH, unless set",
    ),
}
MEBIBYTE = 1024 * 1024
# Read when its setting is not set: Lambda sets AWS_REGION for every function.
FALLBACKS = {"SAGEMAKER_REGION": "AWS_REGION"}


def _as_text(value: Any) -> str:
    """A value given in code, in the form the environment would give it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def parse(name: str, value: Any) -> Any:
    """One setting's value, from text or from a value given in code; raises ConfigError naming it."""
    _, parser, _ = SETTINGS[name]
    if isinstance(value, bool) and parser is _true_false:  # SageMaker's own spelling, not on/off
        value = str(value).lower()
    return parser(name, value if isinstance(value, str) else _as_text(value))


def _given(values: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: parse(name, values[name]) for name in names if name in values}


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Parsed settings for the variables that are set; raises ConfigError naming the bad one."""
    settings = _given(environ, SETTINGS)
    for name, fallback in FALLBACKS.items():
        if name not in settings and environ.get(fallback):
            settings[name] = parse(name, environ[fallback])
    return settings


def resolve(environ: Mapping[str, str], config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults, then the environment, then `config`, every setting through its parser; keys of `config` that
    are not settings (Flask's own, TESTING say) pass as they are."""
    resolved, environment = defaults(), from_env(environ)
    resolved.update(environment)
    config = config or {}
    resolved.update({key: value for key, value in config.items() if key not in SETTINGS})
    resolved.update(_given(config, SETTINGS))
    given = {*environment, *config}
    # Batch Transform sends payloads up to MaxPayloadInMB, as many lines as fit: the size is then the limit.
    if resolved["SAGEMAKER_MAX_PAYLOAD_IN_MB"] and "MAX_CONTENT_LENGTH" not in given:
        resolved["MAX_CONTENT_LENGTH"] = resolved["SAGEMAKER_MAX_PAYLOAD_IN_MB"] * MEBIBYTE
    if resolved["SAGEMAKER_BATCH"] and "MAX_ROWS" not in given:
        resolved["MAX_ROWS"] = resolved["MAX_CONTENT_LENGTH"]  # a line holds at least one byte
    if environ.get("AWS_LAMBDA_FUNCTION_NAME") and resolved["CAPTURE_URI"] not in ("", "log:"):
        # Lambda freezes the function between requests: a buffer would wait, and be lost with the instance.
        raise ConfigError("CAPTURE_URI", "on AWS Lambda, capture writes log lines: set it to log:")
    if resolved["PROMETHEUS_MULTIPROC_DIR"] != environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
        raise ConfigError(
            "PROMETHEUS_MULTIPROC_DIR",
            "prometheus_client reads it from the environment, once for the whole process: set it there",
        )
    return resolved


def defaults() -> dict[str, Any]:
    return {name: default for name, (default, _, _) in SETTINGS.items()}


def level(config: Mapping[str, Any]) -> int:
    return logging.getLevelNamesMapping()[config["LOG_LEVEL"]]
