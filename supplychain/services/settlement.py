"""Maturity: the anchor pays what it undertook, and everything financed against it closes out.

Invoice (DOMAIN.md section 4, worked through there): the anchor's wallet pays the face less
dilution, P. A financed invoice pays the funder first, min(P, advance) (its outlay plus the
discount it earned), and the rest, the reserve, to the supplier; were P below the advance, the
shortfall is a claim on the supplier (with recourse) or the funder's loss (without). An unfinanced
invoice pays P to the supplier. Certificates: on the due date the anchor pays every holder of record
its balance (a financed one: the funder first, the reserve to its holder), and whatever the
certified invoices owe beyond the certificate's face to their supplier.

All of a batch's maturities are ONE ledger transaction (one leg per wallet), in the same database
transaction as the statuses, the released encumbrances and the limits given back, in a constant
number of statements whatever the batch holds.
An anchor whose wallet does not cover a maturity leaves it (and its financing) overdue; the overdue
sweep asks again each run and, after the programme's grace days, defaults it (with recourse the
advance becomes a claim on the supplier).

Safe to run twice or concurrently: rows are locked (skipping those another run holds) and only
unpaid ones are settled. Lock order: assets (pk order), financings, ledger accounts (pk order).
"""

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from platform_core.db import ids_in
from platform_core.ledger.models import Account, side_of
from platform_core.ledger.services import accounts_lock, transaction_post, wallet_for
from platform_core.money import ZERO
from platform_core.state import transition_many

from ..models import (
    CERTIFICATE_TRANSITIONS,
    FINANCING_LIVE,
    FINANCING_TRANSITIONS,
    INVOICE_TRANSITIONS,
    CertificateStatus,
    Financing,
    FinancingStatus,
    Invoice,
    InvoiceStatus,
    PayableCertificate,
    business_date,
)
from ._common import rules
from .limits import limits_release_many
from .registry import encumbrances_release

INVOICE_DUE = {InvoiceStatus.CONFIRMED, InvoiceStatus.FINANCED}
INVOICE_LATE = {InvoiceStatus.OVERDUE, InvoiceStatus.DEFAULTED}
CERTIFICATE_DUE = {CertificateStatus.ACTIVE, CertificateStatus.FINANCED, CertificateStatus.FROZEN}
CERTIFICATE_LATE = {CertificateStatus.OVERDUE, CertificateStatus.DEFAULTED}


class _Live(NamedTuple):
    """What settlement needs of a live financing: read as a tuple, no model instance per row."""

    pk: int
    asset_id: int
    funder_id: int
    programme_id: int
    debtor_id: int
    requester_id: int
    amount: Decimal
    advance: Decimal
    recourse: bool


_LIVE_FIELDS = ("pk", "invoice_id", "funder_id", "programme_id", "debtor_id", "requester_id", "amount", "advance", "recourse")


class _Payout:
    """What one batch's maturities move, built up before one posting."""

    def __init__(self):
        self.credits: dict[int, Decimal] = defaultdict(Decimal)  # organisation id -> amount received
        self.debits: dict[int, Decimal] = defaultdict(Decimal)  # anchor id -> amount paid
        self.total = ZERO
        self.financings: dict[int, dict] = {}  # financing id -> figures
        self.released: list[_Live] = []

    def pay(self, organisation_id: int, amount: Decimal) -> None:
        if amount > 0:
            self.credits[organisation_id] += amount
            self.total += amount

    def charge(self, anchor_id: int, amount: Decimal) -> None:
        if amount > 0:
            self.debits[anchor_id] += amount

    def financed(self, financing: _Live, payable: Decimal) -> Decimal:
        """Pay the funder first; return the reserve left for the holder."""
        to_funder = min(payable, financing.advance)
        shortfall = financing.advance - to_funder
        self.pay(financing.funder_id, to_funder)
        self.financings[financing.pk] = {
            "collected": to_funder,
            "reserve_paid": payable - to_funder,
            "recourse_claim": shortfall if financing.recourse else ZERO,
            "loss": ZERO if financing.recourse else shortfall,
        }
        self.released.append(financing)
        return payable - to_funder


def _live_financings(asset_filter: Q, asset: str = "invoice_id") -> dict[int, _Live]:
    """The live financings of these assets, locked (pk order), by asset id: one statement, tuples."""
    fields = [asset if name == "invoice_id" else name for name in _LIVE_FIELDS]
    rows = (
        Financing.objects.select_for_update(of=("self",))
        .filter(asset_filter, status__in=list(FINANCING_LIVE))
        .order_by("pk")
        .values_list(*fields)
    )
    return {row[1]: _Live(*row) for row in rows}


class _Wallet:
    """A locked wallet as a posting reads it (pk, currency, side; its balance kept current): a batch
    locks hundreds, and a model instance each cost more than the statement that locked them."""

    __slots__ = ("pk", "balance", "currency", "side")

    def __init__(self, pk: int, balance: Decimal, purpose: str, currency: str):
        self.pk, self.balance, self.currency, self.side = pk, balance, currency, side_of(purpose)


WALLETS_LOCK_SQL = (
    "SELECT id, key, balance, purpose, currency FROM ledger_account WHERE key = ANY(%s::varchar[]) ORDER BY id FOR UPDATE"
)


def _wallets_locked(anchor_ids, payees, currency: str) -> tuple[dict, dict]:
    """Lock the anchors' and the payees' wallets (pk order, as a posting does) and read the anchors'
    balances: ONE statement on PostgreSQL (plus creating a wallet that does not exist yet)."""
    organisations = {*anchor_ids, *payees}
    keys = {f"wallet:organisation:{pk}:{currency}": pk for pk in organisations}
    if connection.vendor != "postgresql":
        found = {a.key: a for a in Account.objects.filter(key__in=list(keys))}
        wallets = {org: found.get(key) for key, org in keys.items()}
        for org in [org for org, wallet in wallets.items() if wallet is None]:
            from platform_core.accounts.models import Organisation

            wallets[org] = wallet_for(Organisation.objects.get(pk=org), currency)
        accounts_lock([w.pk for w in wallets.values()])
        balances = dict(Account.objects.filter(pk__in=[wallets[a].pk for a in anchor_ids]).values_list("pk", "balance"))
        return wallets, {a: balances[wallets[a].pk] for a in anchor_ids}
    with connection.cursor() as cursor:
        cursor.execute(WALLETS_LOCK_SQL, [list(keys)])
        rows = cursor.fetchall()
        if len(rows) < len(keys):  # a payee with no wallet yet: create it, then lock them all again
            from platform_core.accounts.models import Organisation

            have = {key for _, key, *_ in rows}
            for organisation in Organisation.objects.filter(pk__in=[org for key, org in keys.items() if key not in have]):
                wallet_for(organisation, currency)
            cursor.execute(WALLETS_LOCK_SQL, [list(keys)])
            rows = cursor.fetchall()
    wallets = {keys[key]: _Wallet(pk, balance, purpose, account_currency) for pk, key, balance, purpose, account_currency in rows}
    return wallets, {a: wallets[a].balance for a in anchor_ids}


def _post(currency: str, payout: _Payout, wallets: dict, memo: str) -> None:
    """ONE ledger transaction: every paying anchor's wallet out, every payee's in. The wallets are
    locked and the anchors' balances checked: no savepoint, the caller's transaction is the unit."""
    if not payout.debits:
        return
    transaction_post(
        kind="scf_maturity",
        changes=[
            *((wallets[org], -amount) for org, amount in payout.debits.items()),
            *((wallets[org], amount) for org, amount in payout.credits.items()),
        ],
        memo=memo,
        savepoint=False,
    )


_FIGURES = ("collected", "reserve_paid", "recourse_claim", "loss")


