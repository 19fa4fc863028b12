"""Maturity settlement and the overdue sweep over many financed invoices: the services against
hand-written SQL doing the same marking and moving the same money.

Two identical worlds are built in one database (each: 20 anchors, 2,000 suppliers, one funder, one
payables programme per anchor, BENCH_FINANCINGS / 2 funded financings at 100% advance, all falling
due on the same day, world A on day D, world B a month later). 18 anchors hold exactly what they owe
in their wallets, 2 hold nothing, so a tenth of the paper goes overdue and, after the grace days,
defaults (on this data "pay each maturity the wallet still covers, oldest first" and "pay an anchor's
maturities if it covers them all" agree, which the baseline relies on).

Service (world A): `maturities_settle(now=D)` until it says no more remain (batches of SWEEP_BATCH:
per anchor one ledger transaction, one leg per wallet; statuses, audit rows, registry releases and
limits in the same database transaction), then `overdue_sweep(now=D + grace + 1)` until done.
Baseline (world B): the same effects in a handful of set-based statements: one ledger transaction
per solvent anchor with its legs, the balances, invoices and financings marked paid or overdue with
their audit rows, encumbrances released, limits given back; then the defaults with their audit rows.
Afterwards: both worlds' balances, statuses and limits agree, and `ledger_problems() == []`.
Memory: the growth of the service process's peak RSS, read every 20 batches (flat: bounded batches).

    DJANGO_SETTINGS_MODULE=platform_core.settings.test .venv/bin/python bench/bench_scf_maturity.py

Env: BENCH_FINANCINGS (default 200000; both worlds together), BENCH_BATCH (default: the rule pack's SWEEP_BATCH).
"""

import datetime
import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchdb import bench_database, result_line  # noqa: E402

FINANCINGS = int(os.environ.get("BENCH_FINANCINGS", "200000")) // 2  # per world
ANCHORS, SUPPLIERS, BROKE = 20, 2000, 2
DAY_A = datetime.date(2026, 3, 16)
DAY_B = DAY_A + datetime.timedelta(days=30)
GRACE = 5
GOAL = 1.5
BATCH = int(os.environ.get("BENCH_BATCH", "0")) or None  # default: SUPPLYCHAIN["SWEEP_BATCH"]


def _noon(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(4), tzinfo=datetime.UTC)  # noon in Asia/Shanghai


