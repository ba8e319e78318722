"""The service's loggers, below turbine_status, free of the web layer: which records pass is set where the loggers
are configured (app.web.logs applies each app's LOG_LEVEL), and a record may carry its own JSON fields."""

from __future__ import annotations

import logging

ROOT_LOGGER = "turbine_status"
# A record whose `fields` attribute (logger.info(..., extra={FIELDS: {...}})) is written as that object, after
# the time and level every line starts with.
FIELDS = "fields"
_filters: list[logging.Filter] = []
_loggers: dict[str, logging.Logger] = {}


def service_logger(name: str) -> logging.Logger:
    """A logger below ROOT_LOGGER, with the filters every service logger has."""
    if name not in _loggers:
        logger = _loggers[name] = logging.getLogger(f"{ROOT_LOGGER}.{name}")
        for found in _filters:
            logger.addFilter(found)
    return _loggers[name]


def filter_service_loggers(added: logging.Filter) -> None:
    """Give every service logger, made or to be made, this filter (once)."""
    if added not in _filters:
        _filters.append(added)
        for logger in _loggers.values():
            logger.addFilter(added)
