"""`make load`: a headless, time-bounded locust run against gunicorn with PostgreSQL, Redis and two
Celery workers (and beat), all on this machine.

A throwaway database is created, migrated and seeded (investors with money, three live campaigns,
listed loans, active loans whose borrowers repay), a private Redis started; then gunicorn (4 sync
workers, persistent database connections), two Celery workers and beat. Three locust phases:

0. a 5-second warm-up of the scenario, not reported (gunicorn workers import their code lazily);
1. the scenario (`Investor Borrower`: browse, sign in, deposit, pledge, invest, repay), LOAD_SECONDS;
2. pledges only, to one campaign (`Pledger`), LOAD_SAT_SECONDS;
3. `GET /api/v1/me/` only (`Me`), LOAD_SAT_SECONDS.

It prints requests per second, p50 and p99 and errors per phase and request kind, pledges per second
against `GET /api/v1/me/` per second (phases 2 and 3: the same server, one after the other), waits
for the workers to disburse what filled, runs `ledger_problems()`, and prints a profile of one pledge
request (cProfile, in process, with its SQL query count). Everything is stopped and the database
dropped at the end.

Env: LOAD_USERS (20), LOAD_SECONDS (30), LOAD_SAT_SECONDS (15), DATABASE_URL (the server to use).
Sign-in uses the test settings' fast password hasher (production hashes with PBKDF2: slower).
"""

import cProfile
import csv
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.load.settings"
from _benchdb import bench_database  # noqa: E402

USERS = int(os.environ.get("LOAD_USERS", "20"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "30"))
SAT_SECONDS = int(os.environ.get("LOAD_SAT_SECONDS", "15"))
INVESTORS = 60


def seed() -> dict:
    from p2p import services as p2p
    from platform_core.ledger import services as ledger
    from tests.crowdfunding.factories import live_campaign
    from tests.factories import PASSWORD, UserFactory
    from tests.p2p.factories import listed_loan

    investors = [UserFactory() for _ in range(INVESTORS)]
    for investor in investors:
        ledger.deposit_create(user=investor, amount="1000000.00")
    campaigns = [live_campaign(target="100000000.00", title=f"Load campaign {i}").pk for i in range(3)]
    loans = [listed_loan(amount="20000.00", term_months=6, rate_percent="20", grade="D").pk for _ in range(30)]
    borrowers = []
    for _ in range(5):
        loan = listed_loan(amount="1000.00", term_months=12, rate_percent="20", grade="D")
        for investor in investors[:10]:
            p2p.investment_create(user=investor, loan_id=loan.pk, amount="100.00")
        p2p.loan_disburse(loan_id=loan.pk)
        borrowers.append({"username": loan.borrower.members.first().username, "loan": loan.pk})
    return {
        "password": PASSWORD,
        "investors": [u.username for u in investors],
        "campaigns": campaigns,
        "loans": loans,
        "borrowers": borrowers,
    }


