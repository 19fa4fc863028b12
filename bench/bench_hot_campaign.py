"""Hot campaign: 16 concurrent clients pledge to ONE live campaign through `pledge_create`.

Measures successful pledges per second through the service layer, against a baseline measured in
the same run, on the same database, with the same threads and duration: raw SQL doing the same
row locks, updates and inserts per pledge (conditional UPDATE of the campaign row, lock and update
of the wallet and escrow accounts, INSERT of the pledge, the ledger transaction and its two legs).
Ratio = service / raw. Goal: at least 0.5.

    DJANGO_SETTINGS_MODULE=platform_core.settings.test .venv/bin/python bench/bench_hot_campaign.py

Env: BENCH_SECONDS (default 20) per measured run, BENCH_CLIENTS (default 16), BENCH_WARMUP (default 1),
BENCH_MODE: "process" (default: each client its own process with its own connection, as gunicorn
workers serve requests) or "thread" (all clients as threads of one process, sharing its GIL).
"""

import os
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchdb import bench_database, result_line  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "1"))
AMOUNT = Decimal("1.00")
WALLET = "1000000.00"
GOAL = 0.5
MODE = os.environ.get("BENCH_MODE", "process")

RAW_CAMPAIGN = """
UPDATE crowdfunding_campaign
   SET raised_amount = raised_amount + %(amount)s, pledge_count = pledge_count + 1, updated_at = now()
 WHERE id = %(campaign)s AND status = 'live' AND deadline > now()
   AND (maximum_amount IS NULL OR maximum_amount >= raised_amount + %(amount)s)
"""
RAW_LOCK = "SELECT id, balance FROM ledger_account WHERE id IN (%(wallet)s, %(escrow)s) ORDER BY id FOR UPDATE"
RAW_BALANCES = """
UPDATE ledger_account SET balance = balance + CASE WHEN id = %(wallet)s THEN -%(amount)s ELSE %(amount)s END
 WHERE id IN (%(wallet)s, %(escrow)s)
"""
RAW_PLEDGE = """
INSERT INTO crowdfunding_pledge (campaign_id, backer_id, wallet_id, amount, currency, shares, status, created_at, updated_at)
VALUES (%(campaign)s, %(backer)s, %(wallet)s, %(amount)s, 'CNY', 0, 'active', now(), now()) RETURNING id
"""
RAW_TRANSACTION = """
INSERT INTO ledger_transaction (kind, memo, reference, created_at, created_by_id)
VALUES ('crowdfunding_pledge', %(memo)s, %(reference)s, now(), %(backer)s) RETURNING id
"""
# legs are signed debit +, credit -; wallets and escrows are credit-normal: wallet -> escrow is
# a debit of the wallet and a credit of the escrow
RAW_LEGS = """
INSERT INTO ledger_leg (transaction_id, account_id, amount, currency)
VALUES (%(txn)s, %(wallet)s, %(amount)s, 'CNY'), (%(txn)s, %(escrow)s, -%(amount)s, 'CNY')
"""


class InsufficientFunds(Exception):
    pass


def raw_pledge(cursor, *, campaign_id, backer_id, wallet_id, escrow_id):
    from django.db import transaction

    params = {"amount": AMOUNT, "campaign": campaign_id, "backer": backer_id, "wallet": wallet_id, "escrow": escrow_id}
    with transaction.atomic():
        cursor.execute(RAW_CAMPAIGN, params)
        if cursor.rowcount != 1:
            raise RuntimeError("campaign refused the pledge")
        cursor.execute(RAW_LOCK, params)
        balances = dict(cursor.fetchall())
        if balances[wallet_id] < AMOUNT:
            raise InsufficientFunds
        cursor.execute(RAW_BALANCES, params)
        cursor.execute(RAW_PLEDGE, params)
        pledge_id = cursor.fetchone()[0]
        reference = f"crowdfunding:pledge:{pledge_id}:in"
        cursor.execute(RAW_TRANSACTION, {**params, "memo": f"Pledge {pledge_id}", "reference": reference})
        params["txn"] = cursor.fetchone()[0]
        cursor.execute(RAW_LEGS, params)


def run_clients(label, work, clients, seconds):
    if MODE == "process":
        return run_client_processes(label, work, clients, seconds)
    return run_client_threads(label, work, clients, seconds)


