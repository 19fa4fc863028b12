"""Every write of crowdfunding: campaign lifecycle, pledges, settlement (DOMAIN.md section 2).

Rules (defaults in settings.CROWDFUNDING, an operator's rule pack):
- Durations: reward campaigns run 1-60 days, equity offerings at least 21 days, measured from
  approval (when the campaign goes live) to the deadline.
- Pledges are refused, changing nothing, when: the campaign is not live or its deadline has passed
  (to the second), the amount is below the tier's minimum or the equity minimum, the tier is sold
  out, the campaign's maximum would be exceeded, the equity investor cap (200) or the investor's
  12-month equity limit (Reg CF 17 CFR 227.100) would be exceeded, the wallet lacks the money, the
  backer's KYC is not verified, or the backer belongs to the campaign's own organisation.
- Concurrency: a pledge locks, in this order, the backer (user or organisation row), the wallet and
  the escrow (by pk, in the ledger posting), then the campaign row (a conditional UPDATE that also
  checks status, deadline, maximum and investor cap) and the tier row (conditional UPDATE on the
  quantity): the hot campaign row last, so it is held for one statement and the commit.
  A cancellation (or an expired hold) takes the same order: wallet and escrow, then the campaign
  (`_release_lock`). Settlement locks the campaign row, then the escrow and wallets: a pledge still
  in flight at the very second of the deadline can close a lock cycle with it; PostgreSQL breaks it,
  the pledge is run again by the idempotency layer (and refused: the deadline has passed) or the
  settlement batch by the next beat.
- Equity investors may cancel until 48 hours before the deadline; reward backers until the
  deadline. A material change to an equity offering puts every commitment on hold until the
  investor reconfirms within 5 business days; unconfirmed ones are cancelled and refunded.
- Settlement empties the escrow exactly once, in batches that each commit with their pledges'
  new status, so a task that runs twice, concurrently, or is killed halfway has one effect.
"""

import datetime
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext

from platform_core.accounts.models import (
    InvestorProfile,
    Organisation,
    OrganisationKind,
    PlatformProperty,
    User,
)
from platform_core.accounts.services import (
    entity_default,
    entity_require_open,
    kyc_require_verified,
    operator_require,
    organisation_manager_require,
    party_require_money_rights,
    sme_manager_require,
)
from platform_core.audit import audit_record, audit_transition
from platform_core.db import lock_or_not_found, row_lock
from platform_core.enqueue import enqueue_on_commit
from platform_core.errors import ApplicationError
from platform_core.inputs import time_zone_check, whole_number
from platform_core.ledger.models import Account
from platform_core.ledger.services import (
    accounts_lock,
    escrow_for,
    escrow_refund,
    fee_changes,
    transaction_post,
    transfer,
    wallet_and_escrow,
    wallet_for,
)
from platform_core.money import ZERO, currency_check, default_currency, parse_amount, quantize
from platform_core.state import transition
from platform_core.uploads import image_upload_check

from . import selectors
from .models import (
    SETTLING,
    TRANSITIONS,
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignUpdate,
    EquityTerms,
    FundingModel,
    Pledge,
    PledgeStatus,
    RewardTier,
)

HELD = (PledgeStatus.ACTIVE, PledgeStatus.ON_HOLD)


def rules() -> dict:
    return settings.CROWDFUNDING


def _property_of(kind: str) -> str:
    return PlatformProperty.EQUITY_CROWDFUNDING if kind == CampaignKind.EQUITY else PlatformProperty.COMMODITY_CROWDFUNDING


# --- permissions ------------------------------------------------------------------------------


def _require_campaign_manager(user: User, campaign: Campaign) -> None:
    """The campaign's own SME (owner or finance member) manages it."""
    organisation_manager_require(
        user,
        campaign.organisation_id,
        not_found="No such campaign.",
        not_manager="Only the organisation's owners and finance members manage its campaigns.",
    )


# --- state machine ----------------------------------------------------------------------------


def _lock(campaign_id: int) -> Campaign:
    return lock_or_not_found(Campaign, campaign_id, "No such campaign.")


def _transition(campaign: Campaign, to: str, *, actor, note: str = "", fields: tuple = ()) -> Campaign:
    return transition(campaign, to, transitions=TRANSITIONS, actor=actor, note=note, fields=fields)


# --- validation -------------------------------------------------------------------------------


def _cover_image_check(image) -> None:
    if not image:
        return
    image_upload_check(
        image,
        field="cover_image",
        max_bytes=rules()["COVER_IMAGE_MAX_BYTES"],
        types=rules()["COVER_IMAGE_TYPES"],
        max_pixels=rules()["COVER_IMAGE_MAX_PIXELS"],
    )


def _duration_check(kind: str, start: datetime.datetime, deadline: datetime.datetime) -> None:
    days = (deadline - start).total_seconds() / 86400
    if kind == CampaignKind.EQUITY:
        low, high = rules()["EQUITY_MIN_DAYS"], rules()["EQUITY_MAX_DAYS"]
        label = "An equity offering"
    else:
        low, high = rules()["REWARD_MIN_DAYS"], rules()["REWARD_MAX_DAYS"]
        label = "A reward campaign"
    if days < low or days > high:
        raise ApplicationError(
            "invalid_duration", f"{label} runs {low} to {high} days; this deadline is {days:.1f} days away.", field="deadline"
        )


MAX_TIER_QUANTITY = 1_000_000


def _text(raw, *, field: str, code: str) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ApplicationError(code, "Send text here.", field=field)
    if "\x00" in raw:  # PostgreSQL refuses a NUL in text; serializers refuse it, nested JSON is read here
        raise ApplicationError(code, gettext("Text may not contain NUL characters."), field=field)
    return raw.strip()


