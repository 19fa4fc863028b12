"""16 concurrent financing requests against ONE anchor's limit: `supplychain.services.financing_request`
against raw SQL doing the same conditional updates and inserts.

Each of BENCH_CLIENTS suppliers (its own process and connection by default, as gunicorn workers)
asks for financing of its next confirmed invoice, in a loop, for BENCH_SECONDS. Every request takes
its amount of the three limits (the anchor's limit on the programme: the row every request waits
for; the supplier's sub-limit; the funder's exposure to the anchor against its risk assets). The
anchor's limit is set so that it runs out during the run: refusals (`anchor_limit_exceeded`) are
counted apart, and afterwards the programme's utilisation must equal the sum of the financings
requested and never exceed the limit.
Baseline, same clients and time, on a twin programme: one transaction per request with the three
conditional `UPDATE`s (row count checked), the `INSERT` of the financing with its price and of its
audit row. Ratio = service / raw requests per second. Goal: at least 0.5.

    DJANGO_SETTINGS_MODULE=platform_core.settings.test .venv/bin/python bench/bench_scf_requests.py

Env: BENCH_SECONDS (default 10), BENCH_CLIENTS (16), BENCH_MODE (process | thread), BENCH_WARMUP (1), BENCH_LIMIT.
"""

import datetime
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_SECONDS", "10")
from _benchdb import bench_database, result_line  # noqa: E402
from bench_hot_campaign import CLIENTS, SECONDS, WARMUP, run_clients  # noqa: E402

GOAL = 0.5
FACE = Decimal("1000.00")
PER_CLIENT = 3000  # invoices per client and world: more than one client gets through in a run
LIMIT = Decimal(os.environ.get("BENCH_LIMIT", "400000000.00"))  # the anchor's limit (default: never reached)

RAW_PROGRAMME = """UPDATE supplychain_programme SET utilised = utilised + %(amount)s
 WHERE id = %(programme)s AND active AND utilised + %(amount)s <= anchor_limit"""
RAW_SUPPLIER = """UPDATE supplychain_supplierlimit SET utilised = utilised + %(amount)s
 WHERE programme_id = %(programme)s AND supplier_id = %(supplier)s AND utilised + %(amount)s <= sub_limit"""
RAW_EXPOSURE = """UPDATE supplychain_funderexposure SET amount = amount + %(amount)s
 WHERE funder_id = %(funder)s AND debtor_id = %(debtor)s
   AND amount + %(amount)s <= (SELECT risk_assets FROM supplychain_funderprofile WHERE organisation_id = %(funder)s) * 0.5"""
RAW_FINANCING = """INSERT INTO supplychain_financing (programme_id, funder_id, debtor_id, requester_id, invoice_id, created_by_id,
    amount, currency, advance_rate, annual_rate, day_basis, fee_rate, recourse, due_date, funding_date, days, advance, discount,
    fee, net_amount, status, status_reason, expires_at, collected, reserve_paid, recourse_claim, loss, created_at, updated_at)
 VALUES (%(programme)s, %(funder)s, %(debtor)s, %(supplier)s, %(invoice)s, %(user)s, %(amount)s, 'CNY', 1, 0.06, 360, 0.002, true,
    %(due)s, %(today)s, %(days)s, %(amount)s, %(discount)s, %(fee)s, %(net)s, 'requested', '', now() + interval '5 days',
    0, 0, 0, 0, now(), now()) RETURNING id"""
RAW_AUDIT = """INSERT INTO platform_core_auditevent (content_type_id, object_id, action, from_value, to_value, actor_id, note, data, created_at)
 VALUES (%(ct)s, %(financing)s, 'requested', '', 'requested', %(user)s, '', '{}', now())"""


class Refused(Exception):
    code = "anchor_limit_exceeded"


def _stack(ids):
    """A client's invoices, the first on top (made in the client's own process or thread)."""
    return lambda: list(reversed(ids))


