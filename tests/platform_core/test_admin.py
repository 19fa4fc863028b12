"""The admin by role: regulators read everything and change nothing; operators manage; nobody else
gets in. Platform entities' licences move only along the market access/exit path, by operators."""

import pytest

from platform_core.accounts.models import KycCheck, KycStatus, LicenceStatus, Organisation, PlatformEntity
from platform_core.accounts.services import entity_transition
from platform_core.audit import audit_trail
from platform_core.errors import ApplicationError
from platform_core.ledger import services as ledger
from platform_core.ledger.models import Payment, Transaction
from platform_core.models import AuditEvent

from ..factories import OrganisationFactory, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = {
    "/admin/accounts/user/": "username",
    "/admin/accounts/organisation/": "legal_name",
    "/admin/accounts/platformentity/": "name",
    "/admin/ledger/account/": "key",
    "/admin/ledger/transaction/": "kind",
    "/admin/ledger/payment/": "direction",
    "/admin/platform_core/auditevent/": "action",
}


@pytest.fixture
def books(investor, sme_user, fund):
    """Some of everything: users, an organisation, transactions, payments, audit events."""
    fund(investor, "100.00")
    fund(sme_user, "50.00")
    ledger.withdrawal_create(user=investor, amount="10.00")
    PlatformEntity.objects.create(name="Regional SCF entity", properties=["supply_chain_finance"])
    return {"investor": investor, "organisation": sme_user.organisation}


@pytest.mark.parametrize("path", CHANGELISTS)
def test_regulator_opens_every_changelist(client, regulator, books, path):
    client.force_login(regulator)
    response = client.get(path)
    assert response.status_code == 200
    model = response.context["cl"].model
    assert response.context["cl"].result_count == model.objects.count() > 0


def test_regulator_sees_the_records(client, regulator, books):
    client.force_login(regulator)
    payments = client.get("/admin/ledger/payment/").content.decode()
    assert payments.count("Withdrawal") >= 1 and payments.count("Deposit") >= 2
    organisations = client.get("/admin/accounts/organisation/").content.decode()
    assert books["organisation"].legal_name in organisations


@pytest.mark.parametrize("role", ["regulator", "operator"])
def test_transaction_page_shows_its_legs(client, investor, fund, role, request):
    fund(investor, "100.00")
    transaction = Transaction.objects.get(kind="deposit")
    client.force_login(request.getfixturevalue(role))

    response = client.get(f"/admin/ledger/transaction/{transaction.pk}/change/")

    assert response.status_code == 200
    (legs,) = response.context["inline_admin_formsets"]
    assert legs.formset.queryset.count() == 2
    page = response.content.decode()
    assert "Custody account at the custodian bank (CNY)" in page
    assert f"Wallet of {investor} (CNY)" in page
    assert "-100.00" in page and ">100.00<" in page


@pytest.mark.parametrize(
    "path",
    [
        "/admin/accounts/organisation/add/",
        "/admin/accounts/user/add/",
        "/admin/accounts/platformentity/add/",
        "/admin/ledger/transaction/add/",
        "/admin/ledger/payment/add/",
        "/admin/platform_core/auditevent/add/",
    ],
)
def test_regulator_cannot_open_add_pages(client, regulator, path):
    client.force_login(regulator)
    assert client.get(path).status_code == 403


def test_regulator_cannot_change_an_organisation(client, regulator, books):
    organisation = books["organisation"]
    client.force_login(regulator)
    path = f"/admin/accounts/organisation/{organisation.pk}/change/"

    page = client.get(path)
    assert page.status_code == 200
    assert 'name="legal_name"' not in page.content.decode()  # shown read-only

    response = client.post(path, {"legal_name": "Hijacked Ltd.", "credit_code": organisation.credit_code, "kind": "sme"})

    assert response.status_code == 403
    organisation.refresh_from_db()
    assert organisation.legal_name != "Hijacked Ltd."


def test_regulator_cannot_change_a_user(client, regulator, investor):
    client.force_login(regulator)
    response = client.post(f"/admin/accounts/user/{investor.pk}/change/", {"username": "renamed", "role": "operator"})
    assert response.status_code == 403
    investor.refresh_from_db()
    assert investor.username != "renamed"
    assert investor.role == "investor"


