"""Assertions on the API's one error shape: {"error": {"code", "message", "fields"}}."""


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["fields"], dict), error
    if field is not None:
        assert field in error["fields"], error
        assert all(isinstance(m, str) and m for m in error["fields"][field]), error
    return error
