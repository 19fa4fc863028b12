"""Maturity settlement in set-based batches: a batch costs the same statements whatever it holds, and
a batch run twice, or killed before its commit, still pays each financing exactly once."""

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from platform_core.ledger.checks import ledger_problems
from platform_core.models import AuditEvent
from supplychain import services
from supplychain.models import Encumbrance, Financing, FinancingStatus, Invoice, InvoiceStatus, Programme
from supplychain.services import settlement
from tests.p2p.factories import business_day

from .factories import balance, chain, confirmed_invoice, deposit, funded

pytestmark = pytest.mark.django_db


def _book(financed: int, unfinanced: int = 0, *, anchor_holds: str | None = None):
    c = chain(annual_rate="0.06", fee_rate="0")
    deposit(c.funder, "100000.00")
    invoices = [confirmed_invoice(c, face="1000.00", days=10) for _ in range(financed + unfinanced)]
    financings = [funded(c, invoice) for invoice in invoices[:financed]]
    deposit(c.anchor, anchor_holds or f"{1000 * len(invoices)}.00")
    return c, invoices, financings


def _status_events(model, pks) -> int:
    return AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id__in=[str(pk) for pk in pks], action="status_changed"
    ).count()


@pytest.mark.parametrize("size", [2, 12])
def test_a_batch_takes_the_same_statements_whatever_it_holds(size, django_assert_num_queries):
    c, invoices, financings = _book(financed=size // 2, unfinanced=size - size // 2)
    with business_day(invoices[0].due_date), django_assert_num_queries(14):
        result = services.invoices_settle(invoice_ids=[i.pk for i in invoices])
    assert result == {"paid": size, "unpaid": 0}
    assert balance(c.anchor) == "0.00"
    assert set(Financing.objects.values_list("status", flat=True)) == {FinancingStatus.PAID}
    assert ledger_problems() == []


def test_settling_the_same_batch_twice_pays_each_financing_once():
    c, invoices, financings = _book(financed=3)
    funder_before = Decimal(balance(c.funder))
    ids = [i.pk for i in invoices]
    with business_day(invoices[0].due_date):
        assert services.invoices_settle(invoice_ids=ids) == {"paid": 3, "unpaid": 0}
        assert services.invoices_settle(invoice_ids=ids) == {"paid": 0, "unpaid": 0}
    assert Decimal(balance(c.funder)) - funder_before == Decimal("3000.00")  # each face once, to the funder (100% advance)
    assert balance(c.anchor) == "0.00"
    assert _status_events(Invoice, ids) == 3 * 3  # confirmed, financed, paid: once each
    assert _status_events(Financing, [f.pk for f in financings]) == 3 * 3  # approved, funded, paid
    assert Financing.objects.filter(status=FinancingStatus.PAID, collected=Decimal("1000.00")).count() == 3
    assert Encumbrance.objects.filter(released_at__isnull=True).count() == 0
    assert Programme.objects.get(pk=c.programme.pk).utilised == Decimal("0.00")
    assert ledger_problems() == []


class Killed(Exception):
    pass


def test_a_batch_killed_before_its_commit_leaves_nothing_and_the_next_run_pays_each_financing_once(settings, monkeypatch):
    settings.SUPPLYCHAIN = {**settings.SUPPLYCHAIN, "SWEEP_BATCH": 2}
    c, invoices, financings = _book(financed=5)
    funder_before, anchor_before = Decimal(balance(c.funder)), balance(c.anchor)
    with business_day(invoices[0].due_date):
        assert services.maturities_settle() == {"paid": 2, "unpaid": 0, "certificates_paid": 0, "more": True}
        funder_after_first = Decimal(balance(c.funder))

        def killed(amounts):  # the worker dies after the posting and the statuses, before the commit
            raise Killed

        monkeypatch.setattr(settlement, "limits_release_many", killed)
        with pytest.raises(Killed):
            services.maturities_settle()
        assert Decimal(balance(c.funder)) == funder_after_first  # the second batch left nothing behind
        assert Invoice.objects.filter(status=InvoiceStatus.PAID).count() == 2
        monkeypatch.undo()
        while services.maturities_settle()["more"]:
            pass
    assert funder_after_first - funder_before == Decimal("2000.00")
    assert Decimal(balance(c.funder)) - funder_before == Decimal("5000.00")
    assert anchor_before == "5000.00" and balance(c.anchor) == "0.00"
    assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.PAID}
    assert _status_events(Financing, [f.pk for f in financings]) == 5 * 3
    assert Programme.objects.get(pk=c.programme.pk).utilised == Decimal("0.00")
    assert ledger_problems() == []
