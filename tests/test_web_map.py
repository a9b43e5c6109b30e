"""The web map in Debian's headless Chromium, driven by Playwright: the page loads, the
layers draw, the date slider changes the colours, a click opens the detail panel. The last
screenshot is kept as a test artifact (tests/artifacts/web_map.png)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pandas as pd
import pytest
import shapely
from playwright.sync_api import Page, expect, sync_playwright

from hazardledger.api.auth import add_user
from hazardledger.ledger import Ledger

from .conftest import NOW, areas_frame

ARTIFACTS = Path(__file__).parent / "artifacts"
HAZARDLEDGER = str(Path(sys.executable).with_name("hazardledger"))
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


def _chromium() -> str:
    path = shutil.which("chromium")
    assert path, "Debian's chromium is missing: run 'make system' (installs it)"
    return path


@contextmanager
def _serving(location: str) -> Iterator[str]:
    """``hazardledger serve`` on a free port, as a user runs it; its URL once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([HAZARDLEDGER, "serve", "--db", location, "--port", str(port)])
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:  # readiness: ends when the server answers, or fails if it died
            try:
                httpx2.get(url + "conformance")
                break
            except httpx2.TransportError:
                assert process.poll() is None, "the server died"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Three areas of 48-hour non-persistent mines laid a week before today: red now,
    yellow a year on."""
    led, token = _small_ledger(tmp_path / "map.gpkg")
    led.close()
    with _serving(str(led.location)) as url:
        yield url, token


def _small_ledger(path: Path) -> tuple[Ledger, str]:
    led = Ledger(path)
    led.init()
    led.import_frame("hazard_areas", areas_frame(), source="a", actor="t", now=NOW)
    laid = (pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=7)).isoformat()
    led.import_frame("records", pd.DataFrame({
        "id": ["R-1", "R-2", "R-3"], "area_id": ["HA-1", "HA-2", "HA-3"],
        "item_type": ["ap-nonpersistent-48h"] * 3, "count": [400, 40, 4],
        "laid_from": [laid] * 3, "source": ["minefield_record"] * 3,
        "info_reliability": ["high"] * 3,
        "geometry": [shapely.Point(36.02 + i / 10, 49.02) for i in range(3)]}),
        source="r", actor="t")
    led.import_frame("places", pd.DataFrame({
        "id": ["P-1"], "name": ["Town"], "population": [20_000],
        "geometry": [shapely.Point(36.1, 49.1)]}), source="p", actor="t", now=NOW)
    return led, add_user(led.store, "browser", "viewer", actor="t")


def _fills(page: Page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "path.hazard-area", "els => Object.fromEntries(els.map(e => "
        "[e.dataset.area, e.dataset.fill]))")


def test_web_map_in_chromium(server: tuple[str, str]) -> None:
    url, token = server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        try:
            # Playwright's wait_for_function evaluates a string in the page: the map's own
            # CSP forbids that, as it should; the hostile-data test below keeps the CSP on
            page = browser.new_page(viewport={"width": 1200, "height": 800}, bypass_csp=True)
            failed: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            encodings: list[str | None] = []  # of the pages of figures the map drew
            page.on("response", lambda r: encodings.append(r.headers.get("content-encoding"))
                    if "/collections/residual_hazard/items" in r.url and r.status == 200
                    else None)  # a 503 "being prepared" is a small plain answer
            page.goto(url)
            assert page.locator("#login").is_visible()  # no token yet: asked for one
            page.fill("#token", token)
            page.click("#login button")
            page.wait_for_selector("body[data-ready='3']")
            assert page.locator("path.hazard-area").count() == 3
            assert page.locator("path.place").count() == 1
            assert page.locator(".leaflet-control-scale-line").is_visible()  # a scale bar
            assert page.inner_text(".place-label") == "Town"  # 20,000 people: named
            now = _fills(page)
            assert now["HA-1"] == "#f03b20"  # 400 items a week after laying: 50-500
            assert "not a land release" in page.inner_text("#warning")
            assert page.locator("#priority-list li").count() == 3
            # the slider's dates are the server's checkpoints: the last is within a year on
            checkpoints = page.evaluate("fetch('prepared', {headers: {Authorization: "
                                        f"'Bearer {token}'}}}}).then(r => r.json())")
            dates = [c["date"] for c in checkpoints["checkpoints"]]
            today = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")
            assert page.inner_text("#date-label") == today
            assert today in dates and len(dates) >= 36
            page.locator("#date").fill(str(len(dates) - 1))
            page.locator("#date").dispatch_event("change")
            page.wait_for_function("document.body.dataset.asOf !== "
                                   f"'{page.evaluate('document.body.dataset.asOf')}'")
            page.wait_for_function("document.querySelector(\"path[data-area='HA-1']\")"
                                   ".dataset.fill !== '#f03b20'")
            later = _fills(page)
            # a year on, every area is a lighter class than a week after laying
            order = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
            assert all(order.index(later[a]) < order.index(now[a]) for a in now), (now, later)
            page.locator("path[data-area='HA-2']").click()
            page.wait_for_selector("#detail:not([hidden]) #detail-records li")
            assert "HA-2" in page.inner_text("#detail-title")
            assert "R-2" in page.inner_text("#detail-records")
            page.wait_for_selector("#curve polyline")  # the area's curve, drawn after its records
            page.screenshot(path=str(ARTIFACTS / "web_map.png"))
            assert not [u for u in failed if not u.startswith(url)], failed
            # Chromium asked for gzip and read the page compressed once and sent in parts
            assert len(encodings) >= 2 and set(encodings) == {"gzip"}, encodings
        finally:
            browser.close()


def test_web_map_in_ukrainian(server: tuple[str, str]) -> None:
    from hazardledger.hazard.inert import WARNING
    from hazardledger.locale import translator

    url, token = server
    uk = translator("uk")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        try:
            # the page's own policy stays on: its words come from this server, as data
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.goto(f"{url}?lang=uk")
            expect(page.locator("#login label")).to_have_text(uk("API token"))
            page.fill("#token", token)
            page.click("#login button")
            page.wait_for_selector("body[data-ready='3']")
            assert page.evaluate("document.documentElement.lang") == "uk"
            assert page.inner_text("#warning") == uk(WARNING)
            assert uk("Priorities for survey and clearance") in page.inner_text("#priorities")
            assert uk("below 0.5") in page.inner_text("#legend")
            assert "(сценарій pessimistic)" in page.inner_text("#status")
            page.locator("path[data-area='HA-2']").click()
            page.wait_for_selector("#detail:not([hidden]) #detail-records li")
            assert uk("classification") in page.inner_text("#detail-facts")
            assert uk("{count}, laid {date} ({source})").split("{")[1].split("}")[1].strip(
                ", ") in page.inner_text("#detail-records")
        finally:
            browser.close()


PAYLOADS = ['<img src=x onerror="window.__xss=1;fetch(\'/steal?\'+sessionStorage.getItem('
            '\'hazardledger-token\'))">',
            "<script>window.__xss=1</script>", '"><svg onload="window.__xss=1">']


@pytest.fixture
def hostile_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A ledger whose every shown text field holds a script, opened by an admin."""
    led = Ledger(tmp_path / "hostile.gpkg")
    led.init()
    areas = areas_frame()
    areas["name"] = PAYLOADS
    areas["region"] = PAYLOADS
    led.import_frame("hazard_areas", areas, source="a", actor="t", now=NOW)
    laid = (pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=7)).isoformat()
    led.import_frame("records", pd.DataFrame({
        "id": ["R-1", "R-2", "R-3"], "area_id": ["HA-1", "HA-2", "HA-3"],
        "item_type": ["ap-persistent"] * 3, "count": [10, 10, 10], "laid_from": [laid] * 3,
        "source": ["minefield_record"] * 3, "info_reliability": ["high"] * 3,
        "geometry": [shapely.Point(36.02 + i / 10, 49.02) for i in range(3)]}),
        source="r", actor="t")
    led.import_frame("places", pd.DataFrame({
        "id": ["P-1", "P-2", "P-3"], "name": PAYLOADS, "population": [20_000] * 3,
        "geometry": [shapely.Point(36.02 + i / 10, 49.1) for i in range(3)]}),
        source="p", actor="t", now=NOW)
    token = add_user(led.store, "admin", "admin", actor="t")
    led.close()
    with _serving(str(led.location)) as url:
        yield url, token


