"""Reads of crowdfunding. Every list is filtered by who asks, and has a constant number of queries."""

from django.db.models import Case, DecimalField, ExpressionWrapper, F, IntegerField, Q, QuerySet, Value, When

from platform_core.accounts.models import User

from .models import PUBLIC, Campaign, CampaignStatus, CampaignUpdate, Pledge, PledgeStatus

#: The pledges that make their backer a backer: money held in escrow or collected by the SME.
BACKING = (PledgeStatus.ACTIVE, PledgeStatus.ON_HOLD, PledgeStatus.COLLECTED)

SORTS = {
    "ending_soon": ("deadline", "pk"),
    "most_funded": ("-funded_ratio", "-pk"),
    "newest": ("-launched_at", "-pk"),
}


def _own(user: User | None) -> Q:
    if user is not None and user.is_authenticated and user.organisation_id:
        return Q(organisation_id=user.organisation_id)
    return Q(pk__in=[])


def campaign_visible(user: User | None) -> Q:
    """THE rule of who may know a campaign exists, for reads and for writes alike (a pledge looks
    its campaign up through it, so a draft the caller cannot see is "not found", never "this
    campaign is a draft"): public statuses for everyone, its own organisation's campaigns in any
    status, everything for operators and regulators."""
    if user is not None and user.is_authenticated and (user.is_operator or user.is_regulator):
        return Q()
    return Q(status__in=list(PUBLIC)) | _own(user)


def campaign_list(
    *,
    user: User | None = None,
    kind: str = "",
    category: str = "",
    status: str = "",
    q: str = "",
    sort: str = "",
    mine: bool = False,
) -> QuerySet[Campaign]:
    """Public campaigns for everyone; an SME also sees its own drafts (`mine=True`: only its own);
    operators and regulators see all."""
    qs = Campaign.objects.select_related("organisation", "equity_terms")
    qs = qs.filter(_own(user)) if mine else qs.filter(campaign_visible(user))
    if kind:
        qs = qs.filter(kind=kind)
    if category:
        qs = qs.filter(category=category)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(summary__icontains=q) | Q(organisation__legal_name__icontains=q))
    qs = qs.annotate(
        funded_ratio=ExpressionWrapper(
            F("raised_amount") / F("target_amount"), output_field=DecimalField(max_digits=30, decimal_places=6)
        )
    )
    if sort == "ending_soon":
        qs = qs.annotate(
            open_first=Case(When(status=CampaignStatus.LIVE, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        return qs.order_by("open_first", "deadline", "pk")
    return qs.order_by(*SORTS.get(sort, ("-created_at", "-pk")))


def campaign_get(*, user: User | None, campaign_id: int) -> Campaign | None:
    return campaign_list(user=user).filter(pk=campaign_id).first()


def campaign_updates(*, user: User | None, campaign: Campaign) -> QuerySet[CampaignUpdate]:
    """Public updates for everyone; backers-only updates for backers and the campaign's SME. A backer
    is one whose money is with the campaign (a pledge held or collected): a pledge cancelled or
    refunded unlocks nothing, or one cent pledged and cancelled at once would read them all."""
    qs = campaign.updates.select_related("author")
    if user is None or not user.is_authenticated:
        return qs.filter(backers_only=False)
    if user.organisation_id == campaign.organisation_id or user.is_operator or user.is_regulator:
        return qs
    if pledge_list(user=user).filter(campaign=campaign, status__in=BACKING).exists():
        return qs
    return qs.filter(backers_only=False)


def pledge_list(*, user: User) -> QuerySet[Pledge]:
    """The user's own pledges (and their organisation's)."""
    own = Q(backer=user)
    if user.organisation_id:
        own |= Q(backer_organisation_id=user.organisation_id)
    return Pledge.objects.filter(own).select_related("campaign", "tier").order_by("-created_at", "-pk")


def campaign_backers(*, user: User, campaign: Campaign) -> QuerySet[Pledge]:
    """The SME's view of who backed its campaign."""
    if user.organisation_id != campaign.organisation_id and not (user.is_operator or user.is_regulator):
        return Pledge.objects.none()
    return campaign.pledges.select_related("backer", "backer_organisation", "tier").order_by("pk")
