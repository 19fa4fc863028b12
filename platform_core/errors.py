"""The one domain error. Services raise it; the API renders it as a 4xx with a stable code, the web
forms as a message beside the field (or at the top of the form when `field` is None)."""


class ApplicationError(Exception):
    #: HTTP status the API uses; subclasses or callers may override per code.
    STATUS_BY_CODE = {
        "not_found": 404,
        "permission_denied": 403,
        "kyc_not_verified": 403,
        "idempotency_key_in_use": 409,
        "idempotency_key_reused": 422,
        "conflict": 409,
    }

    def __init__(self, code: str, message: str, *, field: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status or self.STATUS_BY_CODE.get(code, 400)

    def __repr__(self):
        return f"ApplicationError({self.code!r}, {self.message!r})"
