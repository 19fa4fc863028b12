"""The supply-chain items of one month's disclosure snapshot over a large book: `scf_figures` (two
aggregate statements: per anchor; per funder and debtor) against one hand-written query computing the
same per-anchor figures in the same run, and the process's peak memory (flat: the work is the
database's).

The book (built with set-based INSERTs): 200 anchors, one funder, one payables programme per anchor,
BENCH_SCF_FINANCINGS funded financings (default 200,000) each on its own confirmed invoice, funded
over six months before the instant, due 30-120 days after funding; a third paid at maturity, the rest
outstanding (so overdue in every band).

    DJANGO_SETTINGS_MODULE=platform_core.settings.test .venv/bin/python bench/bench_disclosures_scf.py
"""

import datetime
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchdb import bench_database, result_line  # noqa: E402

FINANCINGS = int(os.environ.get("BENCH_SCF_FINANCINGS", "200000"))
ANCHORS = 200
PERIOD = datetime.date(2026, 6, 1)
GOAL = 1.5

BUILD = [
    """INSERT INTO accounts_organisation (legal_name, credit_code, kind, kyc_status, created_at)
       SELECT 'Bench anchor ' || n, 'BA' || lpad(n::text, 16, '0'), 'core_enterprise', 'verified', now()
       FROM generate_series(1, %(anchors)s) n""",
    """INSERT INTO accounts_organisation (legal_name, credit_code, kind, kyc_status, created_at)
       VALUES ('Bench funder', 'BF0000000000000001', 'funder', 'verified', now()),
              ('Bench supplier', 'BS0000000000000001', 'sme', 'verified', now())""",
    """INSERT INTO supplychain_funderprofile (organisation_id, risk_assets, updated_at)
       SELECT id, 100000000000.00, now() FROM accounts_organisation WHERE credit_code = 'BF0000000000000001'""",
    """INSERT INTO supplychain_programme (entity_id, name, funder_id, anchor_id, product, currency, anchor_limit,
           supplier_sublimit, utilised, advance_rate, annual_rate, day_basis, fee_rate, recourse, related_party,
           max_tenor_days, grace_days, active, created_at)
       SELECT %(entity)s, 'Bench ' || a.legal_name, f.id, a.id, 'payables_finance', 'CNY', 1000000000.00, 1000000000.00, 0,
           1, 0.06, 360, 0, true, false, 180, 5, true, now()
       FROM accounts_organisation a, accounts_organisation f
       WHERE a.credit_code LIKE 'BA%%' AND f.credit_code = 'BF0000000000000001'""",
    """CREATE TEMP TABLE bench_book AS
       SELECT n, p.id AS programme_id, p.anchor_id, p.funder_id,
           (%(as_of)s::timestamptz - ((n %% 180) || ' days')::interval - interval '2 hours') AS funded_at,
           (1000 + (n %% 97) * 100)::numeric(20, 2) AS face
       FROM generate_series(1, %(financings)s) n
       JOIN supplychain_programme p ON p.anchor_id = (SELECT min(id) FROM accounts_organisation WHERE credit_code LIKE 'BA%%')
           + (n %% %(anchors)s)""",
    """INSERT INTO supplychain_invoice (supplier_id, anchor_id, created_by_id, number, issue_date, due_date, face_amount,
           currency, dilution_amount, fingerprint, status, status_reason, confirmed_at, paid_at, created_at, updated_at)
       SELECT s.id, b.anchor_id, %(user)s, 'B-' || b.n, b.funded_at::date - 10,
           b.funded_at::date + 30 + (b.n %% 91), b.face, 'CNY', 0, md5('bench' || b.n) || md5('book' || b.n),
           CASE WHEN b.n %% 3 = 0 THEN 'paid' ELSE 'financed' END, '', b.funded_at - interval '1 day',
           CASE WHEN b.n %% 3 = 0 THEN b.funded_at + ((30 + (b.n %% 91)) || ' days')::interval END, now(), now()
       FROM bench_book b, accounts_organisation s WHERE s.credit_code = 'BS0000000000000001'""",
    """INSERT INTO supplychain_financing (programme_id, funder_id, debtor_id, requester_id, invoice_id, created_by_id,
           amount, currency, advance_rate, annual_rate, day_basis, fee_rate, recourse, due_date, funding_date, days,
           advance, discount, fee, net_amount, status, status_reason, expires_at, funded_at, paid_at, collected,
           reserve_paid, recourse_claim, loss, created_at, updated_at)
       SELECT b.programme_id, b.funder_id, b.anchor_id, i.supplier_id, i.id, %(user)s, b.face, 'CNY', 1, 0.06, 360, 0, true,
           i.due_date, b.funded_at::date, i.due_date - b.funded_at::date, b.face, 0, 0, b.face,
           CASE WHEN i.paid_at IS NULL THEN 'funded' ELSE 'paid' END, '', b.funded_at + interval '5 days', b.funded_at,
           i.paid_at, CASE WHEN i.paid_at IS NULL THEN 0 ELSE b.face END, 0, 0, 0, now(), now()
       FROM bench_book b JOIN supplychain_invoice i ON i.number = 'B-' || b.n""",
]

