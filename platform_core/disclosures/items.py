"""The disclosure items, their definitions and how each is computed (DOMAIN.md sections 1, 3 and 4).

Every figure is computed in the database as of an instant `as_of` (aggregate queries over the whole
book; nothing loops over loans in Python). The business date of `as_of` is its calendar day in the
platform's time zone: an installment is overdue when it fell due before that day and was not paid
by `as_of`. What was paid by `as_of` is read from the repayments made before it (penalties and fees
apart), applied to each loan's installments oldest first, so a snapshot of a past instant is the same
whenever it is computed.

Values are JSON: amounts and rates as decimal strings (amounts to the cent, rates to 4 places,
HALF_EVEN), counts as integers; a rate whose denominator is zero is null.
"""

import datetime
import zoneinfo
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

RULE_VERSION = "2026.2"  # 2026.2: supply-chain finance items
CENT = Decimal("0.01")
RATE = Decimal("0.0001")


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    definition: str
    public: bool = True
    kind: str = "amount"  # amount, count, rate, text; map: {anchor, or funder / debtor: value}


def _p2p_items() -> list[Item]:
    return [
        Item(
            "p2p.cumulative_loan_amount",
            _("Cumulative loan amount"),
            _("Principal of every loan disbursed by the platform entity since it began, up to the as-of instant."),
        ),
        Item(
            "p2p.cumulative_loan_count",
            _("Cumulative loan count"),
            _("Number of loans disbursed since the beginning."),
            kind="count",
        ),
        Item(
            "p2p.outstanding_principal",
            _("Outstanding principal balance"),
            _(
                "Principal disbursed less principal repaid, over loans neither repaid in full nor written off "
                "at the as-of instant."
            ),
        ),
        Item(
            "p2p.outstanding_count", _("Outstanding loan count"), _("Number of loans with an outstanding balance."), kind="count"
        ),
        Item(
            "p2p.outstanding_interest",
            _("Outstanding interest"),
            _("Scheduled interest not yet received on the outstanding loans (due or not yet due)."),
        ),
        Item(
            "p2p.cumulative_lenders",
            _("Cumulative lenders"),
            _("Distinct lenders (a person, or an organisation counted once) holding a note of any disbursed loan."),
            kind="count",
        ),
        Item(
            "p2p.cumulative_borrowers",
            _("Cumulative borrowers"),
            _("Distinct borrowers of disbursed loans; a borrower with several loans counts once."),
            kind="count",
        ),
        Item(
            "p2p.current_lenders",
            _("Current lenders"),
            _("Distinct lenders with money still to receive: holders of notes of outstanding loans."),
            kind="count",
        ),
        Item(
            "p2p.current_borrowers",
            _("Current borrowers"),
            _("Distinct borrowers with money still to repay: borrowers of outstanding loans, each counted once."),
            kind="count",
        ),
        Item(
            "p2p.top10_borrower_share",
            _("Top-10 borrowers' share"),
            _("Outstanding principal of the ten borrowers owing most (each borrower's loans summed) / outstanding principal."),
            kind="rate",
        ),
        Item(
            "p2p.largest_borrower_share",
            _("Largest single borrower's share"),
            _("Outstanding principal of the borrower owing most / outstanding principal."),
            kind="rate",
        ),
        Item(
            "p2p.related_party_balance",
            _("Related-party outstanding balance"),
            _("Outstanding principal of loans to organisations declared related to the platform entity."),
        ),
        Item(
            "p2p.related_party_count",
            _("Related-party loan count"),
            _("Number of outstanding loans to organisations related to the platform entity."),
            kind="count",
        ),
        Item(
            "p2p.overdue_amount",
            _("Overdue amount"),
            _(
                "Principal and interest of installments that fell due before the business date and were not received "
                "by the as-of instant (penalties and fees excluded)."
            ),
        ),
        Item("p2p.overdue_count", _("Overdue loan count"), _("Outstanding loans with an overdue amount."), kind="count"),
        Item(
            "p2p.overdue_90_amount",
            _("Amount overdue more than 90 days"),
            _(
                "Unpaid principal and interest of installments more than 90 days past due (a payment exactly 90 days "
                "late is not included)."
            ),
        ),
        Item(
            "p2p.overdue_90_count",
            _("Loans overdue more than 90 days"),
            _("Outstanding loans with an installment more than 90 days past due."),
            kind="count",
        ),
        Item(
            "p2p.compensatory_amount",
            _("Cumulative compensatory payments"),
            _("Sum of repayments made for borrowers by a third party (guarantor), since the beginning."),
        ),
        Item(
            "p2p.compensatory_count",
            _("Cumulative compensatory payment count"),
            _("Number of repayments made for borrowers by a third party."),
            kind="count",
        ),
        Item(
            "p2p.project_overdue_rate",
            _("Project overdue rate"),
            _("Overdue loans / outstanding (unrepaid) loans."),
            kind="rate",
        ),
        Item(
            "p2p.amount_overdue_rate",
            _("Amount overdue rate"),
            _(
                "Overdue amount / amount due: the principal and interest still to be received on outstanding loans "
                "(outstanding principal plus outstanding interest)."
            ),
            kind="rate",
        ),
        Item(
            "p2p.fee_standards",
            _("Fee standards"),
            _(
                "The fees charged: origination fee on the principal, service fee on each payment investors receive, daily penalty interest."
            ),
            kind="text",
        ),
    ]


FIG1_COLUMNS = [
    ("successful_projects", _("Successful projects"), _("Campaigns whose outcome is succeeded."), "count"),
    (
        "successful_funding_10k",
        _("Successful funding (10k yuan)"),
        _("Sum kept by successful projects / 10,000, HALF_EVEN to a whole number."),
        "amount",
    ),
    ("supporters", _("Supporters of successful projects"), _("Pledges to successful projects."), "count"),
    ("supporters_per_project", _("Supporters per project"), _("Supporters / successful projects, to a whole number."), "count"),
    (
        "financing_per_project_10k",
        _("Financing per project (10k yuan)"),
        _("Unrounded funding / successful projects, HALF_EVEN to 2 decimals."),
        "amount",
    ),
    ("total_projects", _("Total projects on platform"), _("Campaigns that went live."), "count"),
    ("success_rate", _("Success rate"), _("Successful projects / total projects."), "rate"),
    (
        "amount_refunded",
        _("Amount refunded"),
        _("Pledges refunded to backers (failed or cancelled campaigns, cancelled pledges)."),
        "amount",
    ),
    (
        "refunds_pending",
        _("Refunds pending"),
        _("Pledges to failed or cancelled campaigns not yet refunded at the as-of instant."),
        "amount",
    ),
]
FIG1_PROPERTIES = [("commodity", "reward", _("Commodity")), ("equity", "equity", _("Equity"))]


def _crowdfunding_items() -> list[Item]:
    return [
        Item(f"crowdfunding.{prop}.{key}", f"{prop_label} - {label}", definition, kind=kind)
        for prop, _kind, prop_label in FIG1_PROPERTIES
        for key, label, definition, kind in FIG1_COLUMNS
    ]


def _fund_security_items() -> list[Item]:
    return [
        Item(
            "fund_security.custody_balance",
            _("Custody balance"),
            _("Balance of the custody account at the custodian bank, per currency (the deployment's custody account)."),
            public=False,
        ),
        Item(
            "fund_security.client_money",
            _("Client money"),
            _("Sum of every client wallet, escrow, funder account and withdrawal in flight, per currency."),
            public=False,
        ),
        Item(
            "fund_security.custody_difference",
            _("Custody difference"),
            _("Custody balance less client money, per currency: zero to the cent when client money is fully in custody."),
            public=False,
        ),
        Item(
            "fund_security.custody_mismatches",
            _("Currencies in custody mismatch"),
            _("Number of currencies whose custody balance differs from client money."),
            public=False,
            kind="count",
        ),
        Item(
            "fund_security.fee_income",
            _("Platform fee income (kept apart)"),
            _("Fees earned, held in the platform's own bank account outside custody, per currency."),
            public=False,
        ),
    ]


SCF_ANCHOR_COLUMNS = [
    (
        "confirmed",
        _("Confirmed, unpaid"),
        _(
            "Face less dilution (credit notes and returns entered before the as-of instant) of the invoices the anchor "
            "confirmed before the instant and had not paid by it: its outstanding irrevocable payment undertakings."
        ),
    ),
    (
        "financed",
        _("Financed (cumulative)"),
        _(
            "Advances funded against the anchor's paper (invoices and certificates) before the as-of instant, since the beginning."
        ),
    ),
    (
        "outstanding",
        _("Outstanding"),
        _("Advances of the financings on the anchor's paper funded before the as-of instant and not paid by it."),
    ),
    (
        "overdue",
        _("Overdue"),
        _("Outstanding advances whose due date is before the business date of the as-of instant."),
    ),
    (
        "overdue_1_30",
        _("Overdue 1-30 days"),
        _("Overdue advances 1 to 30 days past their due date at the business date."),
    ),
    (
        "overdue_31_90",
        _("Overdue 31-90 days"),
        _("Overdue advances 31 to 90 days past their due date (exactly 90 days is in this band)."),
    ),
    (
        "overdue_over_90",
        _("Overdue more than 90 days"),
        _("Overdue advances more than 90 days past their due date: non-performing."),
    ),
]


