import datetime
import multiprocessing.process
import subprocess
import zoneinfo

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from platform_core.ledger import services as ledger

from .factories import SmeUserFactory, StaffUserFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # real Redis: throttling counters must not leak between tests
    yield


@pytest.fixture(params=["one_statement", "in_steps"])
def posting_path(request, monkeypatch):
    """Run a test through each way the ledger posts: in one statement (PostgreSQL) and in steps (the
    portable path, e.g. the SQLite demo), both on the test database."""
    if request.param == "in_steps":
        monkeypatch.setattr(ledger, "_posting_method", lambda: ledger._post_in_steps)
    return request.param


@pytest.fixture
def investor(db):
    return UserFactory()


@pytest.fixture
def sme_user(db):
    return SmeUserFactory()


@pytest.fixture
def regulator(db):
    return StaffUserFactory(role="regulator")


@pytest.fixture
def operator(db):
    return StaffUserFactory(role="operator")


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def api_as():
    def login(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return login


@pytest.fixture
def fund():
    """Deposit `amount` into the wallet of `user`'s party through the sandbox gateway."""

    def deposit(user, amount):
        ledger.deposit_create(user=user, amount=amount)
        return ledger.wallet_of_user(user)

    return deposit


# --- the clock --------------------------------------------------------------------------------
#
# No test depends on the day it runs: every test runs on a fixed ordinary day (a Wednesday morning
# in the platform's zone) with the clock ticking from there, and the date-sensitive tests (marked
# `calendar`) run again on each of the days where calendars break: a Sunday, a month's last
# evening, 29 February (whose morning in Shanghai is still 28 February in UTC) and New Year's Eve.
# Tests that start other processes (a Celery worker, manage.py) keep the real clock (`real_clock`):
# a travelled clock stops at the process boundary.

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
ORDINARY_DAY = datetime.datetime(2026, 6, 10, 10, 0, tzinfo=SHANGHAI)  # a Wednesday
CALENDAR_DAYS = {
    "wednesday": ORDINARY_DAY,
    "sunday": datetime.datetime(2026, 6, 14, 10, 0, tzinfo=SHANGHAI),
    "month_end": datetime.datetime(2026, 6, 30, 23, 30, tzinfo=SHANGHAI),
    "feb_29": datetime.datetime(2028, 2, 29, 7, 0, tzinfo=SHANGHAI),
    "new_years_eve": datetime.datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI),
}


def pytest_configure(config):
    config.addinivalue_line("markers", "calendar: date-sensitive; runs on each of CALENDAR_DAYS (tests/conftest.py)")
    config.addinivalue_line("markers", "real_clock: starts other processes; runs on the real clock")


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("calendar"):
        metafunc.fixturenames.append("calendar_day")
        metafunc.parametrize("calendar_day", list(CALENDAR_DAYS.values()), ids=list(CALENDAR_DAYS), indirect=True)


@pytest.fixture
def calendar_day(request):
    """The moment a `calendar` test starts at (the clock is there already)."""
    return request.param


class _OtherProcessUnderTravelledClock(RuntimeError):
    pass


def _refuse_other_processes(*args, **kwargs):
    raise _OtherProcessUnderTravelledClock(
        "This test starts another process while the test clock is travelled (the child would see the "
        "real date): mark it @pytest.mark.real_clock (tests/conftest.py)."
    )


@pytest.fixture(autouse=True)
def _clock(request, monkeypatch):
    if request.node.get_closest_marker("real_clock"):
        yield None
        return
    # a child process would run on the real clock: say so instead of letting the dates disagree
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse_other_processes)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", _refuse_other_processes)
    start = request.getfixturevalue("calendar_day") if "calendar_day" in request.fixturenames else ORDINARY_DAY
    with time_machine.travel(start, tick=True) as traveller:
        yield traveller