def _tier_clean(raw: dict, currency: str) -> dict:
    title = _text(raw.get("title"), field="tiers", code="invalid_tier")
    if not title:
        raise ApplicationError("invalid_tier", "Every reward tier needs a title.", field="tiers")
    minimum = parse_amount(raw.get("minimum_amount"), currency=currency, field="tiers")
    limit = raw.get("quantity_limit")
    if limit in ("", None):
        limit = None
    else:
        limit = whole_number(
            limit,
            field="tiers",
            code="invalid_tier",
            low=1,
            high=MAX_TIER_QUANTITY,
            message=gettext("A tier's quantity limit is 1 to %(max)s (leave it empty for unlimited).")
            % {"max": f"{MAX_TIER_QUANTITY:,}"},
        )
    delivery = raw.get("estimated_delivery")
    if isinstance(delivery, str):
        try:
            delivery = datetime.date.fromisoformat(delivery if len(delivery) > 7 else f"{delivery}-01")
        except ValueError:
            delivery = None
    if not isinstance(delivery, datetime.date):
        raise ApplicationError("invalid_tier", "Give each tier an estimated delivery month (YYYY-MM).", field="tiers")
    return {
        "title": title[:200],
        "description": _text(raw.get("description"), field="tiers", code="invalid_tier"),
        "minimum_amount": minimum,
        "quantity_limit": limit,
        "estimated_delivery": delivery.replace(day=1),
    }


def _terms_clean(raw: dict | None, currency: str) -> dict:
    if not raw:
        raise ApplicationError("equity_terms_required", "An equity offering needs its terms.", field="equity_terms")
    max_investors = raw.get("max_investors")
    max_investors = whole_number(
        rules()["EQUITY_MAX_INVESTORS"] if max_investors in (None, "") else max_investors,
        field="max_investors",
        code="invalid_equity_terms",
        low=1,
        high=rules()["EQUITY_MAX_INVESTORS"],
        message=gettext("The maximum number of investors is a whole number from 1 to %(max)s.")
        % {"max": rules()["EQUITY_MAX_INVESTORS"]},
    )
    return {
        "price_per_share": parse_amount(raw.get("price_per_share"), currency=currency, field="price_per_share"),
        "minimum_investment": parse_amount(raw.get("minimum_investment"), currency=currency, field="minimum_investment"),
        "pre_money_valuation": parse_amount(raw.get("pre_money_valuation"), currency=currency, field="pre_money_valuation"),
        "max_investors": max_investors,
    }


def _campaign_clean(data: dict, *, kind: str) -> dict:
    """Check and normalise the SME's input. Returns the model fields (without tiers/terms)."""
    if kind not in CampaignKind.values:
        raise ApplicationError("invalid_kind", "Choose reward or equity.", field="kind")
    currency = currency_check(data.get("currency") or default_currency())
    title = (data.get("title") or "").strip()
    if not title:
        raise ApplicationError("invalid_title", "Give the campaign a title.", field="title")
    summary = (data.get("summary") or "").strip()
    if not summary:
        raise ApplicationError("invalid_summary", "Give the campaign a one-paragraph summary.", field="summary")
    category = data.get("category") or ""
    if category not in dict(rules()["CATEGORIES"]):
        raise ApplicationError("invalid_category", "Choose a category.", field="category")
    target = parse_amount(data.get("target_amount"), currency=currency, field="target_amount")
    maximum = data.get("maximum_amount")
    maximum = None if maximum in (None, "") else parse_amount(maximum, currency=currency, field="maximum_amount")
    if maximum is not None and maximum < target:
        raise ApplicationError("invalid_maximum", "The maximum must be at least the target.", field="maximum_amount")
    funding_model = data.get("funding_model") or FundingModel.ALL_OR_NOTHING
    if funding_model not in FundingModel.values:
        raise ApplicationError("invalid_funding_model", "Choose all-or-nothing or flexible.", field="funding_model")
    if kind == CampaignKind.EQUITY:
        if maximum is None:
            raise ApplicationError("maximum_required", "An equity offering needs a maximum amount.", field="maximum_amount")
        if funding_model != FundingModel.ALL_OR_NOTHING:
            raise ApplicationError("invalid_funding_model", "Equity offerings are always all-or-nothing.", field="funding_model")
    tz_name = time_zone_check(data.get("time_zone") or settings.PLATFORM_DEFAULT_TIME_ZONE)
    zone = zoneinfo.ZoneInfo(tz_name)
    deadline = data.get("deadline")
    if isinstance(deadline, str):
        try:
            deadline = datetime.datetime.fromisoformat(deadline)
        except ValueError:
            deadline = None
    if not isinstance(deadline, datetime.datetime):
        raise ApplicationError("invalid_deadline", "Give a deadline (date and time).", field="deadline")
    if timezone.is_naive(deadline):  # a wall-clock time in the campaign's own zone
        deadline = deadline.replace(tzinfo=zone)
    try:
        deadline = deadline.astimezone(datetime.UTC)
    except (OverflowError, ValueError):
        raise ApplicationError("invalid_deadline", "That deadline is out of range.", field="deadline") from None
    _duration_check(kind, timezone.now(), deadline)
    _cover_image_check(data.get("cover_image"))
    return {
        "title": title[:200],
        "summary": summary[:500],
        "story": (data.get("story") or "").strip(),
        "category": category,
        "target_amount": target,
        "maximum_amount": maximum,
        "funding_model": funding_model,
        "currency": currency,
        "time_zone": tz_name,
        "deadline": deadline,
    }


EDITABLE = (
    "title",
    "summary",
    "story",
    "category",
    "target_amount",
    "maximum_amount",
    "funding_model",
    "currency",
    "time_zone",
    "deadline",
)


# --- campaign lifecycle -----------------------------------------------------------------------