def _scf_items() -> list[Item]:
    totals = [
        Item(f"scf.{key}_amount", _("All anchors: %(column)s") % {"column": label}, definition)
        for key, label, definition in SCF_ANCHOR_COLUMNS
    ]
    per_anchor = [
        Item(
            f"scf.anchor_{key}",
            _("Per anchor: %(column)s") % {"column": label},
            _("Per anchor (legal name and credit code), as the total: %(definition)s") % {"definition": definition},
            public=False,  # names the anchors and what they owe: for regulators; the public sees the totals
            kind="map",
        )
        for key, label, definition in SCF_ANCHOR_COLUMNS
    ]
    return [
        *totals,
        Item(
            "scf.financed_count",
            _("Financings funded (cumulative)"),
            _("Number of financings funded before the as-of instant."),
            kind="count",
        ),
        Item(
            "scf.outstanding_count",
            _("Outstanding financings"),
            _("Number of financings funded before the as-of instant and not paid by it."),
            kind="count",
        ),
        Item(
            "scf.overdue_count",
            _("Overdue financings"),
            _("Number of outstanding financings past their due date at the business date."),
            kind="count",
        ),
        Item(
            "scf.top10_anchor_share",
            _("Top-10 anchors' share"),
            _("Outstanding advances on the paper of the ten anchors owing most / all outstanding advances."),
            kind="rate",
        ),
        *per_anchor,
        Item(
            "scf.funder_exposure",
            _("Funders' exposure per debtor"),
            _(
                "Per funder and debtor (anchor) of a programme of the entity: the face amount financed by the funder "
                "on the debtor's paper, funded before the as-of instant and not paid by it (what the concentration limit "
                "counts), on any programme."
            ),
            public=False,
            kind="map",
        ),
        Item(
            "scf.funder_cap",
            _("Funders' concentration caps"),
            _(
                "Per funder and debtor: 50% of the funder's declared risk assets, 40% when a programme declares the "
                "debtor a related party (China, commercial factoring, 2019). Risk assets as declared when the snapshot "
                "was computed (the platform keeps no history of declarations)."
            ),
            public=False,
            kind="map",
        ),
        Item(
            "scf.funder_cap_usage",
            _("Funders' use of their caps"),
            _("Per funder and debtor: exposure / cap (above 1 is above the cap; null without declared risk assets)."),
            public=False,
            kind="map",
        ),
        Item(
            "scf.max_cap_usage",
            _("Highest use of a concentration cap"),
            _("The largest exposure / cap over every funder and debtor."),
            public=False,
            kind="rate",
        ),
        Item(
            "scf.anchors_above_cap",
            _("Anchors above a funder's cap"),
            _("Number of funder and debtor pairs whose exposure is above the funder's concentration cap."),
            public=False,
            kind="count",
        ),
        Item(
            "scf.inventory_loans",
            _("Inventory loans by LTV band"),
            _("Inventory (cargo-rights pledge) loans are not offered on this platform: there is nothing to band."),
            kind="text",
        ),
        Item(
            "scf.margin_calls",
            _("Open margin calls"),
            _("Margin calls belong to inventory loans, which are not offered on this platform."),
            kind="text",
        ),
    ]


def _credit_items() -> list[Item]:
    return [
        Item(
            "credit.p2p_outstanding",
            _("P2P credit outstanding"),
            _("Outstanding principal of P2P loans (as p2p.outstanding_principal)."),
        ),
        Item(
            "credit.total_outstanding",
            _("All credit outstanding"),
            _(
                "Outstanding principal of every kind of credit on the platform entity: P2P outstanding principal plus "
                "supply-chain outstanding advances."
            ),
        ),
        Item(
            "credit.scf_outstanding",
            _("Supply-chain credit outstanding"),
            _("Outstanding supply-chain advances (as scf.outstanding_amount)."),
        ),
        Item(
            "credit.p2p_share",
            _("P2P share of credit outstanding"),
            _("P2P credit outstanding / all credit outstanding."),
            kind="rate",
        ),
    ]


def registry() -> dict[str, Item]:
    return {
        item.key: item for item in _p2p_items() + _crowdfunding_items() + _scf_items() + _fund_security_items() + _credit_items()
    }


SECTIONS = [
    ("p2p", _("P2P lending (2017 disclosure guidelines)")),
    ("crowdfunding", _("Crowdfunding (Fig. 1)")),
    ("scf", _("Supply-chain finance")),
    ("fund_security", _("Fund security (custody)")),
    ("credit", _("Credit outstanding (Fig. 2)")),
]


# --- computing -----------------------------------------------------------------------------------


def platform_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.PLATFORM_DEFAULT_TIME_ZONE)


def month_start(period: datetime.date) -> datetime.datetime:
    """The first instant of the month of `period` in the platform's time zone."""
    return datetime.datetime(period.year, period.month, 1, tzinfo=platform_zone())


