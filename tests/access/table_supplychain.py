"""Access rules of supply-chain finance: programmes, invoices, certificates, financings, the
registry; API and pages (issue 10). Organisation A (`sme_owner`) is the supplier, the world's core
enterprise the anchor its paper is drawn on, the world's funder the programme's funder:

- a supplier sees and acts on its own paper only (its owners and finance members act, its viewer
  reads);
- the anchor sees the paper drawn on it and answers it (confirm, reject, dispute, dilution, issue
  certificates);
- the funder sees only the requests made to it, and the registry's answer for an asset it is
  asked to fund, and answers them (approve, reject, fund);
- operators and regulators read everything; operators set programmes up; regulators never write;
- anyone else gets a 404 for paper that is not theirs.
"""

import datetime
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

from supplychain import services
from supplychain.models import business_date

from .world import (
    ANONYMOUS,
    ORG_A,
    ORG_A_ACTORS,
    ORGANISATION_MEMBERS,
    SIGNED_IN,
    STAFF,
    Rule,
)

ANCHOR = "core_enterprise"
FUNDER = "funder"
INVOICE_PARTIES = ORG_A | STAFF | {ANCHOR}  # the supplier, the anchor it is drawn on, staff
ASKED_PARTIES = INVOICE_PARTIES | {FUNDER}  # ... and the funder asked to finance it
# who registers invoices: an owner or finance member of an SME or a core enterprise (as a supplier
# of another anchor; drawn on itself it is refused beside the field)
SUPPLIERS = frozenset({"sme_owner", "sme_finance", "sme_other", "sme_kyc_failed"})
SELF_DRAWN = {ANCHOR: 400}


def _invoice(world, *, number: str, face: str, confirm: bool):
    today = business_date()
    invoice = services.invoice_create(
        user=world.users["sme_owner"],
        anchor_id=world.users[ANCHOR].organisation_id,
        number=number,
        issue_date=today - datetime.timedelta(days=10),
        due_date=today + datetime.timedelta(days=30),
        face_amount=face,
    )
    if confirm:
        invoice = services.invoice_confirm(user=world.users[ANCHOR], invoice_id=invoice.pk)
    return invoice


def build(world):
    supplier, anchor, funder = world.users["sme_owner"], world.users[ANCHOR], world.users[FUNDER]
    programme = services.programme_create(
        actor=world.users["operator"],
        name="Matrix programme MARK-SCF-PROGRAMME",
        funder_id=funder.organisation_id,
        anchor_id=anchor.organisation_id,
        product="payables_finance",
        anchor_limit="1000000.00",
        supplier_sublimit="500000.00",
        annual_rate="0.06",
    )
    world.add("programme", programme, "MARK-SCF-PROGRAMME")
    services.funder_risk_assets_declare(user=funder, risk_assets="10000000.00")

    world.add("inv_submitted", _invoice(world, number="MARK-SCF-SUBMITTED", face="1111.00", confirm=False), "MARK-SCF-SUBMITTED")
    world.add("inv_confirmed", _invoice(world, number="MARK-SCF-CONFIRMED", face="1222.00", confirm=True), "MARK-SCF-CONFIRMED")
    requested = world.add(
        "inv_requested", _invoice(world, number="MARK-SCF-REQUESTED", face="1234.56", confirm=True), "MARK-SCF-REQUESTED"
    )
    asked = services.financing_request(user=supplier, programme_id=programme.pk, invoice_id=requested.pk)
    world.add("fin_requested", asked, ("1234.56", "1,234.56"))
    approved_invoice = _invoice(world, number="MARK-SCF-APPROVED", face="1357.91", confirm=True)
    approved = services.financing_request(user=supplier, programme_id=programme.pk, invoice_id=approved_invoice.pk)
    world.add("fin_approved", services.financing_approve(user=funder, financing_id=approved.pk))
    certified = _invoice(world, number="MARK-SCF-CERTIFIED", face="2468.00", confirm=True)
    certificate = services.certificate_issue(user=anchor, invoice_ids=[certified.pk])
    world.add("certificate", certificate, ("2468.00", "2,468.00"))


def _financing_body(obj: str, asset: str = "invoice"):
    return lambda world, actor: {"programme": str(world.objects["programme"].pk), asset: str(world.objects[obj].pk)}


