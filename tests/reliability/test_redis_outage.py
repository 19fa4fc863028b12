"""Redis (cache, throttle and Celery broker) killed for 30 seconds while pledges and investments
arrive through the API on a real gunicorn, with a real Celery worker and beat; it comes back empty
(no persistence: every queued message is lost). What must hold:

- no answer is a 500: money endpoints keep working (the throttle falls back to an in-process cache,
  the publish after commit is robust) or answer a 4xx of the error shape; each 201 is money moved
  once, and nothing else moved;
- web log-in works during the outage (no 403);
- loans filled during the outage are disbursed within a minute of Redis coming back (the resume job
  finds them: their messages were never sent, or were lost with the restart);
- afterwards the books balance and no pledge or investment exists twice."""

import itertools
import re
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal

import pytest
import requests
from django.db.models import Count, Sum

from crowdfunding.models import Pledge, PledgeStatus
from p2p.models import Investment, Loan, LoanStatus
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from tests.crowdfunding.factories import live_campaign
from tests.factories import PASSWORD, UserFactory
from tests.p2p.factories import listed_loan

from .processes import celery_beat, celery_worker, free_port, gunicorn, http_ready, process_env, wait_for, worker_ready

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]  # real worker, server or beat processes

OUTAGE = 30
CLIENTS = 4


class Load:
    """Clients pledging and investing through the API until stopped; every answer is recorded with
    the phase it was sent in."""

    def __init__(self, base, tokens, campaign, loans):
        self.base, self.tokens, self.campaign, self.loans = base, tokens, campaign, loans
        self.phase = "before"
        self.answers = []  # (phase, kind, status, code, key, seconds)
        self.stop = threading.Event()
        self.loan_index = itertools.count()
        self.current_loan = 0
        self.lock = threading.Lock()

    def _post(self, session, kind, url, body):
        key = str(uuid.uuid4())
        phase, started = self.phase, time.monotonic()
        try:
            response = session.post(url, json=body, headers={"Idempotency-Key": key}, timeout=30)
        except requests.RequestException as exc:
            self.answers.append((phase, kind, 0, type(exc).__name__, key, time.monotonic() - started))
            return None
        code = ""
        if response.status_code >= 400:
            code = (
                (response.json().get("error") or {}).get("code", "?")
                if response.headers.get("Content-Type", "").startswith("application/json")
                else "html"
            )
        self.answers.append((phase, kind, response.status_code, code, key, time.monotonic() - started))
        return response

    def client(self, token):
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        while not self.stop.is_set():
            self._post(session, "pledge", f"{self.base}/api/v1/campaigns/{self.campaign.pk}/pledges/", {"amount": "10.00"})
            with self.lock:
                index = self.current_loan
            if index >= len(self.loans):
                continue
            response = self._post(
                session, "investment", f"{self.base}/api/v1/loans/{self.loans[index].pk}/investments/", {"amount": "100.00"}
            )
            if response is not None and 400 <= response.status_code < 500:
                with self.lock:  # this listing is full: the next one
                    self.current_loan = max(self.current_loan, index + 1)

    def run(self):
        threads = [threading.Thread(target=self.client, args=(t,)) for t in self.tokens]
        for t in threads:
            t.start()
        return threads


def _web_login(base, username) -> int:
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=10)
    assert page.status_code == 200, page.status_code
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{base}/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/login/"},
        allow_redirects=False,
        timeout=10,
    )
    return answer.status_code


