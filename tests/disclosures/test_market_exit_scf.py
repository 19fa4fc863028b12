"""Market exit and supply-chain finance: beginning exit stops new financings on the entity's
programmes (`entity_exiting`, as for campaigns and listings) while funded ones run off; completing it
waits until every financing on them is settled."""

import datetime

import pytest
from django.utils import timezone

from platform_core.accounts.models import LicenceStatus, PlatformEntity
from platform_core.accounts.services import entity_default
from platform_core.disclosures.services import entity_licence_change
from platform_core.errors import ApplicationError
from supplychain import services
from supplychain.models import Financing, FinancingStatus
from tests.supplychain.factories import balance, chain, confirmed_invoice, deposit, funded

pytestmark = pytest.mark.django_db


def _refusal(call) -> ApplicationError:
    with pytest.raises(ApplicationError) as exc:
        call()
    return exc.value


def _exit(operator, to=LicenceStatus.EXITING):
    return entity_licence_change(entity=entity_default(), to=to, actor=operator, reason="Board decision 7")


def test_beginning_exit_stops_new_financings_and_funded_ones_run_off():
    c = chain()
    deposit(c.funder, "10000.00")
    running = funded(c, confirmed_invoice(c, face="1000.00"))
    approved = services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=confirmed_invoice(c).pk)
    services.financing_approve(user=c.funder, financing_id=approved.pk)
    waiting = confirmed_invoice(c, face="2000.00")
    supplier_before = balance(c.supplier)

    _exit(c.operator)

    refused = _refusal(lambda: services.financing_request(user=c.supplier, programme_id=c.programme.pk, invoice_id=waiting.pk))
    assert refused.code == "entity_exiting"
    assert not Financing.objects.filter(invoice=waiting).exists()
    assert balance(c.supplier) == supplier_before
    # what was agreed before the decision runs off: the approved request is funded, the funded one stays
    assert services.financing_fund(user=c.funder, financing_id=approved.pk).status == FinancingStatus.FUNDED
    running.refresh_from_db()
    assert running.status == FinancingStatus.FUNDED


def test_completing_exit_waits_for_supply_chain_money_in_flight():
    c = chain()
    deposit(c.funder, "10000.00")
    financing = funded(c, confirmed_invoice(c, face="1000.00", days=20))
    _exit(c.operator)

    refused = _refusal(lambda: _exit(c.operator, LicenceStatus.EXITED))

    assert (refused.code, refused.status) == ("entity_holds_client_money", 409)
    assert "1 supply-chain financing(s) not settled" in refused.message
    assert PlatformEntity.objects.get(pk=entity_default().pk).licence_status == LicenceStatus.EXITING

    deposit(c.anchor, "1000.00")
    services.maturities_settle(now=timezone.now() + datetime.timedelta(days=20))
    financing.refresh_from_db()
    assert financing.status == FinancingStatus.PAID and balance(c.anchor) == "0.00"

    assert _exit(c.operator, LicenceStatus.EXITED).licence_status == LicenceStatus.EXITED
