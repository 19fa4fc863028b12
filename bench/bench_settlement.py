"""Settlement of a failed campaign with 100,000 pledges: `campaign_settle` against one set-based SQL refund.

Two identical campaigns are built with tests.crowdfunding.bulk.campaign_with_pledges (in two
processes at once) and closed as failed through `campaign_close`. Then, each in a fresh process so
that its peak memory is its own:
- the service: `crowdfunding.services.campaign_settle` (batched: one ledger transaction per batch);
- the baseline: one transaction of raw SQL that refunds every pledge at once: INSERT one ledger
  transaction, INSERT ... SELECT its legs (one per wallet and one for the escrow), UPDATE the
  account balances from an aggregate, UPDATE the pledges to refunded and the campaign to settled.
Ratio = service seconds / baseline seconds. Goals: at most 3x, and under 300 MB peak memory
(growth of the settling process's peak RSS while settling).
Afterwards: every wallet got its money back exactly once, and ledger_problems() == [].

    DJANGO_SETTINGS_MODULE=platform_core.settings.test .venv/bin/python bench/bench_settlement.py

Env: BENCH_PLEDGES (default 100000); BENCH_TRACEMALLOC=1 also reports the service's tracemalloc
peak (its time is then inflated by tracing: read the ratio of a run without it).
"""

import datetime
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchdb import bench_database, result_line, setup_django  # noqa: E402

PLEDGES = int(os.environ.get("BENCH_PLEDGES", "100000"))
AMOUNT = Decimal("10.00")
TIME_GOAL = 3.0
MEMORY_GOAL_MB = 300
HELD = ["active", "on_hold"]

LOCK_CAMPAIGN = "SELECT status FROM crowdfunding_campaign WHERE id = %(campaign)s FOR UPDATE"
INSERT_TRANSACTION = """
INSERT INTO ledger_transaction (kind, memo, reference, created_at)
VALUES ('crowdfunding_refund', %(memo)s, %(reference)s, now()) RETURNING id
"""
# wallets and escrows are credit-normal (natural balance = -sum of legs): a refund credits each
# wallet (leg -amount) and debits the escrow (leg +total)
INSERT_LEGS = """
INSERT INTO ledger_leg (transaction_id, account_id, amount, currency)
SELECT %(txn)s, wallet_id, -sum(amount), currency FROM crowdfunding_pledge
 WHERE campaign_id = %(campaign)s AND status = ANY(%(held)s) GROUP BY wallet_id, currency
UNION ALL
SELECT %(txn)s, %(escrow)s, sum(amount), currency FROM crowdfunding_pledge
 WHERE campaign_id = %(campaign)s AND status = ANY(%(held)s) GROUP BY currency
"""
UPDATE_BALANCES = """
UPDATE ledger_account a SET balance = a.balance + s.change
  FROM (SELECT wallet_id AS account_id, sum(amount) AS change FROM crowdfunding_pledge
         WHERE campaign_id = %(campaign)s AND status = ANY(%(held)s) GROUP BY wallet_id
        UNION ALL
        SELECT %(escrow)s, -sum(amount) FROM crowdfunding_pledge WHERE campaign_id = %(campaign)s AND status = ANY(%(held)s)) s
 WHERE a.id = s.account_id
"""
UPDATE_PLEDGES_AND_CAMPAIGN = """
WITH refunded AS (
    UPDATE crowdfunding_pledge SET status = 'refunded', refund_transaction_id = %(txn)s, updated_at = now()
     WHERE campaign_id = %(campaign)s AND status = ANY(%(held)s) RETURNING amount
)
UPDATE crowdfunding_campaign
   SET refunded_amount = refunded_amount + (SELECT coalesce(sum(amount), 0) FROM refunded),
       refunded_count = refunded_count + (SELECT count(*) FROM refunded),
       status = 'settled', settled_at = now(), updated_at = now()
 WHERE id = %(campaign)s
"""


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


# --- children (each a fresh process on the benchmark's database) -------------------------------


