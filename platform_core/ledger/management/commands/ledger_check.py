from django.core.management.base import BaseCommand, CommandError

from platform_core.ledger.checks import ledger_problems, ledger_summary


class Command(BaseCommand):
    help = "Verify every ledger invariant: zero-sum transactions, balances equal their legs, custody equals client money, no overdrawn account."

    def handle(self, *args, **options):
        problems = ledger_problems(limit=1000)
        summary = ledger_summary()
        self.stdout.write(
            f"{summary['transactions']} transactions, {summary['legs']} legs, {summary['accounts']} accounts; "
            f"client money: {', '.join(f'{v} {k}' for k, v in summary['client_money'].items()) or 'none'}"
        )
        if problems:
            for problem in problems:
                self.stderr.write(f"FAIL {problem}")
            raise CommandError(f"ledger_check: {len(problems)} problem(s) found")
        self.stdout.write(self.style.SUCCESS("ledger_check: OK - every invariant holds"))
