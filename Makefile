# CRMFlow: `make run` serves the demo, `make test` runs the suite, `make venv` only installs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app app

.PHONY: venv run test lint browser hosts soak clean-db assets translations bench

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

# Two worker processes (pytest-xdist), one per core of the machine kind: each has its own SQLite
# and PostgreSQL databases; about 9 minutes (README). `loadgroup` keeps the fault tests of
# tests/hosts (one network and database server of their own) on one worker.
test: venv browser hosts
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`, which
# downloads a browser of its own); fonts-noto-cjk renders the Chinese interface in screenshots.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make: installing Debian's chromium and fonts-noto-cjk for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else \
	    echo "make: the browser tests need Debian's Chromium at $(CHROMIUM); install it with: sudo apt-get install chromium fonts-noto-cjk" >&2; \
	    exit 1; \
	  fi; \
	fi

# tests/hosts runs app hosts in network namespaces (iproute2's `ip`, as root, which CI is) against
# a PostgreSQL server of its own (the machine's PostgreSQL binaries); without root they skip.
hosts:
	@if ! command -v ip >/dev/null || ! command -v tc >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make: installing Debian's iproute2 for the multi-host fault tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; \
	  else \
	    echo "make: the multi-host fault tests (tests/hosts) need iproute2 and root; they will be skipped" >&2; \
	  fi; \
	fi

# 10 minutes of mixed load against two app hosts (root, as tests/hosts): no error, each worker's
# memory flat within 10 %; figures printed and in instance/soak.json. Not part of `make test`.
soak: venv hosts
	$(BIN)/python -m tests.hosts.soak

bench: venv
	$(BIN)/python -m bench --json --profile --details instance/bench/results.json

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Front-end libraries come from the npm registry through a lock file; their dist files are
# committed under webui/static/vendor, so `make run` and `make test` never need npm. The designer's
# bundles (bpmn-js Modeler + Camunda 7 properties panel, dmn-js) are built by esbuild, a
# devDependency in the same lock file, into webui/static/vendor/designer with their licences.
VENDOR_SRC := webui/static/vendor-src
VENDOR := webui/static/vendor
NPM_DIST := $(VENDOR_SRC)/node_modules

assets:
	cd $(VENDOR_SRC) && npm ci --no-audit --no-fund --ignore-scripts
	mkdir -p $(VENDOR)/htmx $(VENDOR)/bpmn-js $(VENDOR)/echarts
	cp $(NPM_DIST)/htmx.org/dist/htmx.min.js $(NPM_DIST)/htmx.org/LICENSE $(VENDOR)/htmx/
	cp $(NPM_DIST)/bpmn-js/dist/bpmn-navigated-viewer.production.min.js $(NPM_DIST)/bpmn-js/LICENSE $(VENDOR)/bpmn-js/
	cp $(NPM_DIST)/bpmn-js/dist/assets/diagram-js.css $(NPM_DIST)/bpmn-js/dist/assets/bpmn-js.css $(VENDOR)/bpmn-js/
	cp $(NPM_DIST)/echarts/dist/echarts.common.min.js $(NPM_DIST)/echarts/LICENSE $(NPM_DIST)/echarts/NOTICE $(VENDOR)/echarts/
	cd $(VENDOR_SRC) && node designer/build.mjs

# Message catalogue of the UI: extract the English strings, merge them into zh_Hans_CN (users.locale zh_CN), compile.
translations: venv
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o webui/translations/messages.pot --no-location --sort-output --project=CRMFlow --version=0.1 --copyright-holder=CRMFlow --msgid-bugs-address=- .
	$(BIN)/pybabel update -i webui/translations/messages.pot -d webui/translations -l zh_Hans_CN --no-fuzzy-matching
	$(BIN)/pybabel compile -d webui/translations -l zh_Hans_CN
