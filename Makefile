# tousu — two commands do everything on a fresh machine with Python 3.11 and make:
#   make demo   create .venv, install, migrate, and run the main job end to end
#   make test   create .venv, install, and run the tests
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW := ignore
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
DEMO_DB ?= sqlite:///$(CURDIR)/data/demo.db

.PHONY: install demo test lint migrate serve bench diagram clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test,lint]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/tousu db upgrade

demo: install
	rm -f data/demo.db data/demo.db-wal data/demo.db-shm
	TOUSU_DATABASE_URL=$(DEMO_DB) $(BIN)/tousu db init
	TOUSU_DATABASE_URL=$(DEMO_DB) $(BIN)/python -m demo

# The whole suite once at the default instant, then the time-sensitive tests (marker `clock`)
# once at each named instant of tests/conftest.py CLOCKS (`--clock NAME` or an ISO time).
# scripts/system-packages first: the Debian tools the report tests print with (LibreOffice,
# poppler, Chromium, Noto CJK); installed when root and online, else those tests skip.
test: install
	sh scripts/system-packages
	$(BIN)/python -m pytest -q
	@set -e; names=$$($(BIN)/python -c "from tests.conftest import CLOCKS; \
		print(*(name for name in CLOCKS if name != 'default'))"); test -n "$$names"; \
	for c in $$names; do \
		echo "== the clock tests at --clock $$c"; \
		$(BIN)/python -m pytest -q --no-header -m clock --clock $$c; \
	done

# ruff (rules in pyproject.toml), the formatter's check, and mypy (strict for states/storage/services).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

diagram: install
	$(BIN)/python -m states.diagram > docs/lifecycle.md

# The automatic side (a local Prefect server on SQLite, every deployment on its schedule) and
# the web workspace (`tousu web`, [web] host and port) together; Ctrl-C stops both.
serve: migrate
	$(BIN)/tousu serve --web

bench: install
	$(BIN)/python bench/lifecycle.py

clean:
	rm -rf $(VENV) data .prefect .pytest_cache
