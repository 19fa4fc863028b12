"""A Celery worker killed with SIGKILL (the whole process group: nothing acknowledges, nothing
cleans up) in the middle of a campaign settlement, of an outcome-notification run and of the
auto-debit's repayment share-out. Another worker and beat finish the work; each refund, e-mail and
repayment happens once, and the books balance. The time from the kill to the finished settlement is
measured with the production resume cadence (RESUME_EVERY 15 s, RESUME_STALLED_AFTER 30 s)."""

import datetime
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from celery import Celery
from django.db.models import Count, Value
from django.db.models.functions import Concat
from django.utils import timezone

from crowdfunding import services as cf
from crowdfunding.models import Campaign, CampaignStatus, Pledge, PledgeStatus
from p2p import services as p2p
from p2p.models import Installment, LoanStatus, Note, Repayment, RepaymentShare, business_date
from platform_core.accounts.models import User
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.models import Account, Leg
from tests.crowdfunding.bulk import campaign_with_pledges
from tests.factories import UserFactory
from tests.p2p.factories import listed_loan

from .processes import celery_beat, celery_worker, process_env, wait_for, worker_ready

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]  # real worker, server or beat processes

PRODUCTION_RESUME = {"RESUME_EVERY_SECONDS": 15, "RESUME_STALLED_AFTER_SECONDS": 30}


def _send(redis, name, *args):
    client = Celery(broker=redis.url)
    try:
        client.send_task(name, args=list(args))
    finally:
        client.close()


def _start_worker(processes, env, name):
    worker = celery_worker(env, name=name)
    processes.append(worker)
    assert wait_for(lambda: worker_ready(env["CELERY_BROKER_URL"], name), timeout=60) is not None, worker.output()
    return worker


def _close_as_failed(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - datetime.timedelta(seconds=1))
    cf.campaign_close(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED


def _assert_refunded_once(campaign, n, amount):
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SETTLED and campaign.refunded_count == n
    assert campaign.refunded_amount == amount * n
    assert set(campaign.pledges.values_list("status", flat=True)) == {PledgeStatus.REFUNDED}
    wallets = Account.objects.filter(pk__in=campaign.pledges.values("wallet_id"))
    assert set(wallets.values_list("balance", flat=True)) == {amount}
    per_wallet = Leg.objects.filter(account__in=wallets, transaction__kind="crowdfunding_refund").values("account")
    assert {row["n"] for row in per_wallet.annotate(n=Count("pk"))} == {1}
    assert ledger.escrow_for(campaign).balance == Decimal("0.00")


def test_worker_killed_mid_settlement_is_resumed_by_another(private_redis, processes, capsys):
    n, amount = 3000, Decimal("10.00")
    campaign = campaign_with_pledges(n, amount=str(amount))
    _close_as_failed(campaign)
    env = process_env(private_redis.url, FAULT_SETTLEMENT_BATCH=10, **PRODUCTION_RESUME)
    first = _start_worker(processes, env, "first")
    _send(private_redis, "crowdfunding.tasks.campaign_settle", campaign.pk)
    assert wait_for(lambda: Campaign.objects.get(pk=campaign.pk).refunded_count >= 300, timeout=60, every=0.01) is not None
    first.kill()
    killed_at = time.monotonic()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED and 300 <= campaign.refunded_count < n, "killed before it finished"
    assert ledger_problems() == []  # what the killed worker committed is whole

    processes.append(celery_beat(env))
    _start_worker(processes, env, "second")
    assert wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SETTLED, timeout=120) is not None
    recovery = time.monotonic() - killed_at
    with capsys.disabled():
        print(f"\nsettlement: killed worker -> settled by another worker in {recovery:.1f} s")
    assert recovery < 60
    _assert_refunded_once(campaign, n, amount)
    assert ledger_problems() == []


def _mail_recipients(mail_dir: Path) -> Counter:
    told = Counter()
    for path in mail_dir.glob("*.log"):
        for line in path.read_text().splitlines():
            if line.startswith("To: "):
                told[line[4:].strip()] += 1
    return told


