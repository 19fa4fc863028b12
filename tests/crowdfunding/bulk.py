"""Build a live campaign with many pledges fast (bulk inserts), with a ledger that balances exactly
as if every backer had deposited and pledged through the services. For fault tests and benchmarks."""

import uuid
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction

from crowdfunding.models import Campaign, Pledge
from platform_core.accounts.models import KycStatus, Role, User
from platform_core.ledger import services as ledger
from platform_core.ledger.models import Account, AccountPurpose, Leg, Transaction

from .factories import live_campaign


@transaction.atomic
def campaign_with_pledges(n: int, *, amount: str = "10.00", target: str | None = None, **campaign_kwargs) -> Campaign:
    amount = Decimal(amount)
    total = amount * n
    campaign = live_campaign(target=target or str(total * 2), **campaign_kwargs)
    tag = uuid.uuid4().hex[:8]
    password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(username=f"bulk-{tag}-{i}", role=Role.INVESTOR, kyc_status=KycStatus.VERIFIED, password=password)
            for i in range(n)
        ],
        batch_size=5000,
    )
    wallets = Account.objects.bulk_create(
        [
            Account(
                key=f"wallet:user:{u.pk}:CNY",
                name=f"Wallet of {u.username}",
                purpose=AccountPurpose.WALLET,
                currency="CNY",
                owner_user=u,
            )
            for u in users
        ],
        batch_size=5000,
    )
    custody = ledger.system_account(AccountPurpose.CUSTODY)
    escrow = ledger.escrow_for(campaign)
    deposit = Transaction.objects.create(kind="deposit", memo=f"bulk deposits {tag}")
    pledge_in = Transaction.objects.create(kind="crowdfunding_pledge", memo=f"bulk pledges {tag}")
    legs = [Leg(transaction=deposit, account=custody, amount=total, currency="CNY")]
    legs += [Leg(transaction=deposit, account=w, amount=-amount, currency="CNY") for w in wallets]
    legs += [Leg(transaction=pledge_in, account=w, amount=amount, currency="CNY") for w in wallets]
    legs += [Leg(transaction=pledge_in, account=escrow, amount=-total, currency="CNY")]
    Leg.objects.bulk_create(legs, batch_size=10000)
    Account.objects.filter(pk=custody.pk).update(balance=custody.balance + total)
    Account.objects.filter(pk=escrow.pk).update(balance=escrow.balance + total)
    Pledge.objects.bulk_create(
        [
            Pledge(campaign=campaign, backer=u, wallet=w, amount=amount, currency="CNY")
            for u, w in zip(users, wallets, strict=True)
        ],
        batch_size=5000,
    )
    Campaign.objects.filter(pk=campaign.pk).update(raised_amount=total, pledge_count=n, investor_count=n)
    campaign.refresh_from_db()
    return campaign
