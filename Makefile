# Chavder — the two commands a fresh clone needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEV    := $(VENV)/.dev-stamp

.PHONY: install dev engines run crawl demo test test-fast bench bench-quick clean

## `make install`: the service alone (what a production host needs: no test tools). In a
## checkout that already has the development install (`make dev`, `make test`), that one stays.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	if [ -f $(DEV) ]; then $(BIN)/python -m pip install --quiet -e '.[test]'; \
	else $(BIN)/python -m pip install --quiet -e '.[apprise]'; fi
	touch $(STAMP)

install: $(STAMP)

## `make dev`: editable install with the test tools (pytest, aiosmtpd, pyseccomp …), and the
## Debian packages the tests' real servers and sandboxes need (installed only when missing).
## chromium: the headless browser of render: browser sources (tests/test_browser_render.py);
## redis-server: the shared frontier of scale-out workers (tests/test_scale_out*.py);
## nginx: the outlet's web server in bench/scale_out.py (testsupport/nginx_web.py).
DEBIAN_TEST_PACKAGES := libseccomp2 chromium redis-server nginx
$(DEV): pyproject.toml | $(BIN)/python
	@missing=""; for pkg in $(DEBIAN_TEST_PACKAGES); do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(DEV) $(STAMP)

dev: $(DEV)

## The real search-engine nodes the tests start (Elasticsearch 8 and OpenSearch 2 jars via Maven
## into build/engines/; see testsupport/engine_node.py).
ENGINES := build/engines/elasticsearch/classes/ChavderEsNode.class \
           build/engines/opensearch/classes/ChavderOpenSearchNode.class
$(ENGINES) &: $(shell find tests/engines -name '*.java' -o -name pom.xml) | $(DEV)
	$(BIN)/python -m testsupport.engine_node --build

engines: $(ENGINES)

## Run Chavder on the embedded defaults (SQLite store and outbox under ./data/).
run: install
	$(BIN)/chavder run

## Crawl every enabled source once and print a per-source summary.
crawl: install
	$(BIN)/chavder crawl

## Crawl the bundled sample outlets on 127.0.0.1 and search for الرقة (no network needed).
demo: install
	$(BIN)/chavder demo

## The whole test suite (what CI runs), on 2 processes: each takes whole test files (so a file's
## module fixtures are built once) and starts its own session servers (ES, OpenSearch, Redis).
TEST_PROCESSES ?= 2
test: dev engines
	$(BIN)/python -m pytest -q -n $(TEST_PROCESSES) --dist loadfile

test-fast: dev engines
	$(BIN)/python -m pytest -q -n $(TEST_PROCESSES) --dist loadfile -m "not slow"

## Every benchmark; one table, JSON under bench/results/ (long: see README "Benchmarks").
bench: dev
	$(BIN)/python bench/run_all.py

bench-quick: dev
	$(BIN)/python bench/run_all.py --quick

clean:
	rm -rf $(VENV) data .pytest_cache build/engines
