# Two commands on a fresh machine: `make dashboards` (the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama.cpp's default build uses -march=native; a portable build runs on any x86-64 host.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
# binary:Debian package, installed by `make toolchain` when the binary is missing.
DEBIAN_TOOLCHAIN := promtool:prometheus prometheus-alertmanager:prometheus-alertmanager \
	prometheus-node-exporter:prometheus-node-exporter kubectl:kubernetes-client wrk:wrk \
	victoria-metrics:victoria-metrics

.PHONY: all install dashboards generate lint test test-fast bench bench-check demo toolchain clean

all: dashboards

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[exporters,runtime,orchestrator,loadgen]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[exporters,runtime,orchestrator,loadgen,test]'
	touch $@

install: $(VENV)/.installed

## Generate every artefact (dashboards, rules, rule tests, docs) from the definitions.
dashboards: $(VENV)/.installed
	$(BIN)/observatory generate --out .

generate: dashboards

## Install promtool, Prometheus, Alertmanager, node_exporter, kubectl, wrk, VictoriaMetrics and PostgreSQL from Debian
## when missing.
toolchain:
	@missing=""; \
	for pair in $(DEBIAN_TOOLCHAIN); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (installing them needs root)" >&2; exit 1; \
	  fi; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/observatory lint

test: $(VENV)/.installed-test toolchain
	$(BIN)/python -m pytest

test-fast: $(VENV)/.installed-test toolchain
	$(BIN)/python -m pytest -m 'not slow'

bench: $(VENV)/.installed-test toolchain
	mkdir -p bench-results
	$(BIN)/python -m observatory.exporters.bench --out bench-results/exporters.json
	$(BIN)/python -m observatory.runtime.bench --out bench-results/runtime.json
	$(BIN)/python -m observatory.orchestrator.bench --out bench-results/orchestrator.json
	$(BIN)/python -m observatory.loadgen.bench --out bench-results
	$(BIN)/python -m observatory.loadgen.bench_summary bench-results

## The regression gate: the last `make bench` against the committed baseline; ratios of one run at 25 %,
## absolute rates and latencies shown, not gated (they move with the load of a shared machine; see README).
bench-check: $(VENV)/.installed
	$(BIN)/observatory-loadgen compare --baseline bench/baseline.json --current bench-results/summary.json \
		--tolerance 25% --absolute-tolerance off

## Run the orchestrator, one shard per domain and their exporters on loopback; Ctrl-C stops everything.
demo: $(VENV)/.installed
	$(BIN)/observatory up

clean:
	rm -rf $(VENV) build *.egg-info bench-results
