"""Crowdfunding API: thin views over crowdfunding.services and crowdfunding.selectors."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from crowdfunding import selectors, services
from crowdfunding.models import CampaignKind, RewardTier
from platform_core.api.filters import filters_check
from platform_core.api.idempotent import idempotent_response
from platform_core.api.pagination import Pagination
from platform_core.api.views import IDEMPOTENCY_HEADER
from platform_core.errors import ApplicationError

from .serializers import (
    CampaignReasonSerializer,
    CampaignSerializer,
    CampaignWriteSerializer,
    PledgeCreateSerializer,
    PledgeSerializer,
    UpdateCreateSerializer,
    UpdateSerializer,
)

LIST_FILTERS = [
    OpenApiParameter("kind", str, enum=CampaignKind.values),
    OpenApiParameter("category", str),
    OpenApiParameter("status", str),
    OpenApiParameter("q", str, description="Text search in title, summary and organisation"),
    OpenApiParameter("sort", str, enum=list(selectors.SORTS)),
    OpenApiParameter("mine", bool, description="Only the caller's organisation's campaigns"),
]


def _with_tiers(qs):
    return qs.prefetch_related(Prefetch("tiers", queryset=RewardTier.objects.order_by("minimum_amount", "id")))


def _visible(request, campaign_id):
    campaign = _with_tiers(selectors.campaign_list(user=request.user)).filter(pk=campaign_id).first()
    if campaign is None:
        raise ApplicationError("not_found", "No such campaign.", status=404)
    return campaign


class CampaignListView(APIView):
    pagination_class = Pagination  # the schema documents the paginated envelope

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(parameters=LIST_FILTERS, responses=CampaignSerializer(many=True))
    def get(self, request):
        filters_check(request, LIST_FILTERS)
        p = request.query_params
        qs = selectors.campaign_list(
            user=request.user,
            kind=p.get("kind", ""),
            category=p.get("category", ""),
            status=p.get("status", ""),
            q=p.get("q", "")[:100],
            sort=p.get("sort", ""),
            mine=p.get("mine") == "true",
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(_with_tiers(qs), request, view=self)
        return paginator.get_paginated_response(CampaignSerializer(page, many=True).data)

    @extend_schema(request=CampaignWriteSerializer, responses={201: CampaignSerializer})
    def post(self, request):
        serializer = CampaignWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        campaign = services.campaign_create(user=request.user, kind=data.pop("kind", ""), **data)
        return Response(CampaignSerializer(_visible(request, campaign.pk)).data, status=status.HTTP_201_CREATED)


class CampaignDetailView(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(responses=CampaignSerializer)
    def get(self, request, pk):
        return Response(CampaignSerializer(_visible(request, pk)).data)

    @extend_schema(request=CampaignWriteSerializer, responses=CampaignSerializer)
    def patch(self, request, pk):
        serializer = CampaignWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("kind", None)
        services.campaign_update(user=request.user, campaign_id=pk, **data)
        return Response(CampaignSerializer(_visible(request, pk)).data)


def _action_view(service_call, *, request_serializer=None, doc=""):
    class ActionView(APIView):
        @extend_schema(request=request_serializer, responses=CampaignSerializer, description=doc)
        def post(self, request, pk):
            data = {}
            if request_serializer is not None:
                serializer = request_serializer(data=request.data)
                serializer.is_valid(raise_exception=True)
                data = serializer.validated_data
            service_call(request.user, pk, **data)
            return Response(CampaignSerializer(_visible(request, pk)).data)

    return ActionView


CampaignSubmitView = _action_view(lambda user, pk: services.campaign_submit(user=user, campaign_id=pk), doc="Draft -> in review.")
CampaignApproveView = _action_view(
    lambda user, pk: services.campaign_approve(actor=user, campaign_id=pk), doc="Operators: in review -> live."
)
CampaignRejectView = _action_view(
    lambda user, pk, reason: services.campaign_reject(actor=user, campaign_id=pk, reason=reason),
    request_serializer=CampaignReasonSerializer,
    doc="Operators: in review -> rejected, with a reason.",
)
CampaignCancelView = _action_view(
    lambda user, pk, reason: services.campaign_cancel(user=user, campaign_id=pk, reason=reason),
    request_serializer=CampaignReasonSerializer,
    doc="The SME cancels a live campaign; every pledge is refunded.",
)


class CampaignPledgeView(APIView):
    @extend_schema(request=PledgeCreateSerializer, responses={201: PledgeSerializer}, parameters=[IDEMPOTENCY_HEADER])
    def post(self, request, pk):
        def run():
            serializer = PledgeCreateSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            pledge = services.pledge_create(
                user=request.user,
                campaign_id=pk,
                amount=serializer.validated_data["amount"],
                tier_id=serializer.validated_data["tier"],
            )
            return Response(PledgeSerializer(pledge).data, status=status.HTTP_201_CREATED)

        return idempotent_response(request, run)


class PledgeListView(APIView):
    pagination_class = Pagination  # the schema documents the paginated envelope

    @extend_schema(responses=PledgeSerializer(many=True))
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.pledge_list(user=request.user), request, view=self)
        return paginator.get_paginated_response(PledgeSerializer(page, many=True).data)


def _pledge_action_view(service, doc):
    class PledgeActionView(APIView):
        @extend_schema(request=None, responses=PledgeSerializer, parameters=[IDEMPOTENCY_HEADER], description=doc)
        def post(self, request, pk):
            return idempotent_response(request, lambda: Response(PledgeSerializer(service(user=request.user, pledge_id=pk)).data))

    return PledgeActionView


PledgeCancelView = _pledge_action_view(services.pledge_cancel, "Cancel a pledge and refund it to the wallet.")
PledgeReconfirmView = _pledge_action_view(
    services.pledge_reconfirm, "Reconfirm an equity commitment put on hold by a material change."
)


class CampaignUpdatesView(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(responses=UpdateSerializer(many=True))
    def get(self, request, pk):
        campaign = _visible(request, pk)
        return Response(UpdateSerializer(selectors.campaign_updates(user=request.user, campaign=campaign), many=True).data)

    @extend_schema(request=UpdateCreateSerializer, responses={201: UpdateSerializer})
    def post(self, request, pk):
        serializer = UpdateCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        update = services.campaign_update_post(user=request.user, campaign_id=pk, **serializer.validated_data)
        return Response(UpdateSerializer(update).data, status=status.HTTP_201_CREATED)
