"""Sign-up, KYC, parties and platform entities.

A *party* is whoever owns money on the platform: an individual investor (a User), or an
organisation (for every other non-staff role). `party_of(user)` says which one a user acts for.
"""

from decimal import Decimal

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from platform_core.audit import audit_transition
from platform_core.errors import ApplicationError
from platform_core.money import parse_amount
from platform_core.state import transition

from .kyc import kyc_provider
from .models import (
    ID_NUMBER_UNIQUE,
    LICENCE_TRANSITIONS,
    STAFF_ROLES,
    InvestorProfile,
    KycCheck,
    KycStatus,
    LicenceStatus,
    MemberRole,
    Organisation,
    OrganisationKind,
    PlatformEntity,
    PlatformProperty,
    Role,
    User,
)
from .validators import credit_code_is_valid, resident_id_is_valid

# --- sign-up ----------------------------------------------------------------------------------


def _validation_error(exc: ValidationError, field: str) -> ApplicationError:
    return ApplicationError(f"invalid_{field}", " ".join(exc.messages), field=field)


def _user_build(*, username: str, email: str, password: str, role: str, **extra) -> User:
    username = (username or "").strip()
    if not username:
        raise ApplicationError("invalid_username", "Choose a user name.", field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError("username_taken", "That user name is taken.", field="username")
    user = User(username=username, email=(email or "").strip(), role=role, **extra)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise _validation_error(exc, "password") from None
    user.set_password(password)
    return user


def investor_signup(
    *,
    username: str,
    email: str,
    password: str,
    id_number: str,
    annual_income: Decimal = Decimal("0"),
    net_worth: Decimal = Decimal("0"),
    accredited: bool = False,
) -> User:
    """An individual investor. KYC runs at once through the configured provider."""
    id_number = (id_number or "").strip().upper()
    if not resident_id_is_valid(id_number):
        raise ApplicationError("invalid_id_number", "Enter a valid 18-character resident identity number.", field="id_number")
    annual_income = parse_amount(annual_income, field="annual_income", allow_zero=True)
    net_worth = parse_amount(net_worth, field="net_worth", allow_zero=True)
    id_number_taken = ApplicationError(
        "id_number_taken",
        gettext("An account with this resident identity number already exists; sign in to it instead."),
        field="id_number",
    )
    if User.objects.filter(id_number__iexact=id_number).exists():
        raise id_number_taken
    try:
        with transaction.atomic():
            user = _user_build(username=username, email=email, password=password, role=Role.INVESTOR, id_number=id_number)
            user.save()
            InvestorProfile.objects.create(
                user=user, annual_income=annual_income, net_worth=net_worth, accredited=bool(accredited)
            )
    except IntegrityError as exc:  # a sign-up at the same moment: the database's unique constraints decide
        if ID_NUMBER_UNIQUE in str(exc):
            raise id_number_taken from None
        raise ApplicationError("username_taken", "That user name is taken.", field="username") from None
    kyc_run(subject=user)
    return user


def organisation_signup(
    *, username: str, email: str, password: str, legal_name: str, credit_code: str, kind: str = OrganisationKind.SME
) -> User:
    """An organisation and its first member (owner). KYC of the organisation runs at once."""
    from .models import ROLE_FOR_ORGANISATION_KIND

    credit_code = (credit_code or "").strip().upper()
    legal_name = (legal_name or "").strip()
    if kind not in OrganisationKind.values:
        raise ApplicationError("invalid_kind", "Choose a valid kind of organisation.", field="kind")
    if not legal_name:
        raise ApplicationError("invalid_legal_name", "Enter the organisation's legal name.", field="legal_name")
    if not credit_code_is_valid(credit_code):
        raise ApplicationError(
            "invalid_credit_code",
            "Enter a valid 18-character unified social credit code (the last character is the check digit).",
            field="credit_code",
        )
    if Organisation.objects.filter(credit_code=credit_code).exists():
        raise ApplicationError(
            "credit_code_taken", "An organisation with this credit code is already registered.", field="credit_code"
        )
    try:
        with transaction.atomic():
            user = _user_build(
                username=username,
                email=email,
                password=password,
                role=ROLE_FOR_ORGANISATION_KIND[kind],
                member_role=MemberRole.OWNER,
            )
            organisation = Organisation.objects.create(legal_name=legal_name, credit_code=credit_code, kind=kind)
            user.organisation = organisation
            user.save()
    except IntegrityError:
        raise ApplicationError("already_registered", "That user name or credit code is already registered.") from None
    kyc_run(subject=organisation)
    return user


# --- KYC --------------------------------------------------------------------------------------


def kyc_run(*, subject: User | Organisation, actor: User | None = None) -> KycCheck:
    """Ask the provider about a user or an organisation and record its answer."""
    result = kyc_provider().check(subject)
    return kyc_record(
        subject=subject,
        status=result.status,
        reference=result.reference,
        reason=result.reason,
        provider=kyc_provider().name,
        actor=actor,
    )


def kyc_record(
    *, subject: User | Organisation, status: str, reference: str, reason: str = "", provider: str, actor=None
) -> KycCheck:
    """Store a provider's answer (also the entry point for a real provider's webhook)."""
    if status not in KycStatus.values:
        raise ApplicationError("invalid_kyc_status", f"Unknown KYC status {status!r}.")
    with transaction.atomic():
        locked = subject._meta.model.objects.select_for_update().get(pk=subject.pk)  # works for a lazy request.user too
        check = KycCheck.objects.create(
            provider=provider,
            reference=reference,
            result=status,
            reason=reason[:300],
            **({"organisation": locked} if isinstance(subject, Organisation) else {"user": locked}),
        )
        if status != KycStatus.PENDING and locked.kyc_status != status:
            old = locked.kyc_status
            locked.kyc_status = status
            locked.save(update_fields=["kyc_status"])
            audit_transition(locked, field="kyc_status", old=old, actor=actor, note=reason)
        subject.kyc_status = locked.kyc_status
    return check


def kyc_require_verified(party: User | Organisation) -> None:
    if party.kyc_status != KycStatus.VERIFIED:
        who = "Your organisation" if isinstance(party, Organisation) else "Your identity"
        raise ApplicationError(
            "kyc_not_verified", f"{who} is not verified (KYC status: {party.kyc_status}); money cannot move yet."
        )


# --- parties ----------------------------------------------------------------------------------


def party_of(user: User) -> User | Organisation:
    """The owner of the money a user moves: themselves, or their organisation."""
    if user.role in STAFF_ROLES:
        raise ApplicationError("permission_denied", "Regulators and operators hold no wallet.")
    if user.organisation_id is not None:
        return user.organisation
    if user.role != Role.INVESTOR:
        raise ApplicationError("permission_denied", "This account belongs to no organisation.")
    return user


def party_require_money_rights(user: User) -> User | Organisation:
    """The user's party, if the user may move its money (owners and finance members of an organisation)."""
    party = party_of(user)
    if isinstance(party, Organisation) and user.member_role not in MANAGER_ROLES:
        raise ApplicationError("permission_denied", "Only the organisation's owners and finance members move its money.")
    return party


# --- who may act ------------------------------------------------------------------------------

MANAGER_ROLES = (MemberRole.OWNER, MemberRole.FINANCE)


def operator_require(user: User) -> None:
    if not user.is_operator:
        raise ApplicationError("permission_denied", "Only operators do this.")


def organisation_manager_require(user: User, organisation_id: int, *, not_found: str, not_manager: str) -> None:
    """The user manages (owner or finance member) this organisation's business. Another
    organisation's object answers not_found, so it is not revealed."""
    if user.organisation_id != organisation_id:
        raise ApplicationError("not_found", not_found, status=404)
    if user.member_role not in MANAGER_ROLES:
        raise ApplicationError("permission_denied", not_manager)


def sme_manager_require(user: User, *, not_sme: str, not_manager: str) -> Organisation:
    """The user's SME, if the user is one of its owners or finance members."""
    if user.role != Role.SME or user.organisation is None or user.organisation.kind != OrganisationKind.SME:
        raise ApplicationError("permission_denied", not_sme)
    if user.member_role not in MANAGER_ROLES:
        raise ApplicationError("permission_denied", not_manager)
    return user.organisation


# --- platform entities (market access and exit) -----------------------------------------------


DEFAULT_ENTITY_NAME = "Default platform entity"


def entity_default() -> PlatformEntity:
    """The deployment's default entity (created, licensed for every property, if there is none)."""
    entity = PlatformEntity.objects.filter(is_default=True).first()
    if entity is None:
        try:
            with transaction.atomic():
                entity = PlatformEntity.objects.create(
                    name=DEFAULT_ENTITY_NAME,
                    properties=list(PlatformProperty.values),
                    licence_status=LicenceStatus.LICENSED,
                    is_default=True,
                )
        except IntegrityError:  # created concurrently
            entity = PlatformEntity.objects.get(is_default=True)
    return entity


def entity_require_open(entity: PlatformEntity, prop: str) -> None:
    """New business needs a licensed entity that operates the property."""
    if prop not in PlatformProperty.values or not entity.operates(prop):
        raise ApplicationError("entity_property_not_operated", f"{entity} does not operate {prop}.")
    if entity.licence_status in (LicenceStatus.EXITING, LicenceStatus.EXITED):
        raise ApplicationError(
            "entity_exiting", f"{entity} is leaving the market: its existing business runs off, it takes no new business."
        )
    if not entity.accepts_new_business:
        raise ApplicationError(
            "entity_not_licensed", f"{entity} is {entity.get_licence_status_display().lower()} and takes no new business."
        )


def entity_transition(*, entity: PlatformEntity, to: str, actor: User, note: str = "") -> PlatformEntity:
    operator_require(actor)
    with transaction.atomic():
        locked = PlatformEntity.objects.select_for_update().get(pk=entity.pk)
        return transition(locked, to, transitions=LICENCE_TRANSITIONS, actor=actor, field="licence_status", note=note)
