# The front door. `make run` and `make test` do all the set-up a fresh machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := uv run --frozen python
export UV_PYTHON := python3.11

.PHONY: help setup lint format test unit integration e2e bench bench-nab run infra-up infra-down infra-status topics schemas

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup:  ## install uv (if missing) and the locked workspace into .venv
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet 'uv==0.13.8'
	@uv sync --frozen --all-packages --quiet
	@echo "[setup] workspace installed in .venv"

lint: setup  ## ruff (lint + format check), mypy strict, generated code and schema compatibility
	uv run --frozen ruff check .
	uv run --frozen ruff format --check .
	uv run --frozen mypy libs/src services/*/src
	$(PY) -m cc.events.codegen --check
	$(PY) -m cc.events.compat check

format: setup  ## apply ruff fixes and formatting
	uv run --frozen ruff check --fix .
	uv run --frozen ruff format .

schemas: setup  ## regenerate event classes and snapshot new schema versions
	$(PY) -m cc.events.codegen
	$(PY) -m cc.events.compat snapshot

infra-fetch: setup  ## download and cache Kafka, Elasticsearch and Alertmanager
	$(PY) -m cc.testing.infra fetch

infra-up: setup  ## start Kafka, Elasticsearch and Alertmanager on loopback
	$(PY) -m cc.testing.infra up

infra-down: setup  ## stop them
	$(PY) -m cc.testing.infra down

infra-status: setup  ## show what runs, on which port, and where its log is
	$(PY) -m cc.testing.infra status

topics: setup  ## create the topics of schemas/topics.yaml
	$(PY) -m cc.kafka.topics create

test: setup  ## the whole suite: unit, integration on real servers, end to end
	bash scripts/ensure-helm.sh
	$(PY) -m cc.testing.infra fetch
	bash scripts/pytest-gate.sh

unit: setup  ## unit tests only (no servers)
	bash scripts/pytest-gate.sh -m "not kafka and not elasticsearch and not alertmanager and not e2e"

bench: setup  ## benchmarks (start Kafka; each prints its result beside a baseline of the same run)
	@command -v wrk >/dev/null 2>&1 || apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk)
	$(PY) bench/kafka_roundtrip.py
	$(PY) bench/ingest/run.py
	$(PY) bench/notify/run.py
	$(PY) bench/detector/run.py
	$(PY) bench/planner/run.py
	$(PY) bench/audit/run.py

bench-nab: setup  ## NAB scores of the metric detector on ../shared/datasets/nab-dev (about 5 min)
	$(PY) bench/nab/run.py

run: setup  ## start everything and replay the demo scenario through it (Ctrl-C stops all)
	$(PY) -m cc.testing.demo
