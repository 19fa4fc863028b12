"""The access matrix's world: one user of every kind, and each app's objects owned by organisation A.

Every app's table (`tests/access/table_<app>.py`) holds:
- `build(world)`: adds the app's objects to `world.objects` (built through the services, so each
  is really in the state it claims), owned by `world.users["sme_owner"]`'s organisation;
- `RULES`: one `Rule` per route and method (see `Rule`).

A rule names who gets through; everyone else must be refused (403/404, 401 for the anonymous API
caller, the log-in page for the anonymous web visitor), with 404 when the object's existence is
private. A list rule also names, per private row, who may see it: nobody else's answer contains it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from platform_core.accounts.models import KycStatus, MemberRole, OrganisationKind, Role
from platform_core.ledger import services as ledger
from tests.factories import OrganisationFactory, SmeUserFactory, StaffUserFactory, UserFactory

ANONYMOUS = "anonymous"
# The kinds of user the matrix runs every rule as.
ACTORS = [
    ANONYMOUS,
    "investor",  # verified individual; backs and invests in organisation A's offers
    "investor_other",  # verified individual with no stake in anything
    "investor_kyc_failed",  # an individual whose KYC was rejected
    "sme_owner",  # owner of organisation A, the SME whose campaigns and loans these are
    "sme_finance",  # A's finance member (moves A's money)
    "sme_viewer",  # A's viewer (sees, never acts)
    "sme_other",  # owner of SME B
    "sme_kyc_failed",  # owner of SME C, whose KYC was rejected
    "core_enterprise",
    "funder",
    "institutional_investor",
    "warehouse",
    "operator",
    "regulator",
]

EVERYONE = frozenset(ACTORS)
SIGNED_IN = EVERYONE - {ANONYMOUS}
STAFF = frozenset({"operator", "regulator"})
ORG_A = frozenset({"sme_owner", "sme_finance", "sme_viewer"})
ORG_A_ACTORS = frozenset({"sme_owner", "sme_finance"})  # members who may act for A
INDIVIDUALS = frozenset({"investor", "investor_other", "investor_kyc_failed"})
ORGANISATION_MEMBERS = frozenset(
    {"sme_owner", "sme_finance", "sme_viewer", "sme_other", "sme_kyc_failed", "core_enterprise", "funder"}
    | {"institutional_investor", "warehouse"}
)
SMES = frozenset({"sme_owner", "sme_finance", "sme_viewer", "sme_other", "sme_kyc_failed"})
WALLET_HOLDERS = SIGNED_IN - STAFF


@dataclass(frozen=True)
class Rule:
    """Who gets through `method` on `route` (a URL name), about `obj` (a world object's name, for
    the route's one id in the path; None for a route without one).

    - `allowed`: the actors who get through (2xx, or a redirect that is not to the log-in page);
    - `private`: who may know that the object exists (None: everyone); anyone else who is signed
      in gets a 404, the others a 403 or 404;
    - `outcome`: what an allowed actor gets: "success" (2xx; on a page also a redirect with no
      error message), or "any" (past the access check, the domain may still say no: e.g.
      reconfirming a pledge that is not on hold);
    - `data`: the body sent (a dict, or a callable of the world and the actor's name), valid for
      the allowed actors so that they really get through;
    - `rows`: for lists, world object name -> the actors who may see that row; the row's marker
      (`world.markers[name]`) appears in exactly their answers;
    - `refusals`: actor -> the status that actor gets instead of 403/404 when the refusal is a rule
      of the domain rather than of access (e.g. an SME may not pledge to its own campaign: 400);
    - `kwargs`: the route's other path arguments (e.g. {"answer": "confirm"});
    - `query`: a query string, with `{name}` standing for a world object's id (e.g.
      "asset=invoice:{inv_submitted}").
    """

    route: str
    method: str
    obj: str | None
    allowed: frozenset
    private: frozenset | None = None
    data: Any = None
    outcome: str = "success"
    rows: dict = field(default_factory=dict)
    refusals: dict = field(default_factory=dict)
    kwargs: dict = field(default_factory=dict)
    query: str = ""

    @property
    def id(self) -> str:
        about = [self.obj] if self.obj else []
        about += [f"{name}={value}" for name, value in sorted(self.kwargs.items())]
        about += [f"?{self.query}"] if self.query else []
        return f"{self.method} {self.route}" + (f" [{' '.join(about)}]" if about else "")


@dataclass
class World:
    users: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)
    markers: dict = field(default_factory=dict)  # object name -> text that shows the row in a list

    def add(self, name: str, obj, marker: str | None = None):
        self.objects[name] = obj
        if marker is not None:
            self.markers[name] = marker
        return obj


def _organisation_owner(kind: str, *, kyc=KycStatus.VERIFIED):
    organisation = OrganisationFactory(kind=kind, kyc_status=kyc)
    role = {
        OrganisationKind.SME: Role.SME,
        OrganisationKind.CORE_ENTERPRISE: Role.CORE_ENTERPRISE,
        OrganisationKind.FUNDER: Role.FUNDER,
        OrganisationKind.INSTITUTIONAL_INVESTOR: Role.INSTITUTIONAL_INVESTOR,
        OrganisationKind.WAREHOUSE: Role.WAREHOUSE,
    }[kind]
    return SmeUserFactory(organisation=organisation, role=role, member_role=MemberRole.OWNER)


def build_users() -> dict:
    sme_owner = _organisation_owner(OrganisationKind.SME)
    users = {
        ANONYMOUS: None,
        "investor": UserFactory(),
        "investor_other": UserFactory(),
        "investor_kyc_failed": UserFactory(kyc_status=KycStatus.REJECTED),
        "sme_owner": sme_owner,
        "sme_finance": SmeUserFactory(organisation=sme_owner.organisation, member_role=MemberRole.FINANCE),
        "sme_viewer": SmeUserFactory(organisation=sme_owner.organisation, member_role=MemberRole.VIEWER),
        "sme_other": _organisation_owner(OrganisationKind.SME),
        "sme_kyc_failed": _organisation_owner(OrganisationKind.SME, kyc=KycStatus.REJECTED),
        "core_enterprise": _organisation_owner(OrganisationKind.CORE_ENTERPRISE),
        "funder": _organisation_owner(OrganisationKind.FUNDER),
        "institutional_investor": _organisation_owner(OrganisationKind.INSTITUTIONAL_INVESTOR),
        "warehouse": _organisation_owner(OrganisationKind.WAREHOUSE),
        "operator": StaffUserFactory(role=Role.OPERATOR),
        "regulator": StaffUserFactory(role=Role.REGULATOR),
    }
    assert set(users) == set(ACTORS)
    # money in every wallet that may hold some, so that a refusal is never "insufficient funds"
    for name in ("investor", "investor_other", "sme_owner", "sme_other", "core_enterprise", "funder") + (
        "institutional_investor",
        "warehouse",
    ):
        ledger.deposit_create(user=users[name], amount="200000.00")
    return users


def query_for(rule: Rule, world: World) -> str:
    return rule.query.format(**{name: getattr(obj, "pk", obj) for name, obj in world.objects.items()}) if rule.query else ""


def body_for(rule: Rule, world: World, actor: str) -> dict | None:
    data = rule.data
    if callable(data):
        return data(world, actor)
    return data
