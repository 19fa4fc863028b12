"""The supply-chain API as its users call it: every refusal a stable code in one error shape and
nothing changed; each party sees only its own paper; lists cost the same queries for 1 row or 30."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.models import Transaction
from supplychain import services
from supplychain.models import Financing, FinancingStatus, Invoice, PayableCertificate, business_date
from tests.conftest import ORDINARY_DAY
from tests.p2p.factories import business_day
from tests.platform_core.api_helpers import assert_error

from .factories import balance, chain, confirmed_invoice, deposit, member

pytestmark = pytest.mark.django_db

TODAY = business_date(ORDINARY_DAY)  # the day every test runs on (tests/conftest.py), not the real one


def _key():
    return {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}


def _post(client, url, body=None, **headers):
    return client.post(url, body or {}, format="json", **(headers or _key()))


def _invoice_body(c, **over):
    body = {
        "anchor": c.anchor.organisation_id,
        "number": "INV-9",
        "issue_date": TODAY.isoformat(),
        "due_date": (TODAY + datetime.timedelta(days=20)).isoformat(),
        "face_amount": "1000.00",
    }
    body.update(over)
    return body


def test_a_supplier_turns_an_invoice_into_cash_through_the_api(api_as):
    c = chain(annual_rate="0.06", fee_rate="0")
    supplier, anchor, funder = api_as(c.supplier), api_as(c.anchor), api_as(c.funder)
    deposit(c.funder, "5000.00")
    deposit(c.anchor, "1000.00")

    created = _post(supplier, "/api/v1/invoices/", _invoice_body(c))
    assert created.status_code == 201, created.json()
    invoice_id = created.json()["id"]
    assert _post(anchor, f"/api/v1/invoices/{invoice_id}/confirm/").json()["status"] == "confirmed"

    quote = supplier.post("/api/v1/financings/?quote=1", {"programme": c.programme.pk, "invoice": invoice_id}, format="json")
    assert quote.status_code == 200, quote.json()
    assert (quote.json()["discount"], quote.json()["net_amount"], quote.json()["days"]) == ("3.33", "996.67", 20)
    assert (
        supplier.post("/api/v1/financings/quote/", {"programme": c.programme.pk, "invoice": invoice_id}, format="json").json()
        == quote.json()
    )
    assert Financing.objects.count() == 0  # a quote writes nothing

    requested = _post(supplier, "/api/v1/financings/", {"programme": c.programme.pk, "invoice": invoice_id})
    assert requested.status_code == 201 and requested.json()["status"] == "requested"
    financing_id = requested.json()["id"]
    registry = funder.get("/api/v1/registry/", {"asset": f"invoice:{invoice_id}"})
    assert registry.status_code == 200 and registry.json()["encumbered"] is False
    assert _post(funder, f"/api/v1/financings/{financing_id}/approve/").json()["status"] == "approved"
    key = _key()
    first = _post(funder, f"/api/v1/financings/{financing_id}/fund/", **key)
    again = _post(funder, f"/api/v1/financings/{financing_id}/fund/", **key)
    assert first.status_code == 200 and first.json()["status"] == "funded"
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert balance(c.supplier) == "996.67" and balance(c.funder) == "4003.33"  # paid once
    assert funder.get("/api/v1/registry/", {"asset": f"invoice:{invoice_id}"}).json()["encumbered"] is True

    with business_day(TODAY + datetime.timedelta(days=20)):
        services.maturities_settle()
    assert supplier.get(f"/api/v1/financings/{financing_id}/").json()["status"] == "paid"
    assert balance(c.funder) == "5003.33"
    assert ledger_problems() == []


def test_every_state_changing_post_needs_an_idempotency_key(api_as):
    c = chain()
    invoice = confirmed_invoice(c)
    for client, url, body in [
        (api_as(c.supplier), "/api/v1/invoices/", _invoice_body(c, number="K-1")),
        (api_as(c.anchor), f"/api/v1/invoices/{invoice.pk}/dilutions/", {"amount": "1.00", "reason": "x"}),
        (api_as(c.supplier), "/api/v1/financings/", {"programme": c.programme.pk, "invoice": invoice.pk}),
        (api_as(c.anchor), "/api/v1/certificates/", {"invoices": [invoice.pk]}),
    ]:
        assert_error(client.post(url, body, format="json"), 400, "idempotency_key_required")
    assert Invoice.objects.count() == 1 and Financing.objects.count() == 0 and PayableCertificate.objects.count() == 0


@pytest.mark.parametrize(
    ("over", "status", "code", "field"),
    [
        ({"face_amount": "0"}, 400, "amount_not_positive", "face_amount"),
        ({"face_amount": "-1.00"}, 400, "amount_not_positive", "face_amount"),
        ({"face_amount": "99999999999.00"}, 400, "amount_too_large", "face_amount"),
        ({"face_amount": "1e400"}, 400, "invalid_amount", "face_amount"),  # amounts are plain decimals: no exponent
        ({"due_date": (TODAY - datetime.timedelta(days=3)).isoformat()}, 400, "invalid_due_date", "due_date"),
        ({"due_date": (TODAY + datetime.timedelta(days=400)).isoformat()}, 400, "tenor_too_long", "due_date"),
        ({"anchor": "999999"}, 400, "anchor_not_core_enterprise", "anchor"),
        ({"number": "N\x00UL"}, 400, "invalid", "number"),  # refused by the parser already
    ],
)
def test_bad_invoices_get_a_stable_code_and_change_nothing(api_as, over, status, code, field):
    c = chain()
    response = _post(api_as(c.supplier), "/api/v1/invoices/", _invoice_body(c, **over))
    assert_error(response, status, code, field)
    assert Invoice.objects.count() == 0


def test_a_duplicate_invoice_is_refused_without_revealing_the_first(api_as):
    c = chain()
    client = api_as(c.supplier)
    first = _post(client, "/api/v1/invoices/", _invoice_body(c))
    error = assert_error(_post(client, "/api/v1/invoices/", _invoice_body(c)), 409, "duplicate_invoice")
    assert str(first.json()["id"]) not in error["message"]
    assert Invoice.objects.count() == 1


def test_bad_financing_requests_and_fundings(api_as):
    c = chain()
    deposit(c.funder, "10000.00")
    supplier, funder = api_as(c.supplier), api_as(c.funder)
    submitted = services.invoice_create(
        user=c.supplier,
        anchor_id=c.anchor.organisation_id,
        number="S-1",
        issue_date=TODAY,
        due_date=TODAY + datetime.timedelta(days=30),
        face_amount="100.00",
    )
    assert_error(
        _post(supplier, "/api/v1/financings/", {"programme": c.programme.pk, "invoice": submitted.pk}),
        409,
        "asset_not_financeable",
    )
    invoice = confirmed_invoice(c)
    assert_error(
        _post(supplier, "/api/v1/financings/", {"programme": c.programme.pk, "invoice": invoice.pk, "amount": "1000.01"}),
        400,
        "amount_exceeds_balance",
        "amount",
    )
    assert_error(
        _post(supplier, "/api/v1/financings/", {"programme": 0, "invoice": invoice.pk}), 400, "invalid_programme", "programme"
    )
    financing = _post(supplier, "/api/v1/financings/", {"programme": c.programme.pk, "invoice": invoice.pk}).json()
    assert_error(_post(funder, f"/api/v1/financings/{financing['id']}/fund/"), 409, "financing_not_approved")
    assert_error(_post(supplier, f"/api/v1/financings/{financing['id']}/approve/"), 403, "permission_denied")
    assert_error(_post(funder, f"/api/v1/financings/{financing['id']}/reject/", {"reason": ""}), 400, "invalid_reason", "reason")
    other_funder = member("funder")
    assert_error(_post(api_as(other_funder), f"/api/v1/financings/{financing['id']}/fund/"), 404, "not_found")
    assert balance(c.funder) == "10000.00" and balance(c.supplier) == "0.00"
    assert Financing.objects.get(pk=financing["id"]).status == FinancingStatus.REQUESTED
    assert Transaction.objects.filter(kind="scf_funding").count() == 0


def test_each_party_sees_only_its_own_paper(api_as, regulator):
    c = chain()
    invoice = confirmed_invoice(c)
    financing = services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)
    other = chain()  # another anchor, funder and supplier with their own paper
    other_invoice = confirmed_invoice(other)
    stranger_funder = member("funder")

    def ids(user, url):
        response = api_as(user).get(url)
        assert response.status_code == 200
        return {row["id"] for row in response.json()["results"]}

    assert ids(c.supplier, "/api/v1/invoices/") == {invoice.pk}
    assert ids(c.anchor, "/api/v1/invoices/") == {invoice.pk}
    assert ids(c.funder, "/api/v1/invoices/") == {invoice.pk}  # asked to fund it
    assert ids(other.funder, "/api/v1/invoices/") == set()
    assert ids(stranger_funder, "/api/v1/financings/") == set()
    assert ids(c.funder, "/api/v1/financings/") == {financing.pk}
    assert ids(other.anchor, "/api/v1/financings/") == set()
    assert ids(regulator, "/api/v1/invoices/") == {invoice.pk, other_invoice.pk}
    for user in (other.supplier, other.anchor, other.funder, stranger_funder):
        client = api_as(user)
        assert_error(client.get(f"/api/v1/invoices/{invoice.pk}/"), 404, "not_found")
        assert_error(client.get(f"/api/v1/financings/{financing.pk}/"), 404, "not_found")
        assert_error(client.get("/api/v1/registry/", {"asset": f"invoice:{invoice.pk}"}), 404, "not_found")
        assert_error(
            _post(client, f"/api/v1/invoices/{invoice.pk}/dilutions/", {"amount": "1.00", "reason": "x"}), 404, "not_found"
        )
    assert api_as(c.funder).get("/api/v1/registry/", {"asset": f"invoice:{invoice.pk}"}).status_code == 200
    assert_error(api_as(c.funder).get("/api/v1/registry/", {"asset": f"invoice:{other_invoice.pk}"}), 404, "not_found")
    # a control character in any query parameter is a 400 before a view runs (the platform's one rule)
    assert_error(api_as(c.funder).get("/api/v1/registry/", {"asset": "invoice:\x00"}), 400, "invalid_query")
    assert_error(api_as(c.supplier).get("/api/v1/invoices/", {"status": "con\x00firmed"}), 400, "invalid_query")
    # regulators read, never write
    assert_error(
        _post(api_as(regulator), f"/api/v1/invoices/{invoice.pk}/dilutions/", {"amount": "1.00", "reason": "x"}),
        403,
        "permission_denied",
    )
    assert Invoice.objects.get(pk=invoice.pk).dilution_amount == Decimal("0.00")


def test_lists_cost_the_same_queries_for_one_row_and_thirty(api_as):
    c = chain()
    deposit(c.funder, "100000.00")

    def counts():
        result = {}
        for name, user, url in [
            ("invoices", c.supplier, "/api/v1/invoices/"),
            ("financings", c.funder, "/api/v1/financings/"),
            ("certificates", c.supplier, "/api/v1/certificates/"),
        ]:
            client = api_as(user)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, {"page_size": 50})
            assert response.status_code == 200
            result[name] = (len(queries), response.json()["count"])
        return result

    def add_paper():
        invoice = confirmed_invoice(c, face="100.00")
        services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=invoice.pk)
        certified = confirmed_invoice(c, face="100.00")
        services.certificate_issue(user=c.anchor, invoice_ids=[certified.pk])

    add_paper()
    one = counts()
    for _ in range(14):
        add_paper()
    many = counts()
    assert {k: n for k, (_, n) in one.items()} == {"invoices": 2, "financings": 1, "certificates": 1}
    assert {k: n for k, (_, n) in many.items()} == {"invoices": 30, "financings": 15, "certificates": 15}
    assert {k: q for k, (q, _) in many.items()} == {k: q for k, (q, _) in one.items()}
