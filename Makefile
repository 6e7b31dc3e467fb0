# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test check bench clean

install: $(STAMP)

# torch first and pinned: a CPU build is served for exactly 2.13.0; anything else pulls CUDA.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# PORT=9000 make run, HOST=0.0.0.0 make run: where it listens (else server.port and server.host).
run: install
	$(BIN)/supporthub reindex
	$(BIN)/supporthub serve $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

test: install
	$(BIN)/python -m pytest

# The gates CI runs beside the tests: ruff (lint and format) and mypy --strict, over the
# product and the tests (settings in pyproject.toml).
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data