def run_locust(label, classes, seconds, host, data, out_dir) -> list[dict]:
    prefix = Path(out_dir) / label
    args = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench/load/locustfile.py"), "--headless", "--only-summary"]
    args += ["-u", str(USERS), "-r", str(USERS), "-t", f"{seconds}s", "--host", host, "--csv", str(prefix), *classes]
    subprocess.run(
        args, env={**os.environ, "LOAD_DATA": json.dumps(data)}, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    with open(f"{prefix}_stats.csv") as f:
        return list(csv.DictReader(f))


def print_phase(label, rows):
    print(f"\n== {label}")
    print(f"{'request':36} {'count':>7} {'errors':>6} {'rps':>7} {'p50 ms':>7} {'p99 ms':>7}")
    for row in rows:
        print(
            f"{row['Name'][:36]:36} {row['Request Count']:>7} {row['Failure Count']:>6} {float(row['Requests/s']):7.1f}"
            f" {row['50%']:>7} {row['99%']:>7}"
        )


def by_name(rows, name) -> dict:
    return next(row for row in rows if row["Name"] == name)


def profile_one_pledge(data) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    token = client.post(
        "/api/v1/auth/token/", {"username": data["investors"][0], "password": data["password"]}, content_type="application/json"
    ).json()["token"]
    url = f"/api/v1/campaigns/{data['campaigns'][0]}/pledges/"
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    for _ in range(3):  # warm
        client.post(url, {"amount": "10.00"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **headers)
    profiler = cProfile.Profile()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        profiler.enable()
        response = client.post(
            url, {"amount": "10.00"}, content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **headers
        )
        profiler.disable()
        took = time.perf_counter() - started
    sql_ms = 0.0
    print(
        f"\n== profile of one pledge request: {response.status_code}, {took * 1000:.1f} ms under the profiler, {len(queries)} SQL statements"
    )
    for query in queries.captured_queries:
        sql_ms += float(query["time"]) * 1000
        print(f"   {float(query['time']) * 1000:6.2f} ms  {query['sql'][:110]}")
    print(f"   SQL total {sql_ms:.1f} ms")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    print(out.getvalue())


def main() -> int:
    from tests.reliability.processes import (
        PrivateRedis,
        celery_beat,
        celery_worker,
        free_port,
        gunicorn,
        http_ready,
        process_env,
        wait_for,
        worker_ready,
    )

    with bench_database("load") as url:
        started = time.perf_counter()
        data = seed()
        print(
            f"seeded in {time.perf_counter() - started:.1f} s: {INVESTORS} investors, 3 campaigns, {len(data['loans'])} listed loans, 5 repaying borrowers"
        )
        redis = PrivateRedis()
        redis.start()
        os.environ["CELERY_BROKER_URL"] = redis.url  # Celery prefers this variable to any setting
        env = process_env(redis.url, DATABASE_URL=url, CONN_MAX_AGE=60, LOG_LEVEL="WARNING")
        env["DJANGO_SETTINGS_MODULE"] = "bench.load.settings"
        port = free_port()
        groups = [
            gunicorn(env, port=port, workers=4),
            celery_worker(env, name="load1"),
            celery_worker(env, name="load2"),
            celery_beat(env),
        ]
        try:
            if (
                wait_for(lambda: http_ready(port), timeout=60) is None
                or wait_for(lambda: worker_ready(redis.url, "load2"), timeout=60) is None
            ):
                print("gunicorn or the workers did not start")
                for group in groups:
                    print(group.output()[-3000:])
                return 1
            host = f"http://127.0.0.1:{port}"
            out_dir = tempfile.mkdtemp(prefix="load-")
            run_locust("warm-up", ["Investor", "Borrower"], 5, host, data, out_dir)  # every gunicorn worker loads its code
            mixed = run_locust("mixed", ["Investor", "Borrower"], SECONDS, host, data, out_dir)
            print_phase(f"scenario: {USERS} users, {SECONDS} s", mixed)
            pledges = run_locust("pledge", ["Pledger"], SAT_SECONDS, host, data, out_dir)
            print_phase(f"pledges only, one campaign: {USERS} users, {SAT_SECONDS} s", pledges)
            me = run_locust("me", ["Me"], SAT_SECONDS, host, data, out_dir)
            print_phase(f"GET /api/v1/me/ only: {USERS} users, {SAT_SECONDS} s", me)

            from django.db.models import Sum

            from p2p.models import Loan, LoanStatus
            from platform_core.ledger.checks import ledger_problems

            drained = wait_for(lambda: not Loan.objects.filter(status=LoanStatus.FUNDED).exists(), timeout=120, every=0.5)
            total = by_name(mixed, "Aggregated")
            pledge_rps = float(by_name(pledges, "POST pledge")["Requests/s"])
            me_rps = float(by_name(me, "GET /api/v1/me/")["Requests/s"])
            errors = sum(int(by_name(rows, "Aggregated")["Failure Count"]) for rows in (mixed, pledges, me))
            print("\n== summary")
            print(
                f"scenario: {float(total['Requests/s']):.1f} requests/s, p50 {total['50%']} ms, p99 {total['99%']} ms, {total['Failure Count']} errors of {total['Request Count']}"
            )
            print(
                f"pledges/s {pledge_rps:.1f} (p99 {by_name(pledges, 'POST pledge')['99%']} ms) vs GET /api/v1/me/ {me_rps:.1f}/s: ratio {pledge_rps / me_rps:.2f} (goal >= 0.5)"
            )
            print(f"errors in all phases: {errors}")
            print(
                f"filled loans disbursed by the workers: {'yes' if drained is not None else 'NO'}; active loans {Loan.objects.filter(status=LoanStatus.ACTIVE).count()}"
            )
            funded = Loan.objects.aggregate(s=Sum("funded_amount"))["s"]
            problems = ledger_problems()
            print(f"ledger_check: {'clean' if not problems else problems}; total funded {funded}")
            print(f"load average (1, 5, 15 min): {os.getloadavg()}")
            profile_one_pledge(data)
        finally:
            for group in groups:
                group.stop()
            redis.stop()
        return 0 if not problems and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
