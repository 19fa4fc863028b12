"""The scheduled jobs of supply-chain finance: reminders once, settlement and sweeps in bounded
batches that carry on by enqueueing themselves until done."""

import datetime

import pytest
from django.core import mail

from platform_core.celery import app
from platform_core.ledger.checks import ledger_problems
from platform_core.models import JobRun
from supplychain import services, tasks
from supplychain.models import Financing, FinancingStatus, Invoice, InvoiceStatus, Reminder, business_date
from tests.p2p.factories import business_day

from .factories import balance, chain, confirmed_invoice, deposit, funded

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    """Run .delay() in-process, so a task that enqueues itself again runs to the end here."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def batch_of_one(settings):
    settings.SUPPLYCHAIN = {**settings.SUPPLYCHAIN, "SWEEP_BATCH": 1}


def test_maturity_reminders_go_out_7_3_and_1_days_before_and_once(django_capture_on_commit_callbacks):
    c = chain()
    c.anchor.email, c.supplier.email, c.funder.email = "anchor@example.com", "supplier@example.com", "funder@example.com"
    for user in (c.anchor, c.supplier, c.funder):
        user.save(update_fields=["email"])
    deposit(c.funder, "5000.00")
    invoice = confirmed_invoice(c, face="1000.00", days=10)
    funded(c, invoice)
    due = invoice.due_date
    for days_before, expected in [(8, 0), (7, 1), (7, 0), (5, 0), (3, 1), (1, 1)]:
        with business_day(due - datetime.timedelta(days=days_before)):
            with django_capture_on_commit_callbacks(execute=True):
                assert services.maturity_reminders_send() == expected
    assert len(mail.outbox) == 3
    assert set(mail.outbox[0].bcc) == {"anchor@example.com", "supplier@example.com", "funder@example.com"}
    assert sorted(Reminder.objects.values_list("days_before", flat=True)) == [1, 3, 7]


def test_settlement_task_carries_on_in_batches_until_every_maturity_is_handled(eager, batch_of_one):
    c = chain()
    deposit(c.funder, "10000.00")
    deposit(c.anchor, "2000.00")
    invoices = [confirmed_invoice(c, face="1000.00", days=10) for _ in range(3)]
    funded(c, invoices[0])
    with business_day(invoices[0].due_date):
        tasks.maturities_settle.delay()
    statuses = sorted(Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list("status", flat=True))
    assert statuses == [InvoiceStatus.OVERDUE, InvoiceStatus.PAID, InvoiceStatus.PAID]  # the anchor held 2,000.00
    assert balance(c.anchor) == "0.00"
    assert JobRun.objects.get(name="supplychain.maturities_settle").runs == 3  # three batches of one
    assert ledger_problems() == []


def test_a_settlement_stopped_after_one_batch_is_finished_by_the_next_run(batch_of_one):
    c = chain()
    deposit(c.anchor, "5000.00")
    invoices = [confirmed_invoice(c, face="1000.00", days=10) for _ in range(2)]
    with business_day(invoices[0].due_date):
        assert services.maturities_settle()["more"] is True  # as if the worker died here
        assert services.maturities_settle()["paid"] == 1
        assert services.maturities_settle() == {"paid": 0, "unpaid": 0, "certificates_paid": 0, "more": False}
    assert balance(c.supplier) == "2000.00"
    assert ledger_problems() == []


def test_overdue_sweep_task_walks_every_late_invoice_in_batches(eager, batch_of_one):
    c = chain(grace_days=2)
    deposit(c.funder, "10000.00")
    invoices = [confirmed_invoice(c, face="1000.00", days=10) for _ in range(3)]
    for invoice in invoices:
        funded(c, invoice)
    with business_day(invoices[0].due_date):
        services.maturities_settle(batch=10)
    with business_day(invoices[0].due_date + datetime.timedelta(days=3)):
        tasks.overdue_sweep.delay()
    assert set(Financing.objects.values_list("status", flat=True)) == {FinancingStatus.DEFAULTED}
    assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.DEFAULTED}


def test_expiry_task_expires_unfunded_requests_in_batches(eager, batch_of_one):
    c = chain()
    for _ in range(3):
        invoice = confirmed_invoice(c, face="100.00")
        services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)
    later = datetime.datetime.combine(business_date() + datetime.timedelta(days=6), datetime.time(12), tzinfo=datetime.UTC)
    import time_machine

    with time_machine.travel(later, tick=False):
        tasks.financings_expire.delay()
    assert set(Financing.objects.values_list("status", flat=True)) == {FinancingStatus.EXPIRED}
    c.programme.refresh_from_db()
    assert c.programme.utilised == 0


def test_the_jobs_on_an_empty_book_do_nothing():
    assert services.maturities_settle() == {"paid": 0, "unpaid": 0, "certificates_paid": 0, "more": False}
    assert services.overdue_sweep() == {"paid": 0, "defaulted": 0, "next": None}
    assert services.financings_expire() == (0, False)
    assert services.maturity_reminders_send() == 0
