"""The demo page in a real headless Chromium (Debian's), driven by Playwright, against a live local server."""

from __future__ import annotations

import csv
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from app import STATIC_FOLDER, create_app
from tests.conftest import HEALTHY, SAMPLE

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


def serve(wsgi_app: object) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    yield from serve(create_app())


@pytest.fixture(scope="module")
def staged_url() -> Iterator[str]:
    """The app under an API Gateway-like stage prefix, /dev."""
    yield from serve(DispatcherMiddleware(Response("no stage", status=404), {"/dev": create_app()}))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    yield page
    context.close()
    assert errors == []


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_text("Connected: turbine-breakdown-logistic")).to_be_visible()
    expect(page).to_have_title("turbine-breakdown-logistic: maintenance status")
    expect(page.get_by_role("heading", level=1)).to_have_text("turbine-breakdown-logistic")


def test_single_reading_flow(page: Page, base_url: str) -> None:
    open_page(page, base_url + "/")
    for label, value in [("Turbine ID", "TID008"), ("Turbine type", "VAWT"), ("Wind direction", "NE")]:
        expect(page.get_by_label(label)).to_have_value(value)
    expect(page.get_by_label("Wind speed (km/h)")).to_have_value("64")
    expect(page.get_by_text("0 to 250 (km/h)")).to_be_visible()
    page.get_by_role("button", name="Check status").click()
    expect(page.locator("#verdict")).to_have_text("Maintenance required")
    expect(page.locator("#score-text")).to_have_text("Breakdown score: 98.8 %")
    assert page.locator("#score-bar").evaluate("e => e.style.width") == "98.8%"
    expect(page.locator(".contribution")).to_have_count(11)
    expect(page.locator(".contribution").nth(4)).to_contain_text("Oil temperature")
    shot(page, "single-maintenance")

    for label, value in [
        ("Wind speed (km/h)", "20"),
        ("RPM blade (rpm)", "25"),
        ("Oil temperature (°C)", "38"),
        ("Oil level (%)", "40"),
        ("Vibrations frequency (Hz)", "2"),
    ]:
        page.get_by_label(label).fill(value)
    page.get_by_label("Turbine type").select_option("HAWT")
    page.get_by_role("button", name="Check status").click()
    expect(page.locator("#verdict")).to_have_text("Healthy")
    shot(page, "single-healthy")


def test_client_side_validation_mirrors_the_server(page: Page, base_url: str) -> None:
    open_page(page, base_url + "/")
    page.get_by_role("button", name="Check status").click()
    expect(page.locator("#verdict")).to_have_text("Maintenance required")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    page.get_by_label("Humidity (%)").fill("101")
    page.get_by_label("Oil level (%)").fill("")
    page.get_by_role("button", name="Check status").click()
    expect(page.locator("#error-humidity")).to_have_text("Enter a number from 0 to 100.")
    expect(page.locator("#error-oil_level")).to_have_text("Required.")
    expect(page.get_by_label("Humidity (%)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#reading-error")).to_contain_text("Some values need fixing")
    expect(page.locator("#result")).to_be_hidden()  # the old verdict is not left under the new error
    assert requests == []
    shot(page, "single-invalid")


def test_api_errors_and_network_failures_are_said_plainly(page: Page, base_url: str) -> None:
    open_page(page, base_url + "/")
    # The request body is swapped on its way out, so the real API answers 400; its details land by their fields.
    page.route("**/v1/predictions*", lambda route: route.continue_(post_data='{"turbine_id": "TID999"}'))
    page.get_by_role("button", name="Check status").click()
    expect(page.locator("#error-turbine_type")).to_have_text("missing")
    expect(page.locator("#reading-error")).to_contain_text("10 problem(s) in 1 row(s)")
    page.unroute("**/v1/predictions*")

    page.get_by_label("API URL").fill("http://127.0.0.1:9/")
    page.get_by_role("button", name="Connect").click()
    expect(page.locator("#connection-status")).to_have_text(
        "Could not reach the API at http://127.0.0.1:9/. Check the API URL and your connection."
    )
    page.get_by_role("button", name="Check status").click()
    expect(page.locator("#reading-error")).to_contain_text("Could not reach the API")
    shot(page, "network-failure")

    page.get_by_label("API URL").fill("not a url")
    page.get_by_role("button", name="Check status").click()
    expect(page.locator("#reading-error")).to_have_text(
        f'"not a url" is not a web address. Enter the API URL in full, such as {base_url}/'
    )


