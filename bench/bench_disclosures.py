"""One month's disclosure snapshot over a large P2P book against one hand-written SQL query computing
the same P2P items, in the same run, on the same data.

The book (scale = number of loans, `--loans`, default 1,000,000; 10 monthly installments each):
loans disbursed over the 24 months before the as-of instant to borrowers holding 5 loans each on
average, two notes per loan among 5,000 lenders. Installments due before the as-of instant are paid
(one repayment row per loan, made before the instant; every 50th loan's by a guarantor), except on
every 8th loan, whose installments of its last 1-150 days are unpaid; loans paid off are closed,
loans more than 120 days late written off.

Measured (best of 3 each):
- service: `platform_core.disclosures.services.snapshot_file` for the month, run for real once per
  round (recompute=True files a new version each time): the P2P statement (paid amounts from the
  repayments before the instant, applied oldest installment first), the crowdfunding and custody
  queries, canonical JSON, SHA-256, the insert and the alert check;
- baseline: one hand-written query computing the same P2P items from the installments' paid columns
  (right here, where no repayment came after the instant; the two are checked equal).
Ratio = service seconds / baseline seconds. Goal (the issue's): at most 1.5x. Also printed: the
process's peak RSS before and after the snapshots (the work happens in the database: it must stay flat).

    DJANGO_SETTINGS_MODULE=platform_core.settings.test .venv/bin/python bench/bench_disclosures.py --loans 100000
"""

import argparse
import datetime
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchdb import bench_database, result_line  # noqa: E402

TERM = 10
LENDERS = 5000
GOAL = 1.5
PERIOD = datetime.date(2026, 1, 1)

BASELINE = """
WITH l AS (
    SELECT id, borrower_id,
        (closed_at IS NULL OR closed_at >= %(as_of)s) AND (written_off_at IS NULL OR written_off_at >= %(as_of)s) AS is_open
    FROM p2p_loan WHERE entity_id = %(entity)s AND disbursed_at < %(as_of)s
), per_loan AS (
    SELECT l.id, l.borrower_id, l.is_open,
        SUM(i.principal_due) AS principal,
        SUM(i.principal_due - i.principal_paid) AS principal_left,
        SUM(i.interest_due - i.interest_paid) AS interest_left,
        SUM(i.principal_due + i.interest_due - i.principal_paid - i.interest_paid) FILTER (WHERE i.due_date < %(today)s) AS overdue,
        SUM(i.principal_due + i.interest_due - i.principal_paid - i.interest_paid)
            FILTER (WHERE i.due_date < %(today)s - 90) AS overdue_90
    FROM l JOIN p2p_installment i ON i.loan_id = l.id
    GROUP BY l.id, l.borrower_id, l.is_open
), per_borrower AS (
    SELECT borrower_id, SUM(principal_left) AS owed FROM per_loan WHERE is_open GROUP BY borrower_id
), notes AS (
    SELECT n.holder_id, n.holder_organisation_id, l.is_open FROM p2p_note n JOIN l ON l.id = n.loan_id
)
SELECT
    (SELECT SUM(principal) FROM per_loan), (SELECT COUNT(*) FROM per_loan),
    (SELECT SUM(principal_left) FROM per_loan WHERE is_open), (SELECT COUNT(*) FROM per_loan WHERE is_open),
    (SELECT SUM(interest_left) FROM per_loan WHERE is_open),
    (SELECT COUNT(DISTINCT holder_organisation_id) + COUNT(DISTINCT holder_id) FILTER (WHERE holder_organisation_id IS NULL) FROM notes),
    (SELECT COUNT(DISTINCT borrower_id) FROM per_loan),
    (SELECT COUNT(DISTINCT holder_organisation_id) + COUNT(DISTINCT holder_id) FILTER (WHERE holder_organisation_id IS NULL)
        FROM notes WHERE is_open),
    (SELECT COUNT(*) FROM per_borrower),
    (SELECT SUM(owed) FROM (SELECT owed FROM per_borrower ORDER BY owed DESC LIMIT 10) t),
    (SELECT MAX(owed) FROM per_borrower),
    (SELECT COALESCE(SUM(principal_left), 0) FROM per_loan
        WHERE is_open AND borrower_id IN (SELECT organisation_id FROM disclosures_relatedparty WHERE entity_id = %(entity)s)),
    (SELECT COUNT(*) FROM per_loan
        WHERE is_open AND borrower_id IN (SELECT organisation_id FROM disclosures_relatedparty WHERE entity_id = %(entity)s)),
    (SELECT SUM(overdue) FROM per_loan WHERE is_open), (SELECT COUNT(*) FROM per_loan WHERE is_open AND overdue > 0),
    (SELECT COALESCE(SUM(overdue_90), 0) FROM per_loan WHERE is_open), (SELECT COUNT(*) FROM per_loan WHERE is_open AND overdue_90 > 0),
    (SELECT COALESCE(SUM(r.amount), 0) FROM p2p_repayment r JOIN l ON l.id = r.loan_id WHERE r.is_compensatory AND r.created_at < %(as_of)s),
    (SELECT COUNT(*) FROM p2p_repayment r JOIN l ON l.id = r.loan_id WHERE r.is_compensatory AND r.created_at < %(as_of)s)
"""

