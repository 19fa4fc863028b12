"""What every benchmark shares: a throwaway PostgreSQL database of its own, Django pointed at it.

`bench_database(name)` creates `bench_<name>_<pid>` on the server of DATABASE_URL (default: the local
test server), points DATABASE_URL at it before Django's settings are read, runs the migrations
(so the ledger's triggers are there) and drops the database at the end, whatever happens. Tasks
enqueued with `delay_on_commit` go to an in-memory broker: a worker on the shared Redis broker would
run them against its own database.
"""

import contextlib
import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/platform"


def _with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def _maintenance(url: str):
    import psycopg

    parsed = urlparse(url)
    return psycopg.connect(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname="postgres",
        autocommit=True,
    )


def setup_django(database_url: str) -> None:
    """Point Django at `database_url` and set it up (the settings module reads DATABASE_URL)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings.test")
    os.environ["DATABASE_URL"] = database_url
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    import django

    django.setup()


def _terminate(signum, frame):
    raise SystemExit(128 + signum)  # so that the `finally` below drops the database


@contextlib.contextmanager
def bench_database(name: str):
    """Yield the URL of a fresh, migrated database `bench_<name>_<pid>`; drop it afterwards."""
    base = os.environ.get("DATABASE_URL", DEFAULT_URL)
    db_name = f"bench_{name}_{os.getpid()}"
    url = _with_db(base, db_name)
    signal.signal(signal.SIGTERM, _terminate)
    with _maintenance(base) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    try:
        setup_django(url)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield url
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up yet
            pass
        with _maintenance(base) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def result_line(
    *, name: str, value: float, baseline: float, ratio: float, goal: str, passed: bool, unit: str = "", extra: str = ""
) -> str:
    verdict = "PASS" if passed else "FAIL"
    tail = f" {extra}" if extra else ""
    return (
        f"RESULT name={name} value={value:.3f}{unit} baseline={baseline:.3f}{unit} ratio={ratio:.3f} goal={goal}{tail} {verdict}"
    )
