# The two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck clean bench system

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	# gdal-utils is pure Python; only its GeoPackage validator is used, which needs no GDAL bindings
	$(BIN)/pip install --quiet --no-deps 'gdal-utils>=3.8,<4'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hazardledger demo demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# Debian packages the tests use (poppler-utils for the PDF reports, chromium for the web map)
system:
	bash scripts/system-packages.sh

test: $(STAMP) lint system
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/import_bench.py
	$(BIN)/python benchmarks/hazard_bench.py
	$(BIN)/python benchmarks/fit_bench.py
	$(BIN)/python benchmarks/exposure_bench.py

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache
