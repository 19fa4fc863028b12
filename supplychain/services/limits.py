"""The three limits a financing request must fit, race-safe (DOMAIN.md section 4):

- the anchor's credit limit on the programme: unpaid financed amounts on its paper <= the limit;
- the supplier's sub-limit within that programme;
- the funder's concentration: its exposure to one debtor <= 50% of the risk assets it declares
  (40% when the debtor is a related party; China's commercial factoring rules, 2019).

Each is a conditional UPDATE (`utilised + x <= limit`; the rows it returns say whether it fitted),
always in this order: supplier, funder exposure, programme. The exposure and programme rows are the
ones every concurrent request on the same anchor waits for, so the request takes them last, just
before its commit (the caller writes the financing first), and on PostgreSQL all three are ONE
statement (data-modifying CTEs, each refusing when the one before refused), so the hot rows are held
for one statement and the commit. Releases take the rows in the same order, so nothing can close a
lock cycle. Plain SQL for the reason `crowdfunding.services.PLEDGE_COUNT_SQL` gives: it is the hot
path, and the ORM would spend longer building the statement than the database running it.
A refusal raises ApplicationError; the caller's transaction (or savepoint) rolls back what fitted.
"""

import contextlib
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from platform_core.errors import ApplicationError

from ..models import FunderExposure, FunderProfile, Programme, SupplierLimit
from ._common import rules

PROGRAMME_USE_SQL = """
UPDATE supplychain_programme SET utilised = utilised + %(amount)s
 WHERE id = %(programme)s AND active AND utilised + %(amount)s <= anchor_limit
"""
SUPPLIER_USE_SQL = """
UPDATE supplychain_supplierlimit SET utilised = utilised + %(amount)s
 WHERE programme_id = %(programme)s AND supplier_id = %(supplier)s AND utilised + %(amount)s <= sub_limit
"""
EXPOSURE_USE_SQL = """
UPDATE supplychain_funderexposure SET amount = amount + %(amount)s
 WHERE funder_id = %(funder)s AND debtor_id = %(debtor)s
   AND amount + %(amount)s <= (SELECT risk_assets FROM supplychain_funderprofile WHERE organisation_id = %(funder)s) * %(share)s
"""
USE_SQL = f"""
WITH s AS ({SUPPLIER_USE_SQL} RETURNING 1),
     e AS ({EXPOSURE_USE_SQL} AND EXISTS (SELECT 1 FROM s) RETURNING 1),
     p AS ({PROGRAMME_USE_SQL} AND EXISTS (SELECT 1 FROM e) RETURNING 1)
SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM e), (SELECT count(*) FROM p)
"""  # nosec B608 - composed of the constant statements above; every value is a parameter
PROGRAMME_RELEASE_SQL = "UPDATE supplychain_programme SET utilised = utilised - %(amount)s WHERE id = %(programme)s"
SUPPLIER_RELEASE_SQL = (
    "UPDATE supplychain_supplierlimit SET utilised = utilised - %(amount)s"
    " WHERE programme_id = %(programme)s AND supplier_id = %(supplier)s"
)
EXPOSURE_RELEASE_SQL = (
    "UPDATE supplychain_funderexposure SET amount = amount - %(amount)s WHERE funder_id = %(funder)s AND debtor_id = %(debtor)s"
)


