"""The server in its own process, read by real OGC API – Features clients: GDAL's OAPIF
driver (through pyogrio) and OWSLib."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pyogrio
import pytest
from owslib.ogcapi.features import Features

from hazardledger.api.auth import add_user
from hazardledger.ledger import Ledger

from .test_priorities import ranked_ledger  # noqa: F401  (fixture)

HAZARDLEDGER = str(Path(sys.executable).with_name("hazardledger"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(ranked_ledger: Ledger) -> Iterator[tuple[str, str]]:  # noqa: F811
    token = add_user(ranked_ledger.store, "qgis", "viewer", actor="t")
    ranked_ledger.close()
    with serve(ranked_ledger.location) as url:
        yield url, token


@contextlib.contextmanager
def serve(location: str | Path) -> Iterator[str]:
    """``hazardledger serve`` on the ledger in its own process, on a free port; its URL once
    it answers."""
    port = _free_port()
    process = subprocess.Popen([HAZARDLEDGER, "serve", "--db", str(location),
                                "--port", str(port)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:  # readiness, not a time limit: it ends when the server answers or dies
            try:
                if httpx2.get(f"{url}/conformance").status_code == 200:
                    break
            except httpx2.TransportError:
                if process.poll() is not None:
                    output = process.stdout.read().decode() if process.stdout else ""
                    raise AssertionError(f"the server died: {output}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait()


def test_gdal_reads_every_feature(server: tuple[str, str]) -> None:
    url, token = server
    # GDAL's own bearer-token support (GDAL_HTTP_HEADERS is not sent by the OAPIF driver)
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": token})
    try:
        layers = {name for name, _ in pyogrio.list_layers(f"OAPIF:{url}")}
        assert {"hazard_areas", "records", "places", "priorities"} <= layers
        records = pyogrio.read_dataframe(f"OAPIF:{url}", layer="records")
        assert sorted(records["id"]) == ["R-1", "R-2", "R-3", "R-4"]
        assert records.geometry.notna().all()
        areas = pyogrio.read_dataframe(f"OAPIF:{url}", layer="hazard_areas")
        assert len(areas) == 4 and set(areas.geometry.geom_type) == {"MultiPolygon"}
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


def test_owslib_lists_and_reads(server: tuple[str, str]) -> None:
    url, token = server
    api = Features(url, headers={"Authorization": f"Bearer {token}"})
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()[
        "conformsTo"]
    ids = {c["id"] for c in api.collections()["collections"]}
    assert {"records", "residual_hazard", "exposure", "priorities"} <= ids
    items = api.collection_items("records", limit=2)
    assert items["numberMatched"] == 4 and len(items["features"]) == 2
    rest = api.collection_items("records", limit=2, offset=2)
    assert [f["id"] for f in items["features"] + rest["features"]] == ["R-1", "R-2", "R-3",
                                                                       "R-4"]
    assert api.collection_item("records", "R-3")["properties"]["area_id"] == "HA-2"


def test_debian_gdal_36_reads_with_basic_authentication(server: tuple[str, str]) -> None:
    """Debian 12's GDAL 3.6 (and QGIS 3.22, which uses it) has no bearer tokens: it logs in
    with HTTP Basic, the user's name and the token as the password."""
    import shutil

    url, token = server
    ogrinfo = shutil.which("ogrinfo")
    assert ogrinfo, "Debian's gdal-bin is missing: run 'make system'"
    version = subprocess.run([ogrinfo, "--version"], capture_output=True, text=True).stdout
    env = {"PATH": "/usr/bin:/bin", "GDAL_HTTP_AUTH": "BASIC",
           "GDAL_HTTP_USERPWD": f"qgis:{token}"}
    listed = subprocess.run([ogrinfo, "-ro", "-so", f"OAPIF:{url}", "records"],
                            capture_output=True, text=True, env=env)
    assert listed.returncode == 0, (version, listed.stderr)
    assert "Feature Count: 4" in listed.stdout or "records" in listed.stdout
    features = subprocess.run([ogrinfo, "-ro", "-q", f"OAPIF:{url}", "records"],
                              capture_output=True, text=True, env=env)
    assert features.returncode == 0 and features.stdout.count("OGRFeature(records)") == 4
    wrong = subprocess.run([ogrinfo, "-ro", "-so", f"OAPIF:{url}", "records"],
                           capture_output=True, text=True,
                           env={**env, "GDAL_HTTP_USERPWD": f"someone-else:{token}"})
    assert wrong.returncode != 0  # the name must be the token's user's


@pytest.mark.parametrize("gzip", ["YES", "NO"])
def test_debian_gdal_36_reads_figures_gzip_or_not(server: tuple[str, str], gzip: str) -> None:
    """Pages of figures are sent gzip-compressed to clients that ask for it: GDAL asks
    unless CPL_CURL_GZIP is NO. Debian's GDAL 3.6 reads the same areas either way."""
    import shutil

    url, token = server
    ogrinfo = shutil.which("ogrinfo")
    assert ogrinfo, "Debian's gdal-bin is missing: run 'make system'"
    env = {"PATH": "/usr/bin:/bin", "GDAL_HTTP_AUTH": "BASIC",
           "GDAL_HTTP_USERPWD": f"qgis:{token}", "CPL_CURL_GZIP": gzip,
           "CPL_CURL_VERBOSE": "YES"}  # the headers on stderr
    read = subprocess.run([ogrinfo, "-ro", "-q", f"OAPIF:{url}", "residual_hazard"],
                          capture_output=True, text=True, env=env)
    assert read.returncode == 0, read.stderr
    pages = [line for line in read.stderr.splitlines() if "x-figures-state" in line.lower()]
    assert pages, read.stderr  # the pages of figures were read
    compressed = "content-encoding: gzip" in read.stderr.lower()
    assert compressed == (gzip == "YES")
    assert read.stdout.count("OGRFeature(residual_hazard)") == 4
    assert "expected_q50 (Real)" in read.stdout and "HA-1" in read.stdout
