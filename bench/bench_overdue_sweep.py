"""The daily overdue sweep over 1,000,000 installments: `p2p.services.overdue_sweep` against one SQL UPDATE.

The book: 40,000 active loans x 25 monthly installments (BENCH_INSTALLMENTS / 25 loans), disbursed over
the last ~2 years, so about half of all installments have fallen due. 10% of the loans are delinquent:
their installments of the last 1-150 days (skewed towards the recent: most are 1-30 days late, a tail
is past 90) are unpaid and still `pending`; every other installment that has fallen due is paid. So
this is the sweep's first pass over the book (nothing marked, no penalty accrued yet): it marks, accrues
penalty interest per distinct due date, and defaults / writes off the tail (days past due are not
stored: they follow from the oldest unpaid installment, so no loan is rewritten to age it).

Baseline, on the same data in the same run: the one hand-written UPDATE doing the same marking,
    UPDATE p2p_installment SET status='overdue' WHERE status='pending' AND due_date < today
       AND loan_id IN (SELECT id FROM p2p_loan WHERE status IN ('active','defaulted'))
inside a transaction that is rolled back (best of 3), then the service runs for real.
Ratio = service seconds / baseline seconds. Goal: at most 2x.
Also printed: the sweep's breakdown (SQL time per phase: marking with penalty accrual, default /
write-off), its slowest statements, and the next day's (steady-state) sweep against the same
UPDATE for that day, for information.

    DJANGO_SETTINGS_MODULE=platform_core.settings.test .venv/bin/python bench/bench_overdue_sweep.py

Env: BENCH_INSTALLMENTS (default 1000000, a multiple of 25).
"""

import datetime
import os
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchdb import bench_database, result_line  # noqa: E402

