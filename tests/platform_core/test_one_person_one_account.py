"""One person, one account: a resident identity number opens one account, on the API, on the web
and in the database (a unique constraint on the normalised number decides races)."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from platform_core.accounts import services as accounts
from platform_core.accounts.models import KycStatus, User
from platform_core.errors import ApplicationError

from ..factories import UserFactory, resident_id

pytestmark = pytest.mark.django_db

PASSWORD = "tulip-orbit-granite-47"
NUMBER = "11010519491231002X"  # valid, check character X


def _api_signup(api, username, id_number):
    body = {"kind": "investor", "username": username, "password": PASSWORD, "id_number": id_number}
    return api.post("/api/v1/auth/signup/", body, format="json")


@pytest.mark.parametrize("second", [NUMBER, NUMBER.lower(), f" {NUMBER.lower()} "])
def test_the_api_refuses_a_second_account_for_the_same_number(api, second):
    first = _api_signup(api, "wang-fang", NUMBER)
    assert first.status_code == 201
    assert User.objects.get(username="wang-fang").kyc_status == KycStatus.VERIFIED

    response = _api_signup(api, "wang-fang-2", second)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "id_number_taken"
    assert error["fields"] == {
        "id_number": ["An account with this resident identity number already exists; sign in to it instead."]
    }
    assert list(User.objects.filter(id_number__iexact=NUMBER).values_list("username", flat=True)) == ["wang-fang"]


def test_the_web_sign_up_says_so_beside_the_field(client):
    UserFactory(id_number=resident_id(42))
    response = client.post(
        "/signup/investor/",
        {"username": "li-na", "password": PASSWORD, "id_number": resident_id(42), "annual_income": "0", "net_worth": "0"},
    )
    assert response.status_code in (200, 400)
    assert "An account with this resident identity number already exists; sign in to it instead." in response.content.decode()
    assert not User.objects.filter(username="li-na").exists()


def test_the_database_refuses_the_same_normalised_number_twice():
    UserFactory(id_number=NUMBER)
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(id_number=NUMBER.lower())
    UserFactory(id_number="")  # users without a number (staff, SME members) are not counted
    UserFactory(id_number="")
    assert User.objects.filter(id_number__iexact=NUMBER).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sign_ups_at_the_same_moment_open_one_account():
    barrier = threading.Barrier(2)
    outcomes = []

    def sign_up(username):
        try:
            barrier.wait()
            accounts.investor_signup(username=username, email="", password=PASSWORD, id_number=NUMBER)
            outcomes.append("opened")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up, args=(name,)) for name in ("zhao-1", "zhao-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["id_number_taken", "opened"]
    assert User.objects.filter(id_number=NUMBER).count() == 1
