"""Shapes of the supply-chain API. Output is plain functions over rows the selectors loaded with
their relations (a ModelSerializer costs several times more per row); input serializers only parse,
services decide."""

from rest_framework import serializers

from supplychain.models import CertificateStatus, FinancingStatus, InvoiceStatus, Product


def _money(value) -> str:
    return str(value)


def organisation_out(org) -> dict:
    return {"id": org.pk, "legal_name": org.legal_name}


def invoice_out(invoice) -> dict:
    return {
        "id": invoice.pk,
        "asset": invoice.asset_key,
        "supplier": organisation_out(invoice.supplier),
        "anchor": organisation_out(invoice.anchor),
        "number": invoice.number,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "face_amount": _money(invoice.face_amount),
        "dilution_amount": _money(invoice.dilution_amount),
        "payable_amount": _money(invoice.payable_amount),
        "currency": invoice.currency,
        "status": invoice.status,
        "status_reason": invoice.status_reason,
        "created_at": invoice.created_at.isoformat(),
    }


def certificate_out(certificate, chain=None) -> dict:
    body = {
        "id": certificate.pk,
        "asset": certificate.asset_key,
        "anchor": organisation_out(certificate.anchor),
        "holder": organisation_out(certificate.holder),
        "parent": certificate.parent_id,
        "root": certificate.root_id,
        "depth": certificate.depth,
        "face_amount": _money(certificate.face_amount),
        "balance": _money(certificate.balance),
        "currency": certificate.currency,
        "due_date": certificate.due_date.isoformat(),
        "status": certificate.status,
    }
    if chain is not None:
        body["chain"] = [
            {"id": c.pk, "holder": organisation_out(c.holder), "face_amount": _money(c.face_amount), "depth": c.depth}
            for c in chain
        ]
    return body


def financing_out(financing) -> dict:
    return {
        "id": financing.pk,
        "asset": financing.asset_key,
        "programme": {"id": financing.programme_id, "name": financing.programme.name},
        "funder": organisation_out(financing.funder),
        "requester": organisation_out(financing.requester),
        "debtor": organisation_out(financing.debtor),
        "amount": _money(financing.amount),
        "currency": financing.currency,
        "due_date": financing.due_date.isoformat(),
        "funding_date": financing.funding_date.isoformat(),
        "days": financing.days,
        "advance": _money(financing.advance),
        "discount": _money(financing.discount),
        "fee": _money(financing.fee),
        "net_amount": _money(financing.net_amount),
        "status": financing.status,
        "status_reason": financing.status_reason,
        "expires_at": financing.expires_at.isoformat(),
        "collected": _money(financing.collected),
        "reserve_paid": _money(financing.reserve_paid),
        "recourse_claim": _money(financing.recourse_claim),
    }


def quote_out(quote: dict) -> dict:
    return {
        key: (value.isoformat() if hasattr(value, "isoformat") else str(value) if not isinstance(value, bool | int) else value)
        for key, value in quote.items()
    }


def encumbrance_out(entry) -> dict:
    return {
        "asset": entry.asset,
        "funder": organisation_out(entry.funder),
        "active": entry.released_at is None,
        "registered_at": entry.registered_at.isoformat(),
        "released_at": entry.released_at.isoformat() if entry.released_at else None,
    }


def programme_out(programme) -> dict:
    return {
        "id": programme.pk,
        "name": programme.name,
        "product": programme.product,
        "funder": organisation_out(programme.funder),
        "anchor": organisation_out(programme.anchor),
        "currency": programme.currency,
        "advance_rate": str(programme.advance_rate),
        "annual_rate": str(programme.annual_rate),
        "day_basis": programme.day_basis,
        "fee_rate": str(programme.fee_rate),
        "recourse": programme.recourse,
        "max_tenor_days": programme.max_tenor_days,
    }


class InvoiceIn(serializers.Serializer):
    anchor = serializers.CharField(max_length=20)
    number = serializers.CharField(max_length=200)
    issue_date = serializers.CharField(max_length=20)
    due_date = serializers.CharField(max_length=20)
    face_amount = serializers.CharField(max_length=40)
    currency = serializers.CharField(max_length=3, required=False)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class DilutionIn(serializers.Serializer):
    amount = serializers.CharField(max_length=40)
    reason = serializers.CharField(max_length=300)