BUILD = [
    # borrowers: 5 loans each on average
    """INSERT INTO accounts_organisation (legal_name, credit_code, kind, kyc_status, created_at)
       SELECT 'Bench borrower ' || g, 'B' || lpad(g::text, 17, '0'), 'sme', 'verified', now()
       FROM generate_series(1, %(borrowers)s) g""",
    """INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined,
                                  role, member_role, id_number, kyc_status)
       SELECT '!', false, 'bench-lender-' || g, '', '', '', false, true, now(), 'investor', '', '', 'verified'
       FROM generate_series(1, %(lenders)s) g""",
    """INSERT INTO ledger_account (key, name, purpose, currency, owner_user_id, balance, allow_negative, created_at)
       SELECT 'wallet:user:' || id || ':CNY', 'Wallet', 'wallet', 'CNY', id, 0, false, now()
       FROM accounts_user WHERE username LIKE 'bench-lender-%%'""",
    # loans: 10 x 1,000.00 principal, 10.00 interest a month; disbursed over the 24 months before the instant
    """INSERT INTO p2p_loan (entity_id, borrower_id, created_by_id, amount, currency, term_months, annual_rate, method, purpose,
                             grade, status, rejection_reason, funded_amount, investor_count, disbursed_at, origination_fee,
                             principal_outstanding, created_at, updated_at)
       SELECT %(entity)s, (SELECT min(id) FROM accounts_organisation) + (g * 7919) %% %(borrowers)s, %(creator)s,
              10000.00, 'CNY', 10, 0.12, 'equal_principal', 'Bench', 'C', 'active', '', 10000.00, 2,
              %(as_of)s - make_interval(days => 1 + (g * 37) %% 720), 0, 10000.00, now(), now()
       FROM generate_series(1, %(loans)s) g""",
    """INSERT INTO p2p_installment (loan_id, number, due_date, principal_due, interest_due, fee_due, penalty_due, principal_paid,
                                    interest_paid, fee_paid, penalty_paid, status)
       SELECT l.id, k, (l.disbursed_at AT TIME ZONE 'Asia/Shanghai')::date + make_interval(months => k), 1000.00, 10.00,
              0, 0, 0, 0, 0, 0, 'pending'
       FROM p2p_loan l CROSS JOIN generate_series(1, 10) k""",
    # paid: due before the business date, unless the loan is one of every 8th and the installment is within its late days
    """UPDATE p2p_installment i SET principal_paid = 1000.00, interest_paid = 10.00, status = 'paid', paid_at = i.due_date::timestamptz
       WHERE i.due_date < %(today)s
         AND NOT (i.loan_id %% 8 = 0 AND i.due_date >= %(today)s - (1 + (i.loan_id * 7919) %% 150)::int)""",
    """INSERT INTO ledger_transaction (kind, memo, reference, created_at) VALUES ('bench_repayments', '', 'bench', %(long_ago)s)""",
    """INSERT INTO p2p_repayment (loan_id, source, payer_wallet_id, amount, penalty_part, fee_part, interest_part, principal_part,
                                  service_fee, is_compensatory, transaction_id, created_at)
       SELECT i.loan_id, CASE WHEN i.loan_id %% 50 = 0 THEN 'guarantor' ELSE 'borrower' END,
              (SELECT min(id) FROM ledger_account), SUM(1010.00), 0, 0, SUM(10.00), SUM(1000.00), 0, i.loan_id %% 50 = 0,
              (SELECT id FROM ledger_transaction WHERE reference = 'bench'), MAX(i.paid_at)
       FROM p2p_installment i WHERE i.status = 'paid' GROUP BY i.loan_id""",
    """UPDATE p2p_loan l SET status = 'repaid', closed_at = s.last_paid, principal_outstanding = 0
       FROM (SELECT loan_id, MAX(paid_at) AS last_paid FROM p2p_installment GROUP BY loan_id HAVING bool_and(status = 'paid')) s
       WHERE s.loan_id = l.id""",
    """UPDATE p2p_loan l SET status = 'written_off', written_off_at = %(as_of)s - interval '3 days'
       FROM (SELECT loan_id FROM p2p_installment WHERE status = 'pending' GROUP BY loan_id HAVING MIN(due_date) < %(today)s - 120) s
       WHERE s.loan_id = l.id""",
    """INSERT INTO p2p_investment (loan_id, investor_id, wallet_id, amount, status, created_at)
       SELECT l.id, u.id, a.id, 5000.00, 'issued', now()
       FROM p2p_loan l CROSS JOIN generate_series(0, 1) k
       CROSS JOIN (SELECT min(id) AS first FROM accounts_user WHERE username LIKE 'bench-lender-%%') f
       JOIN accounts_user u ON u.id = f.first + (l.id * 31 + k * 17) %% %(lenders)s
       JOIN ledger_account a ON a.owner_user_id = u.id""",
    """INSERT INTO p2p_note (loan_id, investment_id, holder_id, wallet_id, principal, principal_outstanding, received_principal,
                             received_interest, fees_paid, created_at)
       SELECT loan_id, id, investor_id, wallet_id, amount, amount, 0, 0, 0, now() FROM p2p_investment""",
]


