"""Every setting the service reads, grouped by concern (server, model, container, monitor), with its default, its
parser and its description: read from the environment or create_app(config) through the same parsers, and rendered
as the configuration reference."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

import click

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_PATH = ROOT / "app" / "model" / "model.json"


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


# Parsers: a setting's name and text in, its value out, or a ConfigError naming it.
Parser = Callable[[str, str], Any]


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


@dataclass(frozen=True)
class Setting:
    """One setting: the name users set, its value when not set, the parser its text goes through, what it does
    (a row of the configuration reference, written in Markdown, standing alone), and its concern in GROUPS."""

    name: str
    default: Any
    parser: Parser
    description: str
    group: str

    def spelled(self, value: Any) -> str:
        """`value` as the environment would give it: a value given in code, or the default."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            if self.parser is _true_false:  # SageMaker's own spelling, not on/off
                return "true" if value else "false"
            return "on" if value else "off"
        if isinstance(value, (list, tuple)):
            return ",".join(map(str, value))
        return str(value)

    def parse(self, value: Any) -> Any:
        """The value, from text or from a value given in code; raises ConfigError naming the setting."""
        return self.parser(self.name, self.spelled(value))


# Each concern, and the line that opens its table in the reference.
GROUPS: dict[str, str] = {
    "server": "How the API is reached and guarded: CORS, request limits, API keys, rate limits, proxies, logs and "
    "metrics.",
    "model": "What scores the readings, the embedded model or a SageMaker endpoint, and what a request may ask of it.",
    "container": "SageMaker's contract with a model container and with Batch Transform: SageMaker sets these, "
    "`flask --app app serve-sagemaker` and the request limits read them.",
    "monitor": "Capture of predictions and ground truth, the ids feedback is given under, and the scheduled report.",
}
_server = partial(Setting, group="server")
_model = partial(Setting, group="model")
_container = partial(Setting, group="container")
_monitor = partial(Setting, group="monitor")

