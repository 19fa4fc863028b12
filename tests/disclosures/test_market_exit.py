"""Market access and exit: operators license, suspend, begin and complete an entity's exit with a
reason (audited); beginning exit stops new campaigns and listings while existing ones run off;
completing it is refused while the entity holds client money or a month's disclosure is missing."""

import datetime

import pytest
from django.utils import timezone

from crowdfunding import services as crowdfunding
from crowdfunding.services import pledge_create
from p2p import services as p2p
from platform_core.accounts.models import LicenceStatus, PlatformEntity
from platform_core.accounts.services import entity_default
from platform_core.audit import audit_trail
from platform_core.disclosures.items import period_of
from platform_core.disclosures.services import entity_licence_change, snapshot_file
from platform_core.errors import ApplicationError
from tests.crowdfunding.factories import live_campaign
from tests.factories import SmeUserFactory, UserFactory

pytestmark = pytest.mark.django_db


def _campaign_draft(sme):
    return crowdfunding.campaign_create(
        user=sme,
        kind="reward",
        title="Spring tea",
        summary="A summary.",
        category="food",
        target_amount="10000.00",
        funding_model="all_or_nothing",
        deadline=timezone.now() + datetime.timedelta(days=30),
    )


def _loan_draft(sme):
    return p2p.loan_create(
        user=sme, amount="12000.00", term_months=4, annual_rate_percent="24", method="equal_installments", purpose="Stock"
    )


def _begin_exit(operator):
    return entity_licence_change(entity=entity_default(), to=LicenceStatus.EXITING, actor=operator, reason="Board decision 7")


def _refused(call) -> str:
    with pytest.raises(ApplicationError) as exc:
        call()
    return exc.value.code


def test_beginning_exit_stops_new_campaigns_and_listings(operator):
    sme = SmeUserFactory()
    campaign, loan = _campaign_draft(sme), _loan_draft(sme)  # drafts from before the decision

    entity = _begin_exit(operator)

    assert entity.licence_status == LicenceStatus.EXITING
    assert _refused(lambda: _campaign_draft(sme)) == "entity_exiting"
    assert _refused(lambda: crowdfunding.campaign_submit(user=sme, campaign_id=campaign.pk)) == "entity_exiting"
    assert _refused(lambda: _loan_draft(sme)) == "entity_exiting"
    assert _refused(lambda: p2p.loan_submit(user=sme, loan_id=loan.pk)) == "entity_exiting"
    campaign.refresh_from_db()
    loan.refresh_from_db()
    assert (campaign.status, loan.status) == ("draft", "draft")
    event = audit_trail(entity).get(action="licence_status_changed")
    assert (event.from_value, event.to_value, event.note, event.actor) == ("licensed", "exiting", "Board decision 7", operator)


def test_existing_campaigns_run_off(operator, fund):
    campaign = live_campaign()
    _begin_exit(operator)
    backer = UserFactory()
    fund(backer, "500.00")

    pledge = pledge_create(user=backer, campaign_id=campaign.pk, amount="200.00")

    assert pledge.status == "active"


def test_a_reason_is_required(operator):
    assert (
        _refused(lambda: entity_licence_change(entity=entity_default(), to="exiting", actor=operator, reason="  "))
        == "reason_required"
    )
    assert entity_default().licence_status == LicenceStatus.LICENSED


def test_complete_exit_refused_while_the_entity_holds_client_money(operator, fund):
    campaign = live_campaign()
    backer = UserFactory()
    fund(backer, "500.00")
    pledge_create(user=backer, campaign_id=campaign.pk, amount="200.00")
    entity = _begin_exit(operator)

    with pytest.raises(ApplicationError) as exc:
        entity_licence_change(entity=entity, to=LicenceStatus.EXITED, actor=operator, reason="done")

    assert (exc.value.code, exc.value.status) == ("entity_holds_client_money", 409)
    assert "1 escrow(s)" in exc.value.message
    assert PlatformEntity.objects.get(pk=entity.pk).licence_status == LicenceStatus.EXITING


def test_complete_exit_refused_while_a_month_is_not_filed_then_done(operator):
    entity = PlatformEntity.objects.create(name="Small lender", properties=["p2p_lending"], licence_status="exiting")
    now = timezone.now()
    this_month = period_of(now)
    PlatformEntity.objects.filter(pk=entity.pk).update(created_at=now - datetime.timedelta(days=62))
    entity.refresh_from_db()
    months = [period_of(entity.created_at)]
    while months[-1] < (this_month - datetime.timedelta(days=1)).replace(day=1):
        months.append((months[-1] + datetime.timedelta(days=32)).replace(day=1))
    snapshot_file(entity=entity, period=months[0])

    with pytest.raises(ApplicationError) as exc:
        entity_licence_change(entity=entity, to=LicenceStatus.EXITED, actor=operator, reason="done")
    assert exc.value.code == "disclosures_missing"
    assert len(months) >= 2 and months[-1].strftime("%Y-%m") in exc.value.message

    for month in months[1:]:
        snapshot_file(entity=entity, period=month)
    exited = entity_licence_change(entity=entity, to=LicenceStatus.EXITED, actor=operator, reason="wound down")
    assert exited.licence_status == LicenceStatus.EXITED


def test_operators_move_a_licence_in_the_admin_with_a_reason(client, operator, regulator):
    entity = entity_default()
    client.force_login(operator)
    asked = client.post("/admin/accounts/platformentity/", {"action": "licence_exiting", "_selected_action": [entity.pk]})
    assert asked.status_code == 200 and "Reason" in asked.content.decode()
    blank = client.post(
        "/admin/accounts/platformentity/",
        {"action": "licence_exiting", "_selected_action": [entity.pk], "apply": "1", "reason": ""},
    )
    assert blank.status_code == 200 and blank.context["form"].errors
    assert PlatformEntity.objects.get(pk=entity.pk).licence_status == LicenceStatus.LICENSED

    done = client.post(
        "/admin/accounts/platformentity/",
        {"action": "licence_exiting", "_selected_action": [entity.pk], "apply": "1", "reason": "Licence not renewed"},
    )

    assert done.status_code == 302
    entity.refresh_from_db()
    assert entity.licence_status == LicenceStatus.EXITING
    assert audit_trail(entity).get(action="licence_status_changed").note == "Licence not renewed"
    client.force_login(regulator)
    client.post(
        "/admin/accounts/platformentity/",
        {"action": "licence_licensed", "_selected_action": [entity.pk], "apply": "1", "reason": "regulators cannot"},
    )
    assert PlatformEntity.objects.get(pk=entity.pk).licence_status == LicenceStatus.EXITING
