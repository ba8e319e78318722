"""The web layer: blueprints per protocol, errors mapped to HTTP, the OpenAPI document, security, telemetry, metrics
and pages. Only this package knows Flask and HTTP statuses."""