class CertificateIn(serializers.Serializer):
    invoices = serializers.ListField(child=serializers.CharField(max_length=20), max_length=100)
    amount = serializers.CharField(max_length=40, required=False, allow_blank=True)


class SplitIn(serializers.Serializer):
    amount = serializers.CharField(max_length=40)
    to_organisation = serializers.CharField(max_length=20)


class FinancingIn(serializers.Serializer):
    programme = serializers.CharField(max_length=20)
    invoice = serializers.CharField(max_length=20, required=False, allow_blank=True)
    certificate = serializers.CharField(max_length=20, required=False, allow_blank=True)
    amount = serializers.CharField(max_length=40, required=False, allow_blank=True)


# --- documented shapes (the schema's word for what the functions above return) -----------------


def _money_field(**kwargs):
    return serializers.DecimalField(max_digits=20, decimal_places=2, **kwargs)


class Party(serializers.Serializer):
    id = serializers.IntegerField()
    legal_name = serializers.CharField()


class Invoice(serializers.Serializer):
    id = serializers.IntegerField()
    asset = serializers.CharField(help_text="The registry's key: invoice:<id>.")
    supplier = Party()
    anchor = Party()
    number = serializers.CharField()
    issue_date = serializers.DateField()
    due_date = serializers.DateField()
    face_amount = _money_field()
    dilution_amount = _money_field()
    payable_amount = _money_field()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    status_reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class ChainLink(serializers.Serializer):
    id = serializers.IntegerField()
    holder = Party()
    face_amount = _money_field()
    depth = serializers.IntegerField()


class Certificate(serializers.Serializer):
    id = serializers.IntegerField()
    asset = serializers.CharField(help_text="The registry's key: certificate:<id>.")
    anchor = Party()
    holder = Party()
    parent = serializers.IntegerField(allow_null=True)
    root = serializers.IntegerField(allow_null=True)
    depth = serializers.IntegerField()
    face_amount = _money_field()
    balance = _money_field()
    currency = serializers.CharField()
    due_date = serializers.DateField()
    status = serializers.ChoiceField(choices=CertificateStatus.choices)


class CertificateDetail(Certificate):
    chain = ChainLink(many=True, help_text="From the anchor's first certificate down to this one.")


class SplitResult(serializers.Serializer):
    parent = Certificate()
    child = serializers.IntegerField(help_text="The new certificate, held by the organisation named.")


class ProgrammeRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class Financing(serializers.Serializer):
    id = serializers.IntegerField()
    asset = serializers.CharField()
    programme = ProgrammeRef()
    funder = Party()
    requester = Party()
    debtor = Party()
    amount = _money_field()
    currency = serializers.CharField()
    due_date = serializers.DateField()
    funding_date = serializers.DateField()
    days = serializers.IntegerField()
    advance = _money_field()
    discount = _money_field()
    fee = _money_field()
    net_amount = _money_field()
    status = serializers.ChoiceField(choices=FinancingStatus.choices)
    status_reason = serializers.CharField(allow_blank=True)
    expires_at = serializers.DateTimeField()
    collected = _money_field()
    reserve_paid = _money_field()
    recourse_claim = _money_field()


class FinancingQuote(serializers.Serializer):
    programme = serializers.IntegerField()
    amount = _money_field()
    advance = _money_field()
    discount = _money_field()
    fee = _money_field()
    net_amount = _money_field(help_text="What the supplier receives.")
    funder_outlay = _money_field()
    days = serializers.IntegerField()
    funding_date = serializers.DateField()
    due_date = serializers.DateField()
    currency = serializers.CharField()
    already_encumbered = serializers.BooleanField()


class Encumbrance(serializers.Serializer):
    asset = serializers.CharField()
    funder = Party()
    active = serializers.BooleanField()
    registered_at = serializers.DateTimeField()
    released_at = serializers.DateTimeField(allow_null=True)


class RegistryAnswer(serializers.Serializer):
    asset = serializers.CharField()
    encumbered = serializers.BooleanField()
    entries = Encumbrance(many=True)


class Programme(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    product = serializers.ChoiceField(choices=Product.choices)
    funder = Party()
    anchor = Party()
    currency = serializers.CharField()
    advance_rate = serializers.CharField()
    annual_rate = serializers.CharField()
    day_basis = serializers.IntegerField()
    fee_rate = serializers.CharField()
    recourse = serializers.BooleanField()
    max_tenor_days = serializers.IntegerField()
