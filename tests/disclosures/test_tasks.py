"""Celery files last month's disclosures for every reporting entity, once however often it runs; beat
reads its schedule from the database (django-celery-beat) with every existing entry in it."""

import datetime

import pytest
import time_machine
from django.conf import settings

from platform_core.accounts.models import PlatformEntity
from platform_core.celery import app
from platform_core.disclosures.models import Snapshot
from platform_core.disclosures.tasks import disclosures_file_last_month
from platform_core.models import JobRun

from .book import at

pytestmark = pytest.mark.django_db


def test_last_month_is_filed_once_for_every_reporting_entity():
    for status in ["licensed", "suspended", "exiting", "applied", "exited"]:
        PlatformEntity.objects.create(name=f"Entity {status}", properties=["p2p_lending"], licence_status=status)
    reporting = set(
        PlatformEntity.objects.filter(licence_status__in=["licensed", "suspended", "exiting"]).values_list("pk", flat=True)
    )

    with time_machine.travel(at(2026, 2, 3, 9, 30), tick=False):
        first = disclosures_file_last_month.apply().get()
        second = disclosures_file_last_month.apply().get()

    assert (first, second) == (len(reporting), 0)
    snapshots = Snapshot.objects.all()
    assert {s.entity_id for s in snapshots} == reporting
    assert {(s.period, s.version) for s in snapshots} == {(datetime.date(2026, 1, 1), 1)}
    run = JobRun.objects.get(name="disclosures-file-last-month")
    assert (run.runs, run.last_ok, run.last_summary) == (2, True, "0 snapshot(s) filed")


def test_on_the_first_of_the_month_in_shanghai_last_month_is_the_one_just_over():
    PlatformEntity.objects.create(name="Entity licensed", properties=["p2p_lending"], licence_status="licensed")
    with time_machine.travel(at(2026, 3, 1, 0, 5), tick=False):  # still February 28 in UTC
        disclosures_file_last_month.apply()
    assert set(Snapshot.objects.values_list("period", flat=True)) == {datetime.date(2026, 2, 1)}


@pytest.mark.django_db(transaction=True)  # the scheduler closes the connection it started with, as beat does
def test_beat_keeps_every_scheduled_job_in_the_database():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    DatabaseScheduler(app=app)  # what beat does when it starts

    tasks = {t.name: t for t in PeriodicTask.objects.select_related("crontab", "interval")}
    assert set(settings.CELERY_BEAT_SCHEDULE) <= set(tasks)
    disclosures = tasks["disclosures-file-last-month"]
    assert (disclosures.task, disclosures.crontab.day_of_month, disclosures.crontab.hour) == (
        "platform_core.disclosures.tasks.disclosures_file_last_month",
        "1-7",
        "1",
    )
    assert tasks["crowdfunding-close-due"].interval.every == 60 and tasks["crowdfunding-close-due"].enabled


def test_the_command_files_a_month_an_instant_and_a_new_version(entity):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    with time_machine.travel(at(2026, 2, 3, 9, 30), tick=False):
        call_command("disclosures_file", "--month", "2026-01", stdout=out)
        call_command("disclosures_file", "--entity", str(entity.pk), "--month", "2026-01", stdout=out)
        call_command(
            "disclosures_file", "--entity", str(entity.pk), "--month", "2026-01", "--recompute", "--reason", "fix", stdout=out
        )
        call_command("disclosures_file", "--entity", str(entity.pk), "--as-of", "2026-02-02T12:00+08:00", stdout=out)
        with pytest.raises(CommandError, match="only be filed for an instant that has passed"):
            call_command("disclosures_file", "--entity", str(entity.pk), "--month", "2026-02")
        with pytest.raises(CommandError, match="YYYY-MM"):
            call_command("disclosures_file", "--month", "2026-1")

    lines = out.getvalue().splitlines()
    assert lines[0].endswith("snapshot(s) filed.") and lines[1].startswith("Already filed: West Lake Lending 2026-01 v1")
    assert lines[2].startswith("Filed: West Lake Lending 2026-01 v2")
    snapshots = Snapshot.objects.filter(entity=entity).order_by("sequence")
    assert [(s.kind, s.version, s.reason) for s in snapshots] == [("monthly", 1, ""), ("monthly", 2, "fix"), ("as_of", 1, "")]
