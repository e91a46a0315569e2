# Quake Expedition: the two commands of the README are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test check bench calibrate soak clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the offline demo end to end (creates .venv on first use).
demo: $(STAMP)
	$(VENV)/bin/expedition demo

## Run the whole test suite (creates .venv on first use).
test: $(STAMP)
	$(PY) -m pytest -q

## Lint and type-check.
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
