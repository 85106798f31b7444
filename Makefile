# Shouwang: `make run` runs the whole system, `make test` runs every test. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test drills setup prereqs venv kafka redis chromium lint bench clean promtool

run: setup
	@deploy/local/run.sh

test: setup
	$(BIN)/pytest

# Fault drills under load (kill -9 of each service, Kafka and Redis restarts); last line: `drills: N passed, M failed`.
drills: setup
	$(BIN)/python -m tests.drills

setup: prereqs venv kafka redis chromium

prereqs:
	@PYTHON=$(PYTHON) deploy/local/prereqs.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

kafka:
	@deploy/local/kafka.sh fetch

redis:
	@deploy/local/redis.sh install

chromium:
	@deploy/local/chromium.sh install

# Optional: Prometheus's promtool, so that the tests also run `promtool check rules` (a Go build, minutes the first time).
promtool:
	@deploy/local/promtool.sh

bench: setup
	$(BIN)/python -m bench.run

# Analysts: `make train HOUSEHOLDS=100000` simulates, builds the point-in-time set, trains and registers.
HOUSEHOLDS ?= 5000
train: venv
	$(BIN)/python -m services.analytics.cli train --households $(HOUSEHOLDS)

simulate: venv
	@mkdir -p state
	$(BIN)/python -m services.analytics.cli simulate --households $(HOUSEHOLDS) --out state/events.jsonl --labels state/labels.csv

lint: venv
	$(BIN)/ruff check services tests bench
	$(BIN)/ruff format --check services tests bench
	$(BIN)/mypy services tests bench

clean:
	rm -rf state