def build(world: str, due: datetime.date, offset: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from platform_core.accounts.models import KycStatus, MemberRole, Organisation, OrganisationKind, Role, User
    from platform_core.accounts.services import entity_default
    from platform_core.ledger.models import Account, AccountPurpose
    from platform_core.ledger.services import system_account, transaction_post
    from supplychain.models import FunderExposure, FunderProfile, Programme, SupplierLimit
    from tests.factories import credit_code

    with transaction.atomic():
        entity = entity_default()

        def orgs(kind, n, start):
            return Organisation.objects.bulk_create(
                [
                    Organisation(
                        legal_name=f"{world} {kind} {i}",
                        credit_code=credit_code(start + i),
                        kind=kind,
                        kyc_status=KycStatus.VERIFIED,
                    )
                    for i in range(n)
                ],
                batch_size=5000,
            )

        anchors = orgs(OrganisationKind.CORE_ENTERPRISE, ANCHORS, offset)
        suppliers = orgs(OrganisationKind.SME, SUPPLIERS, offset + ANCHORS)
        (funder,) = orgs(OrganisationKind.FUNDER, 1, offset + ANCHORS + SUPPLIERS)
        user = User.objects.create(
            username=f"bench-{world}",
            role=Role.SME,
            organisation=suppliers[0],
            member_role=MemberRole.OWNER,
            password=make_password(None),
        )
        FunderProfile.objects.create(organisation=funder, risk_assets=Decimal("100000000000.00"))
        programmes = Programme.objects.bulk_create(
            [
                Programme(
                    entity=entity,
                    name=f"{world} programme {i}",
                    funder=funder,
                    anchor=a,
                    product="payables_finance",
                    anchor_limit=Decimal("1000000000.00"),
                    supplier_sublimit=Decimal("1000000000.00"),
                    advance_rate=Decimal("1"),
                    annual_rate=Decimal("0.06"),
                    day_basis=360,
                    fee_rate=Decimal("0"),
                    grace_days=GRACE,
                )
                for i, a in enumerate(anchors)
            ]
        )
        SupplierLimit.objects.bulk_create(
            [
                SupplierLimit(programme=programmes[i % ANCHORS], supplier=s, sub_limit=Decimal("1000000000.00"))
                for i, s in enumerate(suppliers)
            ]
        )
        FunderExposure.objects.bulk_create([FunderExposure(funder=funder, debtor=a) for a in anchors])
        Account.objects.bulk_create(
            [
                Account(
                    key=f"wallet:organisation:{o.pk}:CNY",
                    name=f"Wallet of {o}",
                    purpose=AccountPurpose.WALLET,
                    currency="CNY",
                    owner_organisation=o,
                )
                for o in [*anchors, *suppliers, funder]
            ],
            batch_size=5000,
        )
        params = {
            "n": FINANCINGS,
            "suppliers": [s.pk for s in suppliers],
            "anchors": [a.pk for a in anchors],
            "programmes": [p.pk for p in programmes],
            "funder": funder.pk,
            "user": user.pk,
            "due": due,
            "issued": due - datetime.timedelta(days=60),
            "funded": due - datetime.timedelta(days=30),
            "world": world,
            "now": _noon(due - datetime.timedelta(days=30)),
        }
        with connection.cursor() as cursor:
            # supplier i sells to anchor i % ANCHORS; invoice k is supplier k % SUPPLIERS's
            cursor.execute(
                """
                INSERT INTO supplychain_invoice (supplier_id, anchor_id, created_by_id, number, issue_date, due_date, face_amount,
                       currency, dilution_amount, fingerprint, status, status_reason, confirmed_at, created_at, updated_at)
                SELECT (%(suppliers)s::bigint[])[1 + k %% 2000], (%(anchors)s::bigint[])[1 + (k %% 2000) %% 20], %(user)s,
                       'B-' || k, %(issued)s, %(due)s, 1000.00 + (k %% 97) * 10, 'CNY', 0,
                       encode(sha256((%(world)s || ':' || k)::bytea), 'hex'), 'financed', '', %(now)s, %(now)s, %(now)s
                  FROM generate_series(0, %(n)s - 1) AS k
                """,
                params,
            )
            cursor.execute(
                """
                INSERT INTO supplychain_financing (programme_id, funder_id, debtor_id, requester_id, invoice_id, created_by_id, amount,
                       currency, advance_rate, annual_rate, day_basis, fee_rate, recourse, due_date, funding_date, days, advance,
                       discount, fee, net_amount, status, status_reason, expires_at, funded_at, collected, reserve_paid,
                       recourse_claim, loss, created_at, updated_at)
                SELECT p.id, %(funder)s, i.anchor_id, i.supplier_id, i.id, %(user)s, i.face_amount, 'CNY', 1, 0.06, 360, 0, true,
                       i.due_date, %(funded)s, 30, i.face_amount, round(i.face_amount * 0.005, 2), 0,
                       i.face_amount - round(i.face_amount * 0.005, 2), 'funded', '', %(now)s, %(now)s, 0, 0, 0, 0, %(now)s, %(now)s
                  FROM supplychain_invoice i JOIN supplychain_programme p ON p.anchor_id = i.anchor_id
                 WHERE i.anchor_id = ANY(%(anchors)s)
                """,
                params,
            )
            cursor.execute(
                """
                INSERT INTO supplychain_encumbrance (asset, financing_id, funder_id, registered_at)
                SELECT 'invoice:' || invoice_id, id, funder_id, funded_at FROM supplychain_financing WHERE funder_id = %(funder)s
                """,
                params,
            )
            cursor.execute(
                """UPDATE supplychain_programme p SET utilised = s.total FROM (SELECT programme_id, sum(amount) AS total
                   FROM supplychain_financing WHERE funder_id = %(funder)s GROUP BY programme_id) s WHERE p.id = s.programme_id""",
                params,
            )
            cursor.execute(
                """UPDATE supplychain_supplierlimit l SET utilised = s.total FROM (SELECT programme_id, requester_id, sum(amount) AS total
                   FROM supplychain_financing WHERE funder_id = %(funder)s GROUP BY 1, 2) s
                   WHERE l.programme_id = s.programme_id AND l.supplier_id = s.requester_id""",
                params,
            )
            cursor.execute(
                """UPDATE supplychain_funderexposure e SET amount = s.total FROM (SELECT debtor_id, sum(amount) AS total
                   FROM supplychain_financing WHERE funder_id = %(funder)s GROUP BY 1) s
                   WHERE e.funder_id = %(funder)s AND e.debtor_id = s.debtor_id""",
                params,
            )
            cursor.execute(
                "SELECT anchor_id, sum(face_amount) FROM supplychain_invoice WHERE anchor_id = ANY(%(anchors)s) GROUP BY 1",
                params,
            )
            owed = dict(cursor.fetchall())
        wallets = {a.owner_organisation_id: a for a in Account.objects.filter(owner_organisation__in=anchors)}
        solvent = [a for a in anchors[BROKE:]]
        total = sum(owed[a.pk] for a in solvent)
        transaction_post(
            kind="deposit",
            changes=[(system_account(AccountPurpose.CUSTODY, "CNY"), total), *((wallets[a.pk], owed[a.pk]) for a in solvent)],
            memo=f"opening balances of {world}",
        )
    with connection.cursor() as cursor:
        for table in ("supplychain_invoice", "supplychain_financing", "supplychain_encumbrance", "ledger_account"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"anchors": [a.pk for a in anchors], "funder": funder.pk, "suppliers": [s.pk for s in suppliers], "owed": total}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def service(day: datetime.date) -> dict:
    from supplychain import services

    rss = [rss_mb()]
    started = time.perf_counter()
    runs, paid, unpaid = 0, 0, 0
    while True:
        result = services.maturities_settle(now=_noon(day), batch=BATCH)
        runs += 1
        paid, unpaid = paid + result["paid"], unpaid + result["unpaid"]
        if runs % 20 == 0:
            rss.append(rss_mb())
        if not result["more"]:
            break
    settled = time.perf_counter() - started
    later = _noon(day + datetime.timedelta(days=GRACE + 1))
    cursor, defaulted = (0, 0), 0
    started = time.perf_counter()
    while cursor is not None:
        result = services.overdue_sweep(now=later, batch=BATCH, after_invoice=cursor[0], after_certificate=cursor[1])
        defaulted += result["defaulted"]
        cursor = result["next"]
    swept = time.perf_counter() - started
    rss.append(rss_mb())
    return {"settle": settled, "sweep": swept, "runs": runs, "paid": paid, "unpaid": unpaid, "defaulted": defaulted, "rss": rss}


SETTLE_SQL = [
    # what is due, and whether its anchor covers all of it
    """CREATE TEMP TABLE due ON COMMIT DROP AS
       SELECT i.id AS invoice_id, i.anchor_id, i.supplier_id, i.face_amount - i.dilution_amount AS payable, f.id AS financing_id,
              f.funder_id, f.programme_id, f.amount, f.advance, w.balance >= sum(i.face_amount - i.dilution_amount) OVER (PARTITION BY i.anchor_id) AS paid
         FROM supplychain_invoice i
         JOIN supplychain_financing f ON f.invoice_id = i.id AND f.status = 'funded'
         JOIN ledger_account w ON w.key = 'wallet:organisation:' || i.anchor_id || ':CNY'
        WHERE i.status = 'financed' AND i.due_date <= %(today)s AND i.anchor_id = ANY(%(anchors)s)""",
    # one ledger transaction per paying anchor
    """CREATE TEMP TABLE txn ON COMMIT DROP AS
       WITH t AS (INSERT INTO ledger_transaction (kind, memo, created_at)
                  SELECT 'scf_maturity', 'anchor ' || anchor_id, now() FROM due WHERE paid GROUP BY anchor_id RETURNING id, memo)
       SELECT id, substr(memo, 8)::bigint AS anchor_id FROM t""",
    """CREATE TEMP TABLE legs ON COMMIT DROP AS
       SELECT t.id AS transaction_id, 'wallet:organisation:' || d.anchor_id || ':CNY' AS key, sum(d.payable) AS amount
         FROM due d JOIN txn t ON t.anchor_id = d.anchor_id GROUP BY 1, 2
       UNION ALL
       SELECT t.id, 'wallet:organisation:' || d.funder_id || ':CNY', -sum(least(d.payable, d.advance))
         FROM due d JOIN txn t ON t.anchor_id = d.anchor_id GROUP BY 1, 2
       UNION ALL
       SELECT t.id, 'wallet:organisation:' || d.supplier_id || ':CNY', -sum(d.payable - least(d.payable, d.advance))
         FROM due d JOIN txn t ON t.anchor_id = d.anchor_id WHERE d.payable > d.advance GROUP BY 1, 2""",
    """INSERT INTO ledger_leg (transaction_id, account_id, amount, currency)
       SELECT l.transaction_id, a.id, l.amount, 'CNY' FROM legs l JOIN ledger_account a ON a.key = l.key""",
    """UPDATE ledger_account a SET balance = a.balance - s.amount
         FROM (SELECT key, sum(amount) AS amount FROM legs GROUP BY key) s WHERE a.key = s.key""",
    # statuses and their audit rows
    """INSERT INTO platform_core_auditevent (content_type_id, object_id, action, from_value, to_value, note, data, created_at)
       SELECT %(invoice_ct)s, invoice_id::text, 'status_changed', 'financed', CASE WHEN paid THEN 'paid' ELSE 'overdue' END, '', '{}'::jsonb, now() FROM due
       UNION ALL
       SELECT %(financing_ct)s, financing_id::text, 'status_changed', 'funded', CASE WHEN paid THEN 'paid' ELSE 'overdue' END, '', '{}'::jsonb, now() FROM due""",
    """UPDATE supplychain_invoice i SET status = CASE WHEN d.paid THEN 'paid' ELSE 'overdue' END,
              paid_at = CASE WHEN d.paid THEN now() END, updated_at = now() FROM due d WHERE i.id = d.invoice_id""",
    """UPDATE supplychain_financing f SET status = CASE WHEN d.paid THEN 'paid' ELSE 'overdue' END,
              collected = CASE WHEN d.paid THEN least(d.payable, d.advance) ELSE 0 END,
              reserve_paid = CASE WHEN d.paid THEN d.payable - least(d.payable, d.advance) ELSE 0 END,
              paid_at = CASE WHEN d.paid THEN now() END, updated_at = now()
         FROM due d WHERE f.id = d.financing_id""",
    """UPDATE supplychain_encumbrance e SET released_at = now() FROM due d WHERE d.paid AND e.financing_id = d.financing_id""",
    # limits given back
    """UPDATE supplychain_programme p SET utilised = p.utilised - s.amount
         FROM (SELECT programme_id, sum(amount) AS amount FROM due WHERE paid GROUP BY 1) s WHERE p.id = s.programme_id""",
    """UPDATE supplychain_supplierlimit l SET utilised = l.utilised - s.amount
         FROM (SELECT programme_id, supplier_id, sum(amount) AS amount FROM due WHERE paid GROUP BY 1, 2) s
        WHERE l.programme_id = s.programme_id AND l.supplier_id = s.supplier_id""",
    """UPDATE supplychain_funderexposure e SET amount = e.amount - s.amount
         FROM (SELECT funder_id, anchor_id, sum(amount) AS amount FROM due WHERE paid GROUP BY 1, 2) s
        WHERE e.funder_id = s.funder_id AND e.debtor_id = s.anchor_id""",
]
SWEEP_SQL = [
    """CREATE TEMP TABLE late ON COMMIT DROP AS
       SELECT f.id AS financing_id, f.invoice_id FROM supplychain_financing f
        WHERE f.status = 'overdue' AND f.debtor_id = ANY(%(anchors)s) AND f.due_date + %(grace)s < %(today)s""",
    """INSERT INTO platform_core_auditevent (content_type_id, object_id, action, from_value, to_value, note, data, created_at)
       SELECT %(financing_ct)s, financing_id::text, 'status_changed', 'overdue', 'defaulted', '', '{}'::jsonb, now() FROM late
       UNION ALL
       SELECT %(invoice_ct)s, invoice_id::text, 'status_changed', 'overdue', 'defaulted', '', '{}'::jsonb, now() FROM late""",
    """UPDATE supplychain_financing f SET status = 'defaulted', recourse_claim = f.advance - f.collected, updated_at = now()
         FROM late l WHERE f.id = l.financing_id""",
    """UPDATE supplychain_invoice i SET status = 'defaulted', updated_at = now() FROM late l WHERE i.id = l.invoice_id""",
]


def baseline(day: datetime.date, anchors: list[int]) -> dict:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction

    from supplychain.models import Financing, Invoice

    params = {
        "today": day,
        "anchors": anchors,
        "grace": GRACE,
        "invoice_ct": ContentType.objects.get_for_model(Invoice).pk,
        "financing_ct": ContentType.objects.get_for_model(Financing).pk,
    }
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in SETTLE_SQL:
            cursor.execute(sql, params)
    settled = time.perf_counter() - started
    params["today"] = day + datetime.timedelta(days=GRACE + 1)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in SWEEP_SQL:
            cursor.execute(sql, params)
    return {"settle": settled, "sweep": time.perf_counter() - started}


def outcome(world: dict) -> dict:
    from django.db.models import Count, Sum

    from platform_core.ledger.models import Account
    from supplychain.models import Financing, Invoice, Programme

    orgs = [*world["anchors"], *world["suppliers"], world["funder"]]
    return {
        "invoices": dict(
            Invoice.objects.filter(anchor_id__in=world["anchors"]).values_list("status").annotate(n=Count("id")).order_by()
        ),
        "financings": dict(
            Financing.objects.filter(funder_id=world["funder"]).values_list("status").annotate(n=Count("id")).order_by()
        ),
        "claims": Financing.objects.filter(funder_id=world["funder"]).aggregate(s=Sum("recourse_claim"))["s"],
        "wallets": sorted(Account.objects.filter(owner_organisation__in=orgs).values_list("balance", flat=True)),
        "utilised": Programme.objects.filter(anchor_id__in=world["anchors"]).aggregate(s=Sum("utilised"))["s"],
    }


def main() -> int:
    with bench_database("scf"):
        from django.db import connection

        from platform_core.ledger.checks import ledger_problems

        started = time.perf_counter()
        a = build("A", DAY_A, 0)
        b = build("B", DAY_B, 100000)
        print(f"built 2 x {FINANCINGS} funded financings in {time.perf_counter() - started:.1f}s", flush=True)

        run = service(DAY_A)
        print(
            f"service: settle {run['settle']:.2f}s in {run['runs']} batches ({run['paid']} paid, {run['unpaid']} overdue), "
            f"sweep {run['sweep']:.2f}s ({run['defaulted']} defaulted)",
            flush=True,
        )
        base = baseline(DAY_B, b["anchors"])  # after the service: its sweep never sees world B's defaults
        print(f"baseline (set-based SQL): settle {base['settle']:.2f}s, sweep {base['sweep']:.2f}s", flush=True)
        growth = [round(r - run["rss"][0], 1) for r in run["rss"]]
        print(f"service peak RSS {run['rss'][-1]:.0f} MB; growth every 20 batches: {growth} MB", flush=True)
        same = outcome(a) == outcome(b)
        problems = ledger_problems()
        print(f"same outcome in both worlds: {same}; ledger problems: {problems or 'none'}", flush=True)
        connection.close()

    value, reference = run["settle"] + run["sweep"], base["settle"] + base["sweep"]
    ratio = value / reference
    print(
        result_line(
            name="scf_maturity_seconds",
            value=value,
            baseline=reference,
            ratio=ratio,
            goal=f"<={GOAL:g}x",
            passed=ratio <= GOAL and same and not problems,
            unit="s",
            extra=f"financings={FINANCINGS} peak_rss_growth_mb={growth[-1]} same_outcome={same}",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
