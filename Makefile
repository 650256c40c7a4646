# CRMFlow: `make run` serves the demo, `make test` runs the suite, `make venv` only installs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app app

.PHONY: venv run test lint clean-db bench

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

instance/secret_key:
	mkdir -p instance
	$(PYTHON) -c "import secrets; print(secrets.token_hex(32))" > $@
	chmod 600 $@

run: venv instance/secret_key
	$(FLASK) db-upgrade
	$(FLASK) seed-demo
	SECRET_KEY="$${SECRET_KEY:-$$(cat instance/secret_key)}" $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: venv
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python -m bench --json --profile --details instance/bench/results.json

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
