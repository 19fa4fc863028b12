"""Access rules of crowdfunding: campaigns, pledges, updates, backers; API and pages."""

import datetime
import uuid

from django.utils import timezone

from crowdfunding import services
from tests.crowdfunding.factories import live_campaign

from .world import ANONYMOUS, EVERYONE, ORG_A, ORG_A_ACTORS, SIGNED_IN, SMES, STAFF, Rule

INVESTORS = frozenset({"investor", "investor_other", "institutional_investor"})  # verified, may pledge
CAMPAIGN_MAKERS = frozenset({"sme_owner", "sme_finance", "sme_other", "sme_kyc_failed"})  # SME owners and finance
A_AND_STAFF = ORG_A | STAFF
BACKER = "investor"
CANCELLERS = ORG_A_ACTORS | {"operator"}  # the SME, or an operator
OWN_CAMPAIGN = {"sme_owner": 400, "sme_finance": 400}  # "you cannot pledge to your own campaign"


def build(world):
    sme = world.users["sme_owner"]
    deadline = timezone.now() + datetime.timedelta(days=20)
    live = world.add("camp_live", live_campaign(sme=sme, title="Matrix live campaign"))
    draft = services.campaign_create(
        user=sme,
        kind="reward",
        title="Matrix draft campaign MARK-CF-DRAFT",
        summary="A draft only its SME and staff know of.",
        category="food",
        target_amount="5000.00",
        deadline=deadline,
    )
    world.add("camp_draft", draft, "MARK-CF-DRAFT")
    review = services.campaign_create(
        user=sme,
        kind="reward",
        title="Matrix campaign in review MARK-CF-REVIEW",
        summary="Waiting for an operator.",
        category="food",
        target_amount="5000.00",
        deadline=deadline,
    )
    services.campaign_submit(user=sme, campaign_id=review.pk)
    world.add("camp_review", review, "MARK-CF-REVIEW")
    world.add("pledge", services.pledge_create(user=world.users[BACKER], campaign_id=live.pk, amount="137.00"), "137.00")
    services.campaign_update_post(user=sme, campaign_id=live.pk, title="Public news MARK-CF-PUBLIC", body="For all.")
    services.campaign_update_post(
        user=sme, campaign_id=live.pk, title="Backers' news MARK-CF-BACKERS", body="For backers.", backers_only=True
    )
    world.markers["update_backers"] = "MARK-CF-BACKERS"


def _new_campaign(world, actor):
    return {
        "kind": "reward",
        "title": "A new one",
        "summary": "Made in the matrix.",
        "category": "food",
        "target_amount": "5000.00",
        "deadline": (timezone.now() + datetime.timedelta(days=20)).isoformat(),
    }


def _web_pledge(world, actor):
    return {"amount": "100.00", "idempotency_key": uuid.uuid4().hex}


UPDATE = {"title": "News", "body": "Something happened."}
PLEDGE_PARTIES = A_AND_STAFF | {BACKER}

