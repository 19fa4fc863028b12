import datetime

from django.core.management.base import BaseCommand, CommandError

from platform_core.accounts.models import PlatformEntity
from platform_core.disclosures.items import month_parse
from platform_core.disclosures.services import snapshot_file, snapshots_file_month
from platform_core.errors import ApplicationError


def _month(raw: str) -> datetime.date:
    month = month_parse(raw)
    if month is None:
        raise CommandError(f"A month is YYYY-MM, not {raw!r}.")
    return month


def _instant(raw: str) -> datetime.datetime:
    try:
        instant = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"An instant is ISO 8601 with its offset (2026-02-01T09:30+08:00), not {raw!r}.") from None
    if instant.tzinfo is None:
        raise CommandError("Give the instant's UTC offset.")
    return instant


class Command(BaseCommand):
    help = (
        "File disclosure snapshots: a month for every reporting entity (what beat does; default last month), "
        "or one entity's month or instant; --recompute files a new version of a filed month."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", type=_month, help="YYYY-MM (platform time zone)")
        parser.add_argument("--as-of", dest="as_of", type=_instant, help="an instant, e.g. 2026-02-01T09:30+08:00")
        parser.add_argument("--entity", type=int, help="a platform entity's id (required with --as-of or --recompute)")
        parser.add_argument("--recompute", action="store_true")
        parser.add_argument("--reason", default="")

    def handle(self, *args, month=None, as_of=None, entity=None, recompute=False, reason="", **options):
        if entity is None:
            if as_of or recompute:
                raise CommandError("--as-of and --recompute need --entity.")
            filed = snapshots_file_month(period=month)
            self.stdout.write(f"{filed} snapshot(s) filed.")
            return
        target = PlatformEntity.objects.filter(pk=entity).first()
        if target is None:
            raise CommandError(f"No platform entity {entity}.")
        if (month is None) == (as_of is None):
            raise CommandError("Give --month or --as-of.")
        try:
            snapshot, filed = snapshot_file(entity=target, period=month, as_of=as_of, recompute=recompute, reason=reason)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{'Filed' if filed else 'Already filed'}: {snapshot} ({snapshot.sha256})")
