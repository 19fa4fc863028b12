from django.urls import path

from . import views

urlpatterns = [
    path("disclosures/", views.DisclosureListView.as_view(), name="api-disclosures"),
    path("disclosures/public/", views.PublicDisclosureView.as_view(), name="api-disclosures-public"),
    path("disclosures/<int:pk>/", views.DisclosureDetailView.as_view(), name="api-disclosure"),
    path("alerts/", views.AlertListView.as_view(), name="api-alerts"),
    path("alerts/<int:pk>/acknowledge/", views.AlertAcknowledgeView.as_view(), name="api-alert-acknowledge"),
]
