"""The demo data (`manage.py demo_seed`, run by `make demo`): every role can log in, the late loan
sits in its bucket with penalty interest accrued, the books balance, and a second run adds nothing."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from p2p.models import InstallmentStatus, Loan, LoanStatus
from p2p.selectors import loan_list
from p2p.services import repayments_collect_due
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.models import Transaction

pytestmark = pytest.mark.django_db


def test_demo_seed_builds_a_balanced_platform_once(capsys):
    call_command("demo_seed")
    transactions = Transaction.objects.count()

    call_command("demo_seed")

    assert Transaction.objects.count() == transactions  # idempotent
    assert ledger_problems() == []
    late = loan_list(user=None).get(purpose="Cafe refit (repayments late)")
    assert (late.status, late.days_past_due, late.delinquency_bucket) == (LoanStatus.ACTIVE, 40, "31-60")
    first = late.installments.get(number=1)
    assert first.status == InstallmentStatus.OVERDUE and first.penalty_due > 0
    assert Loan.objects.filter(status=LoanStatus.ACTIVE).count() == 2
    assert repayments_collect_due() == 0  # the hourly auto-debit finds too little in the borrower's wallet: still late
    assert loan_list(user=None).get(pk=late.pk).days_past_due == 40
    assert "Every demo log-in has the password" in capsys.readouterr().out


def test_demo_seed_files_three_months_of_disclosures_with_one_open_alert():
    from platform_core.accounts.models import PlatformEntity
    from platform_core.accounts.services import entity_default
    from platform_core.disclosures.models import Alert, Snapshot
    from platform_core.disclosures.selectors import fig1_rows
    from platform_core.disclosures.services import chain_problems

    call_command("demo_seed")
    call_command("demo_seed")  # again: nothing more filed

    entities = PlatformEntity.objects.filter(disclosure_snapshots__isnull=False).distinct()
    assert entities.count() >= 4
    for entity in entities:
        assert entity.disclosure_snapshots.filter(kind="monthly", version=1).count() == 3
    assert Snapshot.objects.count() == 3 * entities.count()
    assert chain_problems() == []
    assert Alert.objects.filter(status="open").count() == 1
    last = Snapshot.objects.order_by("-period").first().period
    rows = {(r["entity"].name, str(r["property"])) for r in fig1_rows(last)}
    assert {("Jingdong Crowdfunding", "Commodity"), ("Angel Collection", "Equity")} <= rows
    # the default entity's filed months carry the supply-chain items: last month, both financings funded
    # 33 and 40 days ago (Suzhou Electronics' factoring, 80% of 50,000; Zhejiang Auto's 118,500)
    for snapshot in entity_default().disclosure_snapshots.all():
        assert {"scf.outstanding_amount", "scf.anchor_overdue_over_90", "scf.anchors_above_cap"} <= set(snapshot.items)
    last_month = entity_default().disclosure_snapshots.get(period=last).items
    assert last_month["scf.financed_amount"]["value"] == "158500.00"
    assert last_month["scf.financed_count"]["value"] == 2
    financed = last_month["scf.anchor_financed"]["value"]
    assert sorted(Decimal(v) for v in financed.values()) == [Decimal("40000.00"), Decimal("118500.00")]
    assert Decimal(last_month["scf.confirmed_amount"]["value"]) >= Decimal("50000.00")  # the overdue invoice, unpaid


def test_demo_seed_shows_supply_chain_finance_in_every_state():
    from supplychain.models import CertificateStatus, Financing, FinancingStatus, Invoice, InvoiceStatus, PayableCertificate

    call_command("demo_seed")
    call_command("demo_seed")

    statuses = set(Invoice.objects.values_list("status", flat=True))
    assert statuses == {
        InvoiceStatus.SUBMITTED,
        InvoiceStatus.REJECTED,
        InvoiceStatus.DISPUTED,
        InvoiceStatus.CONFIRMED,
        InvoiceStatus.CERTIFIED,
        InvoiceStatus.FINANCED,
        InvoiceStatus.OVERDUE,
        InvoiceStatus.PAID,
    }
    paid = Financing.objects.get(status=FinancingStatus.PAID)
    assert paid.collected == paid.advance == Decimal("118500.00")  # financed after the credit note, at 100%
    assert paid.reserve_paid == Decimal("0.00") and paid.recourse_claim == Decimal("0.00")
    assert Financing.objects.filter(status=FinancingStatus.OVERDUE).count() == 1
    assert Financing.objects.filter(status=FinancingStatus.REQUESTED).count() == 1
    tree = PayableCertificate.objects.order_by("depth")
    assert [c.depth for c in tree] == [0, 1, 2] and {c.status for c in tree} == {CertificateStatus.ACTIVE}
    assert sum(c.balance for c in tree) == tree[0].face_amount == Decimal("300000.00")
    assert ledger_problems() == []