def _close_financings(payout: _Payout, now) -> None:
    """The paid financings' figures, status (with audit rows), registry entries and limits: a
    constant number of statements whatever the batch holds."""
    if not payout.financings:
        return
    ids = list(payout.financings)
    transition_many(
        Financing.objects.filter(ids_in("pk", ids)),
        FinancingStatus.PAID,
        transitions=FINANCING_TRANSITIONS,
        note="paid at maturity",
        extra={"paid_at": now},
        values={name: {pk: f[name] for pk, f in payout.financings.items()} for name in _FIGURES},
    )
    encumbrances_release(financing_ids=ids, now=now)
    per_supplier: dict[tuple, Decimal] = defaultdict(Decimal)
    for f in payout.released:
        per_supplier[(f.programme_id, f.funder_id, f.debtor_id, f.requester_id)] += f.amount
    limits_release_many(per_supplier)


def _mark_late(model, ids, transitions, status, financing_ids) -> None:
    if ids:
        transition_many(model.objects.filter(ids_in("pk", ids)), status, transitions=transitions, note="not paid at maturity")
    if financing_ids:
        transition_many(
            Financing.objects.filter(ids_in("pk", financing_ids), status=FinancingStatus.FUNDED),
            FinancingStatus.OVERDUE,
            transitions=FINANCING_TRANSITIONS,
            note="the anchor did not pay at maturity",
        )


# --- invoices ---------------------------------------------------------------------------------

_INVOICE_FIELDS = ("pk", "anchor_id", "supplier_id", "currency", "due_date", "status", "face_amount", "dilution_amount")


def invoices_settle(*, invoice_ids, now=None) -> dict:
    """Settle these invoices (those due and unpaid): each anchor pays what its wallet covers, oldest
    first; one ledger transaction per currency, the statuses, audit rows, registry and limits in a
    constant number of statements whatever the batch holds (about ten, rows read as tuples)."""
    now = now or timezone.now()
    today = business_date(now)
    result = {"paid": 0, "unpaid": 0}
    with transaction.atomic():
        invoices = list(
            Invoice.objects.select_for_update(skip_locked=True)
            .filter(ids_in("pk", invoice_ids), status__in=list(INVOICE_DUE | INVOICE_LATE), due_date__lte=today)
            .order_by("pk")
            .values_list(*_INVOICE_FIELDS)
        )
        if not invoices:
            return result
        financings = _live_financings(ids_in("invoice_id", [row[0] for row in invoices]))
        by_currency = defaultdict(list)
        for row in invoices:
            by_currency[row[3]].append(row)
        paid, unpaid = [], []
        for currency, group in sorted(by_currency.items()):
            anchors = {row[1] for row in group}
            payees = {row[2] for row in group} | {financings[row[0]].funder_id for row in group if row[0] in financings}
            wallets, balances = _wallets_locked(anchors, payees, currency)
            payout = _Payout()
            for pk, anchor_id, supplier_id, _, _, status, face, dilution in sorted(group, key=lambda row: (row[4], row[0])):
                payable = face - dilution
                if payout.debits[anchor_id] + payable > balances[anchor_id]:
                    unpaid.append((pk, status))
                    continue
                payout.charge(anchor_id, payable)
                financing = financings.get(pk)
                reserve = payout.financed(financing, payable) if financing else payable
                payout.pay(supplier_id, reserve)
                paid.append(pk)
            payout.debits = {a: amount for a, amount in payout.debits.items() if amount > 0}
            _post(currency, payout, wallets, f"Maturity of {len(group)} invoice(s) due")
            _close_financings(payout, now)
        if paid:
            transition_many(
                Invoice.objects.filter(ids_in("pk", paid)),
                InvoiceStatus.PAID,
                transitions=INVOICE_TRANSITIONS,
                note="paid at maturity",
                extra={"paid_at": now},
            )
        newly_late = [pk for pk, status in unpaid if status in INVOICE_DUE]
        _mark_late(
            Invoice,
            newly_late,
            INVOICE_TRANSITIONS,
            InvoiceStatus.OVERDUE,
            [financings[pk].pk for pk in newly_late if pk in financings],
        )
        result["paid"], result["unpaid"] = len(paid), len(unpaid)
    return result


