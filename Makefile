# Chavder — the two commands a fresh clone needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install engines run crawl demo test test-fast bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## The real search-engine nodes the tests start (Elasticsearch 8 and OpenSearch 2 jars via Maven
## into build/engines/; see testsupport/engine_node.py).
ENGINES := build/engines/elasticsearch/classes/ChavderEsNode.class \
           build/engines/opensearch/classes/ChavderOpenSearchNode.class
$(ENGINES) &: $(shell find tests/engines -name '*.java' -o -name pom.xml) | $(STAMP)
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

## The whole test suite (what CI runs).
test: install engines
	$(BIN)/python -m pytest -q

test-fast: install engines
	$(BIN)/python -m pytest -q -m "not slow"

## Every benchmark; one table, JSON under bench/results/ (long: see README "Benchmarks").
bench: install
	$(BIN)/python bench/run_all.py

bench-quick: install
	$(BIN)/python bench/run_all.py --quick

clean:
	rm -rf $(VENV) data .pytest_cache build/engines
