"""Financing of an invoice or a certificate by a programme's funder: quote, request, approve or
reject, fund; expiry of requests left unfunded.

Price (DOMAIN.md section 4), computed for a funding day:
- advance  = amount x advance rate, to the cent (HALF_EVEN);
- discount = advance x annual rate x days / basis, days = due date - funding day (HALF_EVEN);
- fee      = advance x the platform's fee rate (HALF_EVEN), taken from the supplier's proceeds;
- net      = advance - discount - fee, what the supplier receives.
At funding ONE ledger transaction moves advance - discount out of the funder's wallet: net to the
supplier's wallet, the fee to the platform (leaving custody, `fee_changes`); the registry records
the funder's encumbrance in the same database transaction (first to register wins).

A request takes its amount of the three limits at once (services/limits.py) and gives it back if
rejected or expired; the price is computed again on the funding day (fewer days, never a higher
discount than quoted). Lock order when funding: the asset, then the financing, then the accounts.
"""

import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from platform_core.accounts.models import PlatformProperty, User
from platform_core.accounts.services import entity_require_open
from platform_core.audit import audit_record
from platform_core.errors import ApplicationError
from platform_core.ledger.services import fee_changes, transaction_post
from platform_core.money import parse_amount, quantize
from platform_core.state import transition

from ..models import (
    CERTIFICATE_TRANSITIONS,
    FINANCING_OPEN,
    FINANCING_TRANSITIONS,
    INVOICE_TRANSITIONS,
    CertificateStatus,
    Financing,
    FinancingStatus,
    Invoice,
    InvoiceStatus,
    PayableCertificate,
    Programme,
    business_date,
)
from ._common import require_manager_of, rules, wallets_of
from .certificates import split_off
from .limits import limits_release, limits_use
from .registry import asset_is_encumbered, encumbrance_register

NOT_FOUND = gettext_lazy("No such financing.")


def price(
    *, amount: Decimal, advance_rate: Decimal, annual_rate: Decimal, day_basis: int, fee_rate: Decimal, days: int, currency: str
) -> dict:
    advance = quantize(amount * advance_rate, currency, ROUND_HALF_EVEN)
    discount = quantize(advance * annual_rate * days / day_basis, currency, ROUND_HALF_EVEN)
    fee = quantize(advance * fee_rate, currency, ROUND_HALF_EVEN)
    return {
        "amount": amount,
        "advance": advance,
        "discount": discount,
        "fee": fee,
        "net_amount": advance - discount - fee,
        "funder_outlay": advance - discount,
        "days": days,
    }


# --- what a request is about ------------------------------------------------------------------


def _programme(programme_id) -> Programme:
    try:
        programme = Programme.objects.select_related("entity").filter(pk=int(programme_id), active=True).first()
    except (TypeError, ValueError):
        programme = None
    if programme is None:
        raise ApplicationError("invalid_programme", _("Choose an active programme."), field="programme")
    return programme


def _asset(user: User, *, invoice_id=None, certificate_id=None):
    """The invoice or certificate the user's organisation holds; permission_denied if the user may
    see it but does not hold it, not_found otherwise."""
    from ..selectors import certificate_list, invoice_list

    if (invoice_id in (None, "")) == (certificate_id in (None, "")):
        raise ApplicationError("invalid_asset", _("Name one invoice or one certificate."), field="invoice")
    is_invoice = invoice_id not in (None, "")
    try:
        pk = int(invoice_id if is_invoice else certificate_id)
    except (TypeError, ValueError):
        pk = None
    org = user.organisation_id if user.is_authenticated else None
    asset = None
    if pk is not None and org is not None:  # the usual case, in one plain query: the holder asks
        if is_invoice:
            asset = Invoice.objects.filter(pk=pk, supplier_id=org).first()
        else:
            asset = PayableCertificate.objects.filter(pk=pk, holder_id=org).first()
    if asset is None:
        visible = pk is not None and (invoice_list if is_invoice else certificate_list)(user=user).filter(pk=pk).exists()
        if visible:
            raise ApplicationError("permission_denied", _("Only the holder asks to finance it."))
        raise ApplicationError("not_found", _("No such invoice or certificate."), status=404)
    require_manager_of(user, org, visible=True, not_found="")
    return asset


