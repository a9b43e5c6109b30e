# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: demo test lint typecheck clean bench system

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo needs only the package; the tests add their tools (and pygeoapi, the server's
# baseline, with its own dependencies).
$(RUN_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	# gdal-utils is pure Python; only its GeoPackage validator is used, which needs no GDAL bindings:
	# the newest, and GDAL 3.6's (Debian 12, under QGIS 3.22) in a folder of its own
	$(BIN)/pip install --quiet --no-deps 'gdal-utils>=3.8,<4'
	$(BIN)/pip install --quiet --no-deps --target $(VENV)/gdal-utils-3.6 'gdal-utils>=3.6,<3.7'
	# ogctests (OGC API - Features conformance, tests/test_ogctests.py) pins its own pytest
	# and pyarrow, so it gets an environment of its own
	$(PYTHON) -m venv $(VENV)/ogctests
	$(VENV)/ogctests/bin/pip install --quiet 'ogctests==0.1.15'
	touch $(STAMP)

demo: $(RUN_STAMP)
	$(BIN)/hazardledger demo demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# Debian packages the tests use (poppler-utils for the PDF reports, chromium for the web map,
# SpatiaLite for the pygeoapi baseline)
system:
	bash scripts/system-packages.sh

# The suite runs the store, import, audit, hazard and server tests on a GeoPackage and on
# PostGIS: a throwaway PostgreSQL on loopback is started for it and stopped after it.
# -m "" runs the slow suites too, which a plain 'pytest' leaves out.
test: $(STAMP) lint system
	bash scripts/postgres.sh start
	HAZARDLEDGER_TEST_POSTGRES=$$(bash scripts/postgres.sh url) HAZARDLEDGER_REQUIRE_POSTGIS=1 \
		$(BIN)/pytest -q -m ""; status=$$?; bash scripts/postgres.sh stop; exit $$status

bench: $(STAMP)
	bash scripts/system-packages.sh bench
	$(BIN)/python benchmarks/import_bench.py
	$(BIN)/python benchmarks/hazard_bench.py
	$(BIN)/python benchmarks/fit_bench.py
	$(BIN)/python benchmarks/exposure_bench.py
	$(BIN)/python benchmarks/load_bench.py

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache
