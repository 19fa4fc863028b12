"""Log-in cannot be guessed: after a few failures the web log-in, the API token endpoint and the
admin log-in refuse even the right password for a while; the client's address is what our own
proxies saw, so a forged X-Forwarded-For neither escapes the lockout nor resets the token
endpoint's rate limit; API tokens are stored as hashes, expire, and the admin never shows one."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, RequestFactory
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.throttling import ScopedRateThrottle

from platform_core.accounts.login import client_ip

from ..factories import PASSWORD, StaffUserFactory, UserFactory
from .api_helpers import assert_error

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/me/"
LIMIT = settings.AXES_FAILURE_LIMIT


def _web_login(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def _admin_login(client, username, password, **extra):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, **extra)


def _api_token(api, username, password, **extra):
    return api.post(TOKEN, {"username": username, "password": password}, format="json", **extra)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- the web log-in ---------------------------------------------------------------------------


def test_web_login_locks_after_repeated_failures_even_for_the_right_password(client):
    user = UserFactory()
    for _ in range(LIMIT - 1):
        assert _web_login(client, user.username, "wrong").status_code == 200  # the form again, with its error
    locking = _web_login(client, user.username, "wrong")
    assert locking.status_code == 429

    response = _web_login(client, user.username, PASSWORD)

    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert not _logged_in(client)


def test_web_login_works_again_after_the_cool_off(client):
    user = UserFactory()
    for _ in range(LIMIT):
        _web_login(client, user.username, "wrong")
    assert _web_login(client, user.username, PASSWORD).status_code == 429

    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5)):
        response = _web_login(client, user.username, PASSWORD)

    assert response.status_code == 302
    assert _logged_in(client)


def test_a_success_before_the_limit_starts_the_count_again(client):
    user = UserFactory()
    for _ in range(LIMIT - 1):
        _web_login(client, user.username, "wrong")
    assert _web_login(client, user.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        _web_login(client, user.username, "wrong")
    assert _web_login(client, user.username, PASSWORD).status_code == 302


def test_one_address_trying_many_user_names_is_locked_out(client):
    users = UserFactory.create_batch(LIMIT + 1)
    for user in users[:LIMIT]:
        _web_login(client, user.username, "wrong")
    assert _web_login(client, users[LIMIT].username, PASSWORD).status_code == 429


def test_many_addresses_guessing_one_user_lock_that_user(client):
    user = UserFactory()
    for n in range(LIMIT):
        _web_login(client, user.username, "wrong", REMOTE_ADDR=f"198.51.100.{n + 1}")
    assert _web_login(client, user.username, PASSWORD, REMOTE_ADDR="203.0.113.9").status_code == 429
    # someone else, from a fresh address, still logs in
    other = UserFactory()
    assert _web_login(client, other.username, PASSWORD, REMOTE_ADDR="203.0.113.10").status_code == 302


def test_a_forged_forwarded_for_does_not_escape_the_lockout(client):
    user = UserFactory()
    for n in range(LIMIT):
        _web_login(client, f"nobody-{n}", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{n + 1}")
    response = _web_login(client, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429
    assert not _logged_in(client)


# --- the admin log-in -------------------------------------------------------------------------


def test_admin_login_locks_after_repeated_failures(client):
    operator = StaffUserFactory(role="operator")
    for _ in range(LIMIT):
        _admin_login(client, operator.username, "wrong")

    response = _admin_login(client, operator.username, PASSWORD)

    assert response.status_code == 429
    assert not _logged_in(client)
    assert client.get("/admin/").status_code == 302  # still sent to the log-in page


# --- the API token endpoint -------------------------------------------------------------------


def test_token_endpoint_locks_after_repeated_failures(api):
    user = UserFactory()
    for _ in range(LIMIT - 1):
        assert_error(_api_token(api, user.username, "wrong"), 400, "invalid_credentials")
    assert_error(_api_token(api, user.username, "wrong"), 429, "too_many_failed_logins")

    response = _api_token(api, user.username, PASSWORD)

    assert_error(response, 429, "too_many_failed_logins")
    assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert AuthToken.objects.count() == 0


def test_failures_on_the_web_count_against_the_api_too(client, api):
    user = UserFactory()
    for _ in range(LIMIT):
        _web_login(client, user.username, "wrong")
    assert_error(_api_token(api, user.username, PASSWORD), 429, "too_many_failed_logins")


@pytest.fixture
def auth_limit_of_three(monkeypatch):
    """The token endpoint's rate limit as production has it, only smaller (tests run with 10,000)."""
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, "auth": "3/minute"})


def test_a_forged_forwarded_for_does_not_reset_the_token_rate_limit(api, auth_limit_of_three):
    user = UserFactory()
    for n in range(3):
        assert _api_token(api, user.username, PASSWORD, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code == 200

    response = _api_token(api, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.0.0.99")

    assert_error(response, 429, "throttled")
    assert AuthToken.objects.filter(user=user).count() == 3


def test_behind_one_trusted_proxy_each_client_has_its_own_rate_limit(api, auth_limit_of_three, settings):
    settings.NUM_PROXIES = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    user = UserFactory()
    for _ in range(3):
        assert _api_token(api, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 200
    assert_error(_api_token(api, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1"), 429, "throttled")
    # another client behind the same proxy is not held back; one that forges an earlier hop is not either fooled
    assert _api_token(api, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 200
    forged = _api_token(api, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="7.7.7.7, 198.51.100.1")
    assert_error(forged, 429, "throttled")


@pytest.mark.parametrize(
    "num_proxies, forwarded, expected",
    [
        (0, None, "192.0.2.1"),
        (0, "203.0.113.5", "192.0.2.1"),  # no proxy of ours: the header is the client's own words
        (1, None, "192.0.2.1"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # only the hop our proxy appended counts
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (3, "203.0.113.5", "203.0.113.5"),
        (1, " , ", "192.0.2.1"),
    ],
)
def test_client_address_comes_from_the_trusted_proxies_only(settings, num_proxies, forwarded, expected):
    settings.NUM_PROXIES = num_proxies
    extra = {"REMOTE_ADDR": "192.0.2.1"}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_ip(RequestFactory().get("/", **extra)) == expected


def test_drf_throttles_read_the_same_proxy_setting():
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.NUM_PROXIES == 0


# --- tokens: hashed, expiring, hidden ---------------------------------------------------------


def test_a_token_expires(api):
    user = UserFactory()
    token = _api_token(api, user.username, PASSWORD).json()["token"]
    assert api.get(ME, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200

    with time_machine.travel(timezone.now() + settings.REST_KNOX["TOKEN_TTL"] + timedelta(seconds=1)):
        response = api.get(ME, HTTP_AUTHORIZATION=f"Token {token}")

    assert_error(response, 401, "authentication_failed")
    assert AuthToken.objects.filter(user=user).count() == 0


def test_the_token_response_says_when_it_expires(api):
    user = UserFactory()
    before = timezone.now()
    body = _api_token(api, user.username, PASSWORD).json()
    expiry = AuthToken.objects.get(user=user).expiry
    assert before + settings.REST_KNOX["TOKEN_TTL"] <= expiry <= timezone.now() + settings.REST_KNOX["TOKEN_TTL"]
    assert body["expiry"].startswith(expiry.isoformat()[:16])


def test_expired_tokens_are_removed_when_a_new_one_is_issued(api):
    user = UserFactory()
    _api_token(api, user.username, PASSWORD)
    with time_machine.travel(timezone.now() + settings.REST_KNOX["TOKEN_TTL"] + timedelta(minutes=1)):
        _api_token(api, user.username, PASSWORD)
        assert AuthToken.objects.filter(user=user).count() == 1


def test_the_admin_never_shows_a_token_nor_mints_one(client, api):
    user = UserFactory()
    token = _api_token(api, user.username, PASSWORD).json()["token"]
    stored = AuthToken.objects.get(user=user)
    for role in ("operator", "regulator"):
        staff = StaffUserFactory(role=role)
        client.force_login(staff)
        listing = client.get("/admin/knox/authtoken/")
        assert listing.status_code == 200
        html = listing.content.decode()
        assert user.username in html
        assert token[:8] not in html  # neither the token nor the characters knox keeps to find its row
        detail = client.get(f"/admin/knox/authtoken/{stored.pk}/change/")
        assert detail.status_code == 200 and token[:8] not in detail.content.decode()
        assert client.get("/admin/knox/authtoken/add/").status_code == 403


def test_an_operator_unlocks_a_locked_user_in_the_admin(client):
    user = UserFactory()
    for _ in range(LIMIT):
        _web_login(client, user.username, "wrong", REMOTE_ADDR="198.51.100.7")
    assert _web_login(client, user.username, PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 429

    staff = Client()
    staff.force_login(StaffUserFactory(role="regulator"))
    listing = staff.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and user.username in listing.content.decode()
    assert "unlock" not in listing.content.decode()  # a regulator only reads
    staff.force_login(StaffUserFactory(role="operator"))
    ids = list(AccessAttempt.objects.values_list("pk", flat=True))
    response = staff.post("/admin/axes/accessattempt/", {"action": "unlock", "_selected_action": ids})
    assert response.status_code == 302
    assert AccessAttempt.objects.count() == 0

    response = _web_login(client, user.username, PASSWORD, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302 and _logged_in(client)