# --- certificates -----------------------------------------------------------------------------


def certificate_settle(*, root_id: int, now=None) -> bool:
    """Pay every holder of record of one certificate tree (and the certified invoices' remainder).
    True when paid; False when the anchor's wallet does not cover it (the tree becomes overdue)."""
    now = now or timezone.now()
    today = business_date(now)
    with transaction.atomic():
        tree = list(
            PayableCertificate.objects.select_for_update(skip_locked=True)
            .filter(Q(pk=root_id) | Q(root_id=root_id))
            .exclude(status=CertificateStatus.PAID)
            .order_by("pk")
        )
        root = next((c for c in tree if c.pk == root_id), None)
        if root is None or root.due_date > today:
            return False
        invoices = list(root.invoices.select_for_update().exclude(status=InvoiceStatus.PAID).order_by("pk"))
        financings = _live_financings(Q(certificate_id__in=[c.pk for c in tree]), asset="certificate_id")
        remainder = sum((i.payable_amount for i in invoices), ZERO) - root.face_amount
        payees = {c.holder_id for c in tree} | {f.funder_id for f in financings.values()}
        wallets, balances = _wallets_locked({root.anchor_id}, payees, root.currency)
        balance = balances[root.anchor_id]
        payout = _Payout()
        for certificate in tree:
            if certificate.balance <= 0:
                continue
            financing = financings.get(certificate.pk)
            reserve = payout.financed(financing, certificate.balance) if financing else certificate.balance
            payout.pay(certificate.holder_id, reserve)
        payout.pay(root.holder_id, max(remainder, ZERO))
        if payout.total > balance:
            late = [c.pk for c in tree if c.status in CERTIFICATE_DUE]
            _mark_late(
                PayableCertificate,
                late,
                CERTIFICATE_TRANSITIONS,
                CertificateStatus.OVERDUE,
                [f.pk for f in financings.values()],
            )
            return False
        payout.charge(root.anchor_id, payout.total)
        _post(root.currency, payout, wallets, f"Maturity of certificate {root.pk}")
        transition_many(
            PayableCertificate.objects.filter(pk__in=[c.pk for c in tree]),
            CertificateStatus.PAID,
            transitions=CERTIFICATE_TRANSITIONS,
            note="paid at maturity",
            extra={"paid_at": now},
        )
        if invoices:
            transition_many(
                Invoice.objects.filter(pk__in=[i.pk for i in invoices]),
                InvoiceStatus.PAID,
                transitions=INVOICE_TRANSITIONS,
                note=f"paid through certificate {root.pk}",
                extra={"paid_at": now},
            )
        _close_financings(payout, now)
    return True


# --- the sweeps -------------------------------------------------------------------------------


def maturities_settle(*, now=None, batch: int | None = None) -> dict:
    """Settle a bounded batch of what fell due (invoices, certificate trees). `more` says whether
    more remain (the task runs again): every row handled leaves the due set, paid or overdue."""
    now = now or timezone.now()
    today = business_date(now)
    batch = batch or rules()["SWEEP_BATCH"]
    invoice_ids = list(
        Invoice.objects.filter(status__in=sorted(INVOICE_DUE), due_date__lte=today)
        .order_by("due_date", "pk")
        .values_list("pk", flat=True)[: batch + 1]
    )
    result = invoices_settle(invoice_ids=invoice_ids[:batch], now=now)
    roots = list(
        PayableCertificate.objects.filter(root__isnull=True, status__in=list(CERTIFICATE_DUE), due_date__lte=today)
        .order_by("due_date", "pk")
        .values_list("pk", flat=True)[: batch + 1]
    )
    result["certificates_paid"] = sum(certificate_settle(root_id=pk, now=now) for pk in roots[:batch])
    result["more"] = len(invoice_ids) > batch or len(roots) > batch
    return result


def _grace_passed(due_date: datetime.date, grace_days: int, today: datetime.date) -> bool:
    return (today - due_date).days > grace_days


