# facerec: the two commands a fresh clone needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev

.PHONY: setup demo test lint typecheck bench clean

setup: $(VENV)/.installed samples/.fetched

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

samples/.fetched: tools/fetch_samples.py | $(VENV)/.installed
	$(BIN)/python tools/fetch_samples.py samples
	touch $@

## demo: set up, then name the people in the sample photos and write annotated copies to out/demo
demo: setup
	$(BIN)/facerec identify --known samples/known samples/unknown --draw out/demo

## test: set up, then run the test suite
test: setup
	$(BIN)/python -m pytest

lint:
	$(BIN)/ruff check src tests benchmarks

typecheck:
	$(BIN)/mypy

clean:
	rm -rf $(VENV) samples out .pytest_cache
