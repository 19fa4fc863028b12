"""Crowdfunding pages, mounted at /campaigns/ by platform_core/urls.py."""

from django.urls import path

from . import views

app_name = "crowdfunding"

urlpatterns = [
    path("", views.campaign_list, name="campaign-list"),
    path("new/", views.campaign_create, name="campaign-create"),
    path("mine/", views.campaign_mine, name="campaign-mine"),
    path("pledges/", views.pledge_list, name="pledge-list"),
    path("pledges/<int:pledge_id>/cancel/", views.pledge_cancel, name="pledge-cancel"),
    path("pledges/<int:pledge_id>/reconfirm/", views.pledge_reconfirm, name="pledge-reconfirm"),
    path("<int:campaign_id>/", views.campaign_detail, name="campaign-detail"),
    path("<int:campaign_id>/edit/", views.campaign_edit, name="campaign-edit"),
    path("<int:campaign_id>/preview/", views.campaign_preview, name="campaign-preview"),
    path("<int:campaign_id>/submit/", views.campaign_submit, name="campaign-submit"),
    path("<int:campaign_id>/redraft/", views.campaign_redraft, name="campaign-redraft"),
    path("<int:campaign_id>/cancel/", views.campaign_cancel, name="campaign-cancel"),
    path("<int:campaign_id>/updates/", views.campaign_update_post, name="campaign-update-post"),
    path("<int:campaign_id>/pledge/", views.pledge_create, name="pledge-create"),
    path("<int:campaign_id>/backers/", views.campaign_backers, name="campaign-backers"),
    path("<int:campaign_id>/backers.csv", views.campaign_backers_csv, name="campaign-backers-csv"),
]
