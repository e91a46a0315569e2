# Quake Expedition: the two commands of the README are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test test-fast check bench calibrate soak clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	# USGS STREC's region polygons (CC0) for the measured, not adopted, tectonic rule (docs/science.md,
	# "Tectonic regions"): its data files only. With its dependencies it would add 28 packages and 548 MB
	# (openquake.engine via esi-utils-rupture; openquake >= 3.26 needs GDAL built from source here).
	$(PY) -m pip install --quiet --no-deps 'usgs-strec==2.3.14'
	touch $(STAMP)

## Run the offline demo end to end (creates .venv on first use).
demo: $(STAMP)
	$(VENV)/bin/expedition demo

## Run the whole test suite (creates .venv on first use) on every core (pytest-xdist; TEST_WORKERS=0 runs it in
## one process); the 15 slowest tests are listed at the end.
TEST_WORKERS ?= auto
XDIST = -n $(TEST_WORKERS) --dist loadfile
test: $(STAMP)
	$(PY) -m pytest -q $(XDIST) --durations=15

## The fast lane: everything but the slow tests and those that run flows on the Prefect test server.
test-fast: $(STAMP)
	$(PY) -m pytest -q $(XDIST) --durations=15 -m "not slow and not prefect"

## Lint (ruff: style, imports, complexity, argument counts, API docstrings, line length) and type-check
## (mypy; strict for catalogs and warehouse). The same hooks run on commit with pre-commit.
check: $(STAMP)
	$(VENV)/bin/ruff check catalogs expedition warehouse flows tests bench
	$(VENV)/bin/mypy

## Every benchmark in bench/: one table, and bench/results.json.
bench: $(STAMP)
	$(PY) -m bench

## Calibration of the impact chain against the GEM ECD death tolls (ours vs today's main, one run).
calibrate: $(STAMP)
	$(PY) -m bench.calibrate

## The full crash-consistency soak (SIGKILL at random moments, many trials).
soak: $(STAMP)
	$(PY) -m bench.soak --trials 50

clean:
	rm -rf $(VENV) build *.egg-info