def month_after(period: datetime.date) -> datetime.date:
    return datetime.date(period.year + period.month // 12, period.month % 12 + 1, 1)


def month_parse(raw: str | None) -> datetime.date | None:
    """A month written YYYY-MM, as its first day; None when it is not one."""
    if not raw or len(raw) != 7 or "\x00" in raw:
        return None
    try:
        return datetime.datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        return None


def period_as_of(period: datetime.date) -> datetime.datetime:
    """A month's figures are those at the first instant of the next month (platform time zone)."""
    return month_start(month_after(period))


def period_of(instant: datetime.datetime) -> datetime.date:
    local = timezone.localtime(instant, platform_zone())
    return datetime.date(local.year, local.month, 1)


def business_date_of(as_of: datetime.datetime) -> datetime.date:
    return timezone.localtime(as_of, platform_zone()).date()


def _dec(value, unit=CENT) -> Decimal:
    # SQLite sums decimals as floats: through str, to the unit
    return Decimal(str(value or 0)).quantize(unit, ROUND_HALF_EVEN)


def _rate(numerator, denominator) -> str | None:
    return str((Decimal(numerator) / Decimal(denominator)).quantize(RATE, ROUND_HALF_EVEN)) if denominator else None


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def p2p_sql() -> str:
    """One statement computing every P2P figure of an entity as of an instant. Parameters: entity,
    as_of, the business date and the business date less 90 days.

    Paid amounts go to the oldest installments first, so what is unpaid of the installments that fell
    due before a day is what fell due before it less what was paid (never below zero): no per-
    installment walk is needed, one aggregate over the installments does."""
    from p2p.models import Installment, Loan, Note, Repayment

    from .models import RelatedParty

    chosen = "l.entity_id = %(entity)s AND l.disbursed_at IS NOT NULL AND l.disbursed_at < %(as_of)s"
    return f"""
WITH sched AS (
    SELECT i.loan_id, SUM(i.principal_due) AS principal, SUM(i.interest_due) AS interest,
        SUM(CASE WHEN i.due_date < %(today)s THEN i.principal_due + i.interest_due ELSE 0 END) AS due_before_today,
        SUM(CASE WHEN i.due_date < %(today_less_90)s THEN i.principal_due + i.interest_due ELSE 0 END) AS due_before_90
    FROM {_table(Installment)} i JOIN {_table(Loan)} l ON l.id = i.loan_id
    WHERE {chosen}
    GROUP BY i.loan_id
), paid AS (
    SELECT r.loan_id, SUM(r.principal_part) AS principal, SUM(r.interest_part) AS interest,
        SUM(r.principal_part + r.interest_part) AS p_and_i
    FROM {_table(Repayment)} r JOIN {_table(Loan)} l ON l.id = r.loan_id
    WHERE {chosen} AND r.created_at < %(as_of)s
    GROUP BY r.loan_id
), per_loan AS (
    SELECT l.id, l.borrower_id,
        CASE WHEN (l.closed_at IS NULL OR l.closed_at >= %(as_of)s)
              AND (l.written_off_at IS NULL OR l.written_off_at >= %(as_of)s) THEN 1 ELSE 0 END AS is_open,
        s.principal,
        s.principal - COALESCE(p.principal, 0) AS principal_left,
        s.interest - COALESCE(p.interest, 0) AS interest_left,
        CASE WHEN s.due_before_today > COALESCE(p.p_and_i, 0) THEN s.due_before_today - COALESCE(p.p_and_i, 0) ELSE 0 END
            AS overdue,
        CASE WHEN s.due_before_90 > COALESCE(p.p_and_i, 0) THEN s.due_before_90 - COALESCE(p.p_and_i, 0) ELSE 0 END
            AS overdue_90
    FROM {_table(Loan)} l JOIN sched s ON s.loan_id = l.id LEFT JOIN paid p ON p.loan_id = l.id
), per_borrower AS (
    SELECT borrower_id, SUM(principal_left) AS owed FROM per_loan WHERE is_open = 1 GROUP BY borrower_id
), lenders AS (
    SELECT n.holder_id, n.holder_organisation_id, per_loan.is_open
    FROM {_table(Note)} n JOIN per_loan ON per_loan.id = n.loan_id
)
SELECT
    (SELECT COALESCE(SUM(principal), 0) FROM per_loan),
    (SELECT COUNT(*) FROM per_loan),
    (SELECT COALESCE(SUM(principal_left), 0) FROM per_loan WHERE is_open = 1),
    (SELECT COUNT(*) FROM per_loan WHERE is_open = 1),
    (SELECT COALESCE(SUM(interest_left), 0) FROM per_loan WHERE is_open = 1),
    (SELECT COUNT(DISTINCT holder_organisation_id) + COUNT(DISTINCT CASE WHEN holder_organisation_id IS NULL THEN holder_id END)
        FROM lenders),
    (SELECT COUNT(DISTINCT borrower_id) FROM per_loan),
    (SELECT COUNT(DISTINCT holder_organisation_id) + COUNT(DISTINCT CASE WHEN holder_organisation_id IS NULL THEN holder_id END)
        FROM lenders WHERE is_open = 1),
    (SELECT COUNT(*) FROM per_borrower),
    (SELECT COALESCE(SUM(owed), 0) FROM (SELECT owed FROM per_borrower ORDER BY owed DESC LIMIT 10) top10),
    (SELECT COALESCE(MAX(owed), 0) FROM per_borrower),
    (SELECT COALESCE(SUM(principal_left), 0) FROM per_loan
        WHERE is_open = 1 AND borrower_id IN (SELECT organisation_id FROM {_table(RelatedParty)} WHERE entity_id = %(entity)s)),
    (SELECT COUNT(*) FROM per_loan
        WHERE is_open = 1 AND borrower_id IN (SELECT organisation_id FROM {_table(RelatedParty)} WHERE entity_id = %(entity)s)),
    (SELECT COALESCE(SUM(overdue), 0) FROM per_loan WHERE is_open = 1),
    (SELECT COUNT(*) FROM per_loan WHERE is_open = 1 AND overdue > 0),
    (SELECT COALESCE(SUM(overdue_90), 0) FROM per_loan WHERE is_open = 1),
    (SELECT COUNT(*) FROM per_loan WHERE is_open = 1 AND overdue_90 > 0),
    (SELECT COALESCE(SUM(r.amount), 0) FROM {_table(Repayment)} r JOIN {_table(Loan)} l ON l.id = r.loan_id
        WHERE {chosen} AND r.is_compensatory AND r.created_at < %(as_of)s),
    (SELECT COUNT(*) FROM {_table(Repayment)} r JOIN {_table(Loan)} l ON l.id = r.loan_id
        WHERE {chosen} AND r.is_compensatory AND r.created_at < %(as_of)s)
"""  # nosec B608 - table names from the models' meta, quoted; values are parameters


P2P_FIELDS = [
    "cumulative_loan_amount",
    "cumulative_loan_count",
    "outstanding_principal",
    "outstanding_count",
    "outstanding_interest",
    "cumulative_lenders",
    "cumulative_borrowers",
    "current_lenders",
    "current_borrowers",
    "top10_owed",
    "largest_owed",
    "related_party_balance",
    "related_party_count",
    "overdue_amount",
    "overdue_count",
    "overdue_90_amount",
    "overdue_90_count",
    "compensatory_amount",
    "compensatory_count",
]


def p2p_params(entity_id: int, as_of: datetime.datetime) -> dict:
    today = business_date_of(as_of)
    ops = connection.ops
    return {
        "entity": entity_id,
        "as_of": ops.adapt_datetimefield_value(as_of),
        "today": ops.adapt_datefield_value(today),
        "today_less_90": ops.adapt_datefield_value(today - datetime.timedelta(days=90)),
    }


def p2p_figures(entity_id: int, as_of: datetime.datetime) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(p2p_sql(), p2p_params(entity_id, as_of))
        row = dict(zip(P2P_FIELDS, cursor.fetchone(), strict=True))
    figures = {k: (int(v or 0) if k.endswith(("_count", "lenders", "borrowers")) else _dec(v)) for k, v in row.items()}
    outstanding = figures["outstanding_principal"]
    rules = settings.P2P
    return {
        "p2p.cumulative_loan_amount": str(figures["cumulative_loan_amount"]),
        "p2p.cumulative_loan_count": figures["cumulative_loan_count"],
        "p2p.outstanding_principal": str(outstanding),
        "p2p.outstanding_count": figures["outstanding_count"],
        "p2p.outstanding_interest": str(figures["outstanding_interest"]),
        "p2p.cumulative_lenders": figures["cumulative_lenders"],
        "p2p.cumulative_borrowers": figures["cumulative_borrowers"],
        "p2p.current_lenders": figures["current_lenders"],
        "p2p.current_borrowers": figures["current_borrowers"],
        "p2p.top10_borrower_share": _rate(figures["top10_owed"], outstanding),
        "p2p.largest_borrower_share": _rate(figures["largest_owed"], outstanding),
        "p2p.related_party_balance": str(figures["related_party_balance"]),
        "p2p.related_party_count": figures["related_party_count"],
        "p2p.overdue_amount": str(figures["overdue_amount"]),
        "p2p.overdue_count": figures["overdue_count"],
        "p2p.overdue_90_amount": str(figures["overdue_90_amount"]),
        "p2p.overdue_90_count": figures["overdue_90_count"],
        "p2p.compensatory_amount": str(figures["compensatory_amount"]),
        "p2p.compensatory_count": figures["compensatory_count"],
        "p2p.project_overdue_rate": _rate(figures["overdue_count"], figures["outstanding_count"]),
        "p2p.amount_overdue_rate": _rate(figures["overdue_amount"], outstanding + figures["outstanding_interest"]),
        "p2p.fee_standards": {
            "origination_fee_rate": str(rules["ORIGINATION_FEE_RATE"]),
            "investor_service_fee_rate": str(rules["INVESTOR_SERVICE_FEE_RATE"]),
            "penalty_daily_rate": str(rules["PENALTY_DAILY_RATE"]),
        },
    }


def crowdfunding_figures(entity, as_of: datetime.datetime) -> dict:
    """Fig. 1 from crowdfunding.stats (campaigns whose deadline passed before `as_of`), plus success
    rate and refunds: three aggregate queries whatever the number of campaigns."""
    from crowdfunding.models import Pledge, PledgeStatus
    from crowdfunding.stats import PROPERTY_OF_KIND, crowdfunding_stats

    rows = {row.property: row for row in crowdfunding_stats(date_to=as_of) if row.platform == entity.name}
    refunded = dict(
        Pledge.objects.filter(campaign__entity=entity, refund_transaction__isnull=False, refund_transaction__created_at__lt=as_of)
        .values_list("campaign__kind")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    pending = dict(
        Pledge.objects.filter(
            Q(refund_transaction__isnull=True) | Q(refund_transaction__created_at__gte=as_of),
            campaign__entity=entity,
            campaign__outcome__in=["failed", "cancelled"],
            campaign__deadline__lt=as_of,
            created_at__lt=as_of,
            status__in=[PledgeStatus.ACTIVE, PledgeStatus.ON_HOLD, PledgeStatus.REFUNDED, PledgeStatus.CANCELLED],
        )
        .values_list("campaign__kind")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    items = {}
    for prop, kind, _label in FIG1_PROPERTIES:
        row = rows.get(PROPERTY_OF_KIND[kind])
        values = {
            "successful_projects": row.successful_projects if row else 0,
            "successful_funding_10k": str(row.successful_funding_10k) if row else "0",
            "supporters": row.supporters if row else 0,
            "supporters_per_project": row.supporters_per_project if row else 0,
            "financing_per_project_10k": str(row.financing_per_project_10k) if row else "0.00",
            "total_projects": row.total_projects if row else 0,
            "success_rate": _rate(row.successful_projects, row.total_projects) if row else None,
            "amount_refunded": str(_dec(refunded.get(kind))),
            "refunds_pending": str(_dec(pending.get(kind))),
        }
        items.update({f"crowdfunding.{prop}.{key}": value for key, value in values.items()})
    return items


def scf_anchor_sql() -> str:
    """One statement: per anchor of the entity's programmes, what was confirmed and unpaid, financed,
    outstanding and overdue (by band) as of an instant. Parameters: entity, as_of and the business date
    less 0, 30 and 90 days. A financing is outstanding from its funding to its payment (`funded_at`,
    `paid_at`), so a past instant's figures do not change with later events."""
    from platform_core.accounts.models import Organisation
    from supplychain.models import Dilution, Financing, Invoice, Programme

    return f"""
WITH anchors AS (
    SELECT DISTINCT anchor_id FROM {_table(Programme)} WHERE entity_id = %(entity)s
), diluted AS (
    SELECT d.invoice_id, SUM(d.amount) AS amount FROM {_table(Dilution)} d
    JOIN {_table(Invoice)} i ON i.id = d.invoice_id
    WHERE d.created_at < %(as_of)s AND i.anchor_id IN (SELECT anchor_id FROM anchors)
    GROUP BY d.invoice_id
), confirmed AS (
    SELECT i.anchor_id, SUM(i.face_amount - COALESCE(dl.amount, 0)) AS amount
    FROM {_table(Invoice)} i LEFT JOIN diluted dl ON dl.invoice_id = i.id
    WHERE i.anchor_id IN (SELECT anchor_id FROM anchors)
      AND i.confirmed_at IS NOT NULL AND i.confirmed_at < %(as_of)s AND (i.paid_at IS NULL OR i.paid_at >= %(as_of)s)
    GROUP BY i.anchor_id
), financed AS (
    SELECT f.debtor_id AS anchor_id, f.advance, f.due_date,
        CASE WHEN f.paid_at IS NULL OR f.paid_at >= %(as_of)s THEN 1 ELSE 0 END AS is_open
    FROM {_table(Financing)} f JOIN {_table(Programme)} p ON p.id = f.programme_id
    WHERE p.entity_id = %(entity)s AND f.funded_at IS NOT NULL AND f.funded_at < %(as_of)s
), per_anchor AS (
    SELECT anchor_id,
        SUM(advance) AS financed,
        COUNT(*) AS financed_count,
        SUM(CASE WHEN is_open = 1 THEN advance ELSE 0 END) AS outstanding,
        SUM(is_open) AS outstanding_count,
        SUM(CASE WHEN is_open = 1 AND due_date < %(today)s THEN advance ELSE 0 END) AS overdue,
        SUM(CASE WHEN is_open = 1 AND due_date < %(today)s THEN 1 ELSE 0 END) AS overdue_count,
        SUM(CASE WHEN is_open = 1 AND due_date < %(today)s AND due_date >= %(today_less_30)s THEN advance ELSE 0 END)
            AS overdue_1_30,
        SUM(CASE WHEN is_open = 1 AND due_date < %(today_less_30)s AND due_date >= %(today_less_90)s THEN advance ELSE 0 END)
            AS overdue_31_90,
        SUM(CASE WHEN is_open = 1 AND due_date < %(today_less_90)s THEN advance ELSE 0 END) AS overdue_over_90
    FROM financed GROUP BY anchor_id
)
SELECT a.anchor_id, o.legal_name, o.credit_code, COALESCE(c.amount, 0), COALESCE(pa.financed, 0),
    COALESCE(pa.financed_count, 0), COALESCE(pa.outstanding, 0), COALESCE(pa.outstanding_count, 0),
    COALESCE(pa.overdue, 0), COALESCE(pa.overdue_count, 0), COALESCE(pa.overdue_1_30, 0), COALESCE(pa.overdue_31_90, 0),
    COALESCE(pa.overdue_over_90, 0)
FROM anchors a JOIN {_table(Organisation)} o ON o.id = a.anchor_id
LEFT JOIN confirmed c ON c.anchor_id = a.anchor_id
LEFT JOIN per_anchor pa ON pa.anchor_id = a.anchor_id
ORDER BY a.anchor_id
"""  # nosec B608 - table names from the models' meta, quoted; values are parameters


def scf_exposure_sql() -> str:
    """Per funder and debtor of the entity's programmes: the face financed, funded before and not paid
    by the instant, on any programme (the measure supplychain.services.limits caps). The financings
    are summed per pair first and matched to the pairs after: joined on both columns before summing,
    PostgreSQL misjudged the join and took 9 s over 200,000 financings instead of 0.3 s."""
    from platform_core.accounts.models import Organisation
    from supplychain.models import Financing, FunderProfile, Programme

    return f"""
WITH pairs AS (
    SELECT funder_id, anchor_id, MAX(CASE WHEN related_party THEN 1 ELSE 0 END) AS related
    FROM {_table(Programme)} WHERE entity_id = %(entity)s GROUP BY funder_id, anchor_id
), exposure AS (
    SELECT f.funder_id, f.debtor_id, SUM(f.amount) AS amount FROM {_table(Financing)} f
    WHERE f.debtor_id IN (SELECT anchor_id FROM pairs)
      AND f.funded_at IS NOT NULL AND f.funded_at < %(as_of)s AND (f.paid_at IS NULL OR f.paid_at >= %(as_of)s)
    GROUP BY f.funder_id, f.debtor_id
)
SELECT fo.legal_name, fo.credit_code, ao.legal_name, ao.credit_code, pairs.related, COALESCE(e.amount, 0), fp.risk_assets
FROM pairs JOIN {_table(Organisation)} fo ON fo.id = pairs.funder_id JOIN {_table(Organisation)} ao ON ao.id = pairs.anchor_id
LEFT JOIN exposure e ON e.funder_id = pairs.funder_id AND e.debtor_id = pairs.anchor_id
LEFT JOIN {_table(FunderProfile)} fp ON fp.organisation_id = pairs.funder_id
ORDER BY pairs.funder_id, pairs.anchor_id
"""  # nosec B608 - table names from the models' meta, quoted; values are parameters


def _organisation_label(legal_name: str, credit_code: str) -> str:
    return f"{legal_name} ({credit_code})"


def scf_figures(entity_id: int, as_of: datetime.datetime) -> dict:
    """The supply-chain items of an entity as of an instant: two aggregate statements (per anchor; per
    funder and debtor). Totals are sums of the per-anchor rows the database returned."""
    today = business_date_of(as_of)
    ops = connection.ops
    params = {
        "entity": entity_id,
        "as_of": ops.adapt_datetimefield_value(as_of),
        "today": ops.adapt_datefield_value(today),
        "today_less_30": ops.adapt_datefield_value(today - datetime.timedelta(days=30)),
        "today_less_90": ops.adapt_datefield_value(today - datetime.timedelta(days=90)),
    }
    columns = [key for key, _label, _definition in SCF_ANCHOR_COLUMNS]
    per_anchor = {key: {} for key in columns}
    totals = dict.fromkeys(columns, Decimal("0.00"))
    counts = {"financed_count": 0, "outstanding_count": 0, "overdue_count": 0}
    with connection.cursor() as cursor:
        cursor.execute(scf_anchor_sql(), params)
        anchor_rows = cursor.fetchall()
        cursor.execute(scf_exposure_sql(), params)
        pair_rows = cursor.fetchall()
    for row in anchor_rows:
        (_pk, name, code, confirmed, financed, financed_count, outstanding, outstanding_count, overdue, overdue_count) = row[:10]
        values = dict(zip(columns, [confirmed, financed, outstanding, overdue, *row[10:]], strict=True))
        label = _organisation_label(name, code)
        for key, value in values.items():
            per_anchor[key][label] = str(_dec(value))
            totals[key] += _dec(value)
        counts["financed_count"] += int(financed_count or 0)
        counts["outstanding_count"] += int(outstanding_count or 0)
        counts["overdue_count"] += int(overdue_count or 0)
    owed = sorted((_dec(v) for v in per_anchor["outstanding"].values()), reverse=True)
    exposure, caps, usage = {}, {}, {}
    above, highest = 0, None
    rules = settings.SUPPLYCHAIN
    for funder_name, funder_code, debtor_name, debtor_code, related, amount, risk_assets in pair_rows:
        pair = f"{_organisation_label(funder_name, funder_code)} / {_organisation_label(debtor_name, debtor_code)}"
        amount = _dec(amount)
        exposure[pair] = str(amount)
        share = rules["RELATED_PARTY_SHARE"] if related else rules["CONCENTRATION_SHARE"]
        cap = _dec(Decimal(str(risk_assets)) * share) if risk_assets is not None else None
        caps[pair] = str(cap) if cap is not None else None
        used = (amount / cap).quantize(RATE, ROUND_HALF_EVEN) if cap else None
        usage[pair] = str(used) if used is not None else None
        if (cap is not None and amount > cap) or (cap is None and amount > 0):
            above += 1
        if used is not None and (highest is None or used > highest):
            highest = used
    outstanding = totals["outstanding"]
    return {
        **{f"scf.{key}_amount": str(total) for key, total in totals.items()},
        **{f"scf.{key}": value for key, value in counts.items()},
        "scf.top10_anchor_share": _rate(sum(owed[:10], Decimal("0.00")), outstanding),
        **{f"scf.anchor_{key}": values for key, values in per_anchor.items()},
        "scf.funder_exposure": exposure,
        "scf.funder_cap": caps,
        "scf.funder_cap_usage": usage,
        "scf.max_cap_usage": str(highest) if highest is not None else None,
        "scf.anchors_above_cap": above,
        "scf.inventory_loans": "not offered on this platform",
        "scf.margin_calls": "not offered on this platform",
    }


def fund_security_figures(as_of: datetime.datetime) -> dict:
    """Balances at `as_of` summed from the legs posted before it, by account purpose and currency
    (one aggregate query)."""
    from platform_core.ledger.models import CLIENT_MONEY, AccountPurpose, Leg, side_of

    sums = (
        Leg.objects.filter(transaction__created_at__lt=as_of)
        .values_list("account__purpose", "currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    currencies = sorted(settings.PLATFORM["CURRENCIES"])
    custody = dict.fromkeys(currencies, Decimal("0.00"))
    client = dict.fromkeys(currencies, Decimal("0.00"))
    fees = dict.fromkeys(currencies, Decimal("0.00"))
    for purpose, currency, total in sums:
        natural = side_of(purpose) * _dec(total)
        for bucket, wanted in ((custody, purpose == AccountPurpose.CUSTODY), (client, purpose in CLIENT_MONEY)):
            if wanted:
                bucket[currency] = bucket.get(currency, Decimal("0.00")) + natural
        if purpose == AccountPurpose.PLATFORM_BANK:
            fees[currency] = fees.get(currency, Decimal("0.00")) + natural
    every = sorted(set(custody) | set(client) | set(fees))
    difference = {c: custody.get(c, Decimal("0.00")) - client.get(c, Decimal("0.00")) for c in every}
    return {
        "fund_security.custody_balance": {c: str(custody.get(c, Decimal("0.00"))) for c in every},
        "fund_security.client_money": {c: str(client.get(c, Decimal("0.00"))) for c in every},
        "fund_security.custody_difference": {c: str(d) for c, d in difference.items()},
        "fund_security.custody_mismatches": sum(1 for d in difference.values() if d != 0),
        "fund_security.fee_income": {c: str(fees.get(c, Decimal("0.00"))) for c in every},
    }


def items_compute(entity, as_of: datetime.datetime) -> dict:
    """Every item of `entity` as of `as_of`: {key: value}."""
    values = p2p_figures(entity.pk, as_of)
    values.update(crowdfunding_figures(entity, as_of))
    values.update(scf_figures(entity.pk, as_of))
    values.update(fund_security_figures(as_of))
    p2p = Decimal(values["p2p.outstanding_principal"])
    scf = Decimal(values["scf.outstanding_amount"])
    total = p2p + scf
    values.update(
        {
            "credit.p2p_outstanding": str(p2p),
            "credit.scf_outstanding": str(scf),
            "credit.total_outstanding": str(total),
            "credit.p2p_share": _rate(p2p, total),
        }
    )
    return values


def numeric(value) -> Decimal | None:
    """The number an item's value stands for (None for texts, per-currency maps and missing rates)."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None
