from django.urls import path

from . import views

urlpatterns = [
    path("campaigns/", views.CampaignListView.as_view(), name="api-campaigns"),
    path("campaigns/<int:pk>/", views.CampaignDetailView.as_view(), name="api-campaign"),
    path("campaigns/<int:pk>/submit/", views.CampaignSubmitView.as_view(), name="api-campaign-submit"),
    path("campaigns/<int:pk>/approve/", views.CampaignApproveView.as_view(), name="api-campaign-approve"),
    path("campaigns/<int:pk>/reject/", views.CampaignRejectView.as_view(), name="api-campaign-reject"),
    path("campaigns/<int:pk>/cancel/", views.CampaignCancelView.as_view(), name="api-campaign-cancel"),
    path("campaigns/<int:pk>/pledges/", views.CampaignPledgeView.as_view(), name="api-campaign-pledges"),
    path("campaigns/<int:pk>/updates/", views.CampaignUpdatesView.as_view(), name="api-campaign-updates"),
    path("pledges/", views.PledgeListView.as_view(), name="api-pledges"),
    path("pledges/<int:pk>/cancel/", views.PledgeCancelView.as_view(), name="api-pledge-cancel"),
    path("pledges/<int:pk>/reconfirm/", views.PledgeReconfirmView.as_view(), name="api-pledge-reconfirm"),
]