def test_redis_away_for_30_seconds_under_pledges_and_investments(private_redis, processes, capsys):
    campaign = live_campaign(target="1000000.00", maximum="2000000.00")
    loans = [listed_loan(amount="1000.00", term_months=3, rate_percent="20", grade="D") for _ in range(90)]
    investors = [UserFactory() for _ in range(CLIENTS)]
    for investor in investors:
        ledger.deposit_create(user=investor, amount="100000.00")
    web_user = UserFactory()

    env = process_env(private_redis.url, CONN_MAX_AGE=60, RESUME_EVERY_SECONDS=15, RESUME_STALLED_AFTER_SECONDS=30)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes.append(gunicorn(env, port=port))
    processes.append(celery_beat(env))
    worker = celery_worker(env, name="outage")
    processes.append(worker)
    assert wait_for(lambda: http_ready(port), timeout=60) is not None
    assert wait_for(lambda: worker_ready(private_redis.url, "outage"), timeout=60) is not None
    tokens = [
        requests.post(f"{base}/api/v1/auth/token/", json={"username": u.username, "password": PASSWORD}, timeout=10).json()[
            "token"
        ]
        for u in investors
    ]

    load = Load(base, tokens, campaign, loans)
    threads = load.run()
    time.sleep(5)
    load.phase = "outage"
    private_redis.stop()
    outage_started = time.monotonic()
    time.sleep(3)
    login_in_outage = _web_login(base, web_user.username)
    me_in_outage = requests.get(f"{base}/api/v1/me/", headers={"Authorization": f"Token {tokens[0]}"}, timeout=10).status_code
    time.sleep(OUTAGE - (time.monotonic() - outage_started))
    private_redis.start()  # empty: whatever was queued is gone
    back_at = time.monotonic()
    load.phase = "after"
    time.sleep(10)
    load.stop.set()
    for t in threads:
        t.join(timeout=60)

    # every loan filled is disbursed; the ones filled in the outage within a minute of Redis coming back
    funded = Loan.objects.filter(status=LoanStatus.FUNDED)
    waited = wait_for(lambda: not funded.exists(), timeout=90, every=0.5)
    disbursed_after = time.monotonic() - back_at

    answers = load.answers
    by_phase = Counter((phase, kind, status, code) for phase, kind, status, code, _, _ in answers)
    with capsys.disabled():
        print("\nanswers (phase, kind, status, code): count")
        for row, count in sorted(by_phase.items()):
            print(f"  {row}: {count}")
        for phase in ("before", "outage", "after"):
            times = sorted(s for p, k, st, _, _, s in answers if p == phase and st in (200, 201))
            if times:
                print(f"  {phase}: {len(times)} ok, p50 {times[len(times) // 2] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms")
        print(f"  loans filled during the test all disbursed {disbursed_after:.1f} s after Redis came back")
    assert login_in_outage == 302 and me_in_outage == 200
    assert not [a for a in answers if a[2] >= 500 or a[2] == 0], "a server error or a dropped connection"
    assert not [a for a in answers if a[2] >= 400 and a[1] == "pledge"], "a pledge was refused"
    outage_pledges = [a for a in answers if a[0] == "outage" and a[1] == "pledge" and a[2] == 201]
    outage_investments = [a for a in answers if a[0] == "outage" and a[1] == "investment" and a[2] == 201]
    assert len(outage_pledges) > 20 and len(outage_investments) > 20, "the money endpoints kept working in the outage"
    assert waited is not None and disbursed_after < 60

    # exactly what was answered 201 moved, once
    pledged = [a for a in answers if a[1] == "pledge" and a[2] == 201]
    invested = [a for a in answers if a[1] == "investment" and a[2] == 201]
    assert Pledge.objects.filter(campaign=campaign, status=PledgeStatus.ACTIVE).count() == len(pledged)
    assert Investment.objects.filter(investor__in=investors).count() == len(invested)
    assert ledger.escrow_for(campaign).balance == Decimal("10.00") * len(pledged)
    spent = Decimal("10.00") * len(pledged) + Decimal("100.00") * len(invested)
    assert sum(ledger.wallet_of_user(u).balance for u in investors) == Decimal("100000.00") * CLIENTS - spent
    filled = Loan.objects.filter(pk__in=[loan.pk for loan in loans], funded_amount=Decimal("1000.00"))
    assert filled.count() >= 1 and set(filled.values_list("status", flat=True)) == {LoanStatus.ACTIVE}
    per_loan = filled.values("pk").annotate(notes=Count("notes", distinct=True), investments=Count("investments", distinct=True))
    assert all(row["notes"] == row["investments"] > 0 for row in per_loan)  # one note per investment: disbursed once
    assert Loan.objects.filter(pk__in=[loan.pk for loan in loans]).aggregate(s=Sum("funded_amount"))["s"] == Decimal(
        "100.00"
    ) * len(invested)
    assert ledger_problems() == []
