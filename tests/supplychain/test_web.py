"""The supply-chain pages by role, documents, and the admin (regulators read only)."""

import datetime
import re
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from platform_core.errors import ApplicationError
from platform_core.ledger.checks import ledger_problems
from supplychain import services
from supplychain.models import FinancingStatus, Invoice, InvoiceDocument, InvoiceStatus, business_date

from .factories import balance, chain, confirmed_invoice, deposit, member

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _png(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (the pixel data is a stub: nothing should decode it)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


def test_supplier_registers_an_invoice_with_its_document_and_sees_what_it_could_raise(client):
    c = chain(annual_rate="0.06", fee_rate="0")
    client.force_login(c.supplier)
    today = business_date()
    response = client.post(
        "/scf/invoices/new/",
        {
            "anchor": c.anchor.organisation_id,
            "number": "W-1",
            "issue_date": today.isoformat(),
            "due_date": (today + datetime.timedelta(days=20)).isoformat(),
            "face_amount": "1000.00",
            "document": SimpleUploadedFile("scan.bin", PDF, content_type="image/png"),  # the browser's word is ignored
        },
    )
    invoice = Invoice.objects.get(number="W-1")
    assert response.status_code == 302
    document = InvoiceDocument.objects.get(invoice=invoice)
    assert document.content_type == "application/pdf" and document.size == len(PDF) and len(document.sha256) == 64
    assert document.stored_name.endswith(".pdf") and "scan" not in document.stored_name
    services.invoice_confirm(user=c.anchor, invoice_id=invoice.pk)
    page = client.get("/scf/").content.decode()
    assert "W-1" in page and "996.67" in page  # could raise today
    detail = client.get(f"/scf/invoices/{invoice.pk}/").content.decode()
    assert "996.67" in detail and "Request financing" in detail
    services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)
    row = re.search(rf'<tr data-invoice="{invoice.pk}">.*?</tr>', client.get("/scf/").content.decode(), flags=re.S).group(0)
    assert "996.67" not in row  # a funder is answering a request for it already


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"MZ\x90\x00 not a pdf", "invalid_document_type"),
        (b"<html><script>alert(1)</script></html>", "invalid_document_type"),
        (_png(50_000, 50_000), "image_too_large"),
    ],
)
def test_bad_documents_are_refused(content, code):
    c = chain()
    invoice = confirmed_invoice(c)
    with pytest.raises(ApplicationError) as exc:
        services.document_add(user=c.supplier, invoice_id=invoice.pk, upload=SimpleUploadedFile("x.pdf", content))
    assert exc.value.code == code and exc.value.field == "document"
    assert InvoiceDocument.objects.count() == 0


def test_a_document_over_the_size_limit_is_refused(settings):
    settings.SUPPLYCHAIN = {**settings.SUPPLYCHAIN, "DOCUMENT_MAX_BYTES": 1024}
    c = chain()
    invoice = confirmed_invoice(c)
    with pytest.raises(ApplicationError) as exc:
        services.document_add(user=c.supplier, invoice_id=invoice.pk, upload=SimpleUploadedFile("big.pdf", PDF + b"0" * 1024))
    assert exc.value.code == "document_too_large"
    services.document_add(user=c.supplier, invoice_id=invoice.pk, upload=SimpleUploadedFile("small.png", _png(10, 10)))
    assert InvoiceDocument.objects.get().content_type == "image/png"


def test_bad_invoice_form_input_lands_beside_the_field(client):
    c = chain()
    client.force_login(c.supplier)
    today = business_date()
    response = client.post(
        "/scf/invoices/new/",
        {
            "anchor": c.anchor.organisation_id,
            "number": "W-2",
            "issue_date": today.isoformat(),
            "due_date": (today - datetime.timedelta(days=1)).isoformat(),
            "face_amount": "100.00",
        },
    )
    assert response.status_code == 400
    assert "due date must come after" in response.content.decode()
    assert response.context["form"].errors["due_date"]
    assert Invoice.objects.count() == 0


def test_anchor_works_its_queue_and_funder_funds_once_from_the_page(client):
    c = chain(annual_rate="0.06", fee_rate="0")
    invoice = services.invoice_create(
        user=c.supplier,
        anchor_id=c.anchor.organisation_id,
        number="Q-1",
        issue_date=business_date(),
        due_date=business_date() + datetime.timedelta(days=20),
        face_amount="1000.00",
    )
    client.force_login(c.anchor)
    assert "Q-1" in client.get("/scf/").content.decode()
    client.post(f"/scf/invoices/{invoice.pk}/confirm/")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CONFIRMED

    financing = services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)
    deposit(c.funder, "2000.00")
    client.force_login(c.funder)
    board = client.get("/scf/").content.decode()
    assert f"invoice:{invoice.pk}" in board and "free" in board
    client.post(f"/scf/financings/{financing.pk}/approve/")
    page = client.get(f"/scf/financings/{financing.pk}/")
    key = page.context["fund_form"]["idempotency_key"].value()
    first = client.post(f"/scf/financings/{financing.pk}/fund/", {"idempotency_key": key})
    second = client.post(f"/scf/financings/{financing.pk}/fund/", {"idempotency_key": key})  # a double click
    assert first.status_code == second.status_code == 302
    financing.refresh_from_db()
    assert financing.status == FinancingStatus.FUNDED
    assert balance(c.supplier) == "996.67" and balance(c.funder) == "1003.33"
    assert "already encumbered" in client.get(f"/scf/financings/{financing.pk}/").content.decode()
    assert ledger_problems() == []


def test_strangers_get_404_on_every_page_of_anothers_paper(client):
    c = chain()
    invoice = confirmed_invoice(c)
    financing = services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)
    certificate = services.certificate_issue(user=c.anchor, invoice_ids=[confirmed_invoice(c).pk])
    client.force_login(member("funder"))
    for url in (f"/scf/invoices/{invoice.pk}/", f"/scf/financings/{financing.pk}/", f"/scf/certificates/{certificate.pk}/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/scf/financings/{financing.pk}/fund/", {"idempotency_key": "k"}).status_code == 404


def test_dashboards_cost_the_same_queries_for_one_invoice_and_twenty(client):
    c = chain()
    deposit(c.funder, "100000.00")

    def add():
        invoice = confirmed_invoice(c, face="100.00")
        services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)

    def counts():
        result = {}
        for name, user in (("supplier", c.supplier), ("anchor", c.anchor), ("funder", c.funder)):
            client.force_login(user)
            with CaptureQueriesContext(connection) as queries:
                assert client.get("/scf/").status_code == 200
            result[name] = len(queries)
        return result

    add()
    one = counts()
    for _ in range(19):
        add()
    assert counts() == one


SCF_CHANGELISTS = [
    "programme",
    "supplierlimit",
    "funderprofile",
    "funderexposure",
    "invoice",
    "dilution",
    "invoicedocument",
    "payablecertificate",
    "financing",
    "encumbrance",
    "reminder",
]


@pytest.mark.parametrize("model", SCF_CHANGELISTS)
def test_regulator_reads_every_scf_model_and_changes_none(client, regulator, model):
    c = chain()
    invoice = confirmed_invoice(c)
    services.dilution_add(user=c.anchor, invoice_id=invoice.pk, amount="1.00", reason="Return")
    client.force_login(regulator)
    assert client.get(f"/admin/supplychain/{model}/").status_code == 200
    assert client.get(f"/admin/supplychain/{model}/add/").status_code == 403
    assert b"action-select" not in client.get(f"/admin/supplychain/{model}/").content
