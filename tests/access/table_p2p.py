"""Access rules of P2P lending: loans, investments, schedules, repayments, notes; API and pages."""

import uuid

from p2p import services
from tests.p2p.factories import listed_loan

from .world import ANONYMOUS, EVERYONE, ORG_A, ORG_A_ACTORS, SIGNED_IN, SMES, STAFF, Rule

# verified individuals, institutional investors and funders (banks, factors) fund loans
INVESTORS = frozenset({"investor", "investor_other", "institutional_investor", "funder"})
LOAN_MAKERS = frozenset({"sme_owner", "sme_finance", "sme_other"})  # a loan application needs a verified SME
LOAN_MAKER_REFUSALS = {"sme_kyc_failed": 403}
A_AND_STAFF = ORG_A | STAFF
HOLDER = "investor"
SCHEDULE_READERS = A_AND_STAFF | {HOLDER, "institutional_investor"}  # the borrower, note holders, staff
OWN_LOAN = {"sme_owner": 400, "sme_finance": 400}  # "you cannot invest in your own loan"
# third parties who may pay for the borrower: every verified party that holds money, not the borrower
GUARANTORS = frozenset({"investor", "investor_other", "institutional_investor", "sme_other", "core_enterprise"}) | {
    "funder",
    "warehouse",
}
NOT_A_THIRD_PARTY = {"sme_owner": 400, "sme_finance": 400}


def _application(sme, purpose):
    return services.loan_create(
        user=sme, amount="2000.00", term_months=3, annual_rate_percent="24", method="equal_installments", purpose=purpose
    )


def build(world):
    sme = world.users["sme_owner"]
    operator = world.users["operator"]
    world.add("loan_listed", listed_loan(sme=sme, amount="5000.00"))
    world.add("loan_draft", _application(sme, "Matrix draft loan MARK-P2P-DRAFT"), "MARK-P2P-DRAFT")
    review = _application(sme, "Matrix loan in review MARK-P2P-REVIEW")
    services.loan_submit(user=sme, loan_id=review.pk)
    world.add("loan_review", review, "MARK-P2P-REVIEW")
    active = _application(sme, "Matrix active loan")
    services.loan_submit(user=sme, loan_id=active.pk)
    services.loan_approve(actor=operator, loan_id=active.pk, grade="E")
    services.investment_create(user=world.users[HOLDER], loan_id=active.pk, amount="1357.00")
    services.investment_create(user=world.users["institutional_investor"], loan_id=active.pk, amount="643.00")
    services.loan_disburse(loan_id=active.pk)
    active.refresh_from_db()
    assert active.status == "active", active.status
    world.add("loan_active", active)
    world.add("note", active.notes.get(principal="1357.00"), ("1357.00", "1,357.00"))


def _idempotent(body):
    return lambda world, actor: {**body, "idempotency_key": uuid.uuid4().hex}


NEW_LOAN = {
    "amount": "3000.00",
    "term_months": "6",
    "annual_rate_percent": "12",
    "method": "equal_installments",
    "purpose": "Stock",
}