def write_batch(tmp_path: Path) -> Path:
    evil = '<img src=x onerror="window.pwned=1">,HAWT,1,1,1,1,1,1,1,1,N'
    lines = [
        "turbine_id,turbine_type,wind_speed,rpm_blade,oil_temperature,oil_level,temperature,humidity,"
        "vibrations_frequency,pressure,wind_direction",
        HEALTHY,
        SAMPLE,
        evil,
        "",
        SAMPLE.replace("64", "999"),
    ]
    path = tmp_path / "readings.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_batch_flow_with_bad_rows_and_html(page: Page, base_url: str, tmp_path: Path) -> None:
    open_page(page, base_url + "/")
    page.get_by_label("CSV file").set_input_files(write_batch(tmp_path))
    page.get_by_role("button", name="Score file").click()
    expect(page.locator("#summary")).to_have_text("2 readings scored, 1 need maintenance, 2 rejected.")
    rows = page.locator("#rows tr")
    expect(rows).to_have_count(4)
    # Sorted by risk: rejected rows first, then the highest score.
    expect(rows.nth(0)).to_contain_text("Rejected: turbine_id: '<img src=x onerror=\"window.pwned=1\">' is not one of")
    expect(rows.nth(1)).to_contain_text("Rejected: wind_speed: '999' is out of range")
    expect(rows.nth(2)).to_contain_text("Maintenance required")
    expect(rows.nth(3)).to_contain_text("Healthy")
    assert page.locator("#rows img").count() == 0
    assert page.evaluate("window.pwned") is None
    shot(page, "batch")

    page.get_by_role("button", name="Show in file order").click()
    expect(rows.nth(0)).to_contain_text("Healthy")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download results (CSV)").click()
    saved = tmp_path / "results.csv"
    download.value.save_as(saved)
    with saved.open() as f:
        table = list(csv.DictReader(f))
    assert [r["status"] for r in table] == ["healthy", "maintenance_required", "rejected", "rejected"]
    assert table[2]["reading"].startswith("<img src=x")
    assert float(table[1]["score"]) > 0.9


def test_a_header_in_another_order_is_sent_with_the_file(page: Page, base_url: str, tmp_path: Path) -> None:
    open_page(page, base_url + "/")
    names = "turbine_id,turbine_type,wind_speed,rpm_blade,oil_temperature,oil_level,temperature,humidity"
    names += ",vibrations_frequency,pressure,wind_direction"
    path = tmp_path / "reversed.csv"
    reverse = lambda line: ",".join(line.split(",")[::-1])  # noqa: E731
    path.write_text("\n".join([reverse(names), reverse(SAMPLE), reverse(HEALTHY)]) + "\n")
    page.get_by_label("CSV file").set_input_files(path)
    page.get_by_role("button", name="Score file").click()
    expect(page.locator("#summary")).to_have_text("2 readings scored, 1 need maintenance.")
    expect(page.locator("#rows tr").nth(0)).to_contain_text("Maintenance required")


def test_keyboard_only_use_of_the_form(page: Page, base_url: str) -> None:
    open_page(page, base_url + "/")
    page.get_by_label("Turbine ID").focus()
    page.keyboard.press("ArrowDown")  # TID008 -> TID009
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowUp")  # VAWT -> HAWT
    for _ in range(9):
        page.keyboard.press("Tab")
    expect(page.get_by_label("Wind direction")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Check status")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#verdict")).to_have_text("Maintenance required")
    expect(page.get_by_label("Turbine ID")).to_have_value("TID009")
    expect(page.get_by_label("Turbine type")).to_have_value("HAWT")
    shot(page, "keyboard")


