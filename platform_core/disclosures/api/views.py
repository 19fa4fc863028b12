"""Disclosures API: thin views over platform_core.disclosures.selectors and services."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from platform_core.api.filters import filters_check
from platform_core.api.pagination import Pagination
from platform_core.errors import ApplicationError

from .. import selectors, services
from ..items import month_parse
from ..models import AlertStatus
from .serializers import (
    AcknowledgeSerializer,
    Alert,
    Disclosure,
    DisclosureDetail,
    PublicDisclosures,
    alert_data,
    snapshot_data,
)


def _entity_param(raw) -> int | None:
    if raw in (None, ""):
        return None
    if not str(raw).isdigit() or len(str(raw)) > 12:
        raise ApplicationError("invalid_entity", "entity is a platform entity's id.", field="entity")
    return int(raw)


ALERT_FILTERS = [OpenApiParameter("status", str, enum=list(AlertStatus.values))]


class DisclosureListView(APIView):
    pagination_class = Pagination  # the schema documents the paginated envelope

    @extend_schema(
        operation_id="disclosures_list",
        parameters=[OpenApiParameter("entity", int), OpenApiParameter("period", str, description="YYYY-MM")],
        responses=Disclosure(many=True),
    )
    def get(self, request):
        raw_period = request.query_params.get("period")
        period = month_parse(raw_period)
        if raw_period and period is None:
            raise ApplicationError("invalid_period", "period is a month: YYYY-MM.", field="period")
        qs = selectors.snapshot_list(
            user=request.user, entity_id=_entity_param(request.query_params.get("entity")), period=period
        ).defer("items_json", "diff_json")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([snapshot_data(s) for s in page])


class DisclosureDetailView(APIView):
    @extend_schema(operation_id="disclosures_retrieve", responses=DisclosureDetail)
    def get(self, request, pk):
        snapshot = selectors.snapshot_get(user=request.user, snapshot_id=pk)
        if snapshot is None:
            raise ApplicationError("not_found", "No such disclosure.", status=404)
        return Response(snapshot_data(snapshot, user=request.user, with_items=True))


class PublicDisclosureView(APIView):
    """What platforms must publish to investors: each entity's latest filed month, public items only."""

    permission_classes = [AllowAny]

    @extend_schema(operation_id="disclosures_public", responses=PublicDisclosures)
    def get(self, request):
        return Response({"results": [snapshot_data(s, user=None, with_items=True) for s in selectors.public_latest()]})


class AlertListView(APIView):
    pagination_class = Pagination

    @extend_schema(operation_id="alerts_list", parameters=ALERT_FILTERS, responses=Alert(many=True))
    def get(self, request):
        if not selectors.sees_everything(request.user):
            raise ApplicationError("permission_denied", "Alerts are for regulators and operators.")
        filters_check(request, ALERT_FILTERS)
        qs = selectors.alert_list(user=request.user)
        if request.query_params.get("status"):
            qs = qs.filter(status=request.query_params["status"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([alert_data(a) for a in page])


class AlertAcknowledgeView(APIView):
    @extend_schema(operation_id="alerts_acknowledge", request=AcknowledgeSerializer, responses=Alert)
    def post(self, request, pk):
        serializer = AcknowledgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        alert = services.alert_acknowledge(user=request.user, alert_id=pk, note=serializer.validated_data["note"])
        return Response(alert_data(alert))