def build(loans: int, as_of: datetime.datetime, today: datetime.date) -> float:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from platform_core.accounts.models import MemberRole, Organisation, Role, User
    from platform_core.accounts.services import entity_default

    started = time.perf_counter()
    with transaction.atomic():
        entity = entity_default()
        org = Organisation.objects.create(legal_name="Bench creator", credit_code="BCREATOR0000000000", kind="sme")
        creator = User.objects.create(
            username="bench-sme", role=Role.SME, organisation=org, member_role=MemberRole.OWNER, password=make_password(None)
        )
        params = {
            "entity": entity.pk,
            "creator": creator.pk,
            "loans": loans,
            "borrowers": max(loans // 5, 1),
            "lenders": LENDERS,
            "as_of": as_of,
            "today": today,
            "long_ago": as_of - datetime.timedelta(days=800),
        }
        with connection.cursor() as cursor:
            for statement in BUILD:
                cursor.execute(statement, params)
    with connection.cursor() as cursor:
        for table in ("p2p_loan", "p2p_installment", "p2p_repayment", "p2p_note", "accounts_organisation"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=1_000_000, help="scale: number of loans (10 installments each)")
    args = parser.parse_args()
    with bench_database("disclosures"):
        from django.db import connection
        from django.utils import timezone

        from platform_core.accounts.services import entity_default
        from platform_core.disclosures.items import P2P_FIELDS, business_date_of, p2p_figures, period_as_of
        from platform_core.disclosures.services import snapshot_file

        as_of = period_as_of(PERIOD)
        today = business_date_of(as_of)
        built = build(args.loans, as_of, today)
        entity = entity_default()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM p2p_installment")
            installments = cursor.fetchone()[0]
        print(f"book: {args.loans:,} loans, {installments:,} installments built in {built:.1f} s", flush=True)

        rss_before = peak_rss_mb()
        baseline_times, service_times, figures_times = [], [], []
        baseline_row = None
        for _round in range(3):
            with connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(BASELINE, {"entity": entity.pk, "as_of": as_of, "today": today})
                baseline_row = cursor.fetchone()
                baseline_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            snapshot, _filed = snapshot_file(entity=entity, period=PERIOD, recompute=True, reason="bench", now=timezone.now())
            service_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            p2p_figures(entity.pk, as_of)
            figures_times.append(time.perf_counter() - started)
        rss_after = peak_rss_mb()

        expected = dict(zip(P2P_FIELDS, baseline_row, strict=True))
        items = {k: v["value"] for k, v in snapshot.items.items()}
        checks = {
            "p2p.cumulative_loan_count": expected["cumulative_loan_count"],
            "p2p.outstanding_count": expected["outstanding_count"],
            "p2p.outstanding_principal": str(expected["outstanding_principal"] or Decimal("0.00")),
            "p2p.overdue_amount": str(expected["overdue_amount"] or Decimal("0.00")),
            "p2p.overdue_count": expected["overdue_count"],
            "p2p.overdue_90_amount": str(expected["overdue_90_amount"]),
            "p2p.overdue_90_count": expected["overdue_90_count"],
            "p2p.current_lenders": expected["current_lenders"],
            "p2p.cumulative_borrowers": expected["cumulative_borrowers"],
            "p2p.compensatory_count": expected["compensatory_count"],
        }
        wrong = {k: (items[k], v) for k, v in checks.items() if items[k] != v}
        if wrong:
            raise RuntimeError(f"the snapshot and the hand-written query disagree: {wrong}")
        service, base, figures = min(service_times), min(baseline_times), min(figures_times)
        print(
            f"as of {as_of.isoformat()}: outstanding {items['p2p.outstanding_count']:,} loans / {items['p2p.outstanding_principal']}, "
            f"overdue {items['p2p.overdue_count']:,} / {items['p2p.overdue_amount']}, over 90 days {items['p2p.overdue_90_count']:,}"
        )
        print(f"snapshot_file {service:.2f} s (P2P statement alone {figures:.2f} s), hand-written query {base:.2f} s")
        print(f"peak RSS {rss_before:.0f} MB before the snapshots, {rss_after:.0f} MB after")
        ratio = service / base
        print(
            result_line(
                name="disclosures_snapshot",
                value=service,
                baseline=base,
                ratio=ratio,
                goal=f"<={GOAL}x",
                passed=ratio <= GOAL,
                unit="s",
                extra=f"loans={args.loans} installments={installments} rss_mb={rss_after:.0f}",
            )
        )


if __name__ == "__main__":
    main()
