"""`manage.py adopt_legacy_data`: move the rows a pre-tenancy deployment left in `public`.

The tables it reads, and what each row becomes, are described in `ops.legacy`. One
transaction per store; `--dry-run` reports what would move and writes nothing; `--store SLUG`
adopts one store only. The legacy rows are never deleted. Exit status 1 when any store failed.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.legacy import SHAPES, LegacyAdoption, LegacyShapeError, StoreAdoption, legacy_adopt
from stores.models import Store

# A report is read by a person: past this many rows of one kind, a count says the rest.
LISTED_ROWS = 50
NOUNS = {
    "product": ("product", "products"),
    "stock_movement": ("stock movement", "stock movements"),
    "customer": ("customer", "customers"),
    "sale": ("sale", "sales"),
    "sale_item": ("sale item", "sale items"),
    "payment": ("payment", "payments"),
}


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(
        f"{counts[kind]} {singular if counts[kind] == 1 else plural}"
        for kind, (singular, plural) in NOUNS.items()
        if counts.get(kind)
    )


def _listed(heading: str, rows: Sequence[str]) -> Iterator[str]:
    for row in rows[:LISTED_ROWS]:
        yield f"  {heading}: {row}"
    if len(rows) > LISTED_ROWS:
        yield f"  … and {len(rows) - LISTED_ROWS} more {heading}"


def _store_lines(store: StoreAdoption, *, dry_run: bool) -> Iterator[str]:
    name = f"{store.slug} ({store.schema_name})"
    if store.failed:
        problems = len(store.malformed) + (store.error is not None)
        yield f"{name}: FAILED, nothing moved ({problems} problem{'s' * (problems != 1)})"
        yield from _listed("malformed", store.malformed)
        if store.error is not None:
            yield f"  error: {store.error}"
    elif store.moved:
        yield f"{name}: {'would move' if dry_run else 'moved'} {_counts(store.moved)}"
    else:
        yield f"{name}: nothing new to adopt, nothing moved"
    if store.already_adopted:
        yield f"  already adopted, skipped: {_counts(store.already_adopted)}"
    yield from _listed("not moved", store.not_moved)
    if store.analytics_error is not None:
        yield f"  analytics not rebuilt ({store.analytics_error}); rebuild them for this store"


def report_lines(adoption: LegacyAdoption) -> Iterator[str]:
    """The adoption's report, a line at a time."""
    if adoption.dry_run:
        yield "Dry run: this is what would be adopted; nothing is written."
    missing = [table for table in SHAPES if table not in adoption.tables]
    if not adoption.tables:
        yield f"No legacy tables in public ({', '.join(missing)}): nothing to adopt."
        return
    yield f"Legacy tables read: {', '.join(adoption.tables)}."
    if missing:
        yield f"Legacy tables not found, skipped: {', '.join(missing)}."
    if not adoption.stores:
        yield "No store has legacy rows."
    for store in adoption.stores:
        yield from _store_lines(store, dry_run=adoption.dry_run)
    if adoption.no_store:
        yield f"no store: {len(adoption.no_store)} row(s) not moved"
        yield from _listed("not moved", adoption.no_store)
    failed = sum(store.failed for store in adoption.stores)
    yield f"{len(adoption.stores)} store(s), {failed} failed."
    yield (
        "The legacy rows are left in public, never deleted: drop those tables once satisfied "
        "with the stores' data."
    )


class Command(BaseCommand):
    help = (
        "Move the products, customers and sales a pre-tenancy deployment left in public into "
        "their stores' schemas (once: adopted rows are recorded and skipped later). Legacy rows "
        "are never deleted. Non-zero exit when any store failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be moved; write nothing."
        )
        parser.add_argument("--store", metavar="SLUG", help="Adopt this store's rows only.")

    def handle(self, *args: object, **options: Any) -> None:
        store = None
        if options["store"]:
            store = Store.objects.filter(slug=options["store"]).first()
            if store is None:
                raise CommandError(f"No store has the slug {options['store']!r}.")
        try:
            adoption = legacy_adopt(dry_run=options["dry_run"], store=store)
        except LegacyShapeError as error:
            raise CommandError(f"{error} Nothing was read nor written.") from error
        for line in report_lines(adoption):
            self.stdout.write(line)
        failed = [each.slug for each in adoption.stores if each.failed]
        if failed:
            raise CommandError(
                f"{len(failed)} store(s) failed, nothing was moved for them: {', '.join(failed)}.",
                returncode=1,
            )
