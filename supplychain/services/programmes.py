"""Programmes (a funder's facility for one anchor's paper), supplier sub-limits and the funder's
declared risk assets. Set up by operators; defaults from settings.SUPPLYCHAIN."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from platform_core.accounts.models import Organisation, OrganisationKind, User
from platform_core.accounts.services import operator_require
from platform_core.audit import audit_record
from platform_core.errors import ApplicationError
from platform_core.money import default_currency, parse_amount

from ..models import FunderProfile, Product, Programme, SupplierLimit
from ._common import entity_open, rules


def _rate(raw, *, field: str, low: Decimal, high: Decimal, places: int) -> Decimal:
    """A fraction given as a decimal string, within [low, high] and with at most `places` decimals."""
    if raw is None or isinstance(raw, float | bool):
        raise ApplicationError(f"invalid_{field}", _('Enter a decimal fraction, e.g. "0.06".'), field=field)
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise ApplicationError(f"invalid_{field}", _('Enter a decimal fraction, e.g. "0.06".'), field=field) from None
    if not value.is_finite() or value < low or value > high or value != round(value, places):
        raise ApplicationError(
            f"invalid_{field}", _("Enter a fraction between %(low)s and %(high)s.") % {"low": low, "high": high}, field=field
        )
    return value


def _organisation(pk, *, kind: str, field: str) -> Organisation:
    try:
        organisation = Organisation.objects.filter(pk=int(pk), kind=kind).first()
    except (TypeError, ValueError):
        organisation = None
    if organisation is None:
        raise ApplicationError(f"invalid_{field}", _("Choose a registered organisation of the right kind."), field=field)
    return organisation


def programme_create(
    *,
    actor: User,
    name: str,
    funder_id,
    anchor_id,
    product: str,
    anchor_limit,
    supplier_sublimit,
    annual_rate,
    advance_rate=None,
    day_basis=None,
    fee_rate=None,
    recourse: bool = True,
    related_party: bool = False,
    max_tenor_days=None,
    grace_days=None,
    currency: str | None = None,
) -> Programme:
    operator_require(actor)
    entity = entity_open()
    r = rules()
    currency = currency or default_currency()
    name = (name or "").strip()
    if not name:
        raise ApplicationError("invalid_name", _("Name the programme."), field="name")
    if product not in Product.values:
        raise ApplicationError("invalid_product", _("Choose payables finance or receivables factoring."), field="product")
    funder = _organisation(funder_id, kind=OrganisationKind.FUNDER, field="funder")
    anchor = _organisation(anchor_id, kind=OrganisationKind.CORE_ENTERPRISE, field="anchor")
    limit = parse_amount(anchor_limit, currency=currency, field="anchor_limit")
    sublimit = parse_amount(supplier_sublimit, currency=currency, field="supplier_sublimit")
    if sublimit > limit:
        raise ApplicationError(
            "invalid_supplier_sublimit", _("A sub-limit cannot exceed the anchor's limit."), field="supplier_sublimit"
        )
    advance = _rate(
        r["ADVANCE_RATE"][product] if advance_rate in (None, "") else advance_rate,
        field="advance_rate",
        low=Decimal("0.01"),
        high=Decimal("1"),
        places=4,
    )
    rate = _rate(annual_rate, field="annual_rate", low=Decimal("0"), high=Decimal("1"), places=6)
    fee = _rate(
        r["FEE_RATE"] if fee_rate in (None, "") else fee_rate, field="fee_rate", low=Decimal("0"), high=Decimal("0.1"), places=5
    )
    basis = _integer(r["DAY_BASIS"] if day_basis in (None, "") else day_basis, field="day_basis", allowed=(360, 365))
    tenor = _integer(
        r["MAX_TENOR_DAYS"] if max_tenor_days in (None, "") else max_tenor_days,
        field="max_tenor_days",
        allowed=range(1, r["MAX_TENOR_DAYS_CEILING"] + 1),
    )
    grace = _integer(r["GRACE_DAYS"] if grace_days in (None, "") else grace_days, field="grace_days", allowed=range(0, 91))
    with transaction.atomic():
        programme = Programme.objects.create(
            entity=entity,
            name=name[:200],
            funder=funder,
            anchor=anchor,
            product=product,
            currency=currency,
            anchor_limit=limit,
            supplier_sublimit=sublimit,
            advance_rate=advance,
            annual_rate=rate,
            day_basis=basis,
            fee_rate=fee,
            recourse=bool(recourse),
            related_party=bool(related_party),
            max_tenor_days=tenor,
            grace_days=grace,
        )
        audit_record(programme, action="created", actor=actor, to_value="active")
    return programme


def _integer(raw, *, field: str, allowed) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        value = None
    if value is None or value not in allowed:
        raise ApplicationError(f"invalid_{field}", _("Enter an allowed whole number."), field=field)
    return value


def supplier_limit_set(*, actor: User, programme_id: int, supplier_id: int, sub_limit) -> SupplierLimit:
    """An operator sets one supplier's sub-limit (never below what it already uses)."""
    operator_require(actor)
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme_id)
        amount = parse_amount(sub_limit, currency=programme.currency, field="sub_limit", allow_zero=True)
        if amount > programme.anchor_limit:
            raise ApplicationError("invalid_sub_limit", _("A sub-limit cannot exceed the anchor's limit."), field="sub_limit")
        row, _created = SupplierLimit.objects.select_for_update().get_or_create(
            programme=programme, supplier_id=supplier_id, defaults={"sub_limit": amount}
        )
        if amount < row.utilised:
            raise ApplicationError("invalid_sub_limit", _("The supplier already uses more than that."), field="sub_limit")
        old, row.sub_limit = row.sub_limit, amount
        row.save(update_fields=["sub_limit"])
        audit_record(row, action="sub_limit_set", actor=actor, from_value=old, to_value=amount)
    return row


def funder_risk_assets_declare(*, user: User, risk_assets) -> FunderProfile:
    """The funder declares its risk assets (the base of its concentration limits)."""
    from ._common import manager_of

    funder = manager_of(user, kinds=(OrganisationKind.FUNDER,), message=_("Only funders declare risk assets."))
    amount = parse_amount(risk_assets, field="risk_assets")
    with transaction.atomic():
        profile, _created = FunderProfile.objects.select_for_update().get_or_create(
            organisation=funder, defaults={"risk_assets": amount}
        )
        old, profile.risk_assets = profile.risk_assets, amount
        profile.save(update_fields=["risk_assets", "updated_at"])
        audit_record(profile, action="risk_assets_declared", actor=user, from_value=old, to_value=amount)
    return profile
