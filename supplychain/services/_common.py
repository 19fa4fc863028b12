"""What every supply-chain service shares: the rule pack, who may act for which organisation, the
platform entity, and the organisations' wallets fetched in one query."""

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, F, Field, Func, Q, Value
from django.utils.translation import gettext as _

from platform_core.accounts.models import Organisation, OrganisationKind, PlatformProperty, User
from platform_core.accounts.services import MANAGER_ROLES, entity_default, entity_require_open
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
    by_key = Q(key__in=list(keys))
    if connection.vendor == "postgresql":  # one array parameter however many wallets
        by_key = Q(_InArray("key", keys))
    found = {keys[a.key]: a for a in Account.objects.filter(by_key)}
    for pk in ids - set(found):
        found[pk] = wallet_for(Organisation.objects.get(pk=pk), currency)
    return found


class _InArray(Func):
    """`<field> = ANY(<one array parameter>)`: a boolean expression a queryset filters by."""

    output_field = BooleanField()

    def __init__(self, field: str, values):
        super().__init__(F(field), Value(list(values), output_field=Field()))

    def as_sql(self, compiler, connection, **extra_context):
        (lhs, lhs_params), (rhs, rhs_params) = (compiler.compile(e) for e in self.source_expressions)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def ids_in(field: str, ids) -> Q:
    """`field IN ids` as ONE array parameter on PostgreSQL (`= ANY(%s)`): a batch of thousands of ids
    costs the driver no splitting of a query with thousands of placeholders. A plain IN elsewhere."""
    ids = list(ids)
    if connection.vendor == "postgresql":
        return Q(_InArray(field, ids))
    return Q(**{f"{field}__in": ids})


def accounts_lock_many(account_ids) -> None:
    """Lock these ledger accounts in primary-key order (as every posting does), with the ids as one
    array parameter on PostgreSQL."""
    from platform_core.ledger.services import accounts_lock

    ids = sorted(set(account_ids))
    if connection.vendor != "postgresql":
        accounts_lock(ids)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM ledger_account WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE", [ids])


def transition_ids(model, ids, to: str, *, transitions: dict, note: str = "", extra: dict | None = None, also=None) -> int:
    """platform_core.state.transition_many for a batch of ids, with the ids as ONE array parameter on
    PostgreSQL (lock the rows skipping those another transaction holds, the audit rows in one
    INSERT ... SELECT, one UPDATE): a statement with thousands of placeholders costs the driver more
    to split than the database to run. `also` narrows the rows further (a Q). Returns how many moved."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from django.utils import timezone

    from platform_core.models import AuditEvent
    from platform_core.state import transition_many

    ids = list(ids)
    if not ids:
        return 0
    queryset = model.objects.filter(ids_in("pk", ids), *([also] if also is not None else []))
    if connection.vendor != "postgresql":
        return transition_many(queryset, to, transitions=transitions, note=note, extra=extra)
    with transaction.atomic():
        rows = list(queryset.select_for_update(skip_locked=True).values_list("pk", "status"))
        moving = [pk for pk, current in rows if to in transitions[current]]
        if not moving:
            return 0
        now = timezone.now()
        quote = connection.ops.quote_name
        audit = AuditEvent._meta
        columns = ["content_type", "object_id", "action", "from_value", "to_value", "actor", "note", "data", "created_at"]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(audit.db_table)} ({', '.join(quote(audit.get_field(c).column) for c in columns)}) "  # nosec B608 - tables and columns from the models' meta, quoted; values are parameters
                f"SELECT %s, CAST(id AS TEXT), 'status_changed', status, %s, NULL, %s, '{{}}', %s "
                f"FROM {quote(model._meta.db_table)} WHERE id = ANY(%s::bigint[])",
                [ContentType.objects.get_for_model(model).pk, to, note, now, moving],
            )
        model.objects.filter(ids_in("pk", moving)).update(status=to, updated_at=now, **(extra or {}))
    return len(moving)
