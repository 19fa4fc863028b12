"""The admin offers "Add" only where a hand-made object can be saved: every admin that offers it is
listed here with a form a person would fill in, and saving it creates the object; every other admin
answers its add page with 403 and shows no "Add" link. A new admin offering "Add" without an entry
here fails the test."""

import pytest
from django.contrib import admin

from platform_core.accounts.models import InvestorProfile, Organisation, PlatformEntity, User

from ..factories import SmeUserFactory, StaffUserFactory, credit_code

pytestmark = pytest.mark.django_db


def _hand_made(model):
    """The form an operator would fill in on the add page, and how to find the object it made."""
    if model is User:
        return {"username": "new-operator", "password1": "a-long-pass-2026!", "password2": "a-long-pass-2026!"}, {
            "username": "new-operator"
        }
    if model is Organisation:
        return {"legal_name": "Hand-made Co., Ltd.", "credit_code": credit_code(424242), "kind": "sme"}, {
            "legal_name": "Hand-made Co., Ltd."
        }
    if model is PlatformEntity:
        return {"name": "Regional entity", "properties": '["crowdfunding"]', "licence_number": ""}, {"name": "Regional entity"}
    if model is InvestorProfile:
        user = SmeUserFactory()
        return {"user": str(user.pk), "annual_income": "0", "net_worth": "0"}, {"user": user}
    return _hand_made_disclosures(model) or _hand_made_schedule(model)


def _hand_made_disclosures(model):
    from platform_core.accounts.services import entity_default
    from platform_core.disclosures.items import registry
    from platform_core.disclosures.models import AlertThreshold, RelatedParty

    if model is RelatedParty:  # an operator declares a borrower related to the platform
        organisation = SmeUserFactory().organisation
        return {"entity": str(entity_default().pk), "organisation": str(organisation.pk), "relation": "Shareholder"}, {
            "organisation": organisation
        }
    if model is AlertThreshold:  # an operator adds a threshold on an item that has none
        taken = set(AlertThreshold.objects.values_list("item_key", flat=True))
        key = next(k for k, item in registry().items() if item.kind in ("amount", "count", "rate") and k not in taken)
        return {"item_key": key, "comparison": "above", "limit": "100", "enabled": "on"}, {"item_key": key}
    return None


def _hand_made_schedule(model):
    """Beat's schedule (django-celery-beat): operators add schedules and periodic tasks by hand."""
    from django_celery_beat import models as beat

    if model is beat.IntervalSchedule:
        return {"every": "7", "period": "minutes"}, {"every": 7, "period": "minutes"}
    if model is beat.CrontabSchedule:
        cron = {"minute": "17", "hour": "4", "day_of_month": "*", "month_of_year": "*", "day_of_week": "*"}
        return {**cron, "timezone": "Asia/Shanghai"}, {"minute": "17", "hour": "4"}
    if model is beat.ClockedSchedule:
        return {"clocked_time_0": "2027-01-05", "clocked_time_1": "09:30:00"}, {"clocked_time__year": 2027}
    if model is beat.SolarSchedule:
        return {"event": "sunrise", "latitude": "31.23", "longitude": "121.47"}, {"event": "sunrise"}
    if model is beat.PeriodicTask:
        interval = beat.IntervalSchedule.objects.create(every=1, period="hours")
        return {
            "name": "Ledger check by hand",
            "regtask": "platform_core.ledger.tasks.ledger_verify",
            "interval": str(interval.pk),
            "args": "[]",
            "kwargs": "{}",
            "headers": "{}",
        }, {"name": "Ledger check by hand"}
    return None


def _with_defaults(data: dict, form) -> dict:
    """The values the add page shows filled in (choices, defaults), then the typed ones over them."""
    posted = {}
    for name, field in form.base_fields.items():
        initial = field.initial() if callable(field.initial) else field.initial
        if initial not in (None, "") and not isinstance(initial, bool):
            posted[name] = initial
        elif initial is True:
            posted[name] = "on"
    return {**posted, **data}


@pytest.mark.parametrize("model_admin", list(admin.site._registry.values()), ids=lambda a: a.model._meta.label)
def test_add_is_offered_only_where_a_hand_made_object_can_be_saved(client, model_admin, rf):
    operator = StaffUserFactory(role="operator")
    client.force_login(operator)
    meta = model_admin.model._meta
    add_url = f"/admin/{meta.app_label}/{meta.model_name}/add/"
    request = rf.get(add_url)
    request.user = operator
    changelist = client.get(f"/admin/{meta.app_label}/{meta.model_name}/")
    if changelist.status_code == 403:  # an admin operators do not use at all (e.g. auth groups)
        assert client.get(add_url).status_code == 403
        return
    assert changelist.status_code == 200

    if not model_admin.has_add_permission(request):
        assert client.get(add_url).status_code == 403
        assert f'href="{add_url}"' not in changelist.content.decode()
        return

    hand_made = _hand_made(model_admin.model)
    assert hand_made is not None, f"{meta.label} offers Add: list a form an operator would fill in here"
    data, lookup = hand_made
    assert client.get(add_url).status_code == 200
    form = model_admin.get_form(request, None)
    response = client.post(add_url, _with_defaults(data, form))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert model_admin.model.objects.filter(**lookup).count() == 1


def test_the_loan_and_campaign_admins_offer_no_add(client):
    client.force_login(StaffUserFactory(role="operator"))
    assert client.get("/admin/p2p/loan/add/").status_code == 403
    assert client.get("/admin/crowdfunding/campaign/add/").status_code == 403
    assert client.get("/admin/accounts/user/add/").status_code == 200
