# The two commands: `make demo` (SQLite, nothing to install but Python) and `make test`
# (PostgreSQL + Redis). Both create .venv and install the pinned requirements first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL DJANGO_SETTINGS_MODULE=platform_core.settings.dev

.PHONY: install demo test soak lint bench ledger-check clean load fuzz

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

# Security gate: bandit at medium severity and above; a finding that is not one is marked in the
# code with `# nosec <test> - <reason>`.
BANDIT := $(VENV)/bin/bandit -q -r platform_core crowdfunding p2p supplychain scripts bench manage.py -x '*/migrations/*' --severity-level medium

test: install
	$(PY) scripts/check_services.py
	$(VENV)/bin/ruff check .
	$(BANDIT)
	$(VENV)/bin/pytest

# Longer property runs: more random loan lives (tests/p2p/test_lifecycle_properties.py) than `make test` takes.
soak: install
	$(PY) scripts/check_services.py
	LIFECYCLE_EXAMPLES=$${LIFECYCLE_EXAMPLES:-2000} $(VENV)/bin/pytest tests/p2p/test_lifecycle_properties.py -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .
	$(BANDIT)

bench: install
	$(PY) scripts/check_services.py
	@for b in bench/bench_*.py; do echo "== $$b"; DJANGO_SETTINGS_MODULE=platform_core.settings.test $(PY) $$b || exit 1; done

# A headless, time-bounded locust run (about 2 minutes) against gunicorn, PostgreSQL, a private Redis and
# two Celery workers: bench/load/run.py. Not part of `make test`.
load: install
	$(PY) scripts/check_services.py
	$(PY) bench/load/run.py

# The API fuzzed from its schema as every kind of caller, with many more (and random) examples
# than the bounded run in `make test` (FUZZ_MAX_EXAMPLES=1000 make fuzz for a longer one).
fuzz: install
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-200} FUZZ_RANDOM=1 $(VENV)/bin/pytest tests/reliability/test_api_fuzz.py -p no:cacheprovider

ledger-check: install
	$(PY) manage.py ledger_check

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
