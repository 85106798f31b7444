# Shouwang: `make run` runs the whole system, `make test` runs every test. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test setup prereqs venv kafka redis lint bench clean

run: setup
	@deploy/local/run.sh

test: setup
	$(BIN)/pytest

setup: prereqs venv kafka redis

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

lint: venv
	$(BIN)/ruff check services tests
	$(BIN)/ruff format --check services tests
	$(BIN)/mypy services

clean:
	rm -rf state