def _new_invoice(world, actor):
    today = business_date()
    return {
        "anchor": str(world.users[ANCHOR].organisation_id),
        "number": f"NEW-{uuid.uuid4().hex[:8]}",
        "issue_date": today.isoformat(),
        "due_date": (today + datetime.timedelta(days=20)).isoformat(),
        "face_amount": "900.00",
    }


def _split(world, actor):
    return {"amount": "100.00", "to_organisation": str(world.users["sme_other"].organisation_id)}


def _keyed(body):
    def data(world, actor):
        return {**(body(world, actor) if callable(body) else body), "idempotency_key": uuid.uuid4().hex}

    return data


def _web_finance(world, actor):
    return {"programme": str(world.objects["programme"].pk), "amount": ""}


def _web_certificate(world, actor):
    return {"invoices": [str(world.objects["inv_confirmed"].pk)], "amount": ""}


def _web_document(world, actor):
    return {"document": SimpleUploadedFile("invoice.pdf", b"%PDF-1.4\n%matrix\n", content_type="application/pdf")}


def _programme_form(world, actor):
    return {
        "name": "A second line",
        "funder": str(world.users[FUNDER].organisation_id),
        "anchor": str(world.users[ANCHOR].organisation_id),
        "product": "receivables_factoring",
        "anchor_limit": "50000.00",
        "supplier_sublimit": "10000.00",
        "annual_rate": "0.05",
        "day_basis": "360",
    }


REASON = {"reason": "Not as agreed."}
INVOICE_ROWS = {"inv_submitted": INVOICE_PARTIES, "inv_requested": ASKED_PARTIES}