TERM = 25
INSTALLMENTS = int(os.environ.get("BENCH_INSTALLMENTS", "1000000"))
LOANS = max(INSTALLMENTS // TERM, 1)
BORROWERS = max(LOANS // 10, 1)
TODAY = datetime.date(2025, 6, 15)
AMOUNT = Decimal("10000.00")  # 25 x 400.00 principal, 20.00 interest a month
GOAL = 2.0

BASELINE = """
UPDATE p2p_installment SET status = 'overdue'
 WHERE status = 'pending' AND due_date < %s
   AND loan_id IN (SELECT id FROM p2p_loan WHERE status IN ('active', 'defaulted'))
"""
# Installment k of a loan falls due k months after disbursement (day clamped, as p2p.schedules does).
# A loan is delinquent when id % 10 = 0; its installments due in the last `late` days are unpaid, with
# late = 1 + 150 u^2 for a pseudo-random u in [0, 1): most 1-30 days, about a fifth past 90.
INSTALLMENTS_SQL = """
INSERT INTO p2p_installment (loan_id, number, due_date, principal_due, interest_due, fee_due, penalty_due,
                             principal_paid, interest_paid, fee_paid, penalty_paid, penalty_through, status, paid_at)
SELECT l.id, k, d.due, 400.00, 20.00, 0, 0,
       CASE WHEN p.paid THEN 400.00 ELSE 0 END, CASE WHEN p.paid THEN 20.00 ELSE 0 END, 0, 0, NULL,
       CASE WHEN p.paid THEN 'paid' ELSE 'pending' END, CASE WHEN p.paid THEN d.due::timestamptz END
  FROM p2p_loan l
 CROSS JOIN generate_series(1, %(term)s) AS k
 CROSS JOIN LATERAL (SELECT ((l.disbursed_at AT TIME ZONE 'UTC')::date + make_interval(months => k))::date AS due) d
 CROSS JOIN LATERAL (SELECT 1 + floor(150 * power(((l.id * 7919) %% 1000) / 1000.0, 2))::int AS late) dl
 CROSS JOIN LATERAL (SELECT d.due < %(today)s AND NOT (l.id %% 10 = 0 AND d.due >= %(today)s - dl.late) AS paid) p
"""


def build() -> dict:
    """The book: borrowers and loans by bulk_create, installments by one INSERT ... SELECT generate_series."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from p2p.models import Loan, LoanStatus
    from platform_core.accounts.models import KycStatus, MemberRole, Organisation, OrganisationKind, Role, User
    from platform_core.accounts.services import entity_default
    from tests.factories import credit_code

    started = time.perf_counter()
    with transaction.atomic():
        entity = entity_default()
        borrowers = Organisation.objects.bulk_create(
            [
                Organisation(
                    legal_name=f"Bench borrower {n}",
                    credit_code=credit_code(n),
                    kind=OrganisationKind.SME,
                    kyc_status=KycStatus.VERIFIED,
                )
                for n in range(BORROWERS)
            ],
            batch_size=5000,
        )
        creator = User.objects.create(
            username="bench-sme",
            role=Role.SME,
            organisation=borrowers[0],
            member_role=MemberRole.OWNER,
            password=make_password(None),
        )
        loans = []
        for i in range(LOANS):
            disbursed = datetime.datetime.combine(
                TODAY - datetime.timedelta(days=(i * 13) % 720 + 1), datetime.time(10), tzinfo=datetime.UTC
            )
            loans.append(
                Loan(
                    entity=entity,
                    borrower=borrowers[i % BORROWERS],
                    created_by=creator,
                    amount=AMOUNT,
                    term_months=TERM,
                    annual_rate=Decimal("0.240000"),
                    method="equal_principal",
                    purpose="Benchmark loan",
                    grade="E",
                    status=LoanStatus.ACTIVE,
                    funded_amount=AMOUNT,
                    investor_count=1,
                    disbursed_at=disbursed,
                    service_fee_rate=Decimal("0.0100"),
                    origination_fee_rate=Decimal("0.0200"),
                    principal_outstanding=AMOUNT,
                )
            )
        Loan.objects.bulk_create(loans, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute(INSTALLMENTS_SQL, {"term": TERM, "today": TODAY})
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE p2p_installment")
        cursor.execute("VACUUM ANALYZE p2p_loan")
        cursor.execute(
            """SELECT count(*), count(*) FILTER (WHERE due_date < %(today)s),
                      count(*) FILTER (WHERE status = 'pending' AND due_date < %(today)s),
                      count(DISTINCT loan_id) FILTER (WHERE status = 'pending' AND due_date < %(today)s)
                 FROM p2p_installment""",
            {"today": TODAY},
        )
        total, due, unpaid, late_loans = cursor.fetchone()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "installments": total, "due": due, "unpaid": unpaid, "late_loans": late_loans}


def baseline(today: datetime.date, runs: int = 3) -> tuple[float, int]:
    """Best of `runs` of the hand-written marking UPDATE, each in a transaction that is rolled back."""
    from django.db import connection, transaction

    times, marked = [], set()
    for _ in range(runs):
        with transaction.atomic(), connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(BASELINE, [today])
            times.append(time.perf_counter() - started)
            marked.add(cursor.rowcount)
            transaction.set_rollback(True)
    if len(marked) != 1:
        raise RuntimeError(f"the baseline marked different numbers of installments: {marked}")
    return min(times), marked.pop()


PHASES = ("marking + penalty", "default / write-off")
MARKERS = {  # the first statement of each phase, in the order overdue_sweep runs them
    "default / write-off": lambda sql: sql.startswith('SELECT "p2p_installment"."loan_id"'),
}


def phase_of(sql: str, current: str) -> str:
    """Which part of overdue_sweep a statement belongs to: phases only move forward."""
    for phase in PHASES[PHASES.index(current) + 1 :]:
        if MARKERS[phase](sql):
            return phase
    return current


def sweep(today: datetime.date) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from p2p import services

    connection.ensure_connection()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = services.overdue_sweep(today=today)
        seconds = time.perf_counter() - started
    phases: dict[str, list[float]] = defaultdict(list)
    phase = PHASES[0]
    timed = []
    for query in queries.captured_queries:
        sql = query["sql"]
        phase = phase_of(sql, phase)
        phases[phase].append(float(query["time"]))
        timed.append((float(query["time"]), phase, sql))
    return {
        "seconds": seconds,
        "result": result,
        "queries": len(queries.captured_queries),
        "phases": {p: (sum(phases[p]), len(phases[p])) for p in PHASES},
        "slowest": sorted(timed, reverse=True)[:5],
    }


def report(label: str, run: dict) -> None:
    sql_total = sum(t for t, _ in run["phases"].values())
    print(f"{label}: {run['seconds']:.2f}s, {run['queries']} statements, result {run['result']}")
    for phase in PHASES:
        t, n = run["phases"][phase]
        print(f"    {phase:<20} {t:7.2f}s SQL in {n:5d} statements")
    print(f"    {'other (Python, commits)':<20} {run['seconds'] - sql_total:7.2f}s")
    print("    slowest statements:")
    for t, phase, sql in run["slowest"]:
        print(f"      {t:6.3f}s [{phase}] {' '.join(sql.split())[:150]}")


def main() -> int:
    with bench_database("p2p"):
        from django.conf import settings
        from django.db import connection
        from django.db.models import Exists, OuterRef

        from p2p.models import Loan, LoanStatus, late_installments

        print(f"building {LOANS} active loans x {TERM} installments ...", flush=True)
        book = build()
        print(
            f"built {book['installments']} installments in {book['seconds']:.1f}s: {book['due']} fallen due, "
            f"{book['unpaid']} of them unpaid on {book['late_loans']} loans (as of {TODAY})",
            flush=True,
        )
        base_s, base_marked = baseline(TODAY)
        print(f"baseline (one UPDATE, rolled back, best of 3): {base_s:.3f}s, {base_marked} installments marked", flush=True)
        first = sweep(TODAY)
        report(f"service overdue_sweep(today={TODAY})", first)
        from p2p.models import Installment

        marked = Installment.objects.filter(status="overdue").count()
        same_marking = marked == base_marked
        past_default = late_installments(
            OuterRef("pk"), before=TODAY - datetime.timedelta(days=settings.P2P["DEFAULT_AFTER_DAYS"])
        )
        left = Loan.objects.filter(Exists(past_default), status=LoanStatus.ACTIVE).count()
        print(
            f"    loans left active past {settings.P2P['DEFAULT_AFTER_DAYS']} days past due (SWEEP_BATCH="
            f"{settings.P2P['SWEEP_BATCH']} defaults a run): {left}",
            flush=True,
        )

        tomorrow = TODAY + datetime.timedelta(days=1)
        next_base_s, next_marked = baseline(tomorrow)
        second = sweep(tomorrow)
        print(f"\nnext day (steady state): baseline {next_base_s:.3f}s ({next_marked} marked)")
        report(f"service overdue_sweep(today={tomorrow})", second)
        print(f"next day ratio (informative): {second['seconds'] / next_base_s:.1f}x", flush=True)
        connection.close()

    ratio = first["seconds"] / base_s
    print(
        result_line(
            name="overdue_sweep_seconds",
            value=first["seconds"],
            baseline=base_s,
            ratio=ratio,
            goal=f"<={GOAL:g}x",
            passed=ratio <= GOAL and same_marking,
            unit="s",
            extra=f"installments={book['installments']} marked={marked} same_marking={same_marking}",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
