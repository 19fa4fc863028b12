"""Two workers filing the same month at once (a redelivered task, a second beat) file it once, and
the entity's chain stays one link at a time."""

import datetime
import threading

import pytest
from django.db import connection

from platform_core.accounts.models import PlatformEntity
from platform_core.disclosures.models import Snapshot
from platform_core.disclosures.services import chain_problems, snapshot_file

from .book import at

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*calls):
    barrier = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call):
        try:
            barrier.wait()
            results.append(call())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_the_same_month_filed_at_once_is_filed_once():
    entity = PlatformEntity.objects.create(name="Racing entity", properties=["p2p_lending"], licence_status="licensed")
    month = datetime.date(2026, 1, 1)

    results = _race(*[lambda: snapshot_file(entity=entity, period=month, now=at(2026, 2, 3))] * 4)

    assert sorted(filed for _s, filed in results) == [False, False, False, True]
    assert len({s.pk for s, _filed in results}) == 1
    assert Snapshot.objects.filter(entity=entity).count() == 1


def test_months_filed_at_once_chain_one_after_the_other():
    entity = PlatformEntity.objects.create(name="Racing entity", properties=["p2p_lending"], licence_status="licensed")
    months = [datetime.date(2025, m, 1) for m in range(1, 7)]

    _race(*[lambda m=m: snapshot_file(entity=entity, period=m, now=at(2026, 2, 3)) for m in months])

    assert sorted(Snapshot.objects.filter(entity=entity).values_list("sequence", flat=True)) == [1, 2, 3, 4, 5, 6]
    assert chain_problems() == []
