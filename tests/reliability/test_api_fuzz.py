"""The API fuzzed from its own schema: every operation of `/api/schema/`, as each kind of caller
(anonymous, an investor, an SME owner, an operator, a regulator), with every schemathesis check on:
no server error, every answer conforms to its documented schema, status code and content type,
bad input is refused and good input accepted, authentication is not ignored.

Bounded for CI (`FUZZ_MAX_EXAMPLES`, default 3 per operation and role, derandomized so a run is
reproducible: about 30 s of CPU per role, 1 minute per role on this busy 2-core machine);
`make fuzz` runs the same with 200 random examples (FUZZ_RANDOM=1). The requests go through the WSGI
application in this process, against real PostgreSQL and Redis, with real commits
(`transaction=True`), so a database error in one request cannot hide behind another.

Path parameters are drawn from the ids of objects that exist (a live campaign, a draft, a listed
loan, a pledge) as well as from arbitrary integers, so the operations on objects are reached.
"""

import datetime
import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from knox.models import AuthToken
from schemathesis.config import SchemathesisConfig

from crowdfunding import services as crowdfunding_services
from platform_core.ledger import services as ledger
from tests.crowdfunding.factories import live_campaign
from tests.factories import SmeUserFactory, StaffUserFactory, UserFactory
from tests.p2p.factories import listed_loan

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "3"))
ROLES = ["anonymous", "investor", "sme", "operator", "regulator"]

# ids of objects that exist in the current run: drawn for {pk} beside arbitrary integers
KNOWN_IDS: list[int] = []


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    if not path_parameters or "pk" not in path_parameters or not KNOWN_IDS:
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.sampled_from(KNOWN_IDS).map(lambda pk: {**path_parameters, "pk": pk}))


def _seed() -> dict:
    """A small world: an SME with a live campaign, a draft and a listed loan; a funded investor
    who pledged; staff."""
    sme = SmeUserFactory()
    investor = UserFactory()
    ledger.deposit_create(user=investor, amount="5000.00")
    campaign = live_campaign(sme=sme)
    draft = crowdfunding_services.campaign_create(
        user=sme,
        kind="reward",
        title="A draft",
        summary="s",
        category="food",
        target_amount="5000.00",
        deadline=timezone.now() + datetime.timedelta(days=20),
    )
    loan = listed_loan(sme=sme)
    pledge = crowdfunding_services.pledge_create(user=investor, campaign_id=campaign.pk, amount="100.00", tier_id=None)
    KNOWN_IDS[:] = sorted({campaign.pk, draft.pk, loan.pk, pledge.pk})
    return {
        "anonymous": None,
        "investor": investor,
        "sme": sme,
        "operator": StaffUserFactory(role="operator"),
        "regulator": StaffUserFactory(role="regulator"),
    }


@pytest.fixture(params=ROLES)
def caller(request, transactional_db):
    users = _seed()
    user = users[request.param]
    if user is None:
        return {}
    _, token = AuthToken.objects.create(user=user)
    return {"Authorization": f"Token {token}"}


# Every check on, as schemathesis ships them, with one widening: a request that fits the schema may
# still break a business rule the schema cannot state (an identity number's check digit, a
# password's strength, a campaign's deadline window), and the API then answers 400 or 422 with a
# stable code. "Accepted" therefore also counts those, still never a 405/406/415 nor a 5xx.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "422", "429"]}
        }
    }
)


@pytest.fixture
def api_schema(caller):
    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, caller):
    case.call_and_validate(headers={**caller, "Idempotency-Key": os.urandom(8).hex()} if case.method == "POST" else caller)
