"""/docs: Swagger UI from the app's own files, in Debian's headless Chromium, at the root and under a stage prefix:
"Try it out" on POST / with the sample line gets the prediction, nothing is loaded from elsewhere, and the page's
Content-Security-Policy blocks nothing."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Page, expect

from app.web.docs import SWAGGER_UI_FILES
from app.web.security import PAGE_SECURITY_POLICY
from tests.conftest import SAMPLE
from tests.test_page import base_url, browser, page, shot, staged_url  # noqa: F401 (fixtures)

# Every violation of the page's policy, recorded before any of the page's own script runs.
RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.violations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@pytest.mark.parametrize("name", sorted(SWAGGER_UI_FILES))
def test_swagger_ui_files_are_served_by_the_app(client: FlaskClient, name: str) -> None:
    with client.get(f"/docs/{name}") as response:
        assert response.status_code == 200 and len(response.data) > 10_000


@pytest.mark.parametrize("path", ["/docs/index.html", "/docs/oauth2-redirect.html", "/docs/..%2Fapp.py"])
def test_nothing_else_of_the_distribution_is_served(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_the_page_has_no_inline_script_and_its_policy_allows_none(client: FlaskClient) -> None:
    response = client.get("/docs")
    html = response.get_data(as_text=True)
    assert "script-src 'self';" in response.headers["Content-Security-Policy"] == PAGE_SECURITY_POLICY
    assert html.count("<script") == html.count("<script defer src=") + html.count('<script type="module" src=')


def try_it_out(page: Page, url: str) -> None:  # noqa: F811
    """Open /docs, expand POST /, Try it out with the sample line as text/csv, Execute, and see the prediction."""
    origin = url.split("/", 3)[:3]
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(url + "/docs")
    operation = page.locator(".opblock-post", has=page.locator(".opblock-summary-path", has_text="/")).filter(
        has_text="SageMaker linear-learner"
    )
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_label("Request content type").select_option("text/csv")
    operation.locator("textarea.body-param__text").fill(SAMPLE)
    operation.get_by_role("button", name="Execute").click()
    answer = operation.locator(".live-responses-table .response-col_description pre")
    expect(answer.first).to_contain_text('"predicted_label": 1')
    expect(operation.locator(".request-url pre")).to_have_text(url + "/")
    expect(operation.locator(".live-responses-table tr.response .response-col_status")).to_have_text("200")
    assert all(r.split("/", 3)[:3] == origin for r in requests), requests
    assert page.evaluate("window.violations") == []


def test_try_it_out_scores_the_sample_line(page: Page, base_url: str) -> None:  # noqa: F811
    try_it_out(page, base_url)
    shot(page, "docs-try-it-out")


def test_try_it_out_under_a_stage_prefix(page: Page, staged_url: str) -> None:  # noqa: F811
    try_it_out(page, staged_url + "/dev")
