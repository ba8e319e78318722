"""The pages: the demo page with its policy and a base for stage prefixes, and the static assets."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_page_is_served_with_a_csp_and_a_base_for_stage_prefixes(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert '<base href="/">' in response.get_data(as_text=True)
    staged = client.get("/", environ_overrides={"SCRIPT_NAME": "/dev"})
    assert '<base href="/dev/">' in staged.get_data(as_text=True)


def test_static_assets_are_served(client: FlaskClient) -> None:
    with client.get("/static/index.html") as response:
        assert response.status_code == 200
        assert b"<html" in response.data
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