def _financeable(asset, *, amount, today: datetime.date, programme: Programme) -> Decimal:
    """Check the asset may be financed now under the programme; return the amount (default: all of it)."""
    if isinstance(asset, Invoice):
        if asset.status != InvoiceStatus.CONFIRMED:
            code = (
                "asset_already_financed"
                if asset.status in (InvoiceStatus.FINANCED, InvoiceStatus.OVERDUE)
                else "asset_not_financeable"
            )
            raise ApplicationError(
                code, _("A %(status)s invoice cannot be financed.") % {"status": asset.get_status_display().lower()}, status=409
            )
        available = asset.payable_amount
        debtor_id = asset.anchor_id
    else:
        if asset.status != CertificateStatus.ACTIVE:
            code = "asset_already_financed" if asset.status == CertificateStatus.FINANCED else "asset_not_financeable"
            raise ApplicationError(
                code,
                _("A %(status)s certificate cannot be financed.") % {"status": asset.get_status_display().lower()},
                status=409,
            )
        available = asset.balance
        debtor_id = asset.anchor_id
    if asset.due_date <= today:
        raise ApplicationError("asset_matured", _("This is due; it can no longer be financed."), status=409)
    if debtor_id != programme.anchor_id or asset.currency != programme.currency:
        raise ApplicationError("invalid_programme", _("This programme does not finance paper of that anchor."), field="programme")
    if (asset.due_date - today).days > programme.max_tenor_days:
        raise ApplicationError(
            "tenor_too_long",
            _("The programme finances at most %(days)d days ahead.") % {"days": programme.max_tenor_days},
            status=409,
        )
    amount = available if amount in (None, "") else parse_amount(amount, currency=asset.currency)
    if amount > available or available <= 0:
        raise ApplicationError(
            "amount_exceeds_balance", _("At most %(available)s can be financed.") % {"available": available}, field="amount"
        )
    return amount


def financing_quote(*, user: User, programme_id, invoice_id=None, certificate_id=None, amount=None, today=None) -> dict:
    """What financing the asset today would pay (nothing is written)."""
    today = today or business_date()
    programme = _programme(programme_id)
    asset = _asset(user, invoice_id=invoice_id, certificate_id=certificate_id)
    amount = _financeable(asset, amount=amount, today=today, programme=programme)
    quote = price(
        amount=amount,
        advance_rate=programme.advance_rate,
        annual_rate=programme.annual_rate,
        day_basis=programme.day_basis,
        fee_rate=programme.fee_rate,
        days=(asset.due_date - today).days,
        currency=asset.currency,
    )
    quote.update(
        programme=programme.pk,
        funding_date=today,
        due_date=asset.due_date,
        currency=asset.currency,
        already_encumbered=asset_is_encumbered(asset.asset_key),
    )
    return quote


def financing_request(*, user: User, programme_id, invoice_id=None, certificate_id=None, amount=None, now=None) -> Financing:
    """The holder asks the programme's funder to finance the asset (all or part of it) at the quoted
    price; the amount is taken of the limits at once. Part of a certificate is split off first into
    a child the holder keeps, and that child is financed."""
    now = now or timezone.now()
    today = business_date(now)
    programme = _programme(programme_id)
    entity_require_open(programme.entity, PlatformProperty.SUPPLY_CHAIN_FINANCE)  # the programme's operator takes new business
    with transaction.atomic():
        asset = _asset(user, invoice_id=invoice_id, certificate_id=certificate_id)
        if isinstance(asset, PayableCertificate):
            asset = PayableCertificate.objects.select_for_update().get(pk=asset.pk)
        amount = _financeable(asset, amount=amount, today=today, programme=programme)
        if isinstance(asset, PayableCertificate) and amount < asset.balance:
            asset = split_off(asset, amount=amount, holder_id=asset.holder_id, actor=user)
        holder_id = asset.supplier_id if isinstance(asset, Invoice) else asset.holder_id
        figures = price(
            amount=amount,
            advance_rate=programme.advance_rate,
            annual_rate=programme.annual_rate,
            day_basis=programme.day_basis,
            fee_rate=programme.fee_rate,
            days=(asset.due_date - today).days,
            currency=asset.currency,
        )
        if figures["net_amount"] <= 0:
            raise ApplicationError("amount_too_small", _("Financing this would pay you nothing."), field="amount")
        financing = Financing.objects.create(
            programme=programme,
            funder_id=programme.funder_id,
            debtor_id=programme.anchor_id,
            requester_id=holder_id,
            invoice=asset if isinstance(asset, Invoice) else None,
            certificate=asset if isinstance(asset, PayableCertificate) else None,
            created_by=user,
            currency=asset.currency,
            advance_rate=programme.advance_rate,
            annual_rate=programme.annual_rate,
            day_basis=programme.day_basis,
            fee_rate=programme.fee_rate,
            recourse=programme.recourse,
            due_date=asset.due_date,
            funding_date=today,
            expires_at=now + datetime.timedelta(days=rules()["REQUEST_VALID_DAYS"]),
            **{k: figures[k] for k in ("amount", "days", "advance", "discount", "fee", "net_amount")},
        )
        audit_record(financing, action="requested", actor=user, to_value=financing.status, data={"asset": financing.asset_key})
        # the limits last: their rows are the ones concurrent requests queue for, held from here to the commit
        limits_use(programme=programme, supplier_id=holder_id, amount=amount)
    return financing


# --- the funder's answer ----------------------------------------------------------------------


def _lock_as_funder(user: User, financing_id: int) -> Financing:
    from ..selectors import financing_list

    financing = Financing.objects.select_for_update().filter(pk=financing_id).first()
    if financing is None:
        raise ApplicationError("not_found", str(NOT_FOUND), status=404)
    visible = financing_list(user=user).filter(pk=financing.pk).exists()
    require_manager_of(user, financing.funder_id, visible=visible, not_found=NOT_FOUND)
    return financing


