# facerec: the two commands a fresh clone needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup setup-test demo test lint typecheck clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the core install: detection, alignment, embedding, the CLI
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# everything the tests exercise: core + dev tools + the train extra (Keras on TensorFlow)
$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,train,gallery,postgres,serve,video,distributed]'
	touch $@ $(VENV)/.core

samples/.fetched: tools/fetch_samples.py | $(BIN)/python
	$(BIN)/python tools/fetch_samples.py samples
	touch $@

setup: $(VENV)/.core samples/.fetched
setup-test: $(VENV)/.test samples/.fetched

## demo: set up, then name the people in the sample photos (one known, one unknown, two in one picture) and write
## annotated copies to out/demo
demo: setup
	$(BIN)/facerec identify --known samples/demo/known samples/demo/photos --draw out/demo
	@echo "annotated: $$(ls out/demo/two_people_montage.jpg) (and the other photos in out/demo/)"

## test: set up (with the dev and train extras), then run the test suite and the docstrings' examples
test: setup-test
	$(BIN)/python -m pytest

## lint: ruff with the rule set and line length of pyproject.toml, on everything that is Python
lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks examples tools

## typecheck: mypy --strict on src and tests, for the oldest Python that requires-python allows
typecheck: $(VENV)/.test
	$(BIN)/mypy

clean:
	rm -rf $(VENV) samples out .pytest_cache
