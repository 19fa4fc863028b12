"""The API schema is truthful: it validates with no warning, lists are documented with their
paginated envelope, nullable fields as nullable, every operation's 4xx in the one error shape;
and every error the API answers is in that shape, also those Django raises before a view runs."""

import pytest
import yaml
from django.core.management import call_command

from ..factories import UserFactory
from .api_helpers import assert_error

pytestmark = pytest.mark.django_db

PAGINATED_LISTS = ["/api/v1/campaigns/", "/api/v1/pledges/", "/api/v1/loans/", "/api/v1/notes/"] + [
    "/api/v1/invoices/",
    "/api/v1/certificates/",
    "/api/v1/financings/",
    "/api/v1/programmes/",
    "/api/v1/disclosures/",
    "/api/v1/alerts/",
]


@pytest.fixture(scope="module")
def schema(django_db_blocker, tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        # --validate checks the document against the OpenAPI 3 meta-schema; --fail-on-warn fails on
        # any warning drf-spectacular has about a view it could not describe
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _property(schema, component, name):
    return _resolve(schema, schema["components"]["schemas"][component])["properties"][name]


@pytest.mark.parametrize("path", PAGINATED_LISTS)
def test_lists_are_documented_with_their_paginated_envelope(schema, path):
    body = _resolve(schema, schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    assert body["type"] == "object"
    assert set(body["properties"]) == {"count", "next", "previous", "results"}
    assert body["properties"]["results"]["type"] == "array"
    assert body["properties"]["next"]["nullable"] is True


@pytest.mark.parametrize(
    "component, field",
    [
        ("Campaign", "cover_image"),
        ("Campaign", "equity_terms"),
        ("Me", "organisation"),
        ("Me", "investor_profile"),
        ("Pledge", "tier_title"),
        ("Pledge", "tier"),
        ("Tier", "remaining"),
        ("Certificate", "parent"),
        ("Certificate", "root"),
        ("Encumbrance", "released_at"),
        ("Disclosure", "period"),
        ("Alert", "acknowledged_by"),
        ("Alert", "acknowledged_at"),
    ],
)
def test_nullable_fields_are_documented_as_nullable(schema, component, field):
    prop = _property(schema, component, field)
    assert prop.get("nullable") is True or any(p.get("nullable") for p in prop.get("oneOf", prop.get("allOf", []))), prop


def test_every_operation_documents_its_client_errors_in_the_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["required"]) == {"code", "message", "fields"}
    operations = [(p, m, op) for p, ops in schema["paths"].items() for m, op in ops.items()]
    assert len(operations) > 30
    for path, method, operation in operations:
        codes = set(operation["responses"])
        expected = {"400", "401", "403", "429"} | ({"404"} if "{" in path else set())
        if method in {"post", "patch", "put", "delete"}:
            expected |= {"409", "415", "422"}
        assert expected <= codes, (method, path, sorted(codes))
        for code in expected:
            ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/Error"), (method, path, code)


def test_the_token_endpoint_documents_its_token_and_expiry(schema):
    body = _resolve(
        schema, schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    )
    assert set(body["required"]) == {"token", "expiry"}


# --- errors Django raises before a view runs, and content negotiation -------------------------


def test_too_many_fields_in_a_form_body_is_an_api_error_not_an_html_page(client, settings):
    body = "&".join(f"f{n}=x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = client.post("/api/v1/auth/token/", body, content_type="application/x-www-form-urlencoded")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 400, "bad_request")


def test_too_many_fields_in_a_query_string_is_an_api_error(client, settings):
    query = "&".join(f"q{n}=x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = client.get(f"/api/v1/campaigns/?{query}")
    assert_error(response, 400, "bad_request")


def test_too_many_fields_outside_the_api_is_still_a_page(client, settings):
    body = "&".join(f"f{n}=x" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = client.post("/login/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_the_api_answers_json_even_to_a_browser(client):
    user = UserFactory()
    client.force_login(user)
    response = client.get("/api/v1/me/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["username"] == user.username


def test_a_client_that_accepts_only_html_gets_a_json_error(client):
    response = client.get("/api/v1/campaigns/", HTTP_ACCEPT="text/html")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 406, "not_acceptable")


def test_the_browsable_api_format_is_not_served(client):
    response = client.get("/api/v1/campaigns/", {"format": "api"})
    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "not_found")


def test_a_session_post_without_csrf_is_refused_in_the_error_shape(api):
    from rest_framework.test import APIClient

    user = UserFactory()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/v1/wallet/deposits/", {"amount": "10.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert_error(response, 403, "permission_denied")