def _rows(sql: str, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _ensure_rows(programme: Programme, supplier_id: int) -> bool:
    """Create the supplier's limit row and the funder's exposure row where missing (at the
    programme's defaults; concurrently safe: a unique constraint and a savepoint). True if any was."""
    created = False
    if not SupplierLimit.objects.filter(programme=programme, supplier_id=supplier_id).exists():
        try:
            with transaction.atomic():
                SupplierLimit.objects.create(programme=programme, supplier_id=supplier_id, sub_limit=programme.supplier_sublimit)
                created = True
        except IntegrityError:
            created = True  # created meanwhile by another request
    if not FunderExposure.objects.filter(funder_id=programme.funder_id, debtor_id=programme.anchor_id).exists():
        try:
            with transaction.atomic():
                FunderExposure.objects.create(funder_id=programme.funder_id, debtor_id=programme.anchor_id)
                created = True
        except IntegrityError:
            created = True
    return created


def concentration_share(programme: Programme) -> Decimal:
    return rules()["RELATED_PARTY_SHARE"] if programme.related_party else rules()["CONCENTRATION_SHARE"]


def _taken(params: dict) -> tuple[int, int, int]:
    """Run the three conditional updates (supplier, exposure, programme); how many rows each moved."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(USE_SQL, params)
            return cursor.fetchone()
    fitted = []
    for sql in (SUPPLIER_USE_SQL, EXPOSURE_USE_SQL, PROGRAMME_USE_SQL):
        fitted.append(_rows(sql, params))
        if not fitted[-1]:
            break
    return tuple(fitted + [0] * (3 - len(fitted)))


def limits_use(*, programme: Programme, supplier_id: int, amount: Decimal) -> None:
    """Take `amount` of the three limits, or raise (limit_exceeded codes, 409) having taken none."""
    params = {
        "amount": connection.ops.adapt_decimalfield_value(amount),
        "programme": programme.pk,
        "supplier": supplier_id,
        "funder": programme.funder_id,
        "debtor": programme.anchor_id,
        "share": connection.ops.adapt_decimalfield_value(concentration_share(programme)),
    }
    # What fitted before a refusal is undone by the caller's transaction, which the raise rolls back
    # (financing_request runs in its own atomic block); the stepwise path (the SQLite demo) keeps a
    # savepoint of its own, the one statement on PostgreSQL saves the round trips.
    with transaction.atomic() if connection.vendor != "postgresql" else contextlib.nullcontext():
        supplier, exposure, line = _taken(params)
        if not (supplier and exposure and line):  # refused, or a first request whose rows did not exist yet
            _ensure_rows(programme, supplier_id)
            supplier, exposure, line = _taken(params)
        if not supplier:
            raise ApplicationError(
                "supplier_limit_exceeded", _("This would exceed your sub-limit on the programme."), field="amount", status=409
            )
        if not exposure:
            if not FunderProfile.objects.filter(organisation_id=programme.funder_id).exists():
                raise ApplicationError(
                    "funder_risk_assets_undeclared",
                    _("The funder has not declared its risk assets; it cannot fund yet."),
                    status=409,
                )
            raise ApplicationError(
                "concentration_limit_exceeded",
                _("This would exceed the funder's concentration limit on this debtor."),
                field="amount",
                status=409,
            )
        if not line:
            raise ApplicationError(
                "anchor_limit_exceeded",
                _("This would exceed the anchor's credit limit on the programme."),
                field="amount",
                status=409,
            )


def limits_release(*, programme_id: int, funder_id: int, debtor_id: int, supplier_id: int, amount: Decimal) -> None:
    params = {
        "amount": connection.ops.adapt_decimalfield_value(amount),
        "programme": programme_id,
        "supplier": supplier_id,
        "funder": funder_id,
        "debtor": debtor_id,
    }
    for sql in (SUPPLIER_RELEASE_SQL, EXPOSURE_RELEASE_SQL, PROGRAMME_RELEASE_SQL):  # the order of limits_use
        _rows(sql, params)


def limits_release_many(amounts: dict[tuple[int, int, int, int], Decimal]) -> None:
    """Give back many financings' amounts at once: {(programme, funder, debtor, supplier): amount}.
    Three statements on PostgreSQL (UPDATE ... FROM unnest, sums per row; suppliers, exposures, then
    programmes, as limits_use takes them), a loop elsewhere."""
    if not amounts:
        return
    if connection.vendor != "postgresql":
        for (programme_id, funder_id, debtor_id, supplier_id), amount in sorted(amounts.items()):
            limits_release(
                programme_id=programme_id, funder_id=funder_id, debtor_id=debtor_id, supplier_id=supplier_id, amount=amount
            )
        return
    per_programme: dict[int, Decimal] = {}
    per_supplier: dict[tuple[int, int], Decimal] = {}
    per_exposure: dict[tuple[int, int], Decimal] = {}
    for (programme_id, funder_id, debtor_id, supplier_id), amount in amounts.items():
        per_programme[programme_id] = per_programme.get(programme_id, 0) + amount
        per_supplier[(programme_id, supplier_id)] = per_supplier.get((programme_id, supplier_id), 0) + amount
        per_exposure[(funder_id, debtor_id)] = per_exposure.get((funder_id, debtor_id), 0) + amount
    with connection.cursor() as cursor:
        keys = sorted(per_supplier)
        cursor.execute(
            "UPDATE supplychain_supplierlimit AS t SET utilised = t.utilised - v.amount"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[]) AS v(programme, supplier, amount)"
            " WHERE t.programme_id = v.programme AND t.supplier_id = v.supplier",
            [[k[0] for k in keys], [k[1] for k in keys], [per_supplier[k] for k in keys]],
        )
        keys = sorted(per_exposure)
        cursor.execute(
            "UPDATE supplychain_funderexposure AS t SET amount = t.amount - v.amount"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[]) AS v(funder, debtor, amount)"
            " WHERE t.funder_id = v.funder AND t.debtor_id = v.debtor",
            [[k[0] for k in keys], [k[1] for k in keys], [per_exposure[k] for k in keys]],
        )
        keys = sorted(per_programme)
        cursor.execute(
            "UPDATE supplychain_programme AS t SET utilised = t.utilised - v.amount"
            " FROM unnest(%s::bigint[], %s::numeric[]) AS v(id, amount) WHERE t.id = v.id",
            [keys, [per_programme[k] for k in keys]],
        )
