"""OGC API – Features Part 1 Core, verified by ogctests 0.1.15 (a black-box test suite from
the package index) against a served demo ledger, with a viewer's token.

ogctests has its own pinned dependencies (pytest, pyarrow, httpx), so ``make test`` installs
it in a virtual environment of its own (``.venv/ogctests``) and it runs here as a separate
process. Where ogctests itself is wrong, the case is named below with the reason, and the
test fails if such a case starts passing (so the list never outlives the reason).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from hazardledger.api.auth import add_user
from hazardledger.ledger import Ledger

from .test_api_clients import serve

OGCTESTS_PYTHON = Path(sys.prefix) / "ogctests" / "bin" / "python"
PLUGIN_DIR = Path(__file__).with_name("ogc")

# ogctests' own mistakes, one case at a time
WRONG_IN_OGCTESTS = {
    # It requires the conformance class of Part 2 (CRS by reference,
    # .../ogcapi-features-2/1.0/conf/crs). Part 1 Core asks only that geometries be in CRS84
    # unless a client asks for another (/req/core/crs84); the server serves CRS84 only and
    # rightly does not claim Part 2.
    "test_ast2": "ogcapi-features-2/1.0/conf/crs",
}
# ogctests 0.1.15 carries the Feature schema from before opengeospatial/ogcapi-features
# pull request 833, which refuses a null geometry. RFC 7946 section 3.2 (and so
# /req/geojson/content) allows one for an unlocated feature, as victims are; the tests run
# against a copy of ogctests whose Feature schema has that correction and nothing else.
NULL_GEOMETRY = ("  geometry:\n    $ref: \"urn:geometryGeoJSON\"\n",
                 "  geometry:\n    oneOf:\n      - $ref: \"urn:geometryGeoJSON\"\n"
                 "      - type: \"null\"\n")


@pytest.fixture
def served_demo(demo: tuple[Path, str], tmp_path: Path) -> Iterator[tuple[str, str]]:
    copy = tmp_path / "ledger.gpkg"
    shutil.copy(demo[0], copy)
    with Ledger(copy) as led:
        token = add_user(led.store, "ogctests", "viewer", actor="t")
    with serve(copy) as url:
        # The computed collections are prepared in the background from their first request
        # on (several seconds for the demo), longer than ogctests' 5 s client timeout: ask
        # until they are ready, as the server's Retry-After says.
        for cid in ("residual_hazard", "exposure", "priorities"):
            for _ in range(600):
                answer = httpx2.get(f"{url}/collections/{cid}/items?limit=1", timeout=None,
                                    headers={"Authorization": f"Bearer {token}"})
                if answer.status_code != 503:
                    break
                assert answer.json()["code"] == "BeingPrepared", answer.text
                time.sleep(float(answer.headers["Retry-After"]))
            assert answer.status_code == 200, answer.text
        yield url, token


def _ogctests_copy(target: Path) -> Path:
    """ogctests' package copied with the null-geometry correction; its Part 1 core tests."""
    found = subprocess.run([str(OGCTESTS_PYTHON), "-c", "import ogctests; print("
                            "ogctests.__path__[0])"], capture_output=True, text=True,
                           check=True).stdout.strip()
    package = target / "ogctests"
    shutil.copytree(found, package, ignore=shutil.ignore_patterns("__pycache__"))
    feature = package / "features" / "schemas" / "featureGeoJSON.yaml"
    text = feature.read_text()
    assert text.count(NULL_GEOMETRY[0]) == 1, "ogctests' Feature schema changed: review"
    feature.write_text(text.replace(*NULL_GEOMETRY))
    return package / "features" / "core"


def test_ogc_api_features_core(served_demo: tuple[str, str], tmp_path: Path) -> None:
    if not OGCTESTS_PYTHON.exists():
        pytest.fail(f"ogctests is not installed in {OGCTESTS_PYTHON.parent.parent}: run "
                    "'make test', which installs it")
    url, token = served_demo
    tests = _ogctests_copy(tmp_path)
    report = tmp_path / "ogctests.xml"
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # none of this project's settings
    env = {**os.environ, "INSTANCE_URL": url, "HAZARDLEDGER_OGC_TOKEN": token,
           "PYTHONPATH": str(PLUGIN_DIR)}
    run = subprocess.run([str(OGCTESTS_PYTHON), "-m", "pytest", str(tests), "-p",
                          "hazardledger_token", "-p", "no:cacheprovider", "-q", "-rN",
                          "--tb=line", f"--junitxml={report}", "-c",
                          str(tmp_path / "pytest.ini")], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert report.exists(), run.stdout + run.stderr
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped") is not None
        outcomes[case.get("name")] = ("skipped" if skipped else "passed" if problem is None
                                      else f"failed: {problem.get('message')}")
    assert len(outcomes) == 29, outcomes  # the Part 1 core abstract test suite of 0.1.15
    counts = {what.split(":")[0]: 0 for what in outcomes.values()}
    for what in outcomes.values():
        counts[what.split(":")[0]] += 1
    print(f"ogctests 0.1.15 features/core: {counts}")  # for the record (pytest -s)
    unexpected = {name: what for name, what in outcomes.items()
                  if what != "passed" and name not in WRONG_IN_OGCTESTS}
    assert unexpected == {}, run.stdout[-3000:]
    for name, reason in WRONG_IN_OGCTESTS.items():
        assert outcomes[name].startswith("failed") and reason in outcomes[name], \
            (name, outcomes[name])
