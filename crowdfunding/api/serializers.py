"""Shapes of the crowdfunding API. Input serializers only parse; services decide."""

import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crowdfunding.models import Campaign, CampaignUpdate, EquityTerms, Pledge, RewardTier
from platform_core.api.fields import AmountField


class TierSerializer(serializers.ModelSerializer):
    remaining = serializers.IntegerField(read_only=True, allow_null=True)
    sold_out = serializers.BooleanField(read_only=True)

    class Meta:
        model = RewardTier
        fields = [
            "id",
            "title",
            "description",
            "minimum_amount",
            "quantity_limit",
            "claimed",
            "remaining",
            "sold_out",
            "estimated_delivery",
        ]


class EquityTermsSerializer(serializers.ModelSerializer):
    class Meta:
        model = EquityTerms
        fields = ["price_per_share", "minimum_investment", "pre_money_valuation", "max_investors"]


class CampaignSerializer(serializers.ModelSerializer):
    organisation = serializers.CharField(source="organisation.legal_name", read_only=True)
    cover_image = serializers.ImageField(read_only=True, allow_null=True)  # null: no cover uploaded
    tiers = TierSerializer(many=True, read_only=True)
    equity_terms = serializers.SerializerMethodField()
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "kind",
            "title",
            "summary",
            "story",
            "category",
            "cover_image",
            "organisation",
            "target_amount",
            "maximum_amount",
            "funding_model",
            "currency",
            "time_zone",
            "launched_at",
            "deadline",
            "status",
            "outcome",
            "rejection_reason",
            "raised_amount",
            "pledge_count",
            "investor_count",
            "progress_percent",
            "tiers",
            "equity_terms",
            "created_at",
        ]

    @extend_schema_field(EquityTermsSerializer(allow_null=True))
    def get_equity_terms(self, campaign) -> dict | None:
        terms = getattr(campaign, "equity_terms", None) if campaign.is_equity else None
        return EquityTermsSerializer(terms).data if terms else None


@extend_schema_field(OpenApiTypes.OBJECT)
class _JsonField(serializers.Field):
    """Accepts a JSON value, or a string holding JSON (multipart uploads)."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                return json.loads(data)
            except ValueError:
                raise serializers.ValidationError("Send valid JSON.") from None
        return data

    def to_representation(self, value):
        return value


class CampaignWriteSerializer(serializers.Serializer):
    kind = serializers.CharField(required=False)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    summary = serializers.CharField(required=False, allow_blank=True, max_length=500)
    story = serializers.CharField(required=False, allow_blank=True)
    category = serializers.CharField(required=False)
    target_amount = AmountField(required=False)
    maximum_amount = AmountField(required=False, allow_null=True, allow_blank=True)
    funding_model = serializers.CharField(required=False)
    currency = serializers.CharField(required=False, max_length=3)
    time_zone = serializers.CharField(required=False, max_length=64)
    deadline = serializers.CharField(
        required=False, max_length=40, help_text="ISO 8601; without an offset it is read in the campaign's time zone."
    )
    # A plain file: platform_core.uploads.image_upload_check (in the service) judges size, type and pixels.
    cover_image = serializers.FileField(required=False)
    tiers = _JsonField(required=False)
    equity_terms = _JsonField(required=False)

    def validate_tiers(self, value):
        if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
            raise serializers.ValidationError("Send a list of tiers.")
        return value

    def validate_equity_terms(self, value):
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError("Send an object.")
        return value


class CampaignReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class PledgeCreateSerializer(serializers.Serializer):
    amount = AmountField()
    tier = serializers.IntegerField(required=False, allow_null=True, default=None)


class PledgeSerializer(serializers.ModelSerializer):
    campaign_title = serializers.CharField(source="campaign.title", read_only=True)
    tier_title = serializers.CharField(source="tier.title", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Pledge
        fields = [
            "id",
            "campaign",
            "campaign_title",
            "tier",
            "tier_title",
            "amount",
            "currency",
            "shares",
            "status",
            "reconfirm_by",
            "created_at",
        ]


class UpdateSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = CampaignUpdate
        fields = ["id", "title", "body", "backers_only", "is_material_change", "author", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class UpdateCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField()
    backers_only = serializers.BooleanField(required=False, default=False)
    material_change = serializers.BooleanField(required=False, default=False)
