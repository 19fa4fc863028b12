"""The API's JSON parser: DRF's, with a limit on how deeply a body may nest.

Python's json module recurses once per level: a body nested a few thousand levels deep raised
RecursionError inside DRF's parser, a 500 on any POST. No request of this API nests more than a few
levels, so anything deeper than MAX_DEPTH is refused as a parse error (400, code `json_too_deep`)
before a serializer or the idempotency fingerprint ever walks it.
"""

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


def json_depth_exceeds(data, limit: int = MAX_DEPTH) -> bool:
    """True when `data` nests lists/objects more than `limit` levels deep (iterative: no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(_("JSON may nest at most %(limit)d levels deep.") % {"limit": MAX_DEPTH}, code="json_too_deep")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if json_depth_exceeds(data):
            raise too_deep
        return data
