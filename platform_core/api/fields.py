"""Serializer fields shared by the API's input serializers."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from platform_core.errors import ApplicationError


class AmountField(serializers.CharField):
    """An amount as the API takes it: a JSON string ("100.00"), which the service hands to
    platform_core.money.parse_amount for the one strict rule. A JSON number (1.5 is a binary
    fraction; 100 would be accepted one day and 100.1 refused the next) is refused with the same
    stable code, `invalid_amount`, beside the field."""

    default_error_messages = {"not_a_string": _('Send amounts as decimal strings, e.g. "100.00".')}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise ApplicationError("invalid_amount", str(self.error_messages["not_a_string"]), field=self.field_name)
        return super().to_internal_value(data)
