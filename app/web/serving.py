"""What every protocol's views share: the data plane, a request's body read whole within its limit, and the
request's record."""

from __future__ import annotations

from flask import Request, current_app
from werkzeug.exceptions import RequestEntityTooLarge

from app.dataplane import DataPlane

DATAPLANE = "dataplane"  # in app.extensions


def plane() -> DataPlane:
    return current_app.extensions[DATAPLANE]  # type: ignore[no-any-return]


def body(req: Request) -> bytes:
    """The body; werkzeug answers 413 for a declared length over the limit and 400 for a body that ends early."""
    data = req.get_data(cache=False)
    # werkzeug ends a body without Content-Length (chunked) at the limit without a word: one more byte means it
    # was longer. With a Content-Length werkzeug has already compared it, and a read past it would wait on the
    # connection for bytes that never come.
    if req.content_length is None and len(data) == req.max_content_length and req.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    return data