def run_client_processes(label, work, clients, seconds):
    """Run `work(client)` in a loop in one forked process per client (each opens its own database
    connection) for `seconds`, all starting at the same instant. Returns like run_client_threads."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # no connection may be shared across fork()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.monotonic() + 1.5 + 0.05 * len(clients)  # CLOCK_MONOTONIC is shared by all processes

    def client_process(client):
        from django.db import connection

        done, errors = 0, Counter()
        try:
            connection.ensure_connection()
            prepared = client["prepare"]() if "prepare" in client else None
            time.sleep(max(0.0, start_at - time.monotonic()))
            end = start_at + seconds
            while True:
                try:
                    work(client, prepared)
                except Exception as exc:  # noqa: BLE001 - counted and shown
                    errors[getattr(exc, "code", type(exc).__name__)] += 1
                    if time.monotonic() >= end:
                        break
                    continue
                if time.monotonic() > end:
                    break
                done += 1
        finally:
            connection.close()
            results.put((done, dict(errors)))

    processes = [context.Process(target=client_process, args=(c,), name=f"{label}-{i}") for i, c in enumerate(clients)]
    for p in processes:
        p.start()
    total, errors = 0, Counter()
    for _ in processes:
        done, errs = results.get(timeout=seconds + 120)
        total += done
        errors.update(errs)
    for p in processes:
        p.join()
    return total, seconds, errors


def run_client_threads(label, work, clients, seconds):
    """Run `work(client)` in a loop on `len(clients)` threads (one DB connection each) for `seconds`.
    Returns (successes finished inside the window, elapsed seconds, error counter)."""
    from django.db import connection

    window = {}
    barrier = threading.Barrier(len(clients), action=lambda: window.update(end=time.monotonic() + seconds))
    done = [0] * len(clients)
    errors: Counter = Counter()
    lock = threading.Lock()

    crashed = []

    def client_loop(i, client):
        try:
            try:
                connection.ensure_connection()  # connecting is not part of the measurement
                prepared = client["prepare"]() if "prepare" in client else None
            except BaseException as exc:
                crashed.append(exc)
                barrier.abort()  # the other clients stop waiting
                raise
            barrier.wait()
            end = window["end"]
            while True:
                try:
                    work(client, prepared)
                except Exception as exc:  # noqa: BLE001 - counted and shown; the loop goes on
                    with lock:
                        errors[getattr(exc, "code", type(exc).__name__)] += 1
                    if time.monotonic() >= end:
                        break
                    continue
                if time.monotonic() > end:
                    break
                done[i] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=client_loop, args=(i, c), name=f"{label}-{i}", daemon=True) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if crashed:
        raise RuntimeError(f"{label}: a client could not start") from crashed[0]
    return sum(done), seconds, errors


def build():
    """Two identical live reward campaigns (one per run) and CLIENTS funded, verified investors."""
    from platform_core.ledger import services as ledger
    from tests.crowdfunding.factories import live_campaign
    from tests.factories import UserFactory

    campaigns = {
        label: live_campaign(target="1000000.00", maximum="100000000.00", title=f"Hot campaign ({label})")
        for label in ("service", "raw")
    }
    investors = [UserFactory() for _ in range(CLIENTS)]
    for user in investors:
        ledger.deposit_create(user=user, amount=WALLET)
    return campaigns, investors


def check_campaign(campaign):
    from django.db.models import Count, Sum

    from crowdfunding.models import Pledge
    from platform_core.ledger import services as ledger

    campaign.refresh_from_db()
    agg = Pledge.objects.filter(campaign=campaign).aggregate(n=Count("pk"), s=Sum("amount"))
    escrow = ledger.escrow_for(campaign).balance
    ok = campaign.pledge_count == agg["n"] and campaign.raised_amount == (agg["s"] or 0) == escrow
    return ok, f"pledges={agg['n']} raised={campaign.raised_amount} escrow={escrow}"


def main() -> int:
    with bench_database("hot_campaign"):
        from django.db import connection

        from crowdfunding import services
        from platform_core.ledger import services as ledger
        from platform_core.ledger.checks import ledger_problems

        t0 = time.monotonic()
        campaigns, investors = build()
        print(f"built 2 campaigns and {len(investors)} funded investors in {time.monotonic() - t0:.1f}s", flush=True)
        service_campaign, raw_campaign = campaigns["service"], campaigns["raw"]
        raw_escrow_id = ledger.escrow_for(raw_campaign).pk
        wallets = {u.pk: ledger.wallet_of_user(u).pk for u in investors}
        connection.close()  # the main thread holds no connection while the clients run

        def service_work(client, _):
            services.pledge_create(user=client["user"], campaign_id=client["campaign_id"], amount=AMOUNT)

        def raw_work(client, cursor):
            backer = client["user"].pk
            raw_pledge(cursor, campaign_id=raw_campaign.pk, backer_id=backer, wallet_id=wallets[backer], escrow_id=raw_escrow_id)

        def cursor_of_thread():
            return connection.cursor()  # the thread's own connection

        service_clients = [{"user": u, "campaign_id": service_campaign.pk} for u in investors]
        raw_clients = [{"user": u, "prepare": cursor_of_thread} for u in investors]

        if WARMUP > 0:
            run_clients("warm-raw", raw_work, raw_clients, WARMUP)
            run_clients("warm-service", service_work, service_clients, WARMUP)

        raw_n, raw_s, raw_errors = run_clients("raw", raw_work, raw_clients, SECONDS)
        raw_rate = raw_n / raw_s
        print(f"raw SQL:  {raw_n} pledges in {raw_s:g}s = {raw_rate:.1f}/s, errors {dict(raw_errors) or 'none'}", flush=True)
        svc_n, svc_s, svc_errors = run_clients("service", service_work, service_clients, SECONDS)
        svc_rate = svc_n / svc_s
        print(f"service:  {svc_n} pledges in {svc_s:g}s = {svc_rate:.1f}/s, errors {dict(svc_errors) or 'none'}", flush=True)

        consistent = True
        for label, campaign in (("service", service_campaign), ("raw", raw_campaign)):
            ok, detail = check_campaign(campaign)
            consistent &= ok
            print(f"{label} campaign counters match pledges and escrow: {ok} ({detail})")
        problems = ledger_problems()
        print(f"ledger_problems() = {problems}")
        connection.close()

    ratio = svc_rate / raw_rate if raw_rate else 0.0
    passed = ratio >= GOAL and not problems and consistent and not svc_errors and not raw_errors
    print(
        result_line(
            name="hot_campaign_pledges_per_s",
            value=svc_rate,
            baseline=raw_rate,
            ratio=ratio,
            goal=f">={GOAL}",
            passed=passed,
            extra=f"clients={CLIENTS} mode={MODE} seconds={SECONDS:g} ledger_ok={not problems}",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
