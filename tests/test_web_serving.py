"""A request's body, read whole within MAX_CONTENT_LENGTH: past it a 413, short of its Content-Length a 400,
chunked and never cut short."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from app import create_app
from tests.conftest import SAMPLE, post_csv


def test_body_limit_is_a_413() -> None:
    client = create_app({"MAX_CONTENT_LENGTH": 1000}).test_client()
    response = post_csv(client, "\n".join([SAMPLE] * 50))
    assert response.status_code == 413
    assert response.get_json()["message"] == "The request body is larger than the limit of 1000 bytes."


def test_body_shorter_than_its_content_length_is_a_400(client: FlaskClient) -> None:
    response = post_csv(client, SAMPLE, environ_overrides={"CONTENT_LENGTH": "100"})
    assert response.status_code == 400
    assert response.get_json()["message"] == "The body ended before the length its Content-Length announced."


@pytest.mark.parametrize(("limit", "status"), [(1000, 200), (len(SAMPLE), 200), (len(SAMPLE) - 1, 413), (10, 413)])
def test_chunked_body_is_read_within_the_limit(limit: int, status: int) -> None:
    """A body without Content-Length, as a server that decodes chunked transfer passes it on: never cut short."""
    client = create_app({"MAX_CONTENT_LENGTH": limit}).test_client()
    response = client.post(
        "/",
        input_stream=io.BytesIO(SAMPLE.encode()),
        content_type="text/csv",
        environ_overrides={"CONTENT_LENGTH": "", "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"},
    )
    assert response.status_code == status
    if status == 200:
        assert response.get_json()["predictions"][0]["predicted_label"] == 1