def campaign_create(
    *, user: User, kind: str, tiers: list[dict] | None = None, equity_terms: dict | None = None, **data
) -> Campaign:
    """A draft campaign of the user's SME, with its reward tiers or equity terms."""
    sme_manager_require(
        user,
        not_sme="Only SMEs raise money with campaigns.",
        not_manager="Only the organisation's owners and finance members create campaigns.",
    )
    entity = entity_default()
    entity_require_open(entity, _property_of(kind))
    fields = _campaign_clean(data, kind=kind)
    tier_rows = [_tier_clean(t, fields["currency"]) for t in (tiers or [])] if kind == CampaignKind.REWARD else []
    terms = _terms_clean(equity_terms, fields["currency"]) if kind == CampaignKind.EQUITY else None
    with transaction.atomic():
        campaign = Campaign.objects.create(
            entity=entity,
            organisation=user.organisation,
            created_by=user,
            kind=kind,
            cover_image=data.get("cover_image") or "",
            **fields,
        )
        RewardTier.objects.bulk_create([RewardTier(campaign=campaign, **row) for row in tier_rows])
        if terms:
            EquityTerms.objects.create(campaign=campaign, **terms)
        audit_record(campaign, action="created", actor=user, to_value=campaign.status)
    return campaign


def campaign_update(
    *, user: User, campaign_id: int, tiers: list[dict] | None = None, equity_terms: dict | None = None, **data
) -> Campaign:
    """Edit a draft. Fields not given keep their values; `tiers`, when given, replace the tiers."""
    with transaction.atomic():
        campaign = _lock(campaign_id)
        _require_campaign_manager(user, campaign)
        if campaign.status != CampaignStatus.DRAFT:
            raise ApplicationError("not_editable", "Only a draft can be edited.", status=409)
        merged = {name: getattr(campaign, name) for name in EDITABLE}
        merged.update({k: v for k, v in data.items() if k in EDITABLE})
        cover = data.get("cover_image")
        fields = _campaign_clean({**merged, "cover_image": cover}, kind=campaign.kind)
        for name, value in fields.items():
            setattr(campaign, name, value)
        if cover:
            campaign.cover_image = cover
        campaign.save()
        if tiers is not None and campaign.kind == CampaignKind.REWARD:
            rows = [_tier_clean(t, campaign.currency) for t in tiers]
            campaign.tiers.all().delete()
            RewardTier.objects.bulk_create([RewardTier(campaign=campaign, **row) for row in rows])
        if equity_terms is not None and campaign.kind == CampaignKind.EQUITY:
            EquityTerms.objects.update_or_create(campaign=campaign, defaults=_terms_clean(equity_terms, campaign.currency))
        audit_record(campaign, action="edited", actor=user)
    return campaign


def campaign_submit(*, user: User, campaign_id: int) -> Campaign:
    with transaction.atomic():
        campaign = _lock(campaign_id)
        _require_campaign_manager(user, campaign)
        entity_require_open(campaign.entity, _property_of(campaign.kind))
        _duration_check(campaign.kind, timezone.now(), campaign.deadline)
        if campaign.kind == CampaignKind.EQUITY and not EquityTerms.objects.filter(campaign=campaign).exists():
            raise ApplicationError("equity_terms_required", "An equity offering needs its terms.")
        return _transition(campaign, CampaignStatus.IN_REVIEW, actor=user)


def _issuer_raised_12_months(organisation: Organisation, now) -> Decimal:
    since = now - datetime.timedelta(days=365)
    return (
        Campaign.objects.filter(organisation=organisation, kind=CampaignKind.EQUITY, launched_at__gte=since)
        .exclude(Q(outcome__in=["failed", "cancelled"]) | Q(status__in=[CampaignStatus.FAILED, CampaignStatus.CANCELLED]))
        .aggregate(s=Sum("maximum_amount"))["s"]
        or ZERO
    )


def campaign_approve(*, actor: User, campaign_id: int) -> Campaign:
    """The operator's approval puts the campaign live now."""
    operator_require(actor)
    with transaction.atomic():
        campaign = _lock(campaign_id)
        if campaign.status != CampaignStatus.IN_REVIEW:
            raise ApplicationError("invalid_transition", "Only a campaign in review can be approved.", status=409)
        entity_require_open(campaign.entity, _property_of(campaign.kind))
        now = timezone.now()
        _duration_check(campaign.kind, now, campaign.deadline)
        if campaign.kind == CampaignKind.EQUITY:
            already = _issuer_raised_12_months(campaign.organisation, now)
            cap = rules()["ISSUER_12_MONTH_CAP"]
            if already + campaign.maximum_amount > cap:
                raise ApplicationError(
                    "issuer_cap_exceeded",
                    f"The issuer may raise at most {cap} in 12 months by equity; {already} is already offered.",
                )
        campaign.launched_at = now
        campaign.fee_rate = rules()["PLATFORM_FEE_RATE"]
        return _transition(campaign, CampaignStatus.LIVE, actor=actor, fields=("launched_at", "fee_rate"))


