"""Reads of disclosures: snapshots and alerts by who asks, trends, Fig. 1 side by side, the Fig. 2
series. Each is a fixed number of queries, whatever the number of entities, periods or items."""

import datetime
from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery

from platform_core.accounts.models import User

from .items import FIG1_COLUMNS, FIG1_PROPERTIES, RATE, SECTIONS, numeric, registry
from .models import Alert, Snapshot, SnapshotKind


def sees_everything(user: User | None) -> bool:
    return user is not None and user.is_authenticated and (user.is_operator or user.is_regulator)


def snapshot_list(*, user: User | None, entity_id: int | None = None, period: datetime.date | None = None) -> QuerySet[Snapshot]:
    """Regulators and operators see every snapshot; everyone else the filed monthly ones (whose public
    items they may read: `items_visible`)."""
    qs = Snapshot.objects.select_related("entity").order_by("-period", "entity__name", "-version", "-pk")
    if not sees_everything(user):
        qs = qs.filter(kind=SnapshotKind.MONTHLY)
    if entity_id is not None:
        qs = qs.filter(entity_id=entity_id)
    if period is not None:
        qs = qs.filter(period=period)
    return qs


def snapshot_get(*, user: User | None, snapshot_id: int) -> Snapshot | None:
    return snapshot_list(user=user).filter(pk=snapshot_id).first()


def items_visible(snapshot: Snapshot, user: User | None) -> dict:
    everything = sees_everything(user)
    return {key: entry for key, entry in snapshot.items.items() if everything or entry["public"]}


def latest_monthly() -> QuerySet[Snapshot]:
    """The latest version of every filed month of every entity."""
    newest = Snapshot.objects.filter(entity=OuterRef("entity"), period=OuterRef("period")).order_by("-version").values("pk")[:1]
    return Snapshot.objects.filter(kind=SnapshotKind.MONTHLY, pk=Subquery(newest)).select_related("entity")


def snapshot_page(snapshot: Snapshot, *, user: User | None, months: int = 12) -> dict:
    """Each item of `snapshot` with its definition, its change since last month and its trend over
    the last `months` filed months (two queries)."""
    history = []
    if snapshot.period:
        history = list(latest_monthly().filter(entity=snapshot.entity, period__lte=snapshot.period).order_by("-period")[:months])[
            ::-1
        ]
        history = [s for s in history if s.period < snapshot.period] + [snapshot]
    previous = history[-2] if len(history) > 1 else None
    visible = items_visible(snapshot, user)
    known = registry()
    sections = []
    for section, title in SECTIONS:
        rows = []
        for key, entry in visible.items():
            if key.split(".")[0] != section:
                continue
            value = numeric(entry["value"])
            earlier = previous.items.get(key, {}).get("value") if previous else None
            before = numeric(earlier)
            series = [numeric(s.items.get(key, {}).get("value")) for s in history]
            if isinstance(entry["value"], dict):
                change = _change_per_key(entry["value"], earlier) if previous else None
            else:
                change = value - before if value is not None and before is not None else None
            rows.append(
                {
                    "key": key,
                    "label": known[key].label if key in known else entry["label"],
                    "definition": entry["definition"],
                    "value": entry["value"],
                    "change": change,
                    "trend": sparkline(series),
                    "public": entry["public"],
                }
            )
        if rows:
            sections.append({"title": title, "rows": rows})
    return {"sections": sections, "previous": previous, "history": history}


def _change_per_key(now: dict, earlier) -> dict | None:
    """The change of each entry of a map item (per currency, anchor or funder): an entry new since
    last month changes from zero; one whose value is not a number has none."""
    earlier = earlier if isinstance(earlier, dict) else {}
    change = {}
    for key, value in now.items():
        current, before = numeric(value), numeric(earlier.get(key, "0"))
        if current is not None and before is not None:
            change[key] = current - before
    return change or None


def sparkline(values: list, *, width: int = 160, height: int = 32) -> dict | None:
    """SVG polyline points for a series (None where fewer than two numbers)."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return None
    low, high = min(v for _, v in points), max(v for _, v in points)
    span = (high - low) or Decimal(1)
    step = Decimal(width - 4) / max(len(values) - 1, 1)
    coords = [f"{2 + float(step * i):.1f},{2 + float((high - v) / span * (height - 4)):.1f}" for i, v in points]
    return {"points": " ".join(coords), "width": width, "height": height, "low": low, "high": high}


def fig1_rows(period: datetime.date) -> list[dict]:
    """Every entity's Fig. 1 columns for `period`, side by side (one query)."""
    rows = []
    for snapshot in latest_monthly().filter(period=period).order_by("entity__name"):
        for prop, _kind, prop_label in FIG1_PROPERTIES:
            values = [snapshot.items.get(f"crowdfunding.{prop}.{key}", {}).get("value") for key, *_ in FIG1_COLUMNS]
            if any(v not in (None, 0, "0", "0.00") for v in values):
                rows.append({"entity": snapshot.entity, "property": prop_label, "values": values, "snapshot": snapshot})
    return rows


def fig2_series() -> list[dict]:
    """The P2P share of all credit outstanding, month by month, over every entity (one query)."""
    totals: dict[datetime.date, list[Decimal]] = {}
    for snapshot in latest_monthly().order_by("period"):
        p2p = numeric(snapshot.items.get("credit.p2p_outstanding", {}).get("value")) or Decimal(0)
        total = numeric(snapshot.items.get("credit.total_outstanding", {}).get("value")) or Decimal(0)
        month = totals.setdefault(snapshot.period, [Decimal(0), Decimal(0)])
        month[0] += p2p
        month[1] += total
    return [
        {"period": period, "p2p": p2p, "total": total, "share": (p2p / total).quantize(RATE) if total else None}
        for period, (p2p, total) in sorted(totals.items())
    ]


def alert_list(*, user: User) -> QuerySet[Alert]:
    """Alerts are for regulators and operators only."""
    if not sees_everything(user):
        return Alert.objects.none()
    return Alert.objects.select_related("entity", "acknowledged_by").order_by("-created_at", "-pk")


def public_latest() -> list[Snapshot]:
    """Each reporting entity's latest filed month (its latest version), for the public (one query)."""
    from .services import FILING_STATUSES

    newest = (
        Snapshot.objects.filter(entity=OuterRef("entity"), kind=SnapshotKind.MONTHLY)
        .order_by("-period", "-version")
        .values("pk")[:1]
    )
    return list(
        Snapshot.objects.filter(pk=Subquery(newest), entity__licence_status__in=FILING_STATUSES)
        .select_related("entity")
        .order_by("entity__name")
    )