def build() -> dict:
    from django.db import connection

    from platform_core.accounts.models import OrganisationKind
    from supplychain import services
    from supplychain.models import business_date
    from tests.factories import StaffUserFactory
    from tests.supplychain.factories import member

    operator = StaffUserFactory(role="operator")
    funder = member(OrganisationKind.FUNDER)
    services.funder_risk_assets_declare(user=funder, risk_assets="900000000.00")
    suppliers = [member(OrganisationKind.SME) for _ in range(CLIENTS)]
    today = business_date()
    worlds = {}
    for label in ("service", "raw"):
        anchor = member(OrganisationKind.CORE_ENTERPRISE)
        programme = services.programme_create(
            actor=operator,
            name=f"Bench {label}",
            funder_id=funder.organisation_id,
            anchor_id=anchor.organisation_id,
            product="payables_finance",
            anchor_limit=str(LIMIT),
            supplier_sublimit=str(LIMIT),
            annual_rate="0.06",
            fee_rate="0.002",
        )
        services.limits_use(
            programme=programme, supplier_id=suppliers[0].organisation_id, amount=Decimal("0.01")
        )  # the rows exist
        services.limits_release(
            programme_id=programme.pk,
            funder_id=funder.organisation_id,
            debtor_id=anchor.organisation_id,
            supplier_id=suppliers[0].organisation_id,
            amount=Decimal("0.01"),
        )
        for s in suppliers[1:]:
            services.limits_use(programme=programme, supplier_id=s.organisation_id, amount=Decimal("0.01"))
            services.limits_release(
                programme_id=programme.pk,
                funder_id=funder.organisation_id,
                debtor_id=anchor.organisation_id,
                supplier_id=s.organisation_id,
                amount=Decimal("0.01"),
            )
        invoices = {}
        with connection.cursor() as cursor:
            for s in suppliers:
                cursor.execute(
                    """INSERT INTO supplychain_invoice (supplier_id, anchor_id, created_by_id, number, issue_date, due_date, face_amount,
                              currency, dilution_amount, fingerprint, status, status_reason, confirmed_at, created_at, updated_at)
                       SELECT %(supplier)s, %(anchor)s, %(user)s, %(label)s || '-' || k, %(issued)s, %(due)s, %(face)s, 'CNY', 0,
                              encode(sha256((%(label)s || ':' || %(supplier)s || ':' || k)::bytea), 'hex'), 'confirmed', '', now(), now(), now()
                         FROM generate_series(1, %(n)s) AS k RETURNING id""",
                    {
                        "supplier": s.organisation_id,
                        "anchor": anchor.organisation_id,
                        "user": s.pk,
                        "label": label,
                        "issued": today - datetime.timedelta(days=10),
                        "due": today + datetime.timedelta(days=60),
                        "face": FACE,
                        "n": PER_CLIENT,
                    },
                )
                invoices[s.pk] = [row[0] for row in cursor.fetchall()]
        worlds[label] = {"programme": programme, "anchor": anchor, "invoices": invoices}
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE supplychain_invoice")
    return {"funder": funder, "suppliers": suppliers, "worlds": worlds, "today": today}


def check(programme) -> tuple[bool, str]:
    from django.db.models import Count, Sum

    from supplychain.models import Financing, FunderExposure, SupplierLimit

    programme.refresh_from_db()
    agg = Financing.objects.filter(programme=programme).aggregate(n=Count("pk"), s=Sum("amount"))
    total = agg["s"] or Decimal("0")
    suppliers = SupplierLimit.objects.filter(programme=programme).aggregate(s=Sum("utilised"))["s"]
    exposure = FunderExposure.objects.get(funder=programme.funder, debtor=programme.anchor).amount
    ok = programme.utilised == total == suppliers == exposure and programme.utilised <= programme.anchor_limit
    return ok, f"financings={agg['n']} utilised={programme.utilised} limit={programme.anchor_limit}"


