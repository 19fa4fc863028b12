"""Filing disclosure snapshots, checking their hash chain, raising and acknowledging alerts, and the
market access/exit of platform entities (issue 11).

- `snapshot_file` is the one way a snapshot is written: under a lock on the entity's row (so its
  chain grows one link at a time), it computes the items (platform_core.disclosures.items), the diff
  against the period's previous version, the hash over the document including the previous
  snapshot's hash, and raises an alert per breached threshold (the e-mail goes after commit).
  Filing a period again without `recompute` returns the filed snapshot: one per period.
- `chain_problems` recomputes every hash and link; `manage.py disclosures_verify` prints them.
- `entity_licence_change` moves an entity's licence with a reason; completing an exit is refused
  while the entity holds client money or a month since it began has no filed disclosure.
"""

import datetime
import hashlib
import json

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from platform_core.accounts.models import LicenceStatus, PlatformEntity, User
from platform_core.accounts.services import entity_transition, operator_require
from platform_core.audit import audit_record
from platform_core.errors import ApplicationError

from .items import RULE_VERSION, items_compute, month_after, numeric, period_as_of, period_of, registry
from .models import Alert, AlertStatus, AlertThreshold, Snapshot, SnapshotKind

#: Entities whose figures are filed each month.
FILING_STATUSES = [LicenceStatus.LICENSED, LicenceStatus.SUSPENDED, LicenceStatus.EXITING]