DECLARED: tuple[Setting, ...] = (
    _server(
        "CORS_ORIGINS",
        "*",
        _origins,
        "Origins a browser may call the API from: `*` alone for every origin, or a comma-separated list, each "
        "`scheme://host[:port]` as a browser sends it (lower case, no path). Credentials are never allowed.",
    ),
    _server(
        "MAX_CONTENT_LENGTH",
        6 * 1024 * 1024,
        _positive_int,
        "Largest request body in bytes (6 MiB); a larger one is a 413. Under Batch Transform, unless set, it "
        "follows `SAGEMAKER_MAX_PAYLOAD_IN_MB`.",
    ),
    _server(
        "MAX_ROWS",
        10_000,
        _positive_int,
        "Most readings in one request; more is a 413 naming it. Under Batch Transform (`SAGEMAKER_BATCH=true`), "
        "unless set, it never binds.",
    ),
    _server(
        "API_KEYS",
        (),
        _key_hashes,
        "Comma-separated SHA-256 hex digests of the accepted `X-API-Key` values (`flask --app app hash-key` makes "
        "them); a request to the API without an accepted key is a 401 (`/ping`, the page and `/openapi.json` stay "
        "open). Empty: no key is asked for.",
    ),
    _server(
        "RATELIMIT_DEFAULT",
        "",
        _rate_limit,
        "One budget of requests across the API, per verified API key, else per client address: `600 per minute`, "
        "or several as `10/second;600/hour`; beyond it a 429 with `Retry-After`. Empty: no limit.",
    ),
    _server(
        "RATELIMIT_STORAGE_URI",
        "memory://",
        _text,
        "Where rate limits are counted: `memory://` in each process alone; `redis://host:6379` shared by every "
        "worker and instance.",
    ),
    _server(
        "TRUSTED_PROXY_HOPS",
        0,
        _whole(0, 5),
        "Proxies in front (nginx, a load balancer), 0 to 5, whose `X-Forwarded-For` gives the client address; "
        "0: the header is ignored and the address is the connection's.",
    ),
    _server(
        "ACCESS_LOG",
        True,
        _switch,
        "`on` or `off`: one JSON line per request on the `turbine_status.access` logger, at level INFO (so a "
        "`LOG_LEVEL` above it silences it too).",
    ),
    _server(
        "LOG_LEVEL",
        "INFO",
        _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        "Level of the `turbine_status` loggers, for this app only: `DEBUG`, `INFO`, `WARNING`, `ERROR` or "
        "`CRITICAL`; with `DEBUG`, a setting that stops start-up shows its traceback too.",
    ),
    _server(
        "METRICS",
        "off",
        _choice("off", "prometheus", "emf"),
        "`off`; `prometheus`: counts served at `GET /metrics`; `emf`: CloudWatch embedded metric format lines in "
        "the log (on Lambda).",
    ),
    _server(
        "PROMETHEUS_MULTIPROC_DIR",
        "",
        _text,
        "With `METRICS=prometheus` under gunicorn: the folder the workers keep their counts in, summed by "
        "`/metrics`; environment only, since prometheus_client reads it there once per process. Empty: "
        "`app/gunicorn_conf.py` makes a temporary one; without it each process counts alone.",
    ),
    _model(
        "MODEL_BACKEND",
        "embedded",
        _choice("embedded", "sagemaker"),
        "`embedded`: the model artifact in `MODEL_PATH` scores in this process; `sagemaker`: the endpoint in "
        "`SAGEMAKER_ENDPOINT_NAME` scores.",
    ),
    _model(
        "MODEL_PATH",
        str(DEFAULT_MODEL_PATH),
        _text,
        "The embedded model: a JSON model artifact (`flask --app app train` or `import-model` writes one), whose "
        "schema sets the reading fields. The default is the bundled turbine model.",
    ),
    _model(
        "TREES_NATIVE",
        False,
        _switch,
        "`on`: an imported tree model scores with onnxruntime (`pip install -r requirements-native.txt`; not on "
        "Lambda); `off`: in pure Python.",
    ),
    _model(
        "SAGEMAKER_ENDPOINT_NAME",
        "",
        _endpoint_name,
        "The SageMaker endpoint to call: letters, digits and `-`, at most 63. Empty: none, which "
        "`MODEL_BACKEND=sagemaker` refuses.",
    ),
    _model(
        "SAGEMAKER_REGION",
        "",
        _text,
        "The endpoint's AWS region. Empty: `AWS_REGION` (Lambda sets it), else boto3's own configuration.",
    ),
    _model(
        "SCHEMA_PATH",
        "",
        _text,
        "The fields the SageMaker backend validates readings against: a schema file or a model artifact. Empty: "
        "the bundled turbine fields. With the embedded backend it must name the model's own fields, or start-up "
        "stops.",
    ),
    _model(
        "SAGEMAKER_THRESHOLD",
        0.5,
        _threshold,
        "For an endpoint that answers scores only: a reading scoring at or above it is labelled 1; between 0 and 1.",
    ),
    _model(
        "MAX_EXPLAIN_ROWS",
        100,
        _positive_int,
        "Most readings in one request that asks for explanations (`?explain=true`, or `explain=true` in "
        "SageMaker's custom attributes); more is a 413 naming it.",
    ),
    _monitor(
        "CAPTURE_URI",
        "",
        _capture_uri,
        "Where predictions and ground truth are captured: `file:///ABSOLUTE/DIR`, `s3://BUCKET/PREFIX`, or `log:` "
        "(lines on standard output, the only one on Lambda). Empty: nothing is captured.",
    ),
    _monitor("CAPTURE_SAMPLE", 100, _whole(0, 100), "Percentage of scoring requests captured, 0 to 100."),
    _monitor(
        "CAPTURE_BUFFER",
        10_000,
        _positive_int,
        "Capture records held for a slow or failing sink; beyond that, new ones are dropped and counted.",
    ),
    _monitor(
        "INFERENCE_ID_SECRET",
        "",
        _secret,
        "At least 32 characters that sign each `X-Inference-Id`, so `/v1/feedback` takes only ids this service "
        "gave; the same on every worker and instance. Empty: a secret made at start, good for that process alone "
        "(a warning says so when capture is on).",
    ),
    _monitor(
        "MONITOR_CAPTURE_URI",
        "",
        _s3_uri,
        "The scheduled report (a Lambda function): the capture it reads, `s3://BUCKET/PREFIX`. Empty: the report "
        "refuses to run; the API does not read it.",
    ),
    _monitor(
        "MONITOR_REPORT_URI",
        "",
        _s3_uri,
        "The scheduled report: where it writes `report.json` and `report.html`, `s3://BUCKET/PREFIX`, under "
        "`YYYY/MM/DD/HH/` and `latest/`. Empty: the report refuses to run.",
    ),
    _monitor("MONITOR_HOURS", 24, _positive_int, "The scheduled report: the hours before each run it covers."),
    _container(
        "SAGEMAKER_BASE_DIR",
        "/opt/ml",
        _text,
        "`serve-sagemaker`: SageMaker's folder; unless `MODEL_PATH` is set, the model is the artifact in its "
        "`model/` folder (`model.json`, or the only JSON file there).",
    ),
    _container(
        "SAGEMAKER_BIND_TO_PORT",
        8080,
        _whole(1, 65535),
        "`serve-sagemaker`: the port gunicorn listens on, on `0.0.0.0`: 1 to 65535.",
    ),
    _container(
        "SAGEMAKER_MODEL_SERVER_WORKERS",
        0,
        _whole(0, 1024),
        "`serve-sagemaker`: gunicorn workers, 0 to 1024; 0: one per core.",
    ),
    _container(
        "SAGEMAKER_MODEL_SERVER_TIMEOUT",
        60,
        _positive_int,
        "`serve-sagemaker`: seconds one request may take before gunicorn replaces its worker.",
    ),
    _container(
        "SAGEMAKER_BATCH",
        False,
        _true_false,
        "`true` under Batch Transform: the payload size alone bounds a request (`MAX_ROWS`, unless set, never "
        "binds); `false`: `MAX_ROWS` applies.",
    ),
    _container(
        "SAGEMAKER_MAX_PAYLOAD_IN_MB",
        0,
        _whole(0, 100),
        "Batch Transform's `MaxPayloadInMB`, 0 to 100: `MAX_CONTENT_LENGTH`, unless set, becomes that many MiB. "
        "0: not under Batch Transform.",
    ),
)
SETTINGS: dict[str, Setting] = {setting.name: setting for setting in DECLARED}
MEBIBYTE = 1024 * 1024
# Read when its setting is not set: Lambda sets AWS_REGION for every function.
FALLBACKS = {"SAGEMAKER_REGION": "AWS_REGION"}


def parse(name: str, value: Any) -> Any:
    """One setting's value, from text or from a value given in code; raises ConfigError naming it."""
    return SETTINGS[name].parse(value)


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
    return {name: setting.default for name, setting in SETTINGS.items()}


def level(config: Mapping[str, Any]) -> int:
    return logging.getLevelNamesMapping()[config["LOG_LEVEL"]]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _shown_default(setting: Setting) -> str:
    """The default as the environment spells it, a path in the checkout from its root (the same on every
    machine); the description says what empty means."""
    text = setting.spelled(setting.default).removeprefix(f"{ROOT}/")
    return f"`{_cell(text)}`" if text else "empty"


def reference_markdown() -> str:
    """The configuration reference: per concern, a heading, its opening line and a table of its settings (name,
    default, meaning), in the order they are declared."""
    parts = []
    for group, opening in GROUPS.items():
        rows = [
            f"| `{setting.name}` | {_shown_default(setting)} | {_cell(setting.description)} |"
            for setting in DECLARED
            if setting.group == group
        ]
        table = "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows])
        parts.append(f"## {group.capitalize()}\n\n{opening}\n\n{table}\n")
    return "\n".join(parts)
