"""Shared fixtures: small valid layers in Ukraine and a GeoPackage validator."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import shapely

from hazardledger.ledger import Ledger

NOW = pd.Timestamp("2026-11-01T00:00:00Z")
UKRAINE = (22.1, 44.3, 40.3, 52.4)


GDAL36_UTILS = Path(__file__).resolve().parents[1] / ".venv" / "gdal-utils-3.6"


def gpkg_errors(path: Path) -> list:
    """GDAL's own GeoPackage validator (osgeo_utils, from the newest gdal-utils)."""
    from osgeo_utils.samples import validate_gpkg

    return validate_gpkg.check(str(path), abort_at_first_error=False, warning_msg=False)


def gpkg_errors_gdal36(path: Path) -> list:
    """The validator of GDAL 3.6 (Debian 12's, under QGIS 3.22), which make test installs
    beside the newest."""
    import importlib.util

    script = GDAL36_UTILS / "osgeo_utils" / "samples" / "validate_gpkg.py"
    if not script.exists():
        pytest.fail(f"{script} is missing: make test installs gdal-utils 3.6 there")
    spec = importlib.util.spec_from_file_location("validate_gpkg_gdal36", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.check(str(path), abort_at_first_error=False, warning_msg=False)


def areas_frame(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({
        "id": [f"HA-{i}" for i in range(1, n + 1)],
        "name": [f"Field {i}" for i in range(1, n + 1)],
        "classification": ["CHA"] * n,
        "status": ["open"] * n,
        "info_date": ["2024-05-01"] * n,
        "region": ["Kharkivska"] * n,
        "land_use": ["agricultural"] * n,
        "geometry": [shapely.box(36 + i / 10, 49, 36.05 + i / 10, 49.05) for i in range(n)],
    })


def records_frame(n: int = 3, area: str = "HA-1") -> pd.DataFrame:
    return pd.DataFrame({
        "id": [f"R-{i}" for i in range(1, n + 1)],
        "area_id": [area] * n,
        "item_type": ["ap-persistent"] * n,
        "count": [10 + i for i in range(n)],
        "laid_from": ["2024-03-01T06:00:00Z"] * n,
        "laid_to": ["2024-03-02T18:00:00Z"] * n,
        "source": ["minefield_record"] * n,
        "info_reliability": ["high"] * n,
        "geometry": [shapely.Point(36.01 + i / 1000, 49.01) for i in range(n)],
    })


@contextlib.contextmanager
def environment(name: str, value: str) -> Iterator[None]:
    """``name`` set to ``value`` for the session, and put back as it was after it."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@pytest.fixture(autouse=True, scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Victims' personal fields are sealed with a key held outside the ledger: every test
    (and every command it runs) has one, as a real installation would."""
    from hazardledger.store.personal import KEY_FILE_ENV, create_key_file

    path = tmp_path_factory.mktemp("keys") / "ledger.key"
    create_key_file(path)
    with environment(KEY_FILE_ENV, str(path)):
        yield path


@pytest.fixture(autouse=True, scope="session")
def english() -> Iterator[None]:
    """Tests read what people read in English unless they ask for another language,
    whatever the machine's locale."""
    from hazardledger.locale import LANG_ENV

    with environment(LANG_ENV, "en"):
        yield


@pytest.fixture(autouse=True, scope="session")
def figure_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Servers the tests start keep their prepared figures here, not in the user's cache."""
    from hazardledger.api.figure_cache import CACHE_ENV

    path = tmp_path_factory.mktemp("figures")
    path.chmod(0o700)
    with environment(CACHE_ENV, str(path)):
        yield path


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo ledger as ``hazardledger demo`` builds it, and what it printed (built once:
    the demo tests and the OGC conformance run share it, and must not change it)."""
    from rich.console import Console

    from hazardledger.demo.build import build_demo

    console = Console(record=True, width=200)
    path = build_demo(tmp_path_factory.mktemp("demo"), console=console)
    return path, console.export_text()


@pytest.fixture
def empty_ledger(tmp_path: Path) -> Path:
    """A new ledger with nothing in it, closed: its path."""
    path = tmp_path / "empty.gpkg"
    with Ledger(path) as led:
        led.init()
    return path


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """A ledger holding three hazard areas and three records."""
    led = Ledger(tmp_path / "ledger.gpkg")
    led.init()
    led.set_extent(UKRAINE, actor="test")
    led.import_frame("hazard_areas", areas_frame(), source="areas", actor="test", now=NOW)
    led.import_frame("records", records_frame(), source="records", actor="test", now=NOW)
    return led


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` seen through a read-only mount (as root), or made unwritable."""
    if os.geteuid() != 0:
        for path in [folder, *folder.iterdir()]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield folder
        finally:
            for path in [folder, *folder.iterdir()]:
                path.chmod(0o755 if path.is_dir() else 0o644)
        return
    view = folder.with_name(folder.name + "-ro")
    view.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(folder), str(view)], capture_output=True)
    if mounted.returncode != 0:
        pytest.fail(f"cannot make a read-only view for the test: {mounted.stderr!r}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        yield view
    finally:
        subprocess.run(["umount", str(view)], check=True)