def test_nobody_deletes_money_records(client, operator, books):
    client.force_login(operator)
    payment = Payment.objects.first()
    organisation = books["organisation"]
    assert client.post(f"/admin/ledger/payment/{payment.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/accounts/organisation/{organisation.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Payment.objects.filter(pk=payment.pk).exists()
    assert Organisation.objects.filter(pk=organisation.pk).exists()


def test_operator_changes_an_organisation(client, operator):
    organisation = OrganisationFactory(legal_name="Old Name Co., Ltd.")
    client.force_login(operator)

    response = client.post(
        f"/admin/accounts/organisation/{organisation.pk}/change/",
        {"legal_name": "New Name Co., Ltd.", "credit_code": organisation.credit_code, "kind": "sme", "_save": "Save"},
    )

    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.legal_name == "New Name Co., Ltd."
    assert organisation.kyc_status == KycStatus.VERIFIED  # read-only in the admin: untouched


def test_operator_cannot_save_a_malformed_credit_code(client, operator):
    organisation = OrganisationFactory()
    original = organisation.credit_code
    malformed = original[:17] + ("0" if original[17] != "0" else "1")
    client.force_login(operator)
    response = client.post(
        f"/admin/accounts/organisation/{organisation.pk}/change/",
        {"legal_name": organisation.legal_name, "credit_code": malformed, "kind": "sme"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert response.context["adminform"].form.errors["credit_code"]
    organisation.refresh_from_db()
    assert organisation.credit_code == original


def test_operator_cannot_add_ledger_rows(client, operator):
    client.force_login(operator)
    assert client.get("/admin/ledger/transaction/add/").status_code == 403
    assert client.get("/admin/ledger/payment/add/").status_code == 403


@pytest.mark.parametrize("path", ["/admin/", "/admin/ledger/payment/"])
def test_non_staff_are_sent_to_the_admin_login(client, investor, path):
    client.force_login(investor)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={path}"


def test_staff_user_without_a_staff_role_sees_nothing(client):
    # is_staff set on an investor by mistake: the admin opens but shows no model
    staff_investor = StaffUserFactory(role="investor")
    client.force_login(staff_investor)
    assert client.get("/admin/").context["app_list"] == []
    assert client.get("/admin/ledger/payment/").status_code == 403


def test_regulator_cannot_run_kyc_from_the_admin(client, regulator):
    organisation = OrganisationFactory(kyc_status=KycStatus.PENDING)
    client.force_login(regulator)

    assert "run_kyc" not in client.get("/admin/accounts/organisation/").content.decode()  # not offered

    client.post("/admin/accounts/organisation/", {"action": "run_kyc", "_selected_action": [organisation.pk]})

    assert KycCheck.objects.count() == 0
    organisation.refresh_from_db()
    assert organisation.kyc_status == KycStatus.PENDING


def test_operator_runs_kyc_from_the_admin(client, operator):
    organisation = OrganisationFactory(kyc_status=KycStatus.PENDING)
    client.force_login(operator)
    assert "run_kyc" in client.get("/admin/accounts/organisation/").content.decode()

    response = client.post("/admin/accounts/organisation/", {"action": "run_kyc", "_selected_action": [organisation.pk]})

    assert response.status_code == 302
    check = KycCheck.objects.get()
    assert check.organisation == organisation
    organisation.refresh_from_db()
    assert organisation.kyc_status == KycStatus.VERIFIED
    assert audit_trail(organisation).get().actor == operator


# --- platform entities: licence transitions ---------------------------------------------------

# The market access and exit path (accounts/models.py): applied -> licensed -> suspended -> exiting -> exited,
# suspended may be re-licensed, an application may be withdrawn (applied -> exited).
LEGAL_MOVES = {
    ("applied", "licensed"),
    ("applied", "exited"),
    ("licensed", "suspended"),
    ("licensed", "exiting"),
    ("suspended", "licensed"),
    ("suspended", "exiting"),
    ("exiting", "exited"),
}
ALL_MOVES = [(a, b) for a in LicenceStatus.values for b in LicenceStatus.values]


def _entity(status=LicenceStatus.APPLIED):
    return PlatformEntity.objects.create(name=f"Entity {status}", properties=["p2p_lending"], licence_status=status)


@pytest.mark.parametrize("old, new", [m for m in ALL_MOVES if m in LEGAL_MOVES])
def test_legal_licence_move(operator, old, new):
    entity = _entity(old)

    result = entity_transition(entity=entity, to=new, actor=operator, note="board decision 12")

    entity.refresh_from_db()
    assert result.licence_status == entity.licence_status == new
    event = audit_trail(entity).get()
    assert (event.action, event.from_value, event.to_value) == ("licence_status_changed", old, new)
    assert event.actor == operator
    assert event.note == "board decision 12"


@pytest.mark.parametrize("old, new", [m for m in ALL_MOVES if m not in LEGAL_MOVES])
def test_illegal_licence_move(operator, old, new):
    entity = _entity(old)

    with pytest.raises(ApplicationError) as excinfo:
        entity_transition(entity=entity, to=new, actor=operator)

    assert excinfo.value.code == "invalid_transition"
    assert excinfo.value.status == 409
    entity.refresh_from_db()
    assert entity.licence_status == old
    assert not audit_trail(entity).exists()


def test_the_whole_life_of_an_entity(operator):
    entity = _entity()
    for status in ["licensed", "suspended", "licensed", "exiting", "exited"]:
        entity_transition(entity=entity, to=status, actor=operator)
    entity.refresh_from_db()
    assert entity.licence_status == LicenceStatus.EXITED
    assert not entity.accepts_new_business
    assert [e.to_value for e in audit_trail(entity).order_by("id")] == ["licensed", "suspended", "licensed", "exiting", "exited"]


@pytest.mark.parametrize("who", ["regulator", "investor", "sme_user"])
def test_only_operators_move_a_licence(who, request):
    actor = request.getfixturevalue(who)
    entity = _entity()
    with pytest.raises(ApplicationError) as excinfo:
        entity_transition(entity=entity, to=LicenceStatus.LICENSED, actor=actor)
    assert excinfo.value.code == "permission_denied"
    entity.refresh_from_db()
    assert entity.licence_status == LicenceStatus.APPLIED
    assert AuditEvent.objects.count() == 0


def test_a_superuser_may_move_a_licence():
    superuser = UserFactory(is_superuser=True, is_staff=True)
    entity = entity_transition(entity=_entity(), to=LicenceStatus.LICENSED, actor=superuser)
    assert entity.licence_status == LicenceStatus.LICENSED


def test_operator_moves_a_licence_from_the_admin(client, operator):
    entity = _entity()
    client.force_login(operator)

    response = client.post(
        "/admin/accounts/platformentity/",
        {"action": "licence_licensed", "_selected_action": [entity.pk], "apply": "1", "reason": "Licence 12 granted"},
    )

    assert response.status_code == 302
    entity.refresh_from_db()
    assert entity.licence_status == LicenceStatus.LICENSED
    assert (audit_trail(entity).get().actor, audit_trail(entity).get().note) == (operator, "Licence 12 granted")


def test_illegal_licence_move_from_the_admin_is_reported(client, operator):
    entity = _entity()
    client.force_login(operator)

    response = client.post(
        "/admin/accounts/platformentity/",
        {"action": "licence_suspended", "_selected_action": [entity.pk], "apply": "1", "reason": "audit findings"},
        follow=True,
    )

    assert "cannot become suspended" in response.content.decode()
    entity.refresh_from_db()
    assert entity.licence_status == LicenceStatus.APPLIED


def test_regulator_cannot_move_a_licence_from_the_admin(client, regulator):
    entity = _entity()
    client.force_login(regulator)
    assert "licence_licensed" not in client.get("/admin/accounts/platformentity/").content.decode()

    client.post(
        "/admin/accounts/platformentity/",
        {"action": "licence_licensed", "_selected_action": [entity.pk], "apply": "1", "reason": "not theirs to give"},
    )

    entity.refresh_from_db()
    assert entity.licence_status == LicenceStatus.APPLIED
    assert not audit_trail(entity).exists()


def test_regulators_are_offered_no_actions_operators_are(client):
    from tests.crowdfunding.factories import live_campaign

    live_campaign()  # the action bar shows only above a non-empty list
    regulator, operator = StaffUserFactory(role="regulator"), StaffUserFactory(role="operator")
    client.force_login(regulator)
    assert 'name="action"' not in client.get("/admin/crowdfunding/campaign/").content.decode()
    client.force_login(operator)
    assert 'name="action"' in client.get("/admin/crowdfunding/campaign/").content.decode()
