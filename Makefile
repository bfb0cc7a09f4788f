# Two commands on a fresh machine: `make dashboards` (the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama.cpp's default build uses -march=native; a portable build runs on any x86-64 host.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
# binary:Debian package, installed by `make toolchain` when the binary is missing.
DEBIAN_TOOLCHAIN := promtool:prometheus prometheus-alertmanager:prometheus-alertmanager \
	prometheus-node-exporter:prometheus-node-exporter kubectl:kubernetes-client wrk:wrk \
	podman:podman buildah:buildah debootstrap:debootstrap runc:runc catatonit:catatonit unshare:util-linux \
	victoria-metrics:victoria-metrics
# What `make test` passes to pytest (CI runs one level per job: PYTEST_ARGS="tests/unit").
PYTEST_ARGS ?=
# The image the generated manifests run (the configuration's kubernetes.image), built by podman or docker.
IMAGE ?= $(shell sed -n 's/^ *image: *//p' deploy/kubernetes/orchestrator.yaml | head -n 1)
CONTAINER_ENGINE ?= $(shell command -v podman || command -v docker)
# CUDA=1 builds llama.cpp for CUDA; give a CUDA base with BASE_IMAGE=... (see Containerfile).
CUDA ?=
# More flags for the engine's build (e.g. --network host, or a CA bundle mounted with -v).
IMAGE_BUILD_FLAGS ?=

.PHONY: all install dashboards generate lint test test-fast bench bench-check demo toolchain image image-name clean

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

# hadolint and actionlint: their PyPI wheels carry the binaries, so nothing is fetched beyond the package index.
$(VENV)/.installed-lint: pyproject.toml $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[exporters,runtime,orchestrator,loadgen,test,lint]'
	touch $@

# NVIDIA's aiperf, the independent benchmark client of the agreement test and `make bench`, in an environment
# of its own: it pins prometheus-client (and others) below what this project needs.
AIPERF_VENV := .venv-aiperf
AIPERF_VERSION := 0.13.0

$(AIPERF_VENV)/.installed:
	$(PYTHON) -m venv $(AIPERF_VENV)
	$(AIPERF_VENV)/bin/python -m pip install --quiet 'aiperf==$(AIPERF_VERSION)'
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

lint: $(VENV)/.installed-lint
	$(BIN)/ruff check .
	$(BIN)/observatory lint
	$(BIN)/hadolint Containerfile
	$(BIN)/actionlint .github/workflows/*.yml

test: $(VENV)/.installed-test $(AIPERF_VENV)/.installed toolchain
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed-test toolchain
	$(BIN)/python -m pytest -m 'not slow'

bench: $(VENV)/.installed-test $(AIPERF_VENV)/.installed toolchain
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

## Build the one image of deploy/ (shard, orchestrator, exporters), tagged as the manifests name it; llama-cpp-python's
## wheel comes from pip's cache (built once by `make install`) instead of being compiled again in the image.
image:
	@test -n "$(CONTAINER_ENGINE)" || { echo "make image needs podman or docker" >&2; exit 1; }
	rm -rf build/wheels/$(if $(CUDA),cuda,cpu) && mkdir -p build/wheels/$(if $(CUDA),cuda,cpu)
	$(if $(CUDA),,$(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir build/wheels/cpu \
		"$$(sed -n 's/^ *"\(llama-cpp-python==[^"]*\)",/\1/p' pyproject.toml | head -n 1)")
	$(CONTAINER_ENGINE) build -f Containerfile -t $(IMAGE) --build-arg WHEELS=build/wheels/$(if $(CUDA),cuda,cpu) \
		$(if $(CUDA),--build-arg GGML_CUDA=on) $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) $(IMAGE_BUILD_FLAGS) .

image-name:
	@echo $(IMAGE)

clean:
	rm -rf $(VENV) $(AIPERF_VENV) build *.egg-info bench-results
