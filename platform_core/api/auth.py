"""API tokens: stored as a hash, each with an expiry (django-rest-knox), sent as `Token <token>`.

Only the SHA-512 digest of a token and its first characters (to find the row) are in the
database, so neither the admin nor a database dump shows a usable token. A token expires
`REST_KNOX["TOKEN_TTL"]` after it was issued; the client asks `POST /api/v1/auth/token/` again.
"""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.models import AuthToken


class ExpiringTokenAuthentication(TokenAuthentication):
    """knox's authentication, looking only at the presented token: an expired one is refused (and
    deleted) without reading every other token of its user on each request (one query, as DRF's
    own token did). The user's other expired tokens go when it next asks for a token."""

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False


def token_issue(*, user) -> tuple[str, AuthToken]:
    """A new token for `user` (the plain token is returned once and never stored); the user's
    expired tokens are deleted."""
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    instance, token = AuthToken.objects.create(user=user)
    return token, instance


class ExpiringTokenScheme(OpenApiAuthenticationExtension):
    target_class = "platform_core.api.auth.ExpiringTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token-based authentication with required prefix "Token"',
        }
