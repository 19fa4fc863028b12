"""The platform statistics of the paper's Fig. 1 (DOMAIN.md section 1), per platform entity and
property, for campaigns whose deadline falls in [date_from, date_to) and that went live.

Columns and their rounding (all HALF_EVEN, computed from unrounded sums):
- successful projects: campaigns whose outcome is `succeeded`;
- successful funding (10k yuan): sum kept by successful projects (raised less commitments refunded at
  settlement, e.g. not reconfirmed) / 10,000, to a whole number;
- supporters of successful projects: pledges collected by successful projects (a backer pledging twice
  counts twice; a pledge cancelled, or refunded at settlement because it was not reconfirmed, does not);
- supporters per project: supporters / successful projects, to a whole number;
- financing per project (10k yuan): funding (unrounded) / successful projects, to 2 decimals;
- the two ratios are undefined (None: "-" in the table, null in JSON and CSV) with no successful project;
- total projects on platform: every campaign of that entity and property that went live.
"""

import csv
import datetime
import io
import json
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import Count, F, Q, Sum

from platform_core.accounts.models import PlatformProperty

from .models import Campaign, CampaignKind

ROUNDING_NOTE = (
    "Funding in 10k yuan rounded HALF_EVEN to a whole number; supporters per project HALF_EVEN to a whole number; "
    "financing per project = unrounded funding / successful projects, HALF_EVEN to 2 decimals."
)
PROPERTY_OF_KIND = {CampaignKind.REWARD: "Commodity", CampaignKind.EQUITY: "Equity"}
COLUMNS = [
    ("platform", "Platform"),
    ("property", "Property"),
    ("successful_projects", "Successful projects"),
    ("successful_funding_10k", "Successful funding (10k yuan)"),
    ("supporters", "Supporters of successful projects"),
    ("supporters_per_project", "Supporters per project"),
    ("financing_per_project_10k", "Financing per project (10k yuan)"),
    ("total_projects", "Total projects on platform"),
]
TEN_THOUSAND = Decimal(10000)


@dataclass
class StatsRow:
    platform: str
    property: str
    successful_projects: int
    successful_funding_10k: Decimal
    supporters: int
    supporters_per_project: int | None  # None: no successful project, the ratio is undefined
    financing_per_project_10k: Decimal | None
    total_projects: int


def crowdfunding_stats(*, date_from: datetime.datetime | None = None, date_to: datetime.datetime | None = None) -> list[StatsRow]:
    """One aggregate query grouped by entity and kind."""
    qs = Campaign.objects.filter(launched_at__isnull=False)
    if date_from:
        qs = qs.filter(deadline__gte=date_from)
    if date_to:
        qs = qs.filter(deadline__lt=date_to)
    won = Q(outcome="succeeded")
    groups = (
        qs.values("entity__name", "kind")
        .annotate(
            total=Count("pk"),
            successful=Count("pk", filter=won),
            funding=Sum(F("raised_amount") - F("refunded_amount"), filter=won),
            supporters=Sum(F("pledge_count") - F("refunded_count"), filter=won),
        )
        .order_by("kind", "entity__name")
    )
    rows = []
    for g in groups:
        successful = g["successful"]
        funding = (g["funding"] or Decimal(0)) / TEN_THOUSAND
        supporters = g["supporters"] or 0
        rows.append(
            StatsRow(
                platform=g["entity__name"],
                property=PROPERTY_OF_KIND[g["kind"]],
                successful_projects=successful,
                successful_funding_10k=funding.quantize(Decimal(1), ROUND_HALF_EVEN),
                supporters=supporters,
                supporters_per_project=int((Decimal(supporters) / successful).quantize(Decimal(1), ROUND_HALF_EVEN))
                if successful
                else None,
                financing_per_project_10k=(funding / successful).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
                if successful
                else None,
                total_projects=g["total"],
            )
        )
    return rows


UNDEFINED = {"table": "-", "csv": "null"}


def stats_cells(row: StatsRow, fmt: str = "table") -> list:
    """The row's cells in COLUMNS order as a page ("table") or CSV shows them; an undefined ratio is
    "-" on a page and null in CSV."""
    cells = []
    for key, _ in COLUMNS:
        value = getattr(row, key)
        if value is None:
            cells.append(UNDEFINED[fmt])
        elif fmt == "table" and not isinstance(value, str):
            cells.append(f"{value:,}")
        else:
            cells.append(value)
    return cells


def stats_render(rows: list[StatsRow], fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps(
            {
                "rounding": ROUNDING_NOTE,
                "rows": [{k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(r).items()} for r in rows],
            },
            indent=2,
        )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([label for _, label in COLUMNS])
        for r in rows:
            writer.writerow(stats_cells(r, "csv"))
        return out.getvalue()
    cells = [[label for _, label in COLUMNS]] + [stats_cells(r) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = [
        " | ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in cells
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines) + f"\n\nRounding: {ROUNDING_NOTE}\n"


__all__ = ["crowdfunding_stats", "stats_render", "stats_cells", "StatsRow", "ROUNDING_NOTE", "COLUMNS", "PlatformProperty"]
