"""Production settings: refuse to start without a secret, and pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**base, "DJANGO_SETTINGS_MODULE": "platform_core.settings.production", **env},
    )


@pytest.mark.real_clock  # runs manage.py in another process
def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DATABASE_URL="postgres://postgres@127.0.0.1:5432/platform")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.real_clock  # runs manage.py in another process
def test_production_passes_check_deploy_without_a_warning():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="x" * 20 + "-a-long-random-production-secret-0123456789",
        ALLOWED_HOSTS="finance.example.com",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/platform",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.django_db
def test_sign_in_attempts_are_throttled(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    # DRF reads the rates once, into a class attribute: set the sign-in rate there
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "1000/minute", "user": "1000/minute", "auth": "3/minute"})
    client = APIClient()
    codes = [
        client.post("/api/v1/auth/token/", {"username": "nobody", "password": "wrong"}, format="json").status_code
        for _ in range(5)
    ]
    assert codes == [400, 400, 400, 429, 429]
    response = client.post("/api/v1/auth/token/", {"username": "nobody", "password": "wrong"}, format="json")
    assert response.json()["error"]["code"] == "throttled"


@pytest.mark.real_clock  # runs manage.py in another process
def test_openapi_schema_generates_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "platform_core.settings.test"},
    )
    assert result.returncode == 0, result.stderr
    schema = (tmp_path / "schema.yml").read_text()
    for path in ("/api/v1/wallet/deposits/", "/api/v1/campaigns/{id}/pledges/", "/api/v1/loans/{id}/investments/"):
        assert path in schema
