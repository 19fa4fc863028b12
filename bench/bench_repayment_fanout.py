"""One repayment shared out to 1,000 note holders: `p2p.services.repayment_make`, time and SQL queries.

Two loans of 100,000 (12 months, 20% a year, equal installments) are built through the services, as
users would: create, submit, approve, then each investor is created, deposits through the sandbox
gateway and invests (`investment_create`), and the loan is disbursed (`loan_disburse`). One loan has
1,000 holders of 100 each, the other 10 holders of 10,000 each. On each, the borrower repays what is
due (`repayment_make(amount=None)`) on the due date of installments 1, 2 and 3, each under
CaptureQueriesContext: milliseconds and queries, the median of the three (the process's first
repayment also looks up a ContentType for the audit row once; the median leaves that out).

The RESULT line compares the queries of one repayment with 1,000 holders against 10 holders
(ratio = queries at 1,000 / queries at 10). Goal: the count does not grow with the holders: equal,
or more by a small constant (at most 2: batched bulk updates of 1,000 rows add one statement per
1,000 accounts). The milliseconds at both sizes and per extra holder are printed for information.
Afterwards: the shares add up to each repayment exactly, and ledger_problems() == [].

    DJANGO_SETTINGS_MODULE=platform_core.settings.test .venv/bin/python bench/bench_repayment_fanout.py

Env: BENCH_HOLDERS (default 1000), BENCH_PROFILE=1 also prints a cProfile of one repayment at
BENCH_HOLDERS (its time is then inflated by profiling; read the milliseconds of a run without it).
"""

import cProfile
import datetime
import io
import os
import pstats
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchdb import bench_database, result_line  # noqa: E402

HOLDERS = int(os.environ.get("BENCH_HOLDERS", "1000"))
FEW = 10
LOAN_AMOUNT = Decimal("100.00") * HOLDERS
REPAYMENTS = 3
QUERY_SLACK = 2


def build(holders: int):
    """A disbursed loan of LOAN_AMOUNT with `holders` note holders, all through the services."""
    from p2p import services
    from p2p.models import LoanStatus
    from platform_core.ledger import services as ledger
    from tests.factories import UserFactory
    from tests.p2p.factories import listed_loan

    started = time.perf_counter()
    loan = listed_loan(amount=str(LOAN_AMOUNT), term_months=12, rate_percent="20", grade="D")
    each = LOAN_AMOUNT / holders
    for _ in range(holders):
        investor = UserFactory()
        ledger.deposit_create(user=investor, amount=str(each))
        services.investment_create(user=investor, loan_id=loan.pk, amount=str(each))
    loan.refresh_from_db()
    if loan.status != LoanStatus.FUNDED:
        raise RuntimeError(f"loan {loan.pk} is {loan.status} after {holders} investments")
    services.loan_disburse(loan_id=loan.pk)
    loan.refresh_from_db()
    if loan.status != LoanStatus.ACTIVE or loan.notes.count() != holders:
        raise RuntimeError(f"loan {loan.pk} not disbursed to {holders} notes")
    return loan, time.perf_counter() - started


def _due_at(loan, number: int):
    from django.utils import timezone

    due = loan.installments.get(number=number).due_date
    return timezone.make_aware(datetime.datetime.combine(due, datetime.time(12)))


def repay(loan, number: int, profile: bool = False) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from p2p import services

    now = _due_at(loan, number)
    profiler = cProfile.Profile() if profile else None
    with CaptureQueriesContext(connection) as queries:
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        repayment = services.repayment_make(user=loan.created_by, loan_id=loan.pk, now=now)
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
    statements = [q["sql"] for q in queries.captured_queries]
    slowest = sorted(((float(q["time"]), q["sql"]) for q in queries.captured_queries), reverse=True)[:4]
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    result = {"ms": seconds * 1000, "sql_ms": sql_ms, "queries": len(statements), "repayment": repayment, "slowest": slowest}
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        result["profile"] = out.getvalue()
    return result


def shares_add_up(loan) -> bool:
    from django.db.models import Sum

    return all(
        r.shares.aggregate(s=Sum("gross"))["s"] == r.amount and r.shares.count() == loan.notes.count()
        for r in loan.repayments.all()
    )


def measure(loan, label: str) -> dict:
    runs = [repay(loan, n) for n in range(1, REPAYMENTS + 1)]
    ms = statistics.median(r["ms"] for r in runs)
    counts = [r["queries"] for r in runs]
    sql_ms = statistics.median(r["sql_ms"] for r in runs)
    each = ", ".join(f"{r['ms']:.1f}" for r in runs)
    print(
        f"{label}: repayment of {runs[0]['repayment'].amount} -> {ms:.1f} ms (median of {REPAYMENTS}: {each}; "
        f"SQL {sql_ms:.1f} ms, the rest Python), queries {counts}",
        flush=True,
    )
    for t, sql in runs[0]["slowest"]:
        print(f"    {t * 1000:7.1f} ms  {' '.join(sql.split())[:140]}")
    return {"ms": ms, "queries": statistics.median(counts), "counts": counts}


def main() -> int:
    with bench_database("p2p"):
        from django.db import connection

        from platform_core.ledger.checks import ledger_problems

        few_loan, few_s = build(FEW)
        print(f"built a loan with {FEW} holders in {few_s:.1f}s", flush=True)
        many_loan, many_s = build(HOLDERS)
        print(f"built a loan with {HOLDERS} holders in {many_s:.1f}s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        few = measure(few_loan, f"{FEW} holders")
        many = measure(many_loan, f"{HOLDERS} holders")
        if os.environ.get("BENCH_PROFILE") == "1":
            profiled = repay(many_loan, REPAYMENTS + 1, profile=True)
            print(f"\ncProfile of one more repayment at {HOLDERS} holders ({profiled['ms']:.0f} ms under the profiler):")
            print(profiled["profile"])
        per_holder_us = (many["ms"] - few["ms"]) * 1000 / (HOLDERS - FEW)
        print(f"per extra holder: {per_holder_us:.0f} us", flush=True)
        exact = shares_add_up(few_loan) and shares_add_up(many_loan)
        problems = ledger_problems()
        print(f"shares add up to every repayment: {exact}; ledger_problems() = {problems}")
        connection.close()

    extra = many["queries"] - few["queries"]
    ratio = many["queries"] / few["queries"]
    passed = extra <= QUERY_SLACK and exact and not problems
    print(
        result_line(
            name="repayment_fanout_queries",
            value=many["queries"],
            baseline=few["queries"],
            ratio=ratio,
            goal=f"queries@{HOLDERS}<=queries@{FEW}+{QUERY_SLACK}",
            passed=passed,
            extra=f"holders={HOLDERS} ms={many['ms']:.1f} ms@{FEW}={few['ms']:.1f} per_holder_us={per_holder_us:.0f} "
            f"shares_exact={exact} ledger_ok={not problems}",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