RULES = [
    # --- API ---
    Rule("api-loans", "GET", None, EVERYONE, rows={"loan_draft": A_AND_STAFF, "loan_review": A_AND_STAFF}),
    Rule("api-loans", "POST", None, LOAN_MAKERS, data=NEW_LOAN, refusals=LOAN_MAKER_REFUSALS),
    Rule("api-loan", "GET", "loan_listed", EVERYONE),
    Rule("api-loan", "GET", "loan_draft", A_AND_STAFF, private=A_AND_STAFF),
    Rule("api-loan", "PATCH", "loan_draft", ORG_A_ACTORS, private=A_AND_STAFF, data={"purpose": "Renamed"}),
    Rule("api-loan-submit", "POST", "loan_draft", ORG_A_ACTORS, private=A_AND_STAFF),
    Rule("api-loan-approve", "POST", "loan_review", {"operator"}, private=A_AND_STAFF, data={"grade": "E"}),
    Rule("api-loan-reject", "POST", "loan_review", {"operator"}, private=A_AND_STAFF, data={"reason": "No."}),
    Rule("api-loan-withdraw", "POST", "loan_listed", ORG_A_ACTORS),
    Rule("api-loan-invest", "POST", "loan_listed", INVESTORS, data={"amount": "100.00"}, refusals=OWN_LOAN),
    Rule("api-loan-invest", "POST", "loan_draft", set(), private=A_AND_STAFF, data={"amount": "100.00"}, refusals=OWN_LOAN),
    Rule("api-loan-schedule", "GET", "loan_active", SCHEDULE_READERS, private=SCHEDULE_READERS),
    Rule("api-loan-schedule", "GET", "loan_draft", A_AND_STAFF, private=A_AND_STAFF),  # an empty schedule
    Rule("api-loan-repay", "POST", "loan_active", ORG_A_ACTORS, data={"amount": "10.00"}),
    # the borrower may try; the domain answers that a draft is not repaid (409)
    Rule("api-loan-repay", "POST", "loan_draft", ORG_A_ACTORS, private=A_AND_STAFF, data={"amount": "10.00"}, outcome="any"),
    Rule("api-loan-payoff", "POST", "loan_active", ORG_A_ACTORS),
    Rule("api-loan-guarantor", "POST", "loan_active", GUARANTORS, data={"amount": "10.00"}, refusals=NOT_A_THIRD_PARTY),
    Rule(
        "api-loan-guarantor",
        "POST",
        "loan_draft",
        set(),
        private=A_AND_STAFF,
        data={"amount": "10.00"},
        refusals=NOT_A_THIRD_PARTY,
    ),
    Rule("api-notes", "GET", None, SIGNED_IN, rows={"note": {HOLDER}}),
    # --- pages ---
    Rule("p2p:loan-list", "GET", None, EVERYONE),  # listed loans only; drafts are under "mine"
    Rule("p2p:loan-create", "GET", None, LOAN_MAKERS | {"sme_kyc_failed"}),
    Rule("p2p:loan-mine", "GET", None, SMES, rows={"loan_draft": ORG_A, "loan_review": ORG_A}),
    Rule("p2p:portfolio", "GET", None, SIGNED_IN, rows={"note": {HOLDER}}),
    Rule("p2p:loan-detail", "GET", "loan_listed", EVERYONE),
    Rule("p2p:loan-detail", "GET", "loan_draft", A_AND_STAFF, private=A_AND_STAFF),
    Rule("p2p:loan-edit", "GET", "loan_draft", ORG_A_ACTORS, private=A_AND_STAFF),
    Rule("p2p:loan-edit", "POST", "loan_draft", ORG_A_ACTORS, private=A_AND_STAFF, data={"purpose": ""}, outcome="any"),
    Rule("p2p:loan-submit", "POST", "loan_draft", ORG_A_ACTORS, private=A_AND_STAFF),
    Rule("p2p:loan-redraft", "POST", "loan_review", ORG_A_ACTORS, private=A_AND_STAFF, outcome="any"),
    Rule("p2p:loan-withdraw", "GET", "loan_listed", ORG_A_ACTORS),
    Rule("p2p:loan-withdraw", "POST", "loan_listed", ORG_A_ACTORS),
    Rule("p2p:investment-create", "POST", "loan_listed", INVESTORS, data=_idempotent({"amount": "100.00"}), refusals=OWN_LOAN),
    Rule("p2p:investment-create", "POST", "loan_draft", set(), private=A_AND_STAFF, data=_idempotent({"amount": "100.00"})),
    Rule("p2p:repayment-make", "POST", "loan_active", ORG_A_ACTORS, data=_idempotent({"amount": "10.00"})),
    Rule("p2p:loan-repay-in-full", "POST", "loan_active", ORG_A_ACTORS, data=_idempotent({})),
]

assert ANONYMOUS in EVERYONE