@pytest.mark.parametrize("csp", [True, False], ids=["with-csp", "escaping-alone"])
def test_no_script_in_the_data_runs_for_an_admin(hostile_server: tuple[str, str],
                                                 csp: bool) -> None:
    """With the CSP, and without it (the page's own escaping must hold alone)."""
    url, token = hostile_server
    page_headers = httpx2.get(url, headers={"Accept": "text/html"}).headers
    assert "script-src 'self'" in page_headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page_headers["content-security-policy"]
    assert page_headers["x-content-type-options"] == "nosniff"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800},
                                    bypass_csp=not csp)
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url)
            page.fill("#token", token)
            page.click("#login button")
            page.wait_for_selector("body[data-ready='3']")
            for place in page.locator("path.place").all():  # every tooltip shown
                place.hover()
                page.wait_for_selector(".leaflet-tooltip")
            tooltips = page.inner_text(".leaflet-tooltip-pane")
            assert "<img" in tooltips or "<script>" in tooltips or "<svg" in tooltips
            for area in ("HA-1", "HA-2", "HA-3"):
                # from the priority list: after the map zooms to one area, the others may
                # lie outside the view
                page.locator("#priority-list li").filter(has_text=f"{area} ").click()
                expect(page.locator("#detail-title")).to_have_text(re.compile(f"^{area} "))
                page.wait_for_selector("#detail:not([hidden]) #detail-records li")
            shown = page.inner_text("#detail-title") + page.inner_text("#priority-list")
            assert any(payload in shown for payload in PAYLOADS)  # shown as text
            page.wait_for_timeout(300)
            assert page.evaluate("window.__xss") is None
            assert not dialogs
            assert not [u for u in requested if "steal" in u or not u.startswith(url)]
        finally:
            browser.close()