def test_page_works_under_a_stage_prefix(page: Page, staged_url: str) -> None:
    # API Gateway prints the stage URL without a trailing slash; assets and API calls must still resolve.
    open_page(page, staged_url + "/dev")
    expect(page.get_by_label("API URL")).to_have_value(staged_url + "/dev/")
    page.get_by_role("button", name="Check status").click()
    expect(page.locator("#verdict")).to_have_text("Maintenance required")


def test_page_hosted_elsewhere_calls_the_api_across_origins(page: Page, base_url: str, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(STATIC_FOLDER, site / "static")
    shutil.copy(STATIC_FOLDER / "index.html", site / "index.html")
    handler = partial(SimpleHTTPRequestHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
        expect(page.locator("#connection-status")).to_contain_text("answered 404 without JSON")
        page.get_by_label("API URL").fill(base_url)
        page.get_by_role("button", name="Connect").click()
        expect(page.get_by_text("Connected: turbine-breakdown-logistic")).to_be_visible()
        page.get_by_role("button", name="Check status").click()
        expect(page.locator("#verdict")).to_have_text("Maintenance required")
        page.reload()  # the API URL is remembered
        expect(page.get_by_label("API URL")).to_have_value(base_url)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_the_form_follows_the_model_served(page: Page, ai4i_model: Path) -> None:
    for url in serve(create_app({"MODEL_PATH": str(ai4i_model)})):
        page.goto(url + "/")
        expect(page.get_by_text("Connected: ai4i")).to_be_visible()
        expect(page).to_have_title("ai4i: maintenance status")
        expect(page.get_by_role("heading", level=1)).to_have_text("ai4i")
        labels = page.locator("#fields label")
        expect(labels).to_have_text(
            [
                "Type",
                "Air temperature (K)",
                "Process temperature (K)",
                "Rotational speed (rpm)",
                "Torque (Nm)",
                "Tool wear (min)",
            ]
        )
        expect(page.get_by_label("Type")).to_have_value("L")
        expect(page.get_by_label("Torque (Nm)")).to_have_value("70.7")
        page.get_by_role("button", name="Check status").click()
        expect(page.locator("#verdict")).not_to_be_empty()
        expect(page.locator("#contributions li")).to_have_count(6)
        shot(page, "second-shape")


def test_the_page_scores_with_an_imported_xgboost_model(page: Page, tmp_path: Path) -> None:
    from tests.test_importing import NAMES, SCHEMA, forty_trees, import_model, matrix

    booster = forty_trees()
    booster.save_model(str(tmp_path / "booster.json"))
    app = create_app()
    result = import_model(app, tmp_path, tmp_path / "booster.json", "--name", "imported-trees")
    assert result.exit_code == 0, result.output
    sample = [float(v) if i in (1, 3, 4) else v for i, v in enumerate(SCHEMA["sample"].split(","))]
    expected = float(booster.predict(matrix([sample]))[0])
    for url in serve(create_app({"MODEL_PATH": str(tmp_path / "imported.json")})):
        page.goto(url + "/")
        expect(page.get_by_text("Connected: imported-trees")).to_be_visible()
        expect(page.locator("#fields label")).to_have_text(NAMES)
        expect(page.get_by_label("grade")).to_have_value("high")
        page.get_by_role("button", name="Check status").click()
        expect(page.locator("#score-text")).to_have_text(f"Breakdown score: {100 * expected:.1f} %")
        expect(page.locator("#verdict")).to_have_text("Maintenance required" if expected >= 0.5 else "Healthy")
        expect(page.locator(".contribution")).to_have_count(len(NAMES))
        shot(page, "imported-xgboost")
