"""What every supply-chain service shares: the rule pack, who may act for which organisation, the
platform entity, and the organisations' wallets fetched in one query."""

from django.conf import settings
from django.utils.translation import gettext as _

from platform_core.accounts.models import Organisation, OrganisationKind, PlatformProperty, User
from platform_core.accounts.services import MANAGER_ROLES, entity_default, entity_require_open
from platform_core.db import ids_in
from platform_core.errors import ApplicationError
from platform_core.ledger.models import Account
from platform_core.ledger.services import wallet_for


def rules() -> dict:
    return settings.SUPPLYCHAIN


def entity_open():
    entity = entity_default()
    entity_require_open(entity, PlatformProperty.SUPPLY_CHAIN_FINANCE)
    return entity


def is_staff(user: User) -> bool:
    return bool(user.is_authenticated and (user.is_operator or user.is_regulator))


def manager_of(user: User, *, kinds=None, message: str) -> Organisation:
    """The user's organisation, if the user is one of its owners or finance members (and it is of
    one of `kinds`); permission_denied otherwise."""
    organisation = user.organisation if user.is_authenticated else None
    if organisation is None or (kinds and organisation.kind not in kinds):
        raise ApplicationError("permission_denied", message)
    if user.member_role not in MANAGER_ROLES:
        raise ApplicationError("permission_denied", _("Only the organisation's owners and finance members do this."))
    return organisation


def require_manager_of(user: User, organisation_id: int, *, visible: bool, not_found: str) -> None:
    """The user manages this organisation. Someone who cannot even see the object gets not_found (its
    existence is private); someone who can see it but is not the acting party gets permission_denied."""
    if not user.is_authenticated or user.organisation_id != organisation_id:
        if visible:
            raise ApplicationError("permission_denied", _("Only the party concerned does this."))
        raise ApplicationError("not_found", str(not_found), status=404)
    if user.member_role not in MANAGER_ROLES:
        raise ApplicationError("permission_denied", _("Only the organisation's owners and finance members do this."))


SUPPLIER_KINDS = (OrganisationKind.SME, OrganisationKind.CORE_ENTERPRISE)


def wallets_of(organisation_ids, currency: str) -> dict[int, Account]:
    """The wallets of these organisations in one query (created where missing)."""
    ids = set(organisation_ids)
    keys = {f"wallet:organisation:{pk}:{currency}": pk for pk in ids}
    found = {keys[a.key]: a for a in Account.objects.filter(ids_in("key", keys))}
    for pk in ids - set(found):
        found[pk] = wallet_for(Organisation.objects.get(pk=pk), currency)
    return found