# a 1x1 PNG, the tile every request gets
TILE_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                         "1f15c4890000000d49444154789c6360f80f0000010100005c2bd5e40000"
                         "000049454e44ae426082")


@contextmanager
def _tile_server() -> Iterator[tuple[str, list[str]]]:
    """A tile server on loopback that answers every path with one PNG; the paths asked."""
    import http.server
    import threading

    asked: list[str] = []

    class Tiles(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(TILE_PNG)))
            self.end_headers()
            self.wfile.write(TILE_PNG)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()


def test_tiles_set_by_an_admin_load_under_the_policy(tmp_path: Path) -> None:
    """With the CSP on: tiles come from the one host the settings name, and its
    attribution is shown as text."""
    led, token = _small_ledger(tmp_path / "tiles.gpkg")
    with _tile_server() as (tiles, asked):
        led.store.set_meta("basemap_tile_url", tiles + "/{z}/{x}/{y}.png", actor="t")
        led.store.set_meta("basemap_attribution", PAYLOADS[0], actor="t")
        led.close()
        with _serving(str(led.location)) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": 800, "height": 600})
                blocked: list[str] = []
                page.on("console", lambda m: blocked.append(m.text)
                        if "Content Security Policy" in m.text else None)
                page.goto(url)
                page.fill("#token", token)
                page.click("#login button")
                page.wait_for_selector("body[data-ready='3']")
                page.wait_for_selector("img.leaflet-tile-loaded")
                assert asked and all(re.fullmatch(r"/\d+/\d+/\d+\.png", a) for a in asked)
                assert page.inner_text(".tile-attribution") == PAYLOADS[0]
                assert page.evaluate("window.__xss") is None and not blocked, blocked
            finally:
                browser.close()
