"""The API schema says what the API does, errors included.

Every operation documents the client errors it can answer, each in the one error shape
`{"error": {"code", "message", "fields"}}` (platform_core.api.errors):

- every operation: 400 (bad input, a malformed or oversized request), 401 (a bad or expired
  token), 403 (role, KYC, CSRF), 406 (an Accept header the API cannot serve: it speaks JSON
  only), 429 (rate limit, or log-in locked after failures);
- an operation on an object (a path parameter): 404, also for objects the caller may not see;
  a list: 404 for a page past the end;
- a write (POST, PUT, PATCH, DELETE): 409 (the state forbids it, or its idempotency key is in
  use), 415 (a body the API cannot parse), 422 (an idempotency key reused with another body).

A view documents its own description of an error by naming the status in `extend_schema`
(e.g. a 404 for an object named in the query string); this hook adds what is missing, and the
error shape to a 4xx the view describes without one.
"""

from django.utils.translation import gettext_lazy as _

ERROR_SCHEMA_NAME = "Error"

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable, e.g. `insufficient_funds`."},
                "message": {"type": "string", "description": "For people; may change and be translated."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Messages per input field; empty when the error is not about a field.",
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

DESCRIPTIONS = {
    "400": _("Bad input; nothing changed."),
    "401": _("Not authenticated, or the token is invalid or expired."),
    "403": _("Not allowed for this user (role, organisation role, KYC) or CSRF check failed."),
    "404": _("No such object, or not visible to this user."),
    "406": _("The API answers JSON only."),
    "409": _("The object's state does not allow this now, or the idempotency key is in use."),
    "415": _("The body's media type cannot be parsed."),
    "422": _("The idempotency key was used with another request."),
    "429": _("Too many requests, or log-in locked after repeated failures."),
}

ALWAYS = ("400", "401", "403", "406", "429")
ON_OBJECTS = ("404",)
ON_WRITES = ("409", "415", "422")
WRITE_METHODS = {"post", "put", "patch", "delete"}


def error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the error component and the 4xx of every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    reference = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = list(ALWAYS)
            paged = any(p.get("name") == "page" and p.get("in") == "query" for p in operation.get("parameters", []))
            if "{" in path or paged:  # an object, or a page, that does not exist
                codes += ON_OBJECTS
            if method in WRITE_METHODS:
                codes += ON_WRITES
            responses = operation["responses"]
            for code in sorted(codes):
                responses.setdefault(
                    code, {"description": str(DESCRIPTIONS[code]), "content": {"application/json": {"schema": reference}}}
                )
            for code, response in responses.items():
                if str(code).startswith("4") and "content" not in response:
                    response["content"] = {"application/json": {"schema": reference}}
    return result
