"""The load scenario (run by `bench/load/run.py`, `make load`): investors browse, sign in, deposit,
pledge and invest; borrowers repay; all through the API and pages of a real gunicorn. The user
classes on locust's command line pick the phase: `Investor Borrower` (the scenario), `Pledger`
(pledges only, to one campaign) or `Me` (`GET /api/v1/me/` only): the last two measure what the
server serves of each, in the same run."""

import json
import os
import random
import uuid

from locust import FastHttpUser, between, constant, task

DATA = json.loads(os.environ["LOAD_DATA"])


def _key():
    return {"Idempotency-Key": str(uuid.uuid4())}


class SignedIn(FastHttpUser):
    abstract = True
    people: list

    def on_start(self):
        username = random.choice(self.people)
        with self.client.post(
            "/api/v1/auth/token/", json={"username": username, "password": DATA["password"]}, name="sign in", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"sign in: {response.status_code}")
                return
            self.token = response.json()["token"]
        self.headers = {"Authorization": f"Token {self.token}"}


class Investor(SignedIn):
    weight = 8
    wait_time = between(0.05, 0.2)
    people = DATA["investors"]

    @task(4)
    def browse(self):
        self.client.get("/api/v1/campaigns/", headers=self.headers, name="GET /api/v1/campaigns/")
        self.client.get(
            f"/api/v1/campaigns/{random.choice(DATA['campaigns'])}/", headers=self.headers, name="GET /api/v1/campaigns/{id}/"
        )
        self.client.get("/api/v1/loans/", headers=self.headers, name="GET /api/v1/loans/")

    @task(1)
    def page(self):
        self.client.get("/campaigns/", name="GET /campaigns/ (page)")

    @task(2)
    def me(self):
        self.client.get("/api/v1/me/", headers=self.headers, name="GET /api/v1/me/")

    @task(1)
    def deposit(self):
        self.client.post(
            "/api/v1/wallet/deposits/", json={"amount": "50.00"}, headers={**self.headers, **_key()}, name="POST deposit"
        )

    @task(6)
    def pledge(self):
        campaign = random.choice(DATA["campaigns"])
        self.client.post(
            f"/api/v1/campaigns/{campaign}/pledges/",
            json={"amount": "10.00"},
            headers={**self.headers, **_key()},
            name="POST pledge",
        )

    @task(3)
    def invest(self):
        loan = random.choice(DATA["loans"])
        with self.client.post(
            f"/api/v1/loans/{loan}/investments/",
            json={"amount": "100.00"},
            headers={**self.headers, **_key()},
            name="POST investment",
            catch_response=True,
        ) as response:
            if response.status_code == 409:  # this listing filled up meanwhile: an expected answer
                response.success()

    @task(1)
    def sign_in_again(self):
        self.on_start()


class Borrower(FastHttpUser):
    """An SME that signs in and repays a little of its loan now and then."""

    weight = 1
    wait_time = between(0.2, 0.5)

    def on_start(self):
        borrower = random.choice(DATA["borrowers"])
        response = self.client.post(
            "/api/v1/auth/token/", json={"username": borrower["username"], "password": DATA["password"]}, name="sign in"
        )
        self.headers = {"Authorization": f"Token {response.json()['token']}"}
        self.loan = borrower["loan"]

    @task
    def repay(self):
        self.client.post(
            f"/api/v1/loans/{self.loan}/repayments/",
            json={"amount": "5.00"},
            headers={**self.headers, **_key()},
            name="POST repayment",
        )


class Pledger(SignedIn):
    wait_time = constant(0)
    people = DATA["investors"]

    @task
    def pledge(self):
        self.client.post(
            f"/api/v1/campaigns/{DATA['campaigns'][0]}/pledges/",
            json={"amount": "10.00"},
            headers={**self.headers, **_key()},
            name="POST pledge",
        )


class Me(SignedIn):
    wait_time = constant(0)
    people = DATA["investors"]

    @task
    def me(self):
        self.client.get("/api/v1/me/", headers=self.headers, name="GET /api/v1/me/")