#: The same figures written by hand for this book: per anchor what was financed, outstanding, overdue and
#: over 90 days; per anchor what is confirmed and unpaid (less dilution); per funder and debtor the
#: exposure. Three statements, as the service's two cover the same ground.
BASELINE = [
    """
SELECT f.debtor_id,
    SUM(f.advance),
    SUM(CASE WHEN f.paid_at IS NULL OR f.paid_at >= %(as_of)s THEN f.advance ELSE 0 END),
    SUM(CASE WHEN (f.paid_at IS NULL OR f.paid_at >= %(as_of)s) AND f.due_date < %(today)s THEN f.advance ELSE 0 END),
    SUM(CASE WHEN (f.paid_at IS NULL OR f.paid_at >= %(as_of)s) AND f.due_date < %(today)s - 90 THEN f.advance ELSE 0 END)
FROM supplychain_financing f JOIN supplychain_programme p ON p.id = f.programme_id
WHERE p.entity_id = %(entity)s AND f.funded_at < %(as_of)s
GROUP BY f.debtor_id
""",
    """
SELECT i.anchor_id, SUM(i.face_amount - COALESCE(d.amount, 0))
FROM supplychain_invoice i
LEFT JOIN (SELECT invoice_id, SUM(amount) AS amount FROM supplychain_dilution WHERE created_at < %(as_of)s
    GROUP BY invoice_id) d ON d.invoice_id = i.id
WHERE i.anchor_id IN (SELECT anchor_id FROM supplychain_programme WHERE entity_id = %(entity)s)
  AND i.confirmed_at < %(as_of)s AND (i.paid_at IS NULL OR i.paid_at >= %(as_of)s)
GROUP BY i.anchor_id
""",
    """
SELECT f.funder_id, f.debtor_id, SUM(f.amount) FROM supplychain_financing f
WHERE f.funded_at < %(as_of)s AND (f.paid_at IS NULL OR f.paid_at >= %(as_of)s)
  AND (f.funder_id, f.debtor_id) IN (SELECT funder_id, anchor_id FROM supplychain_programme WHERE entity_id = %(entity)s)
GROUP BY f.funder_id, f.debtor_id
""",
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    with bench_database("disclosures_scf"):
        from decimal import Decimal

        from django.db import connection

        from platform_core.accounts.services import entity_default
        from platform_core.disclosures.items import business_date_of, period_as_of, scf_figures
        from tests.factories import StaffUserFactory

        entity = entity_default()
        user = StaffUserFactory(role="operator")
        as_of = period_as_of(PERIOD)
        today = business_date_of(as_of)
        params = {"entity": entity.pk, "anchors": ANCHORS, "financings": FINANCINGS, "as_of": as_of, "user": user.pk}
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for statement in BUILD:
                cursor.execute(statement, params)
            for table in ("supplychain_invoice", "supplychain_financing", "supplychain_dilution", "supplychain_programme"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        print(f"book: {FINANCINGS:,} financings on {ANCHORS} anchors built in {time.perf_counter() - started:.1f} s", flush=True)

        rss_before = peak_rss_mb()
        service_times, baseline_times = [], []
        for _round in range(3):
            started = time.perf_counter()
            items = scf_figures(entity.pk, as_of)
            service_times.append(time.perf_counter() - started)
            with connection.cursor() as cursor:
                started = time.perf_counter()
                results = []
                for statement in BASELINE:
                    cursor.execute(statement, {"entity": entity.pk, "as_of": as_of, "today": today})
                    results.append(cursor.fetchall())
                baseline_times.append(time.perf_counter() - started)
            rows = results[0]
        rss_after = peak_rss_mb()

        outstanding = sum((row[2] for row in rows), Decimal("0.00"))
        over_90 = sum((row[4] for row in rows), Decimal("0.00"))
        if (items["scf.outstanding_amount"], items["scf.overdue_over_90_amount"]) != (str(outstanding), str(over_90)):
            raise RuntimeError(
                f"the items and the hand-written query disagree: {items['scf.outstanding_amount']} vs {outstanding}"
            )
        service, base = min(service_times), min(baseline_times)
        print(
            f"as of {as_of.isoformat()}: outstanding {items['scf.outstanding_count']:,} / {items['scf.outstanding_amount']}, "
            f"overdue {items['scf.overdue_count']:,} / {items['scf.overdue_amount']}"
        )
        print(f"scf_figures {service:.3f} s, hand-written queries {base:.3f} s")
        print(f"peak RSS {rss_before:.0f} MB before, {rss_after:.0f} MB after")
        ratio = service / base
        print(
            result_line(
                name="disclosures_scf_items",
                value=service,
                baseline=base,
                ratio=ratio,
                goal=f"<={GOAL}x",
                passed=ratio <= GOAL,
                unit="s",
                extra=f"financings={FINANCINGS} rss_mb={rss_after:.0f}",
            )
        )


if __name__ == "__main__":
    main()