def financing_approve(*, user: User, financing_id: int) -> Financing:
    with transaction.atomic():
        financing = _lock_as_funder(user, financing_id)
        return transition(financing, FinancingStatus.APPROVED, transitions=FINANCING_TRANSITIONS, actor=user)


def _give_back(financing: Financing) -> None:
    limits_release(
        programme_id=financing.programme_id,
        funder_id=financing.funder_id,
        debtor_id=financing.debtor_id,
        supplier_id=financing.requester_id,
        amount=financing.amount,
    )


def financing_reject(*, user: User, financing_id: int, reason: str) -> Financing:
    reason = " ".join(str(reason or "").split())[:2000]
    if not reason or "\x00" in reason:
        raise ApplicationError("invalid_reason", _("Give the supplier a reason."), field="reason")
    with transaction.atomic():
        financing = _lock_as_funder(user, financing_id)
        financing.status_reason = reason
        transition(
            financing,
            FinancingStatus.REJECTED,
            transitions=FINANCING_TRANSITIONS,
            actor=user,
            note=reason,
            fields=("status_reason",),
        )
        _give_back(financing)
    return financing


def financing_fund(*, user: User, financing_id: int, now=None, check_registry: bool = True) -> Financing:
    """The funder pays: advance - discount out of its wallet, net to the supplier, the fee to the
    platform, the encumbrance registered, the asset `financed` - all in one database transaction."""
    from platform_core.accounts.services import kyc_require_verified

    now = now or timezone.now()
    today = business_date(now)
    peek = Financing.objects.filter(pk=financing_id).values("invoice_id", "certificate_id").first()
    if peek is None:
        raise ApplicationError("not_found", str(NOT_FOUND), status=404)
    with transaction.atomic():
        # the asset first: two funders funding the same invoice queue here, and the second sees it financed
        if peek["invoice_id"]:
            asset = Invoice.objects.select_for_update().get(pk=peek["invoice_id"])
        else:
            asset = PayableCertificate.objects.select_for_update().get(pk=peek["certificate_id"])
        financing = _lock_as_funder(user, financing_id)
        if financing.status != FinancingStatus.APPROVED:
            raise ApplicationError(
                "financing_not_approved",
                _("Only an approved financing is funded (this one is %(status)s).")
                % {"status": financing.get_status_display().lower()},
                status=409,
            )
        kyc_require_verified(financing.funder)
        programme = financing.programme
        _financeable(asset, amount=financing.amount, today=today, programme=programme)
        figures = price(
            amount=financing.amount,
            advance_rate=financing.advance_rate,
            annual_rate=financing.annual_rate,
            day_basis=financing.day_basis,
            fee_rate=financing.fee_rate,
            days=(financing.due_date - today).days,
            currency=financing.currency,
        )
        encumbrance_register(financing=financing, check=check_registry)
        wallets = wallets_of([financing.funder_id, financing.requester_id], financing.currency)
        funder_wallet, supplier_wallet = wallets[financing.funder_id], wallets[financing.requester_id]
        changes = [(funder_wallet, -figures["net_amount"]), (supplier_wallet, figures["net_amount"])]
        if figures["fee"]:
            changes += fee_changes(source=funder_wallet, amount=figures["fee"])
        transaction_post(
            kind="scf_funding",
            changes=changes,
            memo=f"Financing {financing.pk} of {financing.asset_key}",
            actor=user,
            reference=f"scf:financing:{financing.pk}:fund",
        )
        for key in ("days", "advance", "discount", "fee", "net_amount"):
            setattr(financing, key, figures[key])
        financing.funding_date, financing.funded_at = today, now
        transition(
            financing,
            FinancingStatus.FUNDED,
            transitions=FINANCING_TRANSITIONS,
            actor=user,
            fields=("days", "advance", "discount", "fee", "net_amount", "funding_date", "funded_at"),
        )
        if isinstance(asset, Invoice):
            transition(
                asset, InvoiceStatus.FINANCED, transitions=INVOICE_TRANSITIONS, actor=user, note=f"financing {financing.pk}"
            )
        else:
            transition(
                asset,
                CertificateStatus.FINANCED,
                transitions=CERTIFICATE_TRANSITIONS,
                actor=user,
                note=f"financing {financing.pk}",
            )
    return financing


def financings_expire(*, now=None, batch: int | None = None) -> tuple[int, bool]:
    """Requests left unfunded past their validity expire and give their limits back. Returns (how
    many expired, whether more remain)."""
    now = now or timezone.now()
    batch = batch or rules()["SWEEP_BATCH"]
    ids = list(
        Financing.objects.filter(status__in=list(FINANCING_OPEN), expires_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[: batch + 1]
    )
    moved = 0
    for financing_id in ids[:batch]:
        with transaction.atomic():
            financing = (
                Financing.objects.select_for_update(skip_locked=True)
                .filter(pk=financing_id, status__in=list(FINANCING_OPEN))
                .first()
            )
            if financing is None:
                continue
            transition(
                financing, FinancingStatus.EXPIRED, transitions=FINANCING_TRANSITIONS, actor=None, note="not funded in time"
            )
            _give_back(financing)
            moved += 1
    return moved, len(ids) > batch