def child_build(index: int) -> dict:
    from tests.crowdfunding.bulk import campaign_with_pledges
    from tests.factories import OrganisationFactory, SmeUserFactory, StaffUserFactory

    for factory in (SmeUserFactory, StaffUserFactory, OrganisationFactory):
        factory.reset_sequence(1_000_000 * (index + 1))  # the two builders run at once: distinct usernames
    started = time.perf_counter()
    campaign = campaign_with_pledges(PLEDGES, amount=str(AMOUNT), title=f"Settlement benchmark {index}")
    return {"campaign": campaign.pk, "seconds": time.perf_counter() - started}


def child_service(campaign_id: int) -> dict:
    from django.db import connection

    from crowdfunding import services

    connection.ensure_connection()
    trace = os.environ.get("BENCH_TRACEMALLOC") == "1"
    if trace:
        import tracemalloc

        tracemalloc.start()
    before = _maxrss_mb()
    started = time.perf_counter()
    settled = services.campaign_settle(campaign_id=campaign_id)
    seconds = time.perf_counter() - started
    result = {"settled": settled, "seconds": seconds, "rss_before_mb": before, "rss_peak_mb": _maxrss_mb()}
    if trace:
        result["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    return result


def child_baseline(campaign_id: int) -> dict:
    from django.db import connection, transaction

    from platform_core.ledger.models import Account

    connection.ensure_connection()
    escrow_id = Account.objects.get(key=f"escrow:crowdfunding.campaign:{campaign_id}:CNY").pk
    before = _maxrss_mb()
    started = time.perf_counter()
    params = {
        "campaign": campaign_id,
        "escrow": escrow_id,
        "held": HELD,
        "memo": f"Refund of campaign {campaign_id}",
        "reference": f"bench:campaign:{campaign_id}:refund",
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(LOCK_CAMPAIGN, params)
        if cursor.fetchone()[0] not in ("failed", "cancelled"):
            raise RuntimeError("the baseline campaign is not closed as failed")
        cursor.execute(INSERT_TRANSACTION, params)
        params["txn"] = cursor.fetchone()[0]
        cursor.execute(INSERT_LEGS, params)
        cursor.execute(UPDATE_BALANCES, params)
        cursor.execute(UPDATE_PLEDGES_AND_CAMPAIGN, params)
    seconds = time.perf_counter() - started  # including the commit, where the deferred ledger trigger runs
    return {"settled": True, "seconds": seconds, "rss_before_mb": before, "rss_peak_mb": _maxrss_mb()}


def run_child(*args) -> dict:
    """Run this script as a child on the benchmark's database (DATABASE_URL is already set)."""
    proc = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the parent ---------------------------------------------------------------------------------


def close_as_failed(campaign_id: int) -> None:
    from django.utils import timezone

    from crowdfunding import services
    from crowdfunding.models import Campaign

    Campaign.objects.filter(pk=campaign_id).update(deadline=timezone.now() - datetime.timedelta(seconds=1))
    closed = services.campaign_close(campaign_id=campaign_id)
    if closed is None or closed.status != "failed":
        raise RuntimeError(f"campaign {campaign_id} did not close as failed")


def refunded_once(campaign_id: int) -> tuple[bool, str]:
    """Every wallet of the campaign holds its pledge again, through exactly one refund leg."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE a.balance = p.amount), count(*) FILTER (WHERE p.status = 'refunded'),
                   count(*) FILTER (WHERE r.legs = 1 AND r.total = -p.amount)
              FROM crowdfunding_pledge p
              JOIN ledger_account a ON a.id = p.wallet_id
              LEFT JOIN (SELECT l.account_id, count(*) AS legs, sum(l.amount) AS total
                           FROM ledger_leg l JOIN ledger_transaction t ON t.id = l.transaction_id
                          WHERE t.kind = 'crowdfunding_refund' GROUP BY l.account_id) r ON r.account_id = p.wallet_id
             WHERE p.campaign_id = %s
            """,
            [campaign_id],
        )
        pledges, balance_back, status_refunded, one_leg = cursor.fetchone()
        cursor.execute(
            "SELECT c.status, c.outcome, c.refunded_count, c.refunded_amount, a.balance FROM crowdfunding_campaign c "
            "JOIN ledger_account a ON a.key = 'escrow:crowdfunding.campaign:' || c.id || ':CNY' WHERE c.id = %s",
            [campaign_id],
        )
        status, outcome, refunded_count, refunded_amount, escrow = cursor.fetchone()
    ok = (
        pledges == balance_back == status_refunded == one_leg == refunded_count == PLEDGES
        and refunded_amount == AMOUNT * PLEDGES
        and escrow == 0
        and (status, outcome) == ("settled", "failed")
    )
    detail = (
        f"pledges={pledges} wallets_back={balance_back} refunded={status_refunded} one_refund_leg={one_leg} "
        f"campaign={status}/{outcome} refunded_count={refunded_count} refunded_amount={refunded_amount} escrow={escrow}"
    )
    return ok, detail


def main() -> int:
    with bench_database("settlement"):
        from django.db import connection

        from platform_core.ledger.checks import ledger_problems

        started = time.perf_counter()
        connection.close()
        with ThreadPoolExecutor(2) as pool:
            builds = list(pool.map(lambda i: run_child("build", i), (0, 1)))
        service_id, baseline_id = (b["campaign"] for b in builds)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would soon after a bulk load
        for campaign_id in (service_id, baseline_id):
            close_as_failed(campaign_id)
        connection.close()
        print(f"built 2 failed campaigns x {PLEDGES} pledges in {time.perf_counter() - started:.1f}s", flush=True)

        baseline = run_child("baseline", baseline_id)
        print(f"baseline (set-based SQL): {baseline['seconds']:.2f}s, peak RSS {baseline['rss_peak_mb']:.0f} MB", flush=True)
        service = run_child("service", service_id)
        growth = service["rss_peak_mb"] - service["rss_before_mb"]
        traced = f", tracemalloc peak {service['tracemalloc_peak_mb']:.1f} MB" if "tracemalloc_peak_mb" in service else ""
        print(
            f"service campaign_settle: {service['seconds']:.2f}s (settled={service['settled']}), peak RSS "
            f"{service['rss_peak_mb']:.0f} MB (+{growth:.0f} MB while settling){traced}",
            flush=True,
        )

        checks_ok = True
        for label, campaign_id in (("service", service_id), ("baseline", baseline_id)):
            ok, detail = refunded_once(campaign_id)
            checks_ok &= ok
            print(f"{label}: every wallet refunded exactly once: {ok} ({detail})")
        problems = ledger_problems()
        print(f"ledger_problems() = {problems}")
        connection.close()

    ratio = service["seconds"] / baseline["seconds"]
    traced_note = ""
    if "tracemalloc_peak_mb" in service:
        traced_note = f" tracemalloc_peak_mb={service['tracemalloc_peak_mb']:.1f} time_inflated_by_tracemalloc=yes"
    passed = ratio <= TIME_GOAL and growth < MEMORY_GOAL_MB and service["settled"] and checks_ok and not problems
    print(
        result_line(
            name="settlement_seconds",
            value=service["seconds"],
            baseline=baseline["seconds"],
            ratio=ratio,
            goal=f"<={TIME_GOAL:g}x,<{MEMORY_GOAL_MB}MB",
            passed=passed,
            unit="s",
            extra=f"pledges={PLEDGES} peak_mb={growth:.0f} peak_rss_mb={service['rss_peak_mb']:.0f}{traced_note}"
            f" refunds_ok={checks_ok} ledger_ok={not problems}",
        )
    )
    return 0


def child_main(kind: str, arg: str) -> int:
    setup_django(os.environ["DATABASE_URL"])
    result = {"build": child_build, "service": child_service, "baseline": child_baseline}[kind](int(arg))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        sys.exit(child_main(sys.argv[2], sys.argv[3]))
    sys.exit(main())
