# Amana: the two commands are `make run` (demo on SQLite) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: install run serve demo-code test lint typecheck test-sqlite test-postgres test-suites \
        test-browser test-js \
        browser-check translations extract-messages bench load clean

# Quiet: pip says nothing unless something fails (its errors still show), so that the demo
# accounts at the end of `make run` are not buried. setuptools' one notice about editable
# installs of a flat layout ("Editable installation ...", a dozen lines) is the only warning
# filtered, by its words.
$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "Installing Amana and its dependencies into $(VENV) (a few minutes the first time)..."
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@PYTHONWARNINGS="ignore:Editable installation:UserWarning" \
	  $(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,postgres]'
	@touch $(STAMP)

install: $(STAMP)

translations: $(STAMP)
	@$(VENV)/bin/pybabel -q compile --use-fuzzy -d app/translations

extract-messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k plural:1,2 -o app/translations/messages.pot app
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

# Set-up and demo server on http://127.0.0.1:5000 (idempotent: re-running keeps keys and data).
# Only what a newcomer needs is printed: the demo accounts and the address. The migrations'
# output is shown only when they fail; errors of every step stay visible.
run: install translations
	@$(FLASK) instance init >/dev/null
	@out=$$($(FLASK) db upgrade 2>&1) || { echo "$$out"; echo "amana: migration failed"; exit 1; }
	@$(FLASK) db current 2>/dev/null | grep -q head || { echo "amana: migration failed"; exit 1; }
	@$(FLASK) demo seed
	@$(PY) wsgi.py

serve: install translations
	$(PY) wsgi.py

# The current two-step code of a demo account: make demo-code USER=demo-caseworker
demo-code: install
	@$(FLASK) demo code $(USER)

lint: install
	$(VENV)/bin/ruff check app tests bench migrations

typecheck: install
	$(VENV)/bin/mypy app

test-sqlite: install translations
	env -u TEST_DATABASE_URL $(VENV)/bin/pytest tests --ignore=tests/browser

test-postgres: install translations
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== PostgreSQL: $${TEST_DATABASE_URL%%@*}@..."; \
	  $(VENV)/bin/pytest tests --ignore=tests/browser; \
	elif [ -n "$$CI" ]; then echo "CI needs TEST_DATABASE_URL for the PostgreSQL run"; exit 1; \
	else echo "== TEST_DATABASE_URL not set: PostgreSQL run skipped (CI always runs it)"; fi

browser-check:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "Browser tests need Debian's chromium at $(CHROMIUM): run 'apt-get install chromium'."; \
	  exit 1; fi

test-browser: install translations browser-check
	env -u TEST_DATABASE_URL AMANA_CHROMIUM=$(CHROMIUM) $(VENV)/bin/pytest tests/browser -p no:randomly

# The SQLite and PostgreSQL runs side by side: each keeps about one core busy (the PostgreSQL
# run shares its core with the server), and CI's machine has two. Each run's output is printed
# whole when it ends.
test-suites:
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test: lint typecheck test-js test-suites test-browser

# The browser's HPKE sealing against RFC 9180's vectors, on Node's built-in test runner (Debian's
# nodejs package; no npm package is used).
test-js:
	@command -v node >/dev/null || { echo "The JavaScript tests need Node: run 'apt-get install nodejs'."; exit 1; }
	node --test tests/js/*.test.js

bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# The load test: gunicorn on PostgreSQL and Redis, 50 simulated people for 60 s with 1 and then 3
# workers (bench/load.py; a few minutes). Options: make load LOAD_ARGS="--cases 2000 --workers 3"
load: install translations
	$(PY) bench/load.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
