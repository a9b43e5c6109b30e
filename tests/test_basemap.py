"""The web map's optional tile basemap: set by an admin in the ledger's settings, checked
strictly (it reaches the Content-Security-Policy), and otherwise no request to any other
host."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hazardledger.api.app import create_app
from hazardledger.api.basemap import URL_SETTING, tile_basemap
from hazardledger.cli import app as cli
from hazardledger.ledger import Ledger

TILES = "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png?key=abc"


def test_a_tile_url_gives_its_origin_and_nothing_more() -> None:
    tiles = tile_basemap(TILES, " © OpenStreetMap contributors, ODbL ")
    assert tiles.origin == "https://tiles.example.org:8443"
    assert tiles.attribution == "© OpenStreetMap contributors, ODbL"
    assert tile_basemap("http://10.0.0.5/{z}/{y}/{x}.png", "local").origin == \
        "http://10.0.0.5"


@pytest.mark.parametrize("url, message", [
    ("https://t.example.org/{z}/{x}/{y}.png; script-src *", "no spaces, quotes or ';'"),
    ("https://t.example.org/{z}/{x}/{y}.png;script-src", "no spaces, quotes or ';'"),
    ("https://t.example.org/{z}/{x}/{y}.png'", "no spaces, quotes or ';'"),
    ('https://t.example.org/{z}/{x}/{y}.png"', "no spaces, quotes or ';'"),
    ("javascript:alert(1)//{z}/{x}/{y}", "expected http(s)://host"),
    ("data:image/png;base64,{z}{x}{y}", "expected http(s)://host"),
    ("https://user@t.example.org/{z}/{x}/{y}.png", "expected http(s)://host"),
    ("https://t.example.org/{z}/{x}.png", "needs {y} exactly once"),
    ("https://{s}.t.example.org/{z}/{x}/{y}.png", "expected http(s)://host"),
    ("https://t.example.org/{s}/{z}/{x}/{y}.png", "only {z}, {x}, {y} and {r}"),
    ("https://t.example.org:99999/{z}/{x}/{y}.png", "port 99999"),
    ("https://t.example.org/" + "a" * 500 + "/{z}/{x}/{y}", "at most 500 characters"),
    ("https://t.example.org/{z}/{x}/{y}.png\n", "no spaces, quotes or ';'"),
])
def test_bad_tile_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        tile_basemap(url, "provider")


@pytest.mark.parametrize("attribution", ["", "   ", "a\x1b[2Jb", "x" * 201, "a\u202eb"])
def test_bad_attributions_are_refused(attribution: str) -> None:
    with pytest.raises(ValueError, match="basemap attribution"):
        tile_basemap(TILES, attribution)


def test_without_a_basemap_the_policy_names_no_other_host(empty_ledger: Path) -> None:
    client = TestClient(create_app(str(empty_ledger)))
    answer = client.get("/map-settings.json")
    assert answer.json() == {"tiles": None}
    assert "img-src 'self' data:;" in answer.headers["content-security-policy"]


def test_a_basemap_set_by_the_cli_reaches_the_map_and_the_policy(empty_ledger: Path) -> None:
    runner = CliRunner()
    db = ["--db", str(empty_ledger)]
    done = runner.invoke(cli, ["basemap", "set", TILES, "--attribution",
                               "<b>OSM</b> contributors", *db])
    assert done.exit_code == 0, done.output
    assert "tiles from https://tiles.example.org:8443" in done.output
    client = TestClient(create_app(str(empty_ledger)))
    answer = client.get("/map-settings.json")
    assert answer.json() == {"tiles": {"url": TILES, "attribution": "<b>OSM</b> contributors"}}
    policy = answer.headers["content-security-policy"]
    assert "img-src 'self' data: https://tiles.example.org:8443;" in policy
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert "<b>OSM" in runner.invoke(cli, ["basemap", "show", *db]).output
    with Ledger(empty_ledger) as led:
        assert list(led.audit_log()["feature_id"].tail(2)) == ["basemap_tile_url",
                                                               "basemap_attribution"]
    assert runner.invoke(cli, ["basemap", "off", *db]).exit_code == 0
    client = TestClient(create_app(str(empty_ledger)))
    assert client.get("/map-settings.json").json() == {"tiles": None}
    assert "outlines" in runner.invoke(cli, ["basemap", "show", *db]).output


def test_a_bad_url_is_refused_and_nothing_written(empty_ledger: Path) -> None:
    with Ledger(empty_ledger) as led:
        entries = len(led.audit_log())
    bad = CliRunner().invoke(cli, ["basemap", "set", "https://x.org/{z}/{x}/{y};img-src *",
                                   "--attribution", "x", "--db", str(empty_ledger)])
    assert bad.exit_code == 2 and "no spaces, quotes or ';'" in bad.output
    with Ledger(empty_ledger) as led:
        assert len(led.audit_log()) == entries and led.store.get_meta(URL_SETTING) is None


def test_a_setting_edited_by_another_program_is_ignored(empty_ledger: Path,
                                                       caplog: pytest.LogCaptureFixture
                                                       ) -> None:
    with Ledger(empty_ledger) as led:
        led.store.set_meta(URL_SETTING, "https://x.org/{z}/{x}/{y}; script-src *", actor="t")
    with caplog.at_level(logging.WARNING, logger="hazardledger.api"):
        client = TestClient(create_app(str(empty_ledger)))
    assert "basemap setting is ignored" in caplog.text
    answer = client.get("/map-settings.json")
    assert answer.json() == {"tiles": None}
    assert "script-src *" not in answer.headers["content-security-policy"]
