# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
# VENV=/tmp/somewhere make install: a second environment beside .venv (e.g. to time a fresh install).
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Every package of .[test,docs,discord,teams] at one exact version, with its hashes: what `make install` and so
# CI (.ci/run → make check/docs-build/test) install. RUNTIME_LOCK: the same versions, the
# [project] dependencies alone: what the Dockerfile installs. `make lock` writes both.
LOCK := requirements.lock
RUNTIME_LOCK := requirements-runtime.lock
# The installer itself, the same everywhere too (pip-tools 7.6 works with it).
PIP := pip==26.3

.PHONY: install lock run sandbox test test-quick check bench docs docs-build screenshots clean

install: $(STAMP)

# The lock as it is (--no-deps: nothing resolved, nothing it does not name; its hashes checked),
# then the project itself, editable, built with the lock's setuptools; pip check fails when
# pyproject.toml asks for what the lock lacks (run `make lock`). pip reads the machine's pip.conf
# as ever: torch 2.13.0+cpu comes from its find-links, never the CUDA build. ~1.5-2 minutes
# in a new venv, mostly unpacking 2.7 GB and compiling bytecode, not downloading.
$(STAMP): $(LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --progress-bar off $(PIP)
	$(BIN)/python -m pip install --quiet --progress-bar off --no-deps --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --progress-bar off --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# Resolves pyproject.toml's dependencies, with the test, docs, discord and teams extras, into $(LOCK), then
# the dependencies alone into $(RUNTIME_LOCK) at the same versions, with pip-tools (which reads
# pip.conf, like pip) in a throwaway venv. Versions already locked stay unless pyproject.toml
# no longer allows them; UPGRADE=1 takes the newest of everything (~3 minutes: the hashes of
# every platform's files). Refuses a lock without the CPU torch or with nvidia-* packages
# (what a machine without the CPU wheel in its find-links resolves).
lock:
	@set -e; tools=$$(mktemp -d); trap 'rm -rf "$$tools"' EXIT; \
	$(PYTHON) -m venv "$$tools/venv"; \
	"$$tools/venv/bin/python" -m pip install --quiet --progress-bar off $(PIP) pip-tools==7.6.2; \
	compile() { CUSTOM_COMPILE_COMMAND='make lock' "$$tools/venv/bin/pip-compile" --quiet \
		--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links "$$@"; }; \
	if test -f $(LOCK); then cp $(LOCK) "$$tools/$(LOCK)"; fi; \
	compile --extra test --extra docs --extra discord --extra teams $(if $(UPGRADE),--upgrade) --output-file "$$tools/$(LOCK)" pyproject.toml; \
	cp "$$tools/$(LOCK)" "$$tools/$(RUNTIME_LOCK)"; \
	compile --constraint "$$tools/$(LOCK)" --output-file "$$tools/$(RUNTIME_LOCK)" pyproject.toml; \
	for lock in $(LOCK) $(RUNTIME_LOCK); do \
		if ! grep -qx 'torch==2\.13\.0+cpu \\' "$$tools/$$lock" \
			|| grep -Eiq '^(nvidia-|triton|cuda-)' "$$tools/$$lock"; then \
			echo "make lock: torch did not resolve to the 2.13.0+cpu wheel (is its find-links in pip.conf?)" >&2; \
			exit 1; \
		fi; \
	done; \
	{ printf '%s\n' $(LOCK_NOTE); sed -e "s|-c $$tools/|-c |" "$$tools/$(LOCK)"; } > $(LOCK); \
	{ printf '%s\n' $(RUNTIME_LOCK_NOTE); sed -e "s|-c $$tools/|-c |" "$$tools/$(RUNTIME_LOCK)"; } > $(RUNTIME_LOCK)

LOCK_NOTE := \
	'\# Every package of .[test,docs,discord,teams] at one version, with the hashes pip checks: what `make install`' \
	'\# and CI install (`pip install --no-deps --require-hashes -r $(LOCK)`, then the project itself' \
	'\# with `pip install --no-deps -e .`). Do not edit: `make lock` rewrites it from pyproject.toml' \
	'\# (UPGRADE=1 for the newest versions allowed). Resolved with CPython 3.11 on Linux x86_64;' \
	'\# torch is the CPU wheel 2.13.0+cpu from the find-links in pip.conf (its hash is of that file).'
RUNTIME_LOCK_NOTE := \
	'\# The [project] dependencies of pyproject.toml alone, at the versions in $(LOCK): what the' \
	'\# Dockerfile installs (torch from the PyTorch CPU index first). Do not edit: `make lock` writes it.'

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

# The whole suite (about 11 minutes here; PYTEST_ARGS for more, e.g. --durations=25 as CI).
# test-quick: the day-to-day lane, under 5 minutes: it leaves out the tests marked slow (real
# processes, re-index children, timing-bound loops) and the browser tests.
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-quick: install
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

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
