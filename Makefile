# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run sandbox test check bench docs docs-build screenshots clean

install: $(STAMP)

# torch first and pinned: a CPU build is served for exactly 2.13.0; anything else pulls CUDA.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

# PORT=9000 make run, HOST=0.0.0.0 make run: where it listens (else server.port and server.host).
# FORCE=1 make run: re-index even when that removes most of the index (the sample articles
# replaced by your own help centre; see docs/knowledge.md, "What a re-index keeps and removes").
run: install
	$(BIN)/supporthub reindex $(if $(FORCE),--force)
	$(BIN)/supporthub serve $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

# Every channel against local stand-ins of its platform, tried from http://127.0.0.1:8080/sandbox.
sandbox: install
	$(BIN)/supporthub reindex $(if $(FORCE),--force)
	$(BIN)/supporthub sandbox $(if $(PORT),--port $(PORT))

test: install
	$(BIN)/python -m pytest

# The gates CI runs beside the tests: ruff (lint and format) and mypy --strict, over the
# product and the tests (settings in pyproject.toml).
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The docs site (docs/, Sphinx with MyST markdown): served on http://127.0.0.1:8000 and rebuilt
# on every change; docs-build is CI's build, where any warning (a broken link, a page outside
# the contents) is an error.
docs: install
	$(BIN)/sphinx-autobuild docs docs/_build/html --port $(or $(DOCS_PORT),8000)

docs-build: install
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# The README's and the docs' screenshots, taken in Chromium from a running hub (docs/screenshots.py).
screenshots: install
	$(BIN)/python docs/screenshots.py

bench: install
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data docs/_build
