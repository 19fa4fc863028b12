from django.urls import path

from . import views

urlpatterns = [path("", views.public_disclosures, name="disclosures-public")]