RULES = [
    # --- API ---
    Rule("api-campaigns", "GET", None, EVERYONE, rows={"camp_draft": A_AND_STAFF, "camp_review": A_AND_STAFF}),
    Rule("api-campaigns", "POST", None, CAMPAIGN_MAKERS, data=_new_campaign),
    Rule("api-campaign", "GET", "camp_live", EVERYONE),
    Rule("api-campaign", "GET", "camp_draft", A_AND_STAFF, private=A_AND_STAFF),
    Rule("api-campaign", "PATCH", "camp_draft", ORG_A_ACTORS, private=A_AND_STAFF, data={"title": "Renamed"}),
    Rule("api-campaign-submit", "POST", "camp_draft", ORG_A_ACTORS, private=A_AND_STAFF),
    Rule("api-campaign-approve", "POST", "camp_review", {"operator"}, private=A_AND_STAFF),
    Rule("api-campaign-reject", "POST", "camp_review", {"operator"}, private=A_AND_STAFF, data={"reason": "No."}),
    Rule("api-campaign-cancel", "POST", "camp_live", CANCELLERS, data={"reason": "Changed our minds."}),
    Rule("api-campaign-pledges", "POST", "camp_live", INVESTORS, data={"amount": "100.00"}, refusals=OWN_CAMPAIGN),
    Rule(
        "api-campaign-pledges", "POST", "camp_draft", set(), private=A_AND_STAFF, data={"amount": "100.00"}, refusals=OWN_CAMPAIGN
    ),
    Rule("api-campaign-updates", "GET", "camp_live", EVERYONE, rows={"update_backers": PLEDGE_PARTIES}),
    Rule("api-campaign-updates", "GET", "camp_draft", A_AND_STAFF, private=A_AND_STAFF),
    Rule("api-campaign-updates", "POST", "camp_live", ORG_A_ACTORS, data=UPDATE),
    Rule("api-pledges", "GET", None, SIGNED_IN, rows={"pledge": {BACKER}}),
    Rule("api-pledge-cancel", "POST", "pledge", {BACKER}, private=PLEDGE_PARTIES),
    Rule("api-pledge-reconfirm", "POST", "pledge", {BACKER}, private=PLEDGE_PARTIES, outcome="any"),
    # --- pages ---
    Rule("crowdfunding:campaign-list", "GET", None, EVERYONE, rows={"camp_draft": A_AND_STAFF, "camp_review": A_AND_STAFF}),
    Rule("crowdfunding:campaign-create", "GET", None, CAMPAIGN_MAKERS),
    Rule("crowdfunding:campaign-mine", "GET", None, SMES, rows={"camp_draft": ORG_A, "camp_review": ORG_A}),
    Rule("crowdfunding:pledge-list", "GET", None, SIGNED_IN, rows={"pledge": {BACKER}}),
    Rule("crowdfunding:pledge-cancel", "POST", "pledge", {BACKER}, private=PLEDGE_PARTIES),
    Rule("crowdfunding:pledge-reconfirm", "POST", "pledge", {BACKER}, private=PLEDGE_PARTIES, outcome="any"),
    Rule("crowdfunding:campaign-detail", "GET", "camp_live", EVERYONE, rows={"update_backers": PLEDGE_PARTIES}),
    Rule("crowdfunding:campaign-detail", "GET", "camp_draft", A_AND_STAFF, private=A_AND_STAFF),
    Rule("crowdfunding:campaign-edit", "GET", "camp_draft", ORG_A_ACTORS, private=A_AND_STAFF),
    Rule(
        "crowdfunding:campaign-edit", "POST", "camp_draft", ORG_A_ACTORS, private=A_AND_STAFF, data={"title": ""}, outcome="any"
    ),
    Rule("crowdfunding:campaign-preview", "GET", "camp_draft", ORG_A, private=A_AND_STAFF),
    Rule("crowdfunding:campaign-submit", "POST", "camp_draft", ORG_A_ACTORS, private=A_AND_STAFF),
    Rule("crowdfunding:campaign-redraft", "POST", "camp_review", ORG_A_ACTORS, private=A_AND_STAFF, outcome="any"),
    Rule("crowdfunding:campaign-cancel", "GET", "camp_live", ORG_A_ACTORS),
    # operators cancel from the admin or the API; the page is the SME's
    Rule("crowdfunding:campaign-cancel", "POST", "camp_live", ORG_A_ACTORS, data={"reason": "Changed our minds."}),
    Rule("crowdfunding:campaign-update-post", "POST", "camp_live", ORG_A_ACTORS, data=UPDATE),
    Rule("crowdfunding:pledge-create", "POST", "camp_live", INVESTORS, data=_web_pledge, refusals=OWN_CAMPAIGN),
    Rule("crowdfunding:pledge-create", "POST", "camp_draft", set(), private=A_AND_STAFF, data=_web_pledge),
    Rule("crowdfunding:campaign-backers", "GET", "camp_live", A_AND_STAFF, private=A_AND_STAFF),
    Rule("crowdfunding:campaign-backers-csv", "GET", "camp_live", A_AND_STAFF, private=A_AND_STAFF),
]

assert ANONYMOUS in EVERYONE