def overdue_sweep(*, now=None, batch: int | None = None, after_invoice: int = 0, after_certificate: int = 0) -> dict:
    """Ask every late anchor again (it may have paid in since), then default what is still unpaid
    past the grace days: the financing, its invoice or certificate tree; with recourse the funder's
    advance becomes a claim on the supplier, without it the funder's loss. Bounded: returns `next`,
    the (invoice, certificate) ids to carry on after, or None when done."""
    now = now or timezone.now()
    today = business_date(now)
    batch = batch or rules()["SWEEP_BATCH"]
    result = {"paid": 0, "defaulted": 0}
    late = list(
        Invoice.objects.filter(status__in=list(INVOICE_LATE), pk__gt=after_invoice)
        .order_by("pk")
        .values_list("pk", flat=True)[: batch + 1]
    )
    result["paid"] += invoices_settle(invoice_ids=late[:batch], now=now)["paid"]
    late_roots = list(
        PayableCertificate.objects.filter(root__isnull=True, status__in=list(CERTIFICATE_LATE), pk__gt=after_certificate)
        .order_by("pk")
        .values_list("pk", flat=True)[: batch + 1]
    )
    result["paid"] += sum(certificate_settle(root_id=pk, now=now) for pk in late_roots[:batch])
    result["defaulted"] += _default_past_grace(today, invoice_ids=late[:batch], root_ids=late_roots[:batch])
    more = len(late) > batch or len(late_roots) > batch
    result["next"] = (
        (max(late[:batch], default=after_invoice), max(late_roots[:batch], default=after_certificate)) if more else None
    )
    return result


def _default_past_grace(today: datetime.date, *, invoice_ids, root_ids) -> int:
    grace_default = rules()["GRACE_DAYS"]
    with transaction.atomic():
        overdue = list(
            Financing.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=FinancingStatus.OVERDUE)
            .filter(ids_in("invoice_id", invoice_ids) | Q(certificate__root_id__in=root_ids) | Q(certificate_id__in=root_ids))
            .order_by("pk")
            .values_list("pk", "invoice_id", "due_date", "programme__grace_days", "recourse", "advance", "collected")
        )
        due = [row for row in overdue if _grace_passed(row[2], row[3], today)]
        if due:
            transition_many(
                Financing.objects.filter(ids_in("pk", [row[0] for row in due])),
                FinancingStatus.DEFAULTED,
                transitions=FINANCING_TRANSITIONS,
                note="unpaid after the grace days",
                values={
                    "recourse_claim": {
                        pk: (advance - collected if recourse else ZERO) for pk, *_, recourse, advance, collected in due
                    },
                    "loss": {pk: (ZERO if recourse else advance - collected) for pk, *_, recourse, advance, collected in due},
                },
            )
        financed_grace = {invoice_id: grace for _, invoice_id, _, grace, *_ in overdue if invoice_id}
        invoices = [
            pk
            for pk, due_date in Invoice.objects.filter(ids_in("pk", invoice_ids), status=InvoiceStatus.OVERDUE).values_list(
                "pk", "due_date"
            )
            if _grace_passed(due_date, financed_grace.get(pk, grace_default), today)
        ]
        moved = 0
        if invoices:
            moved = transition_many(
                Invoice.objects.filter(ids_in("pk", invoices)),
                InvoiceStatus.DEFAULTED,
                transitions=INVOICE_TRANSITIONS,
                note="unpaid after the grace days",
            )
        roots = [
            pk
            for pk, due_date in PayableCertificate.objects.filter(pk__in=root_ids, status=CertificateStatus.OVERDUE).values_list(
                "pk", "due_date"
            )
            if _grace_passed(due_date, grace_default, today)
        ]
        if roots:
            transition_many(
                PayableCertificate.objects.filter(Q(pk__in=roots) | Q(root_id__in=roots), status=CertificateStatus.OVERDUE),
                CertificateStatus.DEFAULTED,
                transitions=CERTIFICATE_TRANSITIONS,
                note="unpaid after the grace days",
            )
    return len(due) + moved
