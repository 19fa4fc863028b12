import datetime

from django.core.management.base import BaseCommand, CommandError

from crowdfunding.stats import crowdfunding_stats, stats_render


def _date(value: str) -> datetime.datetime:
    try:
        return datetime.datetime.combine(datetime.date.fromisoformat(value), datetime.time.min, tzinfo=datetime.UTC)
    except ValueError:
        raise CommandError(f"Dates are YYYY-MM-DD, not {value!r}.") from None


class Command(BaseCommand):
    help = "Crowdfunding statistics per platform entity and property (the paper's Fig. 1) for campaigns whose deadline is in [--from, --to)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", type=_date, help="YYYY-MM-DD (UTC), inclusive")
        parser.add_argument("--to", dest="date_to", type=_date, help="YYYY-MM-DD (UTC), exclusive")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")

    def handle(self, *args, date_from, date_to, format, **options):
        self.stdout.write(stats_render(crowdfunding_stats(date_from=date_from, date_to=date_to), format), ending="")