def test_killed_notification_run_resumes_and_tells_nobody_twice(private_redis, processes):
    n = 1500
    campaign = campaign_with_pledges(n, amount="10.00")
    User.objects.filter(pk__in=campaign.pledges.values("backer_id")).update(email=Concat("username", Value("@backers.test")))
    _close_as_failed(campaign)
    assert cf.campaign_settle(campaign_id=campaign.pk) is True
    mail_dir = Path(tempfile.mkdtemp(prefix="fault-mail-"))
    env = process_env(private_redis.url, FAULT_MAIL_DIR=mail_dir, RESUME_EVERY_SECONDS=2, RESUME_STALLED_AFTER_SECONDS=3)
    first = _start_worker(processes, env, "first")
    _send(private_redis, "crowdfunding.tasks.campaign_outcome_notify", campaign.pk)
    claimed = Pledge.objects.filter(campaign=campaign, notified_at__isnull=False)
    assert wait_for(lambda: claimed.count() >= 300, timeout=60, every=0.01) is not None
    first.kill()
    told_before, marked = sum(_mail_recipients(mail_dir).values()), claimed.count()
    # each backer is marked told just before the e-mail is handed over: the kill may fall in that gap for one
    assert marked - 1 <= told_before <= marked < n and Campaign.objects.get(pk=campaign.pk).outcome_notified_at is None

    processes.append(celery_beat(env))
    _start_worker(processes, env, "second")
    assert wait_for(lambda: Campaign.objects.get(pk=campaign.pk).outcome_notified_at is not None, timeout=90) is not None
    told = _mail_recipients(mail_dir)
    backers = set(campaign.pledges.values_list("backer__email", flat=True))
    sme = set(campaign.organisation.members.values_list("email", flat=True))
    assert max(told.values()) == 1, "somebody was told twice"
    # the kill may fall between marking a backer told and handing the e-mail over: at most that one
    assert len(backers - set(told)) <= 1
    assert sme <= set(told)
    assert claimed.count() == n


def _loans_due_today(count, holders):
    """`count` active loans, each with `holders` note holders, whose first installment is due today
    and whose borrower holds what is due."""
    loans = []
    for _ in range(count):
        loan = listed_loan(amount=str(Decimal("100.00") * holders), term_months=6, rate_percent="20", grade="D")
        for _ in range(holders):
            investor = UserFactory()
            ledger.deposit_create(user=investor, amount="100.00")
            p2p.investment_create(user=investor, loan_id=loan.pk, amount="100.00")
        p2p.loan_disburse(loan_id=loan.pk)
        loan.refresh_from_db()
        assert loan.status == LoanStatus.ACTIVE
        Installment.objects.filter(loan=loan, number=1).update(due_date=business_date())
        due = Installment.objects.filter(loan=loan, number=1).values_list("principal_due", "interest_due").get()
        borrower = loan.borrower.members.first()
        ledger.deposit_create(user=borrower, amount=str(sum(due) + 1))  # a little more than due
        loans.append(loan)
    return loans


def test_worker_killed_mid_auto_debit_debits_each_loan_once(private_redis, processes):
    loans = _loans_due_today(8, 30)
    wallets_before = {loan.pk: ledger.wallet_for(loan.borrower).balance for loan in loans}
    env = process_env(private_redis.url)
    first = _start_worker(processes, env, "first")
    repayments = Repayment.objects.filter(loan__in=loans)
    _send(private_redis, "p2p.tasks.repayments_collect_due")
    assert wait_for(lambda: repayments.count() >= 2, timeout=60, every=0.005) is not None
    first.kill()
    assert repayments.count() < len(loans), "killed before it finished"
    assert ledger_problems() == []

    _start_worker(processes, env, "second")
    _send(private_redis, "p2p.tasks.repayments_collect_due")  # beat's next run
    _send(private_redis, "p2p.tasks.repayments_collect_due")  # and once more: nothing happens twice
    assert wait_for(lambda: repayments.count() == len(loans), timeout=60) is not None
    time.sleep(2)  # let the second run finish
    assert {row["n"] for row in repayments.values("loan").annotate(n=Count("pk"))} == {1}
    for loan in loans:
        due = Installment.objects.filter(loan=loan, number=1).values_list("principal_due", "interest_due").get()
        repayment = repayments.get(loan=loan)
        assert repayment.amount == sum(due)
        assert ledger.wallet_for(loan.borrower).balance == wallets_before[loan.pk] - sum(due)
        # each note got one share, and the shares add up to the repayment
        shares = RepaymentShare.objects.filter(repayment=repayment)
        assert shares.count() == Note.objects.filter(loan=loan).count() == 30
        assert shares.values("note").distinct().count() == 30
    assert ledger_problems() == []
