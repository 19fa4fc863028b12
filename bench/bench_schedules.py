"""Repayment schedules per second: `p2p.schedules.schedule_generate` against a naive float loop.

100,000 loans (BENCH_SCHEDULES), drawn once with a fixed seed: the three methods, terms 1-36 months,
annual rates 0-36% with up to 6 decimals of a fraction, principals 1,000.00-1,000,000.00, start dates
over three years. Each is turned into its schedule by `schedule_generate` (exact rational arithmetic,
HALF_EVEN to the cent, residue in the last installment) and, as the baseline, by a naive amortisation
loop written here with floats and round(x, 2) (the same due dates, the same residue rule).
Ratio = schedules/s of the service / schedules/s of the naive loop. Informative only: no goal. Also
printed: per-method rates, and in how many of the first 20,000 schedules the naive float loop gets
some amount wrong by at least a cent (what the exact arithmetic buys).

Pure Python: no database.

    DJANGO_SETTINGS_MODULE=platform_core.settings.test .venv/bin/python bench/bench_schedules.py

Env: BENCH_SCHEDULES (default 100000), BENCH_SEED (default 20250615).
"""

import calendar
import datetime
import os
import random
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchdb import result_line  # noqa: E402

from p2p.schedules import EQUAL_INSTALLMENTS, EQUAL_PRINCIPAL, INTEREST_ONLY, METHODS, schedule_generate  # noqa: E402

COUNT = int(os.environ.get("BENCH_SCHEDULES", "100000"))
SEED = int(os.environ.get("BENCH_SEED", "20250615"))


def loans(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    first = datetime.date(2024, 1, 1).toordinal()
    return [
        {
            "principal": Decimal(rng.randint(100_000, 100_000_000)) / 100,
            "annual_rate": Decimal(rng.randint(0, 360_000)) / 1_000_000,
            "periods": rng.randint(1, 36),
            "method": rng.choice(METHODS),
            "start_date": datetime.date.fromordinal(first + rng.randint(0, 3 * 365)),
        }
        for _ in range(count)
    ]


def naive_schedule(principal: float, annual_rate: float, periods: int, method: str, start: datetime.date) -> list[tuple]:
    """The textbook loop with floats: round(x, 2) each period, what is left in the last principal."""
    rate = annual_rate / 12
    if method == EQUAL_INSTALLMENTS:
        level = round(principal / periods if rate == 0 else principal * rate / (1 - (1 + rate) ** -periods), 2)
    elif method == EQUAL_PRINCIPAL:
        level = round(principal / periods, 2)
    else:
        level = 0.0
    rows, balance = [], principal
    for number in range(1, periods + 1):
        interest = round(balance * rate, 2)
        if number == periods:
            part = round(balance, 2)
        elif method == EQUAL_INSTALLMENTS:
            part = round(level - interest, 2)
        else:
            part = level
        balance = balance - part
        index = start.month - 1 + number
        year, month = start.year + index // 12, index % 12 + 1
        due = datetime.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
        rows.append((number, due, part, interest))
    return rows


def timed(generate, calls: list, methods: list[str]) -> tuple[float, dict[str, float]]:
    """Total seconds of generate(*call) over all calls, and seconds per method. Results are dropped
    at once, as a caller that stores them would (keeping 1.8M rows alive would time the GC instead)."""
    per_method: dict[str, float] = defaultdict(float)
    clock = time.perf_counter
    started = clock()
    for args, method in zip(calls, methods, strict=True):
        t = clock()
        generate(*args)
        per_method[method] += clock() - t
    return clock() - started, per_method


def main() -> int:
    inputs = loans(COUNT, SEED)
    methods = [x["method"] for x in inputs]
    exact_calls = [(x,) for x in inputs]
    naive_calls = [(float(x["principal"]), float(x["annual_rate"]), x["periods"], x["method"], x["start_date"]) for x in inputs]
    installments = sum(x["periods"] for x in inputs)
    by_method = Counter(methods)
    periods_by_method = Counter()
    for x in inputs:
        periods_by_method[x["method"]] += x["periods"]
    print(f"{COUNT} loans, {installments} installments; methods {dict(by_method)}", flush=True)

    service_s, service_by_method = timed(lambda x: schedule_generate(**x), exact_calls, methods)
    naive_s, naive_by_method = timed(naive_schedule, naive_calls, methods)
    service_rate, naive_rate = COUNT / service_s, COUNT / naive_s
    per_installment = service_s / installments * 1e6
    print(f"schedule_generate: {service_s:.2f}s, {service_rate:.0f} schedules/s ({per_installment:.1f} us per installment)")
    naive_per_installment = naive_s / installments * 1e6
    print(f"naive float loop:  {naive_s:.2f}s, {naive_rate:.0f} schedules/s ({naive_per_installment:.1f} us per installment)")
    for method in (EQUAL_INSTALLMENTS, EQUAL_PRINCIPAL, INTEREST_ONLY):
        rate = by_method[method] / service_by_method[method]
        per = service_by_method[method] / periods_by_method[method] * 1e6
        print(
            f"    {method:<20} {rate:7.0f} schedules/s ({per:.1f} us per installment), naive "
            f"{by_method[method] / naive_by_method[method]:7.0f} schedules/s"
        )

    sample = min(COUNT, 20000)
    cent = Decimal("0.01")
    wrong = 0
    for x, args in zip(inputs[:sample], naive_calls[:sample], strict=True):
        exact, naive = schedule_generate(**x), naive_schedule(*args)
        wrong += any(
            Decimal(repr(p)).quantize(cent) != e.principal or Decimal(repr(i)).quantize(cent) != e.interest or d != e.due_date
            for (_, d, p, i), e in zip(naive, exact, strict=True)
        )
    print(f"the naive loop is off by a cent or more somewhere in {wrong} of {sample} schedules ({wrong / sample:.2%})")
    print(
        result_line(
            name="schedules_per_second",
            value=service_rate,
            baseline=naive_rate,
            ratio=service_rate / naive_rate,
            goal="none(informative)",
            passed=True,
            extra=f"schedules={COUNT} installments={installments} naive_wrong={wrong}/{sample}",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
