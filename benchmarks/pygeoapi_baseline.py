"""pygeoapi serving a ledger's GeoPackage layer: the baseline the load benchmark compares
`hazardledger serve` with, on the same items requests.

pygeoapi (0.21, the newest release for Python 3.11) serves a GeoPackage through its
SQLiteGPKG provider, which loads SpatiaLite into sqlite3 (`mod_spatialite`, Debian's
libsqlite3-mod-spatialite). The Python here is built without sqlite3 extension loading, so
the server's interpreter imports pysqlite3 (pysqlite3-binary, a build of the sqlite3 module
that allows it) in place of sqlite3, through a sitecustomize on its PYTHONPATH. pygeoapi runs
the way its own container runs it: gunicorn with the Flask app, synchronous workers.

The provider runs SpatiaLite's AutoGPKGStart() on every request, which (re)creates virtual
tables in the file: it writes to the GeoPackage it serves. So pygeoapi is given a copy of the
ledger taken when the comparison starts (the same layer), never the ledger. The copy is put
in write-ahead-log mode, as `hazardledger serve` puts its ledger: in SQLite's default
journal those per-request writes lock the readers out, and pygeoapi served half as many
pages with one worker and a tenth with two (measured on the demo ledger).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from hazardledger.ledger import Ledger

SHIM = "import sys\nimport pysqlite3\nsys.modules['sqlite3'] = pysqlite3\n"

CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 100, max_items: 1000}}
  map: {{url: "http://127.0.0.1:{port}/none/{{z}}/{{x}}/{{y}}.png", attribution: none}}
logging:
  level: ERROR
metadata:
  identification:
    title: Hazard Ledger load benchmark baseline
    description: the ledger's {layer} layer served by pygeoapi
    keywords: [mine action]
    keywords_type: theme
    terms_of_service: none
    url: http://127.0.0.1:{port}
  license: {{name: none, url: http://127.0.0.1:{port}}}
  provider: {{name: benchmark, url: http://127.0.0.1:{port}}}
  contact: {{name: benchmark, position: none, address: none, city: none,
            stateorprovince: none, postalcode: none, country: none, phone: none,
            fax: none, email: none, url: none, hours: none, instructions: none,
            role: pointOfContact}}
resources:
  {layer}:
    type: collection
    title: {layer}
    description: the ledger's {layer} layer
    keywords: [{layer}]
    extents:
      spatial:
        bbox: [-180, -90, 180, 90]
        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
    providers:
      - type: feature
        name: SQLiteGPKG
        data: {data}
        id_field: id
        table: {layer}
"""


def missing() -> str | None:
    """Why the baseline cannot run here, or None when it can."""
    for module in ("pygeoapi", "gunicorn", "pysqlite3"):
        try:
            __import__(module)
        except ImportError:
            return f"the Python package {module} is not installed (pip install -e '.[test]')"
    if spatialite() is None:
        return "mod_spatialite is not installed (Debian: libsqlite3-mod-spatialite)"
    return None


def spatialite() -> str | None:
    """Path of SpatiaLite's loadable module, from Debian's libsqlite3-mod-spatialite."""
    found = sorted(Path("/usr/lib").glob("*/mod_spatialite.so")) + sorted(
        Path("/usr/lib").glob("mod_spatialite.so"))
    return str(found[0]) if found else None


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(gpkg: str | Path, work: Path, workers: int, layer: str = "records"
          ) -> tuple[subprocess.Popen[bytes], str]:
    """Serve a copy of ``layer`` of the GeoPackage ``gpkg`` with pygeoapi on loopback."""
    reason = missing()
    if reason:
        raise RuntimeError(f"pygeoapi baseline unavailable: {reason}")
    work.mkdir(parents=True, exist_ok=True)
    data = work / "served-by-pygeoapi.gpkg"
    shutil.copyfile(gpkg, data)
    with Ledger(data) as copy:
        copy.store.begin_serving()  # WAL, as our own server has it; left so for pygeoapi
    shim = work / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(SHIM)
    port = _port()
    config = work / "pygeoapi.yml"
    config.write_text(CONFIG.format(port=port, layer=layer, data=data))
    openapi = work / "pygeoapi-openapi.yml"
    bin_dir = Path(sys.executable).parent
    env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi),
           "PYTHONPATH": str(shim), "SPATIALITE_LIBRARY_PATH": str(spatialite()),
           "PATH": f"{bin_dir}:/usr/bin:/bin"}
    subprocess.run([str(bin_dir / "pygeoapi"), "openapi", "generate", str(config),
                    "--output-file", str(openapi)], env=env, check=True,
                   capture_output=True)
    log = (work / "pygeoapi.log").open("wb")
    process = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--timeout", "120", "pygeoapi.flask_app:APP"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            httpx2.get(url + "/conformance", timeout=10)
            return process, url
        except httpx2.TransportError:
            if process.poll() is not None:
                raise RuntimeError(f"pygeoapi did not start; see {work / 'pygeoapi.log'}"
                                   ) from None
            time.sleep(0.1)
