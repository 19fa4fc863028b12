# The two commands: `make demo` (SQLite, nothing to install but Python) and `make test`
# (PostgreSQL + Redis). Both create .venv and install the pinned requirements first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL DJANGO_SETTINGS_MODULE=platform_core.settings.dev

.PHONY: install demo test lint bench fuzz ledger-check clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	$(DEMO_ENV) $(PY) manage.py demo_seed --port $(PORT)
	$(DEMO_ENV) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho -f Procfile.demo start --port $(PORT)

test: install
	$(PY) scripts/check_services.py
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) scripts/check_services.py
	@for b in bench/bench_*.py; do echo "== $$b"; DJANGO_SETTINGS_MODULE=platform_core.settings.test $(PY) $$b || exit 1; done

# The API fuzzed from its schema as every kind of caller, with many more (and random) examples
# than the bounded run in `make test` (FUZZ_MAX_EXAMPLES=1000 make fuzz for a longer one).
fuzz: install
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-200} FUZZ_RANDOM=1 $(VENV)/bin/pytest tests/reliability/test_api_fuzz.py -p no:cacheprovider

ledger-check: install
	$(PY) manage.py ledger_check

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
