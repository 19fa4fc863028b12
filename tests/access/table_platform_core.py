"""Access rules of the platform core: sign-up, log-in, wallet, the API's account endpoints, docs."""

import uuid

from tests.factories import PASSWORD, resident_id

from .world import ANONYMOUS, EVERYONE, SIGNED_IN, STAFF, WALLET_HOLDERS, Rule

# who may move their party's money: verified, and for organisations an owner or finance member
MONEY_MOVERS = WALLET_HOLDERS - {"investor_kyc_failed", "sme_kyc_failed", "sme_viewer"}


def build(world):
    """The platform core's objects are the users themselves."""


def _credentials(world, actor):
    user = world.users[actor] or world.users["investor"]
    return {"username": user.username, "password": PASSWORD}


def _web_amount(prefix):
    return lambda world, actor: {f"{prefix}-amount": "10.00", f"{prefix}-idempotency_key": uuid.uuid4().hex}


SIGNUP = {
    "kind": "investor",
    "username": "matrix-newcomer",
    "password": "tulip-orbit-granite-47",
    "id_number": resident_id(987),
    "annual_income": "50000.00",
    "net_worth": "90000.00",
}

RULES = [
    Rule("home", "GET", None, EVERYONE),
    Rule("signup-investor", "GET", None, EVERYONE),
    Rule("signup-sme", "GET", None, EVERYONE),
    Rule("login", "GET", None, EVERYONE),
    Rule("login", "POST", None, EVERYONE, data=_credentials),
    Rule("logout", "POST", None, EVERYONE),
    Rule("wallet", "GET", None, WALLET_HOLDERS),
    # a KYC-refused party sees its wallet and is told beside the amount why it cannot move money;
    # a viewer is told that only owners and finance members move its organisation's money
    Rule(
        "wallet-deposit",
        "POST",
        None,
        MONEY_MOVERS,
        data=_web_amount("deposit"),
        refusals={"investor_kyc_failed": 400, "sme_kyc_failed": 400, "sme_viewer": 400},
    ),
    Rule(
        "wallet-withdraw",
        "POST",
        None,
        MONEY_MOVERS,
        data=_web_amount("withdraw"),
        refusals={"investor_kyc_failed": 400, "sme_kyc_failed": 400, "sme_viewer": 400},
    ),
    # --- API ---
    Rule("api-signup", "POST", None, EVERYONE, data=SIGNUP),
    Rule("api-token", "POST", None, EVERYONE, data=_credentials),
    Rule("api-me", "GET", None, SIGNED_IN),
    Rule("api-wallet", "GET", None, WALLET_HOLDERS),
    Rule("api-deposits", "POST", None, MONEY_MOVERS, data={"amount": "10.00"}),
    Rule("api-withdrawals", "POST", None, MONEY_MOVERS, data={"amount": "10.00"}),
    Rule("schema", "GET", None, EVERYONE),
    Rule("api-docs", "GET", None, EVERYONE),
]

assert ANONYMOUS not in STAFF
