"""`manage.py migrate_schemas`: django-tenants' command, made fast when stores are up to date.

The interface is django-tenants' own. What changes, for a run over every store (no `--schema`,
no app label or target, no `--fake`, `--plan`, `--check` or `--prune`):

* which store schemas are behind is decided by reading every schema's applied migrations in
  one query, so a deploy with nothing to do costs milliseconds per store, not a Django
  migration run per store;
* only the schemas that are behind are migrated, `--parallel N` at a time, each in its own
  transaction; a failing store is reported and the others go on; the exit status is non-zero
  when any failed;
* a line per store migrated, and a summary;
* the store template (and its replayable script) is brought up to date first, and the pool
  of spare schemas topped up last (see stores.provisioning).

Anything else (a single `--schema`, a target migration, …) is django-tenants' command as is.
"""

import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection, connections
from django.db.migrations.recorder import MigrationRecorder
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors.base import run_migrations

from stores import provisioning
from stores.migration_state import expected_migrations, schemas_behind
from stores.provisioning import provisioned_schema_names

# Options that ask for django-tenants' full behaviour rather than "bring every store up".
DELEGATED_OPTIONS = ("app_label", "migration_name", "fake", "fake_initial", "plan", "prune")


def _migrate_one(args: tuple, options: dict, schema_name: str) -> str | None:
    """Migrate one schema in this process; the error text, or None."""
    try:
        run_migrations(args, options, "kassa", schema_name)
    except Exception as error:  # one store's failure must not stop the others
        connection.set_schema_to_public()
        return f"{type(error).__name__}: {error}"
    return None


def _migrate_one_in_pool(args: tuple, options: dict, schema_name: str) -> str | None:
    """The same in a worker process of the pool, which then lets its connections go."""
    try:
        return _migrate_one(args, options, schema_name)
    finally:
        connections.close_all()


class Command(MigrateSchemasCommand):
    help = (
        "Migrate public, then every store schema that is behind (with the template and spare "
        "schemas), reporting each store; non-zero exit when any store failed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("schema_name") or any(options.get(name) for name in DELEGATED_OPTIONS):
            super().handle(*args, **options)
            return
        if options.get("check_unapplied"):
            self._check(options)
            return
        tenant_only = options.get("tenant")
        if not tenant_only:
            super().handle(*args, **{**options, "shared": True, "tenant": False})
        if options.get("shared") and not tenant_only:
            return
        self.stdout.write(f"Store template: {provisioning.template_update()}.")
        failed = self._migrate_stores(args, options)
        made = provisioning.spares_refill()
        self.stdout.write(f"Spare store schemas made: {made}.")
        if failed:
            sys.exit(1)

    def _check(self, options: dict) -> None:
        connection.set_schema_to_public()
        public_applied = set(MigrationRecorder(connection).applied_migrations())
        behind = ["public"] if not expected_migrations() <= public_applied else []
        behind += schemas_behind(provisioned_schema_names())
        if behind:
            raise CommandError(f"{len(behind)} schema(s) behind: {', '.join(behind[:20])}")
        self.stdout.write("Every store schema is up to date.")

    def _migrate_stores(self, args: tuple, options: dict) -> bool:
        """Migrate the store (and spare) schemas that are behind; True when any failed."""
        started = time.perf_counter()
        schema_names = provisioned_schema_names()
        behind = schemas_behind(schema_names)
        decided = time.perf_counter() - started
        self.stdout.write(
            f"{len(schema_names) - len(behind)} of {len(schema_names)} schemas (stores, template, "
            f"spares) up to date, checked in {decided * 1000:.0f} ms; {len(behind)} to migrate."
        )
        if not behind:
            return False
        quiet = {**options, "verbosity": max(0, int(options.get("verbosity", 1)) - 1)}
        parallel = max(1, int(options.get("parallel") or 1))
        failures: dict[str, str] = {}
        if parallel == 1:
            outcomes = ((name, _migrate_one(args, quiet, name)) for name in behind)
            failures = self._report(outcomes, len(behind))
        else:
            connection.close()  # forked workers must not share this process's connection
            with ProcessPoolExecutor(max_workers=parallel) as pool:
                futures = {
                    pool.submit(_migrate_one_in_pool, args, quiet, name): name for name in behind
                }
                outcomes = ((futures[done], done.result()) for done in as_completed(futures))
                failures = self._report(outcomes, len(behind))
        connection.set_schema_to_public()
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"Migrated {len(behind) - len(failures)} of {len(behind)} schemas in "
            f"{elapsed:.1f} s; {len(failures)} failed."
        )
        for schema_name, error in failures.items():
            self.stderr.write(f"  {schema_name}: {error}")
        return bool(failures)

    def _report(self, outcomes: Any, count: int) -> dict[str, str]:
        failures = {}
        for number, (schema_name, error) in enumerate(outcomes, start=1):
            if error is None:
                self.stdout.write(f"[{number}/{count}] {schema_name}: migrated")
            else:
                failures[schema_name] = error
                self.stdout.write(
                    self.style.ERROR(f"[{number}/{count}] {schema_name}: FAILED {error}")
                )
        return failures

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