def main() -> int:
    with bench_database("scf_requests"):
        from django.contrib.contenttypes.models import ContentType
        from django.db import connection, transaction

        from platform_core.errors import ApplicationError
        from platform_core.ledger.checks import ledger_problems
        from supplychain import services
        from supplychain.models import Financing

        t0 = time.monotonic()
        built = build()
        print(
            f"built 2 programmes, {CLIENTS} suppliers with {PER_CLIENT} confirmed invoices each, in {time.monotonic() - t0:.1f}s"
        )
        funder_id = built["funder"].organisation_id
        today = built["today"]
        ct = ContentType.objects.get_for_model(Financing).pk
        service_world, raw_world = built["worlds"]["service"], built["worlds"]["raw"]
        connection.close()

        def service_work(client, state):
            invoice = state.pop()
            try:
                services.financing_request(user=client["user"], programme_id=service_world["programme"].pk, invoice_id=invoice)
            except ApplicationError as exc:
                if exc.code == "anchor_limit_exceeded":
                    raise Refused from None
                raise

        def raw_work(client, state):
            invoice = state.pop()
            due = today + datetime.timedelta(days=60)
            days = (due - today).days
            discount = (FACE * Decimal("0.06") * days / 360).quantize(Decimal("0.01"))
            fee = (FACE * Decimal("0.002")).quantize(Decimal("0.01"))
            params = {
                "amount": FACE,
                "programme": raw_world["programme"].pk,
                "supplier": client["user"].organisation_id,
                "funder": funder_id,
                "debtor": raw_world["anchor"].organisation_id,
                "invoice": invoice,
                "user": client["user"].pk,
                "due": due,
                "today": today,
                "days": days,
                "discount": discount,
                "fee": fee,
                "net": FACE - discount - fee,
                "ct": ct,
            }
            with transaction.atomic(), connection.cursor() as cursor:
                for sql in (RAW_PROGRAMME, RAW_SUPPLIER, RAW_EXPOSURE):
                    cursor.execute(sql, params)
                    if cursor.rowcount != 1:
                        raise Refused
                cursor.execute(RAW_FINANCING, params)
                params["financing"] = str(cursor.fetchone()[0])
                cursor.execute(RAW_AUDIT, params)

        def clients(world):
            return [{"user": u, "prepare": _stack(world["invoices"][u.pk])} for u in built["suppliers"]]

        if WARMUP > 0:  # warm on the raw world's first invoices: counted in its utilisation, checked below
            run_clients("warm-raw", raw_work, clients(raw_world), WARMUP)
        raw_n, raw_s, raw_errors = run_clients("raw", raw_work, clients(raw_world), SECONDS)
        svc_n, svc_s, svc_errors = run_clients("service", service_work, clients(service_world), SECONDS)
        raw_rate, svc_rate = raw_n / raw_s, svc_n / svc_s
        print(f"raw SQL:  {raw_n} requests in {raw_s:g}s = {raw_rate:.1f}/s, refused {dict(raw_errors) or 'none'}")
        print(f"service:  {svc_n} requests in {svc_s:g}s = {svc_rate:.1f}/s, refused {dict(svc_errors) or 'none'}")
        consistent = True
        for label in ("service", "raw"):
            ok, detail = check(built["worlds"][label]["programme"])
            consistent &= ok
            print(f"{label}: utilisation = sum of the financings, within the limit: {ok} ({detail})")
        problems = ledger_problems()
        connection.close()

    unexpected = {k: v for k, v in {**svc_errors, **raw_errors}.items() if k != "anchor_limit_exceeded"}
    ratio = svc_rate / raw_rate if raw_rate else 0.0
    print(
        result_line(
            name="scf_financing_requests_per_s",
            value=svc_rate,
            baseline=raw_rate,
            ratio=ratio,
            goal=f">={GOAL}",
            passed=ratio >= GOAL and consistent and not problems and not unexpected,
            extra=f"clients={CLIENTS} seconds={SECONDS:g} limits_hold={consistent} unexpected_errors={unexpected or 'none'}",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
