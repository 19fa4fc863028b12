"""The test clock itself: every test starts on a known day, calendar tests on each of the hard ones."""

import datetime

import pytest
from django.utils import timezone

from tests.conftest import CALENDAR_DAYS, ORDINARY_DAY


def test_an_ordinary_test_runs_on_the_fixed_wednesday_and_the_clock_ticks():
    now = timezone.now()
    assert ORDINARY_DAY <= now < ORDINARY_DAY + datetime.timedelta(minutes=5)
    assert now.astimezone(ORDINARY_DAY.tzinfo).weekday() == 2
    later = timezone.now()
    assert later > now  # ticking: durations and orderings still work


@pytest.mark.calendar
def test_a_calendar_test_runs_on_each_hard_day(calendar_day):
    now = timezone.now().astimezone(calendar_day.tzinfo)
    assert calendar_day <= now < calendar_day + datetime.timedelta(minutes=5)
    assert calendar_day in CALENDAR_DAYS.values()


def test_the_hard_days_are_what_they_say():
    assert CALENDAR_DAYS["sunday"].weekday() == 6
    assert (CALENDAR_DAYS["month_end"] + datetime.timedelta(days=1)).day == 1
    assert (CALENDAR_DAYS["feb_29"].month, CALENDAR_DAYS["feb_29"].day) == (2, 29)
    assert CALENDAR_DAYS["feb_29"].astimezone(datetime.UTC).day == 28  # still the 28th in UTC
    assert (CALENDAR_DAYS["new_years_eve"].month, CALENDAR_DAYS["new_years_eve"].day) == (12, 31)


@pytest.mark.real_clock
def test_a_real_clock_test_sees_todays_date():
    assert abs(timezone.now() - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(seconds=5)
    assert timezone.now().year >= 2026


def test_starting_another_process_under_the_travelled_clock_is_refused_with_a_reason():
    import subprocess
    import sys

    with pytest.raises(RuntimeError, match="mark it @pytest.mark.real_clock"):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