def campaign_reject(*, actor: User, campaign_id: int, reason: str) -> Campaign:
    operator_require(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", "Say why the campaign is rejected.", field="reason")
    with transaction.atomic():
        campaign = _lock(campaign_id)
        campaign.rejection_reason = reason
        return _transition(campaign, CampaignStatus.REJECTED, actor=actor, note=reason, fields=("rejection_reason",))


def campaign_redraft(*, user: User, campaign_id: int) -> Campaign:
    """A rejected campaign goes back to draft for the SME to fix."""
    with transaction.atomic():
        campaign = _lock(campaign_id)
        _require_campaign_manager(user, campaign)
        return _transition(campaign, CampaignStatus.DRAFT, actor=user)


def campaign_suspend(*, actor: User, campaign_id: int, reason: str = "") -> Campaign:
    operator_require(actor)
    with transaction.atomic():
        return _transition(_lock(campaign_id), CampaignStatus.SUSPENDED, actor=actor, note=reason)


def campaign_resume(*, actor: User, campaign_id: int) -> Campaign:
    operator_require(actor)
    with transaction.atomic():
        campaign = _lock(campaign_id)
        if campaign.deadline <= timezone.now():
            raise ApplicationError("campaign_closed", "The deadline has passed; the campaign will be closed.", status=409)
        return _transition(campaign, CampaignStatus.LIVE, actor=actor)


def campaign_cancel(*, user: User, campaign_id: int, reason: str = "") -> Campaign:
    """The SME (or an operator) cancels a live campaign; every pledge is refunded by the settlement task."""
    with transaction.atomic():
        campaign = _lock(campaign_id)
        if not user.is_operator:
            _require_campaign_manager(user, campaign)
        campaign.outcome = "cancelled"
        _transition(campaign, CampaignStatus.CANCELLED, actor=user, note=reason, fields=("outcome",))
        _settle_after_commit(campaign.pk)
    return campaign


def _settle_after_commit(campaign_id: int) -> None:
    from .tasks import campaign_settle_task

    enqueue_on_commit(campaign_settle_task, campaign_id)


def campaign_close(*, campaign_id: int, now=None) -> Campaign | None:
    """At the deadline: decide success or failure and hand the campaign to settlement. Returns None
    when there is nothing to do (not due, or already closed)."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = _lock(campaign_id)
        if campaign.status not in (CampaignStatus.LIVE, CampaignStatus.SUSPENDED) or campaign.deadline > now:
            return None
        committed = campaign.pledges.filter(status=PledgeStatus.ACTIVE).aggregate(s=Sum("amount"))["s"] or ZERO
        if campaign.status == CampaignStatus.SUSPENDED:
            outcome, note = CampaignStatus.FAILED, "suspended at the deadline"
        elif campaign.funding_model == FundingModel.FLEXIBLE:
            outcome, note = (CampaignStatus.SUCCEEDED if committed > 0 else CampaignStatus.FAILED), "flexible funding"
        else:
            outcome = CampaignStatus.SUCCEEDED if committed >= campaign.target_amount else CampaignStatus.FAILED
            note = f"raised {committed} of {campaign.target_amount}"
        campaign.outcome = outcome.value
        _transition(campaign, outcome, actor=None, note=note, fields=("outcome",))
        _settle_after_commit(campaign.pk)
    return campaign


def campaigns_due(*, now=None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        Campaign.objects.filter(status__in=[CampaignStatus.LIVE, CampaignStatus.SUSPENDED], deadline__lte=now)
        .order_by("deadline")
        .values_list("pk", flat=True)[:limit]
    )


# --- settlement -------------------------------------------------------------------------------


def campaign_settle(*, campaign_id: int, batch_size: int | None = None, max_batches: int | None = None) -> bool:
    """Empty the escrow of a closed campaign. Returns True once settled. Safe to run twice or
    concurrently (each batch locks the campaign row and commits with its pledges' new status)."""
    batch_size = batch_size or rules()["SETTLEMENT_BATCH_SIZE"]
    batches, escrow = 0, None
    after: dict[str, int] = {}  # per status, the last pledge refunded by this call: the next batch starts past it
    while max_batches is None or batches < max_batches:
        batches += 1
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
            if campaign is None:
                return False
            if campaign.status not in SETTLING:
                return campaign.status == CampaignStatus.SETTLED
            escrow = escrow or escrow_for(campaign, campaign.currency)
            # on success, commitments still on hold were not reconfirmed: refund them, then pay out
            refunding = (
                (PledgeStatus.ON_HOLD,)
                if campaign.status == CampaignStatus.SUCCEEDED
                else (PledgeStatus.ON_HOLD, PledgeStatus.ACTIVE)
            )
            if any(_refund_batch(campaign, escrow, batch_size, status=status, after=after) for status in refunding):
                continue
            if campaign.status == CampaignStatus.SUCCEEDED:
                _payout(campaign)
                return True
            campaign.settled_at = timezone.now()
            _transition(campaign, CampaignStatus.SETTLED, actor=None, note="every pledge refunded", fields=("settled_at",))
            _notify_after_commit(campaign.pk)
            return True
    return False


def _refund_batch(campaign: Campaign, escrow: Account, batch_size: int, *, status: str, after: dict[str, int]) -> int:
    """Refund the next batch of pledges of one status in one balanced transaction (the campaign row
    locked by the caller). One status at a time, so the (campaign, status, id) index serves the
    batches in order, each starting past the last one (`after`) rather than wading through the
    index entries of pledges already refunded. Returns how many."""
    rows = list(
        Pledge.objects.select_for_update()
        .filter(campaign=campaign, status=status, pk__gt=after.get(status, 0))
        .order_by("pk")
        .values_list("pk", "wallet_id", "amount")[:batch_size]
    )
    if not rows:
        return 0
    after[status] = rows[-1][0]
    first, last = rows[0][0], rows[-1][0]
    txn = escrow_refund(
        escrow=escrow,
        rows=[(wallet_id, amount) for _, wallet_id, amount in rows],
        kind="crowdfunding_refund",
        memo=f"Refund of campaign {campaign.pk}: {campaign.title}",
        reference=f"crowdfunding:campaign:{campaign.pk}:refund:{first}-{last}",
    )
    refunded = Pledge.objects.filter(campaign=campaign, status=status, pk__gte=first, pk__lte=last).update(
        status=PledgeStatus.REFUNDED, refund_transaction=txn, updated_at=timezone.now()
    )
    if refunded != len(rows):  # cannot happen with the rows locked; never pay for pledges not marked
        raise RuntimeError(f"campaign {campaign.pk}: refunded {len(rows)} pledges but marked {refunded}")
    campaign.refunded_amount += sum((amount for _, _, amount in rows), ZERO)
    campaign.refunded_count += refunded
    campaign.save(update_fields=["refunded_amount", "refunded_count", "updated_at"])
    return refunded


def _payout(campaign: Campaign) -> None:
    escrow = escrow_for(campaign, campaign.currency)
    gross = Pledge.objects.filter(campaign=campaign, status=PledgeStatus.ACTIVE).aggregate(s=Sum("amount"))["s"] or ZERO
    fee = quantize(gross * (campaign.fee_rate or ZERO), campaign.currency)
    net = gross - fee
    if gross:
        sme_wallet = wallet_for(campaign.organisation, campaign.currency)
        changes = [(escrow, -net), (sme_wallet, net)] if net else []
        if fee:
            changes += fee_changes(source=escrow, amount=fee)
        transaction_post(
            kind="crowdfunding_payout",
            changes=changes,
            memo=f"Payout of campaign {campaign.pk}: {campaign.title}"[:300],
            reference=f"crowdfunding:campaign:{campaign.pk}:payout",
        )
    Pledge.objects.filter(campaign=campaign, status=PledgeStatus.ACTIVE).update(
        status=PledgeStatus.COLLECTED, updated_at=timezone.now()
    )
    campaign.payout_amount, campaign.fee_amount, campaign.settled_at = net, fee, timezone.now()
    _transition(
        campaign,
        CampaignStatus.SETTLED,
        actor=None,
        note=f"paid {net} to the SME, fee {fee}",
        fields=("payout_amount", "fee_amount", "settled_at"),
    )
    _notify_after_commit(campaign.pk)


def _notify_after_commit(campaign_id: int) -> None:
    from .tasks import campaign_outcome_notify_task

    enqueue_on_commit(campaign_outcome_notify_task, campaign_id)


def campaign_outcome_notify(*, campaign_id: int, batch_size: int = 500) -> int:
    """E-mail every backer (once per pledge) and the SME the outcome. Returns e-mails sent.

    Resumable and never twice: each backer's pledge is marked told (`notified_at`, committed) just
    before its e-mail is handed to the mail server, so a run killed at any point is resumed by the
    next run (the resume job enqueues it) with the backers not yet told, and concurrent runs share
    the work. A run killed between the mark and the hand-over leaves at most that one backer
    untold (at most once, never twice). The SME is told once, under the campaign's row lock, and
    `outcome_notified_at` closes the job."""
    from django.core import mail

    campaign = Campaign.objects.select_related("organisation").get(pk=campaign_id)
    if campaign.status != CampaignStatus.SETTLED or campaign.outcome_notified_at is not None:
        return 0
    verdict = {
        "succeeded": f"reached its target and was paid out ({campaign.payout_amount} {campaign.currency} to the SME)",
        "failed": "did not reach its target; every pledge was refunded to its wallet",
        "cancelled": "was cancelled; every pledge was refunded to its wallet",
    }.get(campaign.outcome, campaign.outcome)
    sent = 0
    to_tell = (
        Pledge.objects.filter(campaign=campaign, notified_at__isnull=True).exclude(status=PledgeStatus.CANCELLED).order_by("pk")
    )
    with mail.get_connection() as connection:
        while batch := list(to_tell.select_related("backer")[:batch_size]):
            for pledge in batch:
                # claim this backer (autocommit): whoever claims sends, nobody else
                if not Pledge.objects.filter(pk=pledge.pk, notified_at__isnull=True).update(notified_at=timezone.now()):
                    continue
                if pledge.backer.email:
                    connection.send_messages(
                        [
                            mail.EmailMessage(
                                subject=f"{campaign.title}: {campaign.outcome}",
                                body=f'The campaign "{campaign.title}" {verdict}. Your pledge of {pledge.amount} '
                                f"{pledge.currency} is now {pledge.get_status_display().lower()}.",
                                to=[pledge.backer.email],
                            )
                        ]
                    )
                    sent += 1
            Campaign.objects.filter(pk=campaign_id).update(updated_at=timezone.now())  # progress: not stalled
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update().select_related("organisation").get(pk=campaign_id)
            if campaign.outcome_notified_at is None:
                owners = list(campaign.organisation.members.exclude(email="").values_list("email", flat=True))
                if owners:
                    connection.send_messages(
                        [
                            mail.EmailMessage(
                                subject=f"{campaign.title}: {campaign.outcome}",
                                body=f'Your campaign "{campaign.title}" {verdict}.',
                                to=owners,
                            )
                        ]
                    )
                    sent += 1
                campaign.outcome_notified_at = timezone.now()
                campaign.save(update_fields=["outcome_notified_at", "updated_at"])
                audit_record(campaign, action="outcome_notified", to_value=campaign.outcome)
    return sent


def campaigns_to_resume(*, now=None, limit: int = 500) -> tuple[list[int], list[int]]:
    """Work a lost message, a broker that was away or a killed worker left behind: settlements and
    outcome notifications that made no progress for RESUME_STALLED_AFTER. Returns (to settle, to
    notify). Every settlement batch and every batch of notifications touches `updated_at`; a
    notification run is unfinished until `outcome_notified_at` is set."""
    cutoff = (now or timezone.now()) - settings.RESUME_STALLED_AFTER
    settle = Campaign.objects.filter(status__in=list(SETTLING), updated_at__lt=cutoff).order_by("pk")
    notify = Campaign.objects.filter(
        status=CampaignStatus.SETTLED, outcome_notified_at__isnull=True, updated_at__lt=cutoff
    ).order_by("pk")
    return list(settle.values_list("pk", flat=True)[:limit]), list(notify.values_list("pk", flat=True)[:limit])


# --- pledges ----------------------------------------------------------------------------------


def equity_investor_limit(user: User) -> Decimal | None:
    """The 12-month limit across all equity offerings (17 CFR 227.100(a)(2)); None: unlimited."""
    profile = InvestorProfile.objects.filter(user_id=user.pk).first()  # as declared now, not a cached copy
    if profile is not None and profile.accredited:
        return None
    r = rules()
    if profile is None:  # nothing declared: the floor
        return r["INVESTOR_LIMIT_FLOOR"]
    greater = max(profile.annual_income, profile.net_worth)
    if profile.annual_income < r["INVESTOR_LIMIT_THRESHOLD"] or profile.net_worth < r["INVESTOR_LIMIT_THRESHOLD"]:
        limit = max(r["INVESTOR_LIMIT_FLOOR"], greater * r["INVESTOR_LIMIT_LOW_RATE"])
    else:
        limit = min(greater * r["INVESTOR_LIMIT_HIGH_RATE"], r["INVESTOR_LIMIT_CAP"])
    return quantize(limit, rounding="ROUND_DOWN")


def equity_invested_12_months(user: User, now) -> Decimal:
    return (
        Pledge.objects.filter(
            backer=user,
            backer_organisation__isnull=True,
            campaign__kind=CampaignKind.EQUITY,
            status__in=[PledgeStatus.ACTIVE, PledgeStatus.ON_HOLD, PledgeStatus.COLLECTED],
            created_at__gte=now - datetime.timedelta(days=365),
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )


def _held_pledges_of(party, campaign_id: int):
    q = Pledge.objects.filter(campaign_id=campaign_id, status__in=HELD)
    if isinstance(party, Organisation):
        return q.filter(backer_organisation=party)
    return q.filter(backer=party, backer_organisation__isnull=True)


# Add one pledge to its campaign's counters, if the campaign is live, before its deadline, below its
# maximum and (equity) below its maximum number of investors, which a backer already holding a
# pledge does not count against. Whether the backer already holds one is asked inside the same
# statement; the backer's row lock, taken first, keeps their other pledges still until the commit.
# Plain SQL (PostgreSQL and SQLite alike): this is the row every concurrent pledge waits for, and the
# ORM would spend longer building the statement than the database spends running it.
PLEDGE_COUNT_SQL = """
UPDATE crowdfunding_campaign
   SET raised_amount = raised_amount + %(amount)s,
       pledge_count = pledge_count + 1,
       investor_count = investor_count + CASE WHEN {known} THEN 0 ELSE 1 END,
       updated_at = %(now)s
 WHERE id = %(campaign)s AND status = %(live)s AND deadline > %(now)s
   AND (maximum_amount IS NULL OR maximum_amount >= raised_amount + %(amount)s)
   {investor_cap}
"""
BACKER_KNOWN_SQL = """EXISTS (
    SELECT 1 FROM crowdfunding_pledge AS p
     WHERE p.campaign_id = %(campaign)s AND p.status IN ({held}) AND p.id <> %(pledge)s AND {backer}
)"""


def _pledge_count_in(campaign: Campaign, *, pledge: Pledge, party, now, max_investors: int | None) -> bool:
    """Count a new pledge into its campaign (PLEDGE_COUNT_SQL); False if the campaign refused it.
    "Already a backer" is the rule of _held_pledges_of, asked inside the statement."""
    if isinstance(party, Organisation):
        backer = "p.backer_organisation_id = %(party)s"
    else:
        backer = "p.backer_id = %(party)s AND p.backer_organisation_id IS NULL"
    held = {f"held_{i}": status.value for i, status in enumerate(HELD)}
    known = BACKER_KNOWN_SQL.format(backer=backer, held=", ".join(f"%({name})s" for name in held))
    investor_cap = "" if max_investors is None else f"AND ({known} OR investor_count < %(max_investors)s)"
    params = {
        "amount": connection.ops.adapt_decimalfield_value(pledge.amount),
        "now": connection.ops.adapt_datetimefield_value(now),
        "campaign": campaign.pk,
        "live": CampaignStatus.LIVE.value,
        **held,
        "pledge": pledge.pk,
        "party": party.pk,
        "max_investors": max_investors,
    }
    with connection.cursor() as cursor:
        cursor.execute(PLEDGE_COUNT_SQL.format(known=known, investor_cap=investor_cap), params)
        return cursor.rowcount == 1


def _refusal_reason(campaign_id: int, amount: Decimal, now, new_investor: bool) -> ApplicationError:
    campaign = Campaign.objects.select_related("equity_terms").get(pk=campaign_id)
    if campaign.status != CampaignStatus.LIVE:
        return ApplicationError(
            "campaign_not_live", f"This campaign is {campaign.get_status_display().lower()}; it takes no pledges.", status=409
        )
    if campaign.deadline <= now:
        return ApplicationError("campaign_closed", "The deadline has passed; the campaign takes no more pledges.", status=409)
    if campaign.maximum_amount is not None and campaign.raised_amount + amount > campaign.maximum_amount:
        room = campaign.maximum_amount - campaign.raised_amount
        return ApplicationError(
            "maximum_exceeded",
            f"This pledge would exceed the campaign's maximum; at most {room} can still be pledged.",
            field="amount",
            status=409,
        )
    if new_investor and campaign.is_equity:
        return ApplicationError("max_investors_reached", "This offering has reached its maximum number of investors.", status=409)
    return ApplicationError("conflict", "The pledge could not be recorded; try again.", status=409)


#: What a pledge reads of its campaign (a hot path: not the story, not the counters).
PLEDGE_CAMPAIGN_FIELDS = (
    "pk",
    "kind",
    "title",
    "status",
    "deadline",
    "currency",
    "organisation_id",
    "maximum_amount",
    "equity_terms__price_per_share",
    "equity_terms__minimum_investment",
    "equity_terms__max_investors",
)


def pledge_create(*, user: User, campaign_id: int, amount, tier_id: int | None = None, now=None) -> Pledge:
    now = now or timezone.now()
    try:
        campaign = (
            Campaign.objects.select_related("equity_terms")
            .only(*PLEDGE_CAMPAIGN_FIELDS)
            .filter(selectors.campaign_visible(user))
            .get(pk=campaign_id)
        )
    except Campaign.DoesNotExist:
        raise ApplicationError("not_found", "No such campaign.", status=404) from None
    amount = parse_amount(amount, currency=campaign.currency)
    party = party_require_money_rights(user)
    kyc_require_verified(party)
    if isinstance(party, Organisation) and party.pk == campaign.organisation_id:
        raise ApplicationError("own_campaign", "You cannot pledge to your own organisation's campaign.")
    if isinstance(party, Organisation) and party.kind not in (OrganisationKind.INSTITUTIONAL_INVESTOR,):
        raise ApplicationError("permission_denied", "Only investors pledge to campaigns.")
    if campaign.status != CampaignStatus.LIVE or campaign.deadline <= now:
        raise _refusal_reason(campaign.pk, ZERO, now, False)
    tier = None
    if tier_id is not None:
        tier = RewardTier.objects.filter(pk=tier_id, campaign=campaign).first()
        if tier is None:
            raise ApplicationError("invalid_tier", "That reward tier does not belong to this campaign.", field="tier")
        if amount < tier.minimum_amount:
            raise ApplicationError(
                "below_tier_minimum", f"This reward needs a pledge of at least {tier.minimum_amount}.", field="amount"
            )
    shares = 0
    if campaign.is_equity:
        terms = campaign.equity_terms
        if tier is not None:
            raise ApplicationError("invalid_tier", "Equity offerings have no reward tiers.", field="tier")
        if amount < terms.minimum_investment:
            raise ApplicationError(
                "below_minimum_investment", f"The minimum investment is {terms.minimum_investment}.", field="amount"
            )
        shares_exact = amount / terms.price_per_share
        if shares_exact != shares_exact.to_integral_value():
            raise ApplicationError(
                "not_whole_shares", f"Invest a multiple of the share price ({terms.price_per_share}).", field="amount"
            )
        shares = int(shares_exact)

    wallet, escrow = wallet_and_escrow(party, campaign, campaign.currency)
    with transaction.atomic():
        row_lock(party)  # serialises one backer's pledges: investor count, 12-month limit
        if campaign.is_equity and not isinstance(party, Organisation):
            limit = equity_investor_limit(user)
            if limit is not None:
                used = equity_invested_12_months(user, now)
                if used + amount > limit:
                    raise ApplicationError(
                        "investor_limit_exceeded",
                        f"Your 12-month equity crowdfunding limit is {limit}; you have {max(limit - used, ZERO)} left.",
                        field="amount",
                    )
        pledge = Pledge.objects.create(
            campaign=campaign,
            backer=user,
            backer_organisation=party if isinstance(party, Organisation) else None,
            wallet=wallet,
            tier=tier,
            amount=amount,
            currency=campaign.currency,
            shares=shares,
        )
        audit_record(pledge, action="created", actor=user, to_value=pledge.status, data={"amount": str(amount)})
        transaction_post(
            kind="crowdfunding_pledge",
            changes=[(wallet, -amount), (escrow, amount)],
            memo=f"Pledge {pledge.pk} to {campaign.title}",
            actor=user,
            reference=f"crowdfunding:pledge:{pledge.pk}:in",
            reference_is_new=True,
            savepoint=False,
        )
        # The hot rows come last, so they stay locked only until the commit: the escrow (locked at
        # the end of the transfer), then the campaign and the tier (conditional UPDATEs).
        counted = _pledge_count_in(
            campaign,
            pledge=pledge,
            party=party,
            now=now,
            max_investors=campaign.equity_terms.max_investors if campaign.is_equity else None,
        )
        if not counted:
            new_investor = not _held_pledges_of(party, campaign.pk).exclude(pk=pledge.pk).exists()
            raise _refusal_reason(campaign.pk, amount, now, new_investor)
        if tier is not None:
            taken = (
                RewardTier.objects.filter(pk=tier.pk)
                .filter(Q(quantity_limit__isnull=True) | Q(claimed__lt=F("quantity_limit")))
                .update(claimed=F("claimed") + 1)
            )
            if taken != 1:
                raise ApplicationError("tier_sold_out", f'The reward "{tier.title}" is sold out.', field="tier", status=409)
    return pledge


def _pledge_for_backer(user: User, pledge_id: int) -> Pledge:
    """The user's own pledge (unlocked), or not_found: another backer's pledge is not revealed."""
    pledge = Pledge.objects.filter(pk=pledge_id).first()
    if pledge is None:
        raise ApplicationError("not_found", "No such pledge.", status=404)
    mine = pledge.backer_id == user.pk or (
        pledge.backer_organisation_id and pledge.backer_organisation_id == user.organisation_id
    )
    if not mine:
        raise ApplicationError("not_found", "No such pledge.", status=404)
    party_require_money_rights(user)  # an organisation's viewers see its pledges but do not move its money
    return pledge


def _release_lock(pledge: Pledge) -> tuple[Campaign, Pledge]:
    """Lock what releasing a pledge touches, in the order a pledge takes them: the backer's wallet
    and the campaign's escrow (by pk, as postings do), then the campaign row, then the pledge (its
    current state returned). The same order as pledge_create, so the two cannot close a lock cycle."""
    escrow = escrow_for(Campaign(pk=pledge.campaign_id), pledge.currency)
    accounts_lock([pledge.wallet_id, escrow.pk])
    campaign = _lock(pledge.campaign_id)
    return campaign, Pledge.objects.select_for_update().get(pk=pledge.pk)


def _pledge_release(pledge: Pledge, campaign: Campaign, *, status: str, actor, note: str) -> Pledge:
    """Refund one held pledge to its wallet and take it off the campaign's counters (campaign row
    locked by the caller)."""
    old = pledge.status
    txn = transfer(
        source=escrow_for(campaign, campaign.currency),
        destination=pledge.wallet,
        amount=pledge.amount,
        kind="crowdfunding_pledge_cancel",
        memo=f"Pledge {pledge.pk} cancelled"[:300],
        actor=actor,
        reference=f"crowdfunding:pledge:{pledge.pk}:cancel",
    )
    pledge.status, pledge.refund_transaction, pledge.reconfirm_by = status, txn, None
    pledge.save(update_fields=["status", "refund_transaction", "reconfirm_by", "updated_at"])
    party = pledge.backer_organisation or pledge.backer
    campaign.raised_amount -= pledge.amount
    campaign.pledge_count -= 1
    if not _held_pledges_of(party, campaign.pk).exists():
        campaign.investor_count -= 1
    campaign.save(update_fields=["raised_amount", "pledge_count", "investor_count", "updated_at"])
    if pledge.tier_id:
        RewardTier.objects.filter(pk=pledge.tier_id).update(claimed=F("claimed") - 1)
    audit_transition(pledge, old=old, actor=actor, note=note)
    return pledge


def pledge_cancel_refusal(pledge: Pledge, campaign: Campaign, now) -> ApplicationError | None:
    """Why this pledge cannot be cancelled now, or None (the pages use it to show the button)."""
    if pledge.status not in HELD:
        return ApplicationError("not_cancellable", f"This pledge is {pledge.get_status_display().lower()}.", status=409)
    if campaign.status not in (CampaignStatus.LIVE, CampaignStatus.SUSPENDED) or campaign.deadline <= now:
        return ApplicationError("not_cancellable", "The campaign has closed; pledges are final.", status=409)
    if campaign.is_equity and pledge.status == PledgeStatus.ACTIVE:
        hours = rules()["EQUITY_CANCEL_CUTOFF_HOURS"]
        if now >= campaign.deadline - datetime.timedelta(hours=hours):
            return ApplicationError(
                "cancellation_window_closed",
                f"Equity commitments can be cancelled until {hours} hours before the deadline.",
                status=409,
            )
    return None


def pledge_reconfirm_refusal(pledge: Pledge, campaign: Campaign, now) -> ApplicationError | None:
    """Why this pledge cannot be reconfirmed now, or None."""
    if campaign.status not in (CampaignStatus.LIVE, CampaignStatus.SUSPENDED) or campaign.deadline <= now:
        return ApplicationError("campaign_closed", "The campaign has closed; commitments on hold are refunded.", status=409)
    if pledge.status != PledgeStatus.ON_HOLD:
        return ApplicationError("not_on_hold", "This pledge is not waiting for reconfirmation.", status=409)
    if pledge.reconfirm_by and pledge.reconfirm_by <= now:
        return ApplicationError("reconfirmation_expired", "The time to reconfirm has passed.", status=409)
    return None


def pledge_cancel(*, user: User, pledge_id: int, now=None) -> Pledge:
    now = now or timezone.now()
    with transaction.atomic():
        campaign, pledge = _release_lock(_pledge_for_backer(user, pledge_id))
        if refusal := pledge_cancel_refusal(pledge, campaign, now):
            raise refusal
        return _pledge_release(pledge, campaign, status=PledgeStatus.CANCELLED, actor=user, note="cancelled by the backer")


def _add_business_days(start: datetime.datetime, days: int) -> datetime.datetime:
    """`days` business days (Monday to Friday) after `start`, at the same time of day; the days are
    counted on the platform's calendar (its default zone), not on UTC's, whose date differs from
    Shanghai's for eight hours of every day."""
    zone = zoneinfo.ZoneInfo(settings.PLATFORM_DEFAULT_TIME_ZONE)
    current = timezone.localtime(start, zone)
    while days > 0:
        current += datetime.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current.astimezone(datetime.UTC)


def campaign_update_post(
    *, user: User, campaign_id: int, title: str, body: str, backers_only: bool = False, material_change: bool = False
) -> CampaignUpdate:
    """The SME posts an update. A material change to a live equity offering puts every commitment
    on hold until the investor reconfirms (17 CFR 227.203(a)(2))."""
    title, body = (title or "").strip(), (body or "").strip()
    if not title or not body:
        raise ApplicationError("invalid_update", "An update needs a title and a text.", field="title" if not title else "body")
    with transaction.atomic():
        campaign = _lock(campaign_id)
        _require_campaign_manager(user, campaign)
        if campaign.status in (CampaignStatus.DRAFT, CampaignStatus.IN_REVIEW, CampaignStatus.REJECTED):
            raise ApplicationError("campaign_not_live", "Updates are posted once the campaign is live.", status=409)
        if material_change and not (campaign.is_equity and campaign.status == CampaignStatus.LIVE):
            raise ApplicationError("invalid_update", "Material changes apply to live equity offerings.", field="material_change")
        update = CampaignUpdate.objects.create(
            campaign=campaign,
            author=user,
            title=title[:200],
            body=body,
            backers_only=backers_only,
            is_material_change=material_change,
        )
        if material_change:
            deadline = _add_business_days(timezone.now(), rules()["MATERIAL_CHANGE_RECONFIRM_BUSINESS_DAYS"])
            held = campaign.pledges.filter(status=PledgeStatus.ACTIVE).update(status=PledgeStatus.ON_HOLD, reconfirm_by=deadline)
            audit_record(campaign, action="material_change", actor=user, note=title, data={"pledges_on_hold": held})
    return update


def pledge_reconfirm(*, user: User, pledge_id: int, now=None) -> Pledge:
    now = now or timezone.now()
    with transaction.atomic():
        campaign = _lock(_pledge_for_backer(user, pledge_id).campaign_id)  # campaign first, as settlement does
        pledge = Pledge.objects.select_for_update().get(pk=pledge_id)
        if refusal := pledge_reconfirm_refusal(pledge, campaign, now):
            raise refusal
        old = pledge.status
        pledge.status, pledge.reconfirm_by = PledgeStatus.ACTIVE, None
        pledge.save(update_fields=["status", "reconfirm_by", "updated_at"])
        audit_transition(pledge, old=old, actor=user, note="reconfirmed")
    return pledge


def pledges_expire_unconfirmed(*, now=None, limit: int = 1000) -> int:
    """Cancel and refund commitments not reconfirmed in time."""
    now = now or timezone.now()
    expired = 0
    for pledge in Pledge.objects.filter(status=PledgeStatus.ON_HOLD, reconfirm_by__lte=now).only(
        "pk", "campaign_id", "wallet_id", "currency"
    )[:limit]:
        with transaction.atomic():
            campaign, pledge = _release_lock(pledge)
            if pledge.status != PledgeStatus.ON_HOLD or campaign.status not in (CampaignStatus.LIVE, CampaignStatus.SUSPENDED):
                continue
            _pledge_release(pledge, campaign, status=PledgeStatus.CANCELLED, actor=None, note="not reconfirmed in time")
            expired += 1
    return expired