def canonical(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _instant(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def snapshot_document(snapshot: Snapshot) -> str:
    """What the hash covers: the header, the items, the diff and the previous snapshot's hash."""
    header = {
        "entity": snapshot.entity_id,
        "kind": snapshot.kind,
        "period": snapshot.period.isoformat() if snapshot.period else None,
        "as_of": _instant(snapshot.as_of),
        "computed_at": _instant(snapshot.computed_at),
        "rule_version": snapshot.rule_version,
        "version": snapshot.version,
        "sequence": snapshot.sequence,
        "previous_sha256": snapshot.previous_sha256,
    }
    return canonical(header) + "\n" + snapshot.items_json + "\n" + snapshot.diff_json


def snapshot_hash(snapshot: Snapshot) -> str:
    return hashlib.sha256(snapshot_document(snapshot).encode()).hexdigest()


def _flatten(items: dict) -> dict:
    flat = {}
    for key, entry in items.items():
        value = entry["value"]
        if isinstance(value, dict):
            flat.update({f"{key}.{sub}": v for sub, v in value.items()})
        else:
            flat[key] = value
    return flat


def items_diff(old: dict, new: dict) -> dict:
    """{item (currency-split items as item.CUR): {"from": old, "to": new}} for what changed."""
    before, after = _flatten(old), _flatten(new)
    return {
        key: {"from": before.get(key), "to": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def _items_document(values: dict) -> dict:
    with override("en"):  # the filed record keeps the rule text it was computed under
        known = registry()  # some labels are composed when the registry is built: in English too
        return {
            key: {
                "value": value,
                "label": str(known[key].label),
                "definition": str(known[key].definition),
                "public": known[key].public,
            }
            for key, value in values.items()
        }


def snapshot_file(
    *,
    entity: PlatformEntity,
    period: datetime.date | None = None,
    as_of: datetime.datetime | None = None,
    recompute: bool = False,
    actor: User | None = None,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> tuple[Snapshot, bool]:
    """File the entity's snapshot of `period` (a month) or `as_of` an instant. Returns (snapshot,
    filed now?)."""
    now = now or timezone.now()
    if (period is None) == (as_of is None):
        raise ApplicationError("invalid_period", _("Give either a month or an instant."), field="period")
    if period is not None:
        period = period.replace(day=1)
        as_of = period_as_of(period)
    if as_of > now:
        raise ApplicationError("period_not_over", _("Figures can only be filed for an instant that has passed."), field="period")
    with transaction.atomic():
        entity = PlatformEntity.objects.select_for_update().get(pk=entity.pk)
        previous_version = None
        if period is not None:
            previous_version = (
                Snapshot.objects.filter(entity=entity, kind=SnapshotKind.MONTHLY, period=period).order_by("-version").first()
            )
            if previous_version is not None and not recompute:
                return previous_version, False
        last = Snapshot.objects.filter(entity=entity).order_by("-sequence").first()
        items = _items_document(items_compute(entity, as_of))
        snapshot = Snapshot(
            entity=entity,
            kind=SnapshotKind.MONTHLY if period else SnapshotKind.AS_OF,
            period=period,
            as_of=as_of,
            computed_at=now,
            rule_version=RULE_VERSION,
            version=previous_version.version + 1 if previous_version else 1,
            sequence=last.sequence + 1 if last else 1,
            items_json=canonical(items),
            diff_json=canonical(items_diff(previous_version.items, items)) if previous_version else "",
            previous_sha256=last.sha256 if last else "",
            computed_by=actor if getattr(actor, "pk", None) else None,
            reason=reason[:300],
        )
        snapshot.sha256 = snapshot_hash(snapshot)
        snapshot.save()
        if period is not None:
            _alerts_raise(snapshot)
    return snapshot, True


def snapshots_file_month(*, period: datetime.date | None = None, now: datetime.datetime | None = None) -> int:
    """File `period` (default: last month) for every entity that reports; returns how many were
    filed now (0 when all were filed already)."""
    now = now or timezone.now()
    if period is None:
        this_month = period_of(now)
        period = (this_month - datetime.timedelta(days=1)).replace(day=1)
    filed = 0
    for entity in PlatformEntity.objects.filter(licence_status__in=FILING_STATUSES).order_by("pk"):
        _snapshot, created = snapshot_file(entity=entity, period=period, now=now)
        filed += created
    return filed


# --- the chain -------------------------------------------------------------------------------------


def chain_problems(*, entity_id: int | None = None) -> list[str]:
    """Every place an entity's chain breaks: a hash that is not its document's, a link to a hash that
    is not the previous snapshot's, a missing position."""
    problems = []
    snapshots = Snapshot.objects.order_by("entity_id", "sequence")
    if entity_id is not None:
        snapshots = snapshots.filter(entity_id=entity_id)
    previous = None
    for snapshot in snapshots.iterator(chunk_size=500):
        if previous is None or previous.entity_id != snapshot.entity_id:
            previous = None
        expected_sequence = previous.sequence + 1 if previous else 1
        where = f"entity {snapshot.entity_id}, snapshot {snapshot.pk} (position {snapshot.sequence})"
        if snapshot.sequence != expected_sequence:
            problems.append(f"{where}: position {expected_sequence} is missing")
        if snapshot.sha256 != snapshot_hash(snapshot):
            problems.append(f"{where}: its content does not match its hash")
        if snapshot.previous_sha256 != (previous.sha256 if previous else ""):
            problems.append(f"{where}: links to a previous hash that is not the previous snapshot's")
        previous = snapshot
    return problems


# --- alerts ----------------------------------------------------------------------------------------


def _alerts_raise(snapshot: Snapshot) -> list[Alert]:
    from .tasks import alert_notify

    alerts = []
    for threshold in AlertThreshold.objects.filter(enabled=True).order_by("item_key"):
        entry = snapshot.items.get(threshold.item_key)
        value = numeric(entry["value"]) if entry else None
        if value is None or not threshold.breached_by(value):
            continue
        alert = Alert.objects.create(
            snapshot=snapshot,
            entity_id=snapshot.entity_id,
            item_key=threshold.item_key,
            value=str(entry["value"]),
            comparison=threshold.comparison,
            limit=threshold.limit,
        )
        alert_notify.delay_on_commit(alert.pk)
        alerts.append(alert)
    return alerts


def alert_acknowledge(*, user: User, alert_id: int, note: str) -> Alert:
    """Regulators acknowledge an alert with a note; it stays, acknowledged."""
    if not user.is_regulator:
        raise ApplicationError("permission_denied", _("Only regulators acknowledge alerts."))
    note = (note or "").strip()
    if not note:
        raise ApplicationError("note_required", _("Say what was done about the alert."), field="note")
    if len(note) > 2000 or "\x00" in note:
        raise ApplicationError("invalid_note", _("The note must be plain text of at most 2,000 characters."), field="note")
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise ApplicationError("not_found", _("No such alert."), status=404)
        if alert.status != AlertStatus.OPEN:
            raise ApplicationError("alert_already_acknowledged", _("This alert was acknowledged already."), status=409)
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_by, alert.acknowledged_at, alert.acknowledgement_note = user, timezone.now(), note
        alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "acknowledgement_note"])
        audit_record(alert, action="alert_acknowledged", actor=user, from_value="open", to_value="acknowledged", note=note)
    return alert


# --- market access and exit ------------------------------------------------------------------------


def periods_since(entity: PlatformEntity, *, now: datetime.datetime | None = None) -> list[datetime.date]:
    """Every month from the entity's first to the last one over."""
    current, end = period_of(entity.created_at), period_of(now or timezone.now())
    months = []
    while current < end:
        months.append(current)
        current = month_after(current)
    return months


def entity_missing_periods(entity: PlatformEntity, *, now=None) -> list[datetime.date]:
    filed = set(Snapshot.objects.filter(entity=entity, kind=SnapshotKind.MONTHLY).values_list("period", flat=True))
    return [p for p in periods_since(entity, now=now) if p not in filed]


def entity_client_money(entity: PlatformEntity) -> dict:
    """What client money the entity still holds: money in its campaigns' and listings' escrows,
    principal its lenders are still owed, and supply-chain financings on its programmes not yet
    settled (funded and unpaid: the funders' money is out until the anchors pay; requested or approved:
    it may still move)."""
    from crowdfunding.models import Campaign
    from p2p.models import Loan, LoanStatus
    from platform_core.ledger.models import Account, AccountPurpose
    from supplychain.models import FINANCING_LIVE, FINANCING_OPEN, Financing

    keys = [f"escrow:crowdfunding.campaign:{pk}:" for pk in Campaign.objects.filter(entity=entity).values_list("pk", flat=True)]
    keys += [f"escrow:p2p.loan:{pk}:" for pk in Loan.objects.filter(entity=entity).values_list("pk", flat=True)]
    escrow = Account.objects.none()
    if keys:
        wanted = {key + currency for key in keys for currency in settings.PLATFORM["CURRENCIES"]}
        escrow = Account.objects.filter(purpose=AccountPurpose.ESCROW, key__in=wanted).exclude(balance=0)
    lent = Loan.objects.filter(entity=entity, status__in=[LoanStatus.ACTIVE, LoanStatus.DEFAULTED])
    financings = Financing.objects.filter(programme__entity=entity, status__in=FINANCING_LIVE | FINANCING_OPEN)
    return {"escrows": escrow.count(), "loans_outstanding": lent.count(), "financings_unsettled": financings.count()}


def entity_licence_change(*, entity: PlatformEntity, to: str, actor: User, reason: str, now=None) -> PlatformEntity:
    """License, suspend, begin exit or complete exit, with a reason (kept in the audit event)."""
    operator_require(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", _("Give the reason for the licence change."), field="reason")
    if to == LicenceStatus.EXITED and entity.licence_status == LicenceStatus.EXITING:
        held = entity_client_money(entity)
        if held["escrows"] or held["loans_outstanding"] or held["financings_unsettled"]:
            raise ApplicationError(
                "entity_holds_client_money",
                _(
                    "%(entity)s still holds client money: %(escrows)d escrow(s) not empty, %(loans)d loan(s) outstanding, "
                    "%(financings)d supply-chain financing(s) not settled."
                )
                % {
                    "entity": entity,
                    "escrows": held["escrows"],
                    "loans": held["loans_outstanding"],
                    "financings": held["financings_unsettled"],
                },
                status=409,
            )
        missing = entity_missing_periods(entity, now=now)
        if missing:
            raise ApplicationError(
                "disclosures_missing",
                _("%(entity)s has not filed the disclosures of %(months)s.")
                % {"entity": entity, "months": ", ".join(p.strftime("%Y-%m") for p in missing)},
                status=409,
            )
    return entity_transition(entity=entity, to=to, actor=actor, note=reason[:2000])
