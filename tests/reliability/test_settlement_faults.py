"""Settlement has one effect however it runs: twice, concurrently, or killed halfway (SIGKILL of a
real process) and resumed."""

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from crowdfunding import services
from crowdfunding.models import Campaign, CampaignStatus, PledgeStatus
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.models import Account, AccountPurpose, Leg
from tests.crowdfunding.bulk import campaign_with_pledges

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]  # a real worker process
ROOT = Path(__file__).resolve().parents[2]


def _close_as_failed(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - datetime.timedelta(seconds=1))
    services.campaign_close(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED


def _assert_every_backer_refunded_once(campaign, n, amount):
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SETTLED and campaign.outcome == "failed"
    assert campaign.refunded_count == n and campaign.refunded_amount == amount * n
    assert set(campaign.pledges.values_list("status", flat=True)) == {PledgeStatus.REFUNDED}
    wallets = Account.objects.filter(pk__in=campaign.pledges.values("wallet_id"))
    assert set(wallets.values_list("balance", flat=True)) == {amount}
    # one refund leg per wallet, no more
    per_wallet = (
        Leg.objects.filter(account__in=wallets, transaction__kind="crowdfunding_refund").values("account").annotate(n=Count("pk"))
    )
    assert {row["n"] for row in per_wallet} == {1} and len(per_wallet) == n
    assert ledger.escrow_for(campaign).balance == Decimal("0.00")
    assert ledger_problems() == []


def test_settlement_killed_halfway_resumes_without_double_refunds():
    n, amount = 3000, Decimal("10.00")
    campaign = campaign_with_pledges(n, amount=str(amount))
    _close_as_failed(campaign)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "platform_core.settings.test",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST'] or '127.0.0.1'}:"
        f"{connection.settings_dict['PORT'] or 5432}/{connection.settings_dict['NAME']}",
    }
    code = f"import django; django.setup(); from crowdfunding.services import campaign_settle; campaign_settle(campaign_id={campaign.pk}, batch_size=10)"
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            refunded = Campaign.objects.values_list("refunded_count", flat=True).get(pk=campaign.pk)
            if refunded >= 300:
                break
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED, "the process should have been killed before it finished"
    assert 300 <= campaign.refunded_count < n
    # what the killed worker committed is consistent: every refunded pledge's money is back
    assert ledger_problems() == []
    assert services.campaign_settle(campaign_id=campaign.pk) is True
    _assert_every_backer_refunded_once(campaign, n, amount)


def test_concurrent_settlements_have_one_effect():
    n, amount = 400, Decimal("25.00")
    campaign = campaign_with_pledges(n, amount=str(amount))
    _close_as_failed(campaign)
    results, errors = [], []

    def settle():
        try:
            results.append(services.campaign_settle(campaign_id=campaign.pk, batch_size=25))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=settle) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == [True] * 4
    _assert_every_backer_refunded_once(campaign, n, amount)


def test_success_paid_out_once_under_concurrent_settlement():
    n, amount = 200, Decimal("50.00")
    campaign = campaign_with_pledges(n, amount=str(amount), target="10000.00")
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - datetime.timedelta(seconds=1))
    services.campaign_close(campaign_id=campaign.pk)
    threads = [
        threading.Thread(target=lambda: (services.campaign_settle(campaign_id=campaign.pk), connection.close())) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    campaign.refresh_from_db()
    assert campaign.outcome == "succeeded" and campaign.status == CampaignStatus.SETTLED
    # escrow in = payout + fee + refunds, to the cent
    assert campaign.payout_amount + campaign.fee_amount + campaign.refunded_amount == amount * n == Decimal("10000.00")
    assert campaign.fee_amount == Decimal("500.00")
    assert ledger.wallet_for(campaign.organisation).balance == Decimal("9500.00")
    assert ledger.system_account(AccountPurpose.PLATFORM_BANK).balance == Decimal("500.00")
    assert ledger_problems() == []
