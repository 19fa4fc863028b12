"""Supply-chain finance under concurrency on real PostgreSQL: double financing, limits."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from platform_core.errors import ApplicationError
from platform_core.ledger.checks import ledger_problems
from supplychain import services
from supplychain.models import (
    Encumbrance,
    Financing,
    FinancingStatus,
    FunderExposure,
    Invoice,
    InvoiceStatus,
    Programme,
    SupplierLimit,
)
from supplychain.services import financing as financing_services
from tests.supplychain.factories import balance, chain, confirmed_invoice, deposit, member

pytestmark = pytest.mark.django_db(transaction=True)


def _concurrently(calls, workers=16):
    def run(call):
        try:
            return call()
        except ApplicationError as exc:
            return exc.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, calls))


def _second_programme(c, funder):
    return services.programme_create(
        actor=c.operator,
        name="Second funder",
        funder_id=funder.organisation_id,
        anchor_id=c.anchor.organisation_id,
        product="payables_finance",
        anchor_limit="1000000.00",
        supplier_sublimit="500000.00",
        annual_rate="0.05",
        fee_rate="0",
    )


def _two_approved_financings():
    c = chain(annual_rate="0.06", fee_rate="0.001")
    other_funder = member("funder")
    services.funder_risk_assets_declare(user=other_funder, risk_assets="10000000.00")
    other = _second_programme(c, other_funder)
    invoice = confirmed_invoice(c, face="10000.00", days=60)
    first = services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)
    second = services.financing_request(user=c.supplier, programme_id=other.pk, invoice_id=invoice.pk)
    services.financing_approve(user=c.funder, financing_id=first.pk)
    services.financing_approve(user=other_funder, financing_id=second.pk)
    for funder in (c.funder, other_funder):
        deposit(funder, "20000.00")
    return c, other_funder, invoice, first, second


def test_two_funders_funding_the_same_invoice_at_once_exactly_one_pays():
    c, other_funder, invoice, first, second = _two_approved_financings()

    results = _concurrently(
        [
            lambda: services.financing_fund(user=c.funder, financing_id=first.pk).status,
            lambda: services.financing_fund(user=other_funder, financing_id=second.pk).status,
        ]
    )

    assert sorted(results) == sorted([FinancingStatus.FUNDED, "asset_already_financed"])
    assert Financing.objects.filter(invoice=invoice, status=FinancingStatus.FUNDED).count() == 1
    assert Encumbrance.objects.filter(asset=f"invoice:{invoice.pk}", released_at__isnull=True).count() == 1
    winner = Financing.objects.get(invoice=invoice, status=FinancingStatus.FUNDED)
    assert balance(c.supplier) == str(winner.net_amount)  # paid once
    assert sorted([balance(c.funder), balance(other_funder)]) == sorted(
        ["20000.00", str(Decimal("20000.00") - winner.funder_outlay)]
    )
    assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.FINANCED
    assert ledger_problems() == []


def test_the_index_refuses_a_second_encumbrance_even_with_the_python_checks_bypassed(monkeypatch):
    c, other_funder, invoice, first, second = _two_approved_financings()
    services.financing_fund(user=c.funder, financing_id=first.pk)
    monkeypatch.setattr(financing_services, "_financeable", lambda *a, **k: None)  # no status check

    with pytest.raises(ApplicationError) as exc:
        services.financing_fund(user=other_funder, financing_id=second.pk, check_registry=False)  # no registry look-up

    assert exc.value.code == "already_encumbered"
    assert balance(other_funder) == "20000.00"
    assert Financing.objects.get(pk=second.pk).status == FinancingStatus.APPROVED
    with pytest.raises(IntegrityError), transaction.atomic():  # and raw inserts meet the same index
        Encumbrance.objects.create(asset=f"invoice:{invoice.pk}", financing=second, funder_id=other_funder.organisation_id)
    assert ledger_problems() == []


@pytest.mark.parametrize(
    ("limits", "fits", "code", "suppliers"),
    [
        ({"anchor_limit": "5000.00", "supplier_sublimit": "5000.00"}, 5, "anchor_limit_exceeded", 16),
        ({"anchor_limit": "100000.00", "supplier_sublimit": "3000.00"}, 3, "supplier_limit_exceeded", 1),
        (
            {"anchor_limit": "100000.00", "supplier_sublimit": "100000.00", "risk_assets": "8000.00"},
            4,
            "concentration_limit_exceeded",
            16,
        ),
        (
            {"anchor_limit": "100000.00", "supplier_sublimit": "100000.00", "risk_assets": "10000.00", "related_party": True},
            4,
            "concentration_limit_exceeded",
            16,
        ),
    ],
)
def test_16_concurrent_requests_never_overshoot_a_limit(limits, fits, code, suppliers):
    c = chain(**limits)
    sellers = [c.supplier] + [member() for _ in range(suppliers - 1)]  # 16 suppliers at once, or one with 16 invoices
    requests = []
    for n in range(16):
        seller = sellers[n % suppliers]
        invoice = confirmed_invoice(c, face="1000.00", number=f"R-{uuid.uuid4().hex[:8]}", supplier=seller)
        requests.append((seller, invoice))

    def request(seller, invoice):
        return lambda: services.financing_request(user=seller, programme_id=c.programme.pk, invoice_id=invoice.pk).status

    results = Counter(_concurrently([request(s, i) for s, i in requests]))

    assert results == {FinancingStatus.REQUESTED: fits, code: 16 - fits}
    used = Decimal(fits * 1000)
    assert Programme.objects.get(pk=c.programme.pk).utilised == used
    assert SupplierLimit.objects.filter(programme=c.programme).aggregate(s=Sum("utilised"))["s"] == used
    assert FunderExposure.objects.get(funder=c.funder.organisation).amount == used
    assert Financing.objects.count() == fits


def test_two_settlement_runs_at_once_pay_every_maturity_once(settings):
    from tests.p2p.factories import business_day

    settings.SUPPLYCHAIN = {**settings.SUPPLYCHAIN, "SWEEP_BATCH": 3}
    c = chain(annual_rate="0.06", fee_rate="0")
    deposit(c.funder, "20000.00")
    deposit(c.anchor, "20000.00")
    invoices = [confirmed_invoice(c, face="1000.00", days=10) for _ in range(10)]
    for invoice in invoices[:5]:
        financing = services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)
        services.financing_approve(user=c.funder, financing_id=financing.pk)
        services.financing_fund(user=c.funder, financing_id=financing.pk)
    supplier_before = Decimal(balance(c.supplier))

    def settle_all():
        with business_day(invoices[0].due_date):
            paid = 0
            while True:
                result = services.maturities_settle()
                paid += result["paid"]
                if not result["more"]:
                    return paid

    results = _concurrently([settle_all, settle_all], workers=2)

    assert sum(results) == 10  # each maturity paid by one run or the other, never both
    assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.PAID}
    assert balance(c.anchor) == "10000.00"
    assert Decimal(balance(c.supplier)) - supplier_before == Decimal("5000.00")  # the unfinanced five, paid once
    assert Decimal(balance(c.funder)) == Decimal("20000.00") - 5 * Financing.objects.first().funder_outlay + Decimal("5000.00")
    assert ledger_problems() == []
