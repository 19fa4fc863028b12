"""Programmes are set up by operators, within the rule pack's bounds."""

import pytest

from platform_core.accounts.models import OrganisationKind
from platform_core.errors import ApplicationError
from supplychain import services
from supplychain.models import Programme

from .factories import member

pytestmark = pytest.mark.django_db


def _data(funder, anchor, **over):
    data = {
        "name": "Spring programme",
        "funder_id": funder.organisation_id,
        "anchor_id": anchor.organisation_id,
        "product": "receivables_factoring",
        "anchor_limit": "1000000.00",
        "supplier_sublimit": "200000.00",
        "annual_rate": "0.072",
    }
    data.update(over)
    return data


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"day_basis": "400"}, "invalid_day_basis"),
        ({"max_tenor_days": "366"}, "invalid_max_tenor_days"),
        ({"advance_rate": "1.2"}, "invalid_advance_rate"),
        ({"annual_rate": "NaN"}, "invalid_annual_rate"),
        ({"supplier_sublimit": "2000000.00"}, "invalid_supplier_sublimit"),
        ({"product": "crypto"}, "invalid_product"),
        ({"anchor_limit": "0"}, "amount_not_positive"),
    ],
)
def test_bad_programmes_are_refused(operator, over, code):
    funder, anchor = member(OrganisationKind.FUNDER), member(OrganisationKind.CORE_ENTERPRISE)
    with pytest.raises(ApplicationError) as exc:
        services.programme_create(actor=operator, **_data(funder, anchor, **over))
    assert exc.value.code == code
    assert Programme.objects.count() == 0


def test_the_anchor_must_be_a_core_enterprise_and_only_operators_set_up(operator):
    funder, sme = member(OrganisationKind.FUNDER), member(OrganisationKind.SME)
    with pytest.raises(ApplicationError) as exc:
        services.programme_create(actor=operator, **_data(funder, sme))
    assert exc.value.code == "invalid_anchor"
    anchor = member(OrganisationKind.CORE_ENTERPRISE)
    with pytest.raises(ApplicationError) as exc:
        services.programme_create(actor=anchor, **_data(funder, anchor))
    assert exc.value.code == "permission_denied"


def test_operator_sets_up_a_programme_from_its_page_with_the_rule_packs_defaults(client, operator):
    funder, anchor = member(OrganisationKind.FUNDER), member(OrganisationKind.CORE_ENTERPRISE)
    client.force_login(operator)
    assert client.get("/scf/programmes/new/").status_code == 200
    form = {k.removesuffix("_id"): v for k, v in _data(funder, anchor).items()} | {"day_basis": "365", "recourse": "on"}
    response = client.post("/scf/programmes/new/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    programme = Programme.objects.get()
    assert (programme.advance_rate, programme.fee_rate, programme.max_tenor_days, programme.grace_days, programme.day_basis) == (
        programme.advance_rate.__class__("0.8000"),
        programme.fee_rate.__class__("0.00200"),
        180,
        5,
        365,
    )
    bad = client.post("/scf/programmes/new/", form | {"annual_rate": "6%"})
    assert bad.status_code == 400 and bad.context["form"].errors["annual_rate"]
    client.force_login(anchor)
    assert client.get("/scf/programmes/new/").status_code == 404