RULES = [
    # --- API: invoices ---
    Rule("api-invoices", "GET", None, SIGNED_IN, rows=INVOICE_ROWS),
    Rule("api-invoices", "POST", None, SUPPLIERS, data=_new_invoice, refusals=SELF_DRAWN),
    Rule("api-invoice", "GET", "inv_submitted", INVOICE_PARTIES, private=INVOICE_PARTIES),
    Rule("api-invoice", "GET", "inv_requested", ASKED_PARTIES, private=ASKED_PARTIES),
    Rule("api-invoice-confirm", "POST", "inv_submitted", {ANCHOR}, private=INVOICE_PARTIES),
    Rule("api-invoice-reject", "POST", "inv_submitted", {ANCHOR}, private=INVOICE_PARTIES, data=REASON),
    Rule("api-invoice-dispute", "POST", "inv_submitted", {ANCHOR}, private=INVOICE_PARTIES, data=REASON),
    Rule(
        "api-invoice-dilutions",
        "POST",
        "inv_confirmed",
        {ANCHOR},
        private=INVOICE_PARTIES,
        data={"amount": "10.00", "reason": "A return."},
    ),
    # --- API: certificates ---
    Rule("api-certificates", "GET", None, SIGNED_IN, rows={"certificate": INVOICE_PARTIES}),
    Rule("api-certificates", "POST", None, {ANCHOR}, data=lambda w, a: {"invoices": [str(w.objects["inv_confirmed"].pk)]}),
    Rule("api-certificate", "GET", "certificate", INVOICE_PARTIES, private=INVOICE_PARTIES),
    Rule("api-certificate-split", "POST", "certificate", ORG_A_ACTORS, private=INVOICE_PARTIES, data=_split),
    # --- API: financings ---
    Rule("api-financings", "GET", None, SIGNED_IN, rows={"fin_requested": ASKED_PARTIES}),
    Rule("api-financings", "POST", None, ORG_A_ACTORS, data=_financing_body("inv_confirmed")),
    Rule("api-financings", "POST", None, ORG_A_ACTORS, data=_financing_body("certificate", "certificate"), query="quote=1"),
    Rule("api-financing-quote", "POST", None, ORG_A_ACTORS, data=_financing_body("inv_confirmed")),
    Rule("api-financing", "GET", "fin_requested", ASKED_PARTIES, private=ASKED_PARTIES),
    Rule("api-financing-approve", "POST", "fin_requested", {FUNDER}, private=ASKED_PARTIES),
    Rule("api-financing-reject", "POST", "fin_requested", {FUNDER}, private=ASKED_PARTIES, data=REASON),
    Rule("api-financing-fund", "POST", "fin_approved", {FUNDER}, private=ASKED_PARTIES),
    # --- API: the registry (for an asset one may see; a funder only when asked to fund it) ---
    Rule("api-registry", "GET", None, ASKED_PARTIES, query="asset=invoice:{inv_requested}"),
    Rule("api-registry", "GET", None, INVOICE_PARTIES, query="asset=invoice:{inv_submitted}"),
    Rule("api-registry", "GET", None, INVOICE_PARTIES, query="asset=certificate:{certificate}"),
    # --- API: programmes (active ones are offered to organisations; staff see all) ---
    Rule("api-programmes", "GET", None, SIGNED_IN, rows={"programme": ORGANISATION_MEMBERS | STAFF}),
    # --- pages ---
    Rule(
        "supplychain:dashboard",
        "GET",
        None,
        ORGANISATION_MEMBERS | STAFF,
        rows={"inv_submitted": ORG_A | {ANCHOR}, "programme": STAFF | ORG_A | {ANCHOR, FUNDER}},
    ),
    Rule("supplychain:programme-create", "GET", None, {"operator"}),
    Rule("supplychain:programme-create", "POST", None, {"operator"}, data=_programme_form),
    Rule("supplychain:invoice-create", "GET", None, SUPPLIERS | {ANCHOR}),
    Rule("supplychain:invoice-create", "POST", None, SUPPLIERS, data=_new_invoice),
    Rule("supplychain:invoice-detail", "GET", "inv_submitted", INVOICE_PARTIES, private=INVOICE_PARTIES),
    Rule("supplychain:invoice-detail", "GET", "inv_requested", ASKED_PARTIES, private=ASKED_PARTIES),
    Rule("supplychain:invoice-answer", "POST", "inv_submitted", {ANCHOR}, private=INVOICE_PARTIES, kwargs={"answer": "confirm"}),
    Rule(
        "supplychain:invoice-answer",
        "POST",
        "inv_submitted",
        {ANCHOR},
        private=INVOICE_PARTIES,
        kwargs={"answer": "reject"},
        data=REASON,
    ),
    Rule(
        "supplychain:invoice-answer",
        "POST",
        "inv_submitted",
        {ANCHOR},
        private=INVOICE_PARTIES,
        kwargs={"answer": "dispute"},
        data=REASON,
    ),
    Rule(
        "supplychain:invoice-dilution",
        "POST",
        "inv_confirmed",
        {ANCHOR},
        private=INVOICE_PARTIES,
        data={"amount": "10.00", "reason": "A return."},
    ),
    Rule("supplychain:invoice-document", "POST", "inv_submitted", ORG_A_ACTORS, private=INVOICE_PARTIES, data=_web_document),
    Rule(
        "supplychain:invoice-finance", "POST", "inv_confirmed", ORG_A_ACTORS, private=INVOICE_PARTIES, data=_keyed(_web_finance)
    ),
    Rule("supplychain:certificate-issue", "GET", None, {ANCHOR}),
    Rule("supplychain:certificate-issue", "POST", None, {ANCHOR}, data=_keyed(_web_certificate)),
    Rule("supplychain:certificate-detail", "GET", "certificate", INVOICE_PARTIES, private=INVOICE_PARTIES),
    Rule("supplychain:certificate-split", "POST", "certificate", ORG_A_ACTORS, private=INVOICE_PARTIES, data=_keyed(_split)),
    Rule(
        "supplychain:certificate-finance", "POST", "certificate", ORG_A_ACTORS, private=INVOICE_PARTIES, data=_keyed(_web_finance)
    ),
    Rule("supplychain:financing-detail", "GET", "fin_requested", ASKED_PARTIES, private=ASKED_PARTIES),
    Rule("supplychain:financing-answer", "POST", "fin_requested", {FUNDER}, private=ASKED_PARTIES, kwargs={"answer": "approve"}),
    Rule(
        "supplychain:financing-answer",
        "POST",
        "fin_requested",
        {FUNDER},
        private=ASKED_PARTIES,
        kwargs={"answer": "reject"},
        data=REASON,
    ),
    Rule("supplychain:financing-fund", "POST", "fin_approved", {FUNDER}, private=ASKED_PARTIES, data=_keyed({})),
]

assert ANONYMOUS not in ORGANISATION_MEMBERS
