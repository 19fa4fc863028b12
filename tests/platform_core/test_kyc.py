"""KYC at sign-up through the sandbox provider: well-formed identities are verified, the sandbox's
test identities are rejected, and a party that is not verified moves no money."""

import re
import uuid
from decimal import Decimal

import pytest

from platform_core.accounts import services as accounts
from platform_core.accounts.kyc import (
    SANDBOX_REJECTED_ORGANISATION,
    SANDBOX_REJECTED_PERSON,
    SandboxKycProvider,
    kyc_provider,
)
from platform_core.accounts.models import KycCheck, KycStatus, User
from platform_core.accounts.validators import credit_code_is_valid, resident_id_is_valid
from platform_core.audit import audit_trail
from platform_core.errors import ApplicationError
from platform_core.ledger import services as ledger
from platform_core.ledger.models import Payment

from ..factories import UserFactory, credit_code, resident_id
from .api_helpers import assert_error

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "tulip-orbit-granite-47"


def _investor(id_number, username="alice"):
    return accounts.investor_signup(username=username, email="", password=STRONG_PASSWORD, id_number=id_number)


def _sme(code, username="acme"):
    return accounts.organisation_signup(
        username=username, email="", password=STRONG_PASSWORD, legal_name="Acme Trading Co., Ltd.", credit_code=code
    )


def test_the_sandbox_is_the_configured_provider():
    assert isinstance(kyc_provider(), SandboxKycProvider)


def test_sandbox_test_identities_are_well_formed():
    # so they pass sign-up's format checks and reach the provider, like test card numbers
    assert resident_id_is_valid(SANDBOX_REJECTED_PERSON)
    assert credit_code_is_valid(SANDBOX_REJECTED_ORGANISATION)


def test_well_formed_person_is_verified_at_signup():
    user = _investor(resident_id(7))

    user.refresh_from_db()
    assert user.kyc_status == KycStatus.VERIFIED
    check = KycCheck.objects.get(user=user)
    assert (check.provider, check.result, check.reason) == ("sandbox", KycStatus.VERIFIED, "")
    assert check.reference.startswith("sandbox-")
    event = audit_trail(user).get()
    assert (event.action, event.from_value, event.to_value) == ("kyc_status_changed", "pending", "verified")


def test_well_formed_organisation_is_verified_at_signup():
    owner = _sme(credit_code(77))

    owner.organisation.refresh_from_db()
    assert owner.organisation.kyc_status == KycStatus.VERIFIED
    assert KycCheck.objects.get(organisation=owner.organisation).result == KycStatus.VERIFIED


def test_sandbox_rejected_person():
    user = _investor(SANDBOX_REJECTED_PERSON)

    user.refresh_from_db()
    assert user.kyc_status == KycStatus.REJECTED
    check = KycCheck.objects.get(user=user)
    assert check.result == KycStatus.REJECTED
    assert check.reason == "The sandbox rejects this test identity."
    assert audit_trail(user).get().to_value == "rejected"


def test_sandbox_rejected_organisation():
    owner = _sme(SANDBOX_REJECTED_ORGANISATION)

    owner.organisation.refresh_from_db()
    assert owner.organisation.kyc_status == KycStatus.REJECTED
    assert KycCheck.objects.get(organisation=owner.organisation).result == KycStatus.REJECTED


def test_rejected_person_cannot_deposit_or_withdraw():
    user = _investor(SANDBOX_REJECTED_PERSON)
    for service in (ledger.deposit_create, ledger.withdrawal_create):
        with pytest.raises(ApplicationError) as excinfo:
            service(user=user, amount="10.00")
        assert excinfo.value.code == "kyc_not_verified"
        assert "rejected" in excinfo.value.message
    assert Payment.objects.count() == 0


def test_member_of_rejected_organisation_cannot_deposit():
    owner = _sme(SANDBOX_REJECTED_ORGANISATION)
    with pytest.raises(ApplicationError) as excinfo:
        ledger.deposit_create(user=owner, amount="10.00")
    assert excinfo.value.code == "kyc_not_verified"
    assert Payment.objects.count() == 0


def test_rejected_person_cannot_deposit_through_the_api(api):
    signup = api.post(
        "/api/v1/auth/signup/",
        {
            "kind": "investor",
            "username": "alice",
            "password": STRONG_PASSWORD,
            "id_number": SANDBOX_REJECTED_PERSON,
        },
        format="json",
    )
    assert signup.status_code == 201  # the account exists; its KYC says no
    assert signup.json()["kyc_status"] == KycStatus.REJECTED

    response = api.post(
        "/api/v1/wallet/deposits/",
        {"amount": "10.00"},
        format="json",
        HTTP_AUTHORIZATION=f"Token {signup.json()['token']}",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    assert_error(response, 403, "kyc_not_verified")
    assert Payment.objects.count() == 0


def test_rejected_person_cannot_deposit_through_the_web(client):
    user = _investor(SANDBOX_REJECTED_PERSON)
    client.force_login(user)
    page = client.get("/wallet/").content.decode()
    key = re.search(r'name="deposit-idempotency_key" value="([^"]+)"', page).group(1)

    response = client.post("/wallet/deposit/", {"deposit-amount": "10.00", "deposit-idempotency_key": key})

    assert response.status_code == 400
    assert "is not verified (KYC status: rejected)" in response.content.decode()
    assert Payment.objects.count() == 0


def test_sandbox_rejects_a_malformed_identity():
    user = UserFactory(id_number="", kyc_status=KycStatus.PENDING)
    result = SandboxKycProvider().check(user)
    assert result.status == KycStatus.REJECTED
    assert result.reason == "The identity number is missing or malformed."


def test_pending_answer_keeps_the_status():
    user = UserFactory(kyc_status=KycStatus.PENDING)
    accounts.kyc_record(subject=user, status=KycStatus.PENDING, reference="bank-1", provider="bank")
    user.refresh_from_db()
    assert user.kyc_status == KycStatus.PENDING
    assert KycCheck.objects.get(user=user).result == KycStatus.PENDING
    assert not audit_trail(user).exists()


def test_late_verification_lets_money_move(operator):
    user = UserFactory(kyc_status=KycStatus.PENDING)
    with pytest.raises(ApplicationError):
        ledger.deposit_create(user=user, amount="10.00")

    accounts.kyc_record(subject=user, status=KycStatus.VERIFIED, reference="bank-2", provider="bank", actor=operator)

    ledger.deposit_create(user=user, amount="10.00")
    assert ledger.wallet_of_user(user).balance == Decimal("10.00")
    assert audit_trail(user).get().actor == operator


def test_unknown_kyc_status_is_refused():
    user = UserFactory()
    with pytest.raises(ApplicationError) as excinfo:
        accounts.kyc_record(subject=user, status="maybe", reference="x", provider="bank")
    assert excinfo.value.code == "invalid_kyc_status"
    assert KycCheck.objects.count() == 0
    assert User.objects.get(pk=user.pk).kyc_status == KycStatus.VERIFIED
