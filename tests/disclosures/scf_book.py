"""A small supply-chain book built row by row, so every figure can be worked out by hand (instants set
exactly in the platform's time zone, Asia/Shanghai). The services build the same rows; here the
instants a snapshot reads (confirmed, funded, paid, dilution entered) are chosen.

As of 2026-02-01 00:00 Shanghai (the January filing; business date 2026-02-01), one funder F with
risk assets 700,000 (caps: 350,000 on A1; 280,000 on A2, a related party):
- I1 (A1) 100,000 financed at 100% on Dec 2, due Jan 2: exactly 30 days overdue (1-30).
- I2 (A1) 50,000 factored at 80% (advance 40,000) on Dec 1, due Jan 1: 31 days overdue (31-90).
- I3 (A1) 20,000 confirmed Jan 5, not financed: 2,000 diluted on Jan 10, 1,000 more on Feb 3 (after
  the instant): confirmed, unpaid 18,000.
- I4 (A2) 300,000 financed on Jan 10, due Feb 28: outstanding, not overdue.
- I5 (A1) 10,000 financed Nov 20, due and paid at maturity on Jan 20: financed, no longer outstanding.
- I6 (A2) 5,000 financed Sep 30, due Oct 31: 93 days overdue (more than 90).
- I7 (A1) 7,000 confirmed Jan 20, financed Feb 1 00:30 Shanghai (still Jan 31 in UTC): February's.
"""

import datetime
import uuid
import zoneinfo
from decimal import Decimal

from platform_core.accounts.models import OrganisationKind
from supplychain.models import Dilution, Financing, FunderProfile, Invoice, Programme
from tests.factories import OrganisationFactory, SmeUserFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(year, month, day, hour=12, minute=0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def programme_make(entity, funder, anchor, *, related_party=False, advance_rate="1") -> Programme:
    return Programme.objects.create(
        entity=entity,
        name=f"Programme {uuid.uuid4().hex[:6]}",
        funder=funder,
        anchor=anchor,
        product="payables_finance" if advance_rate == "1" else "receivables_factoring",
        anchor_limit=Decimal("5000000.00"),
        supplier_sublimit=Decimal("5000000.00"),
        advance_rate=Decimal(advance_rate),
        annual_rate=Decimal("0.06"),
        fee_rate=Decimal("0"),
        related_party=related_party,
    )


def invoice_make(supplier, anchor, face, *, due, confirmed_at, paid_at=None, dilutions=(), status="confirmed") -> Invoice:
    creator = SmeUserFactory(organisation=supplier)
    invoice = Invoice.objects.create(
        supplier=supplier,
        anchor=anchor,
        created_by=creator,
        number=f"INV-{uuid.uuid4().hex[:8]}",
        issue_date=due - datetime.timedelta(days=90),
        due_date=due,
        face_amount=Decimal(face),
        dilution_amount=sum((Decimal(amount) for amount, _ in dilutions), Decimal("0.00")),
        fingerprint=uuid.uuid4().hex + uuid.uuid4().hex,
        status=status,
        confirmed_at=confirmed_at,
        paid_at=paid_at,
    )
    for amount, entered_at in dilutions:
        dilution = Dilution.objects.create(invoice=invoice, amount=Decimal(amount), reason="credit note", created_by=creator)
        Dilution.objects.filter(pk=dilution.pk).update(created_at=entered_at)
    return invoice


def financing_make(programme, invoice, *, funded_at, paid_at=None, status="funded") -> Financing:
    advance = (invoice.face_amount * programme.advance_rate).quantize(Decimal("0.01"))
    return Financing.objects.create(
        programme=programme,
        funder=programme.funder,
        debtor=programme.anchor,
        requester=invoice.supplier,
        invoice=invoice,
        created_by=invoice.created_by,
        amount=invoice.face_amount,
        advance_rate=programme.advance_rate,
        annual_rate=programme.annual_rate,
        day_basis=360,
        fee_rate=Decimal("0"),
        recourse=True,
        due_date=invoice.due_date,
        funding_date=funded_at.date(),
        days=max((invoice.due_date - funded_at.date()).days, 0),
        advance=advance,
        discount=Decimal("0.00"),
        fee=Decimal("0.00"),
        net_amount=advance,
        status=status,
        expires_at=funded_at + datetime.timedelta(days=5),
        funded_at=funded_at,
        paid_at=paid_at,
        collected=advance if paid_at else Decimal("0.00"),
    )


def january_scf_book(entity) -> dict:
    funder = OrganisationFactory(kind=OrganisationKind.FUNDER, legal_name="Funder F", credit_code="91330000FUNDERF001")
    a1 = OrganisationFactory(kind=OrganisationKind.CORE_ENTERPRISE, legal_name="Anchor A1", credit_code="91330000ANCHORA101")
    a2 = OrganisationFactory(kind=OrganisationKind.CORE_ENTERPRISE, legal_name="Anchor A2", credit_code="91330000ANCHORA201")
    supplier = OrganisationFactory(kind=OrganisationKind.SME)
    FunderProfile.objects.create(organisation=funder, risk_assets=Decimal("700000.00"))
    p1 = programme_make(entity, funder, a1)
    factoring = programme_make(entity, funder, a1, advance_rate="0.8")
    p2 = programme_make(entity, funder, a2, related_party=True)

    i1 = invoice_make(supplier, a1, "100000.00", due=datetime.date(2026, 1, 2), confirmed_at=at(2025, 12, 1), status="financed")
    financing_make(p1, i1, funded_at=at(2025, 12, 2), status="overdue")
    i2 = invoice_make(supplier, a1, "50000.00", due=datetime.date(2026, 1, 1), confirmed_at=at(2025, 11, 25), status="financed")
    financing_make(factoring, i2, funded_at=at(2025, 12, 1), status="overdue")
    i3 = invoice_make(
        supplier,
        a1,
        "20000.00",
        due=datetime.date(2026, 3, 31),
        confirmed_at=at(2026, 1, 5),
        dilutions=[("2000.00", at(2026, 1, 10)), ("1000.00", at(2026, 2, 3))],
    )
    i4 = invoice_make(supplier, a2, "300000.00", due=datetime.date(2026, 2, 28), confirmed_at=at(2026, 1, 8), status="financed")
    financing_make(p2, i4, funded_at=at(2026, 1, 10))
    i5 = invoice_make(
        supplier,
        a1,
        "10000.00",
        due=datetime.date(2026, 1, 20),
        confirmed_at=at(2025, 11, 15),
        paid_at=at(2026, 1, 20, 9),
        status="paid",
    )
    financing_make(p1, i5, funded_at=at(2025, 11, 20), paid_at=at(2026, 1, 20, 9), status="paid")
    i6 = invoice_make(supplier, a2, "5000.00", due=datetime.date(2025, 10, 31), confirmed_at=at(2025, 9, 25), status="overdue")
    financing_make(p2, i6, funded_at=at(2025, 9, 30), status="overdue")
    i7 = invoice_make(supplier, a1, "7000.00", due=datetime.date(2026, 3, 1), confirmed_at=at(2026, 1, 20), status="financed")
    financing_make(p1, i7, funded_at=at(2026, 2, 1, 0, 30))
    return {"funder": funder, "a1": a1, "a2": a2, "invoices": [i1, i2, i3, i4, i5, i6, i7]}
